// CPU copy-on-write faults after fork: a parent with N written anonymous pages forks (untimed),
// then the child writes every page through Process.access, each write a COW fault that copies
// the page (wp_page_copy, with its MMU_NOTIFY_CLEAR). The child exits after each run
// (untimed). N page-events per run, each one page faulted.
import type { Process } from '../../src/api/machine.ts';
import { populated } from '../lib/setup.ts';
import type { ThroughputMeasure } from './types.ts';

export const cow: ThroughputMeasure = {
  kind: 'throughput',
  id: 'cow-fork',
  title: 'CPU COW faults after fork',
  event: 'one CPU write fault that copies the page',
  modes: ['no-data', 'data'],
  eventsPerRun: (n) => n,
  prepare(n, mode) {
    const s = populated(n, mode);
    const sys = s.machine.sys;
    let child: Process | null = null;
    let cows = 0;
    return {
      before() {
        child = s.proc.fork();
      },
      run() {
        const c = child!;
        const before = sys.stats.cow;
        for (let i = 0; i < n; i++) {
          if (typeof c.access(s.start + i, true) !== 'number') throw new Error('COW write faulted with a signal');
        }
        const done = sys.stats.cow - before;
        cows += done;
        return done;
      },
      after() {
        child!.exit();
        child = null;
      },
      facts: () => ({ cowCopies: cows }),
    };
  },
};
