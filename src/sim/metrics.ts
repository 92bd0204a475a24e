// Mutable counters filled during a run, and the time-bucketed timeline.
import { formatTime } from '../units/time.ts';
import { LogHistogram } from '../units/histogram.ts';
import { BATCH_FIELDS, type BatchRecord, type BatchSummary, type DeviceMetrics } from './results.ts';

/** Zeroed metrics of a device. */
export function newDeviceMetrics(id: string, profile: string, driver: DeviceMetrics['driver']): DeviceMetrics {
  return {
    id, profile, driver,
    faults: { raised: 0, coalesced: 0, duplicates: 0, serviced: 0, throttled: 0, flushed: 0, overflows: 0, pri: 0, fatal: 0, pending: 0, busy: 0 },
    batches: 0, replays: 0, lanes: 0,
    pagesIn: 0, pagesOut: 0, bytesIn: 0, bytesOut: 0, prefetched: 0,
    evictions: { pages: 0, units: 0 },
    thrashing: { events: 0, throttles: 0, pins: 0 },
    pinnedPages: 0,
    accesses: { local: 0, remote: 0, peer: 0 },
    peerPaths: {},
    populated: 0,
    contention: { ebusy: 0, evictedPages: 0, rwsemWaits: 0, rwsemWaitPs: 0, timesliceWaits: 0 },
    accessCounterNotifications: 0,
    tlb: { hits: 0, misses: 0, invalidations: 0 },
    time: { faultService: 0, pinning: 0, copy: 0, map: 0, invalidation: 0, stall: 0, busy: 0 },
    pagesTouched: 0,
    touched: [],
    kernels: [],
    paths: [],
  };
}

/** A batch record with every count and time at zero. */
export function newBatchRecord(device: string, batch: number, startPs: number): BatchRecord {
  return {
    device, batch, start_time: Math.floor(startPs / 1000), time: 0,
    cached_faults: 0, coalesced_faults: 0, duplicate_faults: 0, actual_faults: 0, not_already_resident: 0,
    num_vablock: 0, num_prefetch: 0, num_evict: 0, num_evict_ops: 0, num_transfers: 0, transfer_size: 0,
    num_mapped_pages: 0, num_mapping_ops: 0, root_chunk_allocs: 0, batch_transfer: 0, map: 0, unmap: 0,
    service: 0, make_resident: 0, resident_pages: 0, pop_pages: 0, unmap_res: 0, unmap_rdup: 0,
    block_gpu_state: 0, num_new_vablock: 0, unmap_res_count: 0, num_replays: 0,
  };
}

/** Batch records a device keeps for results.json by default (SimOptions.maxBatchRecords). */
export const DEFAULT_MAX_BATCH_RECORDS = 100_000;

/** The numeric BatchRecord fields, whose sums a BatchLog keeps. */
export const BATCH_SUM_FIELDS = BATCH_FIELDS.filter((f) => f !== 'device' && f !== 'batch' && f !== 'start_time') as readonly Exclude<keyof BatchRecord, 'device' | 'batch' | 'start_time'>[];

/**
 * A device's finished fault batches. Every batch is counted into sums and a histogram of its
 * service time, and handed to `onRecord` (the CLI streams batches.csv from it); only the first
 * `limit` records are kept (results.json, report.html, the viewer's batch detail), so a run of
 * millions of batches holds a bounded number of records. Records with a negative batch number
 * (work outside a fault batch: access-counter migrations, queue restores) are not batches and
 * are ignored.
 */
export class BatchLog {
  /** The first `limit` batch records, in the order they finished. */
  readonly kept: BatchRecord[] = [];
  /** Batches finished (kept or not). */
  count = 0;
  /** Sums of the numeric fields over every finished batch (times in ns, as in the records). */
  readonly sums = zeroSums();
  /** Service time (`time`) of every batch, ps (the record's ns × 1000, like results.json). */
  readonly timePs = new LogHistogram();
  /** Called with every finished batch, kept or not; must not change the record. */
  onRecord: ((rec: BatchRecord) => void) | null = null;

  /** @param limit records kept, integer ≥ 0 (the rest are counted, summed and passed on) */
  constructor(public limit = DEFAULT_MAX_BATCH_RECORDS) {}

  /** A batch has finished: its record is final. */
  push(rec: BatchRecord): void {
    if (rec.batch < 0) return;
    this.count++;
    addBatch(this.sums, rec);
    this.timePs.add(rec.time * 1000);
    if (this.kept.length < this.limit) this.kept.push(rec);
    this.onRecord?.(rec);
  }
}

/**
 * Adds every numeric field of `r` to `s`, one named field at a time: a push per batch at 10^7
 * batches, where a loop over BATCH_SUM_FIELDS (keyed access) cost about 1.3 µs a batch, this
 * about a tenth. test/sim/batch-log.test.ts checks it covers BATCH_SUM_FIELDS.
 */
