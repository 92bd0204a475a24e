// Running a scenario: build the SimMachine (devices, topology), the processes with their buffers
// and pointer structures, then run the steps in order — the activities of a step start together
// and the next step starts when all of them have finished — and return the RunResults.
import { PolicyPluginError } from '../policy/plugin.ts';
import { setMempolicy, MPOL_MODE_NAMES, MpolMode } from '../mm/mempolicy.ts';
import { OutOfMemory } from '../mm/errors.ts';
import { formatBytes } from '../units/bytes.ts';
import type { Process, MapKind } from '../api/machine.ts';
import type { Rng } from '../engine/rng.ts';
import type { Profile } from '../devices/profile/schema.ts';
import { SimConfigError, SimMachine, type DeviceConfig } from '../sim/machine.ts';
import { SimRunError } from '../sim/errors.ts';
import { TimelineFull } from '../sim/metrics.ts';
import { SimTimeOverflow } from '../engine/engine.ts';
import { ErrnoError } from '../api/machine.ts';
import { errnoName } from '../mm/constants.ts';
import { formatTime } from '../units/time.ts';
import { mappedEntries } from '../sim/mm-call.ts';
import { PMD_NR } from '../mm/constants.ts';
import { estimateScenario, parsePath, EVENTS_PER_SECOND, MAX_TIMELINE_BUCKETS, MEMORY_BUDGET, WALL_BUDGET_S, type Estimate } from './estimate.ts';
import { PinningError } from '../sim/drivers/pinning.ts';
import type { CpuPhaseSpec, KernelSpec } from '../sim/program.ts';
import type { RunResults } from '../sim/results.ts';
import { streaming } from '../workloads/streaming.ts';
import { strided } from '../workloads/strided.ts';
import { random } from '../workloads/random.ts';
import { stencil } from '../workloads/stencil.ts';
import { readMostlyTable } from '../workloads/read-mostly.ts';
import { allToAll } from '../workloads/all-to-all.ts';
import { randomGraph, type Graph } from '../workloads/graph.ts';
import { bfs } from '../workloads/bfs.ts';
import { linkedList, chaseList, type LinkedList } from '../workloads/linked-list.ts';
import { binaryTree, searchTree, type BinaryTree } from '../workloads/tree.ts';
import { partLength, partStart } from '../workloads/split.ts';
import type { BuildOptions } from '../workloads/page-list-phase.ts';
import type { CostOptions } from '../workloads/options.ts';
import { allocationPages, type ActivityPlan, type CpuPlan, type KernelPlan, type MovePlan, type MigratePlan, type AdvisePlan, type ForkPlan, type ExitPlan, type MmRangePlan, type Scenario } from './load.ts';
import { DEFAULT_ALIGN, type AllocationInput, type CrossDeviceInput, type ProcessInput, type StructureInput, type WorkloadInput } from './schema.ts';
import type { CrossDeviceOptions } from '../sim/cross-device.ts';

/** The scenario's `crossDevice:` as SimMachine options (fields left out keep the landed design). */
function crossDeviceOf(c: CrossDeviceInput): Partial<CrossDeviceOptions> {
  return {
    ...(c.owners !== undefined ? { owners: c.owners } : {}),
    ...(c.peerPages !== undefined ? { peerPages: c.peerPages } : {}),
    ...(c.migrateLock !== undefined ? { migrateLock: c.migrateLock } : {}),
    ...(c.invalidation !== undefined ? { invalidation: c.invalidation } : {}),
    ...(c.sourcePeerMigrates !== undefined ? { sourcePeerMigrates: c.sourcePeerMigrates } : {}),
    ...(c.timeslice !== undefined ? { timeslicePs: c.timeslice } : {}),
  };
}

/** Lanes of a device kernel whose workload does not say. */
export const DEFAULT_KERNEL_LANES = 32;
/** Threads of a CPU phase whose workload does not say. */
export const DEFAULT_CPU_THREADS = 1;

