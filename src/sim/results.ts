// The results of a timed run: what `hetmem run --json` prints and results.json holds. Every
// time is integer picoseconds except in BatchRecord, which keeps uvm-eval's nanosecond fields so
// its scripts read our batches.csv unchanged (results.json stores those in ps too, and says so:
// see report/results-schema.ts).

import type { HistogramJson } from '../units/histogram.ts';

/**
 * Schema version of RunResults; bump on any incompatible change. 2: per-fault `faultLatencies`
 * became the histogram `faultLatency`, `batches` keeps at most SimOptions.maxBatchRecords per
 * device and `batchSummary` aggregates every batch (version 1 files are still read).
 */
export const RESULTS_SCHEMA_VERSION = 2;

/**
 * One fault batch, with the fields of the uvm-eval per-batch log (anchors-uvm.md b.9) plus the
 * device it belongs to. Counts are plain integers; times are nanoseconds (rounded down).
 */
export interface BatchRecord {
  device: string;
  /** Batch number on this device, from 0. */
  batch: number;
  /** When servicing started, ns since the start of the run. */
  start_time: number;
  /** Service duration, ns (fetch to replay). */
  time: number;
  /** Entries fetched from the fault buffer. */
  cached_faults: number;
  /** Entries merged into another entry for the same page (same batch). */
  coalesced_faults: number;
  /**
   * Pages (one per page after coalescing) already resident and mapped by the time they were
   * serviced; the page's other entries are in coalesced_faults.
   */
  duplicate_faults: number;
  /** Distinct pages serviced. */
  actual_faults: number;
  /** Of those, pages that had to be made resident (migrated or populated). */
  not_already_resident: number;
  /** VA blocks (2 MiB) touched by the batch. */
  num_vablock: number;
  /** Pages added by the prefetcher. */
  num_prefetch: number;
  /** Pages evicted to make room. */
  num_evict: number;
  /** Eviction operations (victim units). */
  num_evict_ops: number;
  /** Copy-engine transfers issued (migrations and evictions). */
  num_transfers: number;
  /** Bytes moved by those transfers. */
  transfer_size: number;
  /** Pages mapped in the device page table. */
  num_mapped_pages: number;
  /** Map operations (one per contiguous run). */
  num_mapping_ops: number;
  /** Root chunks (2 MiB) allocated from free device memory. */
  root_chunk_allocs: number;
  /** Time in data transfer, ns. */
  batch_transfer: number;
  /** Time mapping pages on the device, ns. */
  map: number;
  /** Time unmapping (CPU PTE → migration entry, device TLB invalidation), ns. */
  unmap: number;
  /** Fixed service overhead (interrupt, fetch, sort, replay), ns. */
  service: number;
  /** Time making pages resident (allocation + copy + eviction), ns. */
  make_resident: number;
  /** Pages made resident. */
  resident_pages: number;
  /** Pages populated without a copy (first touch, zero fill). */
  pop_pages: number;
  /** Time unmapping pages from their previous residence, ns. */
  unmap_res: number;
  /** Time collapsing read duplicates, ns (0: HMM has no read duplication, see README). */
  unmap_rdup: number;
  /** Time updating per-block device state, ns. */
  block_gpu_state: number;
  /** VA blocks the device had never touched before. */
  num_new_vablock: number;
  /** Pages unmapped from their previous residence. */
  unmap_res_count: number;
  /** Replays issued while servicing this batch. */
  num_replays: number;
}

/** Every fault batch of a run, aggregated over devices. */
export interface BatchSummary {
  /** Batches finished. */
  count: number;
  /** Of those, the records in RunResults.batches. */
  kept: number;
  /**
   * Each numeric BatchRecord field (not device, batch, start_time) summed over every batch;
   * times in ns, as in the records (results.json holds them in ps, like the records).
   */
  sums: Record<Exclude<keyof BatchRecord, 'device' | 'batch' | 'start_time'>, number>;
  /** Batch service time (`time`), ps, as a log-linear histogram. */
  timePs: HistogramJson;
}

