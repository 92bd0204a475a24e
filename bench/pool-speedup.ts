// The pool measures of `npm run bench` on their own (faultbench-pool and sweep), for a machine
// whose cores are idle at the moment: `node --import tsx bench/pool-speedup.ts [--quick]`.
// Prints one JSON line per measure (one process in turn against a pool of one child per core,
// the results checked identical both ways, as in the full bench) and the load average around it.
import { loadavg } from 'node:os';
import { faultbenchPoolMeasure } from './measures/faultbench-pool.ts';
import { sweepMeasure } from './measures/sweep.ts';
import type { BenchConfig } from './measures/types.ts';

const quick = process.argv.includes('--quick');
const config = { quick } as BenchConfig; // the two measures read only `quick`
for (const m of [faultbenchPoolMeasure, sweepMeasure]) {
  const loadBefore = loadavg()[0];
  const result = await m.run({ config, log: (msg) => process.stderr.write(`${msg}\n`) });
  console.log(JSON.stringify({ id: m.id, loadBefore, loadAfter: loadavg()[0], ...result }));
}
