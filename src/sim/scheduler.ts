// Per-device run queues for off-CPU tasks: which kernel holds a device, for how long, and what
// a switch costs. The decisions are src/policy/scheduler.ts's pure functions; this file carries
// them out on the engine: it activates and deactivates kernel runs, times slices, charges the
// profile's context-switch and preemption costs, and keeps each task's queued / running /
// stalled / preempted times.
//
// A job is one kernel, or, under gang scheduling, the kernels launched with one gang name on
// several devices: they start together (when every member has been launched and all their
// devices are free) and are switched out together. Not modelled from a kernel: Linux has no
// off-CPU scheduler; the costs are the device profile's (`scheduler:` section, sources there).
import type { TimePs } from '../units/time.ts';
import type { EventId } from '../engine/engine.ts';
import { planStarts, shouldPreempt, type SchedJob, type SchedPolicy } from '../policy/scheduler.ts';
import type { KernelRun, TimedDevice } from './device.ts';

/** Per-task scheduler metrics, ps (integers). Kept in the device's kernel records. */
export interface TaskSchedMetrics {
  /** Runnable and waiting for the device (before its first slice, after a preemption). */
  queuedPs: number;
  /** Holding the device (slices, from the end of the context switch to the switch out or end). */
  runningPs: number;
  /** Holding the device with every live lane stalled on a fault (fault-and-stall's idle engine). */
  stalledPs: number;
  /** Switched out at a slice end while it still had work. */
  preemptions: number;
  /** Switched out because every lane stalled on faults (fault-and-switch). */
  faultSwitches: number;
}

type JobState = 'forming' | 'waiting' | 'running' | 'blocked' | 'done';

class Job {
  readonly members: KernelRun[] = [];
  state: JobState = 'forming';
  order = 0;
  slice: EventId | null = null;
  constructor(readonly id: number, readonly size: number, readonly priority: number, readonly owner: number, readonly policy: SchedPolicy) {}
  get live(): KernelRun[] {
    return this.members.filter((m) => m.endPs < 0 && !m.lanesDone);
  }
  view(): SchedJob {
    return { id: this.id, devices: this.live.map((m) => m.device.index), order: this.order, priority: this.priority, owner: this.owner };
  }
}

/**
 * The run queues of every device whose scheduling policy is not `concurrent`. One instance per
 * machine, so gang jobs can span devices. Times are integer ps on the engine clock.
 */
export class RunQueues {
  private readonly jobs: Job[] = [];
  private readonly gangs = new Map<string, Job>();
  private readonly byRun = new Map<KernelRun, Job>();
  /** The job holding each device (device index), if any. */
  private readonly holder = new Map<number, Job>();
  /** When each device can next start a context (after a preemption's state save), ps. */
  private readonly freeAt = new Map<number, number>();
  /** The job whose context each device last ran (resuming it needs no context switch). */
  private readonly lastJob = new Map<number, Job>();
  /** Device time each owner (address space) received, ps: fair share reads it. */
  private readonly used = new Map<number, number>();
  private seq = 0;
  private nextId = 0;
  private pendingDispatch = false;

  constructor(private readonly devices: readonly TimedDevice[]) {}

  private get engine() {
    return this.devices[0].ctx.engine;
  }

  /**
   * A kernel run ready to start at `t` (its driver's preparation done): queues it as a job of its
   * own or as a member of gang `gang` of `gangSize` kernels.
   */
  submit(run: KernelRun, t: number): void {
    const s = run.spec.sched ?? {};
    const policy = run.device.schedPolicy;
    let job: Job;
    if (s.gang !== undefined && policy === 'gang') {
      const key = `${run.mm.id}:${s.gang}`;
      job = this.gangs.get(key) ?? new Job(this.nextId++, s.gangSize ?? 1, s.priority ?? 0, run.mm.id, policy);
      this.gangs.set(key, job);
      if (job.members.length + 1 >= job.size) this.gangs.delete(key);
    } else {
      job = new Job(this.nextId++, 1, s.priority ?? 0, run.mm.id, policy);
    }
    if (!this.jobs.includes(job)) this.jobs.push(job);
    job.members.push(run);
    this.byRun.set(run, job);
    run.sched = { queuedPs: 0, runningPs: 0, stalledPs: 0, preemptions: 0, faultSwitches: 0 };
    run.markQueued(Math.max(t, this.engine.now));
    if (job.members.length >= job.size) {
      job.state = 'waiting';
      job.order = this.seq++;
      this.dispatchAt(t);
    }
  }

  /** A member's lanes all finished (or were killed) at `t`: frees its device. */
  finished(run: KernelRun, t: number): void {
    const job = this.byRun.get(run);
    if (!job) return;
    run.markOff(t);
    const dev = run.device.index;
    if (this.holder.get(dev) === job) this.holder.delete(dev);
    if (job.live.length === 0) {
      job.state = 'done';
      if (job.slice !== null) this.engine.cancel(job.slice);
      job.slice = null;
      this.jobs.splice(this.jobs.indexOf(job), 1);
    }
    this.dispatchAt(t);
  }

