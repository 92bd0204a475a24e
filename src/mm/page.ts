import { PAGE_SIZE } from './constants.ts';

/** What a physical frame is (struct page's zone/pgmap type, folded into one tag). */
export const enum PageKind {
  FREE = 0,
  SYSTEM = 1,
  /** The shared 4 KiB zero page (`is_zero_pfn`). */
  ZERO = 2,
  /** A subpage of the huge zero page: PMD-mapped, read-only, not `is_zero_pfn`. */
  HUGE_ZERO = 3,
  DEVICE_PRIVATE = 4,
  DEVICE_COHERENT = 5,
}

/** struct page flags that the model needs (PG_* and PageAnonExclusive). */
export const PG_ANON = 1;
export const PG_ANON_EXCLUSIVE = 2;
export const PG_DIRTY = 4;
export const PG_LOCKED = 8;
export const PG_HEAD = 16;
export const PG_TAIL = 32;
export const PG_HUGETLB = 64;
/** In a page cache (shmem/tmpfs): `mapping` is a file id, `index` the page offset in it. */
export const PG_FILE = 128;
/** A kernel page inserted into a VM_MIXEDMAP vma by a driver (vm_insert_page). */
export const PG_KERNEL = 256;
/**
 * MADV_FREE'd anon page (PG_swapbacked cleared by mark_page_lazyfree): reclaim may discard it
 * if it is still clean then, even without swap.
 */
export const PG_LAZYFREE = 512;

/**
 * All struct pages of the machine, as parallel typed arrays indexed by pfn (structure of
 * arrays keeps per-page metadata small and allocation-free on hot paths).
 *
 * Invariants (checked by test/invariants.ts):
 * - `refcount` counts every reference: each CPU mapping (present, device-private or
 *   device-exclusive entry), each pin, the page cache's reference, and transient references
 *   taken by an operation in progress. A page with refcount 0 is free.
 * - `mapcount` counts PTE-level CPU mappings of this subpage; `entireMapcount` (head only)
 *   counts PMD-level mappings of the whole folio. Device-exclusive entries hold a reference
 *   but no mapcount (Linux 6.1; 6.15 changed that).
 * - Page contents live in `data`, allocated on first write; a missing entry reads as zeroes.
 */
export class PageStore {
  kind: Uint8Array;
  flags: Uint16Array;
  refcount: Int32Array;
  mapcount: Int32Array;
  entireMapcount: Int32Array;
  pincount: Int32Array;
  /** Owning dev_pagemap id for ZONE_DEVICE pages, else -1. */
  pgmap: Int16Array;
  /** File id (PG_FILE) or 0. */
  mapping: Int32Array;
  /** Anon: the virtual page number it was faulted at. File: page offset in the file. */
  index: Float64Array;
  /** Head pfn of the compound page this page belongs to, or -1 for a small page. */
  head: Float64Array;
  /** Order of the compound page (heads only). */
  order: Uint8Array;
  /** Contents, allocated lazily; undefined reads as zeroes. */
  readonly data = new Map<number, Uint8Array>();
  /** When false (timing-only runs) page contents are not kept at all. */
  keepData: boolean;
  private cap: number;
  /** System frames in use (allocated and not yet freed), for residency metrics. */
  systemInUse = 0;
  /** Next never-used pfn. */
  top = 1;
  private freeSmall: number[] = [];

  constructor(initial = 1024, keepData = true) {
    this.cap = initial;
    this.kind = new Uint8Array(initial);
    this.flags = new Uint16Array(initial);
    this.refcount = new Int32Array(initial);
    this.mapcount = new Int32Array(initial);
    this.entireMapcount = new Int32Array(initial);
    this.pincount = new Int32Array(initial);
    this.pgmap = new Int16Array(initial).fill(-1);
    this.mapping = new Int32Array(initial);
    this.index = new Float64Array(initial);
    this.head = new Float64Array(initial).fill(-1);
    this.order = new Uint8Array(initial);
    this.keepData = keepData;
  }

