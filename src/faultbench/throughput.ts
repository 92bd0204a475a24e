// Measure 2: fault throughput. A kernel whose lanes each fault on their own untouched pages
// (zero fill, so copies do not hide the fault path), with prefetching off so every page is a
// fault. Sweeps the fault batch size (a copy of the profile with fault.batchSize overridden) at
// a fixed number of concurrently faulting lanes, and the number of lanes at the profile's own
// batch size; then runs lanes that share pages (4 lanes per page) with duplicate coalescing on
// and off. The number is distinct pages made accessible per second of simulated time (a page
// counts once however many entries faulted on it), over the kernel
// or over a bounded window when the kernel has not ended by then (the replay storms of small
// batches can take very long: the window keeps the cost bounded and the rate is still a rate).
import { faultOf, type Profile } from '../devices/profile/schema.ts';
import { latencyHistogram } from '../report/charts.ts';
import { quantileOf, type HistogramJson } from '../units/histogram.ts';
import {
  DEV, NOTES, alignedRegion, groupLanes, kernelStep, latenciesOf, machine, na, runScript, sig, usOf, withBatch, withCoalescing, type KernelTiming,
} from './harness.ts';
import type { Cell, LatencyHistogramSeries, MeasureTable, Row } from './types.ts';

/** Sizes of the throughput sweeps. */
export interface ThroughputConfig {
  /** Batch sizes swept at `lanes` concurrently faulting lanes. */
  readonly batchSizes: readonly number[];
  /** Lanes in the batch-size sweep. */
  readonly lanes: number;
  /** Lane counts swept at the profile's own batch size. */
  readonly laneCounts: readonly number[];
  /** Pages each lane faults on, one after another. */
  readonly pagesPerLane: number;
  /** Lanes sharing each page in the coalescing rows. */
  readonly share: number;
  /** Bound on one run's simulated time, ps: a kernel still running then is measured over the window. */
  readonly windowPs: number;
}

/** One throughput run. */
export interface ThroughputRun {
  /** Distinct pages the lanes got to access (after their faults) per second of simulated time. */
  faultsPerSecond: number;
  /** Distinct pages the lanes accessed. */
  pages: number;
  /** Fault entries serviced (an entry per page and batch; without coalescing one per entry), raised, merged by coalescing, found already mapped (duplicates). */
  serviced: number;
  raised: number;
  coalesced: number;
  duplicates: number;
  batches: number;
  /** Faults dropped because the fault buffer was full. */
  overflows: number;
  /** Whether the kernel ended inside the window. */
  finished: boolean;
  /** Simulated time the rate is over, ps. */
  elapsedPs: number;
  /** Raise → replay of every serviced fault entry, ps. */
  latencies: HistogramJson;
}

/**
 * `lanes` lanes, each faulting on `pagesPerLane` untouched pages of its own (`share` lanes per
 * page group), on `profile` (its own batch size unless it was overridden), prefetching off.
 */
export function throughputRun(profile: Profile, lanes: number, pagesPerLane: number, share: number, windowPs: number, seed: number): ThroughputRun {
  const m = machine(profile, seed, profile.driver === 'hmm-mirror' ? { policies: { prefetch: { policy: 'prefetch-none' } } } : {});
  const p = m.spawn();
  const groups = Math.ceil(lanes / share);
  const base = alignedRegion(p, groups * pagesPerLane);
  const timing: KernelTiming = { startPs: 0, endPs: -1 };
  const finished = runScript(m, [kernelStep(m, DEV, p, {
    name: 'fault-storm', lanes: groupLanes(base, lanes, pagesPerLane, true, share), computePs: 1000, accessBytes: 64,
  }, timing)], windowPs);
  const d = m.device(DEV);
  const elapsed = finished ? timing.endPs - timing.startPs : m.engine.now - timing.startPs;
  const f = d.metrics.faults;
  return {
    faultsPerSecond: elapsed > 0 ? d.metrics.pagesTouched / (elapsed * 1e-12) : 0,
    pages: d.metrics.pagesTouched,
    serviced: f.serviced, raised: f.raised, coalesced: f.coalesced, duplicates: f.duplicates, batches: d.metrics.batches, overflows: f.overflows,
    finished, elapsedPs: elapsed, latencies: latenciesOf(d),
  };
}