/** Options of runScenario. */
export interface RunScenarioOptions {
  /**
   * Size factor (> 0, default 1) for quick runs: allocation sizes, structure node counts, device
   * memory (rounded up to whole chunks) and per-lane access counts are multiplied by it; lane
   * counts, passes, iterations and the time settings are not. Oversubscription factors hold
   * because buffers and device memory shrink together.
   */
  readonly scale?: number;
  /**
   * Called at the start, every `progressEvents` engine events and at the end, with the simulated
   * time, the events run so far and the top-level steps finished out of the total.
   */
  readonly onProgress?: (simPs: number, events: number, stepsDone: number, steps: number) => void;
  /** Events between progress calls (default 4096). */
  readonly progressEvents?: number;
  /**
   * Called with each process as it comes to be: the declared ones before any step runs, a
   * fork's child at its fork, the new image at an exec (to inspect address spaces after a run).
   */
  readonly onProcess?: (name: string, proc: Process, buffers: ReadonlyMap<string, { readonly base: number; readonly pages: number }>) => void;
  /** Called with the machine once it is built, before any step runs (to attach observers). */
  readonly onMachine?: (m: SimMachine) => void;
  /**
   * Run even when the input-size estimate (estimate.ts) says the model state would pass
   * MEMORY_BUDGET or the events would take more than WALL_BUDGET_S; limits the model cannot
   * pass (2^53 ps, MAX_TIMELINE_BUCKETS) still refuse.
   */
  readonly force?: boolean;
}

/**
 * Refuses a scenario the estimate says cannot run (the time or timeline past what the engine
 * and results hold), or, unless `force`, would not fit in MEMORY_BUDGET or would take more
 * than WALL_BUDGET_S. Messages give the estimate and point at the part that contributes most.
 * @returns the estimate
 * @throws ScenarioRunError
 */
export function checkEstimate(s: Scenario, scale = 1, force = false): Estimate {
  const e = estimateScenario(s, scale);
  const at = (path: readonly (string | number)[]) => (s.at ? s.at(path) : s.file);
  const scaleNote = scale === 1 ? '' : ` at --scale ${scale}`;
  if (e.simPs > Number.MAX_SAFE_INTEGER) {
    throw new ScenarioRunError(`${at(e.simAt)}: the compute alone takes at least ${(e.simPs / 1e12).toPrecision(3)} s of simulated time${scaleNote}, past the 2^53 ps (about 2.5 h) the engine represents; expected less compute per access or fewer accesses`);
  }
  if (!force && !(e.bytes <= MEMORY_BUDGET)) {
    throw new ScenarioRunError(`${at(e.bytesAt)}: the model state would take at least ${formatBytes(e.bytes)}${scaleNote} (24 B per page touched, 4 KiB per page written with data on, 64 B per lane), more than the ${formatBytes(MEMORY_BUDGET)} allowed; make it smaller, set data: false, or run with --force`);
  }
  if (e.simPs / s.bucketPs > MAX_TIMELINE_BUCKETS) {
    throw new ScenarioRunError(`${at(e.simAt)}: the compute alone takes at least ${formatTime(e.simPs)} of simulated time${scaleNote}, ${Math.ceil(e.simPs / s.bucketPs)} timeline buckets of ${formatTime(s.bucketPs)}; the timeline holds ${MAX_TIMELINE_BUCKETS}: expected bucket ≥ ${formatTime(Math.ceil(e.simPs / MAX_TIMELINE_BUCKETS))} or less compute`);
  }
  if (force) return e;
  const wallS = e.events / EVENTS_PER_SECOND;
  if (wallS > WALL_BUDGET_S) {
    throw new ScenarioRunError(`${at(e.simAt)}: the run needs at least ${Math.ceil(e.events).toExponential(2)} events${scaleNote} (${formatTime(e.simPs)} of simulated time in timeline buckets of ${formatTime(s.bucketPs)} and kernel quanta of ${formatTime(s.quantumPs)}), over ${(wallS / 3600).toFixed(1)} h at ${EVENTS_PER_SECOND.toExponential(0)} events/s; widen bucket and quantum, shorten the work, or run with --force`);
  }
  return e;
}

/** A scenario that could not run as written (caught only at run time): one line. */
export class ScenarioRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioRunError';
  }
}

/** A count multiplied by the scale, at least `min`. */
function scaled(n: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(n * scale));
}

/** A profile with its device memory scaled (whole chunks, at least one; 0 stays 0). */
function scaleProfile(p: Profile, scale: number): Profile {
  const cap = p.memory.capacity;
  if (scale === 1 || cap === 0) return p;
  const chunk = p.memory.chunkSize;
  const capacity = Math.max(chunk, Math.ceil((cap * scale) / chunk) * chunk);
  return { ...p, memory: { ...p.memory, capacity: capacity as Profile['memory']['capacity'] } };
}

interface Buffer {
  readonly base: number;
  readonly pages: number;
}

type Built =
  | { readonly type: 'graph'; readonly g: Graph }
  | { readonly type: 'list'; readonly l: LinkedList }
  | { readonly type: 'tree'; readonly t: BinaryTree };

interface ProcState {
  readonly proc: Process;
  readonly buffers: Map<string, Buffer>;
  readonly structures: Map<string, Built>;
}

