// The link-sharing model as it was before it was made incremental (issue 17): every rate
// recomputed from scratch with string-keyed maps at every start, drain and cancel. Kept as the
// reference test/topology/sharing.test.ts checks the incremental model against, bit for bit.
// Not used by the model.
// Fair sharing of links between concurrent transfers, as a fluid flow model: every active
// transfer gets a max-min fair rate (progressive filling) over all the directed segments it
// crosses, and rates change only when the set of transfers sending data changes. Each direction
// of a full-duplex link is its own segment, so opposite directions never slow each other.
//
// Latency model: a transfer occupies bandwidth only while its bytes are being sent ("draining");
// it completes `latencyPs` after its last byte left the source (pipeline latency of the path),
// so a lone transfer of B bytes over a bottleneck of W bytes/s completes at
// start + ceil(B / W seconds, in ps) + latencyPs. Pass latencyPs = 0 to get pure bandwidth time.

/** The part of a routing Segment the sharing model needs. */
export interface SharedSegment {
  readonly id: string;
  /** Bytes/s in this direction; Infinity = never a bottleneck. */
  readonly bandwidth: number;
}

/** The next transfer to complete and when, integer picoseconds. */
export interface Completion {
  readonly id: string;
  readonly time: number;
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

interface Flow {
  readonly id: string;
  readonly seq: number;
  readonly bytes: number;
  readonly latencyPs: number;
  /** Segment id → number of times the path crosses it (normally 1). */
  readonly uses: ReadonlyMap<string, number>;
  remaining: number;
  /** Current bytes/s; 0 once drained. */
  rate: number;
  /** Time the last byte was sent, or null while draining. */
  drainedAt: number | null;
}

/** Mutable fluid state; LinkSharing owns one and clones it to look ahead. */
class Fluid {
  now: number;
  readonly flows: Flow[];
  readonly capacity: Map<string, number>;
  /** Null in look-ahead clones, which must not touch the counters. */
  readonly carried: Map<string, number> | null;

  constructor(now: number, flows: Flow[], capacity: Map<string, number>, carried: Map<string, number> | null) {
    this.now = now;
    this.flows = flows;
    this.capacity = capacity;
    this.carried = carried;
  }

  clone(): Fluid {
    return new Fluid(this.now, this.flows.map((f) => ({ ...f })), this.capacity, null);
  }

  drainTime(f: Flow): number {
    if (f.drainedAt !== null) return Infinity;
    if (f.remaining <= 0 || f.rate === Infinity) return this.now;
    if (f.rate <= 0) return Infinity;
    return this.now + ceilPs((f.remaining * PS_PER_SECOND) / f.rate);
  }

  nextDrain(): number {
    let t = Infinity;
    for (const f of this.flows) t = Math.min(t, this.drainTime(f));
    return t;
  }

  private credit(f: Flow, bytes: number): void {
    if (this.carried === null || bytes <= 0) return;
    for (const [seg, m] of f.uses) this.carried.set(seg, (this.carried.get(seg) ?? 0) + bytes * m);
  }

  /** Move every draining flow to time t (no drain events strictly before t). */
  private moveTo(t: number): void {
    const dt = t - this.now;
    if (dt > 0) {
      for (const f of this.flows) {
        if (f.drainedAt !== null || f.rate <= 0) continue;
        const sent = f.rate === Infinity ? f.remaining : Math.min(f.remaining, (f.rate * dt) / PS_PER_SECOND);
        f.remaining -= sent;
        this.credit(f, sent);
      }
    }
    this.now = t;
  }

  /** Progress to `target`, handling each drain (and the rate change it causes) in time order. */
  progress(target: number, onDrain?: (f: Flow) => void): void {
    while (true) {
      const tD = this.nextDrain();
      if (tD > target) break;
      const draining = this.flows.filter((f) => this.drainTime(f) === tD);
      this.moveTo(tD);
      for (const f of draining) {
        this.credit(f, f.remaining); // the rounding slack: count exactly `bytes` in total
        f.remaining = 0;
        f.rate = 0;
        f.drainedAt = tD;
        onDrain?.(f);
      }
      this.recomputeRates();
    }
    this.moveTo(target);
  }

  /** Max-min fair rates by progressive filling; deterministic (segments visited in id order). */
  recomputeRates(): void {
    const remCap = new Map<string, number>();
    const load = new Map<string, number>();
    const unfrozen = new Set<Flow>();
    for (const f of this.flows) {
      if (f.drainedAt !== null) continue;
      let constrained = false;
      for (const [seg, m] of f.uses) {
        const cap = this.capacity.get(seg)!;
        if (cap === Infinity) continue;
        constrained = true;
        remCap.set(seg, cap);
        load.set(seg, (load.get(seg) ?? 0) + m);
      }
      if (constrained) unfrozen.add(f);
      else f.rate = Infinity;
    }
    const segIds = [...load.keys()].sort();
    while (unfrozen.size > 0) {
      let bestSeg = '';
      let share = Infinity;
      for (const s of segIds) {
        const l = load.get(s)!;
        if (l <= 0) continue;
        const sh = Math.max(0, remCap.get(s)!) / l;
        if (sh < share) {
          share = sh;
          bestSeg = s;
        }
      }
      for (const f of [...unfrozen]) {
        if (!f.uses.has(bestSeg)) continue;
        f.rate = share;
        unfrozen.delete(f);
        for (const [seg, m] of f.uses) {
          if (!load.has(seg)) continue;
          remCap.set(seg, remCap.get(seg)! - share * m);
          load.set(seg, load.get(seg)! - m);
        }
      }
    }
  }
}

/**
 * Concurrent transfers over shared directed segments. Times are integer picoseconds and never go
 * backwards; byte counts are bytes; rates are bytes/s. Typical driver loop: `start` transfers,
 * schedule an event at `nextCompletion().time`, and at that event `advance(time)` then
 * `finish(id)`; re-query `nextCompletion` after every start/finish because rates change.
 */
export class ReferenceLinkSharing {
  private state = new Fluid(0, [], new Map(), new Map());
  private seq = 0;

