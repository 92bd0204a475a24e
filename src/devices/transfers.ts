// Data movement over the interconnect: transfers share links fairly (topology/sharing.ts) and
// each device's copy engines serialise their own transfers. Completion events go through the
// engine, so contention changes completion times deterministically.
import type { Engine, EventId } from '../engine/engine.ts';
import type { TimePs } from '../units/time.ts';
import { LinkSharing, type FlowHandle, type SharedSegment } from '../topology/sharing.ts';
import type { Profile } from './profile/schema.ts';
import { effectiveBandwidth, type Direction } from './profile/load.ts';

/**
 * Fixed time of one copy so that a copy alone on its path takes exactly the profile's transfer
 * time: bytes / effectiveBandwidth(bytes) − bytes / bottleneck (never negative), plus the route's
 * latency when the profile has no measured curve (a measured curve already includes it). The
 * rest of the time is the flow itself, which contention can stretch. Integer ps.
 */
export function copyOverheadPs(profile: Profile, bytes: number, dir: Direction, bottleneck: number, routeLatencyPs: number): number {
  const total = (bytes / effectiveBandwidth(profile, bytes, dir)) * 1e12;
  const flow = Number.isFinite(bottleneck) ? (bytes / bottleneck) * 1e12 : 0;
  const latency = profile.transferCurve ? 0 : routeLatencyPs;
  return Math.max(0, Math.round(total - flow)) + latency;
}

/** Trace args of a span. */
export type SpanArgs = Record<string, number | string>;

/**
 * A span of work on a named track, for traces (integer ps). `args` may be a function: it is
 * called only if the span is kept, so a run without a trace (maxSpans 0) formats no strings.
 */
export type SpanSink = (track: string, name: string, startPs: number, durPs: number, args?: SpanArgs | (() => SpanArgs)) => void;

/** One transfer. `path` lists the directed segments its bytes cross; `overheadPs` passes before the first byte. */
export interface TransferRequest {
  readonly bytes: number;
  readonly path: readonly SharedSegment[];
  readonly overheadPs: number;
  /** Label for traces ("h2d", "d2h", "p2p", "evict"). */
  readonly label: string;
  /** Called at completion time, integer ps. */
  readonly onDone: (t: number) => void;
  /**
   * Extra trace args of the copy's slice (address range, source and destination, batch), made
   * only if the slice is kept; called as a method of the request (a class's prototype method
   * serves, so a planner need not make a closure per copy).
   */
  readonly args?: () => SpanArgs;
}

/**
 * Every transfer in flight on the machine. One engine event is kept scheduled at the next
 * completion; it is moved whenever a start or finish changes the shares.
 */
export class Transfers {
  readonly sharing = new LinkSharing();
  private next: EventId | null = null;
  private readonly done = new Map<FlowHandle, (t: number) => void>();

  constructor(readonly engine: Engine) {}

  /** Transfers started per segment id (for the results; not kept on the hot path). */
  get transfersPerSegment(): ReadonlyMap<string, number> {
    return this.sharing.startsPerSegment();
  }

  /** Starts a flow of `bytes` over `path` at the current time (after any overhead the caller waited). */
  startFlow(bytes: number, path: readonly SharedSegment[], onDone: (t: number) => void): void {
    const flow = this.sharing.begin(this.engine.now, bytes, path, 0);
    this.done.set(flow, onDone);
    this.reschedule();
  }

  private reschedule(): void {
    if (this.next !== null) this.engine.cancel(this.next);
    this.next = null;
    const c = this.sharing.nextCompletion();
    if (c === null) return;
    this.next = this.engine.schedule(c.time as TimePs, this.onComplete, 'transfer');
  }

  /** The completion event's handler, made once (every start and finish reschedules it). */
  private readonly onComplete = (now: number): void => this.complete(now);

  private complete(now: number): void {
    this.next = null;
    this.sharing.advance(now);
    for (;;) {
      const c = this.sharing.nextCompletion();
      if (c === null || c.time > now) break;
      this.sharing.finishFlow(c.flow);
      const cb = this.done.get(c.flow)!;
      this.done.delete(c.flow);
      cb(now);
    }
    this.reschedule();
  }

  /** Bytes the transfers crossing segment `segmentId` have still to send at `now` (advances the model). */
  inFlightOn(segmentId: string, now: number): number {
    this.sharing.advance(Math.max(now, this.sharing.now));
    return this.sharing.remainingOn(segmentId);
  }

  /** Bytes carried per segment so far (advances the fluid model to `now` first). */
  carriedAt(now: number): ReadonlyMap<string, number> {
    this.sharing.advance(Math.max(now, this.sharing.now));
    return this.sharing.carriedBytes();
  }
}

/**
 * A FIFO of transfers waiting for one engine. `Array.prototype.shift` moves every element once an
 * array is large (V8 cannot trim large arrays in place), and eviction under a random policy can
 * queue one copy per page, so the queue keeps a head index and compacts when half is consumed.
 */