/** The core's mmap kind of a scenario allocation kind. */
const MAP_KIND: Record<AllocationInput['kind'], MapKind> = { anon: 'anon', shared: 'shared', thp: 'thp', file: 'file', filePrivate: 'file_private', hugetlb: 'hugetlb' };

/** Pages of a hugetlb buffer of `pages` pages: whole 2 MiB pages. */
function hugetlbRounded(pages: number): number {
  return Math.ceil(pages / PMD_NR) * PMD_NR;
}

/** Maps `pages` pages aligned to `alignPages` (the slack around them is unmapped again). */
function mmapAligned(p: Process, pages: number, kind: MapKind, alignPages: number): number {
  if (alignPages <= 1) return p.mmap(pages, kind, 'rw');
  const raw = p.mmap(pages + alignPages - 1, kind, 'rw');
  const base = Math.ceil(raw / alignPages) * alignPages;
  if (base > raw) p.munmap(raw, base - raw);
  const tail = raw + pages + alignPages - 1 - (base + pages);
  if (tail > 0) p.munmap(base + pages, tail);
  return base;
}

function costOptions(w: WorkloadInput, name: string): CostOptions {
  return {
    name: w.name ?? name,
    ...(w.compute !== undefined ? { computePs: w.compute } : {}),
    ...(w.accessBytes !== undefined ? { accessBytes: w.accessBytes } : {}),
  };
}

/** Regions a structure occupies (the pinning driver registers them). */
function structureRegions(s: Built): Buffer[] {
  switch (s.type) {
    case 'graph':
      return [...s.g.arenas.map((a) => ({ base: a.start, pages: a.pages })),
        { base: s.g.offsetsBase, pages: s.g.offsetsPages }, { base: s.g.targetsBase, pages: s.g.targetsPages }, { base: s.g.visitedBase, pages: s.g.visitedPages }];
    case 'list':
      return s.l.arenas.map((a) => ({ base: a.start, pages: a.pages }));
    case 'tree':
      return s.t.arenas.map((a) => ({ base: a.start, pages: a.pages }));
  }
}

/**
 * Runs a loaded scenario to the end (or to its `duration`) and returns the results.
 * @throws ScenarioRunError when the model refuses something the schema could not know
 *   (e.g. a pinning device without room for a kernel's buffers)
 */