  private grow(need: number): void {
    if (need <= this.cap) return;
    // Grow by a quarter (at least to `need`): doubling would leave up to half of these 42 bytes
    // per pfn unused. Copies stay amortised O(1) per pfn; the capacity is never observable.
    const cap = Math.max(need, Math.ceil((this.cap * 1.25) / 4096) * 4096);
    const g = <T extends Uint8Array | Uint16Array | Int16Array | Int32Array | Float64Array>(a: T, fill: number): T => {
      const n = new (a.constructor as new (n: number) => T)(cap);
      n.set(a);
      if (fill !== 0) n.fill(fill, this.cap);
      return n;
    };
    this.kind = g(this.kind, 0);
    this.flags = g(this.flags, 0);
    this.refcount = g(this.refcount, 0);
    this.mapcount = g(this.mapcount, 0);
    this.entireMapcount = g(this.entireMapcount, 0);
    this.pincount = g(this.pincount, 0);
    this.pgmap = g(this.pgmap, -1);
    this.mapping = g(this.mapping, 0);
    this.index = g(this.index, 0);
    this.head = g(this.head, -1);
    this.order = g(this.order, 0);
    this.cap = cap;
  }

  /** Reserves `n` contiguous never-used pfns aligned to `align`; returns the first. */
  reserveRange(n: number, align = 1): number {
    const base = Math.ceil(this.top / align) * align;
    this.top = base + n;
    this.grow(this.top);
    return base;
  }

  /** Initialises a frame as an in-use page of `kind` with refcount 1 (like prep_new_page). */
  initPage(pfn: number, kind: PageKind, pgmap = -1): void {
    this.kind[pfn] = kind;
    this.flags[pfn] = 0;
    this.refcount[pfn] = 1;
    this.mapcount[pfn] = 0;
    this.entireMapcount[pfn] = 0;
    this.pincount[pfn] = 0;
    this.pgmap[pfn] = pgmap;
    this.mapping[pfn] = 0;
    this.index[pfn] = 0;
    this.head[pfn] = -1;
    this.order[pfn] = 0;
    if (this.data.size !== 0) this.data.delete(pfn);
  }

  /** Allocates a zeroed 4 KiB system page with refcount 1. */
  allocSystem(): number {
    const pfn = this.freeSmall.length > 0 ? this.freeSmall.pop()! : this.reserveRange(1);
    this.initPage(pfn, PageKind.SYSTEM);
    this.systemInUse++;
    return pfn;
  }

  /**
   * Allocates a zeroed PMD-order compound page (THP or hugetlb) and returns its head pfn.
   * Tails point at the head; the head holds the single refcount.
   */
  allocCompound(order: number, kind: PageKind = PageKind.SYSTEM): number {
    const n = 1 << order;
    const headPfn = this.reserveRange(n, n);
    for (let i = 0; i < n; i++) {
      this.initPage(headPfn + i, kind);
      this.head[headPfn + i] = headPfn;
      this.refcount[headPfn + i] = 0;
      this.flags[headPfn + i] = i === 0 ? PG_HEAD : PG_TAIL;
    }
    this.refcount[headPfn] = 1;
    this.order[headPfn] = order;
    this.systemInUse += n;
    return headPfn;
  }

  /** Returns a system frame to the allocator. Compound frames are never reused. */
  freeFrame(pfn: number): void {
    const wasSmall = this.head[pfn] < 0;
    if (this.kind[pfn] !== PageKind.FREE) this.systemInUse--;
    this.kind[pfn] = PageKind.FREE;
    this.flags[pfn] = 0;
    this.refcount[pfn] = 0;
    this.head[pfn] = -1;
    if (this.data.size !== 0) this.data.delete(pfn);
    if (wasSmall) this.freeSmall.push(pfn);
  }

