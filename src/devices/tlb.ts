// A device TLB (GPU uTLB/L2 TLB, an IOMMU's IOTLB or a PCIe ATC) as a fully associative LRU of
// translations. The profile gives entries and reach; reach / entries is the page size one entry
// covers, so a profile that maps 2 MiB pages gets 2 MiB tags.

/** TLB counters. */
export interface TlbStats {
  hits: number;
  misses: number;
  /** Invalidation requests (one per range invalidated, whatever its size). */
  invalidations: number;
}

/** Fully associative LRU TLB over page-number tags. */
export class Tlb {
  /** 4 KiB pages one entry covers (a power of two ≥ 1). */
  readonly tagPages: number;
  private readonly lru = new Map<number, true>();
  readonly stats: TlbStats = { hits: 0, misses: 0, invalidations: 0 };

  /**
   * @param entries translations held, ≥ 1
   * @param reachBytes bytes covered when full; reach / entries is rounded down to a power of two ≥ 4 KiB
   */
  constructor(readonly entries: number, reachBytes: number) {
    if (!Number.isInteger(entries) || entries < 1) throw new RangeError(`tlb entries must be a positive integer, got ${entries}`);
    const per = Math.max(1, Math.floor(reachBytes / entries / 4096));
    this.tagPages = 2 ** Math.floor(Math.log2(per));
  }

  /** Looks up the translation of `vpn` (in address space `space`); a miss fills it. Returns true on a hit. */
  lookup(space: number, vpn: number): boolean {
    const tag = space * 2 ** 40 + Math.floor(vpn / this.tagPages);
    if (this.lru.has(tag)) {
      this.lru.delete(tag);
      this.lru.set(tag, true);
      this.stats.hits++;
      return true;
    }
    this.stats.misses++;
    this.lru.set(tag, true);
    if (this.lru.size > this.entries) this.lru.delete(this.lru.keys().next().value!);
    return false;
  }

  /** Drops translations of pages [start, end) of `space`; counts one invalidation request. */
  invalidate(space: number, start: number, end: number): void {
    this.stats.invalidations++;
    if (end <= start) return;
    const first = Math.floor(start / this.tagPages), last = Math.floor((end - 1) / this.tagPages);
    const base = space * 2 ** 40;
    if (last - first + 1 > this.lru.size) {
      for (const tag of [...this.lru.keys()]) {
        const t = tag - base;
        if (t >= first && t <= last) this.lru.delete(tag);
      }
    } else {
      for (let t = first; t <= last; t++) this.lru.delete(base + t);
    }
  }

  /** Translations currently held. */
  get size(): number {
    return this.lru.size;
  }
}
