// What `hetmem faultbench` produces: one table per measure, a row per case and a cell per device
// profile (the profiles are the columns: the comparison is the point). Everything is plain JSON
// and a pure function of (profiles, configuration, seed): no wall clock, no host randomness.

/** Schema version of FaultbenchResults; bump on any incompatible change. */
export const FAULTBENCH_SCHEMA_VERSION = 1;

/** The seven measures, in the order they are run and printed. */
export const MEASURE_IDS = ['latency', 'throughput', 'bandwidth', 'invalidation', 'oversubscription', 'drivers', 'peers'] as const;
export type MeasureId = (typeof MEASURE_IDS)[number];

/**
 * One value of one profile. `value` null means "n/a": the profile cannot do this case; `note`
 * then says why (it becomes a footnote). A note on a number qualifies it (e.g. "did not finish
 * within the window: rate over the window").
 */
export interface Cell {
  value: number | null;
  note?: string;
}

/** One row of a measure table: a case, its unit and a cell per profile (keyed by profile name). */
export interface Row {
  /** Stable key, e.g. "bandwidth.h2d.4096"; CSV and tests use it. */
  key: string;
  /** What the row is, for people: "H→D 4 KiB". */
  label: string;
  /** Unit of the values: "us", "GB/s", "faults/s", "faults", "pages/s", "ms". */
  unit: string;
  /** The case's parameters (direction, bytes, batch size, factor, ...), for charts and CSV. */
  params: Record<string, string | number>;
  cells: Record<string, Cell>;
}

/** A log-binned histogram of one profile's fault latencies (report/charts.ts latencyHistogram). */
export interface LatencyHistogramSeries {
  profile: string;
  /** What was measured, e.g. "256 lanes, batch 256, zero fill". */
  label: string;
  edgesUs: number[];
  counts: number[];
  /** Faults in the histogram. */
  samples: number;
  p50Us: number;
  p99Us: number;
}

/** One measure's table. */
export interface MeasureTable {
  id: MeasureId;
  title: string;
  /** One sentence: what a number in this table means. */
  meaning: string;
  rows: Row[];
  /** Fault-latency distributions per profile (throughput measure only). */
  histograms?: LatencyHistogramSeries[];
}

/** Everything a faultbench run produced. Deterministic: same profiles, configuration and seed give identical JSON. */
export interface FaultbenchResults {
  schema: number;
  seed: number;
  quick: boolean;
  /** Profile names in column order. */
  profiles: string[];
  /** Per profile: driver kind and host-link description, for the table header. */
  profileInfo: Record<string, { driver: string; link: string; peer: string | null; memory: number }>;
  measures: MeasureTable[];
}