  /** The pfn holding the refcount for `pfn` (its compound head, or itself). */
  folio(pfn: number): number {
    const h = this.head[pfn];
    return h < 0 ? pfn : h;
  }
  isCompound(pfn: number): boolean {
    return this.head[pfn] >= 0;
  }
  folioNr(pfn: number): number {
    return this.isCompound(pfn) ? 1 << this.order[this.folio(pfn)] : 1;
  }
  hasFlag(pfn: number, f: number): boolean {
    return (this.flags[pfn] & f) !== 0;
  }
  setFlag(pfn: number, f: number): void {
    this.flags[pfn] |= f;
  }
  clearFlag(pfn: number, f: number): void {
    this.flags[pfn] &= ~f;
  }
  isAnon(pfn: number): boolean {
    return this.hasFlag(this.folio(pfn), PG_ANON);
  }
  isDevicePrivate(pfn: number): boolean {
    return this.kind[pfn] === PageKind.DEVICE_PRIVATE;
  }
  isDeviceCoherent(pfn: number): boolean {
    return this.kind[pfn] === PageKind.DEVICE_COHERENT;
  }
  isZoneDevice(pfn: number): boolean {
    return this.kind[pfn] === PageKind.DEVICE_PRIVATE || this.kind[pfn] === PageKind.DEVICE_COHERENT;
  }
  /** Whether any CPU mapping (PTE or PMD) maps this subpage. */
  isMapped(pfn: number): boolean {
    return this.mapcount[pfn] > 0 || this.entireMapcount[this.folio(pfn)] > 0;
  }
  /** Total mappings of a folio as folio_mapcount() would count them. */
  folioMapcount(pfn: number): number {
    const h = this.folio(pfn);
    if (!this.isCompound(pfn)) return this.mapcount[h];
    let n = this.entireMapcount[h] * (1 << this.order[h]);
    for (let i = 0; i < 1 << this.order[h]; i++) n += this.mapcount[h + i];
    return n;
  }

  get(pfn: number): void {
    this.refcount[this.folio(pfn)]++;
  }

  // ---- contents ----

  /** The page's bytes for writing (allocated on demand), or undefined in no-data mode. */
  private writable(pfn: number): Uint8Array | undefined {
    if (!this.keepData) return undefined;
    let d = this.data.get(pfn);
    if (!d) {
      d = new Uint8Array(PAGE_SIZE);
      this.data.set(pfn, d);
    }
    return d;
  }
  /** memset of the whole page. */
  fill(pfn: number, byte: number): void {
    if (!this.keepData) return;
    if (byte === 0) this.data.delete(pfn);
    else this.writable(pfn)!.fill(byte);
  }
  /**
   * Stores a little-endian 32-bit word at byte `offset` (a multiple of 4 below 4096): the unit
   * the timed model's lanes write. A no-op without page data.
   */
  writeU32(pfn: number, offset: number, value: number): void {
    if (!this.keepData) return;
    const b = this.writable(pfn)!;
    b[offset] = value & 0xff;
    b[offset + 1] = (value >>> 8) & 0xff;
    b[offset + 2] = (value >>> 16) & 0xff;
    b[offset + 3] = (value >>> 24) & 0xff;
  }
  /** copy_highpage(dst, src). */
  copy(dst: number, src: number): void {
    if (!this.keepData) return;
    const s = this.data.get(src);
    if (!s) this.data.delete(dst);
    else this.writable(dst)!.set(s);
  }
  /** Read-only view of the bytes; a shared zero buffer for untouched pages. */
  bytes(pfn: number): Uint8Array {
    return this.data.get(pfn) ?? ZERO_BYTES;
  }
  /** Copies the page into `out` at `offset`. */
  readInto(pfn: number, out: Uint8Array, offset: number): void {
    const d = this.data.get(pfn);
    if (d) out.set(d, offset);
    else out.fill(0, offset, offset + PAGE_SIZE);
  }
  /** Copies PAGE_SIZE bytes from `src` at `offset` into the page. */
  writeFrom(pfn: number, src: Uint8Array, offset: number): void {
    if (!this.keepData) return;
    this.writable(pfn)!.set(src.subarray(offset, offset + PAGE_SIZE));
  }
}

/** A page of zeroes, shared and never written. */
export const ZERO_BYTES = new Uint8Array(PAGE_SIZE);
