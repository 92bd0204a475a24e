// Sweeps: expansion of grids, point lists and seeded samples; located errors; the local pool
// writing one DuckDB row per point equal to the point run in-process; resume; Parquet; the report.
import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSweep, parseSweep, splitPath, SweepError } from '../../src/sweep/load.ts';
import { runPoint } from '../../src/sweep/point.ts';
import { runSweep } from '../../src/sweep/run.ts';
import { SweepStore } from '../../src/sweep/store.ts';
import { paretoFront, writeSweepReport } from '../../src/sweep/report.ts';
import { main } from '../../src/cli/main.ts';
import { SweepRunError } from '../../src/sweep/errors.ts';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'sweeps');
const SWEEP = join(FIX, 'small.yaml');
const quiet = { err: Object.assign(process.stderr, {}), env: { ...process.env, CI: '1' } };
const io = { err: { write: () => true, isTTY: false } as unknown as NodeJS.WritableStream, env: {} };

function sweepText(body: string): string {
  return `name: t\nscenario: ../../../examples/sweeps/stream.yaml\n${body}`;
}

describe('expanding a sweep', () => {
  it('splits field paths into keys and indices', () => {
    expect(splitPath('devices[0].policies.eviction.policy')).toEqual(['devices', 0, 'policies', 'eviction', 'policy']);
  });

  it('a grid is every combination, the first axis slowest; seeds multiply every point', () => {
    const s = parseSweep(sweepText('grid:\n  devices[0].memory: [8 MiB, 16 MiB]\n  data: [false, true]\nseeds: [1, 2, 3]\n'), join(FIX, 'g.yaml'));
    expect(s.points).toHaveLength(12);
    expect(s.axes).toEqual(['devices[0].memory', 'data', 'seed']);
    expect(s.points.slice(0, 4).map((p) => p.params)).toEqual([
      { 'devices[0].memory': '8 MiB', data: false, seed: 1 }, { 'devices[0].memory': '8 MiB', data: false, seed: 2 },
      { 'devices[0].memory': '8 MiB', data: false, seed: 3 }, { 'devices[0].memory': '8 MiB', data: true, seed: 1 },
    ]);
    expect(new Set(s.points.map((p) => p.key)).size).toBe(12);
    expect(s.points[0].text).toContain('memory: 8 MiB');
  });

  it('a list of points is those points; a seeded random sample repeats with its seed and changes with another', () => {
    const l = parseSweep(sweepText('points:\n  - devices[0].memory: 8 MiB\n  - devices[0].memory: 16 MiB\n    seed: 4\n'), join(FIX, 'l.yaml'));
    expect(l.points.map((p) => p.params)).toEqual([{ 'devices[0].memory': '8 MiB' }, { 'devices[0].memory': '16 MiB', seed: 4 }]);
    const r = (seed: number) => parseSweep(sweepText(`random:\n  samples: 6\n  seed: ${seed}\n  axes:\n    seed: { min: 1, max: 1000, int: true }\n    devices[0].policies.eviction.policy: [evict-lru-chunk, evict-lru-page]\n`), join(FIX, 'r.yaml'));
    expect(r(7).points.map((p) => p.params)).toEqual(r(7).points.map((p) => p.params));
    expect(r(7).points.map((p) => p.params)).not.toEqual(r(8).points.map((p) => p.params));
    for (const p of r(7).points) expect(Number.isInteger(p.params.seed) && (p.params.seed as number) >= 1 && (p.params.seed as number) <= 1000).toBe(true);
    // samples is how many points are drawn; axes are what each draws from.
    expect(r(7).points).toHaveLength(6);
    expect(parseSweep(sweepText('random:\n  samples: 2\n  axes:\n    seed: [5, 6]\n'), join(FIX, 'r.yaml')).points.map((p) => p.params.seed).every((v) => v === 5 || v === 6)).toBe(true);
    expect(parseSweep(sweepText('random:\n  samples: 2\n  axes:\n    seed: [5, 6]\n'), join(FIX, 'r.yaml')).points).toHaveLength(2);
  });

  it('scenario is the base every point runs: another base file gives other points and other results', async () => {
    const at = (base: string) => parseSweep(`name: t\nscenario: ${base}\npoints: [{ seed: 1 }]\n`, join(FIX, 's.yaml')).points[0];
    const [tiny, wide] = [at('tiny.yaml'), at('tiny-wide.yaml')];
    expect(tiny.file).toBe(join(FIX, 'tiny.yaml'));
    expect(wide.file).toBe(join(FIX, 'tiny-wide.yaml'));
    expect(tiny.key).not.toBe(wide.key);
    const touched = async (p: typeof tiny) => (JSON.parse((await runPoint(p)).results) as { devices: { pagesTouched: number }[] }).devices[0].pagesTouched;
    expect(await touched(tiny)).toBe(64);
    expect(await touched(wide)).toBe(256);
  });

  it('scale sizes every point as hetmem run --scale does, and is part of the point\'s key', async () => {
    const at = (scale: string) => parseSweep(`name: t\nscenario: tiny.yaml\n${scale}points: [{ seed: 1 }]\n`, join(FIX, 's.yaml')).points[0];
    const [whole, half] = [at(''), at('scale: 0.5\n')];
    expect(whole.scale).toBe(1);
    expect(half.scale).toBe(0.5);
    expect(half.key).not.toBe(whole.key);
    const touched = async (p: typeof whole) => (JSON.parse((await runPoint(p)).results) as { devices: { pagesTouched: number }[] }).devices[0].pagesTouched;
    expect(await touched(half)).toBe(32);
    expect(await touched(whole)).toBe(64);
  });
});

