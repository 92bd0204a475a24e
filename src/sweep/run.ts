// `hetmem sweep`: the points not yet in the database run on the local pool (or, with a Redis URL,
// on BullMQ workers) and each is stored as it finishes. A rerun skips what is stored: resuming
// is running the same command again.
import { LocalPool, defaultJobs } from './pool.ts';
import { SweepStore } from './store.ts';
import { SweepProgress, type ProgressIo } from './progress.ts';
import { failedPoints, oneLine, type PointFailure } from './errors.ts';
import { runOnRedis } from './queue.ts';
import type { PointPayload, Sweep } from './load.ts';
import type { PointResult } from './point.ts';

/** Options of runSweep. */
export interface RunSweepOptions {
  /** The DuckDB file. */
  readonly db: string;
  /** Local pool size (default: every core). */
  readonly jobs?: number;
  /** Redis URL: enqueue on BullMQ instead of running locally. */
  readonly redis?: string;
  /** BullMQ queue name (default hetmem-sweep). */
  readonly queue?: string;
  /** Also write the points table to this Parquet file. */
  readonly parquet?: string;
  /** Milliseconds between progress lines when stderr is not a terminal (default 10 s). */
  readonly progressMs?: number;
  readonly progress?: boolean;
  /** With `redis`: how long Redis may stay unreachable once the sweep has started, ms (default 30 s). */
  readonly lostMs?: number;
}

/** What a sweep run did. */
export interface SweepSummary {
  readonly total: number;
  readonly ran: number;
  readonly skipped: number;
}

/** Runs the points of `sweep` not yet stored in `o.db`. */
export async function runSweep(sweep: Sweep, o: RunSweepOptions, io: ProgressIo): Promise<SweepSummary> {
  const store = await SweepStore.open(o.db);
  try {
    await store.putSweep(sweep.name, sweep.description);
    await store.addAxes(sweep.axes, sweep.points);
    const done = await store.doneKeys();
    // Two points that run the same scenario are one point.
    const seen = new Set<string>();
    const toRun: PointPayload[] = [];
    for (const p of sweep.points) {
      if (done.has(p.key) || seen.has(p.key)) continue;
      seen.add(p.key);
      toRun.push(p);
    }
    const unique = new Set(sweep.points.map((p) => p.key)).size;
    const progress = new SweepProgress(sweep.name, unique, unique - toRun.length, io, o.progressMs, o.progress !== false);
    const onResult = async (p: PointPayload, r: PointResult, where: string) => {
      await store.put(sweep.name, p, r);
      progress.tick(where);
    };
    try {
      if (toRun.length > 0) {
        if (o.redis !== undefined) await runOnRedis(o.redis, o.queue ?? 'hetmem-sweep', toRun, onResult, progress, o.lostMs);
        else await runLocal(toRun, o.jobs ?? defaultJobs(), onResult);
      }
    } finally {
      progress.stop();
    }
    if (o.parquet !== undefined) await store.exportParquet(o.parquet);
    return { total: unique, ran: toRun.length, skipped: unique - toRun.length };
  } finally {
    store.close();
  }
}

/**
 * Runs `toRun` on a local pool. A point that fails does not stop the others: every other point
 * runs and is stored, then the failures are thrown as one line.
 */
async function runLocal(toRun: readonly PointPayload[], jobs: number, onResult: (p: PointPayload, r: PointResult, where: string) => Promise<void>): Promise<void> {
  const pool = new LocalPool(Math.max(1, Math.min(jobs, toRun.length)));
  const failures: PointFailure[] = [];
  try {
    await Promise.all(toRun.map((p) => pool.run(p).then(
      (r) => onResult(p, r, `point ${p.index}`),
      (e: unknown) => {
        failures.push({ index: p.index, key: p.key, error: oneLine(e) });
      },
    )));
  } finally {
    pool.close();
  }
  if (failures.length > 0) throw failedPoints(failures, toRun.length, '');
}
