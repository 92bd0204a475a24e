// results.json: writing it (`resultsJson`, every time in ps, stated by its `timeUnit` field) and
// validating it when `hetmem report` and `hetmem compare` read it back. A bad file stops with one
// line, `FILE: PATH: what was expected`, e.g. `runs/a.json: devices[0].faults.raised: expected a number`.
import { z } from 'zod';
import { BATCH_TIME_FIELDS, RESULTS_SCHEMA_VERSION, type BatchRecord, type BatchSummary, type RunResults } from '../sim/results.ts';
import { BATCH_SUM_FIELDS, batchSummaryOf } from '../sim/metrics.ts';
import { LogHistogram } from '../units/histogram.ts';

/** Schema versions read back: version 1 kept a latency per fault and every batch record. */
const READABLE_VERSIONS: readonly number[] = [1, RESULTS_SCHEMA_VERSION];

/**
 * The one time unit of results.json. RunResults keeps its batch records in uvm-eval's ns (what
 * batches.csv writes); the file holds them in ps like every other time, so a reader needs no
 * per-field unit. Files without `timeUnit` were written before: their batch times are ns.
 */
export const RESULTS_TIME_UNIT = 'ps';

/** A batch record with `f` applied to its time fields (ns ↔ ps). */
function scaleBatchTimes(b: BatchRecord, f: (ns: number) => number): BatchRecord {
  const out = { ...b };
  for (const k of BATCH_TIME_FIELDS) (out as Record<string, unknown>)[k] = f(b[k] as number);
  return out;
}

/** Batch sums with `f` applied to the time fields (ns ↔ ps), as the records' are. */
function scaleSumTimes(s: BatchSummary['sums'], f: (ns: number) => number): BatchSummary['sums'] {
  const out = { ...s };
  for (const k of BATCH_TIME_FIELDS) if (k in out) out[k as keyof typeof out] = f(out[k as keyof typeof out]);
  return out;
}

/**
 * The text of results.json (and of `hetmem run --json`): RunResults with `timeUnit: "ps"` after
 * `schema` and the batch records' times in ps (ns × 1000). `parseResults` reads it back to the
 * same RunResults. Deterministic: identical results give identical text.
 */
export function resultsJson(results: RunResults): string {
  const { schema, ...rest } = results;
  const file = {
    schema, timeUnit: RESULTS_TIME_UNIT, ...rest,
    batches: results.batches.map((b) => scaleBatchTimes(b, (ns) => ns * 1000)),
    batchSummary: { ...results.batchSummary, sums: scaleSumTimes(results.batchSummary.sums, (ns) => ns * 1000) },
  };
  return JSON.stringify(file) + '\n';
}

/** A count or an integer time (ps or ns): a non-negative integer. */
const Count = z.number().int().min(0);
const Name = z.string();

const BatchRecordSchema = z.object({
  device: Name,
  batch: Count,
  start_time: Count,
  time: Count,
  cached_faults: Count,
  coalesced_faults: Count,
  duplicate_faults: Count,
  actual_faults: Count,
  not_already_resident: Count,
  num_vablock: Count,
  num_prefetch: Count,
  num_evict: Count,
  num_evict_ops: Count,
  num_transfers: Count,
  transfer_size: Count,
  num_mapped_pages: Count,
  num_mapping_ops: Count,
  root_chunk_allocs: Count,
  batch_transfer: Count,
  map: Count,
  unmap: Count,
  service: Count,
  make_resident: Count,
  resident_pages: Count,
  pop_pages: Count,
  unmap_res: Count,
  unmap_rdup: Count,
  block_gpu_state: Count,
  num_new_vablock: Count,
  unmap_res_count: Count,
  num_replays: Count,
});

const TimeBreakdownSchema = z.object({
  faultService: Count,
  pinning: Count.default(0),
  copy: Count,
  map: Count,
  invalidation: Count,
  stall: Count,
  busy: Count,
});

/**
 * Results written before `time.pinning` existed booked the pinning driver's registration time
 * as fault service (it services no faults): move it where it belongs.
 */
function pinningTimeOfOlderFiles(d: unknown): unknown {
  if (typeof d !== 'object' || d === null) return d;
  const dev = d as { driver?: unknown; time?: unknown };
  if (dev.driver !== 'pinning' || typeof dev.time !== 'object' || dev.time === null || 'pinning' in dev.time) return d;
  const time = dev.time as { faultService?: unknown };
  return { ...dev, time: { ...time, pinning: time.faultService, faultService: 0 } };
}

