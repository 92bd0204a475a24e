// The batch scheduler of off-CPU tasks (device kernels, queues, contexts) as pure decisions: which
// waiting job a free device takes, and whether a running job gives way at the end of its time
// slice. The timed side (src/sim/scheduler.ts) carries the decisions out and charges the context
// switch and preemption costs of the device profile.
//
// Not modelled from a kernel: Linux has no scheduler for off-CPU tasks (the 2015 kernel-summit
// question this answers). The policies are the classic batch ones: FIFO run to completion,
// priority with round robin among equals (CUDA stream priorities, AMD queue priorities), fair
// share between processes (least device time first, as CFS picks the least vruntime), and gang
// scheduling of one job across several devices (all its kernels run in the same slices).

/** Scheduling policies of a device's run queue. */
export const SCHED_POLICIES = ['concurrent', 'fifo', 'priority', 'fair', 'gang'] as const;
/**
 * concurrent: no scheduler, every launched kernel runs at once (what hetmem did before, and the
 * default, so existing results do not change); fifo: one job at a time, in arrival order, to
 * completion; priority: the highest priority first, equal priorities round robin at slice ends;
 * fair: the process with the least device time so far, round robin at slice ends; gang: jobs
 * spanning several devices start and stop on all of them together.
 */
export type SchedPolicy = (typeof SCHED_POLICIES)[number];

/**
 * A job waiting for or holding devices. Invariants: `devices` non-empty and distinct; `order` a
 * sequence number (arrival, or requeue after a slice or a fault switch: a job requeued goes
 * behind everyone waiting); `owner` the address space whose fair share it draws on.
 */
export interface SchedJob {
  readonly id: number;
  readonly devices: readonly number[];
  readonly order: number;
  readonly priority: number;
  readonly owner: number;
}

/**
 * Device time each owner has received so far, ps (fair share reads it; the others ignore it).
 * Lookups of an owner not in the map read 0.
 */
export type Usage = ReadonlyMap<number, number>;

/** Negative when `a` goes before `b` under `policy`. A total order (ties broken by order, then id). */
export function compareJobs(policy: SchedPolicy, a: SchedJob, b: SchedJob, used: Usage): number {
  if (policy === 'priority' && a.priority !== b.priority) return b.priority - a.priority;
  if (policy === 'fair') {
    const ua = used.get(a.owner) ?? 0, ub = used.get(b.owner) ?? 0;
    if (ua !== ub) return ua - ub;
  }
  return a.order - b.order || a.id - b.id;
}

/**
 * Which waiting jobs start on the devices in `free`: jobs are taken in policy order, each one
 * whose devices are all free (and neither given to nor wanted by a job before it) starts. A job is
 * therefore never passed over by one behind it in order for a device it wants: once the jobs
 * before it have run it starts (gang: all running jobs are requeued at every slice end, so a
 * waiting job moves up each slice). Returns the ids, in the order taken.
 */
export function planStarts(policy: SchedPolicy, free: ReadonlySet<number>, waiting: readonly SchedJob[], used: Usage): number[] {
  const left = new Set(free);
  const out: number[] = [];
  for (const j of [...waiting].sort((a, b) => compareJobs(policy, a, b, used))) {
    if (!j.devices.every((d) => left.has(d))) {
      // A job that cannot start keeps the devices it could already have from jobs behind it, so
      // narrower jobs cannot keep a gang from ever finding all its devices free at once. (With
      // one device per job this reserves nothing: a blocked job's device is busy.)
      for (const d of j.devices) left.delete(d);
      continue;
    }
    for (const d of j.devices) left.delete(d);
    out.push(j.id);
  }
  return out;
}

/**
 * At the end of `running`'s slice, with `waiting` jobs that want its devices: does it give way?
 * FIFO never preempts; priority and fair do when a waiting job would go before the running one
 * requeued behind everyone (so equals take turns); gang always does when anyone waits (every
 * slice is re-planned).
 */
export function shouldPreempt(policy: SchedPolicy, running: SchedJob, waiting: readonly SchedJob[], used: Usage): boolean {
  if (policy === 'concurrent' || policy === 'fifo') return false;
  const rivals = waiting.filter((w) => w.devices.some((d) => running.devices.includes(d)));
  if (rivals.length === 0) return false;
  if (policy === 'gang') return true;
  const requeued: SchedJob = { ...running, order: Number.MAX_SAFE_INTEGER };
  return rivals.some((w) => compareJobs(policy, w, requeued, used) < 0);
}
