import { PAGE_SIZE } from './constants.ts';
import { grown } from '../units/typed-array.ts';

/** Slots per slab: 64 pages, 256 KiB per ArrayBuffer (few buffers for the GC to track, little slack). */
const SLAB_SHIFT = 6;
export const SLAB_SLOTS = 1 << SLAB_SHIFT;
const SLAB_MASK = SLAB_SLOTS - 1;
const SLAB_BYTES = SLAB_SLOTS * PAGE_SIZE;

/**
 * Page contents (the 4 KiB behind each pfn) for data-mode runs, kept in slabs instead of one
 * `Uint8Array` per page: a run that faults and migrates pages would otherwise allocate a 4 KiB
 * buffer per written page and per migrated copy, and spend its time in allocation and GC.
 *
 * - A pfn holds no slot until something non-zero could be stored in it: it reads as zeroes
 *   (a never-written page, one filled with 0, or one copied from such a page).
 * - A page whose only non-zero bytes are one 32-bit word (the first `writeU32` to a zero page:
 *   a vertex id, the timed model's counter word) keeps that word by pfn in a dense array instead
 *   of a slot. A traversal that reads one word from each of many such pages then reads a dense
 *   array rather than one 4 KiB slot per page, a cache and TLB miss each; a second word, any
 *   other write or a byte view gives the page a slot holding the same bytes.
 * - A slot is 4 KiB at a fixed offset of a slab (`SLAB_SLOTS` pages per ArrayBuffer). Freed
 *   slots go on a free list and are reused before any new slab is allocated; slabs are never
 *   given back (the peak of pages written is what a run holds).
 * - `copy(dst, src)` (copy_highpage) shares src's slot with dst instead of copying 4 KiB: a slot
 *   counts the pfns that hold it, and a write to a pfn whose slot is shared first gives that pfn
 *   a private copy. Most copies are migrations whose source is freed right after, so the bytes
 *   are never copied at all; a sharer's bytes can never change through another pfn.
 *
 * Invariant (test/mm/page-data.test.ts, against a Map of plain buffers over random operations):
 * every read of a pfn returns exactly the bytes the last write, fill or copy gave it.
 */
export class PageContents {
  /**
   * By pfn: its slot + 1; 0 for "reads as zeroes" (no slot); or -(w + 1) for "one word": zeroes
   * but for the 32-bit word w (0..1023), whose value is `word[pfn]` (never 0).
   */
  private slotOf: Int32Array;
  /** By pfn: the word of a one-word page (see slotOf). */
  private word: Uint32Array;
  /** By slot: how many pfns hold it (0: on the free list or never handed out). */
  private refs = new Int32Array(SLAB_SLOTS);
  private slabs: Uint8Array[] = [];
  /** Slots freed and ready for reuse (their bytes not yet cleared). */
  private free: number[] = [];
  /** Slots below this have been handed out at least once; the rest of the last slab is fresh (zero). */
  private fresh = 0;
  /** Pfns holding a slot. */
  private held = 0;

  constructor(cap: number) {
    this.slotOf = new Int32Array(cap);
    this.word = new Uint32Array(cap);
  }

  /** Makes room for pfns below `cap` (called when the PageStore grows). */
  grow(cap: number): void {
    if (cap <= this.slotOf.length) return;
    this.slotOf = grown(this.slotOf, cap);
    this.word = grown(this.word, cap);
  }

  /** The per-pfn arrays (for the store's memory figures). */
  perPfnArrays(): [Int32Array, Uint32Array] {
    return [this.slotOf, this.word];
  }
  /** Pfns that hold contents (each reads as something other than an untouched page). */
  get pages(): number {
    return this.held;
  }
  /** Bytes of page contents allocated (slabs, whatever is in use): what data mode costs beyond metadata. */
  get allocatedBytes(): number {
    return this.slabs.length * SLAB_BYTES;
  }
  /** Slots in use (distinct contents held; below `pages` while copies share). */
  get slotsInUse(): number {
    return this.fresh - this.free.length;
  }

