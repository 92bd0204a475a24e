// Running one point: the same function whether the point runs in a local pool child, in a
// `hetmem worker` on another machine, or in the test that checks the two agree. It is
// deterministic: the same payload gives byte-identical results.
import { parseScenario } from '../scenario/load.ts';
import { loadPolicyPlugins } from '../scenario/plugins.ts';
import { runScenario } from '../scenario/run.ts';
import type { RunResults } from '../sim/results.ts';
import type { PointPayload } from './load.ts';

/** Headline metrics of a point, one database column each (units in the names). */
export const METRICS = [
  'sim_time_ps', 'events', 'faults_raised', 'faults_serviced', 'batches', 'prefetched_pages',
  'evicted_pages', 'bytes_in', 'bytes_out', 'cpu_faults',
] as const;
export type Metric = (typeof METRICS)[number];

/** What a point gives back: its key, headline metrics and the full results as JSON text. */
export interface PointResult {
  readonly key: string;
  readonly metrics: Readonly<Record<Metric, number>>;
  readonly results: string;
}

/** The headline metrics of a run, summed over devices. */
export function headline(r: RunResults): Record<Metric, number> {
  const sum = (f: (d: RunResults['devices'][number]) => number) => r.devices.reduce((a, d) => a + f(d), 0);
  return {
    sim_time_ps: r.endPs,
    events: r.events,
    faults_raised: sum((d) => d.faults.raised),
    faults_serviced: sum((d) => d.faults.serviced),
    batches: sum((d) => d.batches),
    prefetched_pages: sum((d) => d.prefetched),
    evicted_pages: sum((d) => d.evictions.pages),
    bytes_in: sum((d) => d.bytesIn),
    bytes_out: sum((d) => d.bytesOut),
    cpu_faults: r.cpu.faults,
  };
}

/**
 * Runs one point.
 * @throws ScenarioError / ScenarioRunError as `hetmem run` would (one line each)
 */
export async function runPoint(p: PointPayload): Promise<PointResult> {
  const s = parseScenario(p.text, p.file);
  await loadPolicyPlugins(s);
  const results = runScenario(s, p.scale === 1 ? {} : { scale: p.scale });
  return { key: p.key, metrics: headline(results), results: JSON.stringify(results) };
}
