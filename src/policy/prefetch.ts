// NVIDIA UVM's density-tree prefetcher over one 2 MiB VA block (anchors-uvm.md §b.2,
// `uvm_perf_prefetch.c`).
//
// How the UVM algorithm works, as modelled here (one call = one batch of faults that migrate
// pages of one block to one destination processor):
//
// 1. Occupancy. A full binary tree covers the block's 512 leaves (4 KiB pages); a node at level k
//    covers an aligned run of 2^k pages, up to the root (level 9, the whole 2 MiB). A leaf is
//    occupied if the page is already resident at the destination or is being faulted in now.
// 2. Big-page growth. Each 64 KiB big page (16 pages) that contains a faulted page is marked fully
//    occupied, unless one of its pages is thrashing ("faulted pages grow to the whole 64 KB big
//    page", §b.2).
// 3. Walk. For each faulted page that is not thrashing, walk from its leaf up to the root. Every
//    node whose occupied count satisfies `count > threshold × size` (UVM: `counter*100 >
//    pages*51`) replaces the candidate, so the result is the LARGEST (highest) qualifying node on
//    the path — not necessarily a contiguous chain of qualifying nodes. The union of these nodes
//    is the prefetch region.
// 4. Result. Region − faulted pages − pages already resident at the destination − thrashing
//    pages. UVM keeps resident pages in its mask and skips them when copying; here they are
//    removed so the result is exactly the pages to copy.
//
// Also modelled: `uvm_perf_prefetch_min_faults` (no prefetch until that many faults of the
// block have migrated to the same processor) and the first-touch rule (a block not resident
// anywhere whose destination is the preferred location is populated whole).
// Not modelled: "no prefetching out of a preferred location", per-processor bookkeeping of the
// last destination (the caller passes `priorFaultMigrations`), HMM VMA clipping, range groups.
//
// Consequence worth knowing: with the defaults, an isolated fault in an empty block prefetches
// the other 15 pages of its 64 KiB big page (16/16 occupied at level 4; 16/32 = 50 % at level 5
// is not above 51 %).

import {
  BIG_PAGE_PAGES,
  BLOCK_PAGES,
  blockFirstVpn,
  blockOf,
  checkVpn,
  sortedUnique,
} from './types.ts';

/** Parameters of the density prefetcher. */
export interface PrefetchParams {
  /**
   * Occupancy fraction a subtree must EXCEED to be prefetched, in (0, 1]. UVM's
   * `uvm_perf_prefetch_threshold` is in percent (1–100); 51 % is 0.51 here. 1.0 never prefetches.
   */
  readonly threshold: number;
  /** Pages per big page that faults grow to: a power of two dividing 512; 1 disables growth. */
  readonly bigPagePages: number;
  /** Faults of this block migrating to the destination before prefetching starts (1–20). */
  readonly minFaults: number;
}

/**
 * UVM defaults (anchors-uvm.md §b.2): `uvm_perf_prefetch_threshold` = 51 %,
 * `UVM_BIG_PAGE_SIZE` = 64 KiB (§a), `uvm_perf_prefetch_min_faults` = 1.
 */
export const PREFETCH_DEFAULTS: PrefetchParams = Object.freeze({
  threshold: 0.51,
  bigPagePages: BIG_PAGE_PAGES,
  minFaults: 1,
});

/** Inputs of one prefetch decision (one block, one destination). */
export interface PrefetchInput {
  /** Pages faulted in this batch, all in the same 2 MiB block (non-empty to prefetch). */
  readonly faulted: readonly number[];
  /** Pages already resident at the destination (pages outside the block are ignored). */
  readonly resident: Iterable<number>;
  /** Pages flagged as thrashing (see thrashing.ts): never grown into, walked from or prefetched. */
  readonly thrashing?: Iterable<number>;
  /** Earlier fault migrations of this block to the same destination (default 0). */
  readonly priorFaultMigrations?: number;
  /**
   * True if no page of the block is resident anywhere and the destination is the block's
   * preferred location: UVM then populates the whole block (default false).
   */
  readonly firstTouchToPreferred?: boolean;
}

function checkParams(p: PrefetchParams): void {
  if (!(p.threshold > 0 && p.threshold <= 1)) {
    throw new RangeError(`prefetch: threshold must be in (0, 1], got ${p.threshold}`);
  }
  const g = p.bigPagePages;
  if (!Number.isInteger(g) || g < 1 || g > BLOCK_PAGES || BLOCK_PAGES % g !== 0 || (g & (g - 1)) !== 0) {
    throw new RangeError(`prefetch: bigPagePages must be a power of two dividing ${BLOCK_PAGES}, got ${g}`);
  }
  if (!Number.isInteger(p.minFaults) || p.minFaults < 1) {
    throw new RangeError(`prefetch: minFaults must be an integer >= 1, got ${p.minFaults}`);
  }
}

