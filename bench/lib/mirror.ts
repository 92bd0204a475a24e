// A minimal mirroring driver for the bench: an interval notifier over a range of one mm, a
// device page table (one number per page), and hmm_range_fault in runs of up to 512 pages
// with the notifier sequence protocol (read_begin / retry), as a GPU driver's fault path does.
import type { Mm } from '../../src/mm/mm.ts';
import type { IntervalNotifier, NotifierRange } from '../../src/mm/mmu-notifier.ts';
import { NotifyEvent, EBUSY } from '../../src/mm/constants.ts';
import { hmmRangeFault, newHmmRange, HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, type HmmRange } from '../../src/hmm/range-fault.ts';

/** Pages one hmm_range_fault call covers at most. */
export const MIRROR_RUN = 512;

/** Mirrors pages [base, base + n) of `mm` into a device page table. */
export class BenchMirror {
  readonly notifier: IntervalNotifier;
  /** Device page table: 0 none, else pfn * 4 + 2 (writable) + 1 (valid). */
  readonly pt: Float64Array;
  private readonly range: HmmRange;
  /** Invalidations received, and hmm_range_fault retries they caused. */
  invalidations = 0;
  retries = 0;

  constructor(readonly mm: Mm, readonly base: number, readonly n: number, readonly owner: unknown = null) {
    this.pt = new Float64Array(n);
    this.notifier = mm.notifiers.insert(base, n, (sub, range, cur) => this.invalidate(sub, range, cur));
    this.range = newHmmRange(this.notifier, base, base + Math.min(n, MIRROR_RUN), 0, owner);
  }

  private invalidate(sub: IntervalNotifier, range: NotifierRange, cur: number): boolean {
    if (range.event === NotifyEvent.MIGRATE && range.owner === this.owner && this.owner !== null) return true;
    sub.setSeq(cur);
    this.invalidations++;
    const lo = Math.max(range.start, this.base) - this.base, hi = Math.min(range.end, this.base + this.n) - this.base;
    if (hi > lo) this.pt.fill(0, lo, hi);
    return true;
  }

  /**
   * Mirrors [start, end) (inside the notifier's range), faulting what is missing (and making
   * it writable when `write`). Returns the pages mirrored.
   */
  mirror(start: number, end: number, write: boolean): number {
    const r = this.range;
    r.defaultFlags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
    let done = 0;
    for (let a = start; a < end; a += MIRROR_RUN) {
      r.start = a;
      r.end = Math.min(end, a + MIRROR_RUN);
      const len = r.end - r.start;
      for (let tries = 0; ; tries++) {
        if (tries > 100) throw new Error('hmm_range_fault keeps returning -EBUSY');
        r.flags.fill(0, 0, len);
        r.notifierSeq = this.notifier.readBegin();
        const ret = hmmRangeFault(this.mm, r);
        if (ret === -EBUSY) {
          this.retries++;
          continue;
        }
        if (ret) throw new Error(`hmm_range_fault: ${ret}`);
        // Under the driver's lock: commit only if nothing invalidated the range meanwhile.
        if (this.notifier.readRetry(r.notifierSeq)) {
          this.retries++;
          continue;
        }
        break;
      }
      const off = r.start - this.base;
      for (let i = 0; i < len; i++) {
        const f = r.flags[i];
        if (!(f & HMM_PFN_VALID)) continue;
        this.pt[off + i] = r.pfns[i] * 4 + (f & HMM_PFN_WRITE ? 2 : 0) + 1;
        done++;
      }
    }
    return done;
  }

  /** Drops the notifier. */
  remove(): void {
    this.mm.notifiers.remove(this.notifier);
  }
}
