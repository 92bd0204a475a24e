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
// skipped units (their array positions, sorted, shift the index). Recency is a doubly linked
// list in typed arrays rather than a Map's insertion order: deleting from a Map's front leaves
// holes that every new iterator walks past, which made each LRU pick O(resident units).

import { BLOCK_PAGES, checkVpn } from './types.ts';
import type { TimePs } from '../units/time.ts';
import { grown } from '../units/typed-array.ts';

/** The eviction policies. */
export type EvictionKind = 'lru-chunk' | 'lru-page' | 'random';

/** Parameters of an eviction policy. */
export interface EvictionParams {
  readonly kind: EvictionKind;
  /** Pages per eviction unit: 512 for 'lru-chunk', 1 for 'lru-page', 1 or 512 for 'random'. */
  readonly unitPages: number;
  /**
   * The registered policy (policy/plugin.ts) that picks victims, by key, with its parameters;
   * when given it decides instead of `kind`, and its own unit size applies.
   */
  readonly policy?: { readonly key: string; readonly params: Readonly<Record<string, unknown>> };
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

/** No unit: the end of the recency list. */
const NIL = -1;

/** Largest unit number the state accepts (its arrays are indexed by unit). */
export const MAX_EVICTION_UNIT = 2 ** 30;

/**
 * Resident units of one device memory, in recency order. Explicit mutable state: the policy's
 * decision is `pickVictim(state, rng)`; the caller then removes the pages it evicted.
 *
 * Storage is typed arrays indexed by unit number (device memory numbers its pages densely from
 * 0), grown by doubling up to the largest unit seen: a Map of per-unit objects made each
 * lookup a cache miss once millions of pages were resident.
 */
export class EvictionState {
  readonly kind: EvictionKind;
  readonly unitPages: number;
  /** Resident pages per unit (0: not resident). */
  private count = new Int32Array(0);
  /** Last use per unit, ps. */
  private lastUse = new Float64Array(0);
  /** Recency list links (prev = less recently used), NIL at the ends. */
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  /** Index of each resident unit in `order`. */
  private slot = new Int32Array(0);
  /** Resident pages, one byte per page of every unit (only when units span several pages). */
  private pageBits = new Uint8Array(0);
  private head = NIL;
  private tail = NIL;
  /** Random policy: resident units in a swap-remove array of `orderLength` entries. */
  private order = new Int32Array(0);
  private orderLength = 0;
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
    return this.orderLength;
  }

  /** Makes the arrays hold unit `unit`. */
  private reserve(unit: number): void {
    if (unit < this.count.length) return;
    if (unit >= MAX_EVICTION_UNIT) throw new RangeError(`eviction: unit ${unit} is beyond ${MAX_EVICTION_UNIT} (pages are numbered densely from 0)`);
    const n = Math.max(1024, 2 ** Math.ceil(Math.log2(unit + 1)));
    this.count = grown(this.count, n);
    this.lastUse = grown(this.lastUse, n);
    this.prev = grown(this.prev, n);
    this.next = grown(this.next, n);
    this.slot = grown(this.slot, n);
    this.order = grown(this.order, n);
    if (this.unitPages > 1) this.pageBits = grown(this.pageBits, n * this.unitPages);
  }

  private isResident(unit: number): boolean {
    return unit < this.count.length && this.count[unit] > 0;
  }

  private hasPage(unit: number, page: number): boolean {
    return this.isResident(unit) && (this.unitPages === 1 || this.pageBits[page] === 1);
  }

  /** True if `page` is resident. */
  has(page: number): boolean {
    return this.hasPage(this.unitOf(page), page);
  }

  /** True if `unit` has a resident page. */
  hasUnit(unit: number): boolean {
    return Number.isInteger(unit) && unit >= 0 && this.isResident(unit);
  }

  /** Units, least recently used first (a snapshot array). */
  lruOrder(): number[] {
    const out: number[] = [];
    for (let u = this.head; u !== NIL; u = this.next[u]) out.push(u);
    return out;
  }

  /** Resident units in the random policy's array order (a snapshot, for inspection). */
  randomOrder(): number[] {
    return Array.from(this.order.subarray(0, this.orderLength));
  }

  private checkTime(time: TimePs): void {
    if (!Number.isSafeInteger(time) || (this.lastTime !== null && time < this.lastTime)) {
      throw new RangeError(`eviction: time ${time} ps goes backwards (last ${this.lastTime} ps)`);
    }
    this.lastTime = time;
  }

  private unlink(unit: number): void {
    const p = this.prev[unit], n = this.next[unit];
    if (p !== NIL) this.next[p] = n;
    else this.head = n;
    if (n !== NIL) this.prev[n] = p;
    else this.tail = p;
  }

  /** Appends a unit that is not in the list. */
  private append(unit: number): void {
    this.prev[unit] = this.tail;
    this.next[unit] = NIL;
    if (this.tail !== NIL) this.next[this.tail] = unit;
    else this.head = unit;
    this.tail = unit;
  }

  private moveToTail(unit: number, time: TimePs): void {
    this.lastUse[unit] = time;
    if (this.tail === unit) return;
    this.unlink(unit);
    this.append(unit);
  }

  /**
   * Makes `page` resident (allocated) at `time`; its unit becomes the most recently used.
   * Inserting a resident page just touches it.
   * @throws RangeError on a bad page number, a unit beyond MAX_EVICTION_UNIT or a time earlier
   *   than the last call's.
   */
  insert(page: number, time: TimePs): void {
    const unit = this.unitOf(page);
    this.reserve(unit);
    this.checkTime(time);
    if (this.count[unit] === 0) {
      // A new unit: the most recent, and last in the random array.
      this.slot[unit] = this.orderLength;
      this.order[this.orderLength++] = unit;
      this.lastUse[unit] = time;
      this.append(unit);
    }
    if (this.unitPages === 1) {
      if (this.count[unit] === 0) {
        this.count[unit] = 1;
        this.pageCount++;
      }
    } else if (this.pageBits[page] === 0) {
      this.pageBits[page] = 1;
      this.count[unit]++;
      this.pageCount++;
    }
    this.moveToTail(unit, time);
  }