  /**
   * Every live lane of `run` stalled on a fault at `t`. Under fault-and-switch (profile
   * scheduler.faultSwitch) the job is switched out if another waits for its device; it queues
   * again when a lane is woken.
   */
  allStalled(run: KernelRun, t: number): void {
    const job = this.byRun.get(run);
    if (!job || job.state !== 'running' || job.members.length !== 1) return;
    const dev = run.device;
    if (!dev.schedProfile.faultSwitch) return;
    const rivals = this.jobs.some((j) => j.state === 'waiting' && j.view().devices.includes(dev.index));
    if (!rivals) return;
    run.sched!.faultSwitches++;
    this.switchOut(job, t, 'blocked');
    this.dispatchAt(t);
  }

  /** A lane of `run` was woken at `t` (a replay): a job switched out on its faults queues again. */
  woken(run: KernelRun, t: number): void {
    const job = this.byRun.get(run);
    if (!job || job.state !== 'blocked') return;
    job.state = 'waiting';
    job.order = this.seq++;
    run.markQueued(t);
    this.dispatchAt(t);
  }

  /** Whether `run` may run now (holds its device). */
  isRunning(run: KernelRun): boolean {
    return this.byRun.get(run)?.state === 'running';
  }

  private dispatchAt(t: number): void {
    if (this.pendingDispatch) return;
    this.pendingDispatch = true;
    this.engine.schedule(Math.max(t, this.engine.now) as TimePs, (now) => {
      this.pendingDispatch = false;
      this.dispatch(now);
    }, 'sched:dispatch');
  }

  /** Starts waiting jobs on free devices, policy by policy (a job's devices share one policy). */
  private dispatch(now: number): void {
    const policies = new Set(this.jobs.filter((j) => j.state === 'waiting').map((j) => j.policy));
    for (const policy of policies) {
      const free = new Set(this.devices.filter((d) => d.schedPolicy === policy && !this.holder.has(d.index)).map((d) => d.index));
      const waiting = this.jobs.filter((j) => j.state === 'waiting' && j.policy === policy);
      const starts = planStarts(policy, free, waiting.map((j) => j.view()), this.used);
      for (const id of starts) this.start(waiting.find((j) => j.id === id)!, now);
    }
  }

  /** Gives `job` its devices at `now`: after any state save still in progress and a context switch. */
  private start(job: Job, now: number): void {
    const live = job.live;
    let at = now;
    for (const m of live) {
      const d = m.device.index;
      const switchPs = this.lastJob.get(d) === job ? 0 : m.device.schedProfile.contextSwitchPs;
      at = Math.max(at, (this.freeAt.get(d) ?? 0) + switchPs, now + switchPs);
    }
    job.state = 'running';
    for (const m of live) {
      this.holder.set(m.device.index, job);
      this.lastJob.set(m.device.index, job);
      m.device.switchPs += at - now;
      m.activate(at);
    }
    this.armSlice(job, at);
  }

  private armSlice(job: Job, from: number): void {
    const slice = Math.min(...job.live.map((m) => m.device.schedProfile.timeslicePs));
    if (job.slice !== null) this.engine.cancel(job.slice);
    job.slice = null;
    if (!Number.isFinite(slice)) return;
    job.slice = this.engine.schedule((from + slice) as TimePs, (now) => this.sliceEnd(job, now), 'sched:slice');
  }

  /** A slice of `job` ended at `now`: charge it, then preempt it or give it another slice. */
  private sliceEnd(job: Job, now: number): void {
    job.slice = null;
    if (job.state !== 'running') return;
    this.charge(job, now);
    const waiting = this.jobs.filter((j) => j.state === 'waiting' && j.policy === job.policy).map((j) => j.view());
    const preemptible = job.live.every((m) => m.device.schedProfile.preemptible);
    if (preemptible && shouldPreempt(job.policy, job.view(), waiting, this.used)) {
      for (const m of job.live) m.sched!.preemptions++;
      this.switchOut(job, now, 'waiting');
      this.dispatch(now);
    } else {
      this.armSlice(job, now);
    }
  }

  /** Adds the device time `job` used since its last charge to its owner's share. */
  private charge(job: Job, now: number): void {
    for (const m of job.live) this.used.set(job.owner, (this.used.get(job.owner) ?? 0) + m.chargeSince(now));
  }

  /**
   * Takes `job` off its devices at `t`: its lanes stop where they are; a preemption (a job still
   * with work, switched out) costs each device the profile's preemptionPs to save its state.
   */
  private switchOut(job: Job, t: number, to: 'waiting' | 'blocked'): void {
    this.charge(job, t);
    if (job.slice !== null) this.engine.cancel(job.slice);
    job.slice = null;
    job.state = to;
    if (to === 'waiting') job.order = this.seq++;
    for (const m of job.live) {
      const d = m.device.index;
      this.holder.delete(d);
      const save = m.device.schedProfile.preemptionPs;
      this.freeAt.set(d, t + save);
      m.device.switchPs += save;
      m.deactivate(t, to === 'waiting');
    }
  }
}