describe('sweep errors are one located line', () => {
  const err = (text: string): string => {
    try {
      parseSweep(text, join(FIX, 'bad.yaml'));
    } catch (e) {
      expect(e).toBeInstanceOf(SweepError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  it('a point whose value the scenario refuses points at that value', () => {
    expect(err(sweepText('grid:\n  devices[0].policies.eviction.policy: [evict-lru-chunk, evict-lru]\n')))
      .toMatch(/^.*bad\.yaml:4:\d+: grid\.devices\[0\]\.policies\.eviction\.policy\[1\]: point 1 \(devices\[0\]\.policies\.eviction\.policy="evict-lru"\): devices\[0\]\.policies\.eviction\.policy: expected one of evict-lru-chunk/);
  });

  it('a list index the base scenario lacks, a bad path, two kinds of axes, a missing base', () => {
    expect(err(sweepText('grid:\n  devices[3].memory: [8 MiB]\n'))).toMatch(/bad\.yaml:4:\d+: grid\.devices\[3\]\.memory\[0\]: point 0 .*the base scenario has no devices\[3\] \(the list has 1\)/);
    expect(err(sweepText('grid:\n  devices..memory: [8 MiB]\n'))).toMatch(/bad\.yaml:4:\d+: .*expected a field path/);
    expect(err(sweepText('grid: { seed: [1] }\npoints: [{ seed: 2 }]\n'))).toMatch(/bad\.yaml:1:1: expected only one of grid, points, random \(got grid and points\)/);
    expect(err('name: t\nscenario: nope.yaml\ngrid: { seed: [1] }\n')).toMatch(/bad\.yaml:2:11: scenario: cannot read the base scenario .*nope\.yaml: no such file/);
  });

  it('hetmem sweep prints the line and exits 2', async () => {
    const out: string[] = [];
    const w = { write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WritableStream;
    expect(await main(['sweep', join(FIX, 'missing.yaml')], { out: w, err: w, env: {} })).toBe(2);
    expect(out.join('')).toMatch(/missing\.yaml: cannot read the sweep: no such file\n$/);
  });
});

describe('running a sweep on the local pool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hetmem-sweep-'));
  const db = join(dir, 'small.duckdb');

  it('stores one row per point, equal to the point run in-process; a rerun runs nothing; Parquet is written', async () => {
    const s = loadSweep(SWEEP);
    const first = await runSweep(s, { db, jobs: 2, parquet: join(dir, 'small.parquet') }, io);
    expect(first).toEqual({ total: 4, ran: 4, skipped: 0 });
    const store = await SweepStore.open(db);
    const rows = await store.all();
    store.close();
    expect(rows.map((r) => r.idx)).toEqual([0, 1, 2, 3]);
    const direct = await runPoint(s.points[3]);
    expect(rows[3].results).toBe(direct.results);
    expect(rows[3].metrics).toEqual(direct.metrics);
    expect(rows[3].params).toEqual({ 'devices[0].policies.eviction.policy': 'evict-random', seed: 2 });
    // Random eviction depends on the seed; LRU does not.
    expect(rows[2].results).not.toBe(rows[3].results);
    expect(existsSync(join(dir, 'small.parquet'))).toBe(true);
    expect(await runSweep(s, { db, jobs: 2 }, io)).toEqual({ total: 4, ran: 0, skipped: 4 });
  }, 240_000);

  it('the report has the heatmap, per-axis lines, the Pareto view and a report per point', async () => {
    const path = await writeSweepReport(db, dir, { metric: 'sim_time_ps', pareto: ['sim_time_ps', 'bytes_in'] });
    const html = readFileSync(path, 'utf8');
    for (const id of ['id="heatmap"', 'id="lines"', 'id="pareto"', 'points/']) expect(html).toContain(id);
    const store = await SweepStore.open(db);
    const keys = (await store.all()).map((r) => r.key);
    store.close();
    for (const k of keys) expect(existsSync(join(dir, 'points', k, 'report.html'))).toBe(true);
    await expect(writeSweepReport(db, dir, { metric: 'nope', pareto: ['sim_time_ps', 'bytes_in'] })).rejects.toThrow(/unknown metric 'nope'/);
  }, 120_000);

  it('name and description: the rows carry the sweep\'s name, and sweep.html shows the name and the description', async () => {
    for (const [name, description] of [['alpha', 'the first sweep'], ['beta', 'another one']]) {
      const s = parseSweep(`name: ${name}\ndescription: ${description}\nscenario: tiny.yaml\npoints: [{ seed: 1 }]\n`, join(FIX, 'n.yaml'));
      const file = join(dir, `${name}.duckdb`);
      expect(await runSweep(s, { db: file, jobs: 1 }, io)).toEqual({ total: 1, ran: 1, skipped: 0 });
      const store = await SweepStore.open(file);
      expect((await store.all()).map((r) => r.sweep)).toEqual([name]);
      store.close();
      const html = readFileSync(await writeSweepReport(file, join(dir, name), { metric: 'sim_time_ps', pareto: ['sim_time_ps', 'bytes_in'] }), 'utf8');
      expect(html).toContain(`<h1>sweep ${name}</h1>`);
      expect(html).toContain(`<p id="description">${description}</p>`);
    }
  }, 120_000);

  it('a point that fails does not stop the others: they are stored, and one line names the failed point', async () => {
    const s = loadSweep(join(FIX, 'one-fails.yaml'));
    const file = join(dir, 'one-fails.duckdb');
    const e = await runSweep(s, { db: file, jobs: 2 }, io).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(SweepRunError);
    const m = (e as Error).message;
    expect(m.split('\n')).toHaveLength(1);
    expect(m).toMatch(new RegExp(`^1 of 3 points failed, the others are stored \\(rerun to retry the failed ones\\): point 2 \\(${s.points[2].key}\\): .*prefetch-throws\\.ts: prefetch decision for block at vpn \\d+ .*: threw Error: boom$`));
    const store = await SweepStore.open(file);
    const rows = await store.all();
    store.close();
    expect(rows.map((r) => r.idx)).toEqual([0, 1]);
    expect(rows[0].results).toBe((await runPoint(s.points[0])).results);
  }, 120_000);

  it('the Pareto front keeps the points no other beats on both metrics', () => {
    expect(paretoFront([1, 2, 3, 2], [5, 3, 1, 4]).sort()).toEqual([0, 1, 2]);
  });

  void quiet;
});
