import { PAGE_SIZE } from './constants.ts';
import { PageContents } from './page-data.ts';

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
 * On the head of an anonymous THP: PG_partially_mapped (6.12), set by __folio_remove_rmap
 * (mm/rmap.c) when an unmap leaves some of the folio's pages mapped and others not, and kept
 * until the folio is split or freed. Only kept where the kernel reads it
 * (KernelSwitches.migrateSplitsPartiallyMappedThp; rmap.ts notePartiallyMapped).
 */
export const PG_PARTIALLY_MAPPED = 1024;

/** Bits of `flags` above the PG_* flags: a compound page's order, on its head and on every tail. */
const ORDER_SHIFT = 11;
const COMPOUND = PG_HEAD | PG_TAIL;
/** PG_HEAD, PG_TAIL and the order bits: what `clearCompound` drops. */
const COMPOUND_BITS = COMPOUND | (0x1f << ORDER_SHIFT);
const TWO32 = 2 ** 32;
const TWO_MINUS32 = 2 ** -32;
/** `indexHi` value meaning "the index is in `indexWide`". */
const INDEX_WIDE = 255;

/** The typed arrays a PageStore keeps per pfn. */
type PageArray = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/**
 * All struct pages of the machine, indexed by pfn. What nearly every page has is dense
 * (structure of arrays: 16 bytes a pfn); what few pages have lives in sparse tables keyed by
 * pfn, read and written through methods:
 *
 * | field | where | per pfn |
 * | --- | --- | --- |
 * | `kind` | dense `Uint8Array` | 1 |
 * | `flags` (PG_*; bits 11..15 hold a compound page's order) | dense `Uint16Array` | 2 |
 * | `refcount`, `mapcount` | dense `Int32Array`s | 8 |
 * | index (`indexOf`/`setIndex`) | dense: low 32 bits `Uint32Array` + high 8 bits `Uint8Array`; an index of 255·2^32 or more (or not a non-negative integer) goes to a sparse table | 5 |
 * | compound head (`folio`) and order (`orderOf`) | derived: compound pages are aligned to their size, so a tail's head is its pfn rounded down to the order in its flags | 0 |
 * | entire (PMD) mapcount | sparse, compound heads that are PMD-mapped | 0 |
 * | pin count | sparse, pinned folios | 0 |
 * | mapping (file id) | sparse, page-cache pages | 0 |
 * | pgmap | derived from the registered ZONE_DEVICE pfn ranges (`setPgmap`) | 0 |
 *
 * A sparse entry exists only while its value is non-zero (0 and absent read the same). Every
 * field reads as it did when each was a per-pfn array (frees reset what they reset, stale values
 * stay stale), except a compound page's order: tails know it too, and a freed head forgets it
 * (nothing reads it on either); src/mm/page.test.ts checks this against that layout.
 *
 * Invariants (checked by test/invariants.ts):
 * - `refcount` counts every reference: each CPU mapping (present, device-private or
 *   device-exclusive entry), each pin, the page cache's reference, and transient references
 *   taken by an operation in progress. A page with refcount 0 is free.
 * - `mapcount` counts PTE-level CPU mappings of this subpage; the entire mapcount (head only)
 *   counts PMD-level mappings of the whole folio. Device-exclusive entries hold a reference
 *   but no mapcount (Linux 6.1; 6.15 changed that).
 * - Page contents live in `contents` (slabs of 4 KiB slots, page-data.ts), a slot given on the
 *   first non-zero write; a pfn without one reads as zeroes. Null in no-data mode.
 *
 * `index`, `head`, `order`, `entireMapcount`, `pincount`, `mapping` and `pgmap` are also
 * readable as dense arrays indexed by pfn, for code outside the mm core that indexes them
 * directly (tests, the timed machine's pgmap lookup). Such a view is built on first read and
 * then kept current by every write, so it costs memory only in processes that ask for it;
 * the model itself never does.
 */
