// The timed machine: the byte-exact core (System + processes) plus devices from profiles, a
// topology, the event engine and the metrics. Scenarios build one, launch kernels and CPU
// phases on it, run it, and read RunResults.
import { MAX_NUMNODES } from '../mm/system.ts';
import type { KernelVersion } from '../mm/kernel.ts';
import { Engine } from '../engine/engine.ts';
import type { Rng } from '../engine/rng.ts';
import type { TimePs } from '../units/time.ts';
import { Machine, type Process } from '../api/machine.ts';
import type { Mm } from '../mm/mm.ts';
import { mmput } from '../mm/mmap.ts';
import { Topology, type DevicePath, type Route } from '../topology/routing.ts';
import { parseTopologySpec, type TopologySpecInput, type TopologySpec } from '../topology/spec.ts';
import { AddressSpaceGroups, ownerGroups, unreachablePair } from '../topology/groups.ts';
import { LANDED_CROSS_DEVICE, MigrationLocks, type CrossDeviceOptions } from './cross-device.ts';
import { Transfers, type SpanArgs } from '../devices/transfers.ts';
import type { Profile } from '../devices/profile/schema.ts';
import { linkBandwidth } from '../devices/profile/load.ts';
import { profilePolicies } from '../devices/profile/policies.ts';
import { parseDevicePolicies, pathChoiceOf, type DevicePolicies } from '../policy/registry.ts';
import { CPU, type ProcessorId } from '../policy/types.ts';
import type { PathCandidate } from '../policy/path.ts';
import { pathPolicy, type PathFn } from '../policy/plugin.ts';
import { CPU_NODE, migrateToRamArgs, type MigrateToRamNote, type RunObserver, type SimContext } from './context.ts';
import { BatchLog, DEFAULT_MAX_BATCH_RECORDS, TimelineBuilder, batchSummary } from './metrics.ts';
import { LogHistogram } from '../units/histogram.ts';
import { TimedDevice } from './device.ts';
import { HmmMirrorDevice } from './drivers/mirror.ts';
import { SvaDevice } from './drivers/sva.ts';
import { PinningDevice } from './drivers/pinning.ts';
import { CpuRun } from './cpu.ts';
import { SimRunError } from './errors.ts';
import { MoveRun } from './move-pages.ts';
import { MmCallRun } from './mm-call.ts';
import type { CpuPhaseSpec, KernelSpec, LaneData, LaneProgram } from './program.ts';
import { RESULTS_SCHEMA_VERSION, type BatchRecord, type DeviceMetrics, type LinkMetrics, type RunResults, type Span } from './results.ts';
import { appendAll } from '../units/append.ts';
import type { SchedPolicy } from '../policy/scheduler.ts';
import { RunQueues } from './scheduler.ts';

/** A device of the machine: a name (its topology endpoint id), a profile and its policies. */
export interface DeviceConfig {
  readonly name: string;
  readonly profile: Profile;
  /** Policy choices (policy/registry.ts); omitted roles take the defaults. */
  readonly policies?: unknown;
  /** How kernels share the device (src/policy/scheduler.ts); default concurrent: all at once. */
  readonly scheduler?: SchedPolicy;
}

/** Options of a timed machine. */
export interface SimOptions {
  readonly seed?: number;
  /** Keep page contents (default true). False = no-data mode: metadata and timing only. */
  readonly data?: boolean;
  readonly devices: readonly DeviceConfig[];
  /**
   * The interconnect. Omitted: one socket and root complex, every device on its own root port
   * (its profile's PCIe link) or on its private host link (C2C), peers linked as profiles say.
   */
  readonly topology?: TopologySpecInput;
  /** Lane quantum, ps (default 1 µs): how far a lane may run ahead within one kernel step. */
  readonly quantumPs?: number;
  /** Timeline bucket, ps (default 10 µs). */
  readonly bucketPs?: number;
  /** Spans kept for traces (default 100,000; later ones are counted, not kept). */
  readonly maxSpans?: number;
  /**
   * Batch records each device keeps for RunResults.batches (default DEFAULT_MAX_BATCH_RECORDS,
   * 100,000): later batches are counted and summed (RunResults.batchSummary) and passed to
   * `batchRecords` listeners, not kept.
   */
  readonly maxBatchRecords?: number;
  /** Most timeline buckets (default unbounded); a run that goes past them throws TimelineFull. */
  readonly maxTimelineBuckets?: number;
  /** Load test_hmm's four dmirror devices into the core too (op-script replay on a timed machine). */
  readonly dmirror?: boolean;
  /** Bind every HMM-mirror device to every process as it is created (default false: at first launch). */
  readonly bindAll?: boolean;
  /**
   * Sockets (= NUMA nodes) of the default topology (default 1): cpu1, cpu2, ... like cpu0, each
   * joined to cpu0 by an inter-socket link; devices stay on cpu0. Ignored with `topology`,
   * whose sockets are the nodes.
   */
  readonly numaNodes?: number;
  /** 2 MiB pages in the hugetlb pool (vm.nr_hugepages; default 16), for MAP_HUGETLB mappings. */
  readonly hugetlbPages?: number;
  /** The Linux version the core reproduces where 6.1 and 6.12 differ (default DEFAULT_KERNEL, 6.12; src/mm/kernel.ts). */
  readonly kernel?: KernelVersion;
  /** Cross-device design (cross-device.ts); omitted fields take the design as landed in 7.0. */
  readonly crossDevice?: Partial<CrossDeviceOptions>;
}

/** Simulated time without a completed access after which bouncing pages mean a livelock, ps. */
export const LIVELOCK_WINDOW_PS = 1_000_000_000_000;
/** migrate_to_ram calls within that window that make it a livelock rather than a long wait. */
export const LIVELOCK_BOUNCES = 1000;

