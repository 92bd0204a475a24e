// Every subcommand's exit codes and error style (README: Exit codes): 0 ok, 1 a check found
// differences, 2 bad input as one line `hetmem SUBCOMMAND: message` with nothing on stdout.
// The cases run in-process through main(); the last few go through bin/hetmem.mjs as a user runs it.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { EXIT, VERSION, commanderLine, main } from '../../src/cli/main.ts';
import { ROOT } from '../paths.ts';

/** main() with stdout and stderr captured. */
async function hetmem(...argv: string[]) {
  const sink = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer | string, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    return { stream, text: () => chunks.join('') };
  };
  const out = sink(), err = sink();
  const code = await main(argv, { out: out.stream, err: err.stream, env: {} });
  return { code, out: out.text(), err: err.text() };
}

describe('exit codes and the error style of every subcommand', () => {
  let dir = '';
  let badTrace = '', okTrace = '', differingTrace = '', brokenResults = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hetmem-exit-'));
    badTrace = join(dir, 'bad.trace');
    writeFileSync(badTrace, 'mmap A 1 anon rw\nfrobnicate A\n');
    okTrace = join(dir, 'ok.trace');
    writeFileSync(okTrace, 'mmap A 1 anon rw\ncpu_write A 0 0x5\n');
    writeFileSync(join(dir, 'ok.out'), 'mmap A 1 anon rw => ok\ncpu_write A 0 0x5 => ok\n# hmmtrace: 2 ops, 0 bad\n');
    differingTrace = join(dir, 'differs.trace');
    writeFileSync(differingTrace, 'mmap A 1 anon rw\n');
    writeFileSync(join(dir, 'differs.out'), 'mmap A 1 anon rw => -ENOMEM\n');
    brokenResults = join(dir, 'broken.json');
    writeFileSync(brokenResults, JSON.stringify({ schema: 1, name: 'x' }));
  });

  // Bad input for each subcommand: [argv, the subcommand the line must name].
  const badInput = (): Array<[string[], string]> => [
    [['trace', '--nodes', '0', okTrace], 'trace'],
    [['trace', badTrace], 'trace'],
    [['run', '--bogus'], 'run'],
    [['run', join(dir, 'no-such.yaml')], 'run'],
    [['report', brokenResults], 'report'],
    [['compare', brokenResults, brokenResults], 'compare'],
    [['compare', brokenResults], 'compare'],
    [['profiles', 'nope'], 'profiles'],
    [['schema', 'extra'], 'schema'],
    [['faultbench', '--seed', 'x'], 'faultbench'],
    [['validate', '--only', 'nope'], 'validate'],
    [['view', join(dir, 'no-such-run')], 'view'],
    [['sweep', join(dir, 'no-such-sweep.yaml')], 'sweep'],
    [['worker'], 'worker'],
    [['oracle', 'run', join(dir, 'no-such.trace')], 'oracle'],
    [['frobnicate'], ''],
  ];

  it('covers every subcommand that --help lists', async () => {
    const help = await hetmem('--help');
    expect(help.code).toBe(EXIT.ok);
    const listed = [...help.out.matchAll(/^ {2}(\w+)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(listed).toEqual(expect.arrayContaining(['trace', 'run', 'report', 'compare', 'profiles', 'schema', 'faultbench', 'validate']));
    const covered = new Set(badInput().map(([, c]) => c));
    for (const c of listed) expect(covered.has(c), `no bad-input case for 'hetmem ${c}'`).toBe(true);
  });

  it('bad input is exit 2 and one line "hetmem SUBCOMMAND: message", nothing on stdout', async () => {
    for (const [argv, command] of badInput()) {
      const r = await hetmem(...argv);
      const what = `hetmem ${argv.join(' ')}`;
      expect(r.code, what).toBe(EXIT.badInput);
      expect(r.out, what).toBe('');
      expect(r.err.split('\n'), what).toHaveLength(2);
      const prefix = command === '' ? 'hetmem: ' : `hetmem ${command}: `;
      expect(r.err.startsWith(prefix), `${what}: ${r.err}`).toBe(true);
      // Commander's own "error: " never survives the rewrite.
      expect(r.err, what).not.toMatch(/^hetmem[^:]*: error: /);
    }
  });

  it('0 for a run that succeeds, 1 for a check that found differences', async () => {
    expect((await hetmem('trace', '--check', okTrace)).code).toBe(EXIT.ok);
    const differs = await hetmem('trace', '--check', okTrace, differingTrace);
    expect(differs.code).toBe(EXIT.differences);
    expect(differs.out.trimEnd().split('\n').at(-1)).toBe('1/2 traces match');
    expect(differs.err).toBe('');
    expect((await hetmem('profiles')).code).toBe(EXIT.ok);
    expect((await hetmem('schema')).code).toBe(EXIT.ok);
  });

  it('rewrites commander\'s messages into the common style', () => {
    expect(commanderLine('hetmem run', "error: unknown option '--x'\n(Did you mean --out?)\n")).toBe("hetmem run: unknown option '--x' (Did you mean --out?)");
    expect(commanderLine('hetmem', "error: unknown command 'x'")).toBe("hetmem: unknown command 'x'");
    expect(commanderLine('hetmem faultbench', 'hetmem faultbench: --seed expects an integer')).toBe('hetmem faultbench: --seed expects an integer');
  });

  it('--version prints the package version; bin/hetmem.mjs passes the codes through', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const bin = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/hetmem.mjs'), ...args], { encoding: 'utf8', cwd: ROOT });
    for (const flag of ['--version', '-V']) {
      const v = bin(flag);
      expect(v.status).toBe(EXIT.ok);
      expect(v.stdout).toBe(`${pkg.version}\n`);
    }
    const bad = bin('trace', badTrace);
    expect(bad.status).toBe(EXIT.badInput);
    expect(bad.stderr).toMatch(/^hetmem trace: .*bad\.trace:2: expected an op /);
    expect(bin('trace', '--check', okTrace, differingTrace).status).toBe(EXIT.differences);
  });
});