/** Field order of BatchRecord, as written to batches.csv. */
export const BATCH_FIELDS: readonly (keyof BatchRecord)[] = [
  'device', 'batch', 'start_time', 'time', 'cached_faults', 'coalesced_faults', 'duplicate_faults', 'actual_faults',
  'not_already_resident', 'num_vablock', 'num_prefetch', 'num_evict', 'num_evict_ops', 'num_transfers', 'transfer_size',
  'num_mapped_pages', 'num_mapping_ops', 'root_chunk_allocs', 'batch_transfer', 'map', 'unmap', 'service', 'make_resident',
  'resident_pages', 'pop_pages', 'unmap_res', 'unmap_rdup', 'block_gpu_state', 'num_new_vablock', 'unmap_res_count', 'num_replays',
];

/** The BatchRecord fields that are times (ns in the record and in batches.csv). */
export const BATCH_TIME_FIELDS: readonly (keyof BatchRecord)[] = [
  'start_time', 'time', 'batch_transfer', 'map', 'unmap', 'service', 'make_resident', 'unmap_res', 'unmap_rdup', 'block_gpu_state',
];

/** Where a device's time went, integer ps. Buckets overlap: lanes stall while the driver works. */
export interface TimeBreakdown {
  /** Driver time servicing fault batches (fixed costs + per-fault costs). */
  faultService: number;
  /**
   * Pinning driver: time registering a kernel's regions before its lanes start
   * (pin_user_pages, PIN_PAGE_PS per page). It services no faults.
   */
  pinning: number;
  /** Copy-engine busy time for this device's migrations and evictions. */
  copy: number;
  /** Mapping pages into the device page table. */
  map: number;
  /** TLB invalidations caused by CPU-side changes (mmu notifier callbacks). */
  invalidation: number;
  /**
   * Lane time spent waiting for faults and shootdowns, in lane-seconds (ps): summed over every
   * lane of every kernel, so it can exceed the run's simulated time; divide by
   * DeviceMetrics.lanes for the average per lane.
   */
  stall: number;
  /** Lane time spent computing and accessing memory, in lane-seconds (ps), summed like `stall`. */
  busy: number;
}