/** A bad machine description (unknown device, impossible policy): one clear message. */
export class SimConfigError extends Error {}
export { SimRunError } from './errors.ts';

/**
 * Host memory node of the default topology: 1 TiB at 486 GB/s (the Grace CPU's measured STREAM,
 * anchors-uvm.md c.16, so a C2C device is not held back by DRAM) and 100 ns. ESTIMATE for other
 * hosts (a 12-channel DDR5 socket is of the same order).
 */
const DEFAULT_SOCKET = { id: 'cpu0', memoryBytes: 2 ** 40, memoryBandwidth: 486e9, memoryLatencyPs: 100_000 };
/**
 * The inter-socket link of the default multi-socket topology: three UPI 2.0 links at 16 GT/s,
 * 2 bytes per transfer each way per link, about 96 GB/s per direction, and 60 ns on top of the
 * local DRAM latency. ESTIMATE from Intel's published UPI rates (Sapphire Rapids, 4th-gen
 * Xeon); remote-DRAM bandwidth measured on such machines is lower, so this is an upper bound.
 */
const DEFAULT_UPI = { kind: 'upi' as const, bandwidth: 96e9, latencyPs: 60_000 };
/** Intel's root complex id; on the p2pdma host-bridge whitelist (Linux pci_p2pdma_whitelist). */
const DEFAULT_RC_VENDOR = 0x8086, DEFAULT_RC_DEVICE = 0x09a2;

/**
 * The default topology of a device list: one socket (cpu0; with `numaNodes` > 1 also cpu1, ...
 * on inter-socket links to cpu0, memory only as far as devices go) with one root complex; each PCIe
 * device on its own root port; C2C/CXL devices on a private link to the socket; devices whose
 * profiles declare a peer link joined by kind, in declaration order, into fully connected sets of
 * link.peer.peers + 1 (peers 1: 0-1, 2-3, ...).
 */
export function defaultTopology(devices: readonly DeviceConfig[], numaNodes = 1): TopologySpecInput {
  const rootPorts = devices.filter((d) => d.profile.link.kind === 'pcie').map((d) => ({ id: `rp-${d.name}` }));
  const endpoints = devices.map((d) => {
    const l = d.profile.link;
    const pcie = l.pcie ?? { gen: 4 as const, width: 16 as const };
    return l.kind === 'pcie'
      ? { id: d.name, gen: pcie.gen, width: pcie.width, parent: `rp-${d.name}`, linkLatencyPs: l.latency }
      : { id: d.name, gen: pcie.gen, width: pcie.width };
  });
  const links: TopologySpecInput['links'] = [];
  for (const d of devices) {
    const l = d.profile.link;
    if (l.kind !== 'pcie') {
      links!.push({
        id: `${d.name}-host`, kind: l.kind === 'nvlink-c2c' ? 'nvlink-c2c' : l.kind === 'cxl' ? 'cxl' : l.kind === 'xgmi' ? 'xgmi' : 'nvlink',
        a: DEFAULT_SOCKET.id, b: d.name,
        bandwidth: linkBandwidth(d.profile, 'h2d'), reverseBandwidth: linkBandwidth(d.profile, 'd2h'), latencyPs: l.latency,
      });
    }
  }
  const byKind = new Map<string, DeviceConfig[]>();
  for (const d of devices) {
    const peer = d.profile.link.peer;
    if (!peer) continue;
    const list = byKind.get(peer.kind) ?? [];
    list.push(d);
    byKind.set(peer.kind, list);
  }
  // Sets of peers + 1 (the set's first device's link.peer.peers), every pair of a set joined;
  // a set left short (fewer devices than peers + 1) is joined as far as it goes.
  for (const [kind, list] of byKind) {
    for (let i = 0; i < list.length;) {
      const set = list.slice(i, i + list[i].profile.link.peer!.peers + 1);
      for (let x = 0; x < set.length; x++) {
        for (let y = x + 1; y < set.length; y++) {
          const a = set[x], b = set[y];
          links!.push({ id: `${a.name}-${b.name}`, kind: kind as 'nvlink' | 'xgmi' | 'cxl', a: a.name, b: b.name, bandwidth: Math.min(a.profile.link.peer!.bandwidth, b.profile.link.peer!.bandwidth), latencyPs: a.profile.link.peer!.latency });
        }
      }
      i += set.length;
    }
  }
  const sockets = [DEFAULT_SOCKET];
  for (let i = 1; i < numaNodes; i++) {
    sockets.push({ ...DEFAULT_SOCKET, id: `cpu${i}` });
    links!.push({ id: `upi-cpu0-cpu${i}`, a: DEFAULT_SOCKET.id, b: `cpu${i}`, ...DEFAULT_UPI });
  }
  return {
    sockets,
    rootComplexes: rootPorts.length > 0 ? [{ id: 'rc0', socket: DEFAULT_SOCKET.id, vendorId: DEFAULT_RC_VENDOR, deviceId: DEFAULT_RC_DEVICE, rootPorts }] : [],
    endpoints,
    links,
  };
}

/** A handle on something running: a kernel or a CPU phase. */
export interface Activity {
  onDone(cb: (t: number) => void): void;
}

/** What takeMigrateToRam returns when no migrate_to_ram ran (shared: no array per access). */
const NO_MIGRATE_TO_RAM: readonly MigrateToRamNote[] = [];