export function addBatch(s: BatchSummary['sums'], r: BatchRecord): void {
  s.time += r.time;
  s.cached_faults += r.cached_faults;
  s.coalesced_faults += r.coalesced_faults;
  s.duplicate_faults += r.duplicate_faults;
  s.actual_faults += r.actual_faults;
  s.not_already_resident += r.not_already_resident;
  s.num_vablock += r.num_vablock;
  s.num_prefetch += r.num_prefetch;
  s.num_evict += r.num_evict;
  s.num_evict_ops += r.num_evict_ops;
  s.num_transfers += r.num_transfers;
  s.transfer_size += r.transfer_size;
  s.num_mapped_pages += r.num_mapped_pages;
  s.num_mapping_ops += r.num_mapping_ops;
  s.root_chunk_allocs += r.root_chunk_allocs;
  s.batch_transfer += r.batch_transfer;
  s.map += r.map;
  s.unmap += r.unmap;
  s.service += r.service;
  s.make_resident += r.make_resident;
  s.resident_pages += r.resident_pages;
  s.pop_pages += r.pop_pages;
  s.unmap_res += r.unmap_res;
  s.unmap_rdup += r.unmap_rdup;
  s.block_gpu_state += r.block_gpu_state;
  s.num_new_vablock += r.num_new_vablock;
  s.unmap_res_count += r.unmap_res_count;
  s.num_replays += r.num_replays;
}

/** Every summed batch field at 0. */
function zeroSums(): BatchSummary['sums'] {
  return Object.fromEntries(BATCH_SUM_FIELDS.map((f) => [f, 0])) as BatchSummary['sums'];
}

/** The run-wide BatchSummary of the devices' batch logs. */
export function batchSummary(logs: readonly BatchLog[]): BatchSummary {
  const sums = zeroSums();
  const time = new LogHistogram();
  let count = 0, kept = 0;
  for (const l of logs) {
    count += l.count;
    kept += l.kept.length;
    for (const f of BATCH_SUM_FIELDS) sums[f] += l.sums[f];
    time.merge(l.timePs);
  }
  return { count, kept, sums, timePs: time.toJSON() };
}

/** The summary of `records` all kept (a version 1 results file, a test's hand-made results). */
export function batchSummaryOf(records: readonly BatchRecord[]): BatchSummary {
  const log = new BatchLog(Infinity);
  for (const r of records) log.push(r);
  return batchSummary([log]);
}

/**
 * Values per fixed bucket of simulated time. Counts are added to the bucket of their time;
 * gauges (residency) are sampled at bucket ends by the machine.
 */
export class TimelineBuilder {
  readonly faults = new Map<string, number[]>();
  readonly linkBytes = new Map<string, number[]>();
  readonly residency = new Map<string, number[]>();

  /**
   * @param bucketPs bucket width, integer ps > 0
   * @param maxBuckets most buckets a series may hold (default unbounded); a value for a later
   *   bucket throws TimelineFull instead of growing every series without end
   */
  constructor(readonly bucketPs: number, readonly maxBuckets = Infinity) {
    if (!Number.isInteger(bucketPs) || bucketPs <= 0) throw new RangeError(`timeline bucket must be a positive integer ps, got ${bucketPs}`);
  }

  private check(bucket: number): void {
    if (bucket >= this.maxBuckets) throw new TimelineFull(this.bucketPs, this.maxBuckets);
  }

  private add(m: Map<string, number[]>, key: string, bucket: number, n: number): void {
    this.check(bucket);
    let a = m.get(key);
    if (!a) m.set(key, (a = []));
    while (a.length <= bucket) a.push(0);
    a[bucket] += n;
  }

  /** Counts `n` faults of `device` at time `t`. */
  fault(device: string, t: number, n = 1): void {
    this.add(this.faults, device, Math.floor(t / this.bucketPs), n);
  }
  /** Adds `bytes` carried by segment `seg` during bucket `bucket`. */
  link(seg: string, bucket: number, bytes: number): void {
    this.add(this.linkBytes, seg, bucket, bytes);
  }
  /** Sets the resident page count of memory node `node` at the end of `bucket`. */
  resident(node: string, bucket: number, pages: number): void {
    this.check(bucket);
    let a = this.residency.get(node);
    if (!a) this.residency.set(node, (a = []));
    while (a.length <= bucket) a.push(a.length > 0 ? a[a.length - 1] : 0);
    a[bucket] = pages;
  }

  /** Pads every series to `buckets` entries (gauges repeat their last value). */
  finish(buckets: number): { faults: Record<string, number[]>; linkBytes: Record<string, number[]>; residency: Record<string, number[]> } {
    const pad = (m: Map<string, number[]>, gauge: boolean) => {
      const out: Record<string, number[]> = {};
      for (const k of [...m.keys()].sort()) {
        const a = m.get(k)!.slice(0, Math.max(buckets, 0));
        while (a.length < buckets) a.push(gauge && a.length > 0 ? a[a.length - 1] : 0);
        out[k] = a;
      }
      return out;
    };
    return { faults: pad(this.faults, false), linkBytes: pad(this.linkBytes, false), residency: pad(this.residency, true) };
  }
}

/**
 * A run went on past its timeline's last bucket (TimelineBuilder.maxBuckets): the simulated time
 * is far longer than the bucket width suits, which would otherwise fill memory with buckets.
 */
export class TimelineFull extends RangeError {
  constructor(readonly bucketPs: number, readonly maxBuckets: number) {
    super(`the run went past ${maxBuckets} timeline buckets of ${bucketPs} ps (${formatTime(bucketPs * maxBuckets)} of simulated time)`);
    this.name = 'TimelineFull';
  }
}
