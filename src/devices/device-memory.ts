// Device memory as UVM's physical memory manager sees it (anchors-uvm.md b.5): root chunks
// (2 MiB by default) split into 4 KiB pages, with an eviction policy over resident units.
//
// Placement mirrors the virtual layout: the pages of one VA block (chunk-sized, aligned) of one
// address space live in one root chunk, at the same offsets. So an LRU of root chunks is an LRU
// of VA blocks, as in UVM, and contiguous virtual runs are contiguous device pages (one copy
// each). ZONE_DEVICE struct pages are created lazily, one section (512 root chunks) at a time,
// so a 128 GiB device costs nothing until it is used.
import type { System } from '../mm/system.ts';
import type { DevPagemap, DevPagemapOps, PagemapType } from '../mm/memremap.ts';
import { EvictionState, pickVictim, type EvictionParams, type SkipUnits, type Victim } from '../policy/eviction.ts';
import { evictionPolicy, type EvictionFn, type EvictionView } from '../policy/plugin.ts';
import type { TimePs } from '../units/time.ts';

/** Root chunks per lazily created pagemap section. */
export const SECTION_CHUNKS = 512;

/**
 * Device-local memory of `capacityChunks` root chunks of `chunkPages` pages. Invariants: a chunk
 * is free or backs exactly one (space, block) key; `used[c]` counts its allocated pages; the
 * eviction state holds exactly the allocated pages (as device page indices c*chunkPages+off).
 */
export class DeviceMemory {
  readonly capacityChunks: number;
  private readonly sections: DevPagemap[] = [];
  private readonly sectionOf = new Map<number, number>();
  private readonly chunkKey: Float64Array;
  private readonly used: Int32Array;
  private readonly keyToChunk = new Map<number, number>();
  /** The chunk allocPage used last, or -1. */
  private lastChunk = -1;
  private readonly recycled: number[] = [];
  private neverUsed = 0;
  readonly eviction: EvictionState;
  /** The registered policy that picks victims (built-in or plug-in), or null: `eviction.kind` decides. */
  private readonly evictFn: EvictionFn | null;
  /** The skip list `victim` hands the policy (one object, re-aimed at each call's keys). */
  private readonly busy: BusyChunkUnits;
  /** What the eviction policy's pick sees, re-aimed at every victim() (one object, not six closures a victim). */
  private readonly view: PickView;
  /** Root chunks taken from free memory so far. */
  rootChunkAllocs = 0;
  /** Pages currently allocated. */
  allocated = 0;

  /**
   * @param capacityBytes device memory; rounded down to whole chunks
   * @param chunkPages 4 KiB pages per root chunk (512 for 2 MiB)
   * @param owner the pgmap owner (dev_private_owner) hmm_range_fault and migrate_vma compare
   */
  constructor(
    readonly sys: System,
    readonly type: PagemapType,
    readonly owner: unknown,
    readonly ops: DevPagemapOps,
    capacityBytes: number,
    readonly chunkPages: number,
    eviction: EvictionParams,
  ) {
    if (!Number.isInteger(chunkPages) || chunkPages < 1) throw new RangeError(`chunkPages must be a positive integer, got ${chunkPages}`);
    this.capacityChunks = Math.floor(capacityBytes / 4096 / chunkPages);
    this.chunkKey = new Float64Array(this.capacityChunks).fill(-1);
    this.used = new Int32Array(this.capacityChunks);
    this.evictFn = eviction.policy ? evictionPolicy(eviction.policy.key, eviction.policy.params, chunkPages) : null;
    const unitPages = this.evictFn?.unitPages ?? (eviction.kind === 'lru-chunk' || eviction.unitPages > 1 ? chunkPages : 1);
    this.eviction = new EvictionState({ kind: eviction.kind, unitPages });
    this.busy = new BusyChunkUnits(this.eviction, chunkPages, this.chunkKey, this.keyToChunk);
    this.view = new PickView(this.eviction);
  }

