// A tiny hand-written RunResults (one device, one link) for exact-output tests.
import { RESULTS_SCHEMA_VERSION, type DeviceMetrics, type RunResults } from '../../src/sim/results.ts';
import { LogHistogram } from '../../src/units/histogram.ts';
import { batchSummaryOf } from '../../src/sim/metrics.ts';

/** The latency histogram of a run that serviced no faults. */
export const EMPTY_LATENCY = new LogHistogram().toJSON();

export function tinyDevice(id: string, over: Partial<DeviceMetrics> = {}): DeviceMetrics {
  return {
    id, profile: 'test-gpu', driver: 'hmm-mirror',
    faults: { raised: 1200, coalesced: 150, duplicates: 50, serviced: 1000, throttled: 0, flushed: 0, overflows: 0, pri: 0, fatal: 0, pending: 0, busy: 0 },
    batches: 4, replays: 4, lanes: 10, pagesIn: 1000, pagesOut: 256, bytesIn: 1000 * 4096, bytesOut: 256 * 4096, prefetched: 24,
    evictions: { pages: 256, units: 1 }, thrashing: { events: 2, throttles: 1, pins: 0 }, pinnedPages: 0,
    accesses: { local: 5000, remote: 10, peer: 0 },
      peerPaths: {}, populated: 0, contention: { ebusy: 0, evictedPages: 0, rwsemWaits: 0, rwsemWaitPs: 0, timesliceWaits: 0 }, accessCounterNotifications: 0,
    tlb: { hits: 4000, misses: 100, invalidations: 3 },
    time: { faultService: 40_000_000, pinning: 0, copy: 160_000_000, map: 8_000_000, invalidation: 1_500_000, stall: 2_500_000_000, busy: 9_000_000_000 },
    pagesTouched: 1024, touched: [{ space: 1, start: 0, end: 1024 }], kernels: [{ name: 'k', startPs: 0, endPs: 250_000_000, lanes: 10, faults: 1200 }], paths: [],
    ...over,
  };
}

export function tinyResults(over: Partial<RunResults> = {}): RunResults {
  return {
    schema: RESULTS_SCHEMA_VERSION, name: 'tiny', seed: 1, endPs: 250_000_000, events: 12345, data: true,
    devices: [tinyDevice('gpu0')],
    links: [{ id: 'cpu->gpu0', link: 'pcie0', kind: 'pcie', from: 'cpu', to: 'gpu0', bandwidth: 32e9, bytes: 4_096_000, copyBytes: 4_032_000, transfers: 40, remoteBytes: 64_000 }],
    cpu: { faults: 7, migrateToRam: 2, deviceMigrateToRam: 0, cow: 0, accesses: 99, busyPs: 100_000_000, threads: 4, numaMigrated: 0 },
    batches: [],
    batchSummary: batchSummaryOf([]),
    faultLatency: LogHistogram.of([10_000_000, 20_000_000, 30_000_000, 40_000_000]).toJSON(),
    timeline: { bucketPs: 50_000_000, residency: { cpu: [10, 5, 0, 0, 0], gpu0: [0, 5, 10, 10, 10] }, faults: { gpu0: [3, 2, 0, 0, 1] }, linkBytes: { 'cpu->gpu0': [0, 4096, 8192, 0, 0] } },
    spans: [],
    ...over,
  };
}
