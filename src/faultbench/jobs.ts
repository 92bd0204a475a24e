// A faultbench run split into independent jobs, one per (measure, profile), for a pool of
// processes (`hetmem faultbench --jobs N`). Every cell of a measure's table is a pure function of
// its own profile, the configuration and the seed (no state crosses profiles), so the tables of
// one-profile jobs merged in profile order are the table of the whole run, byte for byte
// (test/faultbench/jobs.test.ts checks that on every shipped profile).
import type { Profile } from '../devices/profile/schema.ts';
import { FULL_CONFIG, QUICK_CONFIG, runFaultbench, type FaultbenchConfig, type FaultbenchOptions } from './run.ts';
import { MEASURE_IDS, type Cell, type FaultbenchResults, type MeasureId, type MeasureTable } from './types.ts';

/** One measure over one profile: what a pool child runs. Plain data (sent to the child). */
export interface FaultbenchJob {
  readonly measure: MeasureId;
  readonly profile: Profile;
  readonly seed: number;
  readonly quick: boolean;
  readonly config: FaultbenchConfig;
}

/** Runs `jobs` somewhere (a pool of processes) and resolves with their tables in the same order. */
export type FaultbenchPool = (jobs: readonly FaultbenchJob[], size: number) => Promise<MeasureTable[]>;

/** The jobs of a run, measure by measure (MEASURE_IDS order), each measure profile by profile. */
export function faultbenchJobs(o: FaultbenchOptions): FaultbenchJob[] {
  const config = o.config ?? (o.quick ? QUICK_CONFIG : FULL_CONFIG);
  const wanted = new Set(o.measures ?? MEASURE_IDS);
  return MEASURE_IDS.filter((m) => wanted.has(m)).flatMap((measure) =>
    o.profiles.map((profile) => ({ measure, profile, seed: o.seed, quick: !!o.quick, config })));
}

/** One job's table: its measure over its profile alone. */
export function runFaultbenchJob(j: FaultbenchJob): MeasureTable {
  return runFaultbench({ profiles: [j.profile], seed: j.seed, quick: j.quick, config: j.config, measures: [j.measure] }).measures[0];
}

/**
 * The results of the run `o` from its jobs' tables (`tables[i]` from `faultbenchJobs(o)[i]`):
 * each measure's rows with a cell per profile in profile order, histograms in profile order,
 * as runFaultbench builds them in one process.
 * @throws Error if the one-profile tables of a measure disagree on anything but their cells
 *   (a measure whose rows depend on the profile would break the byte-identical promise)
 */
export function mergeFaultbench(o: FaultbenchOptions, tables: readonly MeasureTable[]): FaultbenchResults {
  const jobs = faultbenchJobs(o);
  if (tables.length !== jobs.length) throw new Error(`faultbench: ${tables.length} tables for ${jobs.length} jobs`);
  const n = o.profiles.length;
  const measures: MeasureTable[] = [];
  for (let start = 0; start < jobs.length; start += n) {
    const part = tables.slice(start, start + n);
    const first = part[0];
    const shape = (t: MeasureTable) => JSON.stringify([t.id, t.title, t.meaning, t.rows.map((r) => [r.key, r.label, r.unit, r.params])]);
    for (let i = 1; i < n; i++) {
      if (shape(part[i]) !== shape(first)) throw new Error(`faultbench: measure ${first.id} gave ${o.profiles[i].name} other rows than ${o.profiles[0].name}`);
    }
    const rows = first.rows.map((r, k) => ({
      ...r,
      cells: Object.fromEntries(o.profiles.map((p, i): [string, Cell] => [p.name, part[i].rows[k].cells[p.name]])),
    }));
    // Spread first, so the keys keep runFaultbench's order (histograms last, and only where the
    // measure has them).
    measures.push(first.histograms === undefined ? { ...first, rows } : { ...first, rows, histograms: part.flatMap((t) => t.histograms ?? []) });
  }
  // The header fields as runFaultbench writes them (no measures run for this part).
  return { ...runFaultbench({ ...o, measures: [] }), measures };
}
