// A synthetic but realistic RunResults for report tests: 2 GPUs behind PCIe with a peer link,
// 50 fault batches, a 40-bucket timeline, 500 fault latencies and spans on device, driver, link
// and cpu tracks (including partially overlapping copies that need overflow tracks).
// Deterministic: every number comes from a seeded xoshiro stream, never Math.random.
import { Rng } from '../../src/engine/rng.ts';
import { LogHistogram } from '../../src/units/histogram.ts';
import { batchSummaryOf } from '../../src/sim/metrics.ts';
import {
  BATCH_FIELDS, RESULTS_SCHEMA_VERSION,
  type BatchRecord, type DeviceMetrics, type LinkMetrics, type RunResults, type Span,
} from '../../src/sim/results.ts';

const PS_PER_NS = 1_000;
const PS_PER_US = 1_000_000;
const PAGE = 4096;

export interface FixtureShape {
  devices: number;
  batches: number;
  buckets: number;
  latencies: number;
}

export const DEFAULT_SHAPE: FixtureShape = { devices: 2, batches: 50, buckets: 40, latencies: 500 };

/** Log-normal-ish positive value around `median` (product of uniforms: heavy right tail). */
function skewed(rng: Rng, median: number): number {
  const u = rng.nextFloat() + rng.nextFloat() + rng.nextFloat() - 1.5; // ~N(0, 0.5)
  return median * Math.exp(u * 1.2);
}