export class PageStore {
  kind: Uint8Array;
  flags: Uint16Array;
  refcount: Int32Array;
  mapcount: Int32Array;
  /** Low 32 bits of the index (anon: the virtual page number it was faulted at; file: page offset). */
  private indexLo: Uint32Array;
  /** Bits 32..39 of the index, or INDEX_WIDE. */
  private indexHi: Uint8Array;
  /** Indexes that do not fit in 40 bits (or are not non-negative integers), by pfn. */
  private readonly indexWide = new Map<number, number>();
  /** Entire (PMD) mapcounts of compound heads, by head pfn; absent is 0. */
  private readonly entire = new Map<number, number>();
  /** Pin counts (FOLL_PIN), by folio pfn; absent is 0. */
  private readonly pins = new Map<number, number>();
  /** File ids of page-cache pages (PG_FILE), by pfn; absent is 0. */
  private readonly files = new Map<number, number>();
  /** ZONE_DEVICE pfn ranges [start, end) with their dev_pagemap ids, sorted by start, disjoint. */
  private pmStart: number[] = [];
  private pmEnd: number[] = [];
  private pmId: number[] = [];
  /** The range the last pgmap lookup found ([start, end) empty until one is found). */
  private pmLastStart = 0;
  private pmLastEnd = 0;
  private pmLastId = -1;
  /**
   * False until a sparse table, the contents or a dense view could hold something for some pfn:
   * until then initPage and setIndex skip them (the common case of anon pages without data).
   */
  private aux = false;
  /** Contents by pfn, or null when page contents are not kept at all (timing-only runs). */
  readonly contents: PageContents | null;
  /** When false (timing-only runs) page contents are not kept at all. */
  get keepData(): boolean {
    return this.contents !== null;
  }
  private cap: number;
  /** System frames in use (allocated and not yet freed), for residency metrics. */
  systemInUse = 0;
  /** System frames in use per NUMA node (what a node's capacity bounds, System.hasRoom). */
  readonly nodeInUse: number[] = [0];
  /** Next never-used pfn. */
  top = 1;
  /** Freed small frames, per NUMA node (a frame keeps its node for life). */
  private freeSmall: number[][] = [[]];
  /**
   * NUMA node of each pfn, or null while every page is on node 0 (the common single-node
   * case pays nothing). Device pages read as node 0: move_pages never reports their node.
   */
  private nodeArr: Uint8Array | null = null;
  // Dense views of the sparse and derived fields, null until first read (see the class comment).
  private vIndex: Float64Array | null = null;
  private vHead: Float64Array | null = null;
  private vOrder: Uint8Array | null = null;
  private vEntire: Int32Array | null = null;
  private vPin: Int32Array | null = null;
  private vMapping: Int32Array | null = null;
  private vPgmap: Int32Array | null = null;

  constructor(initial = 1024, keepData = true) {
    this.cap = initial;
    this.kind = new Uint8Array(initial);
    this.flags = new Uint16Array(initial);
    this.refcount = new Int32Array(initial);
    this.mapcount = new Int32Array(initial);
    this.indexLo = new Uint32Array(initial);
    this.indexHi = new Uint8Array(initial);
    this.contents = keepData ? new PageContents(initial) : null;
  }

  private grow(need: number): void {
    if (need <= this.cap) return;
    // Grow by a quarter (at least to `need`): doubling would leave up to half of these 16 bytes
    // per pfn unused. Copies stay amortised O(1) per pfn; the capacity is never observable.
    const cap = Math.max(need, Math.ceil((this.cap * 1.25) / 4096) * 4096);
    const g = <T extends PageArray>(a: T, fill: number): T => {
      const n = new (a.constructor as new (n: number) => T)(cap);
      n.set(a);
      if (fill !== 0) n.fill(fill, this.cap);
      return n;
    };
    this.kind = g(this.kind, 0);
    this.flags = g(this.flags, 0);
    this.refcount = g(this.refcount, 0);
    this.mapcount = g(this.mapcount, 0);
    this.indexLo = g(this.indexLo, 0);
    this.indexHi = g(this.indexHi, 0);
    if (this.vIndex) this.vIndex = g(this.vIndex, 0);
    if (this.vHead) this.vHead = g(this.vHead, -1);
    if (this.vOrder) this.vOrder = g(this.vOrder, 0);
    if (this.vEntire) this.vEntire = g(this.vEntire, 0);
    if (this.vPin) this.vPin = g(this.vPin, 0);
    if (this.vMapping) this.vMapping = g(this.vMapping, 0);
    if (this.vPgmap) this.vPgmap = g(this.vPgmap, -1);
    if (this.nodeArr) this.nodeArr = g(this.nodeArr, 0);
    this.contents?.grow(cap);
    this.cap = cap;
  }

