// An input-size estimate made before a scenario runs: lower bounds on the model state it keeps
// and on the engine events it needs, so that a scenario which cannot finish (memory) or would
// take hours (events) is refused with the numbers instead of aborting V8 or running silently.
// Every term is a lower bound computed from the scenario alone (no clock, no machine), so the
// same scenario and scale always give the same verdict and a refusal is never a false alarm.
import type { Path } from './locate.ts';
import type { ActivityPlan, CpuPlan, KernelPlan, Scenario } from './load.ts';
import { allocationPages } from './load.ts';
import type { WorkloadInput } from './schema.ts';

/** Bytes the model keeps per page it tracks: the 16-byte struct page and an 8-byte PTE. */
export const BYTES_PER_TRACKED_PAGE = 16 + 8;
/** Bytes of contents per page written with data on (`data: true`). */
export const BYTES_PER_DATA_PAGE = 4096;
/** Bytes per lane or thread: at least one generator object with its closure. */
export const BYTES_PER_LANE = 64;
/** Model state a run may keep before it is refused: 8 GiB. */
export const MEMORY_BUDGET = 8 * 1024 ** 3;
/**
 * Engine events per second assumed: faster than hetmem runs on any machine measured, so the
 * time estimate is a lower bound.
 */
export const EVENTS_PER_SECOND = 10_000_000;
/** Wall time a run may be estimated to take before it is refused: one hour. */
export const WALL_BUDGET_S = 3600;
/** Timeline buckets a run may fill (runScenario passes it to SimMachine as a hard cap). */
export const MAX_TIMELINE_BUCKETS = 1_000_000;
/** Compute per access when a workload does not say (the workload generators' default). */
const DEFAULT_COMPUTE_PS = 1000;

/** The estimate of one scenario at one scale. */
export interface Estimate {
  /** Lower bound on the bytes of model state: tracked pages, written data, lanes. */
  readonly bytes: number;
  /** Path of the part contributing most bytes. */
  readonly bytesAt: Path;
  /** Lower bound on simulated time, ps: per step, its slowest activity's compute alone. */
  readonly simPs: number;
  /** Path of the activity contributing most simulated time. */
  readonly simAt: Path;
  /** Lower bound on engine events: a timeline sample per bucket plus a step per kernel quantum. */
  readonly events: number;
}

/** A path written "steps[2][0].kernel" back as its segments. */
function parsePath(p: string): Path {
  return [...p.matchAll(/([A-Za-z_]\w*)|\[(\d+)\]/g)].map((m) => (m[1] !== undefined ? m[1] : Number(m[2])));
}

/**
 * The estimate. Formulas (all lower bounds, `scale` as runScenario applies it):
 *   bytes  = Σ pages touched × 24 B (struct page + PTE) + Σ pages written × 4 KiB (data on)
 *            + Σ lanes × 64 B; a page counts as touched when a workload certainly reaches
 *            every page of its buffer or structure (streaming, stencil, allToAll, build) and as
 *            written when it also stores to every one (streaming with write, stencil, build).
 *   simPs  = Σ over steps of the max over its activities of accesses per lane × compute per
 *            access, where accesses per lane is the workload's certain minimum (total/lanes).
 *   events = simPs / bucket + Σ over device kernels of their compute time / quantum.
 */