export function runScenario(s: Scenario, o: RunScenarioOptions = {}): RunResults {
  const scale = o.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`runScenario: scale must be a finite number > 0, got ${scale}`);
  checkEstimate(s, scale, o.force === true);
  const fail = (where: string, e: unknown): never => {
    if (e instanceof TimelineFull) {
      throw new ScenarioRunError(`${s.at ? s.at(['bucket']) : s.file}: ${e.message}; expected a wider bucket, or a duration that stops the run sooner`);
    }
    if (e instanceof SimTimeOverflow) {
      throw new ScenarioRunError(`${s.file}: ${e.message}; check the bandwidths, compute and duration`);
    }
    if (e instanceof PolicyPluginError || e instanceof SimConfigError || e instanceof SimRunError || e instanceof PinningError || e instanceof RangeError || e instanceof OutOfMemory) {
      throw new ScenarioRunError(`${s.file}: ${where === '' ? '' : `${where}: `}${(e as Error).message.split('\n')[0]}`);
    }
    throw e;
  };

  const devices: DeviceConfig[] = s.devices.map((d) => ({ name: d.name, profile: scaleProfile(d.profile, scale), policies: d.policies, ...(d.scheduler !== undefined ? { scheduler: d.scheduler } : {}) }));
  const capacity = new Map(devices.map((d) => [d.name, d.profile.memory.capacity as number]));
  const pagesOf = (p: ProcessInput, a: AllocationInput) => {
    const n = Math.max(minPages.get(`${p.name}/${a.name}`) ?? 1,
      a.oversubscribe ? allocationPages(a, (d) => capacity.get(d)) : scaled(allocationPages(a, () => 0), scale));
    return a.kind === 'hugetlb' ? hugetlbRounded(n) : n;
  };
  // Build options of each structure come from the step that builds it; a buffer cut into
  // pipeline chunks keeps at least one page per chunk however small the scale (a fork's child
  // works on its root process's buffers).
  const buildOf = new Map<string, WorkloadInput>();
  const minPages = new Map<string, number>();
  const rootOf = (name: string) => s.processRoot.get(name) ?? name;
  const visit = (a: ActivityPlan, chunks = 1) => {
    if (a.kind !== 'kernel' && a.kind !== 'cpu' && a.kind !== 'pipeline') return;
    if (a.kind === 'pipeline') a.stages.forEach((stage) => stage.forEach((p) => visit(p, a.chunks)));
    else if (a.workload.type === 'build') buildOf.set(`${rootOf(a.process)}/${a.workload.structure}`, a.workload);
    else if ('buffer' in a.workload) {
      const key = `${rootOf(a.process)}/${a.workload.buffer}`;
      minPages.set(key, Math.max(minPages.get(key) ?? 1, chunks));
    }
  };
  s.steps.forEach((step) => step.forEach((a) => visit(a)));
  // The hugetlb pool (vm.nr_hugepages) holds every hugetlb buffer, once per process that may
  // copy it: each fork's child or parent can break copy-on-write on every huge page.
  const forks = s.steps.reduce((n, step) => n + step.filter((a) => a.kind === 'fork' || a.kind === 'exec').length, 0);
  const hugePages = s.processes.reduce((n, p) => n + p.allocations.filter((a) => a.kind === 'hugetlb').reduce((k, a) => k + pagesOf(p, a) / PMD_NR, 0), 0);
  let m: SimMachine;
  try {
    m = new SimMachine({
      seed: s.seed, data: s.data, devices, quantumPs: s.quantumPs, bucketPs: s.bucketPs, maxTimelineBuckets: MAX_TIMELINE_BUCKETS,
      ...(s.kernel !== undefined ? { kernel: s.kernel } : {}),
      ...(hugePages > 0 ? { hugetlbPages: Math.max(16, hugePages * (1 + forks)) } : {}),
      ...(s.topology !== undefined ? { topology: s.topology } : {}),
      ...(s.maxSpans !== undefined ? { maxSpans: s.maxSpans } : {}),
      ...(s.maxBatchRecords !== undefined ? { maxBatchRecords: s.maxBatchRecords } : {}),
      ...(s.crossDevice !== undefined ? { crossDevice: crossDeviceOf(s.crossDevice) } : {}),
    });
  } catch (e) {
    return fail('', e);
  }
  o.onMachine?.(m);


  // Processes, their buffers and structures, in declaration order.
  const procs = new Map<string, ProcState>();
  /** A new address space for process `p` (at start, or the image an exec maps) with its NUMA policy and buffers. */
  /** The allocations of `p` mapped into a new address space (`into`: exec's, else a new process). */
  const newImage = (p: ProcessInput, into?: Process): { proc: Process; buffers: Map<string, Buffer> } => {
    const proc = into ?? m.spawn();
    const numa = s.processNuma.get(p.name);
    proc.mm.node = numa?.node ?? 0;
    if (numa?.policy && setMempolicy(proc.mm, numa.policy.mode, numa.policy.nodes) !== 0) {
      throw new ScenarioRunError(`${s.file}: process ${p.name}: set_mempolicy(${MPOL_MODE_NAMES[numa.policy.mode]}) refused its nodes`);
    }
    const buffers = new Map<string, Buffer>();
    for (const [j, a] of p.allocations.entries()) {
      const pages = pagesOf(p, a);
      const alignPages = Math.max(1, Math.floor((a.align ?? DEFAULT_ALIGN) / 4096));
      let base: number;
      try {
        // mmap places a hugetlb mapping on a huge-page boundary itself, and its slack could
        // not be trimmed in 4 KiB pieces (hugetlb_vm_op_split).
        base = a.kind === 'hugetlb' ? proc.mmap(pages, 'hugetlb', 'rw') : mmapAligned(proc, pages, MAP_KIND[a.kind], alignPages);
      } catch (e) {
        if (!(e instanceof ErrnoError)) throw e;
        const where = s.at ? s.at(['processes', s.processes.indexOf(p), 'allocations', j]) : `${s.file}: process ${p.name}: buffer ${a.name}`;
        throw new ScenarioRunError(`${where}: cannot map ${formatBytes(pages * 4096)}: ${e.message} (${a.kind === 'hugetlb' ? `the hugetlb pool holds ${m.sys.hugetlbTotal} huge pages` : 'the address space holds 128 TiB'})`);
      }
      buffers.set(a.name, { base, pages });
    }
    return { proc, buffers };
  };
  for (const p of s.processes) {
    const { proc, buffers } = newImage(p);
    const structures = new Map<string, Built>();
    for (const st of p.structures) {
      try {
        structures.set(st.name, buildStructure(proc, st, m.rng(`structure/${p.name}/${st.name}`), scale, buildOf.get(`${p.name}/${st.name}`)));
      } catch (e) {
        fail(`process ${p.name}: structure ${st.name}`, e);
      }
    }
    procs.set(p.name, { proc, buffers, structures });
    o.onProcess?.(p.name, proc, buffers);
  }

  checkFootprint(s, m, procs);

  /** Buffer `name` of a process, or chunk `chunk` of `chunks` of it. */
  const bufferOf = (ps: ProcState, name: string, chunk?: { c: number; of: number }): Buffer => {
    const b = ps.buffers.get(name)!;
    if (chunk === undefined) return b;
    return { base: b.base + partStart(b.pages, chunk.of, chunk.c), pages: partLength(b.pages, chunk.of, chunk.c) };
  };

  /** The kernel (lanes) of a workload. */
  const makeKernel = (plan: KernelPlan | CpuPlan, lanes: number, chunk?: { c: number; of: number }): KernelSpec => {
    const ps = procs.get(plan.process)!;
    const w = plan.workload;
    const rng = m.rng(`workload/${plan.path}${chunk ? `/chunk${chunk.c}` : ''}`);
    const ref = 'buffer' in w ? w.buffer : 'structure' in w ? w.structure : w.type === 'allToAll' ? w.buffers[w.index] : '';
    const name = `${w.type} ${ref}${chunk ? ` #${chunk.c}` : ''}`;
    const c = costOptions(w, name);
    if (chunk && w.name !== undefined) (c as { name: string }).name = `${w.name} #${chunk.c}`;
    let regions: Buffer[] = [];
    let k: KernelSpec;
    switch (w.type) {
      case 'streaming': {
        const b = bufferOf(ps, w.buffer, chunk);
        regions = [b];
        k = streaming({ ...c, base: b.base, pages: b.pages, lanes, passes: w.passes ?? 1, write: w.write ?? false });
        break;
      }
      case 'strided': {
        const b = bufferOf(ps, w.buffer, chunk);
        regions = [b];
        k = strided({ ...c, base: b.base, pages: b.pages, stride: w.stride, lanes, passes: w.passes ?? 1, shiftPerPass: w.shiftPerPass ?? 0, write: w.write ?? false });
        break;
      }
      case 'random': {
        const b = bufferOf(ps, w.buffer, chunk);
        regions = [b];
        k = random({ ...c, base: b.base, pages: b.pages, lanes, accessesPerLane: scaled(w.accesses, scale), writeFraction: w.writeFraction ?? 0, rng });
        break;
      }
      case 'atomics': {
        const b = bufferOf(ps, w.buffer, chunk);
        regions = [b];
        k = { ...random({ ...c, base: b.base, pages: b.pages, lanes, accessesPerLane: scaled(w.accesses, scale), writeFraction: 1, rng }), atomic: true };
        break;
      }
      case 'readMostly': {
        const b = bufferOf(ps, w.buffer, chunk);
        regions = [b];
        k = readMostlyTable({ ...c, base: b.base, pages: b.pages, lanes, lookupsPerLane: scaled(w.lookups, scale), writeEvery: w.writeEvery === 'never' ? Infinity : (w.writeEvery ?? 100), rng });
        break;
      }
      case 'stencil': {
        const b = bufferOf(ps, w.buffer);
        const out = w.out !== undefined ? bufferOf(ps, w.out) : undefined;
        const pages = Math.min(b.pages, out?.pages ?? Infinity);
        // Scaled grids keep their aspect ratio: both sides shrink by √scale.
        let cols = scale === 1 ? w.cols : scaled(w.cols, Math.sqrt(scale));
        let rows = w.rows !== undefined ? (scale === 1 ? w.rows : scaled(w.rows, Math.sqrt(scale))) : Math.floor(pages / cols);
        if (cols > pages) cols = pages;
        rows = Math.max(1, Math.min(rows, Math.floor(pages / cols)));
        regions = out ? [b, out] : [b];
        k = stencil({ ...c, base: b.base, rows, cols, lanes, iterations: w.iterations ?? 1, ...(out ? { outBase: out.base } : {}) });
        break;
      }
      case 'allToAll': {
        const bufs = w.buffers.map((n) => bufferOf(ps, n));
        regions = bufs;
        k = allToAll({ ...c, buffers: bufs, device: w.index, lanes });
        break;
      }
      case 'bfs': {
        const st = ps.structures.get(w.structure)!;
        if (st.type !== 'graph') throw new Error('unreachable: bfs on a non-graph');
        regions = structureRegions(st);
        k = bfs(st.g, { ...c, lanes, source: Math.min(w.source ?? 0, st.g.vertices - 1) });
        break;
      }
      case 'chaseList': {
        const st = ps.structures.get(w.structure)!;
        if (st.type !== 'list') throw new Error('unreachable: chaseList on a non-list');
        regions = structureRegions(st);
        k = chaseList(st.l, { ...c, lanes, ...(w.steps !== undefined ? { steps: scaled(w.steps, scale) } : {}) });
        break;
      }
      case 'searchTree': {
        const st = ps.structures.get(w.structure)!;
        if (st.type !== 'tree') throw new Error('unreachable: searchTree on a non-tree');
        regions = structureRegions(st);
        k = searchTree(st.t, { ...c, lanes, lookupsPerLane: scaled(w.lookups, scale), rng, miss: w.miss ?? false });
        break;
      }
      case 'build':
        throw new Error('unreachable: build is a CPU phase');
    }
    return { ...k, regions };
  };

  const cpuPhase = (plan: CpuPlan, chunk?: { c: number; of: number }): CpuPhaseSpec => {
    const w = plan.workload;
    if (w.type === 'build') {
      const st = procs.get(plan.process)!.structures.get(w.structure)!;
      return st.type === 'graph' ? st.g.build : st.type === 'list' ? st.l.build : st.t.build;
    }
    const k = makeKernel(plan, w.lanes ?? DEFAULT_CPU_THREADS, chunk);
    return { name: k.name, threads: k.lanes, computePs: k.computePs, accessBytes: k.accessBytes };
  };

  type Runner = (done: () => void) => void;
  const start = (plan: KernelPlan | CpuPlan, chunk?: { c: number; of: number }): Runner => (done) => {
    const where = `${plan.path}${chunk ? ` (chunk ${chunk.c})` : ''}`;
    try {
      const proc = procs.get(plan.process)!.proc;
      if (plan.kind === 'kernel') {
        const k = makeKernel(plan, plan.workload.lanes ?? DEFAULT_KERNEL_LANES, chunk);
        const sched = plan.priority !== undefined || plan.gang !== undefined
          ? { sched: { ...(plan.priority !== undefined ? { priority: plan.priority } : {}), ...(plan.gang ? { gang: plan.gang.name, gangSize: plan.gang.size } : {}) } }
          : {};
        m.launch(plan.device, proc, { ...k, ...sched }).onDone(() => done());
      }
      else m.cpuPhase(proc, cpuPhase(plan, chunk)).onDone(() => done());
    } catch (e) {
      fail(where, e);
    }
  };
  const parallel = (runners: Runner[]): Runner => (done) => {
    let left = runners.length;
    if (left === 0) return done();
    for (const r of runners) r(() => {
      if (--left === 0) done();
    });
  };
  const sequence = (runners: Runner[], after?: () => void): Runner => (done) => {
    let i = 0;
    const next = () => {
      if (i > 0) after?.();
      if (i < runners.length) runners[i++](next);
      else done();
    };
    next();
  };
  const move = (plan: MovePlan): Runner => (done) => {
    try {
      const ps = procs.get(plan.process)!;
      const b = ps.buffers.get(plan.buffer)!;
      // Offsets and counts scale with the buffers; the move stays inside its buffer.
      const offset = Math.min(b.pages - 1, plan.offset === 0 ? 0 : scaled(plan.offset, scale, 0));
      const pages = Math.min(b.pages - offset, plan.pages === undefined ? b.pages : scaled(plan.pages, scale));
      m.movePages(ps.proc, b.base + offset, pages, plan.node).onDone(() => done());
    } catch (e) {
      fail(plan.path, e);
    }
  };
  // The buffer range of a migrate or advise step, scaled like move's.
  const rangeOf = (plan: MigratePlan | AdvisePlan) => {
    const ps = procs.get(plan.process)!;
    const b = ps.buffers.get(plan.buffer)!;
    const offset = Math.min(b.pages - 1, plan.offset === 0 ? 0 : scaled(plan.offset, scale, 0));
    const pages = Math.min(b.pages - offset, plan.pages === undefined ? b.pages : scaled(plan.pages, scale));
    return { proc: ps.proc, start: b.base + offset, pages };
  };
  const migrate = (plan: MigratePlan): Runner => (done) => {
    try {
      const r = rangeOf(plan);
      m.migrateRange(plan.to, r.proc, r.start, r.pages).onDone(() => done());
    } catch (e) {
      fail(plan.path, e);
    }
  };
  const advise = (plan: AdvisePlan): Runner => (done) => {
    try {
      const r = rangeOf(plan);
      m.advise(plan.device, r.proc, r.start, r.pages, plan.preferredLocation);
    } catch (e) {
      fail(plan.path, e);
    }
    done();
  };
  /** An mm call refused with an errno: one line, located at its step. */
  const refused = (plan: { path: string }, what: string, errno: number): never => {
    throw new ScenarioRunError(`${s.at ? s.at(parsePath(plan.path)) : `${s.file}: ${plan.path}`}: ${what} failed: ${errnoName(-errno)}`);
  };
  const fork = (plan: ForkPlan): Runner => (done) => {
    try {
      const ps = procs.get(plan.process)!;
      let child: Process | undefined;
      m.mmCall(ps.proc, `fork ${plan.process} → ${plan.child}`, mappedEntries(ps.proc.mm), () => {
        child = ps.proc.fork();
      }).onDone(() => done());
      // The child has the parent's buffers and structures at the same addresses.
      procs.set(plan.child, { proc: child!, buffers: ps.buffers, structures: ps.structures });
      o.onProcess?.(plan.child, child!, ps.buffers);
    } catch (e) {
      fail(plan.path, e);
    }
  };
  const exitOrExec = (plan: ExitPlan): Runner => (done) => {
    try {
      const ps = procs.get(plan.process)!;
      // exit: do_exit (exit_mm, then the device files close and their tasks stop); exec:
      // exec_mmap (the old address space loses the task's mm_users; device files stay open, so
      // tasks holding mm_users keep it alive, tasks holding only mm_count fault fatally).
      let next: Process | undefined;
      m.mmCall(ps.proc, `${plan.kind} ${plan.process}`, mappedEntries(ps.proc.mm), () => {
        if (plan.kind === 'exec') next = m.exec(ps.proc);
        else m.exit(ps.proc);
      }).onDone(() => done());
      if (plan.kind === 'exec') {
        // execve's new image: the declared allocations mapped again, empty; no structures.
        // The new image keeps the NUMA node and memory policy (exec keeps the mempolicy; a
        // child has its root's, inherited at fork) and maps the root's allocations.
        const root = s.processes.find((p) => p.name === rootOf(plan.process))!;
        const { proc, buffers } = newImage(root, next);
        procs.set(plan.process, { proc, buffers, structures: new Map() });
        o.onProcess?.(plan.process, proc, buffers);
      }
    } catch (e) {
      fail(plan.path, e);
    }
  };
  const mmRange = (plan: MmRangePlan): Runner => (done) => {
    try {
      const ps = procs.get(plan.process)!;
      const b = ps.buffers.get(plan.buffer)!;
      const offset = Math.min(b.pages - 1, plan.offset === 0 ? 0 : scaled(plan.offset, scale, 0));
      const pages = Math.min(b.pages - offset, plan.pages === undefined ? b.pages : scaled(plan.pages, scale));
      const start = b.base + offset;
      let ret = 0;
      m.mmCall(ps.proc, `${plan.kind} ${plan.buffer}`, mappedEntries(ps.proc.mm, start, start + pages), () => {
        if (plan.kind === 'munmap') ret = ps.proc.munmap(start, pages);
        else if (plan.kind === 'mprotect') ret = ps.proc.mprotect(start, pages, plan.prot!);
        else ret = ps.proc.madvise(start, pages, plan.advice!);
      }).onDone(() => done());
      if (ret < 0) refused(plan, `${plan.kind}(${plan.buffer}, ${pages} pages${plan.prot !== undefined ? `, ${plan.prot}` : plan.advice !== undefined ? `, ${plan.advice}` : ''})`, ret);
    } catch (e) {
      if (e instanceof ScenarioRunError) throw e;
      fail(plan.path, e);
    }
  };
  const activity = (a: ActivityPlan): Runner => {
    const r = activityNow(a);
    const delay = a.delayPs ?? 0;
    return delay === 0 ? r : (done) => m.at(m.engine.now + delay, () => r(done));
  };
  const activityNow = (a: ActivityPlan): Runner => {
    if (a.kind === 'fork') return fork(a);
    if (a.kind === 'exit' || a.kind === 'exec') return exitOrExec(a);
    if (a.kind === 'munmap' || a.kind === 'mprotect' || a.kind === 'madvise') return mmRange(a);
    if (a.kind === 'move') return move(a);
    if (a.kind === 'migrate') return migrate(a);
    if (a.kind === 'advise') return advise(a);
    if (a.kind !== 'pipeline') return start(a as KernelPlan | CpuPlan);
    const waves: Runner[] = [];
    for (let w = 0; w < a.chunks + a.stages.length - 1; w++) {
      const inWave: Runner[] = [];
      a.stages.forEach((stage, st) => {
        const c = w - st;
        if (c >= 0 && c < a.chunks) for (const plan of stage) inWave.push(start(plan, { c, of: a.chunks }));
      });
      waves.push(parallel(inWave));
    }
    return sequence(waves);
  };

  let stepsDone = 0;
  const report = () => o.onProgress?.(m.engine.now, m.engine.eventsRun, stepsDone, s.steps.length);
  const every = Math.max(1, o.progressEvents ?? 4096);
  let countdown = every;
  const unsubscribe = o.onProgress ? m.engine.onEvent(() => {
    if (--countdown === 0) {
      countdown = every;
      report();
    }
  }) : () => {};
  report();
  const steps = s.steps.map((step) => parallel(step.map(activity)));
  m.at(0, () => sequence(steps, () => stepsDone++)(() => {}));
  try {
    if (s.durationPs === undefined) m.run();
    else {
      const e = m.engine;
      for (let t = e.nextEventTime(); t !== undefined && t <= s.durationPs; t = e.nextEventTime()) e.step();
      // Stop at the cap if work is left; otherwise where the work ended (m.run samples the last bucket).
      m.run(e.pending > 0 ? s.durationPs : e.now);
    }
  } catch (e) {
    fail('', e);
  } finally {
    unsubscribe();
  }
  report();
  return m.results(s.name);
}

