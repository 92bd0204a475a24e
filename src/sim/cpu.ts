// CPU phases: threads of a process touching memory through the CPU page tables. A touch that
// needs handle_mm_fault (first touch, COW, a device-private page coming back) pays a fault cost
// plus whatever synchronous work it triggered (migrate_to_ram copies, device TLB shootdowns).
// Threads advance in quanta like device lanes.
import type { TimePs } from '../units/time.ts';
import type { EventId } from '../engine/engine.ts';
import type { Process } from '../api/machine.ts';
import { PteType, pteType, pteHas, PTE_WRITE } from '../mm/pte.ts';
import { accessIsWrite, accessVpn, type CpuPhaseSpec } from './program.ts';
import type { SimMachine } from './machine.ts';
import { SimRunError } from './errors.ts';
import { migrateToRamArgs, type MigrateToRamNote } from './context.ts';
import { formatVpnRange } from '../units/vpn.ts';

/**
 * Cost of a CPU page fault that handle_mm_fault resolves without I/O, ps. ESTIMATE: a minor
 * fault on a modern x86 server is ~1 µs (zero-fill and COW included); not in anchors-uvm.md.
 */
export const CPU_FAULT_PS = 1_000_000;

interface Thread {
  time: number;
  done: boolean;
  /** Waiting for non-preemptible device jobs to end (an invalidation it made). */
  waiting: boolean;
  /** The thread's current run of plain page faults, not yet written as a slice. */
  faults: FaultRun | null;
}

/**
 * Consecutive faulting accesses of one thread that did no synchronous work (no migrate_to_ram,
 * no shootdown): one slice for the run, since a first-touch loop takes one fault per page and
 * a slice each would swamp the trace.
 */
interface FaultRun {
  start: number;
  end: number;
  faults: number;
  lo: number;
  hi: number;
}

/** Track of the page-fault slices of thread `i` of CPU phase `phase` in the trace. */
export function cpuFaultTrack(phase: string, i: number): string {
  return `cpu/${phase}/t${i}`;
}

/** A CPU phase in flight. */
export class CpuRun {
  private readonly threads: Thread[];
  private step: EventId | null = null;
  private live: number;
  private endPs = -1;
  private readonly waiters: ((t: number) => void)[] = [];
  private readonly startPs: number;

  constructor(readonly machine: SimMachine, readonly proc: Process, readonly spec: CpuPhaseSpec) {
    this.startPs = machine.engine.now;
    this.threads = spec.threads.map(() => ({ time: this.startPs, done: false, faults: null, waiting: false }));
    this.live = this.threads.length;
    machine.cpuStats.threads += this.threads.length;
  }

  onDone(cb: (t: number) => void): void {
    if (this.endPs >= 0) cb(this.endPs);
    else this.waiters.push(cb);
  }

  start(): void {
    if (this.live === 0) this.finish(this.startPs);
    else this.schedule(this.startPs);
  }

  private schedule(t: number): void {
    const e = this.machine.engine;
    this.step = e.schedule(Math.max(t, e.now) as TimePs, (now) => this.runStep(now), 'cpu:step');
  }

  /** True if the access needs no fault: the translation is present and allows it. */
  private mapped(vpn: number, write: boolean): boolean {
    const pt = this.proc.mm.pt;
    const pmd = pt.pmd(vpn);
    if (pmd && pmd.huge !== 0) return !write || pteHas(pmd.huge, PTE_WRITE);
    const e = pt.pte(vpn);
    return e !== 0 && pteType(e) === PteType.PRESENT && (!write || pteHas(e, PTE_WRITE));
  }

