// A timed device: kernels run as lanes that issue accesses in order; the driver decides what an
// access costs or stalls the lane on a fault and wakes it at a replay.
//
// Lanes advance in quanta: one kernel step runs every runnable lane until it stalls, finishes,
// or gets `quantumPs` ahead of the step's start. Memory effects happen in step order, which is a
// valid interleaving; times inside a quantum are each lane's own. A smaller quantum is more
// exact and slower (default 1 µs, see SimOptions).
import type { TimePs } from '../units/time.ts';
import type { EventId } from '../engine/engine.ts';
import type { Mm } from '../mm/mm.ts';
import { mmdrop, mmget, mmgrab, mmput } from '../mm/mmap.ts';
import type { Route } from '../topology/routing.ts';
import { faultOf, schedOf, type FaultProfile, type Profile, type SchedProfile } from '../devices/profile/schema.ts';
import type { SchedPolicy } from '../policy/scheduler.ts';
import type { RunQueues, TaskSchedMetrics } from './scheduler.ts';
import { Tlb } from '../devices/tlb.ts';
import { accessIsWrite, accessVpn, LANE_BARRIER, type KernelSpec } from './program.ts';
import type { DeviceMetrics } from './results.ts';
import type { SimContext } from './context.ts';
import { newBatchRecord, newDeviceMetrics } from './metrics.ts';
import { coalesceFaults, type CoalescedFault, type FaultBuffer, type FaultEntry } from '../devices/fault-buffer.ts';
import type { BatchRecord } from './results.ts';

/** A device page table as `TimedDevice.largestMapping` reads it. */
export interface DeviceEntries {
  /** The entry of page `v` as pfn * 2 + writable, or undefined where nothing is mapped. */
  get(v: number): number | undefined;
  /** How many pages of the 2 MiB block `block` (vpn / 512) are mapped. */
  mappedInBlock(block: number): number;
}

/** Whether every page of [start, start + pages) is mapped; `start` and `pages` are whole 2 MiB blocks. */
function wholeBlocksMapped(table: DeviceEntries, start: number, pages: number): boolean {
  for (let b = start / 512; b < (start + pages) / 512; b++) if (table.mappedInBlock(b) < 512) return false;
  return true;
}

/** One lane of a running kernel. */
export interface Lane {
  /** Index in the device's lane table (fault entries name it). */
  readonly id: number;
  readonly run: KernelRun;
  /** Local time, ps: when the lane's next access starts. */
  time: number;
  /** Encoded access waiting to be retried after a fault, or -1. */
  pending: number;
  stalled: boolean;
  /** When the current stall began. */
  stalledAt: number;
  done: boolean;
  /** Waiting at its kernel's barrier (LANE_BARRIER) since `time`. */
  atBarrier: boolean;
}

/** A kernel in flight on a device. */
export class KernelRun {
  readonly lanes: Lane[] = [];
  private step: EventId | null = null;
  private stepAt = Infinity;
  private live: number;
  /** Live lanes waiting at the kernel-wide barrier (LANE_BARRIER). */
  private atBarrier = 0;
  endPs = -1;
  /** Faults its lanes raised (a kernel whose pages are all mapped already raises none). */
  faults = 0;
  private readonly waiters: ((t: number) => void)[] = [];
  /**
   * Whether the task holds its device and its lanes may run. Always true without a scheduler
   * (policy concurrent); under one, only between the run queue's activate and deactivate.
   */
  active = true;
  /** The last lane finished or was killed (the run may still be copying back). */
  lanesDone = false;
  /** Scheduler metrics; null under policy concurrent (no run queue). */
  sched: TaskSchedMetrics | null = null;
  /** The task holds an mm_users reference (mmget at bind); else an mm_count one (mmgrab). */
  holdsUsers = false;
  /** The device file closed under the task (its process exited): the driver stopped it. */
  stopped = false;
  /** Lanes stalled on a fault now. */
  private nStalled = 0;
  /** Since when every live lane has been stalled while the task held the device, or -1. */
  private allStalledSince = -1;
  private queuedSince = -1;
  private runningSince = -1;
  private chargedTo = -1;

  constructor(readonly device: TimedDevice, readonly spec: KernelSpec, readonly mm: Mm, readonly startPs: number) {
    this.stepLabel = `${device.name}:step`;
    this.live = spec.lanes.length;
  }

  /** @internal run queue: the task waits for its device from `t`. */
  markQueued(t: number): void {
    this.queuedSince = t;
  }