/** The timed machine. */
export class SimMachine implements SimContext {
  readonly engine: Engine;
  readonly core: Machine;
  readonly topology: Topology;
  readonly groups: AddressSpaceGroups;
  readonly transfers: Transfers;
  readonly timeline: TimelineBuilder;
  readonly devices: TimedDevice[] = [];
  readonly hostNode: string;
  /** Socket ids in topology order: socket i holds NUMA node i's memory. */
  private readonly socketIds: string[];
  readonly data: boolean;
  readonly seed: number;
  private readonly byName = new Map<string, TimedDevice>();
  private readonly pagemapDevice = new Map<number, number>();
  private readonly routes = new Map<string, Route | null>();
  private readonly remoteFree = new Map<string, number>();
  /** Per segment: bytes of remote (zero-copy) loads and stores. */
  private readonly remoteBytes = new Map<string, number>();
  /** Per segment: bytes and transfers of copies made outside the copy engines (syncCopy). */
  private readonly syncCopyBytes = new Map<string, number>();
  private readonly syncCopies = new Map<string, number>();
  /**
   * Per segment: the remote accesses and sync copies booked on it and not yet drained, as a
   * fluid queue draining at the segment's bandwidth (bytes, as of `at` ps). Path selection
   * (least-loaded) reads it.
   */
  private readonly backlog = new Map<string, { bytes: number; at: number }>();
  /** Each device's registered path policy (policies.path, built-in or plug-in), by device index. */
  private readonly pathPolicy: PathFn[] = [];
  private readonly procs = new Map<number, Process>();
  /** Address spaces a process left by exec whose device files it still holds (closed at its exit). */
  private readonly execOld = new Map<Process, Mm[]>();
  private readonly spanList: Span[] = [];
  private readonly maxSpans: number;
  spansDropped = 0;
  private syncPs = 0;
  private readonly cpuMigrateToRam: MigrateToRamNote[] = [];
  actor = CPU;
  /** The run's page-level observer (SimContext.observer); set before the run starts. */
  observer: RunObserver | null = null;
  private writeSeq = 0;
  private readonly sampledCarried = new Map<string, number>();
  private sampler = false;
  private lastWorkPs = 0;
  /** Livelock watchdog: when accesses last completed, and the counters then (see `watchdog`). */
  private wdSincePs = 0;
  private wdAccesses = -1;
  private wdMigrateToRam = 0;
  private wdRaised: number[] = [];
  readonly cpuStats = { faults: 0, accesses: 0, busyPs: 0, threads: 0, jobWaitPs: 0 };
  /** migrate_to_ram calls a device's fault caused (the rest of sys.stats.migrateToRam were CPU faults). */
  private deviceMigrateToRam = 0;
  /** Observers of every lane store: (who, mm, vpn, byte offset, value). */
  readonly storeObservers: ((who: string, mm: Mm, vpn: number, offset: number, value: number) => void)[] = [];
  readonly quantumPs: number;
  readonly cross: CrossDeviceOptions;
  readonly locks = new MigrationLocks();
  private readonly adviceLog: NonNullable<RunResults['crossDevice']>['advice'] = [];
  /** Two-pass invalidation: the longest shootdown of the pass in progress, or -1 outside one. */
  private passMax = -1;
  private readonly invalidationPass = {
    begin: () => {
      if (this.cross.invalidation === 'two-pass' && this.passMax < 0) this.passMax = 0;
    },
    end: () => {
      if (this.passMax < 0) return;
      this.syncPs += this.passMax;
      this.passMax = -1;
    },
  };