export function estimateScenario(s: Scenario, scale = 1): Estimate {
  const sc = (n: number) => Math.max(1, Math.round(n * scale));
  const capacity = new Map(s.devices.map((d) => [d.name, d.profile.memory.capacity as number]));
  // Pages of every buffer and structure, by "process/name", with their paths.
  const pages = new Map<string, { n: number; at: Path }>();
  s.processes.forEach((p, i) => {
    p.allocations.forEach((a, j) => {
      const n = a.oversubscribe ? allocationPages(a, (d) => capacity.get(d)) * scale : sc(allocationPages(a, () => 0));
      pages.set(`${p.name}/${a.name}`, { n, at: ['processes', i, 'allocations', j] });
    });
    p.structures.forEach((st, j) => {
      const n = st.type === 'graph' ? sc(st.vertices) * (st.vertexPages ?? 1) : sc(st.nodes) * (st.nodePages ?? 1);
      pages.set(`${p.name}/${st.name}`, { n, at: ['processes', i, 'structures', j] });
    });
  });

  const touched = new Map<string, { pages: number; written: boolean }>();
  let laneBytes = 0, lanesAt: Path = [];
  let maxLanes = 0;
  let simPs = 0, simAt: Path = [], simMax = -1;
  let kernelEvents = 0;
  const touch = (key: string, written: boolean) => {
    const b = pages.get(key);
    if (!b) return;
    const t = touched.get(key);
    touched.set(key, { pages: b.n, written: written || (t?.written ?? false) });
  };
  /** Compute time of one activity's lanes (lower bound), and what it touches. */
  const activity = (a: KernelPlan | CpuPlan): number => {
    const w: WorkloadInput = a.workload;
    const lanes = w.lanes ?? (a.kind === 'kernel' ? 32 : 1);
    laneBytes += lanes * BYTES_PER_LANE;
    if (lanes > maxLanes) {
      maxLanes = lanes;
      lanesAt = [...parsePath(a.path), 'workload', 'lanes'];
    }
    const of = (name: string) => pages.get(`${a.process}/${name}`)?.n ?? 0;
    let total: number;
    switch (w.type) {
      case 'streaming':
        total = of(w.buffer) * (w.passes ?? 1);
        touch(`${a.process}/${w.buffer}`, w.write === true || w.write === 'rw');
        break;
      case 'strided': total = Math.ceil(of(w.buffer) / w.stride) * (w.passes ?? 1); break;
      case 'random': total = lanes * sc(w.accesses); break;
      case 'readMostly': total = lanes * sc(w.lookups); break;
      case 'searchTree': total = lanes * sc(w.lookups); break;
      case 'stencil': {
        total = Math.min(of(w.buffer), w.out !== undefined ? of(w.out) : Infinity) * (w.iterations ?? 1);
        touch(`${a.process}/${w.buffer}`, w.out === undefined);
        if (w.out !== undefined) touch(`${a.process}/${w.out}`, true);
        break;
      }
      case 'allToAll':
        total = w.buffers.reduce((n, b) => n + of(b), 0);
        for (const b of w.buffers) touch(`${a.process}/${b}`, false);
        break;
      case 'bfs': total = 0; break;
      case 'chaseList': total = w.steps !== undefined ? lanes * sc(w.steps) : of(w.structure); break;
      case 'build':
        total = of(w.structure);
        touch(`${a.process}/${w.structure}`, true);
        break;
    }
    const ps = Math.floor(total / lanes) * (w.compute ?? DEFAULT_COMPUTE_PS);
    if (a.kind === 'kernel') kernelEvents += ps / s.quantumPs;
    return ps;
  };
  s.steps.forEach((step) => {
    let longest = 0, at: Path = [];
    const consider = (ps: number, path: string) => {
      if (ps > longest) {
        longest = ps;
        at = parsePath(path);
      }
    };
    for (const a of step as readonly ActivityPlan[]) {
      // move_pages, populate_mm and advice are bounded by the buffers, not by compute.
      if (a.kind === 'move' || a.kind === 'migrate' || a.kind === 'advise' || a.kind === 'exit') continue;
      // Point at the compute that makes an activity long, when the file sets it.
      const where = (p: KernelPlan | CpuPlan) => (p.workload.compute !== undefined ? `${p.path}.workload.compute` : p.path);
      if (a.kind === 'pipeline') for (const stage of a.stages) for (const p of stage) consider(activity(p), where(p));
      else consider(activity(a), where(a));
    }
    simPs += longest;
    if (longest > simMax) {
      simMax = longest;
      simAt = at;
    }
  });

  let bytes = laneBytes, bytesAt = lanesAt, biggest = laneBytes;
  for (const [key, t] of touched) {
    const b = t.pages * (BYTES_PER_TRACKED_PAGE + (t.written && s.data ? BYTES_PER_DATA_PAGE : 0));
    bytes += b;
    if (b > biggest) {
      biggest = b;
      bytesAt = pages.get(key)!.at;
    }
  }
  return { bytes, bytesAt, simPs, simAt, events: simPs / s.bucketPs + kernelEvents };
}