  /** @internal run queue: the task gets its device at `t` (its context loaded). */
  activate(t: number): void {
    if (this.queuedSince >= 0 && this.sched) this.sched.queuedPs += Math.max(0, t - this.queuedSince);
    this.queuedSince = -1;
    this.active = true;
    this.runningSince = this.chargedTo = t;
    let runnable = false;
    for (const lane of this.lanes) {
      if (lane.done) continue;
      lane.time = Math.max(lane.time, t);
      if (!lane.stalled) runnable = true;
    }
    if (runnable) this.schedule(t);
    else if (this.nStalled > 0) this.allStalledSince = t;
  }

  /** @internal run queue: the task loses its device at `t`; `queued`: it waits to run again. */
  deactivate(t: number, queued: boolean): void {
    this.markOff(t);
    this.active = false;
    if (this.step !== null) this.device.ctx.engine.cancel(this.step);
    this.step = null;
    this.stepAt = Infinity;
    if (queued) this.queuedSince = t;
  }

  /** @internal closes the running (and stalled) intervals at `t`. */
  markOff(t: number): void {
    if (this.runningSince >= 0 && this.sched) {
      this.sched.runningPs += Math.max(0, t - this.runningSince);
      // One span per turn on the device, on the device's run-queue track.
      this.device.ctx.spans(`${this.device.name}:run-queue`, this.spec.name, this.runningSince, Math.max(0, t - this.runningSince), { space: this.mm.id });
    }
    this.runningSince = -1;
    this.closeStall(t);
  }

  /** @internal device time used since the last charge, ps (fair share). */
  chargeSince(now: number): number {
    if (this.chargedTo < 0) return 0;
    const d = Math.max(0, now - this.chargedTo);
    this.chargedTo = this.runningSince >= 0 ? now : -1;
    return d;
  }

  private closeStall(t: number): void {
    if (this.allStalledSince >= 0 && this.sched) this.sched.stalledPs += Math.max(0, t - this.allStalledSince);
    this.allStalledSince = -1;
  }

  private noteStall(lane: Lane): void {
    this.nStalled++;
    if (this.nStalled === this.live && this.active) {
      this.allStalledSince = lane.time;
      this.device.queues?.allStalled(this, lane.time);
    }
  }

  /** Calls `cb` with the end time when the last lane finishes (at once if already done). */
  onDone(cb: (t: number) => void): void {
    if (this.endPs >= 0) cb(this.endPs);
    else this.waiters.push(cb);
  }

  /** Makes sure a step runs no later than `t`. */
  schedule(t: number): void {
    if (!this.active) return;
    const engine = this.device.ctx.engine;
    t = Math.max(t, engine.now);
    if (this.step !== null && this.stepAt <= t) return;
    if (this.step !== null) engine.cancel(this.step);
    this.stepAt = t;
    this.step = engine.schedule(t as TimePs, this.onStep, this.stepLabel);
  }

  /** The step event's handler and label, made once: a kernel reschedules its step after every replay. */
  private readonly onStep = (now: number): void => this.runStep(now);
  private readonly stepLabel: string;

  private runStep(now: number): void {
    this.step = null;
    this.stepAt = Infinity;
    if (!this.active) return;
    const d = this.device;
    const horizon = now + d.quantumPs;
    let next = Infinity;
    for (const lane of this.lanes) {
      if (lane.done || lane.stalled || lane.atBarrier) continue;
      if (lane.time < now) lane.time = now;
      if (lane.time > horizon) {
        next = Math.min(next, lane.time);
        continue;
      }
      while (lane.time <= horizon) {
        if (d.blockedUntil > lane.time) {
          d.metrics.time.stall += d.blockedUntil - lane.time;
          lane.time = d.blockedUntil;
          if (lane.time > horizon) break;
        }
        if (!this.mm.alive && !d.survivesExit) {
          // The address space was torn down under the task (it held only mm_count): the
          // driver's fault path finds no mm (mmget_not_zero fails) and the fault is fatal.
          d.mmGone(lane);
          break;
        }
        const prog = this.spec.lanes[lane.id - this.laneBase];
        const a = lane.pending >= 0 ? lane.pending : prog.next();
        if (a === LANE_BARRIER) {
          lane.atBarrier = true;
          this.atBarrier++;
          next = Math.min(next, this.releaseBarrier());
          break;
        }
        if (a < 0) {
          lane.done = true;
          if (--this.live === 0) this.finish(lane.time);
          else next = Math.min(next, this.releaseBarrier());
          break;
        }
        let cost: number;
        if (prog.data === undefined || !d.ctx.beginDataAccess(prog)) cost = d.access(lane, accessVpn(a), accessIsWrite(a), lane.time);
        else {
          // Bracketed rather than passed as a closure: one closure per access was most of what
          // a data-mode traversal allocated.
          cost = -1;
          try {
            cost = d.access(lane, accessVpn(a), accessIsWrite(a), lane.time);
          } finally {
            d.ctx.endDataAccess(prog, accessVpn(a), cost);
          }
        }
        if (cost < 0) {
          lane.pending = a;
          if (!lane.done) {
            lane.stalled = true;
            lane.stalledAt = lane.time;
            this.noteStall(lane);
          }
          break;
        }
        lane.pending = -1;
        d.metrics.time.busy += cost;
        lane.time += cost;
      }
      if (!lane.done && !lane.stalled) next = Math.min(next, lane.time);
    }
    if (next < Infinity) this.schedule(next);
  }