  constructor(readonly opts: SimOptions) {
    this.seed = opts.seed ?? 1;
    this.data = opts.data ?? true;
    this.engine = new Engine({ seed: this.seed });
    this.engine.onEvent((t, label) => {
      if (label !== 'sample') this.lastWorkPs = t;
    });
    const spec: TopologySpec = parseTopologySpec(opts.topology ?? defaultTopology(opts.devices, opts.numaNodes ?? 1));
    // One NUMA node per socket: node i's memory sits behind socket i.
    this.socketIds = spec.sockets.map((s) => s.id);
    // Each node holds its socket's memoryBytes: a full node falls back to the next (mempolicy.ts).
    const nodes = Math.min(spec.sockets.length, MAX_NUMNODES);
    this.core = new Machine({
      keepData: this.data, dmirror: opts.dmirror ?? false, kernel: opts.kernel, nodes, nodeBytes: spec.sockets.slice(0, nodes).map((s) => s.memoryBytes),
      ...(opts.hugetlbPages !== undefined ? { hugetlbPages: opts.hugetlbPages } : {}),
    });
    this.cross = { ...LANDED_CROSS_DEVICE, ...opts.crossDevice };
    // do_exit's exit_files: the process's device files close after exit_mm, which stops its tasks.
    this.core.exitHooks.push((p) => {
      for (const mm of [p.mm, ...(this.execOld.get(p) ?? [])]) for (const d of this.devices) d.closeFile(mm);
      this.execOld.delete(p);
    });
    this.core.spawnHooks.push((p) => {
      this.procs.set(p.mm.id, p);
      p.mm.notifiers.pass = this.invalidationPass;
      if (opts.bindAll) for (const d of this.devices) if (d instanceof HmmMirrorDevice) d.spaceOf(p.mm);
    });
    this.topology = new Topology(spec);
    // drm_pagemap owner lists hold the devices with device memory managed through HMM.
    const peers = opts.devices.filter((d) => d.profile.driver === 'hmm-mirror' && this.topology.isEndpoint(d.name)).map((d) => d.name);
    this.groups = ownerGroups(spec, this.cross.owners, peers, (a, b) => {
      const r = this.topology.route(a, b);
      return r !== null && (r.kind === 'private' || r.kind === 'p2p-bus-addr' || r.kind === 'p2p-host-bridge');
    });
    // Members of a group map each other's memory in place: each pair needs a path of its own.
    const lost = unreachablePair(this.groups, this.topology, opts.devices.map((d) => d.name).filter((n) => this.topology.isEndpoint(n)));
    if (lost) {
      throw new SimConfigError(`devices '${lost.a}' and '${lost.b}' are in one address-space group (joined through other devices by NVLink/XGMI links) ` +
        `but cannot reach each other's memory: a link does not forward to the next link, and p2pdma refuses PCIe P2P between them; ` +
        `link them directly, put them under one PCIe switch, or remove a link so they are in separate groups`);
    }
    this.hostNode = spec.sockets[0].id;
    this.transfers = new Transfers(this.engine);
    this.timeline = new TimelineBuilder(opts.bucketPs ?? 10_000_000, opts.maxTimelineBuckets);
    this.maxSpans = opts.maxSpans ?? 100_000;
    this.quantumPs = opts.quantumPs ?? 1_000_000;
    const owners = new Map<number, object>();
    const names = new Set<string>();
    opts.devices.forEach((d, index) => {
      if (names.has(d.name)) throw new SimConfigError(`device name '${d.name}' is used twice`);
      names.add(d.name);
      if (!this.topology.isEndpoint(d.name)) throw new SimConfigError(`device '${d.name}' is not an endpoint of the topology`);
      const owner0 = this.topology.pathOwnerOf(d.name);
      if (owner0 !== null) throw new SimConfigError(`device '${d.name}' is a path (topology endpoint paths) of '${owner0}'; a DMA initiator belongs to one device`);
      let policies: DevicePolicies;
      try {
        policies = parseDevicePolicies({ ...profilePolicies(d.profile), ...((d.policies ?? {}) as object) });
      } catch (e) {
        throw new SimConfigError(`device '${d.name}': bad policies: ${(e as Error).message}`);
      }
      const path = pathChoiceOf(policies.path);
      this.pathPolicy.push(pathPolicy(path.key, path.params));
      const g = this.groups.groupOf(d.name);
      if (!owners.has(g)) owners.set(g, { group: g });
      const owner = owners.get(g)!;
      let dev: TimedDevice;
      if (d.profile.driver === 'hmm-mirror') {
        if (policies.placement.policy === 'read-duplication') {
          throw new SimConfigError(`device '${d.name}': read duplication is not available for HMM-managed memory (a CPU store through a writable PTE raises no notifier; NVIDIA UVM leaves it out for HMM too, anchors-uvm.md b.5)`);
        }
        dev = new HmmMirrorDevice(this, index, d.name, d.profile, this.quantumPs, {
          owner, policies, canAccess: (a, b) => this.canAccess(a, b),
        });
      } else if (d.profile.driver === 'sva') {
        if (this.topology.pathsOf(d.name).length > 1) throw new SimConfigError(`device '${d.name}' uses driver sva, which binds one PCI function (its PASID) to the address space; give it one path`);
        dev = new SvaDevice(this, index, d.name, d.profile, this.quantumPs);
      }
      else dev = new PinningDevice(this, index, d.name, d.profile, this.quantumPs, owner);
      const log = batchLogOf(dev);
      if (log) log.limit = opts.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS;
      this.devices.push(dev);
      this.byName.set(d.name, dev);
    });
    // One set of run queues for every scheduled device, so a gang job can span devices.
    if (opts.devices.some((d) => (d.scheduler ?? 'concurrent') !== 'concurrent')) {
      const queues = new RunQueues(this.devices);
      opts.devices.forEach((d, i) => {
        const policy = d.scheduler ?? 'concurrent';
        if (policy === 'concurrent') return;
        this.devices[i].schedPolicy = policy;
        this.devices[i].queues = queues;
      });
    }
  }

  // ---- SimContext ----

