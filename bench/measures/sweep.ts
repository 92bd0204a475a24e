// Sweep throughput: the points of a small sweep (examples/sweeps/stream.yaml, LRU and random
// eviction × seeds) run on the local pool with one child per core, against one child process
// running the same points in turn. Both sides pay for starting their processes (a child imports
// hetmem through tsx, a few seconds), as a sweep does; the ratio is what the pool buys on this
// machine. Every point's results must come out the same both ways (a point is deterministic), or
// the measure fails.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseSweep, type Sweep } from '../../src/sweep/load.ts';
import { LocalPool } from '../../src/sweep/pool.ts';
import type { PointResult } from '../../src/sweep/point.ts';
import { nowNs } from '../lib/timing.ts';
import { ROOT } from '../lib/child.ts';
import type { ChildMeasure } from './types.ts';
import type { SweepBenchResult } from '../schema.ts';

/** The sweep: 2 eviction policies × `seeds` seeds at `scale` (quick: 2 seeds at 0.25; full: 8 at 0.5). */
function sweep(seeds: number, scale: number): Sweep {
  const text = `name: bench\nscenario: stream.yaml\nscale: ${scale}\ngrid:\n  devices[0].policies.eviction.policy: [evict-lru-chunk, evict-random]\nseeds: [${Array.from({ length: seeds }, (_, i) => i + 1).join(', ')}]\n`;
  return parseSweep(text, join(ROOT, 'examples', 'sweeps', 'bench.yaml'));
}

/** Runs every point on a pool of `jobs` children; seconds and the results by key. */
async function timed(s: Sweep, jobs: number): Promise<{ seconds: number; results: Map<string, string> }> {
  const pool = new LocalPool(jobs);
  const t0 = nowNs();
  try {
    const rs: PointResult[] = await Promise.all(s.points.map((p) => pool.run(p)));
    return { seconds: Number(nowNs() - t0) / 1e9, results: new Map(rs.map((r) => [r.key, r.results])) };
  } finally {
    pool.close();
  }
}

export const sweepMeasure: ChildMeasure<SweepBenchResult> = {
  kind: 'sweep',
  id: 'sweep-pool',
  title: 'sweep points per minute: local pool (one child per core) vs one process in turn',
  async run(ctx) {
    const s = ctx.config.quick ? sweep(2, 0.25) : sweep(8, 0.5);
    const jobs = Math.max(1, Math.min(availableParallelism(), s.points.length));
    const one = await timed(s, 1);
    ctx.log(`sweep: ${s.points.length} points in one process in turn: ${one.seconds.toFixed(1)} s`);
    const pool = await timed(s, jobs);
    ctx.log(`sweep: ${s.points.length} points on a pool of ${jobs}: ${pool.seconds.toFixed(1)} s`);
    for (const [key, r] of one.results) {
      if (pool.results.get(key) !== r) throw new Error(`sweep: point ${key} gave other results on the pool than in one process`);
    }
    const perMin = (sec: number) => (s.points.length / sec) * 60;
    return {
      description: `${s.points.length} points of examples/sweeps/stream.yaml (eviction policy × seed), each a child-process run; both sides include starting their processes`,
      points: s.points.length,
      jobs,
      oneProcessSeconds: one.seconds,
      poolSeconds: pool.seconds,
      oneProcessPointsPerMin: perMin(one.seconds),
      poolPointsPerMin: perMin(pool.seconds),
      speedup: one.seconds / pool.seconds,
    };
  },
};