  /** First lane id of this kernel in the device's lane table. */
  laneBase = 0;

  /** @internal a kernel without lanes ends when it starts. */
  lanesFinished(t: number): void {
    this.finish(t);
  }

  /** Ends a lane that hit a fatal fault. */
  kill(lane: Lane): void {
    if (lane.done) return;
    if (lane.atBarrier) {
      lane.atBarrier = false;
      this.atBarrier--;
    }
    lane.done = true;
    if (lane.stalled) this.nStalled--;
    lane.stalled = false;
    if (--this.live === 0) this.finish(lane.time);
    else {
      const t = this.releaseBarrier();
      if (t < Infinity) this.schedule(t);
    }
  }

  /**
   * Releases the barrier once every live lane waits at it (a lane that finished or was killed
   * no longer counts, as a grid sync counts only the blocks still running): they all resume at
   * the latest arrival, each lane's local time being when it reached the barrier. Returns that
   * time, or Infinity while some live lane has not arrived. No cost beyond the wait: the lanes
   * pay for the bytes they read, and a grid barrier's own latency is below the quantum.
   */
  private releaseBarrier(): number {
    if (this.atBarrier === 0 || this.atBarrier < this.live) return Infinity;
    let t = 0;
    for (const lane of this.lanes) if (lane.atBarrier) t = Math.max(t, lane.time);
    for (const lane of this.lanes) {
      if (!lane.atBarrier) continue;
      lane.atBarrier = false;
      lane.time = t;
    }
    this.atBarrier = 0;
    return t;
  }

  /** Resumes a stalled lane at time `t`. */
  wake(lane: Lane, t: number): void {
    if (!lane.stalled) return;
    lane.stalled = false;
    this.nStalled--;
    this.closeStall(t);
    this.device.metrics.time.stall += Math.max(0, t - lane.stalledAt);
    lane.time = Math.max(lane.time, t);
    if (this.active) this.schedule(lane.time);
    else this.device.queues?.woken(this, t);
  }

  private finish(t: number): void {
    const lanesDone = Math.max(t, this.device.ctx.engine.now);
    this.lanesDone = true;
    this.device.queues?.finished(this, lanesDone);
    this.device.kernelDone(this, lanesDone, (end) => {
      this.endPs = end;
      for (const w of this.waiters.splice(0)) w(end);
    });
  }
}

/**
 * Base of the three driver kinds. Subclasses implement `access` (cost of one access in ps, or
 * -1 when the lane stalls on a fault the driver will resolve) and may override `launch` hooks.
 */
export abstract class TimedDevice {
  /** The fault section of the profile; only drivers whose device faults read it (see faultOf). */
  get fault(): FaultProfile {
    return faultOf(this.profile);
  }
  readonly metrics: DeviceMetrics;
  readonly tlb: Tlb;
  /** Live lanes by id (fault entries refer to them). Ids are never reused, so a stale entry finds nothing. */
  protected readonly laneTable = new Map<number, Lane>();
  private nextLaneId = 0;
  /** Lanes stall until this time (TLB shootdowns), ps. */
  blockedUntil = 0;
  /** Running kernels. */
  readonly running = new Set<KernelRun>();
  /**
   * Distinct (space, vpn) touched, for per-device access tracking: a 512-bit bitmap per touched
   * 2 MiB block, keyed by space * 2^27 + vpn / 512. A Set of every page cost a hash insert per
   * new page (9-17% of streaming runs) and tens of bytes per page.
   */
  private readonly touched = new Map<number, Uint32Array>();
  readonly quantumPs: number;
  /** How kernels share this device (scenario device `scheduler.policy`; default concurrent). */
  schedPolicy: SchedPolicy = 'concurrent';
  /** The machine's run queues, set when this device's policy is not concurrent. */
  queues: RunQueues | null = null;
  /** The profile's scheduler properties (defaults applied). */
  readonly schedProfile: SchedProfile;
  /** Context loads and preemption saves on this device, ps (under a scheduler). */
  switchPs = 0;