const DeviceMetricsSchema = z.preprocess(pinningTimeOfOlderFiles, z.object({
  id: Name,
  profile: Name,
  driver: z.enum(['hmm-mirror', 'sva', 'pinning']),
  faults: z.object({
    raised: Count, coalesced: Count, duplicates: Count, serviced: Count,
    // Older files did not count these apart (throttled pages were in serviced, flushed ones nowhere).
    throttled: Count.default(0), flushed: Count.default(0),
    overflows: Count, pri: Count, fatal: Count,
    pending: Count.default(0),
    // Older files had no cross-device contention.
    busy: Count.default(0),
  }),
  batches: Count,
  replays: Count,
  // Older files did not count lanes: no per-lane averages for them.
  lanes: Count.default(0),
  pagesIn: Count,
  pagesOut: Count,
  bytesIn: Count,
  bytesOut: Count,
  prefetched: Count,
  evictions: z.object({ pages: Count, units: Count }),
  thrashing: z.object({ events: Count, throttles: Count, pins: Count }),
  pinnedPages: Count,
  accesses: z.object({ local: Count, remote: Count, peer: Count }),
  // Older files did not split peer accesses by path, count populate_mm or contention.
  peerPaths: z.record(z.string(), z.object({ accesses: Count, bytes: Count })).default({}),
  populated: Count.default(0),
  contention: z.object({ ebusy: Count, evictedPages: Count, rwsemWaits: Count, rwsemWaitPs: Count, timesliceWaits: Count })
    .default({ ebusy: 0, evictedPages: 0, rwsemWaits: 0, rwsemWaitPs: 0, timesliceWaits: 0 }),
  accessCounterNotifications: Count,
  tlb: z.object({ hits: Count, misses: Count, invalidations: Count }),
  time: TimeBreakdownSchema,
  pagesTouched: Count,
  touched: z.array(z.strictObject({ space: Count, start: Count, end: Count })),
  kernels: z.array(z.object({
    name: Name, startPs: Count, endPs: Count, lanes: Count.nullable().default(null), faults: Count.nullable().default(null),
    sched: z.object({ queuedPs: Count, runningPs: Count, stalledPs: Count, preemptions: Count, faultSwitches: Count }).optional(),
    stopped: z.boolean().optional(),
  })),
  // Older files have no per-path traffic.
  paths: z.array(z.object({ endpoint: Name, iommu: z.boolean(), mappings: Count, bytes: Count, iotlbMisses: Count })).default([]),
}));

const LinkMetricsSchema = z.object({
  id: Name,
  link: Name,
  kind: Name,
  from: Name,
  to: Name,
  bandwidth: z
    .number({ error: (iss) => (iss.code === 'invalid_type' ? 'expected a number (bytes/s) or null (unlimited)' : undefined) })
    .positive()
    .nullable(),
  bytes: Count,
  // Older files counted copies and remote accesses together in `bytes`: the split is unknown.
  copyBytes: Count.nullable().default(null),
  transfers: Count,
  remoteBytes: Count.nullable().default(null),
});

const HistogramSchema = z.object({
  subBits: z.number().int().min(0).max(20),
  count: Count,
  sum: Count,
  min: Count,
  max: Count,
  buckets: z.array(z.tuple([Count, Count])),
});

const BatchSummarySchema = z.object({
  count: Count,
  kept: Count,
  sums: z.object(Object.fromEntries(BATCH_SUM_FIELDS.map((f) => [f, Count])) as Record<(typeof BATCH_SUM_FIELDS)[number], typeof Count>),
  timePs: HistogramSchema,
});

const Series = z.record(z.string(), z.array(Count));

const TimelineSchema = z.object({
  bucketPs: z.number().int().positive(),
  residency: Series,
  faults: Series,
  linkBytes: Series,
});

const SpanSchema = z.object({
  track: Name,
  name: Name,
  startPs: Count,
  durPs: Count,
  args: z.record(z.string(), z.union([z.number(), z.string()], { error: 'expected a number or a string' })).optional(),
});

/** Zod schema of RunResults (RESULTS_SCHEMA_VERSION only). Unknown keys are dropped. */
export const RunResultsSchema = z.object({
  schema: z.number().refine((v): boolean => v === RESULTS_SCHEMA_VERSION, {
    error: (iss) => `expected results schema version ${RESULTS_SCHEMA_VERSION}, got ${describe(iss.input)}`,
  }),
  name: Name,
  seed: z.number().int(),
  endPs: Count,
  events: Count,
  data: z.boolean(),
  devices: z.array(DeviceMetricsSchema),
  links: z.array(LinkMetricsSchema),
  cpu: z.object({
    faults: Count, migrateToRam: Count,
    // Older files counted every migrate_to_ram together: who caused them is unknown (null).
    deviceMigrateToRam: Count.nullable().default(null),
    cow: Count, accesses: Count, busyPs: Count, threads: Count.default(0), numaMigrated: Count.default(0), jobWaitPs: Count.optional(),
  }),
  batches: z.array(BatchRecordSchema),
  batchSummary: BatchSummarySchema,
  faultLatency: HistogramSchema,
  timeline: TimelineSchema,
  spans: z.array(SpanSchema),
  // Older files have no cross-device section.
  crossDevice: z.object({
    owners: Name, peerPages: Name, migrateLock: Name, invalidation: Name, sourcePeerMigrates: z.boolean(), timeslicePs: Count,
    groups: z.array(z.array(Name)),
    advice: z.array(z.object({ device: Name, space: Count, start: Count, pages: Count, requested: Name, applied: Name, errno: Count })),
  }).optional(),
});