  get sys() {
    return this.core.sys;
  }
  rng(name: string): Rng {
    return this.engine.rng(name);
  }
  nodeOf(index: number): string {
    return this.devices[index].name;
  }
  route(from: string, to: string): Route | null {
    const k = `${from}|${to}`;
    let r = this.routes.get(k);
    if (r === undefined) {
      r = this.topology.route(from, to);
      this.routes.set(k, r);
    }
    return r;
  }
  pathsOf(index: number): readonly DevicePath[] {
    // By the configured name: a driver asks while it is being built, before it is in `devices`.
    return this.topology.pathsOf(this.opts.devices[index].name);
  }
  pathRoute(index: number, node: string, toDevice: boolean, now: number): { readonly path: DevicePath; readonly route: Route | null } {
    const paths = this.pathsOf(index);
    const routeOf = (p: DevicePath) => (toDevice ? this.route(node, p.endpoint) : this.route(p.endpoint, node));
    if (paths.length === 1) return { path: paths[0], route: routeOf(paths[0]) };
    const routed: { path: DevicePath; route: Route }[] = [];
    for (const p of paths) {
      const r = routeOf(p);
      if (r !== null) routed.push({ path: p, route: r });
    }
    if (routed.length === 0) return { path: paths[0], route: null };
    const policy = this.pathPolicy[index];
    const candidates: PathCandidate[] = routed.map(({ path, route }) => ({
      index: path.index, iommu: path.iommu, hops: route.segments.length, latencyPs: route.latencyPs, bandwidth: route.bandwidth,
      // Only a policy that reads the load (least-loaded) has the fluid model advanced for it.
      inFlightBytes: policy.readsLoad ? this.bottleneckInFlight(route, now) : 0,
    }));
    return routed[policy.choose(candidates)];
  }
  /** Bytes in flight on `route`'s bottleneck segment (the first of the slowest) at `now`: copies and booked remote traffic. */
  private bottleneckInFlight(route: Route, now: number): number {
    let seg = route.segments[0];
    for (const s of route.segments) if (s.bandwidth < seg.bandwidth) seg = s;
    if (seg === undefined) return 0;
    const b = this.backlog.get(seg.id);
    const queued = b === undefined ? 0 : Math.max(0, b.bytes - (Math.max(0, now - b.at) * seg.bandwidth) / 1e12);
    // Copy flows are read at the engine's time, never ahead of it: a lane's time may run a quantum
    // ahead, and the fluid model cannot go back for the next flow the engine starts.
    return queued + this.transfers.inFlightOn(seg.id, Math.min(now, this.engine.now));
  }
  homeNodeOf(pfn: number): string {
    const d = this.deviceOfPfn(pfn);
    if (d >= 0) return this.nodeOf(d);
    return this.socketIds[this.sys.pages.nodeOf(pfn)];
  }
  deviceOfPfn(pfn: number): number {
    const pm = this.sys.pages.pgmapId(pfn);
    if (pm < 0) return CPU;
    let d = this.pagemapDevice.get(pm);
    if (d === undefined) {
      const owner = this.sys.pagemaps[pm];
      d = this.devices.findIndex((dev) => 'mem' in dev && (dev as HmmMirrorDevice).mem?.owns(owner.start) === true);
      this.pagemapDevice.set(pm, d);
    }
    return d;
  }
  deviceMetrics(index: number): DeviceMetrics {
    return this.devices[index].metrics;
  }
  processOf(space: number): Process {
    return this.procs.get(space)!;
  }
  remoteAccess(route: Route, bytes: number, t: number): number {
    return this.book(route, bytes, t, false);
  }
  syncCopy(route: Route, bytes: number, t: number): number {
    return this.book(route, bytes, t, true);
  }
  /** Queues `bytes` on `route`'s remote-access server and books them as a copy or as remote access. */
  private book(route: Route, bytes: number, t: number, copy: boolean): number {
    const key = route.nodes.join('>');
    const start = Math.max(t, this.remoteFree.get(key) ?? 0);
    const dur = Number.isFinite(route.bandwidth) ? Math.ceil((bytes / route.bandwidth) * 1e12) : 0;
    this.remoteFree.set(key, start + dur);
    const bucket = Math.floor(start / this.timeline.bucketPs);
    const into = copy ? this.syncCopyBytes : this.remoteBytes;
    for (const s of route.segments) {
      into.set(s.id, (into.get(s.id) ?? 0) + bytes);
      if (Number.isFinite(s.bandwidth)) {
        // The bytes join the segment's queue when they are asked for (`t`, not when the route's
        // server gets to them), so waiting requests count as in flight. Drained up to `t`, never
        // backwards: lanes book out of time order within a quantum.
        const b = this.backlog.get(s.id) ?? { bytes: 0, at: t };
        const drained = Math.max(0, b.bytes - (Math.max(0, t - b.at) * s.bandwidth) / 1e12);
        this.backlog.set(s.id, { bytes: drained + bytes, at: Math.max(b.at, t) });
      }
      if (copy) this.syncCopies.set(s.id, (this.syncCopies.get(s.id) ?? 0) + 1);
      this.timeline.link(s.id, bucket, bytes);
    }
    return start + dur + route.latencyPs;
  }
  storeWord(who: string, mm: Mm, vpn: number, pfn: number): void {
    const value = ++this.writeSeq >>> 0;
    const fields = this.data ? this.laneData?.store?.(vpn) : undefined;
    if (fields !== undefined) {
      // The lane's own fields (a node's pointers), not the counter word.
      for (let i = 0; i < fields.length; i += 2) {
        this.sys.pages.writeU32(pfn, fields[i], fields[i + 1]);
        for (const o of this.storeObservers) o(who, mm, vpn, fields[i], fields[i + 1]);
      }
      return;
    }
    const offset = (this.writeSeq % 1024) * 4;
    this.sys.pages.writeU32(pfn, offset, value);
    for (const o of this.storeObservers) o(who, mm, vpn, offset, value);
  }
  /**
   * The data of the lane whose access is being made (set around each access by the kernel and
   * CPU loops), and the frame its access reached (-1 until a driver reports one).
   */
  laneData: LaneData | null = null;
  lastPfn = -1;
  noteAccess(pfn: number): void {
    this.lastPfn = pfn;
  }
  /**
   * Starts one lane access with `prog`'s data: until endDataAccess its stores write the program's
   * fields. False (and nothing started) without page data or without LaneData.
   */
  beginDataAccess(prog: LaneProgram): boolean {
    if (!this.data || prog.data === undefined) return false;
    this.laneData = prog.data;
    this.lastPfn = -1;
    return true;
  }
  /** Ends it: a completed access (`cost` >= 0) that reached a frame tells the program which. */
  endDataAccess(prog: LaneProgram, vpn: number, cost: number): void {
    this.laneData = null;
    if (cost >= 0 && this.lastPfn >= 0) prog.data!.loaded?.(this.lastPfn, vpn);
  }
  noteMigrateToRam(detail?: MigrateToRamNote): void {
    this.sys.stats.migrateToRam++;
    if (this.actor !== CPU) this.deviceMigrateToRam++;
    if (detail === undefined) return;
    // A CPU thread runs ahead of engine time within its quantum, so cpu.ts places the slice
    // inside the fault that caused it; a device's fault waits at the batch start (engine time).
    if (this.actor === CPU) this.cpuMigrateToRam.push(detail);
    else this.spans(`${detail.device}/driver`, 'migrate_to_ram', this.engine.now, detail.costPs, () => ({ ...migrateToRamArgs(detail), for: this.devices[this.actor]?.name ?? String(this.actor) }));
  }
  /** migrate_to_ram calls CPU faults made since the last call (or the last takeSyncPs). */
  takeMigrateToRam(): readonly MigrateToRamNote[] {
    return this.cpuMigrateToRam.length === 0 ? NO_MIGRATE_TO_RAM : this.cpuMigrateToRam.splice(0);
  }
  takeSyncPs(): number {
    const s = this.syncPs;
    this.syncPs = 0;
    this.cpuMigrateToRam.length = 0;
    return s;
  }
  addSyncPs(ps: number): void {
    this.syncPs += ps;
  }
  private jobWaits: { onDone(cb: (t: number) => void): void }[] = [];
  waitForJob(job: { onDone(cb: (t: number) => void): void }): void {
    if (!this.jobWaits.includes(job)) this.jobWaits.push(job);
  }
  /** The jobs the current operation must wait for (see waitForJob); reading it resets it. */
  takeJobWaits(): { onDone(cb: (t: number) => void): void }[] {
    const w = this.jobWaits;
    this.jobWaits = [];
    return w;
  }
  chargeShootdown(ps: number): void {
    if (this.passMax >= 0) this.passMax = Math.max(this.passMax, ps);
    else this.syncPs += ps;
  }
  p2pPage(dev: number, pfn: number): boolean {
    if (this.cross.peerPages !== 'p2p-page') return false;
    const home = this.deviceOfPfn(pfn);
    if (home < 0 || home === dev) return false;
    const r = this.route(this.nodeOf(home), this.nodeOf(dev));
    return r !== null && (r.kind === 'p2p-bus-addr' || r.kind === 'p2p-host-bridge');
  }
  deviceAt(index: number): TimedDevice {
    return this.devices[index];
  }
  spans = (track: string, name: string, startPs: number, durPs: number, args?: SpanArgs | (() => SpanArgs)): void => {
    if (this.spanList.length >= this.maxSpans) {
      this.spansDropped++;
      return;
    }
    const a = typeof args === 'function' ? args() : args;
    this.spanList.push(a ? { track, name, startPs, durPs, args: a } : { track, name, startPs, durPs });
  };