  /** The typed arrays this store holds (dense fields and any views built), for memory figures. */
  metadataArrays(): PageArray[] {
    const views = [this.vIndex, this.vHead, this.vOrder, this.vEntire, this.vPin, this.vMapping, this.vPgmap];
    return [this.kind, this.flags, this.refcount, this.mapcount, this.indexLo, this.indexHi, ...views.filter((v) => v !== null), ...(this.nodeArr ? [this.nodeArr] : []),
      ...(this.contents ? this.contents.perPfnArrays() : [])];
  }

  /** Reserves `n` contiguous never-used pfns aligned to `align`; returns the first. */
  reserveRange(n: number, align = 1): number {
    const base = Math.ceil(this.top / align) * align;
    this.top = base + n;
    this.grow(this.top);
    return base;
  }

  /** Initialises a frame as an in-use page of `kind` with refcount 1 (like prep_new_page). */
  initPage(pfn: number, kind: PageKind): void {
    this.kind[pfn] = kind;
    this.flags[pfn] = 0;
    this.refcount[pfn] = 1;
    this.mapcount[pfn] = 0;
    this.indexLo[pfn] = 0;
    this.indexHi[pfn] = 0;
    if (this.contents !== null) this.contents.drop(pfn);
    if (this.aux) this.initAux(pfn);
  }
  /** initPage's part for the sparse tables and views. */
  private initAux(pfn: number): void {
    if (this.indexWide.size !== 0) this.indexWide.delete(pfn);
    if (this.entire.size !== 0) this.entire.delete(pfn);
    if (this.pins.size !== 0) this.pins.delete(pfn);
    if (this.files.size !== 0) this.files.delete(pfn);
    if (this.vIndex) this.vIndex[pfn] = 0;
    if (this.vHead) this.vHead[pfn] = -1;
    if (this.vOrder) this.vOrder[pfn] = 0;
    if (this.vEntire) this.vEntire[pfn] = 0;
    if (this.vPin) this.vPin[pfn] = 0;
    if (this.vMapping) this.vMapping[pfn] = 0;
  }

  /** NUMA node of `pfn` (0 for device pages and for every page of a single-node machine). */
  nodeOf(pfn: number): number {
    return this.nodeArr === null ? 0 : this.nodeArr[pfn];
  }
  /** Records that frames [pfn, pfn+n) belong to `node` (0..255). */
  private setNode(pfn: number, n: number, node: number): void {
    if (node === 0 && this.nodeArr === null) return;
    if (!(Number.isInteger(node) && node >= 0 && node < 256)) throw new RangeError(`NUMA node ${node} out of range`);
    this.nodeArr ??= new Uint8Array(this.cap);
    this.nodeArr.fill(node, pfn, pfn + n);
    while (this.freeSmall.length <= node) this.freeSmall.push([]);
  }

  /** Allocates a zeroed 4 KiB system page with refcount 1 on NUMA node `node`. */
  allocSystem(node = 0): number {
    const free = this.freeSmall[node];
    let pfn: number;
    if (free !== undefined && free.length > 0) pfn = free.pop()!;
    else {
      pfn = this.reserveRange(1);
      this.setNode(pfn, 1, node);
    }
    this.initPage(pfn, PageKind.SYSTEM);
    this.systemInUse++;
    this.nodeInUse[node] = (this.nodeInUse[node] ?? 0) + 1;
    return pfn;
  }

