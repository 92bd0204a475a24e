// Fair sharing of links between concurrent transfers, as a fluid flow model: every active
// transfer gets a max-min fair rate (progressive filling) over all the directed segments it
// crosses, and rates change only when the set of transfers sending data changes. Each direction
// of a full-duplex link is its own segment, so opposite directions never slow each other.
//
// Latency model: a transfer occupies bandwidth only while its bytes are being sent ("draining");
// it completes `latencyPs` after its last byte left the source (pipeline latency of the path),
// so a lone transfer of B bytes over a bottleneck of W bytes/s completes at
// start + ceil(B / W seconds, in ps) + latencyPs. Pass latencyPs = 0 to get pure bandwidth time.
//
// Incremental (issue 17): a start, drain or cancel recomputes the rates of the flows it can
// affect, those linked to it through shared finite segments (its connected component), and no
// others. Max-min fair filling of disjoint components does not interact: restricted to one
// component, the global filling picks the same segments in the same order and does the same
// float operations, so the rates are bit-identical to a recomputation of every flow
// (test/topology/sharing.test.ts checks this against the old from-scratch model). Segments are
// numbered when first seen; the hot path uses those numbers and arrays, not string-keyed maps.

/** The part of a routing Segment the sharing model needs. */
export interface SharedSegment {
  readonly id: string;
  /** Bytes/s in this direction; Infinity = never a bottleneck. */
  readonly bandwidth: number;
}

/** A transfer in flight, as `begin` returns it (its name; '' for an unnamed one). */
export interface FlowHandle {
  readonly id: string;
}

/** The next transfer to complete and when, integer picoseconds. */
export interface Completion {
  readonly id: string;
  readonly time: number;
  readonly flow: FlowHandle;
}

const PS_PER_SECOND = 1e12;

/**
 * Round a time in picoseconds up to an integer, forgiving float noise of at most 1e-12 relative
 * (e.g. 1e6 B at 5e8 B/s must be exactly 2e9 ps, not 2e9 + 1).
 */
function ceilPs(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x - r) <= Math.max(1e-6, Math.abs(x) * 1e-12)) return r;
  return Math.ceil(x);
}

/** Start order: how the from-scratch filling visited flows. */
function bySeq(a: Flow, b: Flow): number {
  return a.seq - b.seq;
}

interface Flow extends FlowHandle {
  readonly seq: number;
  readonly bytes: number;
  readonly latencyPs: number;
  /** Segment numbers the path crosses, distinct, in first-crossing order. */
  readonly segs: readonly number[];
  /** Times the path crosses each of `segs` (normally 1). */
  readonly mult: readonly number[];
  /** Whether some segment of the path has finite bandwidth (otherwise the rate is Infinity). */
  readonly constrained: boolean;
  remaining: number;
  /** Current bytes/s; 0 once drained. */
  rate: number;
  /** Time the last byte was sent, or null while draining. */
  drainedAt: number | null;
  /** Search stamp of the component walk. */
  visit: number;
}

/**
 * Concurrent transfers over shared directed segments. Times are integer picoseconds and never go
 * backwards; byte counts are bytes; rates are bytes/s. Typical driver loop: `start` transfers,
 * schedule an event at `nextCompletion().time`, and at that event `advance(time)` then
 * `finish(id)`; re-query `nextCompletion` after every start/finish because rates change.
 * Hot callers use `begin` and `finishFlow`, which take handles instead of names.
 */
export class LinkSharing {
  private t = 0;
  private seq = 0;
  /** Transfers not yet finished (drained ones included), in start order. */
  private readonly flows: Flow[] = [];
  private readonly byName = new Map<string, Flow>();
  /** Look-ahead runs must not touch the carried-byte counters. */
  private lookingAhead = false;