  /**
   * Can `a` map memory resident at `b` directly? System memory always; a peer's only in its
   * address-space group, over a link of their own or PCIe P2P (the constructor refuses a group
   * with a pair that has neither).
   */
  canAccess(a: ProcessorId, b: ProcessorId): boolean {
    if (a === b || b === CPU) return true;
    if (a === CPU) return this.devices[b].profile.link.coherent;
    const r = this.route(this.nodeOf(b), this.nodeOf(a));
    if (r === null) return false;
    // The P2P-page proposal reaches a peer outside the owner group over PCIe P2P.
    if (this.cross.peerPages === 'p2p-page' && (r.kind === 'p2p-bus-addr' || r.kind === 'p2p-host-bridge')) return true;
    return this.groups.sameGroup(this.nodeOf(a), this.nodeOf(b));
  }

  // ---- building and running ----

  /** A new process (address space) on this machine. */
  spawn(): Process {
    return this.core.spawn();
  }

  /** Device by name. */
  device(name: string): TimedDevice {
    const d = this.byName.get(name);
    if (!d) throw new SimConfigError(`no device '${name}' (devices: ${[...this.byName.keys()].join(', ')})`);
    return d;
  }

  /**
   * The process exits now (do_exit): exit_mm drops its mm_users reference (the address space is
   * torn down now unless a device task holds one: profile scheduler.holdsMmUsers), then its
   * device files close, which stops its device tasks, running or queued, and unbinds the drivers;
   * the last task's reference then runs exit_mmap. A SIGKILL takes the same do_exit path.
   */
  exit(proc: Process): void {
    this.procs.set(proc.mm.id, proc);
    const prev = this.actor;
    this.actor = CPU;
    try {
      proc.exit();
    } finally {
      this.actor = prev;
    }
  }

  /**
   * The process execs now (exec_mmap): it continues as the returned process in a fresh address
   * space, and the old one loses the task's mm_users reference. Its device files stay open
   * (no O_CLOEXEC), so device tasks in the old address space keep running: holding mm_users they
   * keep it alive until they end; holding only mm_count they find it torn down (RELEASE to the
   * drivers' notifiers) and their next access is a fatal fault. The returned process's exit
   * closes the files and stops them.
   */
  exec(proc: Process): Process {
    if (proc.exited || !proc.mm.alive) throw new SimRunError(`exec of a process that has exited (mm ${proc.mm.id})`);
    const next = this.core.spawn();
    next.mm.node = proc.mm.node;
    this.execOld.set(next, [...(this.execOld.get(proc) ?? []), proc.mm]);
    this.execOld.delete(proc);
    // The old image is gone: no more CPU work or launches through it.
    proc.exited = true;
    const prev = this.actor;
    this.actor = CPU;
    try {
      mmput(proc.mm);
    } finally {
      this.actor = prev;
    }
    return next;
  }

  /** Launches `kernel` on device `name` in `proc`'s address space, now. */
  launch(name: string, proc: Process, kernel: KernelSpec): Activity {
    if (proc.exited || !proc.mm.alive) throw new SimRunError(`kernel '${kernel.name}' launched on '${name}' in address space ${proc.mm.id} after its process exited`);
    this.procs.set(proc.mm.id, proc);
    proc.mm.notifiers.pass = this.invalidationPass;
    this.ensureSampler();
    return this.device(name).launch(kernel, proc.mm);
  }

  /** Runs a CPU phase of `proc`, now. */
  cpuPhase(proc: Process, spec: CpuPhaseSpec): Activity {
    if (proc.exited || !proc.mm.alive) throw new SimRunError(`CPU phase '${spec.name}' of address space ${proc.mm.id} after its process exited`);
    this.procs.set(proc.mm.id, proc);
    this.ensureSampler();
    const run = new CpuRun(this, proc, spec);
    run.start();
    return run;
  }

  /**
   * A CPU thread of `proc` calls move_pages(2) on `npages` pages from `start` to NUMA node
   * `node` (socket `node` of the topology), now: the pages move at once, the activity ends
   * after the call's CPU time and the copy over the inter-socket route (see MoveRun).
   */
  movePages(proc: Process, start: number, npages: number, node: number): MoveRun {
    this.procs.set(proc.mm.id, proc);
    this.ensureSampler();
    const prev = this.actor;
    this.actor = CPU;
    try {
      return new MoveRun(this, proc, start, npages, node);
    } finally {
      this.actor = prev;
    }
  }