  /**
   * Records a use of resident `page` at `time`: its unit becomes the most recently used.
   * @throws RangeError if the page is not resident or the time goes backwards.
   */
  touch(page: number, time: TimePs): void {
    const unit = this.unitOf(page);
    if (!this.hasPage(unit, page)) throw new RangeError(`eviction: touch of non-resident page ${page}`);
    this.checkTime(time);
    this.moveToTail(unit, time);
  }

  /** Drops `page` (evicted or freed); its unit disappears with its last page. No-op if absent. */
  remove(page: number): void {
    const unit = this.unitOf(page);
    if (!this.hasPage(unit, page)) return;
    if (this.unitPages > 1) this.pageBits[page] = 0;
    this.count[unit]--;
    this.pageCount--;
    if (this.count[unit] === 0) this.dropUnit(unit);
  }

  /** Drops a whole unit; returns the pages it held (ascending, empty if absent). */
  removeUnit(unit: number): number[] {
    if (!this.hasUnit(unit)) return [];
    const pages = this.pagesOf(unit);
    if (this.unitPages > 1) this.pageBits.fill(0, unit * this.unitPages, (unit + 1) * this.unitPages);
    this.pageCount -= this.count[unit];
    this.count[unit] = 0;
    this.dropUnit(unit);
    return pages;
  }

  private dropUnit(unit: number): void {
    this.unlink(unit);
    const last = this.order[--this.orderLength];
    if (last !== unit) {
      this.order[this.slot[unit]] = last;
      this.slot[last] = this.slot[unit];
    }
  }

  /** Resident pages of a unit, ascending. */
  private pagesOf(unit: number): number[] {
    if (this.unitPages === 1) return [unit];
    const base = unit * this.unitPages, out: number[] = [];
    for (let page = base; page < base + this.unitPages; page++) if (this.pageBits[page] === 1) out.push(page);
    return out;
  }

  /** @internal Victim record for `unit` (must be resident). */
  victim(unit: number): Victim {
    return { unit, pages: this.pagesOf(unit), lastUse: this.lastUse[unit] as TimePs };
  }

  /** @internal The least recently used unit not in `skip`, or null. */
  leastRecent(skip?: SkipUnits): Victim | null {
    for (let u = this.head; u !== NIL; u = this.next[u]) if (!skip || !skip.has(u)) return this.victim(u);
    return null;
  }

  /** Array positions of the resident units in `skip`, ascending and distinct. */
  private skippedSlots(skip?: SkipUnits): number[] {
    const skipped: number[] = [];
    if (skip) for (const u of skip) if (this.hasUnit(u)) skipped.push(this.slot[u]);
    skipped.sort((a, b) => a - b);
    let distinct = 0;
    for (let i = 0; i < skipped.length; i++) if (i === 0 || skipped[i] !== skipped[i - 1]) skipped[distinct++] = skipped[i];
    skipped.length = distinct;
    return skipped;
  }

  /** The `k`-th unskipped slot: each skipped slot at or before it pushes it one further. */
  private unskippedSlot(k: number, skipped: readonly number[]): number {
    let slot = k;
    for (const s of skipped) {
      if (s <= slot) slot++;
      else break;
    }
    return slot;
  }

  /**
   * Resident units not in `skip`: how many there are, and the `i`-th of them in the random
   * policy's array order (`randomOrder()` filtered by `skip`), without building that list.
   * O(k log k) for k skipped units. `at` throws RangeError outside [0, count).
   */
  candidates(skip?: SkipUnits): { readonly count: number; at(i: number): number } {
    const skipped = this.skippedSlots(skip);
    return new Candidates(this, this.orderLength - skipped.length, skipped);
  }

  /** @internal The unit at the `i`-th of the `count` slots not in `skipped` (Candidates.at). */
  candidateAt(i: number, count: number, skipped: readonly number[]): number {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`eviction: candidate ${i} of ${count}`);
    return this.order[this.unskippedSlot(i, skipped)];
  }

  /** Units, least recently used first, as a live iterator (do not mutate while iterating). */
  *lruUnits(): IterableIterator<number> {
    for (let u = this.head; u !== NIL; u = this.next[u]) yield u;
  }

  /**
   * @internal The `floor(r × m)`-th of the m units not in `skip`, in array order, or null when
   * m is 0 (then `r` is not drawn). `r` is called at most once.
   */
  randomPick(r: () => number, skip?: SkipUnits): Victim | null {
    const skipped = this.skippedSlots(skip);
    const m = this.orderLength - skipped.length;
    if (m === 0) return null;
    const x = r();
    if (!(x >= 0 && x < 1)) throw new RangeError(`eviction: rng returned ${x}, expected [0, 1)`);
    return this.victim(this.order[this.unskippedSlot(Math.floor(x * m), skipped)]);
  }
}

/**
 * What EvictionState.candidates returns. `at` is an arrow field, not a method: plug-ins see this
 * object (EvictionView.candidates, plug-in API version 1) and may destructure it
 * (`const { count, at } = v.candidates()`), which a prototype method would break. That costs
 * one closure per pick, which the plug-in interface's stability is worth.
 */
class Candidates {
  constructor(private readonly st: EvictionState, readonly count: number, private readonly skipped: readonly number[]) {}

  readonly at = (i: number): number => this.st.candidateAt(i, this.count, this.skipped);
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
