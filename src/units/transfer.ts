// Time to move bytes over a link of a given bandwidth.

import type { Bytes } from './bytes.ts';
import { PS_PER_S, type TimePs } from './time.ts';

const PS_PER_S_BIG = BigInt(PS_PER_S);
const FAST_LIMIT = 2 ** 52;

/**
 * Time to transfer `b` bytes at `bytesPerSecond`, rounded UP to a whole picosecond, so a
 * transfer never finishes earlier than the bandwidth allows and 0 bytes take 0 ps.
 *
 * Exact for integer bandwidths: bytes × 10^12 exceeds 2^53 for anything over ~9 KB, where a
 * double product would round and `ceil` could then land one ps off; so that case goes through
 * BigInt. Fractional bandwidths fall back to floating point (still rounded up).
 *
 * @param b bytes to move (non-negative integer)
 * @param bytesPerSecond bandwidth in bytes/second (finite, > 0); 375 GB/s is 375e9
 * @returns duration in ps, e.g. 4096 B at 375e9 B/s → 10 923 ps
 * @throws RangeError on a non-positive or non-finite bandwidth, or a negative/fractional size
 */
export function transferTimePs(b: Bytes | number, bytesPerSecond: number): TimePs {
  if (!(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) {
    throw new RangeError(`transferTimePs: bandwidth must be finite and > 0, got ${bytesPerSecond}`);
  }
  if (!Number.isSafeInteger(b) || b < 0) {
    throw new RangeError(`transferTimePs: size must be a non-negative safe integer, got ${b}`);
  }
  const scaled = b * PS_PER_S;
  let t: number;
  if (scaled <= FAST_LIMIT && Number.isInteger(bytesPerSecond) && bytesPerSecond <= FAST_LIMIT) {
    // Both operands exact and small enough that q × bandwidth (≤ scaled + bandwidth) stays
    // exact, so the float quotient can be corrected with an exact integer remainder.
    let q = Math.floor(scaled / bytesPerSecond);
    let r = scaled - q * bytesPerSecond;
    if (r < 0) { q -= 1; r += bytesPerSecond; } else if (r >= bytesPerSecond) { q += 1; r -= bytesPerSecond; }
    t = r > 0 ? q + 1 : q;
  } else if (Number.isSafeInteger(bytesPerSecond)) {
    const num = BigInt(b) * PS_PER_S_BIG;
    const den = BigInt(bytesPerSecond);
    t = Number((num + den - 1n) / den);
  } else {
    t = Math.ceil(scaled / bytesPerSecond);
  }
  if (!Number.isSafeInteger(t)) {
    throw new RangeError(`transferTimePs: ${b} B at ${bytesPerSecond} B/s overflows TimePs`);
  }
  return t as TimePs;
}