/** A RunResults fixture; same seed, same object (deep-equal, byte-identical JSON). */
export function buildFixture(seed = 7, shape: FixtureShape = DEFAULT_SHAPE): RunResults {
  const rng = new Rng(seed);
  const bucketPs = 50 * PS_PER_US;
  const endPs = shape.buckets * bucketPs - 3_217_000;
  const deviceIds = Array.from({ length: shape.devices }, (_, i) => `gpu${i}`);

  const links: LinkMetrics[] = [
    { id: 'cpu->gpu0', link: 'pcie0', kind: 'pcie', from: 'cpu', to: 'gpu0', bandwidth: 26_400_000_000, bytes: 0, copyBytes: 0, transfers: 0, remoteBytes: 0 },
    { id: 'gpu0->cpu', link: 'pcie0', kind: 'pcie', from: 'gpu0', to: 'cpu', bandwidth: 26_400_000_000, bytes: 0, copyBytes: 0, transfers: 0, remoteBytes: 0 },
    // An unmetered peer path (Infinity bandwidth serialises as null).
    { id: 'gpu0->gpu1', link: 'peer0', kind: 'other', from: 'gpu0', to: 'gpu1', bandwidth: null, bytes: 0, copyBytes: 0, transfers: 0, remoteBytes: 0 },
  ];

  // Batches, round-robin over devices, spaced through the run.
  const batches: BatchRecord[] = [];
  const spans: Span[] = [];
  const perDevice = new Map(deviceIds.map((d) => [d, 0]));
  const stride = Math.floor(endPs / shape.batches);
  for (let k = 0; k < shape.batches; k++) {
    const device = deviceIds[k % deviceIds.length];
    const batch = perDevice.get(device)!;
    perDevice.set(device, batch + 1);
    const startPs = k * stride + rng.int(0, Math.floor(stride / 4));
    const cached = rng.int(8, 257);
    const coalesced = rng.int(0, Math.floor(cached / 3));
    const duplicates = rng.int(0, Math.floor((cached - coalesced) / 8) + 1);
    const actual = cached - coalesced - duplicates;
    const notResident = Math.max(0, actual - rng.int(0, 4));
    const prefetch = rng.int(0, 64);
    const evict = k > shape.batches / 2 ? rng.int(0, 32) : 0;
    const transfers = rng.int(1, 9);
    const transferSize = (notResident + prefetch) * PAGE;
    const batchTransfer = Math.floor(transferSize / 26.4) + rng.int(500, 3000); // ns at 26.4 GB/s
    const map = rng.int(300, 4000);
    const unmap = rng.int(200, 3000);
    const service = rng.int(8000, 12000);
    const makeResident = batchTransfer + rng.int(100, 800);
    const time = service + makeResident + map + unmap;
    const rec = {
      device, batch, start_time: Math.floor(startPs / PS_PER_NS), time, cached_faults: cached,
      coalesced_faults: coalesced, duplicate_faults: duplicates, actual_faults: actual,
      not_already_resident: notResident, num_vablock: rng.int(1, 6), num_prefetch: prefetch,
      num_evict: evict, num_evict_ops: evict > 0 ? rng.int(1, 3) : 0, num_transfers: transfers,
      transfer_size: transferSize, num_mapped_pages: actual + prefetch, num_mapping_ops: rng.int(1, 12),
      root_chunk_allocs: rng.int(0, 3), batch_transfer: batchTransfer, map, unmap, service,
      make_resident: makeResident, resident_pages: notResident + prefetch, pop_pages: rng.int(0, 16),
      unmap_res: rng.int(100, 900), unmap_rdup: 0, block_gpu_state: rng.int(50, 400),
      num_new_vablock: rng.int(0, 3), unmap_res_count: rng.int(0, notResident + 1), num_replays: 1,
    } satisfies BatchRecord;
    batches.push(rec);
    if (BATCH_FIELDS.length !== Object.keys(rec).length) throw new Error('fixture: BatchRecord field drift');

    // Driver span for the batch, with the copy nested inside it, and the copy on the link.
    const durPs = time * PS_PER_NS;
    spans.push({ track: `${device}/driver`, name: 'fault batch', startPs, durPs, args: { batch, faults: actual } });
    const copyStart = startPs + service * PS_PER_NS;
    const copyDur = batchTransfer * PS_PER_NS;
    spans.push({ track: `${device}/driver`, name: 'make resident', startPs: copyStart, durPs: copyDur });
    const link = device === 'gpu0' ? links[0] : links[2];
    spans.push({ track: link.id, name: 'copy', startPs: copyStart, durPs: copyDur, args: { bytes: transferSize } });
    link.bytes += transferSize;
    link.copyBytes! += transferSize;
    link.transfers += transfers;
    if (evict > 0 && device === 'gpu0') {
      // Eviction copy overlapping the tail of the migration copy: partially overlapping
      // slices on one track, which the trace must move to an overflow track.
      const evStart = copyStart + Math.floor(copyDur / 2);
      spans.push({ track: 'gpu0->cpu', name: 'evict', startPs: evStart, durPs: copyDur, args: { pages: evict } });
      spans.push({ track: 'cpu->gpu0', name: 'copy (next chunk)', startPs: evStart, durPs: copyDur });
      links[1].bytes += evict * PAGE;
      links[1].copyBytes! += evict * PAGE;
      links[1].transfers += 1;
    }
  }
  // Zero-copy loads gpu1 made from host memory: bytes on the link, no transfer.
  links[0].bytes += 96 * PAGE;
  links[0].remoteBytes = 96 * PAGE;

  // Kernels on device tracks, CPU activity on the cpu track.
  const devices: DeviceMetrics[] = deviceIds.map((id, di) => {
    const mine = batches.filter((b) => b.device === id);
    const sum = (f: keyof BatchRecord): number => mine.reduce((s, b) => s + (b[f] as number), 0);
    const kernels = [0, 1].map((k) => {
      const startPs = Math.floor((k * endPs) / 2) + di * 1_000_000;
      return { name: k === 0 ? 'init' : 'stream', startPs, endPs: startPs + Math.floor(endPs / 2) - 2_000_000, lanes: 64, faults: k === 0 ? 0 : sum('cached_faults') };
    });
    for (const kr of kernels) spans.push({ track: id, name: kr.name, startPs: kr.startPs, durPs: kr.endPs - kr.startPs });
    const pagesIn = sum('resident_pages');
    const pagesOut = sum('num_evict');
    const lanes = 64;
    const stall = sum('time') * PS_PER_NS * lanes;
    // Entries a flush dropped and those the full buffer refused were raised but never fetched.
    const flushed = rng.int(0, 40), overflows = rng.int(0, 3);
    return {
      id, profile: di === 0 ? 'a100-80g' : 'mi250x', driver: di === 0 ? 'hmm-mirror' : 'sva',
      faults: {
        raised: sum('cached_faults') + flushed + overflows, coalesced: sum('coalesced_faults'),
        duplicates: sum('duplicate_faults'), serviced: sum('actual_faults'), throttled: 0, flushed, overflows,
        pri: di === 1 ? sum('actual_faults') : 0, fatal: 0, pending: 0, busy: 0,
      },
      batches: mine.length, replays: sum('num_replays'), lanes,
      pagesIn, pagesOut, bytesIn: pagesIn * PAGE, bytesOut: pagesOut * PAGE, prefetched: sum('num_prefetch'),
      evictions: { pages: pagesOut, units: sum('num_evict_ops') },
      thrashing: { events: rng.int(0, 5), throttles: rng.int(0, 3), pins: rng.int(0, 2) },
      pinnedPages: rng.int(0, 100),
      accesses: { local: rng.int(1e6, 2e6), remote: rng.int(0, 1e5), peer: di === 0 ? rng.int(0, 1e4) : 0 },
      peerPaths: {}, populated: 0, contention: { ebusy: 0, evictedPages: 0, rwsemWaits: 0, rwsemWaitPs: 0, timesliceWaits: 0 },
      accessCounterNotifications: rng.int(0, 50),
      tlb: { hits: rng.int(1e6, 3e6), misses: rng.int(1e3, 1e4), invalidations: rng.int(10, 200) },
      time: {
        faultService: sum('service') * PS_PER_NS, pinning: 0, copy: sum('batch_transfer') * PS_PER_NS, map: sum('map') * PS_PER_NS,
        invalidation: sum('unmap') * PS_PER_NS, stall, busy: endPs * lanes - stall,
      },
      pagesTouched: pagesIn + rng.int(0, 500),
      touched: [{ space: 1, start: 4096, end: 4096 + pagesIn }],
      kernels,
      paths: [],
    };
  });
  for (let t = 0; t < 12; t++) {
    const startPs = rng.int(0, endPs - 2_000_000);
    spans.push({ track: 'cpu', name: t % 3 === 0 ? 'migrate_to_ram' : 'cpu fault', startPs, durPs: rng.int(100_000, 1_500_000) });
  }

  // Timeline.
  const residency: Record<string, number[]> = { cpu: [] };
  for (const id of deviceIds) residency[id] = [];
  const faults: Record<string, number[]> = Object.fromEntries(deviceIds.map((id) => [id, [] as number[]]));
  const linkBytes: Record<string, number[]> = Object.fromEntries(links.map((l) => [l.id, [] as number[]]));
  let cpuPages = 262_144;
  const devPages = deviceIds.map(() => 0);
  for (let i = 0; i < shape.buckets; i++) {
    deviceIds.forEach((id, di) => {
      // Up to 3,000 pages per bucket in 40 buckets; scaled so longer timelines move as much in total.
      const moved = Math.min(cpuPages, rng.int(0, Math.max(2, Math.floor(120_000 / shape.buckets))) * (i < shape.buckets * 0.7 ? 1 : 0));
      devPages[di] += moved;
      cpuPages -= moved;
      residency[id].push(devPages[di]);
      faults[id].push(moved === 0 ? rng.int(0, 5) : rng.int(50, 900));
    });
    residency.cpu.push(cpuPages);
    const full = (26_400_000_000 * bucketPs) / 1e12; // bytes a 26.4 GB/s link carries per bucket
    linkBytes['cpu->gpu0'].push(Math.floor(full * rng.nextFloat() * 0.9));
    linkBytes['gpu0->cpu'].push(i > shape.buckets / 2 ? Math.floor(full * rng.nextFloat() * 0.3) : 0);
    linkBytes['gpu0->gpu1'].push(rng.int(0, 64) * PAGE * 16);
  }

  const faultLatencies = Array.from({ length: shape.latencies }, () => Math.round(skewed(rng, 25 * PS_PER_US)));

  return {
    schema: RESULTS_SCHEMA_VERSION,
    name: 'fixture-2gpu',
    seed,
    endPs,
    events: 1_234_567 + rng.int(0, 1000),
    data: false,
    devices,
    links,
    cpu: { faults: 321, migrateToRam: 42, deviceMigrateToRam: 5, cow: 3, accesses: 4_000_000, busyPs: Math.floor(endPs * 0.8), threads: 8, numaMigrated: 0 },
    batches,
    batchSummary: batchSummaryOf(batches),
    faultLatency: LogHistogram.of(faultLatencies).toJSON(),
    timeline: { bucketPs, residency, faults, linkBytes },
    spans,
  };
}