  // Per segment, by number.
  private readonly segNumberOf = new Map<SharedSegment, number>();
  private readonly segNumberById = new Map<string, number>();
  private readonly segId: string[] = [];
  private readonly capacity: number[] = [];
  private readonly carried: number[] = [];
  private readonly starts: number[] = [];
  /** Position of each segment in id order: the filling visits segments in it (deterministic ties). */
  private rank: number[] = [];
  /** Segment numbers in the order they first carried bytes (the order carriedBytes lists them). */
  private readonly creditOrder: number[] = [];
  /** Unfinished flows crossing each finite segment. */
  private readonly flowsOn: Flow[][] = [];
  private readonly segVisit: number[] = [];
  private readonly remCap: number[] = [];
  private readonly load: number[] = [];
  private visitStamp = 0;
  /**
   * nextCompletion's copy of every flow's remaining bytes, rate and drain time (three per flow), kept
   * between calls: it looks ahead at every start and finish, and three typed arrays per call
   * were an off-heap allocation each once more than a few flows are in flight.
   */
  private saved = new Float64Array(24);
  /** recomputeAround's scratch: the component's flows and segments, the walk's stack, the segments still filling, and which flows are frozen. */
  private readonly compFlows: Flow[] = [];
  private readonly compSegs: number[] = [];
  private readonly walkStack: number[] = [];
  private readonly liveSegs: number[] = [];
  private frozen = new Uint8Array(16);

  /** Current model time, picoseconds. */
  get now(): number {
    return this.t;
  }

  private segmentNumber(seg: SharedSegment): number {
    let n = this.segNumberOf.get(seg);
    if (n !== undefined) return n;
    if (!(seg.bandwidth > 0)) throw new Error(`sharing: segment '${seg.id}' has non-positive bandwidth`);
    n = this.segNumberById.get(seg.id);
    if (n !== undefined) {
      const known = this.capacity[n];
      if (known !== seg.bandwidth) throw new Error(`sharing: segment '${seg.id}' declared with bandwidth ${seg.bandwidth}, already known as ${known}`);
    } else {
      n = this.segId.length;
      this.segNumberById.set(seg.id, n);
      this.segId.push(seg.id);
      this.capacity.push(seg.bandwidth);
      this.carried.push(0);
      this.starts.push(0);
      this.flowsOn.push([]);
      this.segVisit.push(0);
      this.remCap.push(0);
      this.load.push(0);
      const byId = this.segId.map((_, i) => i).sort((a, b) => (this.segId[a] < this.segId[b] ? -1 : this.segId[a] > this.segId[b] ? 1 : 0));
      this.rank = new Array<number>(byId.length);
      byId.forEach((segNo, r) => (this.rank[segNo] = r));
    }
    this.segNumberOf.set(seg, n);
    return n;
  }

  /**
   * Begin sending `bytes` over `path` at time `now` (advancing to it first). `latencyPs` is added
   * after the last byte is sent (use the route's latency, or 0). Rates of the transfers sharing a
   * segment with this one (transitively) are recomputed.
   */
  start(now: number, id: string, bytes: number, path: readonly SharedSegment[], latencyPs = 0): FlowHandle {
    if (this.byName.has(id)) throw new Error(`sharing: transfer '${id}' already active`);
    return this.open(now, id, bytes, path, latencyPs);
  }

  /** `start` for a transfer known by its handle only (no name to look up or check). */
  begin(now: number, bytes: number, path: readonly SharedSegment[], latencyPs = 0): FlowHandle {
    return this.open(now, '', bytes, path, latencyPs);
  }