  constructor(
    readonly ctx: SimContext,
    readonly index: number,
    readonly name: string,
    readonly profile: Profile,
    quantumPs: number,
  ) {
    this.metrics = newDeviceMetrics(name, profile.name, profile.driver);
    this.tlb = new Tlb(profile.tlb.entries, profile.memory.pageSizes.map((b) => b / 4096));
    this.quantumPs = quantumPs;
    this.schedProfile = schedOf(profile);
  }

  /** Topology node of this device. */
  get node(): string {
    return this.ctx.nodeOf(this.index);
  }

  /** Cost of one access by `lane` at time `t`, ps, or -1 when the lane stalls. */
  abstract access(lane: Lane, vpn: number, write: boolean, t: number): number;

  /** Starts `spec` in address space `mm` at the current time; returns the run. */
  launch(spec: KernelSpec, mm: Mm): KernelRun {
    const now = this.ctx.engine.now;
    const run = new KernelRun(this, spec, mm, now);
    // Binding the task to the address space: an mm user (mmget) or a reference to the struct only.
    run.holdsUsers = this.schedProfile.holdsMmUsers;
    if (run.holdsUsers) mmget(mm);
    else mmgrab(mm);
    run.laneBase = this.nextLaneId;
    this.nextLaneId += spec.lanes.length;
    this.metrics.lanes += spec.lanes.length;
    for (let i = 0; i < spec.lanes.length; i++) {
      const lane: Lane = { id: run.laneBase + i, run, time: now, pending: -1, stalled: false, stalledAt: now, done: false, atBarrier: false };
      this.laneTable.set(lane.id, lane);
      run.lanes.push(lane);
    }
    this.running.add(run);
    if (this.queues) run.active = false;
    this.prepare(run, (t) => {
      for (const lane of run.lanes) lane.time = t;
      if (spec.lanes.length === 0) run.lanesFinished(t);
      else if (this.queues) this.queues.submit(run, t);
      else run.schedule(t);
    });
    return run;
  }

  /**
   * Work before the lanes start (the pinning driver registers and copies buffers); calls
   * `start(t)` with the time the lanes begin. Default: at once.
   */
  protected prepare(_run: KernelRun, start: (t: number) => void): void {
    start(this.ctx.engine.now);
  }
  /** Work after the last lane finished (copy-back); calls `done(t)` when the kernel is over. */
  protected complete(_run: KernelRun, t: number, done: (t: number) => void): void {
    done(t);
  }

  /** Live lane by id, or undefined once its kernel ended. */
  lane(id: number): Lane | undefined {
    return this.laneTable.get(id);
  }

  /** Wakes every stalled lane at time `t` (a fault replay). */
  replayAll(t: number): void {
    for (const run of this.running) for (const lane of run.lanes) if (lane.stalled) run.wake(lane, t);
  }

  /** @internal called by KernelRun when its last lane finishes at `t`. */
  kernelDone(run: KernelRun, t: number, done: (end: number) => void): void {
    this.running.delete(run);
    for (const lane of run.lanes) this.laneTable.delete(lane.id);
    this.complete(run, t, (end) => {
      // The task is over: its reference goes (the last mm_users one runs exit_mmap).
      if (run.holdsUsers) mmput(run.mm);
      else mmdrop(run.mm);
      this.metrics.kernels.push(run.sched
        ? { name: run.spec.name, startPs: run.startPs, endPs: end, lanes: run.lanes.length, faults: run.faults, sched: { ...run.sched }, ...(run.stopped ? { stopped: true } : {}) }
        : { name: run.spec.name, startPs: run.startPs, endPs: end, lanes: run.lanes.length, faults: run.faults, ...(run.stopped ? { stopped: true } : {}) });
      this.ctx.spans(this.name, run.spec.name, run.startPs, end - run.startPs, { lanes: run.lanes.length, faults: run.faults });
      // Lanes run ahead of the engine within a quantum: tell waiters at the kernel's real end.
      this.ctx.engine.schedule(Math.max(end, this.ctx.engine.now) as TimePs, () => done(end), `${this.name}:kernel-end`);
    });
  }

