// Victim selection for device memory under oversubscription.
//
// (a) 'lru-chunk' — NVIDIA UVM's default (anchors-uvm.md §b.5, `uvm_pmm_gpu.c`): device memory
//     is managed in 2 MiB root chunks; the USED list is LRU-ish and a root chunk moves to the tail
//     when one of its sub-chunks is allocated (UVM does not move it on access; a code comment says it
//     should on mapping). Evicting a chunk moves every page it backs to the CPU. UVMSmart's
//     `-eviction_policy 0` (LRU 2 MB) is the same (§b.8).
// (b) 'lru-page' — LRU of 4 KiB pages (UVMSmart's LRU 4 KB, §a), for comparison.
// (c) 'random' — uniform choice among resident units (UVMSmart's random 4 KB, §a), for
//     comparison; the caller supplies a seeded `() => number` in [0, 1).
//
// Keys are page numbers: device PFNs model UVM's physical root chunks; VPNs give VA-block
// granularity instead. A unit is floor(key / unitPages): 512 pages (2 MiB) for 'lru-chunk',
// 1 page for 'lru-page', either for 'random'.
//
// Recency is the order of insert/touch calls. Times must be nondecreasing (checked), so call
// order and time order agree; between equal times, the earlier call is older (deterministic
// tie-break). The caller decides what counts as a use: call `touch` on allocation only to match
// UVM, or on every access for a true LRU. Not modelled: UVM's free lists and the UNUSED →
// DISCARDED → USED order (all chunks here are USED), PMA batch allocation.
//
// Random picks are deterministic for a given sequence of operations and rng outputs: units sit
// in an array (insertion order, swap-with-last on removal) and the pick is the
// floor(rng() × m)-th of the m units not skipped, in array order.
//
// Cost (issue 17): every operation is O(1) in the number of resident units, and a pick is
// O(1 + skipped units) for LRU (a walk from the list head past the skipped ones, which are the
// recently used blocks a batch is filling, so at the tail) and O(k log k) for random with k
// skipped units (their array positions, sorted, shift the index). Recency is an intrusive
// doubly linked list rather than a Map's insertion order: deleting from a Map's front leaves
// holes that every new iterator walks past, which made each LRU pick O(resident units).

import { BLOCK_PAGES, checkVpn } from './types.ts';
import type { TimePs } from '../units/time.ts';

/** The eviction policies. */
export type EvictionKind = 'lru-chunk' | 'lru-page' | 'random';

/** Parameters of an eviction policy. */
export interface EvictionParams {
  readonly kind: EvictionKind;
  /** Pages per eviction unit: 512 for 'lru-chunk', 1 for 'lru-page', 1 or 512 for 'random'. */
  readonly unitPages: number;
}

/** Default parameters of each policy (UVM root chunk = 2 MiB, §b.5; UVMSmart LRU/random 4 KB, §a). */
export const EVICTION_DEFAULTS: Readonly<Record<EvictionKind, EvictionParams>> = Object.freeze({
  'lru-chunk': Object.freeze({ kind: 'lru-chunk', unitPages: BLOCK_PAGES }),
  'lru-page': Object.freeze({ kind: 'lru-page', unitPages: 1 }),
  random: Object.freeze({ kind: 'random', unitPages: 1 }),
});

/** A unit chosen for eviction: all its resident pages (ascending) and its last use. */
export interface Victim {
  readonly unit: number;
  readonly pages: readonly number[];
  readonly lastUse: TimePs;
}

/**
 * Units that may not be evicted now (e.g. blocks the current batch is filling). `has` answers
 * for one unit; iterating lists them, so the random policy can count them and keep its pick
 * uniform over the rest without testing every resident unit. Listed units that are not resident
 * are ignored; a `Set<number>` of units is one.
 */
export interface SkipUnits extends Iterable<number> {
  has(unit: number): boolean;
}

/** One resident unit: a node of the recency list, with its slot in the random policy's array. */
interface UnitEntry {
  readonly unit: number;
  /** Resident pages of the unit, by offset in it; null when a unit is one page (unitPages 1). */
  readonly pages: Uint8Array | null;
  count: number;
  lastUse: TimePs;
  /** Neighbours in recency order (prev = less recently used). */
  prev: UnitEntry | null;
  next: UnitEntry | null;
  /** Index in the random policy's array. */
  slot: number;
}

