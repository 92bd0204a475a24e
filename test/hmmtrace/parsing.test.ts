import { describe, it, expect } from 'vitest';
import { parseCNumber } from '../../src/hmmtrace/numbers.ts';
import { fgetsLines, tokenize, runTrace } from '../../src/hmmtrace/runner.ts';

describe('parseCNumber (strtoul base 0, whole token)', () => {
  it.each([
    ['51', 51n], ['0x33', 0x33n], ['0X1f', 0x1fn], ['010', 8n], ['0', 0n], ['+7', 7n],
    ['-1', (1n << 64n) - 1n], ['18446744073709551615', (1n << 64n) - 1n],
  ])('%s -> %s', (s, v) => {
    expect(parseCNumber(s)).toBe(v);
  });
  it.each(['08', '0x', '12a', 'x', '-', '18446744073709551616', '1 2'])('rejects %s', (s) => {
    expect(parseCNumber(s)).toBeNull();
  });
});

describe('reading scripts the way hmmtrace.c does', () => {
  it('splits lines at newlines and every 1023 characters (fgets with a 1024-byte buffer)', () => {
    const long = 'echo ' + 'a'.repeat(1100) + '\n';
    const parts = fgetsLines(long + 'echo b\n');
    expect(parts.map((p) => p.length)).toEqual([1023, long.length - 1023, 7]);
  });
  it('strips comments and keeps at most 16 tokens', () => {
    expect(tokenize('  echo a\tb   # c d\n')).toEqual(['echo', 'a', 'b']);
    const t = tokenize('echo ' + Array.from({ length: 20 }, (_, i) => `t${i}`).join(' '));
    expect(t).toHaveLength(16);
    expect(t[15]).toBe('t14');
  });
  it('prints ops as normalised tokens and counts bad ops in the summary', () => {
    const r = runTrace('mmap  A 1 anon rw   # x\ncpu_write A 0 300\nfrob\nchild frob\necho\n');
    expect(r.lines).toEqual([
      'mmap A 1 anon rw => ok',
      'cpu_write A 0 300 => bad_op',
      'frob => bad_op',
      'child frob => bad_op exit=0',
      'echo => ',
      '# hmmtrace: 5 ops, 2 bad',
    ]);
  });
  it('a region named by a failed mmap of an unknown kind exists but is unmapped', () => {
    const r = runTrace('mmap A 1 bogus rw\ncpu_read A 0\nmprotect A rw\n');
    expect(r.lines.slice(0, 3)).toEqual(['mmap A 1 bogus rw => bad_op', 'cpu_read A 0 => SIGSEGV', 'mprotect A rw => ok']);
  });
});
