// The measure registry's types. A throughput measure (or a baseline) only prepares work: the
// runner owns the clock, the warm-up, the repetitions and the median, so every figure is timed
// the same way. Memory and scale measures run their own child processes.

/** `data`: pages keep their 4 KiB contents; `no-data`: timing-only runs that keep none. */
export type Mode = 'data' | 'no-data';

/** One prepared instance of a throughput measure over `n` pages. */
export interface Prepared {
  /**
   * Untimed, before each timed run (e.g. fork a fresh child). A measure with before/after is
   * timed one run per sample; one without may be run several times per sample.
   */
  before?(): void;
  /** The timed work. Returns the page-events it did (checked against `eventsPerRun`). */
  run(): number;
  /** Untimed, after each timed run (e.g. the child exits). */
  after?(): void;
  /** Extra facts worth reporting (counters), collected once after the last run. */
  facts?(): Record<string, number>;
}

/** Work timed by the runner and reported as page-events per second. */
export interface ThroughputMeasure {
  kind: 'throughput' | 'baseline';
  id: string;
  title: string;
  /** What one page-event is for this measure. */
  event: string;
  /** Modes this measure runs in. */
  modes: readonly Mode[];
  /** Page-events one run over `n` pages does (the least, when `eventsFromRun`). */
  eventsPerRun(n: number): number;
  /**
   * The count depends on the model's decisions (random eviction evicts more than N/2 pages:
   * it empties a chunk page by page at random): the runner takes the first run's count and
   * checks that every later run (deterministic, same seed) does the same.
   */
  eventsFromRun?: boolean;
  /** Builds the state for `n` pages (untimed). */
  prepare(n: number, mode: Mode): Prepared;
  /** Issue target in page-events per second (no-data mode), if any. */
  targetEventsPerSec?: number;
  /** Largest size worth timing (the timed model is slower per page than the core paths). */
  maxPages?: number;
  /** Largest acceptable growth exponent (log-log slope of time against pages); default 1.1. */
  growthTarget?: number;
}

/** A measure the issue asks for that cannot run yet. */
export interface MissingMeasure {
  kind: 'missing';
  id: string;
  title: string;
  reason: string;
}

/** Sizes and repetitions of one bench run (see run.ts for the two presets). */
export interface BenchConfig {
  quick: boolean;
  reps: number;
  warmup: number;
  /** Warm-up continues (up to 1000 runs) until this much time has gone by. */
  warmupMs: number;
  /** Measures without per-run set-up repeat runs within one sample until it lasts this long. */
  minSampleMs: number;
  /** Pages of the main throughput figures (no-data mode). */
  pages: number;
  /** Pages of the data-mode figures (contents cost 4 KiB a page). */
  dataPages: number;
  /** The growth ladder, no-data mode (includes `pages`). */
  growthPages: number[];
  /** Pages of the memory figures, both modes (each also a growth point). */
  memoryPages: number[];
  /** Scale ladder footprints in bytes, tried in order until one fails or would not fit. */
  scaleFootprints: number[];
}

/** What child-process measures get from the runner. */
export interface ChildContext {
  config: BenchConfig;
  /** Prints a progress line. */
  log(msg: string): void;
}

/** A measure that runs in fresh child processes and returns its section of results.json. */
export interface ChildMeasure<T> {
  kind: 'memory' | 'scale' | 'sweep' | 'view' | 'faultbench' | 'examples' | 'many-faults';
  id: string;
  title: string;
  run(ctx: ChildContext): Promise<T>;
}