  /** Whether the pfn holds contents (false: it reads as zeroes without a slot). */
  has(pfn: number): boolean {
    return this.slotOf[pfn] !== 0;
  }

  /** Forgets the pfn's contents: it reads as zeroes again. */
  drop(pfn: number): void {
    const cur = this.slotOf[pfn];
    if (cur === 0) return;
    this.slotOf[pfn] = 0;
    this.held--;
    if (cur > 0 && --this.refs[cur - 1] === 0) this.free.push(cur - 1);
  }

  /** A slot of the caller's, refs 1; cleared to zeroes when `zero`, else with stale bytes. */
  private acquire(zero: boolean): number {
    let s: number;
    if (this.free.length !== 0) {
      s = this.free.pop()!;
      if (zero) this.slabs[s >>> SLAB_SHIFT].fill(0, (s & SLAB_MASK) * PAGE_SIZE, ((s & SLAB_MASK) + 1) * PAGE_SIZE);
    } else {
      s = this.fresh++;
      if ((s & SLAB_MASK) === 0) {
        this.slabs.push(new Uint8Array(SLAB_BYTES));
        if (this.refs.length < this.fresh + SLAB_SLOTS) {
          this.refs = grown(this.refs, this.refs.length * 2);
        }
      }
    }
    this.refs[s] = 1;
    return s;
  }

  /**
   * The pfn's own slot, ready to write: allocated (zeroed) if it had none, copied out of a shared
   * slot first when `keep` (a partial write), or handed a new slot with stale bytes when not (the
   * caller overwrites all 4 KiB).
   */
  private ownSlot(pfn: number, keep: boolean): number {
    const cur = this.slotOf[pfn] - 1;
    if (cur >= 0 && this.refs[cur] === 1) return cur;
    let s: number;
    if (cur === -1) {
      s = this.acquire(keep);
      this.held++;
    } else if (cur < -1) {
      // A one-word page: its word goes into the slot (cleared first) when the rest is kept.
      s = this.acquire(keep);
      if (keep) this.putWord(s, (-cur - 2) * 4, this.word[pfn]);
    } else {
      s = this.acquire(false);
      if (keep) this.copySlot(s, cur);
      this.refs[cur]--;
    }
    this.slotOf[pfn] = s + 1;
    return s;
  }

  private putWord(s: number, offset: number, value: number): void {
    const b = this.slabs[s >>> SLAB_SHIFT];
    const o = (s & SLAB_MASK) * PAGE_SIZE + offset;
    b[o] = value & 0xff;
    b[o + 1] = (value >>> 8) & 0xff;
    b[o + 2] = (value >>> 16) & 0xff;
    b[o + 3] = (value >>> 24) & 0xff;
  }

  private copySlot(dst: number, src: number): void {
    const from = this.slabs[src >>> SLAB_SHIFT];
    const at = (src & SLAB_MASK) * PAGE_SIZE;
    this.slabs[dst >>> SLAB_SHIFT].set(from.subarray(at, at + PAGE_SIZE), (dst & SLAB_MASK) * PAGE_SIZE);
  }

  /** memset of the whole page. */
  fill(pfn: number, byte: number): void {
    if ((byte & 0xff) === 0) {
      this.drop(pfn);
      return;
    }
    const s = this.ownSlot(pfn, false);
    const at = (s & SLAB_MASK) * PAGE_SIZE;
    this.slabs[s >>> SLAB_SHIFT].fill(byte, at, at + PAGE_SIZE);
  }

  /** Stores a little-endian 32-bit word at byte `offset` (a multiple of 4 below 4096). */
  writeU32(pfn: number, offset: number, value: number): void {
    const cur = this.slotOf[pfn];
    const w = offset >>> 2;
    if (cur <= 0 && (cur === 0 || cur === -(w + 1))) {
      // A zero page, or a one-word page written at its word: it stays (or becomes) one word.
      if ((value >>> 0) === 0) this.drop(pfn);
      else {
        if (cur === 0) this.held++;
        this.slotOf[pfn] = -(w + 1);
        this.word[pfn] = value >>> 0;
      }
      return;
    }
    this.putWord(this.ownSlot(pfn, true), offset, value);
  }

