// Benchmarks are not tests: nothing here asserts a timing. This only checks that
// `npm run bench -- --quick` runs and writes a results file that matches bench/schema.ts, to
// bench/results-quick.json (git-ignored), leaving the committed bench/results.json alone.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths.ts';
import { resultsSchema } from '../../bench/schema.ts';
import { defaultResultsFile } from '../../bench/lib/results-file.ts';

/** Every number anywhere in `v`, with its path. */
function numbers(v: unknown, path = '$'): Array<[string, number]> {
  if (typeof v === 'number') return [[path, v]];
  if (Array.isArray(v)) return v.flatMap((x, i) => numbers(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => numbers(x, `${path}.${k}`));
  return [];
}

describe('bench --quick', () => {
  it('writes a well-formed results file to bench/results-quick.json, not over bench/results.json', () => {
    const out = join(ROOT, 'bench', 'results-quick.json');
    const committed = join(ROOT, 'bench', 'results.json');
    expect(defaultResultsFile(true)).toBe(out);
    expect(defaultResultsFile(false)).toBe(committed);
    // The quick file is git-ignored (check-ignore exits 0 for an ignored path).
    expect(spawnSync('git', ['check-ignore', '-q', out], { cwd: ROOT }).status).toBe(0);
    const before = readFileSync(committed, 'utf8');
    rmSync(out, { force: true });
    try {
      // What `npm run bench -- --quick` runs.
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/run.ts', '--quick'], {
        cwd: ROOT, encoding: 'utf8', timeout: 230_000,
      });
      expect(r.status, `bench exited with ${r.status}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`wrote ${out} in `);
      expect(readFileSync(committed, 'utf8')).toBe(before);
      const results = resultsSchema.parse(JSON.parse(readFileSync(out, 'utf8')));

      for (const [path, x] of numbers(results)) expect(Number.isFinite(x), path).toBe(true);
      expect(results.quick).toBe(true);
      const ids = results.throughput.map((t) => `${t.id}/${t.mode}`);
      expect(ids).toEqual(expect.arrayContaining(['migrate/no-data', 'migrate/data', 'mirror/no-data', 'cow-fork/no-data', 'device-faults/no-data', 'streaming-eviction/no-data', 'streaming-eviction-lru-page/no-data', 'streaming-eviction-random/no-data']));
      for (const t of results.throughput) {
        expect(t.eventsPerSec).toBeGreaterThan(0);
        expect(t.slowdownVsRaw).toBeCloseTo(t.rawLoopEventsPerSec / t.eventsPerSec, 6);
        if (t.mode === 'data') expect(t.slowdownVsCopy).toBeGreaterThan(0);
      }
      expect(results.baselines.map((b) => b.id)).toEqual(expect.arrayContaining(['raw-loop', 'copy-loop']));
      // Every measure the issue names runs now; nothing is reported missing.
      expect(results.missing).toEqual([]);
      expect(results.memory.points.some((p) => p.mode === 'no-data')).toBe(true);
      expect(results.scale.attempts.length).toBeGreaterThan(0);
      expect(results.scale.largest?.ok).toBe(true);
      expect(results.targets.length).toBeGreaterThan(0);
      // Sweep points per minute, pool against one process in turn, and their ratio.
      expect(results.sweep.points).toBeGreaterThan(1);
      expect(results.sweep.speedup).toBeCloseTo(results.sweep.oneProcessSeconds / results.sweep.poolSeconds, 6);
      expect(results.sweep.poolPointsPerMin).toBeCloseTo((results.sweep.points / results.sweep.poolSeconds) * 60, 6);
      expect(results.targets.map((t) => t.id)).toContain('sweep-pool-speedup');
      // Opening a run in the viewer (issue 14): a fault per page at least, the steps within the
      // whole, and its target (3 s) in the list; the size is the quick one, not 10^6.
      const view = results.view!;
      expect(view).toBeDefined();
      expect(view.deviceFaults).toBeGreaterThanOrEqual(view.pages);
      expect(view.events).toBeGreaterThan(view.deviceFaults);
      expect(view.openSeconds).toBeGreaterThanOrEqual(view.loadSeconds + view.pageSeconds + view.overviewSeconds + view.zoomSeconds + view.historySeconds);
      const viewTarget = results.targets.find((t) => t.id === 'view-open');
      expect(viewTarget?.target).toBe(3);
      expect(viewTarget?.value).toBe(view.openSeconds);
      // faultbench's (measure, profile) jobs on the pool against one process (issue 17).
      const fb = results.faultbench!;
      expect(fb.tasks).toBe(fb.profiles * 7);
      expect(fb.speedup).toBeCloseTo(fb.oneProcessSeconds / fb.poolSeconds, 6);
      expect(results.targets.find((t) => t.id === 'faultbench-pool-speedup')?.value).toBe(fb.speedup);
      // Examples through the CLI against real time: the quick pair, ratios that add up, and a
      // target for the default scenario and for every fault-bound example.
      const ex = results.examples!;
      expect(ex.runs.map((r) => r.example)).toEqual(['default.yaml', 'p2p-under-switch.yaml']);
      for (const r of ex.runs) {
        expect(r.simPerWall).toBeCloseTo(r.simulatedS / r.wallS, 9);
        expect(r.simPerCpu).toBeCloseTo(r.simulatedS / r.cpuS, 9);
        expect(r.faultBound).toBe(r.deviceFaults > 0 && r.stallLaneS > r.busyLaneS);
        const t = results.targets.find((x) => x.id === `example-${r.example.replace(/\.yaml$/, '')}-real-time`);
        if (r.faultBound || r.example === 'default.yaml') expect(t, r.example).toMatchObject({ target: 1, value: r.simPerWall, met: r.simPerWall >= 1 });
        else expect(t, r.example).toBeUndefined();
      }
      // Many faults (issue 17): two sizes, every access a fault, the faults' records capped; the
      // target names the peak RSS of the larger one.
      const many = results.manyFaults!;
      expect(many.points.map((p) => p.faultsServiced)).toEqual([2 ** 12, 2 ** 14]);
      for (const p of many.points) expect(p.batchRecordsKept).toBeLessThanOrEqual(p.batches);
      expect(results.targets.find((t) => t.id === 'many-faults-rss')?.value).toBe(many.points[1].peakRssBytes);
      // Streaming with eviction grows near-linearly under every eviction policy (issue 17).
      for (const id of ['streaming-eviction', 'streaming-eviction-lru-page', 'streaming-eviction-random']) {
        expect(results.targets.find((t) => t.id === `${id}-growth`)?.target, id).toBe(1.05);
      }
    } finally {
      rmSync(out, { force: true });
    }
  }, 240_000);
});