class TransferQueue {
  private items: TransferRequest[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(req: TransferRequest): void {
    this.items.push(req);
  }

  /** The oldest waiting transfer, removed; undefined when empty. */
  shift(): TransferRequest | undefined {
    if (this.head === this.items.length) return undefined;
    const req = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return req;
  }
}

/**
 * A device's copy engines: `count` engines, each running one transfer at a time, optionally
 * capped at `bandwidth` bytes/s (modelled as a private segment per engine). A submitted transfer
 * goes to the engine with the least queued work (lowest index on ties).
 */
export class CopyEngines {
  private readonly queues: TransferQueue[];
  private readonly segs: (SharedSegment | null)[];
  /** The transfer each engine runs (null when idle), when it started (ps) and the path its flow takes. */
  private readonly running: (TransferRequest | null)[];
  private readonly startedAt: number[];
  private readonly paths: (readonly SharedSegment[])[];
  /** A capped engine's path per route: the route's segments and then the engine's own. */
  private readonly cappedPaths: WeakMap<readonly SharedSegment[], readonly SharedSegment[]>[];
  /**
   * Per engine, made once: the handlers of its current transfer's events (flow start after the
   * set-up overhead, completion) and its trace track and span args. A closure per copy cost more
   * than the copy's model (eviction of 4 KiB pages runs one copy per page).
   */
  private readonly flowStart: (() => void)[];
  private readonly flowDone: ((t: number) => void)[];
  private readonly tracks: string[];
  private readonly spanArgs: (() => SpanArgs)[];
  /** Engine-busy time summed over engines, ps. */
  busyPs = 0;
  transfers = 0;
  bytes = 0;

  constructor(readonly transfersModel: Transfers, readonly device: string, readonly count: number, bandwidth: number | undefined, readonly spans?: SpanSink) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`copy engine count must be a positive integer, got ${count}`);
    this.queues = Array.from({ length: count }, () => new TransferQueue());
    this.segs = Array.from({ length: count }, (_, i) => (bandwidth !== undefined ? { id: `ce:${device}:${i}`, bandwidth } : null));
    this.running = new Array<TransferRequest | null>(count).fill(null);
    this.startedAt = new Array<number>(count).fill(0);
    this.paths = new Array<readonly SharedSegment[]>(count).fill([]);
    this.cappedPaths = Array.from({ length: count }, () => new WeakMap());
    this.flowStart = Array.from({ length: count }, (_, i) => () => this.startFlow(i));
    this.flowDone = Array.from({ length: count }, (_, i) => (t: number) => this.finish(i, t));
    this.tracks = Array.from({ length: count }, (_, i) => `${device}/ce${i}`);
    this.spanArgs = Array.from({ length: count }, (_, i) => () => {
      const req = this.running[i]!;
      return req.args ? { bytes: req.bytes, ...req.args() } : { bytes: req.bytes };
    });
  }

  /** Queues a transfer on the least loaded engine. */
  submit(req: TransferRequest): void {
    let best = 0;
    for (let i = 1; i < this.count; i++) {
      if (this.load(i) < this.load(best)) best = i;
    }
    this.queues[best].push(req);
    if (this.running[best] === null) this.runNext(best);
  }

  private load(i: number): number {
    return this.queues[i].length + (this.running[i] !== null ? 1 : 0);
  }

  private runNext(i: number): void {
    const req = this.queues[i].shift();
    if (!req) {
      this.running[i] = null;
      return;
    }
    this.running[i] = req;
    const engine = this.transfersModel.engine;
    this.startedAt[i] = engine.now;
    this.paths[i] = this.pathOn(i, req.path);
    if (req.overheadPs > 0) engine.after(req.overheadPs as TimePs, this.flowStart[i], 'copy-setup');
    else this.startFlow(i);
  }

  /** The segments a transfer over `path` crosses on engine `i`: a capped engine adds its own. */
  private pathOn(i: number, path: readonly SharedSegment[]): readonly SharedSegment[] {
    const seg = this.segs[i];
    if (!seg) return path;
    let p = this.cappedPaths[i].get(path);
    if (!p) {
      p = [...path, seg];
      this.cappedPaths[i].set(path, p);
    }
    return p;
  }

  private startFlow(i: number): void {
    this.transfersModel.startFlow(this.running[i]!.bytes, this.paths[i], this.flowDone[i]);
  }

  private finish(i: number, t: number): void {
    const req = this.running[i]!, start = this.startedAt[i];
    this.busyPs += t - start;
    this.transfers++;
    this.bytes += req.bytes;
    // The span is made before the next transfer replaces running[i], which spanArgs reads.
    this.spans?.(this.tracks[i], req.label, start, t - start, req.args ? this.spanArgs[i] : { bytes: req.bytes });
    req.onDone(t);
    this.runNext(i);
  }

  /** True when no engine is busy and nothing is queued. */
  get idle(): boolean {
    return this.running.every((r) => r === null);
  }
}