  private open(now: number, id: string, bytes: number, path: readonly SharedSegment[], latencyPs: number): FlowHandle {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new Error(`sharing: transfer '${id}' has invalid byte count ${bytes}`);
    if (!Number.isInteger(latencyPs) || latencyPs < 0) throw new Error(`sharing: latencyPs must be a non-negative integer, got ${latencyPs}`);
    this.advance(now);
    const segs: number[] = [], mult: number[] = [];
    let constrained = false;
    for (let i = 0; i < path.length; i++) {
      const n = this.segmentNumber(path[i]);
      this.starts[n]++;
      const k = segs.indexOf(n);
      if (k >= 0) mult[k]++;
      else {
        segs.push(n);
        mult.push(1);
        if (this.capacity[n] !== Infinity) constrained = true;
      }
    }
    const f: Flow = { id, seq: this.seq++, bytes, latencyPs, segs, mult, constrained, remaining: bytes, rate: constrained ? 0 : Infinity, drainedAt: null, visit: 0 };
    this.flows.push(f);
    if (id !== '') this.byName.set(id, f);
    for (const n of segs) if (this.capacity[n] !== Infinity) this.flowsOn[n].push(f);
    if (constrained) this.recomputeAround([f]);
    // A zero-byte (or unconstrained) transfer drains immediately, freeing its share at once.
    this.progress(now);
    return f;
  }

  /** Progress all transfers to `now` (integer ps, not before the current time). */
  advance(now: number): void {
    if (!Number.isInteger(now)) throw new Error(`sharing: time must be integer picoseconds, got ${now}`);
    if (now < this.t) throw new Error(`sharing: time went backwards (${now} < ${this.t})`);
    this.progress(now);
  }

  private drainTime(f: Flow): number {
    if (f.drainedAt !== null) return Infinity;
    if (f.remaining <= 0 || f.rate === Infinity) return this.t;
    if (f.rate <= 0) return Infinity;
    return this.t + ceilPs((f.remaining * PS_PER_SECOND) / f.rate);
  }

  private nextDrain(): number {
    let t = Infinity;
    for (const f of this.flows) t = Math.min(t, this.drainTime(f));
    return t;
  }

  private credit(f: Flow, bytes: number): void {
    if (this.lookingAhead || bytes <= 0) return;
    for (let k = 0; k < f.segs.length; k++) {
      const n = f.segs[k];
      // bytes > 0, so a zero counter has never been credited.
      if (this.carried[n] === 0) this.creditOrder.push(n);
      this.carried[n] += bytes * f.mult[k];
    }
  }

  /** Move every draining flow to time t (no drain events strictly before t). */
  private moveTo(t: number): void {
    const dt = t - this.t;
    if (dt > 0) {
      for (const f of this.flows) {
        if (f.drainedAt !== null || f.rate <= 0) continue;
        const sent = f.rate === Infinity ? f.remaining : Math.min(f.remaining, (f.rate * dt) / PS_PER_SECOND);
        f.remaining -= sent;
        this.credit(f, sent);
      }
    }
    this.t = t;
  }

  /**
   * Progress to `target`, handling each drain (and the rate change it causes) in time order.
   * Flows that drain are appended to `drained` when given.
   */
  private progress(target: number, drained?: Flow[]): void {
    while (true) {
      const tD = this.nextDrain();
      if (tD > target) break;
      const draining: Flow[] = [];
      for (const f of this.flows) if (this.drainTime(f) === tD) draining.push(f);
      this.moveTo(tD);
      for (const f of draining) {
        this.credit(f, f.remaining); // the rounding slack: count exactly `bytes` in total
        f.remaining = 0;
        f.rate = 0;
        f.drainedAt = tD;
        drained?.push(f);
      }
      this.recomputeAround(draining);
    }
    this.moveTo(target);
  }

  /** Pushes the finite segments of `f` not yet visited in walk `stamp`. */
  private pushSegs(f: Flow, stamp: number, stack: number[]): void {
    for (const n of f.segs) {
      if (this.capacity[n] === Infinity || this.segVisit[n] === stamp) continue;
      this.segVisit[n] = stamp;
      stack.push(n);
    }
  }

