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
// in an array (insertion order, swap-with-last on removal) and the pick is
// array[floor(rng() × length)].

import { BLOCK_PAGES, checkVpn } from './types.ts';
import type { TimePs } from '../units/time.ts';

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

interface UnitEntry {
  readonly pages: Set<number>;
  lastUse: TimePs;
}

/**
 * Resident units of one device memory, in recency order. Explicit mutable state: the policy's
 * decision is `pickVictim(state, rng)`; the caller then removes the pages it evicted.
 */
export class EvictionState {
  readonly kind: EvictionKind;
  readonly unitPages: number;
  /** Map iteration order = recency order, least recently used first. */
  private readonly units = new Map<number, UnitEntry>();
  /** Random policy: units in a swap-remove array, and each unit's index in it. */
  private readonly order: number[] = [];
  private readonly index = new Map<number, number>();
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

  /** True if `page` is resident. */
  has(page: number): boolean {
    return this.units.get(this.unitOf(page))?.pages.has(page) ?? false;
  }

  /** Units, least recently used first (a snapshot array). */
  lruOrder(): number[] {
    return [...this.units.keys()];
  }

  /** Units, least recently used first, as a live iterator (do not mutate while iterating). */
  lruUnits(): IterableIterator<number> {
    return this.units.keys();
  }

  /** Resident units in the random policy's array order (for inspection). */
  randomOrder(): readonly number[] {
    return this.order;
  }

  private checkTime(time: TimePs): void {
    if (!Number.isSafeInteger(time) || (this.lastTime !== null && time < this.lastTime)) {
      throw new RangeError(`eviction: time ${time} ps goes backwards (last ${this.lastTime} ps)`);
    }
    this.lastTime = time;
  }

  private moveToTail(unit: number, entry: UnitEntry, time: TimePs): void {
    this.units.delete(unit);
    entry.lastUse = time;
    this.units.set(unit, entry);
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
      entry = { pages: new Set(), lastUse: time };
      this.index.set(unit, this.order.length);
      this.order.push(unit);
    }
    if (!entry.pages.has(page)) {
      entry.pages.add(page);
      this.pageCount++;
    }
    this.moveToTail(unit, entry, time);
  }

  /**
   * Records a use of resident `page` at `time`: its unit becomes the most recently used.
   * @throws RangeError if the page is not resident or the time goes backwards.
   */
  touch(page: number, time: TimePs): void {
    const unit = this.unitOf(page);
    const entry = this.units.get(unit);
    if (!entry || !entry.pages.has(page)) throw new RangeError(`eviction: touch of non-resident page ${page}`);
    this.checkTime(time);
    this.moveToTail(unit, entry, time);
  }

  /** Drops `page` (evicted or freed); its unit disappears with its last page. No-op if absent. */
  remove(page: number): void {
    const unit = this.unitOf(page);
    const entry = this.units.get(unit);
    if (!entry || !entry.pages.delete(page)) return;
    this.pageCount--;
    if (entry.pages.size === 0) this.dropUnit(unit);
  }

  /** Drops a whole unit; returns the pages it held (ascending, empty if absent). */
  removeUnit(unit: number): number[] {
    const entry = this.units.get(unit);
    if (!entry) return [];
    this.pageCount -= entry.pages.size;
    this.dropUnit(unit);
    return [...entry.pages].sort((a, b) => a - b);
  }

  private dropUnit(unit: number): void {
    this.units.delete(unit);
    const i = this.index.get(unit)!;
    const last = this.order.pop()!;
    if (last !== unit) {
      this.order[i] = last;
      this.index.set(last, i);
    }
    this.index.delete(unit);
  }

  /** @internal Victim record for `unit` (must be resident). */
  victim(unit: number): Victim {
    const entry = this.units.get(unit)!;
    return { unit, pages: [...entry.pages].sort((a, b) => a - b), lastUse: entry.lastUse };
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
export function pickVictim(
  state: EvictionState,
  rng?: () => number,
  skip?: (unit: number) => boolean,
): Victim | null {
  if (state.kind === 'random') {
    if (!rng) throw new RangeError('eviction: the random policy needs a seeded rng function');
    const candidates = skip ? state.randomOrder().filter((u) => !skip(u)) : state.randomOrder();
    if (candidates.length === 0) return null;
    const r = rng();
    if (!(r >= 0 && r < 1)) throw new RangeError(`eviction: rng returned ${r}, expected [0, 1)`);
    return state.victim(candidates[Math.floor(r * candidates.length)]);
  }
  for (const unit of state.lruUnits()) {
    if (!skip || !skip(unit)) return state.victim(unit);
  }
  return null;
}