/**
 * Refuses, before any step runs, a scenario whose processes cannot fit in the sockets' memory
 * (topology.sockets[].memoryBytes). The estimate: every page the processes map (buffers and
 * structure arenas) is touched once and lives in system memory, i.e. no COW copies, nothing
 * freed, device memory not counted. A bind process must fit in its bound nodes; together, all
 * processes in all the nodes. At run time a full node sends allocations to the next one
 * (zonelist fallback, mm/mempolicy.ts) and a run that still finds no room stops with
 * OutOfMemory.
 * @throws ScenarioRunError naming the sockets' sizes and the estimate
 */
function checkFootprint(s: Scenario, m: SimMachine, procs: ReadonlyMap<string, ProcState>): void {
  const frames = m.sys.nodeFrames;
  const sockets = (nodes: readonly number[]) => nodes.map((n) => `${m.socketOf(n)} ${formatBytes(frames[n] * 4096)}`).join(', ');
  const all = frames.map((_, n) => n);
  const sum = (nodes: readonly number[]) => nodes.reduce((a, n) => a + frames[n], 0);
  let total = 0;
  for (const [name, ps] of procs) {
    const mm = ps.proc.mm;
    const pages = mm.vmas.reduce((a, v) => a + (v.end - v.start), 0);
    total += pages;
    const bound = mm.policy.mode === MpolMode.BIND ? mm.policy.nodes : null;
    if (bound !== null && pages > sum(bound)) {
      throw new ScenarioRunError(`${s.file}: topology.sockets: process ${name} maps ${formatBytes(pages * 4096)} (buffers and structures, all touched), more than its bound nodes hold (${sockets(bound)})`);
    }
  }
  if (total > sum(all)) {
    throw new ScenarioRunError(`${s.file}: topology.sockets: the processes map ${formatBytes(total * 4096)} (buffers and structures, all touched), more than the sockets hold (${sockets(all)})`);
  }
}

