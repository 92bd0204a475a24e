// The discrete-event engine: a clock in integer picoseconds and a queue of handlers to run at
// future instants. Everything timed in the model (faults, copies, link transfers, device
// kernels) is an event here, so a run is a deterministic function of its seed and inputs.

import type { TimePs } from '../units/time.ts';
import { EventHeap } from './heap.ts';
import { Rng } from './rng.ts';

declare const eventIdBrand: unique symbol;

/**
 * Handle for a scheduled event, used to cancel it. Ids are positive integers, unique per
 * engine and increasing in scheduling order (they double as the FIFO tie-breaker).
 */
export type EventId = number & { readonly [eventIdBrand]: true };

/** Code run when an event fires; receives the current time (== engine.now, integer ps). */
export type EventHandler = (now: TimePs) => void;

/** Observer called just before each event's handler, with its time (ps) and label. */
export type EventObserver = (time: TimePs, label: string) => void;

/** Engine construction options. */
export interface EngineOptions {
  /** Root seed (any safe integer). All rng(name) streams derive from it. */
  readonly seed: number;
}

class ScheduledEvent {
  cancelled = false;
  constructor(
    readonly time: number,
    readonly seq: number,
    readonly handler: EventHandler,
    readonly label: string,
  ) {}
}

/**
 * Deterministic discrete-event simulator.
 *
 * Ordering: events run in increasing time; events at the same time run in the order they were
 * scheduled (FIFO), including events scheduled for `now` by a running handler, which run after
 * every already-queued event at `now`. Same seed + same calls ⇒ identical event order and
 * identical random draws.
 *
 * Invariants: `now` never decreases; an event can never be scheduled before `now`; handlers
 * run one at a time (step/run/runUntil may not be called from inside a handler).
 */
export class Engine {
  private time = 0;
  private nextSeq = 1;
  private readonly queue = new EventHeap<ScheduledEvent>();
  // Live (scheduled, not yet run or cancelled) events by id, so cancel() is O(1) and knows
  // whether the id is still pending; cancelled entries stay in the heap and are skipped on pop.
  private readonly live = new Map<number, ScheduledEvent>();
  // Replaced, never mutated, on (un)subscribe so a hook can unsubscribe while hooks iterate.
  private observers: readonly EventObserver[] = [];
  private readonly root: Rng;
  private readonly streams = new Map<string, Rng>();
  private running = false;
  private executed = 0;

  /** The seed this engine was created with. */
  readonly seed: number;

  constructor(options: EngineOptions) {
    this.seed = options.seed;
    this.root = new Rng(options.seed);
  }

  /** Current simulated time in integer ps; starts at 0 and never decreases. */
  get now(): TimePs {
    return this.time as TimePs;
  }

  /** Number of events scheduled and neither run nor cancelled. */
  get pending(): number {
    return this.live.size;
  }

  /** Number of event handlers run so far (cancelled events are not counted). */
  get eventsRun(): number {
    return this.executed;
  }

  /**
   * Schedules `handler` to run at absolute time `at`.
   * @param at integer ps, ≥ now
   * @param label free-form name passed to observers (default "")
   * @throws SimTimeOverflow if `at` is past 2^53 ps (about 2.5 h); Error if it is in the past,
   *   or otherwise not a safe integer
   */
  schedule(at: TimePs, handler: EventHandler, label = ''): EventId {
    if (at > Number.MAX_SAFE_INTEGER) throw new SimTimeOverflow(at, label);
    if (!Number.isSafeInteger(at)) {
      throw new Error(`Engine.schedule: time must be an integer number of ps, got ${at}${labelSuffix(label)}`);
    }
    if (at < this.time) {
      throw new Error(
        `Engine.schedule: cannot schedule at ${at} ps, which is in the past (now = ${this.time} ps)${labelSuffix(label)}`,
      );
    }
    const seq = this.nextSeq++;
    const ev = new ScheduledEvent(at, seq, handler, label);
    this.queue.push(ev);
    this.live.set(seq, ev);
    return seq as EventId;
  }

  /**
   * Schedules `handler` to run `delay` ps from now.
   * @param delay integer ps, ≥ 0 (0 means "at now, after already-queued events at now")
   * @throws Error if `delay` is negative or not a safe integer
   */
  after(delay: TimePs, handler: EventHandler, label = ''): EventId {
    if (!Number.isSafeInteger(delay) || delay < 0) {
      throw new Error(`Engine.after: delay must be a non-negative integer number of ps, got ${delay}${labelSuffix(label)}`);
    }
    return this.schedule((this.time + delay) as TimePs, handler, label);
  }