  /** Capacity in 4 KiB pages. */
  get capacityPages(): number {
    return this.capacityChunks * this.chunkPages;
  }

  /** Key of the VA block holding `vpn` in address space `space`. */
  keyOf(space: number, vpn: number): number {
    return space * 2 ** 36 + Math.floor(vpn / this.chunkPages);
  }

  private chunkPfn(c: number): number {
    const s = Math.floor(c / SECTION_CHUNKS);
    while (this.sections.length <= s) {
      const pm = this.sys.memremapPages(this.type, this.owner, this.ops, SECTION_CHUNKS * this.chunkPages);
      this.sectionOf.set(pm.id, this.sections.length);
      this.sections.push(pm);
    }
    return this.sections[s].start + (c % SECTION_CHUNKS) * this.chunkPages;
  }

  /** Device page index (chunk * chunkPages + offset) of a pfn of this memory, or -1. */
  pageIndex(pfn: number): number {
    const pm = this.sys.pagemapOf(pfn);
    if (!pm) return -1;
    const s = this.sectionOf.get(pm.id);
    if (s === undefined || this.sections[s] !== pm) return -1;
    const idx = s * SECTION_CHUNKS * this.chunkPages + (pfn - pm.start);
    // A section can extend past the capacity: those pfns never belong to the device.
    return idx < this.capacityPages ? idx : -1;
  }

  /** The pfn of device page index `idx`. */
  pfnOf(idx: number): number {
    const c = Math.floor(idx / this.chunkPages);
    return this.chunkPfn(c) + (idx % this.chunkPages);
  }

  /** True if `pfn` is a page of this memory. */
  owns(pfn: number): boolean {
    return this.pageIndex(pfn) >= 0;
  }

  /** Whether a page for (space, vpn) can be had without evicting. */
  canAlloc(space: number, vpn: number): boolean {
    const c = this.keyToChunk.get(this.keyOf(space, vpn));
    if (c !== undefined) return true;
    return this.recycled.length > 0 || this.neverUsed < this.capacityChunks;
  }

  /**
   * A fresh device page for (space, vpn) with refcount 1 (locked, as a driver's allocation);
   * -1 when no chunk is free (evict first); -2 when that page's slot is still held. `now` orders
   * the eviction state (it must not go backwards).
   */
  allocPage(space: number, vpn: number, now: TimePs): number {
    const key = this.keyOf(space, vpn);
    // A block is filled page after page: its chunk is most often the one the last call used
    // (still its chunk while chunkKey says so: a freed chunk's key is -1).
    let c: number | undefined = this.lastChunk >= 0 && this.chunkKey[this.lastChunk] === key ? this.lastChunk : this.keyToChunk.get(key);
    if (c === undefined) {
      if (this.recycled.length > 0) c = this.recycled.pop()!;
      else if (this.neverUsed < this.capacityChunks) c = this.neverUsed++;
      else return -1;
      this.chunkKey[c] = key;
      this.keyToChunk.set(key, c);
      this.rootChunkAllocs++;
    }
    this.lastChunk = c;
    const off = vpn % this.chunkPages;
    const idx = c * this.chunkPages + off;
    const pfn = this.chunkPfn(c) + off;
    const p = this.sys.pages;
    if (p.refcount[pfn] !== 0) return -2; // the slot is still held (being freed); caller treats as busy
    this.eviction.insert(idx, now);
    p.refcount[pfn] = 1;
    p.flags[pfn] = 0;
    p.mapcount[pfn] = 0;
    p.dropData(pfn);
    this.used[c]++;
    this.allocated++;
    return pfn;
  }

  /** The page's last reference went (page_free): the slot returns to its chunk; an empty chunk is free. */
  pageFreed(pfn: number): void {
    const idx = this.pageIndex(pfn);
    if (idx < 0) return;
    const c = Math.floor(idx / this.chunkPages);
    this.eviction.remove(idx);
    this.allocated--;
    if (--this.used[c] === 0) {
      this.keyToChunk.delete(this.chunkKey[c]);
      this.chunkKey[c] = -1;
      this.recycled.push(c);
    }
  }

