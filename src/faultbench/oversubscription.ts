// Measure 5: oversubscription. The device gets a small memory (a few 2 MiB chunks, so the runs
// stay short) and a working set of factor × that memory, written by the CPU first. A streaming
// kernel (every page read in order, `passes` times) and a random kernel (uniformly random reads,
// `randomPerPage` per page of the working set)
// run on it under each eviction policy, with the profile's other policies (prefetch, thrashing
// mitigation) as they are. The number is the kernel's page accesses per second of simulated
// time; the working set beyond device memory is what eviction and re-faulting cost.
import type { Profile } from '../devices/profile/schema.ts';
import { Rng } from '../engine/rng.ts';
import { oversubscribedPages } from '../workloads/oversubscribe.ts';
import { streaming } from '../workloads/streaming.ts';
import { random } from '../workloads/random.ts';
import type { KernelSpec } from '../sim/program.ts';
import { DEV, NOTES, alignedRegion, cpuWrite, hasMemory, kernelStep, machine, na, runScript, sig, withCapacity, type KernelTiming } from './harness.ts';
import type { Cell, MeasureTable, Row } from './types.ts';

/** Eviction policies of the policy registry, in table order. */
export const EVICTION_POLICIES = ['evict-lru-chunk', 'evict-lru-page', 'evict-random'] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];
export const OVERSUB_KERNELS = ['stream', 'random'] as const;
export type OversubKernel = (typeof OVERSUB_KERNELS)[number];

/** Sizes of the oversubscription sweep. */
export interface OversubscriptionConfig {
  /** Working set / device memory. */
  readonly factors: readonly number[];
  readonly policies: readonly EvictionPolicy[];
  /** Device memory for the runs, in 2 MiB chunks. */
  readonly chunks: number;
  /** Lanes of each kernel. */
  readonly lanes: number;
  /** Passes of the streaming kernel over the working set. */
  readonly passes: number;
  /** Random reads per page of the working set (the random kernel makes pages × this many). */
  readonly randomPerPage: number;
}

const LIMIT_PS = 20_000_000_000_000; // 20 s

/** One kernel at one factor under one policy. */
export interface OversubRun {
  accesses: number;
  kernelPs: number;
  accessesPerSecond: number;
  evictedPages: number;
  faults: number;
}

/** Why `profile` has no oversubscription rows, or null. */
export function oversubscriptionUnavailable(profile: Profile): string | null {
  if (profile.driver !== 'hmm-mirror' || !hasMemory(profile)) return profile.driver === 'pinning' && hasMemory(profile) ? NOTES.pinning : NOTES.noMemory;
  if (profile.fault?.replayable === false) return NOTES.notReplayable;
  return null;
}

/** Runs `kernel` over factor × (chunks × 2 MiB) on `profile` with `policy`. */
export function oversubRun(profile: Profile, kernel: OversubKernel, factor: number, policy: EvictionPolicy, cfg: OversubscriptionConfig, seed: number): OversubRun {
  const why = oversubscriptionUnavailable(profile);
  if (why) throw new RangeError(`${profile.name}: no oversubscription run: ${why}`);
  const capacity = cfg.chunks * profile.memory.chunkSize;
  const prof = withCapacity(profile, capacity);
  const m = machine(prof, seed, { policies: { eviction: { policy } } });
  const p = m.spawn();
  const pages = oversubscribedPages(capacity, factor);
  const base = alignedRegion(p, pages);
  const perLane = Math.max(1, Math.ceil((pages * cfg.randomPerPage) / cfg.lanes));
  const spec: KernelSpec = kernel === 'stream'
    ? streaming({ base, pages, lanes: cfg.lanes, passes: cfg.passes, name: 'stream', computePs: 1000 })
    : random({ base, pages, lanes: cfg.lanes, accessesPerLane: perLane, rng: new Rng(seed).fork('faultbench-random'), name: 'random', computePs: 1000 });
  const total = kernel === 'stream' ? pages * cfg.passes : perLane * cfg.lanes;
  const t: KernelTiming = { startPs: 0, endPs: -1 };
  const d = m.device(DEV);
  let raised0 = 0;
  const ok = runScript(m, [() => cpuWrite(m, p, base, pages), () => {
    raised0 = d.metrics.faults.raised;
  }, kernelStep(m, DEV, p, spec, t)], LIMIT_PS);
  if (!ok) throw new Error(`${profile.name}: ${kernel} at ${factor}× (${policy}) did not finish`);
  const kernelPs = t.endPs - t.startPs;
  return {
    accesses: total, kernelPs, accessesPerSecond: total / (kernelPs * 1e-12),
    evictedPages: d.metrics.evictions.pages, faults: d.metrics.faults.raised - raised0,
  };
}

/** Measure 5 over `profiles`: a row per (kernel, policy, factor). */
export function oversubscriptionMeasure(profiles: readonly Profile[], cfg: OversubscriptionConfig, seed: number): MeasureTable {
  const rows: Row[] = [];
  for (const kernel of OVERSUB_KERNELS) {
    for (const policy of cfg.policies) {
      for (const factor of cfg.factors) {
        const cells: Record<string, Cell> = {};
        for (const p of profiles) {
          const why = oversubscriptionUnavailable(p);
          cells[p.name] = why ? na(why) : { value: sig(oversubRun(p, kernel, factor, policy, cfg, seed).accessesPerSecond) };
        }
        rows.push({
          key: `oversubscription.${kernel}.${policy}.${factor}`,
          label: `${kernel}, ${policy}, ${factor}× memory`,
          unit: 'accesses/s',
          params: { kernel, policy, factor },
          cells,
        });
      }
    }
  }
  return {
    id: 'oversubscription',
    title: `Oversubscription (device memory cut to ${cfg.chunks} × 2 MiB)`,
    meaning: 'page accesses per second of simulated time of a kernel over factor × device memory (higher is better)',
    rows,
  };
}