function cellOf(r: ThroughputRun, windowPs: number): Cell {
  const c: Cell = { value: sig(r.faultsPerSecond) };
  if (!r.finished) {
    c.note = `kernel still running after the ${windowPs / 1e9} ms window: pages made accessible within the window per second`;
    if (r.overflows > 0) c.note += '; faults overflowed the fault buffer';
  }
  return c;
}

/** Measure 2 over `profiles`. */
export function throughputMeasure(profiles: readonly Profile[], cfg: ThroughputConfig, seed: number): MeasureTable {
  const rows: Row[] = [];
  const histograms: LatencyHistogramSeries[] = [];
  const cells = (f: (p: Profile) => Cell): Record<string, Cell> => Object.fromEntries(profiles.map((p) => [p.name, p.driver === 'pinning' ? na(NOTES.pinning) : p.fault?.replayable === false ? na(NOTES.notReplayable) : f(p)]));
  for (const b of cfg.batchSizes) {
    rows.push({
      key: `throughput.batch.${b}`, label: `batch ${b}, ${cfg.lanes} lanes`, unit: 'faults/s', params: { sweep: 'batch', batch: b, lanes: cfg.lanes },
      cells: cells((p) => {
        const r = throughputRun(withBatch(p, b), cfg.lanes, cfg.pagesPerLane, 1, cfg.windowPs, seed);
        if (b === p.fault?.batchSize && p.fault.replayable) histograms.push(histogramOf(p.name, `${cfg.lanes} lanes, batch ${b}, zero fill`, r.latencies));
        return cellOf(r, cfg.windowPs);
      }),
    });
  }
  for (const n of cfg.laneCounts) {
    rows.push({
      key: `throughput.lanes.${n}`, label: `${n} lane${n === 1 ? '' : 's'}, own batch size`, unit: 'faults/s', params: { sweep: 'lanes', lanes: n },
      cells: cells((p) => cellOf(throughputRun(p, n, cfg.pagesPerLane, 1, cfg.windowPs, seed), cfg.windowPs)),
    });
  }
  for (const on of [true, false]) {
    rows.push({
      key: `throughput.shared.${on ? 'coalesce' : 'no-coalesce'}`,
      label: `${cfg.share} lanes per page, coalescing ${on ? 'on' : 'off'}`,
      unit: 'faults/s', params: { sweep: 'share', share: cfg.share, coalesce: on ? 1 : 0, lanes: cfg.lanes },
      cells: cells((p) => cellOf(throughputRun(withCoalescing(p, on), cfg.lanes, cfg.pagesPerLane, cfg.share, cfg.windowPs, seed), cfg.windowPs)),
    });
  }
  // Profiles whose own batch size is not in the sweep still get a latency distribution.
  for (const p of profiles) {
    if (p.driver === 'pinning' || p.fault?.replayable === false || histograms.some((h) => h.profile === p.name)) continue;
    const r = throughputRun(p, cfg.lanes, cfg.pagesPerLane, 1, cfg.windowPs, seed);
    histograms.push(histogramOf(p.name, `${cfg.lanes} lanes, batch ${faultOf(p).batchSize}, zero fill`, r.latencies));
  }
  const order = new Map(profiles.map((p, i) => [p.name, i]));
  histograms.sort((a, b) => order.get(a.profile)! - order.get(b.profile)!);
  return {
    id: 'throughput',
    title: 'Fault throughput',
    meaning: 'distinct faulted pages made accessible per second of simulated time (zero fill, prefetching off; higher is better)',
    rows,
    histograms,
  };
}

function histogramOf(profile: string, label: string, latencies: HistogramJson): LatencyHistogramSeries {
  const h = latencyHistogram(latencies);
  return {
    profile, label, edgesUs: h.edgesUs, counts: h.counts, samples: latencies.count,
    p50Us: latencies.count ? usOf(quantileOf(latencies, 0.5)) : 0,
    p99Us: latencies.count ? usOf(quantileOf(latencies, 0.99)) : 0,
  };
}
