// Physical frame numbers: a physical address divided by the page size.

import { PAGE_SIZE } from './page.ts';

declare const pfnBrand: unique symbol;

/**
 * Physical frame number (physical address >> PAGE_SHIFT), global across all memory nodes
 * (CPU DRAM and device memory share one PFN space, as with ZONE_DEVICE pages in Linux).
 * Invariant: a non-negative safe integer; may exceed 2^32, so use arithmetic, not bit ops.
 * Type-only brand: a plain number at runtime.
 */
export type Pfn = number & { readonly [pfnBrand]: true };

/**
 * Brands `n` as a physical frame number.
 * @throws RangeError unless `n` is a non-negative safe integer.
 */
export function pfn(n: number): Pfn {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`pfn: expected a non-negative safe integer, got ${n}`);
  }
  return n as Pfn;
}

/** The frame containing physical byte address `addr` (a non-negative integer). */
export function pfnOfAddress(addr: number): Pfn {
  return pfn(Math.floor(addr / PAGE_SIZE));
}

/** First physical byte address of frame `f`. */
export function addressOfPfn(f: Pfn): number {
  return f * PAGE_SIZE;
}