  /** The little-endian 32-bit word at byte `offset` (a multiple of 4 below 4096). */
  readU32(pfn: number, offset: number): number {
    const s = this.slotOf[pfn] - 1;
    if (s < 0) return s === -1 || s !== -(offset >>> 2) - 2 ? 0 : this.word[pfn];
    const b = this.slabs[s >>> SLAB_SHIFT];
    const o = (s & SLAB_MASK) * PAGE_SIZE + offset;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  }

  /**
   * The `count` little-endian 32-bit words from byte `offset` (a multiple of 4; offset + 4·count
   * at most 4096) into `out[0 .. count)`: readU32 for each, with one slot lookup.
   */
  readU32s(pfn: number, offset: number, count: number, out: Uint32Array): void {
    const s = this.slotOf[pfn] - 1;
    if (s < 0) {
      out.fill(0, 0, count);
      const at = -s - 2 - (offset >>> 2);
      if (s < -1 && at >= 0 && at < count) out[at] = this.word[pfn];
      return;
    }
    const b = this.slabs[s >>> SLAB_SHIFT];
    let o = (s & SLAB_MASK) * PAGE_SIZE + offset;
    for (let i = 0; i < count; i++, o += 4) out[i] = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
  }

  /** copy_highpage(dst, src): dst reads as src does, sharing its slot until either is written. */
  copy(dst: number, src: number): void {
    if (dst === src) return;
    const s = this.slotOf[src];
    if (s > 0) this.refs[s - 1]++;
    this.drop(dst);
    if (s !== 0) {
      this.slotOf[dst] = s;
      if (s < 0) this.word[dst] = this.word[src];
      this.held++;
    }
  }

  /**
   * Read-only view of the page's bytes (`zero` for a page without contents). Valid until the
   * next change to any page's contents: a later write may move the pfn to another slot and a
   * freed slot is reused.
   */
  view(pfn: number, zero: Uint8Array): Uint8Array {
    let s = this.slotOf[pfn] - 1;
    if (s === -1) return zero;
    // A one-word page gets a slot with the same bytes, to be viewed whole.
    if (s < 0) s = this.ownSlot(pfn, true);
    const at = (s & SLAB_MASK) * PAGE_SIZE;
    return this.slabs[s >>> SLAB_SHIFT].subarray(at, at + PAGE_SIZE);
  }

  /** Copies the page into `out` at `offset`. */
  readInto(pfn: number, out: Uint8Array, offset: number): void {
    const s = this.slotOf[pfn] - 1;
    if (s < 0) {
      out.fill(0, offset, offset + PAGE_SIZE);
      if (s < -1) {
        const v = this.word[pfn], o = offset + (-s - 2) * 4;
        out[o] = v & 0xff;
        out[o + 1] = (v >>> 8) & 0xff;
        out[o + 2] = (v >>> 16) & 0xff;
        out[o + 3] = (v >>> 24) & 0xff;
      }
      return;
    }
    const at = (s & SLAB_MASK) * PAGE_SIZE;
    out.set(this.slabs[s >>> SLAB_SHIFT].subarray(at, at + PAGE_SIZE), offset);
  }

  /** Copies PAGE_SIZE bytes from `src` at `offset` into the page. */
  writeFrom(pfn: number, src: Uint8Array, offset: number): void {
    const s = this.ownSlot(pfn, false);
    this.slabs[s >>> SLAB_SHIFT].set(src.subarray(offset, offset + PAGE_SIZE), (s & SLAB_MASK) * PAGE_SIZE);
  }

  /** Whether all 4 KiB read as zero (memchr_inv finding nothing). */
  isZero(pfn: number): boolean {
    const s = this.slotOf[pfn] - 1;
    if (s < 0) return s === -1; // a one-word page's word is never 0
    const b = this.slabs[s >>> SLAB_SHIFT];
    const at = (s & SLAB_MASK) * PAGE_SIZE;
    for (let i = at; i < at + PAGE_SIZE; i++) if (b[i] !== 0) return false;
    return true;
  }
}