/**
 * Pages to prefetch for one batch of faults in one 2 MiB block, by UVM's density tree.
 *
 * @returns VPNs sorted ascending, all inside the faulted block, none faulted, already resident
 *   or thrashing. Empty if `faulted` is empty, or fewer than `minFaults` faults have migrated.
 * @throws RangeError on bad parameters, a bad VPN, or faulted pages spanning several blocks.
 */
export function computePrefetch(input: PrefetchInput, params: PrefetchParams = PREFETCH_DEFAULTS): number[] {
  checkParams(params);
  const faulted = sortedUnique(input.faulted.map((v) => checkVpn(v, 'faulted vpn')));
  if (faulted.length === 0) return [];
  const block = blockOf(faulted[0]);
  if (blockOf(faulted[faulted.length - 1]) !== block) {
    throw new RangeError('prefetch: faulted pages must lie in one 2 MiB block');
  }
  const base = blockFirstVpn(block);
  const { resident, thrashing, isFaulted, occupied, region } = SCRATCH;
  resident.fill(0);
  thrashing.fill(0);
  isFaulted.fill(0);
  region.fill(0);
  for (const v of input.resident) if (v >= base && v < base + BLOCK_PAGES) resident[v - base] = 1;
  for (const v of input.thrashing ?? []) if (v >= base && v < base + BLOCK_PAGES) thrashing[v - base] = 1;
  for (const v of faulted) isFaulted[v - base] = 1;

  if (input.firstTouchToPreferred) return regionToPrefetch(base, region.fill(1));

  const prior = input.priorFaultMigrations ?? 0;
  if (prior + faulted.length < params.minFaults) return [];

  // 1. occupancy = resident ∪ faulted.
  for (let i = 0; i < BLOCK_PAGES; i++) occupied[i] = resident[i] | isFaulted[i];

  // 2. grow faults to whole big pages that hold no thrashing page.
  const g = params.bigPagePages;
  for (let start = 0; start < BLOCK_PAGES; start += g) {
    let hasFault = false;
    let hasThrash = false;
    for (let i = start; i < start + g; i++) {
      hasFault ||= isFaulted[i] === 1;
      hasThrash ||= thrashing[i] === 1;
    }
    if (hasFault && !hasThrash) occupied.fill(1, start, start + g);
  }

  // Counters per level: counts[k][j] = occupied pages in node j of level k (size 2^k).
  const counts = SCRATCH.counts;
  for (let i = 0; i < BLOCK_PAGES; i++) counts[0][i] = occupied[i];
  for (let k = 1; k < counts.length; k++) {
    const below = counts[k - 1], level = counts[k];
    for (let j = 0; j < level.length; j++) level[j] = below[2 * j] + below[2 * j + 1];
  }

  // 3. walk each non-thrashing fault to the root; keep the highest qualifying node.
  for (const v of faulted) {
    const leaf = v - base;
    if (thrashing[leaf]) continue;
    let bestFirst = -1, bestSize = 0;
    for (let k = 0; k < counts.length; k++) {
      const size = 2 ** k;
      const j = Math.floor(leaf / size);
      if (counts[k][j] > params.threshold * size) {
        bestFirst = j * size;
        bestSize = size;
      }
    }
    if (bestFirst >= 0) region.fill(1, bestFirst, bestFirst + bestSize);
  }

  // 4. region minus faulted, resident and thrashing pages.
  return regionToPrefetch(base, region);
}

/**
 * Per-page masks of the block and the density tree's counters, reused by every call: the
 * function stays pure (each call clears or overwrites everything it reads), and a decision
 * taken on every migrating fault, several times per block as a stream fills it, no longer
 * allocates sixteen typed arrays.
 */
const SCRATCH = {
  resident: new Uint8Array(BLOCK_PAGES),
  thrashing: new Uint8Array(BLOCK_PAGES),
  isFaulted: new Uint8Array(BLOCK_PAGES),
  occupied: new Uint8Array(BLOCK_PAGES),
  region: new Uint8Array(BLOCK_PAGES),
  /** counts[k]: one counter per node of level k (2^k pages each), k = 0 (pages) .. 9 (the block). */
  counts: Array.from({ length: Math.log2(BLOCK_PAGES) + 1 }, (_, k) => new Uint16Array(BLOCK_PAGES / 2 ** k)),
};

/** The pages of `region` that are neither faulted, resident nor thrashing, ascending. */
function regionToPrefetch(base: number, region: Uint8Array): number[] {
  const { isFaulted, resident, thrashing } = SCRATCH;
  const out: number[] = [];
  for (let i = 0; i < BLOCK_PAGES; i++) {
    if (region[i] && !isFaulted[i] && !resident[i] && !thrashing[i]) out.push(base + i);
  }
  return out;
}
