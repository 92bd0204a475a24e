// A pool child: runs the tasks its parent sends, one at a time, and answers each with its
// result or its one-line error. Its argument is the pool's kind (pool.ts): sweep points, or
// faultbench's (measure, profile) jobs; only that kind's modules are loaded. It leaves when its
// parent goes (a killed worker's children do not linger).
import { oneLine } from './errors.ts';
import type { PoolKind } from './pool.ts';

const kind = (process.argv[2] ?? 'point') as PoolKind;
// The parent sends only tasks of its own kind (pool.ts), so each is what `run` takes.
const run = (kind === 'faultbench'
  ? await import('../faultbench/jobs.ts').then((m) => async (j: Parameters<typeof m.runFaultbenchJob>[0]) => m.runFaultbenchJob(j))
  : await import('./point.ts').then((m) => m.runPoint)) as (task: unknown) => Promise<unknown>;

process.on('disconnect', () => process.exit(0));
process.on('message', (task: unknown) => {
  run(task).then(
    (r) => process.send?.({ ok: true, result: r }),
    (e: unknown) => process.send?.({ ok: false, error: oneLine(e) }),
  );
});
process.send?.({ ready: true });
