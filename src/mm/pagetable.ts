import { PMD_NR } from './constants.ts';
import { imod } from './pte.ts';

/**
 * One PMD slot: either a huge leaf (`huge !== 0`, an encoded entry of the head pfn) or a
 * page-table page of 512 encoded PTEs, or neither (pmd_none).
 */
export class Pmd {
  huge = 0;
  ptes: Float64Array | null = null;
}

/**
 * A process's CPU page table: a sparse map of PMD slots keyed by `vpn / 512`. Like the
 * kernel, a PTE table stays allocated once created (zapping clears entries, not tables);
 * whether a PMD is populated is observable through notifier ranges (see mprotect).
 */
export class PageTable {
  readonly pmds = new Map<number, Pmd>();
  /** PUD entries (1 GiB) that have a PMD table: the kernel never frees them here. */
  readonly puds = new Set<number>();
  /**
   * The last PMD slot found by key. Slots are only ever added (never replaced or deleted), so a
   * remembered hit stays right; walks over a range look the same slot up 512 times in a row.
   */
  private lastKey = NaN;
  private lastPmd: Pmd | undefined = undefined;

  private slot(k: number): Pmd | undefined {
    if (k === this.lastKey) return this.lastPmd;
    const p = this.pmds.get(k);
    if (p) {
      this.lastKey = k;
      this.lastPmd = p;
    }
    return p;
  }

  /** Whether the PUD covering `vpn` points at a PMD table (mm_find_pmd finds a slot). */
  pudPresent(vpn: number): boolean {
    return this.puds.has(Math.floor(vpn / (PMD_NR * PMD_NR)));
  }

  pmd(vpn: number): Pmd | undefined {
    return this.slot(Math.floor(vpn / PMD_NR));
  }
  pmdAlloc(vpn: number): Pmd {
    const k = Math.floor(vpn / PMD_NR);
    let p = this.slot(k);
    if (!p) {
      p = new Pmd();
      this.pmds.set(k, p);
      this.puds.add(Math.floor(k / PMD_NR));
      this.lastKey = k;
      this.lastPmd = p;
    }
    return p;
  }
  /** The PTE at `vpn` (0 when none or when the PMD is a huge leaf: check `pmd().huge`). */
  pte(vpn: number): number {
    const p = this.slot(Math.floor(vpn / PMD_NR));
    return p?.ptes ? p.ptes[imod(vpn, PMD_NR)] : 0;
  }
  setPte(vpn: number, e: number): void {
    const p = this.pmdAlloc(vpn);
    if (!p.ptes) p.ptes = new Float64Array(PMD_NR);
    p.ptes[imod(vpn, PMD_NR)] = e;
  }
  clearPte(vpn: number): void {
    const p = this.slot(Math.floor(vpn / PMD_NR));
    if (p?.ptes) p.ptes[imod(vpn, PMD_NR)] = 0;
  }
  /**
   * The populated PMD slots over [start, end), in address order, each with the part of the
   * range it covers: [lo, hi) inside [base, base + 512). `whole` when that is the entire slot.
   */
  *pmdSegments(start: number, end: number): Generator<{ base: number; lo: number; hi: number; pmd: Pmd; whole: boolean }> {
    for (let base = Math.floor(start / PMD_NR) * PMD_NR; base < end; base += PMD_NR) {
      const pmd = this.pmds.get(base / PMD_NR);
      if (!pmd) continue;
      const lo = Math.max(start, base), hi = Math.min(end, base + PMD_NR);
      yield { base, lo, hi, pmd, whole: lo === base && hi === base + PMD_NR };
    }
  }

  /** Visits every non-none PTE in [start, end) in address order. */
  forEachPte(start: number, end: number, fn: (vpn: number, e: number) => void): void {
    for (let base = Math.floor(start / PMD_NR) * PMD_NR; base < end; base += PMD_NR) {
      const p = this.pmds.get(base / PMD_NR);
      if (!p?.ptes) continue;
      const lo = Math.max(start, base), hi = Math.min(end, base + PMD_NR);
      for (let v = lo; v < hi; v++) {
        const e = p.ptes[v - base];
        if (e !== 0) fn(v, e);
      }
    }
  }
}