  /**
   * Max-min fair rates by progressive filling for the draining flows linked to `changed` through
   * finite segments (the changed flows themselves, if still draining, included); segments are
   * visited in id order.
   */
  private recomputeAround(changed: readonly Flow[]): void {
    const stamp = ++this.visitStamp;
    // Reused lists (cleared here; nothing keeps them between calls): a start or finish per copy
    // calls this, and four arrays each time were a measurable share of the garbage.
    const comp = this.compFlows, compSegs = this.compSegs, stack = this.walkStack, live = this.liveSegs;
    comp.length = 0;
    compSegs.length = 0;
    stack.length = 0;
    live.length = 0;
    for (const f of changed) this.pushSegs(f, stamp, stack);
    while (stack.length > 0) {
      const n = stack.pop()!;
      compSegs.push(n);
      for (const f of this.flowsOn[n]) {
        if (f.drainedAt !== null || f.visit === stamp) continue;
        f.visit = stamp;
        comp.push(f);
        this.pushSegs(f, stamp, stack);
      }
    }
    if (comp.length === 0) return;
    // Start order, as the from-scratch filling visits flows.
    comp.sort(bySeq);
    const { remCap, load, capacity } = this;
    for (const n of compSegs) {
      remCap[n] = capacity[n];
      load[n] = 0;
    }
    for (const f of comp) for (let k = 0; k < f.segs.length; k++) if (capacity[f.segs[k]] !== Infinity) load[f.segs[k]] += f.mult[k];
    // In id order (insertion sort: a component crosses a handful of segments).
    for (const n of compSegs) {
      if (!(load[n] > 0)) continue;
      let i = live.length;
      live.push(n);
      while (i > 0 && this.rank[live[i - 1]] > this.rank[n]) {
        live[i] = live[i - 1];
        i--;
      }
      live[i] = n;
    }
    if (this.frozen.length < comp.length) this.frozen = new Uint8Array(Math.max(comp.length, 2 * this.frozen.length));
    const frozen = this.frozen;
    frozen.fill(0, 0, comp.length);
    let unfrozen = comp.length;
    while (unfrozen > 0) {
      let bestSeg = -1;
      let share = Infinity;
      for (const n of live) {
        const l = load[n];
        if (l <= 0) continue;
        const sh = Math.max(0, remCap[n]) / l;
        if (sh < share) {
          share = sh;
          bestSeg = n;
        }
      }
      for (let i = 0; i < comp.length; i++) {
        const f = comp[i];
        if (frozen[i] === 1 || !f.segs.includes(bestSeg)) continue;
        f.rate = share;
        frozen[i] = 1;
        unfrozen--;
        for (let k = 0; k < f.segs.length; k++) {
          const n = f.segs[k];
          if (capacity[n] === Infinity) continue;
          remCap[n] -= share * f.mult[k];
          load[n] -= f.mult[k];
        }
      }
    }
    // Hold no finished flow until the next call.
    comp.length = 0;
  }

  /**
   * Earliest completion (last byte sent + latency) assuming no further transfers start; accounts
   * for transfers that speed up when others drain. Ties go to the earlier-started transfer.
   * Null when nothing is active.
   */
  nextCompletion(): Completion | null {
    // The earliest (completion time, start order) among the drained flows and those the
    // look-ahead drains.
    let best: Flow | null = null;
    let bestTime = Infinity;
    for (const f of this.flows) {
      if (f.drainedAt === null) continue;
      const t = f.drainedAt + f.latencyPs;
      if (t < bestTime || (t === bestTime && best !== null && f.seq < best.seq)) {
        best = f;
        bestTime = t;
      }
    }
    // Look ahead on the live state and put it back: drains change rates, so the first
    // completion may come after others have sped up.
    if (this.nextDrain() <= bestTime) {
      const n = this.flows.length, now = this.t;
      if (this.saved.length < 3 * n) this.saved = new Float64Array(Math.max(3 * n, 2 * this.saved.length));
      // Flow i's remaining bytes, rate and drain time at saved[3i], [3i + 1], [3i + 2].
      const saved = this.saved;
      for (let i = 0; i < n; i++) {
        const f = this.flows[i];
        saved[3 * i] = f.remaining;
        saved[3 * i + 1] = f.rate;
        saved[3 * i + 2] = f.drainedAt ?? NaN;
      }
      this.lookingAhead = true;
      try {
        const drained: Flow[] = [];
        while (true) {
          const tD = this.nextDrain();
          if (tD === Infinity || tD > bestTime) break;
          drained.length = 0;
          this.progress(tD, drained);
          for (const f of drained) {
            const t = f.drainedAt! + f.latencyPs;
            if (t < bestTime || (t === bestTime && best !== null && f.seq < best.seq)) {
              best = f;
              bestTime = t;
            }
          }
        }
      } finally {
        this.lookingAhead = false;
        this.t = now;
        for (let i = 0; i < n; i++) {
          const f = this.flows[i];
          f.remaining = saved[3 * i];
          f.rate = saved[3 * i + 1];
          const d = saved[3 * i + 2];
          f.drainedAt = Number.isNaN(d) ? null : d;
        }
      }
    }
    return best === null ? null : { id: best.id, time: bestTime, flow: best };
  }

