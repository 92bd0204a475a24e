// A device TLB (GPU uTLB/L2 TLB, an IOMMU's IOTLB or a PCIe ATC) as a fully associative LRU of
// translations. Each entry caches one translation of the size the device's page table maps at
// that address (4 KiB, 64 KiB, 2 MiB... from the profile's memory.pageSizes), as a GPU TLB or an
// ATS translation completion does; so reach is entries × the page sizes actually in use, not a
// profile constant. Which size a translation has is the driver's business (TimedDevice.mappingPages).
import { grown } from '../units/typed-array.ts';

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

/** No slot (end of a list or chain, empty bucket). */
const NIL = -1;
/** Slots allocated at first; the tables double up to `entries` as translations fill them. */
const INITIAL_SLOTS = 1024;

/**
 * Fully associative LRU TLB over translations of mixed page sizes. The translations live in
 * slots of typed arrays: the tag, a doubly linked recency list (least recent first) and a hash
 * chain per bucket. A Map of tags had been a hash of boxed numbers whose LRU deletions left
 * holes that every `keys().next()` walked past (thousands per fill on a full TLB) and a heap
 * number per lookup for the garbage collector; here every lookup, fill and eviction is O(1).
 */
export class Tlb {
  private tags: Float64Array;
  /** Recency list: the slot used just before / just after each slot. */
  private older: Int32Array;
  private newer: Int32Array;
  /** Hash chain: the next slot in the same bucket. */
  private chain: Int32Array;
  private buckets: Int32Array;
  /** Least and most recently used slots. */
  private lru = NIL;
  private mru = NIL;
  /** Slots in use; unused slots are `live` .. capacity - 1 plus those on the free stack. */
  private live = 0;
  private highWater = 0;
  private readonly freeSlots: number[] = [];
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
    const slots = Math.min(entries, INITIAL_SLOTS);
    this.tags = new Float64Array(slots);
    this.older = new Int32Array(slots);
    this.newer = new Int32Array(slots);
    this.chain = new Int32Array(slots);
    this.buckets = new Int32Array(bucketsFor(slots)).fill(NIL);
  }

  private tag(space: number, idx: number, vpn: number): number {
    return (space * MAX_SIZES + idx) * VPN_SPACE + Math.floor(vpn / this.sizes[idx]);
  }

  /** Bucket of a tag: a multiplicative hash of its low and high 32 bits. */
  private bucketOf(tag: number): number {
    const lo = tag >>> 0, hi = Math.floor(tag / 2 ** 32) >>> 0;
    return (Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 0) & (this.buckets.length - 1);
  }

  /** Slot holding `tag`, or NIL. */
  private find(tag: number): number {
    for (let s = this.buckets[this.bucketOf(tag)]; s !== NIL; s = this.chain[s]) if (this.tags[s] === tag) return s;
    return NIL;
  }

  private unlinkRecency(s: number): void {
    const o = this.older[s], n = this.newer[s];
    if (o === NIL) this.lru = n;
    else this.newer[o] = n;
    if (n === NIL) this.mru = o;
    else this.older[n] = o;
  }

  private pushMostRecent(s: number): void {
    this.older[s] = this.mru;
    this.newer[s] = NIL;
    if (this.mru === NIL) this.lru = s;
    else this.newer[this.mru] = s;
    this.mru = s;
  }

  private unlinkChain(s: number): void {
    const b = this.bucketOf(this.tags[s]);
    if (this.buckets[b] === s) {
      this.buckets[b] = this.chain[s];
      return;
    }
    let p = this.buckets[b];
    while (this.chain[p] !== s) p = this.chain[p];
    this.chain[p] = this.chain[s];
  }

  private insert(tag: number): void {
    let s: number;
    if (this.freeSlots.length > 0) s = this.freeSlots.pop()!;
    else {
      if (this.highWater === this.tags.length) this.grow();
      s = this.highWater++;
    }
    this.tags[s] = tag;
    const b = this.bucketOf(tag);
    this.chain[s] = this.buckets[b];
    this.buckets[b] = s;
    this.pushMostRecent(s);
    this.live++;
  }

  private remove(s: number): void {
    this.unlinkChain(s);
    this.unlinkRecency(s);
    this.freeSlots.push(s);
    this.live--;
  }

  /** Doubles the slots (up to `entries`) and rehashes; the recency list keeps its order. */
  private grow(): void {
    const slots = Math.min(this.entries, this.tags.length * 2);
    this.tags = grown(this.tags, slots);
    this.older = grown(this.older, slots);
    this.newer = grown(this.newer, slots);
    this.chain = new Int32Array(slots);
    this.buckets = new Int32Array(bucketsFor(slots)).fill(NIL);
    for (let s = this.lru; s !== NIL; s = this.newer[s]) {
      const b = this.bucketOf(this.tags[s]);
      this.chain[s] = this.buckets[b];
      this.buckets[b] = s;
    }
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
      const s = this.find(this.tag(space, i, vpn));
      if (s !== NIL) {
        this.unlinkRecency(s);
        this.pushMostRecent(s);
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
    const tag = this.tag(space, idx, vpn);
    const s = this.find(tag);
    if (s !== NIL) {
      // Already held (a caller that filled without asking first): it becomes the most recent.
      this.unlinkRecency(s);
      this.pushMostRecent(s);
      return;
    }
    // Full: the least recently used translation makes room (its slot takes the new one).
    if (this.live === this.entries) this.remove(this.lru);
    this.insert(tag);
  }

  /** Drops translations overlapping pages [start, end) of `space`; counts one invalidation request. */
  invalidate(space: number, start: number, end: number): void {
    this.stats.invalidations++;
    if (end <= start) return;
    let tags = 0;
    for (const s of this.sizes) tags += Math.floor((end - 1) / s) - Math.floor(start / s) + 1;
    if (tags > this.live) {
      // A range wider than the TLB's contents: test each held translation instead.
      for (let s = this.lru; s !== NIL;) {
        const next = this.newer[s];
        const tag = this.tags[s], key = Math.floor(tag / VPN_SPACE);
        if (Math.floor(key / MAX_SIZES) === space) {
          const size = this.sizes[key % MAX_SIZES];
          const first = (tag - key * VPN_SPACE) * size;
          if (first < end && first + size > start) this.remove(s);
        }
        s = next;
      }
      return;
    }
    for (let i = 0; i < this.sizes.length; i++) {
      const sz = this.sizes[i];
      for (let t = Math.floor(start / sz); t <= Math.floor((end - 1) / sz); t++) {
        const s = this.find((space * MAX_SIZES + i) * VPN_SPACE + t);
        if (s !== NIL) this.remove(s);
      }
    }
  }

  /** Translations currently held. */
  get size(): number {
    return this.live;
  }
}

/** Hash buckets for `slots` translations: a power of two, at least twice as many (short chains). */
function bucketsFor(slots: number): number {
  return 2 ** Math.ceil(Math.log2(2 * slots));
}
