import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SHARED_TRACES, SHARED_TRACES_612 } from '../paths.ts';

function hetmem(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/hetmem.mjs'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function script(body: string, name = 'bad.trace'): string {
  const dir = mkdtempSync(join(tmpdir(), 'hetmem-'));
  const f = join(dir, name);
  writeFileSync(f, body);
  return f;
}

describe('hetmem trace', () => {
  it('prints the output lines of a script', () => {
    const f = script('mmap A 1 anon rw\ncpu_write A 0 0x5\ncpu_read A 0\n', 'ok.trace');
    const r = hetmem('trace', f);
    expect(r.code).toBe(0);
    expect(r.out).toBe('mmap A 1 anon rw => ok\ncpu_write A 0 0x5 => ok\ncpu_read A 0 => first=05 sum=20480 page=05\n# hmmtrace: 3 ops, 0 bad\n');
  });

  it('--nodes 2 replays NUMA scripts recorded on the two-node oracle; a bad --nodes is one line and exit 2', () => {
    const numa = join(ROOT, 'test', 'oracle-numa');
    const r = hetmem('trace', '--kernel', '6.1', '--nodes', '2', '--check', join(numa, 'n01-basic.trace'), join(numa, 'n05-thp.trace'));
    expect(r.code).toBe(0);
    expect(r.out).toBe('2/2 traces match\n');
    const one = hetmem('trace', join(numa, 'n01-basic.trace'));
    expect(one.out).toContain('move_pages A 0 4 1 => ret=-ENODEV status=?,?,?,?');
    for (const bad of ['0', '65', 'two', '1.5']) {
      const b = hetmem('trace', '--nodes', bad, join(numa, 'n01-basic.trace'));
      expect(b.code).toBe(2);
      expect(b.err).toBe(`hetmem trace: --nodes: expected an integer 1..64, got '${bad}'\n`);
      expect(b.out).toBe('');
    }
    const malformed = hetmem('trace', script('mmap A 1 anon rw\nmove_pages A 0 1 1 some\n'));
    expect(malformed.code).toBe(2);
    expect(malformed.err).toMatch(/^hetmem trace: .*bad\.trace:2: expected 'all' or nothing after NODE, got 'some'\n$/);
  });

  it('--kernel 6.12 replays the 6.12 records (6.1 does not); a bad --kernel is one line and exit 2', () => {
    const files = ['thp.trace', 'mprotect-whole.trace'].map((f) => join(SHARED_TRACES_612, f));
    const r = hetmem('trace', '--kernel', '6.12', '--check', ...files);
    expect(r.code).toBe(0);
    expect(r.out).toBe('2/2 traces match\n');
    const old = hetmem('trace', '--kernel', '6.1', '--check', ...files);
    expect(old.code).toBe(1);
    expect(old.out.trimEnd().split('\n').at(-1)).toBe('0/2 traces match');
    // 7.x (modelled from source) differs from these 6.12 records first where migrate_vma meets a
    // PTE-mapped THP: 6.19's collect splits it and migrates the page (devicePrivateThp,
    // migrate_vma_split_folio) where 6.12 skipped it; then in exclusive ops: make_device_exclusive
    // takes a THP's tail page, and a read-only VMA is GUP's -EFAULT.
    const seven = hetmem('trace', '--kernel', '7.x', '--check', ...files);
    expect(seven.code).toBe(1);
    expect(seven.out.split('\n').filter((l) => /^[-+][a-z]/.test(l))).toEqual([
      '-migrate_to_dev 0 V 3 1 => ret=-ENOENT', '+migrate_to_dev 0 V 3 1 => ret=0 cpages=1 faults=0 data=33',
      '-exclusive 0 A 0 1 => ret=-EBUSY', '+exclusive 0 A 0 1 => ret=-EFAULT',
    ]);
    // Without --kernel, 6.12 (DEFAULT_KERNEL).
    expect(hetmem('trace', '--check', ...files).out).toBe('2/2 traces match\n');
    for (const bad of ['6.2', '612', '', 'latest']) {
      const b = hetmem('trace', '--kernel', bad, files[0]);
      expect(b.code).toBe(2);
      expect(b.err).toBe(`hetmem trace: --kernel: expected 6.1, 6.12 or 7.x, got '${bad}'\n`);
      expect(b.out).toBe('');
    }
  });

  it('--check reports N/M and exits 0 when all match', () => {
    const r = hetmem('trace', '--check', join(SHARED_TRACES, 'example.trace'), join(SHARED_TRACES, 'quirks.trace'));
    expect(r.code).toBe(0);
    expect(r.out).toBe('2/2 traces match\n');
  });

  it('--check prints a unified diff of the first difference and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hetmem-'));
    copyFileSync(join(SHARED_TRACES, 'example.trace'), join(dir, 'example.trace'));
    writeFileSync(join(dir, 'example.out'), 'mmap A 4 anon rw => ok\nsnapshot 0 A 0 4 => ret=0 cpages=4 faults=0 perm=02,00,00,00\n');
    const r = hetmem('trace', '--check', join(dir, 'example.trace'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('-snapshot 0 A 0 4 => ret=0 cpages=4 faults=0 perm=02,00,00,00');
    expect(r.out).toContain('+snapshot 0 A 0 4 => ret=0 cpages=4 faults=0 perm=00,00,00,00');
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('0/1 traces match');
  });

  it('--check replays malformed ops when the recorded output shows the tool handling them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hetmem-'));
    writeFileSync(join(dir, 'b.trace'), 'mmap A 1 anon rw\nfrob A\ncpu_read B 0\n');
    writeFileSync(join(dir, 'b.out'), 'mmap A 1 anon rw => ok\nfrob A => bad_op\ncpu_read B 0 => err=no_such_region\n# hmmtrace: 3 ops, 1 bad\n');
    const r = hetmem('trace', '--check', join(dir, 'b.trace'));
    expect(r.err).toBe('');
    expect(r.out).toBe('1/1 traces match\n');
    expect(r.code).toBe(0);
  });

  const bad: Array<[string, string]> = [
    ['mmap A 1 anon rw\nfrobnicate A\n', ":2: expected an op (mmap, munmap, mprotect, madvise, cpu_read, cpu_write, dev_read, dev_write, migrate_to_dev, migrate_to_sys, snapshot, exclusive, check_exclusive, release, open, close, gup, move_pages, page_node, set_mempolicy, child, fork_write_child, echo), got 'frobnicate'"],
    ['mmap A 1 anon rw\ncpu_read A\n', ":2: expected 'cpu_read ID PAGE'"],
    ['mmap A 1 anon rw\ncpu_write A 0 256\n', ":2: expected BYTE 0..255, got '256'"],
    ['mmap A 1 anon rw\n# comment\ndev_read 0 B 0 1\n', ":3: expected a region mapped by an earlier mmap, got 'B'"],
    ['mmap A 1 anon rw\ndev_read 7 A 0 1\n', ':2: expected DEV 0..3, got 7'],
    ['mmap A x anon rw\n', ":1: expected NPAGES (a C number like 12 or 0x1f), got 'x'"],
    ['mmap A 1 anon rw\nmadvise A 0 1 sideways\n', ":2: expected ADVICE dontneed, free, hugepage, nohugepage, willneed, cold, pageout, remove, got 'sideways'"],
  ];
  for (const [body, msg] of bad) {
    it(`rejects a malformed script with one line and exit 2 (${msg.slice(4, 40)})`, () => {
      const f = script(body);
      const r = hetmem('trace', f);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(`hetmem trace: ${f}${msg}\n`);
    });
  }
});