/** Per-device counters of a run. */
export interface DeviceMetrics {
  id: string;
  profile: string;
  driver: 'hmm-mirror' | 'sva' | 'pinning';
  /**
   * Every raised fault ends in exactly one of the other counters except `pri`:
   * raised = serviced + duplicates + coalesced + throttled + flushed + overflows + fatal + pending + busy.
   * A fault that is throttled, flushed or overflows is raised again by its lane after the
   * replay, and that new fault counts again.
   */
  faults: {
    /**
     * Faults raised by lanes, re-faults after a replay included: fault-buffer entries (mirror),
     * page requests (SVA), accesses outside the registered memory (pinning, always fatal).
     */
    raised: number;
    /** Entries merged into another entry for the same page in a batch (that one counts for the page). */
    coalesced: number;
    /** Pages (after coalescing) already mapped when the driver came to them: nothing to do. */
    duplicates: number;
    /** Pages (after coalescing) the driver resolved: migrated, populated or mapped. */
    serviced: number;
    /** Pages (after coalescing) thrashing mitigation left for later (throttled); the lane faults again after the replay. */
    throttled: number;
    /** Entries a batch-flush replay dropped from the fault buffer; the lane faults again after the replay. */
    flushed: number;
    /** Faults dropped because the fault buffer was full; the lane faults again after the next replay. */
    overflows: number;
    /** SVA: PCIe page requests (PRI) sent (a subset of `raised`, not a separate outcome). */
    pri: number;
    /** Pages (after coalescing) the driver could not resolve (no VMA, no permission): the lanes stop. */
    fatal: number;
    /** Entries still in the fault buffer when the results were taken (a run cut short). */
    pending: number;
    /**
     * Pages (after coalescing) whose migration found the block being migrated by another device
     * (-EBUSY); the lane faults again after the replay.
     */
    busy: number;
  };
  batches: number;
  replays: number;
  /** Lanes launched, over all kernels: time.stall / lanes is the average stall of one lane. */
  lanes: number;
  /**
   * Pages migrated into this device's memory / out of it (to RAM: migrate_to_ram, eviction,
   * copy-back; or straight to a peer of its address-space group, counted on both sides).
   */
  pagesIn: number;
  pagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Pages added by the prefetcher. */
  prefetched: number;
  evictions: { pages: number; units: number };
  thrashing: { events: number; throttles: number; pins: number };
  /** Pages pinned with pin_user_pages (pinning driver) or by thrashing mitigation. */
  pinnedPages: number;
  accesses: { local: number; remote: number; peer: number };
  /**
   * Peer accesses (loads and stores to another device's memory in place) by the path they took:
   * route kind ('private' link, 'p2p-bus-addr' under a switch, 'p2p-host-bridge' through the
   * root complex) → accesses and bytes.
   */
  peerPaths: Record<string, { accesses: number; bytes: number }>;
  /** Pages migrated here by populate_mm (a `migrate` step or another device's preferred-location advice is counted on the batch). */
  populated: number;
  /**
   * Devices migrating the same range: -EBUSY met, pages evicted to retry (drm_gpusvm_range_evict),
   * waits on the driver-wide rwsem (and their time, ps), CPU/device faults that waited for a
   * drm_pagemap timeslice.
   */
  contention: { ebusy: number; evictedPages: number; rwsemWaits: number; rwsemWaitPs: number; timesliceWaits: number };
  accessCounterNotifications: number;
  tlb: { hits: number; misses: number; invalidations: number };
  time: TimeBreakdown;
  /** Distinct virtual pages this device touched. */
  pagesTouched: number;
  /** Which pages: runs [start, end) of VPNs per address space (mm id), ascending. */
  touched: { space: number; start: number; end: number }[];
  /**
   * Kernels run and their total wall time (launch to last lane done), ps, with their lanes and
   * the faults those lanes raised: a kernel that raised none found every page mapped already
   * (the prefetcher may have brought them with an earlier kernel's batch) and ran at compute
   * speed. `lanes` and `faults` are null in results written before they were recorded.
   */
  kernels: {
    name: string; startPs: number; endPs: number; lanes: number | null; faults: number | null;
    /** Under a scheduling policy other than concurrent: the task's run-queue times (src/sim/scheduler.ts). */
    sched?: { queuedPs: number; runningPs: number; stalledPs: number; preemptions: number; faultSwitches: number };
    /** True when the process's exit closed the device file under the task and the driver stopped it. */
    stopped?: boolean;
  }[];
  /**
   * Traffic per DMA path, in the device's path order (topology endpoint `paths`; path 0 is the
   * device's own endpoint), for drivers that choose a path per mapping (pinning); empty for the
   * others. Summed over paths, `bytes` is every byte the device's DMA moved.
   */
  paths: PathMetrics[];
}

/** One DMA path of a device and what went over it. */
export interface PathMetrics {
  /** The path's topology endpoint. */
  endpoint: string;
  /** DMA over it is IOMMU-translated (IOVAs, IOTLB lookups). */
  iommu: boolean;
  /** Mappings (MTT entries) that chose this path. */
  mappings: number;
  /** Bytes of copies and remote accesses over this path. */
  bytes: number;
  /** IOTLB lookups that missed (an IOMMU walk each); 0 on an untranslated path. */
  iotlbMisses: number;
}

/** Bytes carried by one direction of a link: copies and remote accesses, told apart. */
export interface LinkMetrics {
  /** Segment id `from->to`. */
  id: string;
  link: string;
  kind: string;
  from: string;
  to: string;
  /** Bytes/s of this direction (Infinity serialises as null). */
  bandwidth: number | null;
  /** All bytes carried: copyBytes + remoteBytes (the average utilisation is of these). */
  bytes: number;
  /**
   * Bytes of copies: migrations (to a device, to a peer, migrate_to_ram), evictions, the
   * pinning driver's copy-in and copy-back, move_pages. null in results written before copies
   * and remote accesses were told apart.
   */
  copyBytes: number | null;
  /** Copies that crossed this direction (each a copy-engine chunk or one migrate_to_ram page). */
  transfers: number;
  /**
   * Bytes of remote (zero-copy) loads and stores by devices mapping memory where it is: no
   * transfer, no migration. null in results written before the split.
   */
  remoteBytes: number | null;
}

