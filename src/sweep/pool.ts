// A pool of child processes running points, one per core by default. Children (not worker
// threads) so a point's memory is returned when it ends, a crash takes only its child, and the
// parent's event loop stays free for progress and for a BullMQ worker's lock renewals. The same
// pool runs faultbench's (measure, profile) jobs (faultbench/jobs.ts): a pool's kind, passed to
// its children, says which of the two they run.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SweepRunError } from './errors.ts';
import type { PointPayload } from './load.ts';
import type { PointResult } from './point.ts';
import type { FaultbenchJob } from '../faultbench/jobs.ts';
import type { MeasureTable } from '../faultbench/types.ts';

/** What a pool's children run, by the pool's kind: what each is sent and what it answers. */
export interface PoolTasks {
  readonly point: { readonly payload: PointPayload; readonly result: PointResult };
  readonly faultbench: { readonly payload: FaultbenchJob; readonly result: MeasureTable };
}
/** A pool's kind: the children's argument (child.ts). */
export type PoolKind = keyof PoolTasks;

/** How a task is named when its process dies under it. */
const TASK_NAME: { readonly [K in PoolKind]: (p: PoolTasks[K]['payload']) => string } = {
  point: (p) => `point ${p.index}`,
  faultbench: (j) => `faultbench ${j.measure} on ${j.profile.name}`,
};

// Compiled (dist/, the package) children run child.js as they are; from the sources (a checkout
// whose src/ is newer than dist/) they run child.ts through tsx, a dev dependency only then.
const COMPILED = import.meta.url.endsWith('.js');
const CHILD = fileURLToPath(new URL(COMPILED ? './child.js' : './child.ts', import.meta.url));
const childExecArgv = (): string[] => (COMPILED ? [] : ['--import', createRequire(import.meta.url).resolve('tsx')]);

type Reply<K extends PoolKind> = { ready: true } | { ok: true; result: PoolTasks[K]['result'] } | { ok: false; error: string };

interface Job<K extends PoolKind> {
  readonly p: PoolTasks[K]['payload'];
  readonly resolve: (r: PoolTasks[K]['result']) => void;
  readonly reject: (e: Error) => void;
}

interface Slot<K extends PoolKind> {
  readonly child: ChildProcess;
  ready: Promise<void>;
  busy: Job<K> | null;
}

/** Default pool size: every core. */
export function defaultJobs(): number {
  return availableParallelism();
}

/**
 * Runs tasks of one kind (default: sweep points) on `size` child processes; `run` queues a task
 * and resolves with its result.
 */
export class LocalPool<K extends PoolKind = 'point'> {
  private readonly slots: Slot<K>[] = [];
  private readonly queue: Job<K>[] = [];
  private closed = false;

  constructor(readonly size: number = defaultJobs(), readonly kind: K = 'point' as K) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
  }

  private spawn(): Slot<K> {
    const child = fork(CHILD, [this.kind], { execArgv: childExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    let ready!: () => void;
    const slot: Slot<K> = { child, ready: new Promise((r) => (ready = r)), busy: null };
    child.on('message', (m: Reply<K>) => {
      if ('ready' in m) {
        ready();
        return;
      }
      const job = slot.busy;
      slot.busy = null;
      if (job) {
        if (m.ok) job.resolve(m.result);
        else job.reject(new SweepRunError(m.error));
      }
      this.pump();
    });
    child.on('exit', (code, signal) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      if (slot.busy) slot.busy.reject(new SweepRunError(`${(TASK_NAME[this.kind] as (p: PoolTasks[K]['payload']) => string)(slot.busy.p)}: its process exited (${signal ?? `code ${code}`})`));
      slot.busy = null;
      if (!this.closed) this.pump();
    });
    this.slots.push(slot);
    return slot;
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let slot = this.slots.find((s) => s.busy === null);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.busy = job;
      const s = slot;
      void s.ready.then(() => s.child.send(job.p));
    }
  }

  /** Runs one task on a free child (queued until one is free). */
  run(p: PoolTasks[K]['payload']): Promise<PoolTasks[K]['result']> {
    if (this.closed) return Promise.reject(new SweepRunError('the pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ p, resolve, reject });
      this.pump();
    });
  }

  /** Stops every child (a task still running is abandoned). */
  close(): void {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new SweepRunError('the pool was closed'));
    for (const s of this.slots) s.child.kill();
  }
}

/**
 * Runs faultbench's jobs on a pool of `size` children (at most one per job) and resolves with
 * their tables in job order. The first job that fails stops the run: a measure that throws is
 * a bug, and the rest of the tables would be of no use without it.
 * @throws SweepRunError naming the job (its one line from the child)
 */
export async function runFaultbenchJobs(jobs: readonly FaultbenchJob[], size: number): Promise<MeasureTable[]> {
  const pool = new LocalPool(Math.max(1, Math.min(size, jobs.length)), 'faultbench');
  try {
    return await Promise.all(jobs.map((j) => pool.run(j)));
  } finally {
    pool.close();
  }
}
