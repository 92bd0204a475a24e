// A device TLB (GPU uTLB/L2 TLB, an IOMMU's IOTLB or a PCIe ATC) as a fully associative LRU of
// translations. Each entry caches one translation of the size the device's page table maps at
// that address (4 KiB, 64 KiB, 2 MiB... from the profile's memory.pageSizes), as a GPU TLB or an
// ATS translation completion does; so reach is entries × the page sizes actually in use, not a
// profile constant. Which size a translation has is the driver's business (TimedDevice.mappingPages).

/** TLB counters. */
export interface TlbStats {
  hits: number;
  misses: number;
  /** Invalidation requests (one per range invalidated, whatever its size). */
  invalidations: number;
}

/** Tags are (space, size index) × 2^36 + the page's index at that size: vpns stay below 2^36. */
const VPN_SPACE = 2 ** 36;
/** Page sizes a TLB may hold (8 is more than any MMU has). */
const MAX_SIZES = 8;

/** Fully associative LRU TLB over translations of mixed page sizes. */
export class Tlb {
  private readonly lru = new Map<number, true>();
  readonly stats: TlbStats = { hits: 0, misses: 0, invalidations: 0 };

  /**
   * @param entries translations held, ≥ 1
   * @param sizes page sizes an entry may cover, in 4 KiB pages: ascending powers of two, the
   *   first 1 (default [1]: 4 KiB only)
   */
  constructor(readonly entries: number, readonly sizes: readonly number[] = [1]) {
    if (!Number.isInteger(entries) || entries < 1) throw new RangeError(`tlb entries must be a positive integer, got ${entries}`);
    const ok = sizes.length >= 1 && sizes.length <= MAX_SIZES && sizes[0] === 1
      && sizes.every((s, i) => Number.isInteger(Math.log2(s)) && (i === 0 || s > sizes[i - 1]));
    if (!ok) throw new RangeError(`tlb page sizes must be ascending powers of two starting at one page, got ${sizes.join(', ')}`);
  }

  private tag(space: number, idx: number, vpn: number): number {
    return (space * MAX_SIZES + idx) * VPN_SPACE + Math.floor(vpn / this.sizes[idx]);
  }

  /**
   * Looks up the translation of `vpn` (in address space `space`) at every page size; a miss
   * fills it at the size `pagesOf()` says the mapping has (rounded down to a size the TLB
   * holds). Returns true on a hit.
   */
  lookup(space: number, vpn: number, pagesOf: () => number = () => 1): boolean {
    if (this.hit(space, vpn)) return true;
    this.fill(space, vpn, pagesOf());
    return false;
  }

  /**
   * The lookup half of `lookup`: true, and the translation becomes the most recent, if one of
   * any size covers `vpn`; false (a miss, counted) otherwise, and the caller then `fill`s.
   * Split so that the fault path asks the mapping's size only on a miss without a closure per access.
   */
  hit(space: number, vpn: number): boolean {
    for (let i = 0; i < this.sizes.length; i++) {
      const tag = this.tag(space, i, vpn);
      if (this.lru.has(tag)) {
        this.lru.delete(tag);
        this.lru.set(tag, true);
        this.stats.hits++;
        return true;
      }
    }
    this.stats.misses++;
    return false;
  }

  /** Caches the translation of `vpn` after a miss, as a `pages`-page mapping (rounded down to a size held). */
  fill(space: number, vpn: number, pages: number): void {
    let idx = 0;
    while (idx + 1 < this.sizes.length && this.sizes[idx + 1] <= pages) idx++;
    this.lru.set(this.tag(space, idx, vpn), true);
    if (this.lru.size > this.entries) this.lru.delete(this.lru.keys().next().value!);
  }

  /** Drops translations overlapping pages [start, end) of `space`; counts one invalidation request. */
  invalidate(space: number, start: number, end: number): void {
    this.stats.invalidations++;
    if (end <= start) return;
    let tags = 0;
    for (const s of this.sizes) tags += Math.floor((end - 1) / s) - Math.floor(start / s) + 1;
    if (tags > this.lru.size) {
      for (const tag of [...this.lru.keys()]) {
        const key = Math.floor(tag / VPN_SPACE);
        if (Math.floor(key / MAX_SIZES) !== space) continue;
        const size = this.sizes[key % MAX_SIZES];
        const first = (tag - key * VPN_SPACE) * size;
        if (first < end && first + size > start) this.lru.delete(tag);
      }
      return;
    }
    for (let i = 0; i < this.sizes.length; i++) {
      const s = this.sizes[i];
      for (let t = Math.floor(start / s); t <= Math.floor((end - 1) / s); t++) this.lru.delete((space * MAX_SIZES + i) * VPN_SPACE + t);
    }
  }

  /** Translations currently held. */
  get size(): number {
    return this.lru.size;
  }
}
