import type { NotifyEvent } from './constants.ts';

/** struct mmu_notifier_range: [start, end) in page numbers, with event and owner. */
export interface NotifierRange {
  start: number;
  end: number;
  event: NotifyEvent;
  /** Meaningful for MIGRATE and EXCLUSIVE only: who initiated it (a pgmap owner), or null. */
  owner: unknown;
}

/** A subscriber's callback; it must call `setSeq(curSeq)` before tearing mappings down. */
export type InvalidateFn = (sub: IntervalNotifier, range: NotifierRange, curSeq: number) => boolean;

/**
 * struct mmu_interval_notifier: a subscription to invalidations of [start, last] (pages,
 * inclusive) of one mm, with its own sequence number (mm/mmu_notifier.c).
 */
export class IntervalNotifier {
  invalidateSeq = 0;
  constructor(
    readonly subs: NotifierSubscriptions,
    readonly start: number,
    readonly last: number,
    readonly invalidate: InvalidateFn,
  ) {}
  /** mmu_interval_set_seq: called by the callback under the driver's lock. */
  setSeq(cur: number): void {
    this.invalidateSeq = cur;
  }
  /** mmu_interval_read_begin. Single-threaded model: an invalidation never spans a call. */
  readBegin(): number {
    return this.invalidateSeq;
  }
  /** mmu_interval_read_retry / check_retry. */
  readRetry(seq: number): boolean {
    return this.invalidateSeq !== seq;
  }
}

/**
 * Per-mm notifier state (struct mmu_notifier_subscriptions) implementing the exact sequence
 * protocol: the mm-wide seq starts at 2 and is odd while an invalidation that overlaps a
 * subscription is active; subscriptions inserted then are stamped with the odd value.
 */
export class NotifierSubscriptions {
  seq = 2;
  active = 0;
  readonly subs: IntervalNotifier[] = [];
  private deferredAdd: IntervalNotifier[] = [];
  private deferredDel: IntervalNotifier[] = [];
  /** Count of invalidate_range_start calls, for metrics. */
  invalidations = 0;
  /**
   * Called around the callbacks of one invalidate_range_start that reaches more than one
   * subscriber (the timed model prices a one-pass against a two-pass invalidation there); null
   * in the core, where time does not exist.
   */
  pass: { begin(): void; end(): void } | null = null;

  /** mmu_interval_notifier_insert over pages [start, start+length). */
  insert(start: number, length: number, fn: InvalidateFn): IntervalNotifier {
    const sub = new IntervalNotifier(this, start, start + length - 1, fn);
    if (this.active === 0) {
      sub.invalidateSeq = this.seq - 1;
      this.subs.push(sub);
    } else if ((this.seq & 1) === 0) {
      this.seq |= 1;
      sub.invalidateSeq = this.seq;
      this.subs.push(sub);
    } else {
      sub.invalidateSeq = this.seq;
      this.deferredAdd.push(sub);
    }
    return sub;
  }

  /** mmu_interval_notifier_remove: after it returns no callback runs for `sub`. */
  remove(sub: IntervalNotifier): void {
    const d = this.deferredAdd.indexOf(sub);
    if (d >= 0) {
      this.deferredAdd.splice(d, 1);
      return;
    }
    if (this.active > 0 && (this.seq & 1) === 1) {
      this.deferredDel.push(sub);
      return;
    }
    const i = this.subs.indexOf(sub);
    if (i >= 0) this.subs.splice(i, 1);
  }

  /**
   * invalidate_range_start + end around `fn` (the page-table change). Callbacks run before
   * the change, as in the kernel, so a driver drops its mappings before the CPU side moves.
   */
  invalidate<T>(range: NotifierRange, fn: () => T): T {
    this.start(range);
    try {
      return fn();
    } finally {
      this.end();
    }
  }

  start(range: NotifierRange): void {
    this.active++;
    this.invalidations++;
    // Most invalidations (every CPU COW fault, every migrate_vma run) reach no subscription:
    // find that out without building the list of hits.
    const subs = this.subs;
    let any = false;
    for (let i = 0; i < subs.length && !any; i++) any = subs[i].start <= range.end - 1 && subs[i].last >= range.start;
    if (!any) return;
    const hits = subs.filter((s) => s.start <= range.end - 1 && s.last >= range.start);
    if (hits.length > 0) this.seq |= 1;
    const cur = this.seq;
    const pass = hits.length > 1 ? this.pass : null;
    pass?.begin();
    try {
      for (const s of hits) {
        if (this.deferredDel.includes(s)) continue;
        s.invalidate(s, range, cur);
      }
    } finally {
      pass?.end();
    }
  }

  end(): void {
    this.active--;
    if (this.active === 0 && (this.seq & 1) === 1) {
      this.seq++;
      for (const s of this.deferredAdd) this.subs.push(s);
      this.deferredAdd = [];
      for (const s of this.deferredDel) {
        const i = this.subs.indexOf(s);
        if (i >= 0) this.subs.splice(i, 1);
      }
      this.deferredDel = [];
    }
  }
}