  private runStep(now: number): void {
    this.step = null;
    const m = this.machine;
    if (this.proc.exited) {
      // The process exited (or exec'd) under the phase: its threads are gone with it.
      for (const th of this.threads) th.done = true;
      if (this.live > 0) {
        this.live = 0;
        this.finish(now);
      }
      return;
    }
    const horizon = now + m.quantumPs;
    let next = Infinity;
    this.spec.threads.forEach((prog, i) => {
      const th = this.threads[i];
      if (th.done || th.waiting) return;
      if (th.time < now) th.time = now;
      while (th.time <= horizon) {
        const a = prog.next();
        if (a < 0) {
          this.flushFaults(th, i);
          th.done = true;
          if (--this.live === 0) this.finish(th.time);
          return;
        }
        const vpn = accessVpn(a), write = accessIsWrite(a);
        let cost = this.spec.computePs;
        const faulted = !this.mapped(vpn, write);
        if (faulted) {
          m.takeSyncPs();
          m.cpuStats.faults++;
          m.observer?.cpuFault(this.proc.mm.id, vpn, write, th.time);
          cost += CPU_FAULT_PS;
        }
        m.takeJobWaits();
        const pfn = this.proc.access(vpn, write);
        // Only a fault reaches migrate_to_ram (a device-private entry is never mapped).
        const m2r = faulted ? m.takeMigrateToRam() : null;
        const sync = m.takeSyncPs();
        cost += sync;
        if (m2r !== null) this.traceFault(th, i, th.time + this.spec.computePs, vpn, write, sync, m2r);
        else this.flushFaults(th, i);
        const waits = m.takeJobWaits();
        m.cpuStats.accesses++;
        if (typeof pfn === 'string') throw new SimRunError(`cpu phase ${this.spec.name}: ${pfn} at page 0x${vpn.toString(16)} (${write ? 'write' : 'read'}): the address is not mapped for that access`);
        if (prog.data === undefined) {
          if (write) m.storeWord('cpu', this.proc.mm, vpn, pfn);
        } else {
          // The thread's own fields (a node's pointers) and what its load read (LaneData).
          m.laneData = prog.data;
          if (write) m.storeWord('cpu', this.proc.mm, vpn, pfn);
          m.laneData = null;
          if (m.data) prog.data.loaded?.(pfn, vpn);
        }
        m.cpuStats.busyPs += cost;
        th.time += cost;
        if (waits.length > 0) {
          this.waitJobs(th, waits);
          return;
        }
      }
      next = Math.min(next, th.time);
    });
    if (this.live > 0 && next < Infinity && this.step === null) this.schedule(next);
  }

  /** `th` sleeps until every job in `jobs` has ended, then goes on from there. */
  private waitJobs(th: Thread, jobs: { onDone(cb: (t: number) => void): void }[]): void {
    th.waiting = true;
    let left = jobs.length;
    let until = th.time;
    for (const j of jobs) {
      j.onDone((end) => {
        until = Math.max(until, end);
        if (--left > 0) return;
        this.machine.cpuStats.jobWaitPs += until - th.time;
        th.time = until;
        th.waiting = false;
        // A step already pending picks the thread up (it reads every thread's time).
        if (this.step === null) this.schedule(Math.max(th.time, this.machine.engine.now));
      });
    }
  }

  /**
   * Records a fault at `start` (after the access's compute time) taking CPU_FAULT_PS + `sync`:
   * plain faults extend the thread's run; one that did synchronous work gets a slice of its own
   * with its migrate_to_ram calls inside, one after another after the fault's own cost.
   */
  private traceFault(th: Thread, i: number, start: number, vpn: number, write: boolean, sync: number, m2r: readonly MigrateToRamNote[]): void {
    const end = start + CPU_FAULT_PS + sync;
    if (sync === 0 && m2r.length === 0) {
      const run = th.faults;
      if (run) {
        run.end = end;
        run.faults++;
        run.lo = Math.min(run.lo, vpn);
        run.hi = Math.max(run.hi, vpn);
      } else th.faults = { start, end, faults: 1, lo: vpn, hi: vpn };
      return;
    }
    this.flushFaults(th, i);
    const spans = this.machine.spans, track = cpuFaultTrack(this.spec.name, i);
    spans(track, 'page fault', start, end - start, { phase: this.spec.name, range: formatVpnRange(vpn, 1), write: write ? 1 : 0, migrate_to_ram: m2r.length });
    let t = start + CPU_FAULT_PS;
    for (const d of m2r) {
      spans(track, 'migrate_to_ram', t, d.costPs, migrateToRamArgs(d));
      t += d.costPs;
    }
  }

  private flushFaults(th: Thread, i: number): void {
    const run = th.faults;
    if (!run) return;
    th.faults = null;
    this.machine.spans(cpuFaultTrack(this.spec.name, i), run.faults === 1 ? 'page fault' : 'page faults', run.start, run.end - run.start, {
      phase: this.spec.name, faults: run.faults, range: formatVpnRange(run.lo, run.hi - run.lo + 1),
    });
  }

  private finish(t: number): void {
    this.endPs = Math.max(t, this.machine.engine.now);
    this.machine.spans('cpu', this.spec.name, this.startPs, this.endPs - this.startPs, { threads: this.threads.length });
    this.machine.engine.schedule(this.endPs as TimePs, () => {
      for (const w of this.waiters.splice(0)) w(this.endPs);
    }, 'cpu:phase-end');
  }
}