  /**
   * Allocates a zeroed compound page of `order` (THP or hugetlb), aligned to its size, and
   * returns its head pfn. Tails point at the head; the head holds the single refcount.
   */
  allocCompound(order: number, kind: PageKind = PageKind.SYSTEM, node = 0): number {
    if (!(order >= 0 && order <= 30)) throw new RangeError(`compound order ${order} out of range`);
    const n = 1 << order;
    const headPfn = this.reserveRange(n, n);
    this.setNode(headPfn, n, node);
    const bits = order << ORDER_SHIFT;
    for (let i = 0; i < n; i++) {
      this.initPage(headPfn + i, kind);
      this.refcount[headPfn + i] = 0;
      this.flags[headPfn + i] = bits | (i === 0 ? PG_HEAD : PG_TAIL);
      if (this.vHead) this.vHead[headPfn + i] = headPfn;
    }
    this.refcount[headPfn] = 1;
    if (this.vOrder) this.vOrder[headPfn] = order;
    this.systemInUse += n;
    this.nodeInUse[node] = (this.nodeInUse[node] ?? 0) + n;
    return headPfn;
  }

  /**
   * zone_device_folio_init(folio, pgmap, order) for a large ZONE_DEVICE folio: the aligned
   * frames [head, head + 2^order) of a pagemap, already handed out by their driver, become one
   * folio of `order` whose head holds the single reference. No accounting changes: device
   * frames are not system memory.
   */
  makeDeviceCompound(head: number, order: number): void {
    const n = 1 << order;
    if (head % n !== 0) throw new RangeError(`device folio head ${head} not aligned to order ${order}`);
    const bits = order << ORDER_SHIFT;
    for (let i = 0; i < n; i++) {
      this.flags[head + i] = bits | (i === 0 ? PG_HEAD : PG_TAIL);
      this.refcount[head + i] = 0;
      this.mapcount[head + i] = 0;
      if (this.vHead) this.vHead[head + i] = head;
    }
    this.refcount[head] = 1;
    if (this.vOrder) this.vOrder[head] = order;
  }

  /** Dissolves `pfn`'s part of a compound page (split_huge_page): it becomes a small page. */
  clearCompound(pfn: number): void {
    this.flags[pfn] &= ~COMPOUND_BITS;
    if (this.vHead) this.vHead[pfn] = -1;
    if (this.vOrder) this.vOrder[pfn] = 0;
  }

  /** Returns a system frame to the allocator. Compound frames are never reused. */
  freeFrame(pfn: number): void {
    const wasSmall = (this.flags[pfn] & COMPOUND) === 0;
    if (this.kind[pfn] !== PageKind.FREE) {
      this.systemInUse--;
      this.nodeInUse[this.nodeOf(pfn)]--;
    }
    this.kind[pfn] = PageKind.FREE;
    this.flags[pfn] = 0;
    this.refcount[pfn] = 0;
    if (this.vHead) this.vHead[pfn] = -1;
    if (this.contents !== null) this.contents.drop(pfn);
    if (wasSmall) this.freeSmall[this.nodeOf(pfn)].push(pfn);
  }