  /**
   * Whether the device keeps working on pages it pinned after the address space is gone (the
   * pinning driver in pin mode: pinned pages outlive exit_mmap until the registration goes).
   */
  get survivesExit(): boolean {
    return false;
  }

  /** A lane of a task whose address space was torn down touched memory: a fatal fault. */
  mmGone(lane: Lane): void {
    this.countFault(lane, lane.time);
    this.metrics.faults.fatal++;
    lane.run.kill(lane);
  }

  /**
   * The process's device file closes (exit_files at exit): the driver stops the process's tasks
   * (running and queued: their lanes end where they are, the kernel records them as stopped)
   * and lets go of its binding to the address space (`unbind`).
   */
  closeFile(mm: Mm): void {
    for (const run of [...this.running]) {
      if (run.mm !== mm) continue;
      run.stopped = true;
      for (const lane of run.lanes) run.kill(lane);
    }
    this.unbind(mm);
  }

  /** Drops the driver's binding to `mm` (notifier subscription, its mmgrab). Default: none. */
  protected unbind(_mm: Mm): void {}

  /** Lanes whose fault a full queue dropped: they retry at the next answer or replay. */
  protected readonly overflowed = new Set<number>();

  /** Counts `entry` as raised by `lane` and queues it; a full `queue` drops it (the lane retries). */
  protected raiseFault(queue: FaultBuffer, lane: Lane, entry: FaultEntry): void {
    this.countFault(lane, entry.time);
    this.ctx.observer?.deviceFault(this.index, entry);
    if (!queue.push(entry)) {
      this.metrics.faults.overflows++;
      this.overflowed.add(lane.id);
    }
  }

  /**
   * Resumes stalled lanes at `now`: with `answered`, only the lanes of those faults (a per-fault
   * answer: a PRI response, Xe's fault reply, an ODP QP resume); with null, every stalled lane
   * (a replay). Lanes whose fault a full queue dropped retry either way.
   */
  protected resumeLanes(now: number, answered: readonly FaultEntry[] | null): void {
    if (answered === null) {
      this.overflowed.clear();
      this.replayAll(now);
      return;
    }
    const ids = new Set([...answered.map((e) => e.lane), ...this.overflowed]);
    this.overflowed.clear();
    for (const id of ids) {
      const lane = this.lane(id);
      if (lane?.stalled) lane.run.wake(lane, now);
    }
  }

  /** Counts a fault `lane` raised at `t`: the device's, its kernel's and the timeline's. */
  protected countFault(lane: Lane, t: number): void {
    this.metrics.faults.raised++;
    lane.run.faults++;
    this.ctx.timeline.fault(this.name, t);
  }

  /** Records that this device touched `vpn` of `space`. */
  protected noteTouch(space: number, vpn: number): void {
    const block = space * 2 ** 27 + Math.floor(vpn / 512), bit = vpn % 512;
    let bits = this.touched.get(block);
    if (bits === undefined) {
      bits = new Uint32Array(16);
      this.touched.set(block, bits);
    }
    const word = bit >>> 5, mask = 1 << (bit & 31);
    if ((bits[word] & mask) === 0) {
      bits[word] |= mask;
      this.metrics.pagesTouched++;
    }
  }

  /** Counts one access to a peer's memory in place of `bytes`, by the kind of route it took. */
  protected notePeerAccess(route: Route | null, bytes: number): void {
    this.metrics.accesses.peer++;
    const kind = route?.kind ?? 'none';
    const p = this.metrics.peerPaths[kind] ?? (this.metrics.peerPaths[kind] = { accesses: 0, bytes: 0 });
    p.accesses++;
    p.bytes += bytes;
  }

  /**
   * An invalidation of `space` reached this device: if it cannot preempt a job (profile
   * scheduler.preemptible false), whoever invalidates waits until the running jobs of that
   * address space end. Timing only: the model applies the invalidation at once. The device's
   * own fault handling never waits for itself (its job is stalled on that fault).
   */
  protected waitForJobs(space: number): void {
    if (this.schedProfile.preemptible || this.ctx.actor === this.index) return;
    for (const run of this.running) if (run.mm.id === space && run.active && !run.lanesDone) this.ctx.waitForJob(run);
  }