/**
 * Resident units of one device memory, in recency order. Explicit mutable state: the policy's
 * decision is `pickVictim(state, rng)`; the caller then removes the pages it evicted.
 */
export class EvictionState {
  readonly kind: EvictionKind;
  readonly unitPages: number;
  private readonly units = new Map<number, UnitEntry>();
  /** Least and most recently used ends of the recency list. */
  private head: UnitEntry | null = null;
  private tail: UnitEntry | null = null;
  /** Random policy: units in a swap-remove array (each entry knows its slot). */
  private readonly order: UnitEntry[] = [];
  private lastTime: TimePs | null = null;
  private pageCount = 0;

  /** @throws RangeError if unitPages is not a positive integer. */
  constructor(params: EvictionParams) {
    if (!Number.isInteger(params.unitPages) || params.unitPages < 1) {
      throw new RangeError(`eviction: unitPages must be a positive integer, got ${params.unitPages}`);
    }
    this.kind = params.kind;
    this.unitPages = params.unitPages;
  }

  /** Unit holding page `page`. */
  unitOf(page: number): number {
    return Math.floor(checkVpn(page, 'page') / this.unitPages);
  }

  /** Resident pages tracked. */
  get size(): number {
    return this.pageCount;
  }

  /** Resident units tracked. */
  get unitCount(): number {
    return this.units.size;
  }

  private hasPage(entry: UnitEntry, page: number): boolean {
    return entry.pages === null || entry.pages[page - entry.unit * this.unitPages] === 1;
  }

  /** True if `page` is resident. */
  has(page: number): boolean {
    const entry = this.units.get(this.unitOf(page));
    return entry !== undefined && this.hasPage(entry, page);
  }

  /** True if `unit` has a resident page. */
  hasUnit(unit: number): boolean {
    return this.units.has(unit);
  }

  /** Units, least recently used first (a snapshot array). */
  lruOrder(): number[] {
    return [...this.lruUnits()];
  }

  /** Units, least recently used first, as a live iterator (do not mutate while iterating). */
  *lruUnits(): IterableIterator<number> {
    for (let e = this.head; e !== null; e = e.next) yield e.unit;
  }

  /** Resident units in the random policy's array order (a snapshot, for inspection). */
  randomOrder(): number[] {
    return this.order.map((e) => e.unit);
  }

  private checkTime(time: TimePs): void {
    if (!Number.isSafeInteger(time) || (this.lastTime !== null && time < this.lastTime)) {
      throw new RangeError(`eviction: time ${time} ps goes backwards (last ${this.lastTime} ps)`);
    }
    this.lastTime = time;
  }