  /** The pfn holding the refcount for `pfn` (its compound head, or itself). */
  folio(pfn: number): number {
    // Small enough to be inlined everywhere whatever else a compiled loop holds (V8 always
    // inlines the smallest functions): the tail's arithmetic is a call of its own.
    return (this.flags[pfn] & PG_TAIL) === 0 ? pfn : this.tailHead(pfn);
  }
  /** folio() of a tail page. */
  private tailHead(pfn: number): number {
    // Compound pages are aligned to their size: the head is the pfn with the low `order` bits
    // cleared (`&` keeps the low 32 bits of any pfn, which is all it needs).
    return pfn - (pfn & ((1 << (this.flags[pfn] >>> ORDER_SHIFT)) - 1));
  }
  isCompound(pfn: number): boolean {
    return (this.flags[pfn] & COMPOUND) !== 0;
  }
  /** Order of the compound page `pfn` belongs to (0 for a small page). */
  orderOf(pfn: number): number {
    return (this.flags[pfn] & COMPOUND) !== 0 ? this.flags[pfn] >>> ORDER_SHIFT : 0;
  }
  folioNr(pfn: number): number {
    return this.isCompound(pfn) ? 1 << (this.flags[pfn] >>> ORDER_SHIFT) : 1;
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
    if (this.mapcount[pfn] > 0) return true;
    return this.entire.size !== 0 && (this.entire.get(this.folio(pfn)) ?? 0) > 0;
  }
  /**
   * page_mapcount(): this subpage's PTE mappings plus its folio's PMD mappings (a hugetlb
   * page counts only the latter).
   */
  pageMapcount(pfn: number): number {
    if ((this.flags[pfn] & COMPOUND) === 0) return this.mapcount[pfn];
    const h = this.folio(pfn);
    return (this.hasFlag(h, PG_HUGETLB) ? 0 : this.mapcount[pfn]) + this.entireMapcountOf(h);
  }
  /** Total mappings of a folio as folio_mapcount() would count them. */
  folioMapcount(pfn: number): number {
    const h = this.folio(pfn);
    if (!this.isCompound(pfn)) return this.mapcount[h];
    const nr = this.folioNr(h);
    let n = this.entireMapcountOf(h) * nr;
    for (let i = 0; i < nr; i++) n += this.mapcount[h + i];
    return n;
  }

  // ---- index ----

  /** The page's index: anon, the virtual page number it was faulted at; file, its page offset. */
  indexOf(pfn: number): number {
    const hi = this.indexHi[pfn];
    return hi !== INDEX_WIDE ? this.indexLo[pfn] + hi * TWO32 : this.indexWide.get(pfn)!;
  }
  setIndex(pfn: number, v: number): void {
    // `v >>> 0` is v mod 2^32 for an integer v; `hi` is then exact, and an integer in
    // [0, INDEX_WIDE) exactly when v is an integer in [0, INDEX_WIDE * 2^32).
    const lo = v >>> 0, hi = (v - lo) * TWO_MINUS32;
    if (hi >= 0 && hi < INDEX_WIDE && hi === (hi | 0)) {
      this.indexLo[pfn] = lo;
      this.indexHi[pfn] = hi;
      if (this.aux) {
        if (this.indexWide.size !== 0) this.indexWide.delete(pfn);
        if (this.vIndex) this.vIndex[pfn] = v;
      }
      return;
    }
    this.aux = true;
    this.indexLo[pfn] = 0;
    this.indexHi[pfn] = INDEX_WIDE;
    this.indexWide.set(pfn, v);
    if (this.vIndex) this.vIndex[pfn] = v;
  }

  /** folio_migrate_mapping's part of struct page: `dst` takes the index and mapping of `src`. */
  copyIndexAndMapping(dst: number, src: number): void {
    this.indexLo[dst] = this.indexLo[src];
    this.indexHi[dst] = this.indexHi[src];
    if (this.aux) {
      if (this.indexHi[src] === INDEX_WIDE) this.indexWide.set(dst, this.indexWide.get(src)!);
      else if (this.indexWide.size !== 0) this.indexWide.delete(dst);
      if (this.vIndex) this.vIndex[dst] = this.vIndex[src];
      this.setMapping(dst, this.mappingOf(src));
    }
  }

  // ---- sparse counters ----