  /** Current model time, picoseconds. */
  get now(): number {
    return this.state.now;
  }

  /**
   * Begin sending `bytes` over `path` at time `now` (advancing to it first). `latencyPs` is added
   * after the last byte is sent (use the route's latency, or 0). Rates of all transfers sharing
   * a segment with this one are recomputed.
   */
  start(now: number, id: string, bytes: number, path: readonly SharedSegment[], latencyPs = 0): void {
    if (this.state.flows.some((f) => f.id === id)) throw new Error(`sharing: transfer '${id}' already active`);
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new Error(`sharing: transfer '${id}' has invalid byte count ${bytes}`);
    if (!Number.isInteger(latencyPs) || latencyPs < 0) throw new Error(`sharing: latencyPs must be a non-negative integer, got ${latencyPs}`);
    this.advance(now);
    const uses = new Map<string, number>();
    for (const seg of path) {
      if (!(seg.bandwidth > 0)) throw new Error(`sharing: segment '${seg.id}' has non-positive bandwidth`);
      const known = this.state.capacity.get(seg.id);
      if (known !== undefined && known !== seg.bandwidth) {
        throw new Error(`sharing: segment '${seg.id}' declared with bandwidth ${seg.bandwidth}, already known as ${known}`);
      }
      this.state.capacity.set(seg.id, seg.bandwidth);
      uses.set(seg.id, (uses.get(seg.id) ?? 0) + 1);
    }
    this.state.flows.push({ id, seq: this.seq++, bytes, latencyPs, uses, remaining: bytes, rate: 0, drainedAt: null });
    this.state.recomputeRates();
    // A zero-byte (or unconstrained) transfer drains immediately, freeing its share at once.
    this.state.progress(now);
  }

  /** Progress all transfers to `now` (integer ps, not before the current time). */
  advance(now: number): void {
    if (!Number.isInteger(now)) throw new Error(`sharing: time must be integer picoseconds, got ${now}`);
    if (now < this.state.now) throw new Error(`sharing: time went backwards (${now} < ${this.state.now})`);
    this.state.progress(now);
  }

  /**
   * Earliest completion (last byte sent + latency) assuming no further transfers start; accounts
   * for transfers that speed up when others drain. Ties go to the earlier-started transfer.
   * Null when nothing is active.
   */
  nextCompletion(): Completion | null {
    let best: Flow | null = null;
    let bestTime = Infinity;
    const consider = (f: Flow) => {
      const t = f.drainedAt! + f.latencyPs;
      if (t < bestTime || (t === bestTime && best !== null && f.seq < best.seq)) {
        best = f;
        bestTime = t;
      }
    };
    for (const f of this.state.flows) if (f.drainedAt !== null) consider(f);
    const sim = this.state.clone();
    while (true) {
      const tD = sim.nextDrain();
      if (tD === Infinity || tD > bestTime) break;
      sim.progress(tD, consider);
    }
    return best === null ? null : { id: (best as Flow).id, time: bestTime };
  }

  /** Remove a completed transfer; throws if it has not completed by the current time. */
  finish(id: string): void {
    const i = this.state.flows.findIndex((f) => f.id === id);
    if (i < 0) throw new Error(`sharing: no active transfer '${id}'`);
    const f = this.state.flows[i];
    if (f.drainedAt === null || f.drainedAt + f.latencyPs > this.state.now) {
      throw new Error(`sharing: transfer '${id}' has not completed at ${this.state.now}`);
    }
    this.state.flows.splice(i, 1);
  }

  /** Abort a transfer; returns the bytes it had not sent. Bytes already sent stay counted. */
  cancel(id: string): number {
    const i = this.state.flows.findIndex((f) => f.id === id);
    if (i < 0) throw new Error(`sharing: no active transfer '${id}'`);
    const [f] = this.state.flows.splice(i, 1);
    this.state.recomputeRates();
    return f.remaining;
  }

  /** Current rate of a transfer, bytes/s (0 once its bytes are all sent). */
  rateOf(id: string): number {
    return this.flow(id).rate;
  }

  /** Bytes a transfer still has to send. */
  remainingOf(id: string): number {
    return this.flow(id).remaining;
  }

  /** Ids of transfers not yet finished, in start order. */
  activeIds(): string[] {
    return this.state.flows.map((f) => f.id);
  }

  /** Total bytes carried by a segment so far (utilisation = delta bytes / (bandwidth × delta t)). */
  bytesCarried(segmentId: string): number {
    return this.state.carried!.get(segmentId) ?? 0;
  }

  /** Snapshot of all per-segment carried-byte counters. */
  carriedBytes(): ReadonlyMap<string, number> {
    return new Map(this.state.carried!);
  }

  private flow(id: string): Flow {
    const f = this.state.flows.find((x) => x.id === id);
    if (f === undefined) throw new Error(`sharing: no active transfer '${id}'`);
    return f;
  }
}