  /** A shootdown of this device's TLB for [start, end) of `space`, charged to its lanes. */
  shootdown(space: number, start: number, end: number): void {
    // A device that cannot preempt a job cannot update the page table under it: whoever
    // invalidates waits until the running job of that address space ends (profile
    // scheduler.preemptible false). Timing only: the model applies the invalidation now.
    this.waitForJobs(space);
    this.tlb.invalidate(space, start, end);
    const cost = this.profile.tlb.invalidationCost;
    this.metrics.time.invalidation += cost;
    this.blockedUntil = Math.max(this.blockedUntil, this.ctx.engine.now) + cost;
    // The CPU side waits for the shootdown to complete before it goes on.
    this.ctx.chargeShootdown(cost);
  }

  /**
   * Opens batch number `no` over `entries` fetched at `t0`: its uvm-eval record, the coalesced
   * pages, the counters. The driver runs core code from here on (sync costs reset, actor set).
   */
  protected openBatch(entries: FaultEntry[], no: number, t0: number): { rec: BatchRecord; pages: CoalescedFault[] } {
    const rec = newBatchRecord(this.name, no, t0);
    this.ctx.observer?.batch(this.index, no, t0, entries);
    this.metrics.batches++;
    rec.cached_faults = entries.length;
    const { pages, coalesced } = coalesceFaults(entries, this.fault.coalesceDuplicates);
    rec.coalesced_faults = coalesced;
    this.metrics.faults.coalesced += coalesced;
    this.ctx.takeSyncPs();
    this.ctx.actor = this.index;
    return { rec, pages };
  }

  /** Cost of a TLB lookup for (space, vpn), ps; a miss caches the translation at mappingPages. */
  protected tlbCost(space: number, vpn: number): number {
    if (this.tlb.hit(space, vpn)) return 0;
    this.tlb.fill(space, vpn, this.mappingPages(space, vpn));
    return this.profile.tlb.missCost;
  }

  /**
   * Size, in 4 KiB pages, of the translation the device's page table holds for (space, vpn):
   * the largest of the profile's memory.pageSizes the mapping allows. Asked on a TLB miss of a
   * mapped page. Default: 4 KiB.
   */
  protected mappingPages(_space: number, _vpn: number): number {
    return 1;
  }

  /**
   * Largest of the profile's page sizes (4 KiB pages) whose aligned chunk around `vpn` maps a
   * physically contiguous, equally aligned run with one permission: `table.get(v)` gives the
   * device page-table entry of v as pfn * 2 + writable, or undefined where nothing is mapped.
   * This is the rule a GPU MMU's big and huge pages follow (a 64 KiB or 2 MiB PTE maps an
   * aligned contiguous physical range). A chunk of whole 2 MiB blocks is ruled out by the
   * blocks' mapped counts before any entry is read: a streaming kernel misses the TLB on every
   * page of a block it is still filling, and reading the block's entries up to the first hole
   * each time made the lookup quadratic in the block's pages.
   */
  protected largestMapping(vpn: number, table: DeviceEntries): number {
    const sizes = this.tlb.sizes;
    const e = table.get(vpn);
    if (e === undefined) return 1;
    const delta = Math.floor(e / 2) - vpn, w = e % 2;
    for (let i = sizes.length - 1; i > 0; i--) {
      const s = sizes[i], start = vpn - (vpn % s);
      if ((start + delta) % s !== 0) continue;
      if (s % 512 === 0 && !wholeBlocksMapped(table, start, s)) continue;
      let ok = true;
      for (let v = start; v < start + s && ok; v++) {
        const x = table.get(v);
        ok = x !== undefined && Math.floor(x / 2) - v === delta && x % 2 === w;
      }
      if (ok) return s;
    }
    return 1;
  }

  /** Copies metrics that live in components into `metrics`. */
  finalizeMetrics(): void {
    this.metrics.tlb = { ...this.tlb.stats };
    const blocks = [...this.touched.keys()].sort((a, b) => a - b);
    const runs: { space: number; start: number; end: number }[] = [];
    for (const block of blocks) {
      const space = Math.floor(block / 2 ** 27), base = (block - space * 2 ** 27) * 512;
      const bits = this.touched.get(block)!;
      for (let bit = 0; bit < 512; bit++) {
        if ((bits[bit >>> 5] & (1 << (bit & 31))) === 0) continue;
        const vpn = base + bit;
        const last = runs[runs.length - 1];
        if (last && last.space === space && last.end === vpn) last.end++;
        else runs.push({ space, start: vpn, end: vpn + 1 });
      }
    }
    this.metrics.touched = runs;
  }
}