  /** Entire (PMD-level) mapcount of the compound head `head`. */
  entireMapcountOf(head: number): number {
    return this.entire.size !== 0 ? (this.entire.get(head) ?? 0) : 0;
  }
  setEntireMapcount(head: number, v: number): void {
    if (v !== 0) {
      this.aux = true;
      this.entire.set(head, v);
    }
    else if (this.entire.size !== 0) this.entire.delete(head);
    if (this.vEntire) this.vEntire[head] = v;
  }
  addEntireMapcount(head: number, d: number): void {
    this.setEntireMapcount(head, this.entireMapcountOf(head) + d);
  }
  /** Pin count (FOLL_PIN references) of the folio `pfn`, as kept on its head. */
  pincountOf(pfn: number): number {
    return this.pins.size !== 0 ? (this.pins.get(pfn) ?? 0) : 0;
  }
  addPincount(pfn: number, d: number): void {
    const v = this.pincountOf(pfn) + d;
    if (v !== 0) {
      this.aux = true;
      this.pins.set(pfn, v);
    }
    else if (this.pins.size !== 0) this.pins.delete(pfn);
    if (this.vPin) this.vPin[pfn] = v;
  }
  /** File id of a page-cache page (struct page's mapping), or 0. */
  mappingOf(pfn: number): number {
    return this.files.size !== 0 ? (this.files.get(pfn) ?? 0) : 0;
  }
  setMapping(pfn: number, fileId: number): void {
    if (fileId !== 0) {
      this.aux = true;
      this.files.set(pfn, fileId);
    }
    else if (this.files.size !== 0) this.files.delete(pfn);
    if (this.vMapping) this.vMapping[pfn] = fileId;
  }

  // ---- ZONE_DEVICE pagemaps ----

  /** memremap_pages: pfns [start, start + n) belong to dev_pagemap `id` (a fresh, unused range). */
  setPgmap(start: number, n: number, id: number): void {
    if (n <= 0) return;
    const end = start + n;
    let i = this.pmStart.length;
    while (i > 0 && this.pmStart[i - 1] > start) i--;
    if ((i > 0 && this.pmEnd[i - 1] > start) || (i < this.pmStart.length && this.pmStart[i] < end)) {
      throw new Error(`pgmap range [${start}, ${end}) overlaps another`);
    }
    this.pmStart.splice(i, 0, start);
    this.pmEnd.splice(i, 0, end);
    this.pmId.splice(i, 0, id);
    if (this.vPgmap) this.vPgmap.fill(id, start, end);
  }
  /** The dev_pagemap id owning `pfn`, or -1 for memory that is not ZONE_DEVICE. */
  pgmapId(pfn: number): number {
    // The range of the last lookup first: migrations and frees go through one pagemap's pfns in
    // a row. The search is a method of its own so that this stays small enough to inline.
    if (pfn >= this.pmLastStart && pfn < this.pmLastEnd) return this.pmLastId;
    return this.pgmapIdSearch(pfn);
  }
  /** pgmapId's binary search over the registered ranges; remembers the range it finds. */
  private pgmapIdSearch(pfn: number): number {
    const s = this.pmStart;
    let lo = 0, hi = s.length - 1, r = -1;
    while (lo <= hi) {
      const m = (lo + hi) >>> 1;
      if (s[m] <= pfn) {
        r = m;
        lo = m + 1;
      } else hi = m - 1;
    }
    if (r < 0 || pfn >= this.pmEnd[r]) return -1;
    this.pmLastStart = s[r];
    this.pmLastEnd = this.pmEnd[r];
    this.pmLastId = this.pmId[r];
    return this.pmLastId;
  }

  // ---- dense views (see the class comment) ----