  /** Records a use of a resident page for the eviction policy. */
  touch(pfn: number, now: TimePs): void {
    const idx = this.pageIndex(pfn);
    if (idx >= 0 && this.eviction.has(idx)) this.eviction.touch(idx, now);
  }

  /**
   * The next eviction victim (device page indices), skipping the units of the chunks that back
   * `busyKeys` (keyOf keys: the blocks the current batch is filling). Null if nothing can be
   * evicted. Cost does not grow with resident memory: the busy chunks are found through their
   * keys, not by testing every resident unit.
   */
  victim(rng: () => number, busyKeys?: ReadonlySet<number>): Victim | null {
    let skip: SkipUnits | undefined;
    if (busyKeys && busyKeys.size > 0) {
      this.busy.keys = busyKeys;
      skip = this.busy;
    }
    const fn = this.evictFn;
    if (fn === null) return pickVictim(this.eviction, rng, skip);
    this.view.aim(skip);
    const unit = fn.pick(this.view, rng);
    return unit === null ? null : this.eviction.victim(unit);
  }

  /** Key of the (space, block) the chunk holding device page `idx` backs, or -1 if free. */
  keyOfIndex(idx: number): number {
    return this.chunkKey[Math.floor(idx / this.chunkPages)];
  }

  /** Eviction unit of a device page index. */
  unitOf(idx: number): number {
    return this.eviction.unitOf(idx);
  }
}

/**
 * The eviction units of the chunks backing a set of block keys: the whole chunk, or each of its
 * resident pages, depending on the unit size.
 */
class BusyChunkUnits implements SkipUnits {
  keys: ReadonlySet<number> = new Set();

  constructor(
    private readonly eviction: EvictionState,
    private readonly chunkPages: number,
    private readonly chunkKey: Float64Array,
    private readonly keyToChunk: ReadonlyMap<number, number>,
  ) {}

  has(unit: number): boolean {
    return this.keys.has(this.chunkKey[Math.floor((unit * this.eviction.unitPages) / this.chunkPages)]);
  }

  *[Symbol.iterator](): Iterator<number> {
    const chunkPages = this.chunkPages;
    for (const key of this.keys) {
      const c = this.keyToChunk.get(key);
      if (c === undefined) continue;
      if (this.eviction.unitPages === chunkPages) yield c;
      else for (let idx = c * chunkPages; idx < (c + 1) * chunkPages; idx++) if (this.eviction.hasUnit(idx)) yield idx;
    }
  }
}

/**
 * The eviction state as a policy's pick sees it (EvictionView), leaving out the units `aim`
 * says may not go. One per device memory, aimed anew at each victim() call: building the view's
 * closures for every evicted page (4 KiB eviction units) had been a measurable share of the run.
 */
class PickView implements EvictionView {
  private skip: SkipUnits | undefined = undefined;
  /** order(), built at most once per victim() call (only a plug-in asks for the whole list). */
  private orderCache: readonly number[] | undefined = undefined;

  constructor(private readonly st: EvictionState) {}

  get unitPages(): number {
    return this.st.unitPages;
  }

  /** Starts a new pick that leaves out `skip`. */
  aim(skip: SkipUnits | undefined): void {
    this.skip = skip;
    this.orderCache = undefined;
  }

  *lru(): Iterable<number> {
    const skip = this.skip;
    for (const u of this.st.lruUnits()) if (!skip || !skip.has(u)) yield u;
  }

  order(): readonly number[] {
    const skip = this.skip;
    return (this.orderCache ??= skip ? this.st.randomOrder().filter((u) => !skip.has(u)) : this.st.randomOrder());
  }

  candidates(): { readonly count: number; at(i: number): number } {
    return this.st.candidates(this.skip);
  }

  lastUse(unit: number): TimePs {
    return this.st.victim(unit).lastUse;
  }

  pages(unit: number): readonly number[] {
    return this.st.victim(unit).pages;
  }
}
