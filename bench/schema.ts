// The shape of bench/results.json. run.ts validates what it writes against this, and the smoke
// test (test/bench) validates a --quick run's file.
import { z } from 'zod';

/** A finite number > 0: rates, times, sizes, ratios. */
const pos = z.number().finite().positive();
/** A finite count that may legitimately be 0. */
const count = z.number().finite().nonnegative();
const mode = z.enum(['data', 'no-data']);

export const timingSchema = z.object({
  pages: pos,
  eventsPerRun: pos,
  /** Untimed warm-up runs. */
  warmup: count,
  /** Runs timed together in one sample (short runs without per-run set-up). */
  runsPerSample: pos,
  /** Per-run time of each timed sample. */
  samplesNs: z.array(pos).min(1),
  medianNs: pos,
  eventsPerSec: pos,
});

export const baselineSchema = timingSchema.extend({
  id: z.string(),
  title: z.string(),
  event: z.string(),
  mode,
});

export const throughputSchema = timingSchema.extend({
  id: z.string(),
  title: z.string(),
  event: z.string(),
  mode,
  /** raw-loop page-events/s measured in this run over the same number of pages. */
  rawLoopEventsPerSec: pos,
  /** rawLoopEventsPerSec / eventsPerSec: how many times slower than the raw loop (target <= 10). */
  slowdownVsRaw: pos,
  /** Data mode: copy-loop pages/s over the same number of pages, and the slowdown against it. */
  copyLoopEventsPerSec: pos.optional(),
  slowdownVsCopy: pos.optional(),
  targetEventsPerSec: pos.optional(),
  facts: z.record(z.string(), count),
});

export const growthSchema = z.object({
  id: z.string(),
  mode,
  points: z.array(z.object({ pages: pos, medianNs: pos, eventsPerSec: pos, slowdownVsRaw: pos })).min(2),
  /** Slope of log(time per run) against log(pages): 1 is linear, below 1 better. */
  timeExponent: z.number().finite(),
  linearOrBetter: z.boolean(),
});

export const memoryPointSchema = z.object({
  pages: pos,
  mode,
  /** (heapUsed + arrayBuffers) growth, minus page contents, per tracked page. */
  bytesPerPage: pos,
  metadataBytes: pos,
  heapBytes: z.number().finite(),
  arrayBufferBytes: z.number().finite(),
  contentBytes: count,
  /** Of the metadata: the PageStore's typed arrays and the page tables, by capacity. */
  pageStoreBytes: count,
  pageTableBytes: count,
  rssBytes: z.number().finite(),
  peakRssBytes: pos,
  seconds: pos,
});

export const memorySchema = z.object({
  points: z.array(memoryPointSchema).min(1),
  skipped: z.array(z.object({ pages: pos, mode, reason: z.string() })),
  /** Slope of log(metadata bytes) against log(pages), no-data mode: 1 is linear. */
  growthExponent: z.number().finite(),
  linearOrBetter: z.boolean(),
});

export const scaleAttemptSchema = z.object({
  footprintBytes: pos,
  gpus: pos,
  gpuBytes: pos,
  hostBytes: pos,
  ok: z.boolean(),
  seconds: pos,
  peakRssBytes: count,
  touchedPages: count,
  migratedPages: count,
  migratedBackPages: count,
  deviceRegisteredPages: count,
  pfnsReserved: count,
  heapBytes: count,
  arrayBufferBytes: count,
  error: z.string().optional(),
});

export const scaleSchema = z.object({
  description: z.string(),
  targetFootprintBytes: pos,
  machineMemoryBytes: pos,
  attempts: z.array(scaleAttemptSchema).min(1),
  /** The largest attempt that ran, or null when none did. */
  largest: scaleAttemptSchema.nullable(),
  stoppedBecause: z.string(),
});

/** Sweep points per minute on the local pool against one process running them in turn. */
export const sweepBenchSchema = z.object({
  description: z.string(),
  points: pos,
  /** Pool size: one child per core, at most one per point. */
  jobs: pos,
  oneProcessSeconds: pos,
  poolSeconds: pos,
  oneProcessPointsPerMin: pos,
  poolPointsPerMin: pos,
  /** oneProcessSeconds / poolSeconds: what the pool buys on this machine. */
  speedup: pos,
});

/** faultbench's (measure, profile) jobs on the pool against one child process in turn (measures/faultbench-pool.ts). */
export const faultbenchPoolSchema = z.object({
  description: z.string(),
  profiles: pos,
  /** (measure, profile) jobs. */
  tasks: pos,
  /** Pool size: one child per core, at most one per job. */
  jobs: pos,
  oneProcessSeconds: pos,
  poolSeconds: pos,
  /** oneProcessSeconds / poolSeconds. */
  speedup: pos,
});

/** One example through the compiled CLI (measures/examples.ts). */
export const exampleRunSchema = z.object({
  /** File name under examples/. */
  example: z.string(),
  /** Size factor passed as --scale (1: the example as written). */
  scale: pos,
  /** Simulated seconds (results.json endPs / 1e12). */
  simulatedS: pos,
  /** Wall and CPU (user + system) seconds of the whole `hetmem run FILE --out DIR` child. */
  wallS: pos,
  cpuS: pos,
  /** simulatedS / wallS, simulatedS / cpuS: at least 1 is faster than real time. */
  simPerWall: pos,
  simPerCpu: pos,
  /** Device faults raised, and lane-seconds stalled (waiting for faults and shootdowns) and busy, over every device. */
  deviceFaults: count,
  stallLaneS: count,
  busyLaneS: count,
  /** At least one device fault, and device lanes stalled longer than they were busy. */
  faultBound: z.boolean(),
});

