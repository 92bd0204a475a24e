// Virtual page numbers: a virtual address divided by the page size.

import { PAGE_SIZE } from './page.ts';

declare const vpnBrand: unique symbol;

/**
 * Virtual page number (virtual address >> PAGE_SHIFT) within one address space.
 * Invariant: a non-negative safe integer. With 57-bit virtual addresses a VPN is < 2^45, so it
 * exceeds 32 bits: never use `|`, `>>` or `>>>` on it (they truncate to 32 bits); use
 * arithmetic. Type-only brand: a plain number at runtime.
 */
export type Vpn = number & { readonly [vpnBrand]: true };

/**
 * Brands `n` as a virtual page number.
 * @throws RangeError unless `n` is a non-negative safe integer.
 */
export function vpn(n: number): Vpn {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`vpn: expected a non-negative safe integer, got ${n}`);
  }
  return n as Vpn;
}

/** The page containing byte address `addr` (a non-negative integer; may exceed 2^32). */
export function vpnOfAddress(addr: number): Vpn {
  return vpn(Math.floor(addr / PAGE_SIZE));
}

/** First byte address of page `v`. Exact for every valid VPN. */
export function addressOfVpn(v: Vpn): number {
  return v * PAGE_SIZE;
}

/**
 * The byte range of `pages` pages from page `first` as `0xSTART-0xEND` (end exclusive, lower-case
 * hex), the form trace args use: a reader matches it against /proc/PID/maps.
 */
export function formatVpnRange(first: number, pages: number): string {
  return `0x${(first * PAGE_SIZE).toString(16)}-0x${((first + pages) * PAGE_SIZE).toString(16)}`;
}