function buildStructure(proc: Process, st: StructureInput, rng: Rng, scale: number, build: WorkloadInput | undefined): Built {
  const b: BuildOptions = {
    name: build?.name ?? `build ${st.name}`,
    threads: build?.lanes ?? DEFAULT_CPU_THREADS,
    ...(build?.compute !== undefined ? { computePs: build.compute } : {}),
    ...(build?.accessBytes !== undefined ? { accessBytes: build.accessBytes } : {}),
  };
  const arena = st.arenaPages !== undefined ? { arenaPages: st.arenaPages } : {};
  switch (st.type) {
    case 'graph':
      return {
        type: 'graph',
        g: randomGraph(proc, {
          vertices: scaled(st.vertices, scale, 2), degree: st.degree, rng, build: b, ...arena,
          ...(st.vertexPages !== undefined ? { vertexPages: st.vertexPages } : {}),
          ...(st.visitedBytesPerVertex !== undefined ? { visitedBytesPerVertex: st.visitedBytesPerVertex } : {}),
        }),
      };
    case 'list':
      return { type: 'list', l: linkedList(proc, { nodes: scaled(st.nodes, scale), rng, build: b, ...arena, ...(st.nodePages !== undefined ? { nodePages: st.nodePages } : {}) }) };
    case 'tree':
      return {
        type: 'tree',
        t: binaryTree(proc, { nodes: scaled(st.nodes, scale), rng, build: b, ...arena, ...(st.nodePages !== undefined ? { nodePages: st.nodePages } : {}), ...(st.shape !== undefined ? { shape: st.shape } : {}) }),
      };
  }
}