  private remove(f: Flow): void {
    this.flows.splice(this.flows.indexOf(f), 1);
    if (f.id !== '') this.byName.delete(f.id);
    for (const n of f.segs) {
      const on = this.flowsOn[n];
      const i = on.indexOf(f);
      if (i >= 0) on.splice(i, 1);
    }
  }

  /** Remove a completed transfer; throws if it has not completed by the current time. */
  finish(id: string): void {
    this.finishFlow(this.named(id));
  }

  /** `finish` by handle. */
  finishFlow(handle: FlowHandle): void {
    const f = handle as Flow;
    if (!this.flows.includes(f)) throw new Error(`sharing: no active transfer '${f.id}'`);
    if (f.drainedAt === null || f.drainedAt + f.latencyPs > this.t) {
      throw new Error(`sharing: transfer '${f.id}' has not completed at ${this.t}`);
    }
    this.remove(f);
  }

  /** Abort a transfer; returns the bytes it had not sent. Bytes already sent stay counted. */
  cancel(id: string): number {
    const f = this.named(id);
    this.remove(f);
    // Its neighbours take back the share it held (a drained one held none).
    if (f.drainedAt === null) this.recomputeAround(this.flows.filter((g) => g.drainedAt === null && g.segs.some((n) => f.segs.includes(n))));
    return f.remaining;
  }

  /** Current rate of a transfer, bytes/s (0 once its bytes are all sent). */
  rateOf(id: string): number {
    return this.named(id).rate;
  }

  /** Bytes a transfer still has to send. */
  remainingOf(id: string): number {
    return this.named(id).remaining;
  }

  /** Ids of transfers not yet finished, in start order ('' for unnamed ones). */
  activeIds(): string[] {
    return this.flows.map((f) => f.id);
  }

  /** Bytes the unfinished transfers crossing segment `segmentId` have still to send (at the current time). */
  remainingOn(segmentId: string): number {
    const seg = this.segNumberById.get(segmentId);
    let n = 0;
    if (seg !== undefined) for (const f of this.flows) if (f.segs.includes(seg)) n += f.remaining;
    return n;
  }

  /** Total bytes carried by a segment so far (utilisation = delta bytes / (bandwidth × delta t)). */
  bytesCarried(segmentId: string): number {
    const n = this.segNumberById.get(segmentId);
    return n === undefined ? 0 : this.carried[n];
  }

  /** Snapshot of all per-segment carried-byte counters, in the order segments first carried bytes. */
  carriedBytes(): ReadonlyMap<string, number> {
    return new Map(this.creditOrder.map((n) => [this.segId[n], this.carried[n]]));
  }

  /** Transfers started per segment id (a path crossing a segment twice counts twice). */
  startsPerSegment(): ReadonlyMap<string, number> {
    return new Map(this.segId.map((id, n) => [id, this.starts[n]] as [string, number]).filter(([, c]) => c > 0));
  }

  private named(id: string): Flow {
    const f = this.byName.get(id);
    if (f === undefined) throw new Error(`sharing: no active transfer '${id}'`);
    return f;
  }
}
