// Working-set sizing for oversubscription experiments: "run at 1.5× device memory" becomes a page
// count the generators take.

import { PAGE_SIZE } from '../units/page.ts';

/**
 * Number of 4 KiB pages in a working set of `factor` × `deviceCapacityBytes`, rounded up so the
 * set is never smaller than asked (at factor > 1 it really oversubscribes). A product within
 * 1e-9 (relative) of a whole page count counts as that count, so float noise such as
 * 1.1 × 40 pages = 44.000000000000004 gives 44, not 45. The result is an integer ≥ 1.
 * @param deviceCapacityBytes device memory in bytes, a positive safe integer
 * @param factor working set / capacity, finite and > 0 (e.g. 1.5 for 150%)
 * @throws RangeError naming the bad argument, or if the page count is not a safe integer.
 */
export function oversubscribedPages(deviceCapacityBytes: number, factor: number): number {
  const fn = 'oversubscribedPages';
  if (typeof deviceCapacityBytes !== 'number' || !Number.isSafeInteger(deviceCapacityBytes) || deviceCapacityBytes < 1) {
    throw new RangeError(`${fn}: 'deviceCapacityBytes' must be a positive integer, got ${String(deviceCapacityBytes)}`);
  }
  if (typeof factor !== 'number' || !Number.isFinite(factor) || !(factor > 0)) {
    throw new RangeError(`${fn}: 'factor' must be a finite number > 0, got ${String(factor)}`);
  }
  const exact = (deviceCapacityBytes / PAGE_SIZE) * factor;
  const near = Math.round(exact);
  const pages = Math.max(1, Math.abs(exact - near) <= 1e-9 * Math.max(1, exact) ? near : Math.ceil(exact));
  if (!Number.isSafeInteger(pages)) {
    throw new RangeError(`${fn}: ${factor} × ${deviceCapacityBytes} B is not a representable page count`);
  }
  return pages;
}