/** Values sampled at fixed intervals of simulated time. */
export interface Timeline {
  /** Bucket width, ps. Bucket i covers [i*bucketPs, (i+1)*bucketPs). */
  bucketPs: number;
  /** Resident pages per memory node ("cpu", device ids) at the end of each bucket. */
  residency: Record<string, number[]>;
  /** Faults raised per device per bucket. */
  faults: Record<string, number[]>;
  /** Bytes carried per link segment per bucket. */
  linkBytes: Record<string, number[]>;
}

/** A span of time on a track, for the Perfetto trace. */
export interface Span {
  /** Track name: a device ("gpu0"), a device's driver ("gpu0/driver"), a link segment, "cpu". */
  track: string;
  name: string;
  startPs: number;
  durPs: number;
  args?: Record<string, number | string>;
}

/** Everything a run produced. Deterministic: same scenario and seed give identical JSON. */
export interface RunResults {
  schema: number;
  name: string;
  seed: number;
  /** Simulated time at the end of the run, ps. */
  endPs: number;
  /** Engine events run. */
  events: number;
  /** Whether page contents were kept (false in no-data mode). */
  data: boolean;
  devices: DeviceMetrics[];
  links: LinkMetrics[];
  /** System-side counters. */
  cpu: {
    /** CPU page faults taken by CPU phases. */
    faults: number;
    /**
     * Thread time spent waiting for non-preemptible device jobs to end before an invalidation
     * could complete (profile scheduler.preemptible false), ps; absent when none.
     */
    jobWaitPs?: number;
    /**
     * Calls of a driver's migrate_to_ram (a device-private page touched back to system memory),
     * whoever faulted: a CPU page fault, or a device outside the page's address-space group
     * (`deviceMigrateToRam`). Each call moves the driver's window: the page alone (nouveau,
     * dmirror, UVM with prefetching off), UVM's prefetch region, or up to 2 MiB (KFD, drm_pagemap);
     * the pages are in the devices' `pagesOut`. Evictions and copy-backs are not in it.
     */
    migrateToRam: number;
    /**
     * Of `migrateToRam`, the calls a device's fault caused (its hmm_range_fault, SVA page
     * request or pin_user_pages reached another device's private page); the rest were CPU page
     * faults. null in results written before the two were told apart.
     */
    deviceMigrateToRam: number | null;
    /** Copy-on-write breaks. */
    cow: number;
    /** Accesses CPU phases made. */
    accesses: number;
    /**
     * CPU time of CPU phases and move_pages calls, in thread-seconds (ps): summed over threads,
     * so it can exceed the run's simulated time.
     */
    busyPs: number;
    /** Threads run (CPU phase threads and move_pages calls): busyPs / threads is the average per thread. */
    threads: number;
    /** Base pages move_pages moved between NUMA nodes. */
    numaMigrated: number;
  };
  /**
   * Batch records, sorted by start time, device, batch: the first SimOptions.maxBatchRecords
   * (default 100,000) each device finished; `batchSummary` counts and sums every batch.
   */
  batches: BatchRecord[];
  /** Every fault batch of the run, aggregated (what `batches` would sum to were none left out). */
  batchSummary: BatchSummary;
  /**
   * Service latency (raise to replay) of every serviced fault entry, ps, as a log-linear
   * histogram (units/histogram.ts): count, sum, min and max exact; quantiles within
   * HISTOGRAM_RELATIVE_PRECISION (0.39 %). Its size is bounded by the range of
   * latencies (256 buckets per power of two), not by the number of faults.
   */
  faultLatency: HistogramJson;
  timeline: Timeline;
  spans: Span[];
  /**
   * The cross-device design the run used (sim/cross-device.ts), the pagemap owner groups of two
   * or more devices, and each preferred-location advice: its range (`start`: first virtual page
   * number, `pages`: 4 KiB pages) with what was applied and the request's errno (67 = ENOLINK
   * when the requested peer had no fast interconnect, 0 when applied). Absent in older results.
   */
  crossDevice?: {
    owners: string;
    peerPages: string;
    migrateLock: string;
    invalidation: string;
    sourcePeerMigrates: boolean;
    timeslicePs: number;
    groups: string[][];
    advice: { device: string; space: number; start: number; pages: number; requested: string; applied: string; errno: number }[];
  };
}
