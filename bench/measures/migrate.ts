// Migrating N pages to a device and back: migrate_vma_setup/_pages/_finalize in runs of up to
// 512 pages with SELECT_SYSTEM to device-private memory, then the same with
// SELECT_DEVICE_PRIVATE back to fresh system pages. 2N page-events per run.
import { BenchDevice } from '../lib/device.ts';
import { populated, verifyContents } from '../lib/setup.ts';
import type { ThroughputMeasure } from './types.ts';

export const migrate: ThroughputMeasure = {
  kind: 'throughput',
  id: 'migrate',
  title: 'migrate N pages to a device and back',
  event: 'one page migrated (to the device, or back)',
  modes: ['no-data', 'data'],
  eventsPerRun: (n) => 2 * n,
  targetEventsPerSec: 10e6,
  prepare(n, mode) {
    const s = populated(n, mode);
    const dev = new BenchDevice(s.machine.sys, { pages: n });
    const mm = s.proc.mm;
    return {
      run() {
        const there = dev.migrateToDevice(mm, s.start, s.start + n);
        const back = dev.migrateToSystem(mm, s.start, s.start + n);
        return there + back;
      },
      facts: () => ({ toDevice: dev.toDevice, toSystem: dev.toSystem, pagesVerified: verifyContents(s, mode, Math.max(1, n >> 8)) }),
    };
  },
};