/**
 * The file: RunResults and the unit of its times (absent in files written before it was
 * stated). Version 1 files hold `faultLatencies` (one latency per fault) and every batch record
 * instead of `faultLatency` and `batchSummary`; checkResults rebuilds those from them.
 */
const ResultsFileSchema = RunResultsSchema.extend({
  schema: z.number().refine((v): boolean => READABLE_VERSIONS.includes(v), {
    error: (iss) => `expected results schema version ${READABLE_VERSIONS.join(' or ')}, got ${describe(iss.input)}`,
  }),
  timeUnit: z.literal(RESULTS_TIME_UNIT).optional(),
  batchSummary: BatchSummarySchema.optional(),
  faultLatency: HistogramSchema.optional(),
  faultLatencies: z.array(Count).optional(),
});



// Compile-time: the schema and RunResults describe the same shape, in both directions.
type Parsed = z.infer<typeof RunResultsSchema>;
const _toResults = (p: Parsed): RunResults => p;
const _fromResults = (r: RunResults): Parsed => r;

/** A results file that is not valid RunResults; the message is one line, `FILE: what was expected`. */
export class ResultsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResultsFileError';
  }
}

const ARTICLE_TYPES: Record<string, string> = {
  number: 'a number', int: 'an integer', string: 'a string', boolean: 'true or false', array: 'an array',
  object: 'an object', record: 'an object', null: 'null',
};

/** A short description of a JSON value for "got ..." (strings quoted and cut at 40 chars). */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

/** Our message for a zod issue; undefined keeps a message set on the schema itself. */
function issueMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.expected === 'int') return `expected an integer, got ${describe(iss.input)}`;
      return `expected ${ARTICLE_TYPES[iss.expected] ?? iss.expected}`;
    case 'too_small':
      return `expected a number ${iss.inclusive ? '>=' : '>'} ${String(iss.minimum)}, got ${describe(iss.input)}`;
    case 'too_big':
      return `expected a number ${iss.inclusive ? '<=' : '<'} ${String(iss.maximum)}, got ${describe(iss.input)}`;
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(iss.input)}`;
    default:
      return undefined;
  }
}

/** `devices[0].faults.raised` from ['devices', 0, 'faults', 'raised']. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else {
      const key = String(p);
      out += /^[A-Za-z_$][\w$]*$/.test(key) ? (out === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/**
 * Validates an already-parsed JSON value as RunResults.
 * @throws ResultsFileError `FILE: PATH: what was expected` for the first problem found.
 */
export function checkResults(value: unknown, fileName: string): RunResults {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ResultsFileError(`${fileName}: expected a JSON object of hetmem run results, got ${describe(value)}`);
  }
  const r = ResultsFileSchema.safeParse(value, { error: issueMessage });
  if (r.success) {
    const { timeUnit, faultLatencies, batchSummary, faultLatency, ...rest } = r.data;
    // Batch times in ps back to the record's ns; flooring keeps a hand-edited file's integers.
    const ns = (ps: number) => Math.floor(ps / 1000);
    const batches = timeUnit === undefined ? rest.batches : rest.batches.map((b) => scaleBatchTimes(b, ns));
    const version1 = rest.schema === 1;
    const missing = !version1 && (faultLatency === undefined ? 'faultLatency' : batchSummary === undefined ? 'batchSummary' : undefined);
    if (missing) throw new ResultsFileError(`${fileName}: ${missing}: expected an object`);
    if (version1 && faultLatency === undefined && faultLatencies === undefined) throw new ResultsFileError(`${fileName}: faultLatencies: expected an array`);
    return {
      ...rest,
      schema: RESULTS_SCHEMA_VERSION,
      batches,
      batchSummary: batchSummary === undefined ? batchSummaryOf(batches)
        : timeUnit === undefined ? batchSummary : { ...batchSummary, sums: scaleSumTimes(batchSummary.sums, ns) },
      faultLatency: faultLatency ?? LogHistogram.of(faultLatencies!).toJSON(),
    };
  }
  const first = r.error.issues[0];
  const path = formatPath(first.path);
  throw new ResultsFileError(`${fileName}: ${path === '' ? '' : `${path}: `}${first.message}`);
}

/**
 * Parses the text of a results.json file (what `hetmem run --json` writes).
 * @throws ResultsFileError with a one-line message `FILE: what was expected`, e.g.
 *   `runs/a.json: devices[0].faults.raised: expected a number`.
 */
export function parseResults(text: string, fileName: string): RunResults {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') throw new ResultsFileError(`${fileName}: expected JSON, got an empty file`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    throw new ResultsFileError(`${fileName}: expected JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return checkResults(value, fileName);
}