  private unlink(entry: UnitEntry): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = null;
  }

  private moveToTail(entry: UnitEntry, time: TimePs): void {
    entry.lastUse = time;
    if (this.tail === entry) return;
    if (entry.prev !== null || entry.next !== null || this.head === entry) this.unlink(entry);
    entry.prev = this.tail;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
  }

  /**
   * Makes `page` resident (allocated) at `time`; its unit becomes the most recently used.
   * Inserting a resident page just touches it.
   * @throws RangeError on a bad page number or a time earlier than the last call's.
   */
  insert(page: number, time: TimePs): void {
    const unit = this.unitOf(page);
    this.checkTime(time);
    let entry = this.units.get(unit);
    if (!entry) {
      entry = {
        unit, pages: this.unitPages === 1 ? null : new Uint8Array(this.unitPages), count: 0, lastUse: time,
        prev: null, next: null, slot: this.order.length,
      };
      this.units.set(unit, entry);
      this.order.push(entry);
    }
    if (entry.pages === null) {
      if (entry.count === 0) {
        entry.count = 1;
        this.pageCount++;
      }
    } else {
      const off = page - unit * this.unitPages;
      if (entry.pages[off] === 0) {
        entry.pages[off] = 1;
        entry.count++;
        this.pageCount++;
      }
    }
    this.moveToTail(entry, time);
  }

  /**
   * Records a use of resident `page` at `time`: its unit becomes the most recently used.
   * @throws RangeError if the page is not resident or the time goes backwards.
   */
  touch(page: number, time: TimePs): void {
    const entry = this.units.get(this.unitOf(page));
    if (!entry || !this.hasPage(entry, page)) throw new RangeError(`eviction: touch of non-resident page ${page}`);
    this.checkTime(time);
    this.moveToTail(entry, time);
  }

  /** Drops `page` (evicted or freed); its unit disappears with its last page. No-op if absent. */
  remove(page: number): void {
    const entry = this.units.get(this.unitOf(page));
    if (!entry || !this.hasPage(entry, page)) return;
    if (entry.pages !== null) entry.pages[page - entry.unit * this.unitPages] = 0;
    entry.count--;
    this.pageCount--;
    if (entry.count === 0) this.dropUnit(entry);
  }

  /** Drops a whole unit; returns the pages it held (ascending, empty if absent). */
  removeUnit(unit: number): number[] {
    const entry = this.units.get(unit);
    if (!entry) return [];
    const pages = this.pagesOf(entry);
    this.pageCount -= entry.count;
    this.dropUnit(entry);
    return pages;
  }

  private dropUnit(entry: UnitEntry): void {
    this.units.delete(entry.unit);
    this.unlink(entry);
    const last = this.order.pop()!;
    if (last !== entry) {
      this.order[entry.slot] = last;
      last.slot = entry.slot;
    }
  }

  /** Resident pages of a unit, ascending. */
  private pagesOf(entry: UnitEntry): number[] {
    if (entry.pages === null) return [entry.unit];
    const base = entry.unit * this.unitPages, out: number[] = [];
    for (let off = 0; off < this.unitPages; off++) if (entry.pages[off] === 1) out.push(base + off);
    return out;
  }

  private victimOf(entry: UnitEntry): Victim {
    return { unit: entry.unit, pages: this.pagesOf(entry), lastUse: entry.lastUse };
  }

  /** @internal Victim record for `unit` (must be resident). */
  victim(unit: number): Victim {
    return this.victimOf(this.units.get(unit)!);
  }

  /** @internal The least recently used unit not in `skip`, or null. */
  leastRecent(skip?: SkipUnits): Victim | null {
    for (let e = this.head; e !== null; e = e.next) if (!skip || !skip.has(e.unit)) return this.victimOf(e);
    return null;
  }

  /**
   * @internal The `floor(r × m)`-th of the m units not in `skip`, in array order, or null when
   * m is 0 (then `r` is not drawn). `r` is called at most once.
   */
  randomPick(r: () => number, skip?: SkipUnits): Victim | null {
    // Array positions of the resident skipped units, ascending and distinct.
    const skipped: number[] = [];
    if (skip) for (const u of skip) {
      const e = this.units.get(u);
      if (e) skipped.push(e.slot);
    }
    skipped.sort((a, b) => a - b);
    let distinct = 0;
    for (let i = 0; i < skipped.length; i++) if (i === 0 || skipped[i] !== skipped[i - 1]) skipped[distinct++] = skipped[i];
    skipped.length = distinct;
    const m = this.order.length - distinct;
    if (m === 0) return null;
    const x = r();
    if (!(x >= 0 && x < 1)) throw new RangeError(`eviction: rng returned ${x}, expected [0, 1)`);
    // The k-th unskipped slot: each skipped slot at or before it pushes it one further.
    let slot = Math.floor(x * m);
    for (const s of skipped) {
      if (s <= slot) slot++;
      else break;
    }
    return this.victimOf(this.order[slot]);
  }
}

/**
 * Chooses the unit to evict next, without removing it.
 *
 * @param state resident units
 * @param rng seeded source of numbers in [0, 1); required for 'random', ignored otherwise
 * @param skip units that may not be evicted now (e.g. pinned or being migrated)
 * @returns the least recently used unit ('lru-chunk', 'lru-page') or a uniformly random one
 *   ('random') among those not skipped; null if there is none
 * @throws RangeError for 'random' without rng, or if rng returns a value outside [0, 1)
 */
export function pickVictim(state: EvictionState, rng?: () => number, skip?: SkipUnits): Victim | null {
  if (state.kind === 'random') {
    if (!rng) throw new RangeError('eviction: the random policy needs a seeded rng function');
    return state.randomPick(rng, skip);
  }
  return state.leastRecent(skip);
}
