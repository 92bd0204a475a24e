// Mirroring N pages through hmm_range_fault: an interval notifier over the region, then
// hmm_range_fault (REQ_FAULT) in runs of up to 512 pages, each run's pfns committed to the
// device page table under the sequence check. The pages are present, so nothing faults:
// N page-events per run, each one page mirrored.
import { BenchMirror } from '../lib/mirror.ts';
import { populated } from '../lib/setup.ts';
import type { ThroughputMeasure } from './types.ts';

export const mirror: ThroughputMeasure = {
  kind: 'throughput',
  id: 'mirror',
  title: 'mirror N pages through hmm_range_fault',
  event: 'one page mirrored into the device page table',
  modes: ['no-data'],
  eventsPerRun: (n) => n,
  targetEventsPerSec: 10e6,
  prepare(n, mode) {
    const s = populated(n, mode);
    const m = new BenchMirror(s.proc.mm, s.start, n);
    // Each run rewrites every entry of the device page table, so runs need no set-up.
    return {
      run: () => m.mirror(s.start, s.start + n, false),
      facts: () => ({ invalidations: m.invalidations, retries: m.retries }),
    };
  },
};
