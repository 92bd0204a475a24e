// Page geometry of the modelled machine (x86-64 / arm64 with 4 KiB base pages).

import type { Bytes } from './bytes.ts';

/** log2 of the base page size: a byte address shifted right by this is a page number. */
export const PAGE_SHIFT = 12;

/** Base page size in bytes: 4096 = 2^PAGE_SHIFT. */
export const PAGE_SIZE = 4096 as Bytes;

/** Base pages per PMD-level (huge, 2 MiB) page: 512 = 2^9. */
export const PMD_PAGES = 512;

/** Bytes per PMD-level huge page: 2 MiB = PMD_PAGES × PAGE_SIZE. */
export const PMD_SIZE = (PMD_PAGES * PAGE_SIZE) as Bytes;

/** Bytes covered by `n` base pages. `n` must be a non-negative integer; result is exact. */
export function pagesToBytes(n: number): Bytes {
  return (n * PAGE_SIZE) as Bytes;
}

/**
 * Number of base pages needed to hold `b` bytes (rounded up): 0 → 0, 1 → 1, 4096 → 1, 4097 → 2.
 * Uses division rather than `>>>` because sizes can exceed 2^32.
 */
export function bytesToPages(b: Bytes | number): number {
  return Math.ceil(b / PAGE_SIZE);
}
