// `hetmem faultbench` on a commander program built here, the way src/cli registers it.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { parseInvocation } from '../../src/faultbench/cli.ts';
import { registerFaultbench } from '../../src/faultbench/command.ts';
import { MEASURE_IDS, type FaultbenchResults } from '../../src/faultbench/types.ts';
import { listProfiles } from '../../src/devices/profile/load.ts';

const NAMES = listProfiles().map((p) => p.name);

function program(exitOverride = true) {
  const out: string[] = [], err: string[] = [];
  const p = new Command().name('hetmem');
  if (exitOverride) p.exitOverride();
  p.configureOutput({ writeErr: (s) => void err.push(s), writeOut: (s) => void out.push(s) });
  registerFaultbench(p, { stdout: (s) => void out.push(s) });
  return { p, out, err };
}

/** Runs argv; returns the exit code (0 if parse returned) and what was written. */
async function run(argv: string[]) {
  const { p, out, err } = program();
  let code = 0;
  try {
    await p.parseAsync(['faultbench', ...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    code = e.exitCode;
  }
  return { code, out: out.join(''), err: err.join('') };
}

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.restoreAllMocks();
});

describe('hetmem faultbench: bad flags', () => {
  const cases: [string[], string][] = [
    [['--profiles', 'nope'], `hetmem faultbench: unknown profile 'nope' (profiles: ${NAMES.join(', ')})\n`],
    [['--profiles', 'gpu-pcie4,gpu-pcie4'], "hetmem faultbench: profile 'gpu-pcie4' is listed twice\n"],
    [['--profiles', ','], `hetmem faultbench: --profiles needs at least one name (profiles: ${NAMES.join(', ')})\n`],
    [['--seed', 'abc'], "hetmem faultbench: --seed expects a non-negative integer, got 'abc'\n"],
    [['--seed', '1.5'], "hetmem faultbench: --seed expects a non-negative integer, got '1.5'\n"],
    [['--seed', '99999999999999999999'], "hetmem faultbench: --seed expects a non-negative integer, got '99999999999999999999'\n"],
    [['--seed', '-3'], "hetmem faultbench: --seed expects a non-negative integer, got '-3'\n"],
    [['--seed'], 'hetmem faultbench: --seed needs an integer\n'],
    [['--jobs', '0'], "hetmem faultbench: --jobs expects a positive integer, got '0'\n"],
    [['--jobs', 'two'], "hetmem faultbench: --jobs expects a positive integer, got 'two'\n"],
    [['--jobs'], 'hetmem faultbench: --jobs needs a positive integer\n'],
    [['--csv'], 'hetmem faultbench: --csv needs a directory\n'],
    [['--out', '--quick'], 'hetmem faultbench: --out needs a directory\n'],
    [['--bogus'], "hetmem faultbench: unknown option '--bogus' (options: --profiles, --quick, --seed, --jobs, --csv, --out, --json)\n"],
    [['extra'], "hetmem faultbench: unexpected argument 'extra'\n"],
  ];
  for (const [argv, line] of cases) {
    it(`${argv.join(' ')} → one line on stderr, exit 2`, async () => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err).toBe(line);
      expect(r.out).toBe('');
    });
  }

  it('without exitOverride the process exits with 2', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Error(`exit ${code}`);
    }) as typeof process.exit);
    const { p, err } = program(false);
    await expect(p.parseAsync(['faultbench', '--profiles', 'nope'], { from: 'user' })).rejects.toThrow('exit 2');
    expect(exit).toHaveBeenCalledWith(2);
    expect(err.join('')).toMatch(/^hetmem faultbench: unknown profile 'nope' .*\n$/);
  });

  it('a directory that cannot be created is a usage error too', async () => {
    const d = mkdtempSync(join(tmpdir(), 'faultbench-'));
    tmp.push(d);
    const file = join(d, 'file');
    writeFileSync(file, 'x');
    const r = await run(['--profiles', 'rdma-nic', '--quick', '--csv', join(file, 'sub')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^hetmem faultbench: cannot write to '.*sub': .*\n$/);
    expect(r.err.split('\n')).toHaveLength(2);
  });

  it('parseInvocation fills defaults: every profile, seed 1', () => {
    const inv = parseInvocation({}, []);
    expect(inv.profiles.map((p) => p.name)).toEqual(NAMES);
    expect(inv).toMatchObject({ seed: 1, quick: false, jobs: availableParallelism(), csv: null, out: null, json: false });
    expect(parseInvocation({ jobs: ' 3 ' }, []).jobs).toBe(3);
    expect(parseInvocation({ seed: '3', profiles: ' sva-accelerator , rdma-nic ' }, []).profiles.map((p) => p.name)).toEqual(['sva-accelerator', 'rdma-nic']);
  });
});

describe('hetmem faultbench: a run', () => {
  it('prints a table per measure with the profiles as columns, writes CSV and HTML, deterministically', async () => {
    const d = mkdtempSync(join(tmpdir(), 'faultbench-'));
    tmp.push(d);
    const argv = ['--profiles', 'sva-accelerator,rdma-nic', '--quick', '--seed', '3'];
    const r = await run([...argv, '--csv', join(d, 'csv'), '--out', join(d, 'out')]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^hetmem faultbench: 2 profiles, seed 3, quick run\n/);
    for (let i = 1; i <= 6; i++) expect(r.out).toMatch(new RegExp(`^${i}\\. `, 'm'));
    const header = r.out.split('\n').find((l) => l.trim().startsWith('case'))!;
    expect(header).toMatch(/case\s+unit\s+sva-accelerator\s+rdma-nic$/);
    expect(r.out).toContain('n/a [1]');
    expect(readdirSync(join(d, 'csv')).sort()).toEqual(MEASURE_IDS.map((m) => `faultbench-${m}.csv`).sort());
    const lat = readFileSync(join(d, 'csv', 'faultbench-latency.csv'), 'utf8');
    expect(lat.split('\n')[0]).toBe('row,label,unit,case,profile,value,note');
    expect(lat).toContain('latency.zero-fill,untouched page (zero fill),us,zero-fill,sva-accelerator,17,\n');
    const html = readFileSync(join(d, 'out', 'faultbench.html'), 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('data-chart="latency"');
    const json = JSON.parse(readFileSync(join(d, 'out', 'faultbench.json'), 'utf8')) as FaultbenchResults;
    expect(json.profiles).toEqual(['sva-accelerator', 'rdma-nic']);
    expect(json.seed).toBe(3);

    const again = await run([...argv, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toEqual(json);
    expect(again.out).toBe(`${JSON.stringify(json, null, 2)}\n`);
  });
});