  get index(): ArrayLike<number> {
    return (this.vIndex ??= this.view(Float64Array, 0, (a) => {
      for (let pfn = 0; pfn < this.cap; pfn++) a[pfn] = this.indexOf(pfn);
    }));
  }
  /** Head pfn of the compound page each pfn belongs to, or -1 for a small page. */
  get head(): ArrayLike<number> {
    return (this.vHead ??= this.view(Float64Array, -1, (a) => {
      for (let pfn = 0; pfn < this.cap; pfn++) if (this.isCompound(pfn)) a[pfn] = this.folio(pfn);
    }));
  }
  /** Order of each compound head (0 elsewhere). */
  get order(): ArrayLike<number> {
    return (this.vOrder ??= this.view(Uint8Array, 0, (a) => {
      for (let pfn = 0; pfn < this.cap; pfn++) if (this.flags[pfn] & PG_HEAD) a[pfn] = this.flags[pfn] >>> ORDER_SHIFT;
    }));
  }
  get entireMapcount(): ArrayLike<number> {
    return (this.vEntire ??= this.view(Int32Array, 0, (a) => {
      for (const [pfn, v] of this.entire) a[pfn] = v;
    }));
  }
  get pincount(): ArrayLike<number> {
    return (this.vPin ??= this.view(Int32Array, 0, (a) => {
      for (const [pfn, v] of this.pins) a[pfn] = v;
    }));
  }
  /** File id (PG_FILE) or 0. */
  get mapping(): ArrayLike<number> {
    return (this.vMapping ??= this.view(Int32Array, 0, (a) => {
      for (const [pfn, v] of this.files) a[pfn] = v;
    }));
  }
  /** Owning dev_pagemap id for ZONE_DEVICE pfns, else -1. */
  get pgmap(): ArrayLike<number> {
    return (this.vPgmap ??= this.view(Int32Array, -1, (a) => {
      for (let i = 0; i < this.pmStart.length; i++) a.fill(this.pmId[i], this.pmStart[i], this.pmEnd[i]);
    }));
  }
  private view<T extends PageArray>(ctor: new (n: number) => T, fill: number, build: (a: T) => void): T {
    this.aux = true;
    const a = new ctor(this.cap);
    if (fill !== 0) a.fill(fill);
    build(a);
    return a;
  }

  get(pfn: number): void {
    this.refcount[this.folio(pfn)]++;
  }

  /** Drops the page's contents (it reads as zeroes again): a device page handed out anew. */
  dropData(pfn: number): void {
    if (this.contents !== null) this.contents.drop(pfn);
  }

  // ---- contents (PageContents; every write is a no-op in no-data mode) ----

  /** memset of the whole page. */
  fill(pfn: number, byte: number): void {
    if (this.contents !== null) this.contents.fill(pfn, byte);
  }
  /**
   * Stores a little-endian 32-bit word at byte `offset` (a multiple of 4 below 4096): the unit
   * the timed model's lanes write. A no-op without page data.
   */
  writeU32(pfn: number, offset: number, value: number): void {
    if (this.contents !== null) this.contents.writeU32(pfn, offset, value);
  }
  /** The little-endian 32-bit word at byte `offset` (a multiple of 4 below 4096); 0 without page data. */
  readU32(pfn: number, offset: number): number {
    return this.contents === null ? 0 : this.contents.readU32(pfn, offset);
  }
  /** readU32 of `count` consecutive words from byte `offset` into `out[0 .. count)` (zeroes without page data). */
  readU32s(pfn: number, offset: number, count: number, out: Uint32Array): void {
    if (this.contents !== null) this.contents.readU32s(pfn, offset, count, out);
    else out.fill(0, 0, count);
  }
  /** copy_highpage(dst, src). */
  copy(dst: number, src: number): void {
    if (this.contents !== null) this.contents.copy(dst, src);
  }
  /**
   * Read-only view of the bytes; a shared zero buffer for untouched pages. Read it before the
   * next change to any page's contents (PageContents.view).
   */
  bytes(pfn: number): Uint8Array {
    return this.contents === null ? ZERO_BYTES : this.contents.view(pfn, ZERO_BYTES);
  }
  /** Copies the page into `out` at `offset`. */
  readInto(pfn: number, out: Uint8Array, offset: number): void {
    if (this.contents !== null) this.contents.readInto(pfn, out, offset);
    else out.fill(0, offset, offset + PAGE_SIZE);
  }
  /** Copies PAGE_SIZE bytes from `src` at `offset` into the page. */
  writeFrom(pfn: number, src: Uint8Array, offset: number): void {
    if (this.contents !== null) this.contents.writeFrom(pfn, src, offset);
  }
  /** Whether the page's 4 KiB are all zero (true for an untouched page, and without page data). */
  isZero(pfn: number): boolean {
    return this.contents === null || this.contents.isZero(pfn);
  }
}

/** A page of zeroes, shared and never written. */
export const ZERO_BYTES = new Uint8Array(PAGE_SIZE);