  /**
   * Cancels a pending event. Returns true if it was pending, false if it already ran, was
   * already cancelled, or is unknown. Cancellation is lazy: the entry stays queued and is
   * dropped when it reaches the front.
   */
  cancel(id: EventId): boolean {
    const ev = this.live.get(id);
    if (ev === undefined) return false;
    ev.cancelled = true;
    this.live.delete(id);
    return true;
  }

  /** Time of the next pending event in ps, or undefined if none is pending. */
  nextEventTime(): TimePs | undefined {
    const ev = this.peekLive();
    return ev === undefined ? undefined : (ev.time as TimePs);
  }

  /**
   * Runs the next pending event: advances `now` to its time, notifies observers, then calls
   * its handler. Returns false (and does nothing) when no event is pending.
   * @throws Error if called from inside an event handler; rethrows a handler's exception
   *   (the event counts as run and `now` stays at its time).
   */
  step(): boolean {
    if (this.running) {
      throw new Error('Engine.step: called from inside an event handler; schedule an event instead');
    }
    const ev = this.peekLive();
    if (ev === undefined) return false;
    this.queue.pop();
    this.live.delete(ev.seq);
    this.time = ev.time;
    this.executed++;
    this.running = true;
    try {
      const observers = this.observers;
      for (let i = 0; i < observers.length; i++) observers[i](ev.time as TimePs, ev.label);
      ev.handler(ev.time as TimePs);
    } finally {
      this.running = false;
    }
    return true;
  }

  /** Runs events until none is pending. Returns the number of events run by this call. */
  run(): number {
    const start = this.executed;
    while (this.step()) { /* step does the work */ }
    return this.executed - start;
  }

  /**
   * Runs every event with time ≤ `t` (including ones those events schedule at ≤ `t`), then
   * sets `now = t`. Events after `t` stay queued. Returns the number of events run.
   * @throws Error if `t` is before `now` or not a safe integer
   */
  runUntil(t: TimePs): number {
    if (!Number.isSafeInteger(t) || t < this.time) {
      throw new Error(`Engine.runUntil: target ${t} ps must be an integer ≥ now (${this.time} ps)`);
    }
    const start = this.executed;
    while (true) {
      const ev = this.peekLive();
      if (ev === undefined || ev.time > t) break;
      this.step();
    }
    this.time = t;
    return this.executed - start;
  }

  /**
   * Registers `cb` to be called before every event handler with (time, label).
   * Returns a function that unsubscribes it (idempotent). Observers run in subscription order.
   */
  onEvent(cb: EventObserver): () => void {
    this.observers = [...this.observers, cb];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const i = this.observers.indexOf(cb);
      if (i >= 0) this.observers = [...this.observers.slice(0, i), ...this.observers.slice(i + 1)];
    };
  }

  /**
   * The random stream called `name`, forked from the engine seed. The same name always returns
   * the same Rng object; its numbers depend only on the seed, the name and the draws made from
   * it, not on other streams or on the order in which streams are first requested.
   */
  rng(name: string): Rng {
    let r = this.streams.get(name);
    if (r === undefined) {
      r = this.root.fork(name);
      this.streams.set(name, r);
    }
    return r;
  }

  /** Front of the queue after discarding cancelled entries, without removing it. */
  private peekLive(): ScheduledEvent | undefined {
    let ev = this.queue.peek();
    while (ev !== undefined && ev.cancelled) {
      this.queue.pop();
      ev = this.queue.peek();
    }
    return ev;
  }
}

function labelSuffix(label: string): string {
  return label === '' ? '' : ` (event '${label}')`;
}

/**
 * An event asked for past 2^53 ps (about 2.5 h of simulated time), the last instant integer ps
 * represent exactly in a double. Something took far longer than any real device would (a link of
 * a few bytes per second, an hour of compute per access): bad input, not a model bug.
 */
export class SimTimeOverflow extends RangeError {
  constructor(readonly at: number, label = '') {
    super(`simulated time would pass 2^53 ps (about 2.5 h), the longest the engine represents (an event at ${(at / 1e12).toPrecision(3)} s${label === '' ? '' : ` for '${label}'`})`);
    this.name = 'SimTimeOverflow';
  }
}