/** Every example through the CLI against real time (issue 17). */
export const examplesBenchSchema = z.object({
  description: z.string(),
  /** What bin/hetmem.mjs ran: the compiled dist/, or the sources through tsx (dist/ stale or missing). */
  cli: z.enum(['compiled', 'tsx']),
  runs: z.array(exampleRunSchema).min(1),
});

/** Opening a large run in `hetmem view` (measures/view-open.ts). Seconds are wall-clock. */
export const viewOpenSchema = z.object({
  description: z.string(),
  /** Pages streamed; device faults raised (at least one per page); batches; log events. */
  pages: pos,
  deviceFaults: pos,
  batches: pos,
  events: pos,
  /** view/events.bin and view/index.* sizes. */
  eventBytes: pos,
  indexBytes: pos,
  /** Generating the run (untimed for the figure). */
  genSeconds: pos,
  /** Importing the viewer's modules in the fresh process (before the timed part). */
  importSeconds: pos,
  /** Reading the view files and starting the server. */
  loadSeconds: pos,
  /** GET / (the page, with the overview inline), the whole-run grid, a zoomed grid, a page's history. */
  pageSeconds: pos,
  pageBytes: pos,
  overviewSeconds: pos,
  zoomSeconds: pos,
  historySeconds: pos,
  /** From reading the files to the last answer: the figure the 3 s target is about. */
  openSeconds: pos,
  /** The same zoomed grid by a scan of the whole log (no index), in the server's process. */
  scanZoomSeconds: pos,
});

/** One many-faults run (measures/many-faults.ts, faults-child.ts). Seconds: wall and CPU of the child's run. */
export const manyFaultsPointSchema = z.object({
  pages: pos,
  passes: pos,
  faultsServiced: pos,
  faultsRaised: pos,
  evictedPages: count,
  batches: pos,
  /** Batch records, spans and latency buckets the results hold: capped, not per fault. */
  batchRecordsKept: count,
  latencyBuckets: pos,
  spansKept: count,
  resultsJsonBytes: pos,
  simulatedSeconds: pos,
  wallSeconds: pos,
  cpuSeconds: pos,
  heapBytesAfter: pos,
  /** VmHWM of the child. */
  peakRssBytes: pos,
});

export const manyFaultsSchema = z.object({
  description: z.string(),
  points: z.array(manyFaultsPointSchema).min(2),
  /** Log-log slope of peak RSS against faults: about 0 when nothing is kept per fault. */
  rssExponent: z.number().finite(),
});

export const targetSchema = z.object({
  id: z.string(),
  description: z.string(),
  target: pos,
  /** Finite; a growth exponent may be negative (time falling with size: JIT warm-up). */
  value: z.number().finite(),
  unit: z.string(),
  met: z.boolean(),
});

export const resultsSchema = z.object({
  schema: z.literal('hetmem-bench/1'),
  createdAt: z.string(),
  quick: z.boolean(),
  machine: z.object({
    node: z.string(),
    platform: z.string(),
    arch: z.string(),
    cpuModel: z.string(),
    cpus: pos,
    totalMemBytes: pos,
  }),
  config: z.object({
    reps: pos,
    warmup: count,
    minSampleMs: pos,
    pages: pos,
    dataPages: pos,
    growthPages: z.array(pos).min(2),
    memoryPages: z.array(pos).min(1),
  }),
  baselines: z.array(baselineSchema).min(1),
  throughput: z.array(throughputSchema).min(1),
  growth: z.array(growthSchema),
  memory: memorySchema,
  scale: scaleSchema,
  sweep: sweepBenchSchema,
  /** Absent from files written before the measure existed. */
  view: viewOpenSchema.optional(),
  /** Absent from files written before the measures existed (issue 17, round two). */
  faultbench: faultbenchPoolSchema.optional(),
  examples: examplesBenchSchema.optional(),
  /** Absent from files written before the measure existed. */
  manyFaults: manyFaultsSchema.optional(),
  targets: z.array(targetSchema),
  missing: z.array(z.object({ id: z.string(), title: z.string(), reason: z.string() })),
  seconds: pos,
});

export type Results = z.infer<typeof resultsSchema>;
export type Timing = z.infer<typeof timingSchema>;
export type ThroughputResult = z.infer<typeof throughputSchema>;
export type BaselineResult = z.infer<typeof baselineSchema>;
export type GrowthResult = z.infer<typeof growthSchema>;
export type MemoryPoint = z.infer<typeof memoryPointSchema>;
export type MemoryResult = z.infer<typeof memorySchema>;
export type ScaleAttempt = z.infer<typeof scaleAttemptSchema>;
export type ScaleResult = z.infer<typeof scaleSchema>;
export type Target = z.infer<typeof targetSchema>;
export type SweepBenchResult = z.infer<typeof sweepBenchSchema>;
export type ViewOpenResult = z.infer<typeof viewOpenSchema>;
export type FaultbenchPoolResult = z.infer<typeof faultbenchPoolSchema>;
export type ExamplesBenchResult = z.infer<typeof examplesBenchSchema>;
export type ExampleRun = z.infer<typeof exampleRunSchema>;
export type ManyFaultsPoint = z.infer<typeof manyFaultsPointSchema>;
export type ManyFaultsResult = z.infer<typeof manyFaultsSchema>;
