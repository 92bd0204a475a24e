// A pool of child processes running points, one per core by default. Children (not worker
// threads) so a point's memory is returned when it ends, a crash takes only its child, and the
// parent's event loop stays free for progress and for a BullMQ worker's lock renewals.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SweepRunError } from './errors.ts';
import type { PointPayload } from './load.ts';
import type { PointResult } from './point.ts';

// Compiled (dist/, the package) children run child.js as they are; from the sources (a checkout
// whose src/ is newer than dist/) they run child.ts through tsx, a dev dependency only then.
const COMPILED = import.meta.url.endsWith('.js');
const CHILD = fileURLToPath(new URL(COMPILED ? './child.js' : './child.ts', import.meta.url));
const childExecArgv = (): string[] => (COMPILED ? [] : ['--import', createRequire(import.meta.url).resolve('tsx')]);

type Reply = { ready: true } | { ok: true; result: PointResult } | { ok: false; key: string; error: string };

interface Slot {
  readonly child: ChildProcess;
  ready: Promise<void>;
  busy: { p: PointPayload; resolve: (r: PointResult) => void; reject: (e: Error) => void } | null;
}

/** Default pool size: every core. */
export function defaultJobs(): number {
  return availableParallelism();
}

/** Runs points on `size` child processes; `run` queues a point and resolves with its result. */
export class LocalPool {
  private readonly slots: Slot[] = [];
  private readonly queue: { p: PointPayload; resolve: (r: PointResult) => void; reject: (e: Error) => void }[] = [];
  private closed = false;

  constructor(readonly size: number = defaultJobs()) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
  }

  private spawn(): Slot {
    const child = fork(CHILD, [], { execArgv: childExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    let ready!: () => void;
    const slot: Slot = { child, ready: new Promise((r) => (ready = r)), busy: null };
    child.on('message', (m: Reply) => {
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
      if (slot.busy) slot.busy.reject(new SweepRunError(`point ${slot.busy.p.index}: its process exited (${signal ?? `code ${code}`})`));
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

  /** Runs one point on a free child (queued until one is free). */
  run(p: PointPayload): Promise<PointResult> {
    if (this.closed) return Promise.reject(new SweepRunError('the pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ p, resolve, reject });
      this.pump();
    });
  }

  /** Stops every child (a point still running is abandoned). */
  close(): void {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new SweepRunError('the pool was closed'));
    for (const s of this.slots) s.child.kill();
  }
}