  /**
   * A CPU thread of `proc` makes an mm system call, now: `call` runs at once (the core's
   * semantics, MMU notifiers and all); the activity ends after the TLB shootdowns it waited for,
   * the syscall cost and `entries` page-table entries' worth of walking (see MmCallRun).
   */
  mmCall(proc: Process, name: string, entries: number, call: () => void): MmCallRun {
    this.procs.set(proc.mm.id, proc);
    proc.mm.notifiers.pass = this.invalidationPass;
    this.ensureSampler();
    const prev = this.actor;
    this.actor = CPU;
    try {
      return new MmCallRun(this, name, entries, call);
    } finally {
      this.actor = prev;
    }
  }

  /**
   * drm_pagemap_populate_mm: device `name`'s driver migrates pages [start, start + npages) of
   * `proc` into its memory (not mapped; already-resident pages skipped). The activity ends when
   * the copies have landed.
   */
  migrateRange(name: string, proc: Process, start: number, npages: number): Activity {
    this.procs.set(proc.mm.id, proc);
    proc.mm.notifiers.pass = this.invalidationPass;
    this.ensureSampler();
    const dev = this.device(name);
    if (!(dev instanceof HmmMirrorDevice)) throw new SimConfigError(`device '${name}' uses driver ${dev.profile.driver}: only HMM mirror devices migrate into their memory`);
    let endPs = -1;
    const waiters: ((t: number) => void)[] = [];
    dev.populateMm(proc.mm, start, start + npages, (t) => {
      endPs = t;
      for (const w of waiters.splice(0)) this.at(t, () => w(t));
    });
    return {
      onDone: (cb) => {
        if (endPs >= 0) this.at(endPs, () => cb(endPs));
        else waiters.push(cb);
      },
    };
  }

  /**
   * Xe's PREFERRED_LOC madvise on device `name` for pages [start, start + npages) of `proc`:
   * `loc` is a device name or 'system'. A peer without a fast interconnect (not in this
   * device's owner group) is refused with -ENOLINK, and the advice falls back as Xe's IGT does:
   * local memory, then system memory. Returns what was applied and the errno of the request
   * (positive: 67 = ENOLINK; 0 when it was applied); both are also in the results.
   */
  advise(name: string, proc: Process, start: number, npages: number, loc: string): { applied: string; errno: number } {
    const dev = this.device(name);
    if (!(dev instanceof HmmMirrorDevice)) throw new SimConfigError(`device '${name}' uses driver ${dev.profile.driver}: placement advice is for HMM mirror devices`);
    const tries = [loc, ...(loc === name ? [] : [name]), 'system'].filter((x, i, a) => a.indexOf(x) === i);
    let first = 0;
    for (const t of tries) {
      const err = dev.advise(proc.mm, start, start + npages, t === 'system' ? CPU : this.device(t).index);
      if (t === loc) first = err;
      if (err === 0) {
        // errno as a positive number (ENOLINK = 67), 0 when the requested location was applied.
        this.adviceLog.push({ device: name, space: proc.mm.id, start, pages: npages, requested: loc, applied: t, errno: first === 0 ? 0 : -first });
        return { applied: t, errno: first === 0 ? 0 : -first };
      }
    }
    throw new SimConfigError(`device '${name}': no preferred location could be applied`);
  }

  /** Topology id of the socket holding NUMA node `node`. */
  socketOf(node: number): string {
    const s = this.socketIds[node];
    if (s === undefined) throw new RangeError(`no NUMA node ${node}: the topology has ${this.socketIds.length} socket(s)`);
    return s;
  }

  /** Calls `fn` at time `t` (≥ now). */
  at(t: number, fn: () => void): void {
    this.engine.schedule(Math.max(t, this.engine.now) as TimePs, fn, 'at');
  }

  /** Runs until no event is left (or until `until` ps). Returns the end time. */
  run(until?: number): number {
    this.ensureSampler();
    if (until === undefined) this.engine.run();
    else this.engine.runUntil(until as TimePs);
    this.sample(this.endPs());
    return this.endPs();
  }

  /**
   * End of the run: the engine's time if work is still pending (a bounded run cut short), else
   * the time of the last event other than timeline sampling.
   */
  endPs(): number {
    const pendingWork = this.engine.pending > (this.sampler ? 1 : 0);
    return pendingWork ? this.engine.now : Math.min(this.engine.now, this.lastWorkPs);
  }

  private ensureSampler(): void {
    if (this.sampler) return;
    this.sampler = true;
    const b = this.timeline.bucketPs;
    const tick = (now: number) => {
      this.sample(now);
      this.watchdog(now);
      // Keep sampling only while other work is pending, so a run ends.
      if (this.engine.pending > 0) this.engine.schedule((now + b) as TimePs, tick, 'sample');
      else this.sampler = false;
    };
    this.engine.schedule((Math.floor(this.engine.now / b) * b + b) as TimePs, tick, 'sample');
  }

