// faultbench on the pool: the (measure, profile) jobs of a quick faultbench (every shipped
// profile; --quick: two) on one child process running them in turn, against a pool of one
// child per core (`hetmem faultbench --jobs N`). Both include starting their processes. The
// merged results must be the same both ways (the jobs are pure functions), or the measure fails.
import { availableParallelism } from 'node:os';
import { listProfiles } from '../../src/devices/profile/load.ts';
import { faultbenchJobs, mergeFaultbench } from '../../src/faultbench/jobs.ts';
import type { FaultbenchOptions } from '../../src/faultbench/run.ts';
import { runFaultbenchJobs } from '../../src/sweep/pool.ts';
import { nowNs } from '../lib/timing.ts';
import type { ChildMeasure } from './types.ts';
import type { FaultbenchPoolResult } from '../schema.ts';

/** Runs the jobs of `o` on `jobs` children: seconds and the merged results as JSON. */
async function timed(o: FaultbenchOptions, jobs: number): Promise<{ seconds: number; json: string }> {
  const t0 = nowNs();
  const tables = await runFaultbenchJobs(faultbenchJobs(o), jobs);
  return { seconds: Number(nowNs() - t0) / 1e9, json: JSON.stringify(mergeFaultbench(o, tables)) };
}

export const faultbenchPoolMeasure: ChildMeasure<FaultbenchPoolResult> = {
  kind: 'faultbench',
  id: 'faultbench-pool',
  title: 'faultbench (quick) on a pool of one child per core vs one child process in turn',
  async run(ctx) {
    const all = listProfiles();
    const profiles = ctx.config.quick ? all.filter((p) => ['rdma-nic', 'sva-accelerator'].includes(p.name)) : all;
    const o: FaultbenchOptions = { profiles, seed: 1, quick: true };
    const n = faultbenchJobs(o).length;
    const jobs = Math.max(1, Math.min(availableParallelism(), n));
    const one = await timed(o, 1);
    ctx.log(`faultbench: ${n} jobs in one process in turn: ${one.seconds.toFixed(1)} s`);
    const pool = await timed(o, jobs);
    ctx.log(`faultbench: ${n} jobs on a pool of ${jobs}: ${pool.seconds.toFixed(1)} s`);
    if (pool.json !== one.json) throw new Error('faultbench: the pool gave other results than one process');
    return {
      description: `hetmem faultbench --quick over ${profiles.length} profiles: ${n} (measure, profile) jobs, each run in a child process; both sides include starting their processes`,
      profiles: profiles.length,
      tasks: n,
      jobs,
      oneProcessSeconds: one.seconds,
      poolSeconds: pool.seconds,
      speedup: one.seconds / pool.seconds,
    };
  },
};