  /**
   * Stops a run that can never finish: no access completed anywhere for LIVELOCK_WINDOW_PS of
   * simulated time while pages kept coming back to RAM to be taken again (at least
   * LIVELOCK_BOUNCES migrate_to_ram). That is two devices without a direct link taking the same
   * pages from each other faster than either can use them (thrashing mitigation off); with no
   * `duration` it would run for hours of wall time.
   */
  private watchdog(now: number): void {
    let accesses = this.cpuStats.accesses;
    for (const d of this.devices) accesses += d.metrics.accesses.local + d.metrics.accesses.remote + d.metrics.accesses.peer;
    if (accesses !== this.wdAccesses) {
      this.wdAccesses = accesses;
      this.wdSincePs = now;
      this.wdMigrateToRam = this.sys.stats.migrateToRam;
      this.wdRaised = this.devices.map((d) => d.metrics.faults.raised);
      return;
    }
    if (now - this.wdSincePs < LIVELOCK_WINDOW_PS) return;
    const bounces = this.sys.stats.migrateToRam - this.wdMigrateToRam;
    if (bounces < LIVELOCK_BOUNCES) return;
    const faulting = this.devices.filter((d, i) => d.metrics.faults.raised > (this.wdRaised[i] ?? 0)).map((d) => d.name);
    throw new SimRunError(`livelock: no access completed in ${LIVELOCK_WINDOW_PS / 1e12} s of simulated time while ${bounces} pages went back to RAM to be taken again (devices faulting: ${faulting.join(', ') || 'none'}); turn thrashing mitigation on (policies.thrashing: thrashing-uvm), give the devices a direct link, or cap the run with duration`);
  }

  /** Samples gauges and link bytes for the bucket ending at `now`. */
  private sample(now: number): void {
    const bucket = Math.max(0, Math.ceil(now / this.timeline.bucketPs) - 1);
    this.timeline.resident(CPU_NODE, bucket, this.sys.pages.systemInUse);
    for (const d of this.devices) this.timeline.resident(d.name, bucket, this.residentOf(d));
    for (const [seg, bytes] of this.transfers.carriedAt(now)) {
      const prev = this.sampledCarried.get(seg) ?? 0;
      if (bytes > prev) this.timeline.link(seg, bucket, Math.round(bytes) - Math.round(prev));
      this.sampledCarried.set(seg, bytes);
    }
  }

  private residentOf(d: TimedDevice): number {
    if (d instanceof HmmMirrorDevice || d instanceof PinningDevice) return d.mem?.allocated ?? 0;
    return 0;
  }

  /**
   * Calls `fn` with every fault batch record as its batch finishes, on every device, kept in
   * RunResults.batches or not (how `hetmem run --out` writes batches.csv without holding every
   * record). Observing only: `fn` must not change the record.
   */
  batchRecords(fn: (rec: BatchRecord) => void): void {
    for (const d of this.devices) {
      const log = batchLogOf(d);
      if (!log) continue;
      const prev = log.onRecord;
      log.onRecord = prev ? (r) => (prev(r), fn(r)) : fn;
    }
  }

  /** The results of the run so far. */
  results(name: string): RunResults {
    const endPs = this.endPs();
    const batches: BatchRecord[] = [];
    const logs: BatchLog[] = [];
    const latency = new LogHistogram();
    for (const d of this.devices) {
      d.finalizeMetrics();
      if (d instanceof HmmMirrorDevice || d instanceof SvaDevice || d instanceof PinningDevice) {
        appendAll(batches, d.records.kept);
        logs.push(d.records);
        latency.merge(d.latencies);
      }
    }
    batches.sort((a, b) => a.start_time - b.start_time || a.device.localeCompare(b.device) || a.batch - b.batch);
    const carried = this.transfers.carriedAt(endPs);
    const links: LinkMetrics[] = [];
    for (const seg of this.topology.segments) {
      const copyBytes = Math.round((carried.get(seg.id) ?? 0) + (this.syncCopyBytes.get(seg.id) ?? 0));
      const remoteBytes = Math.round(this.remoteBytes.get(seg.id) ?? 0);
      if (copyBytes + remoteBytes === 0) continue;
      links.push({
        id: seg.id, link: seg.link, kind: seg.kind, from: seg.from, to: seg.to,
        bandwidth: Number.isFinite(seg.bandwidth) ? seg.bandwidth : null,
        bytes: copyBytes + remoteBytes, copyBytes, remoteBytes,
        transfers: (this.transfers.transfersPerSegment.get(seg.id) ?? 0) + (this.syncCopies.get(seg.id) ?? 0),
      });
    }
    const buckets = Math.max(1, Math.ceil(endPs / this.timeline.bucketPs));
    const tl = this.timeline.finish(buckets);
    return {
      schema: RESULTS_SCHEMA_VERSION,
      name,
      seed: this.seed,
      endPs,
      events: this.engine.eventsRun,
      data: this.data,
      devices: this.devices.map((d) => d.metrics),
      links,
      cpu: {
        faults: this.cpuStats.faults, migrateToRam: this.sys.stats.migrateToRam, deviceMigrateToRam: this.deviceMigrateToRam,
        cow: this.sys.stats.cow, accesses: this.cpuStats.accesses, busyPs: this.cpuStats.busyPs, threads: this.cpuStats.threads,
        ...(this.cpuStats.jobWaitPs > 0 ? { jobWaitPs: this.cpuStats.jobWaitPs } : {}),
        numaMigrated: this.sys.stats.numaMigrated,
      },
      batches,
      batchSummary: batchSummary(logs),
      faultLatency: latency.toJSON(),
      timeline: { bucketPs: this.timeline.bucketPs, ...tl },
      spans: [...this.spanList],
      crossDevice: {
        owners: this.cross.owners, peerPages: this.cross.peerPages, migrateLock: this.cross.migrateLock,
        invalidation: this.cross.invalidation, sourcePeerMigrates: this.cross.sourcePeerMigrates, timeslicePs: this.cross.timeslicePs,
        // Owner groups of the devices (singletons left out): who reaches whose memory in place.
        groups: this.groups.groups.map((g) => g.members.filter((m) => this.byName.has(m))).filter((m) => m.length > 1),
        advice: this.adviceLog,
      },
    };
  }
}

/** A device's batch log (every driver has one; the check keeps TimedDevice free of it). */
function batchLogOf(d: TimedDevice): BatchLog | null {
  return d instanceof HmmMirrorDevice || d instanceof SvaDevice || d instanceof PinningDevice ? d.records : null;
}
