// Byte counts. Sizes in the model (pages, buffers, link payloads) are exact integers; a
// fractional byte is always a bug upstream, so the constructors reject it instead of rounding.

declare const bytesBrand: unique symbol;

/**
 * A count of bytes. Invariant: a non-negative safe integer (0 ≤ n ≤ 2^53 − 1).
 * The brand is type-only; at runtime a `Bytes` is a plain number.
 */
export type Bytes = number & { readonly [bytesBrand]: true };

/** Number of bytes in one KiB (2^10). */
export const KIB = 1024;
/** Number of bytes in one MiB (2^20). */
export const MIB = 1024 * 1024;
/** Number of bytes in one GiB (2^30). */
export const GIB = 1024 * 1024 * 1024;

/**
 * Brands `n` as a byte count.
 * @param n bytes; must be a non-negative safe integer.
 * @throws RangeError if `n` is negative, fractional, non-finite or above 2^53 − 1.
 */
export function bytes(n: number): Bytes {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`bytes: expected a non-negative safe integer, got ${n}`);
  }
  return n as Bytes;
}

/** `n` KiB (n × 1024 bytes). `n` may be fractional if the product is a whole number of bytes. */
export function kib(n: number): Bytes {
  return bytes(n * KIB);
}

/** `n` MiB (n × 2^20 bytes). `n` may be fractional if the product is a whole number of bytes. */
export function mib(n: number): Bytes {
  return bytes(n * MIB);
}

/** `n` GiB (n × 2^30 bytes). `n` may be fractional if the product is a whole number of bytes. */
export function gib(n: number): Bytes {
  return bytes(n * GIB);
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * Human-readable binary size with at most two decimals, trailing zeros dropped:
 * 4096 → "4 KiB", 2 MiB → "2 MiB", 1.5 GiB → "1.5 GiB", 100 → "100 B".
 * Accepts any finite number (negative deltas are formatted with a leading "-").
 */
export function formatBytes(b: number): string {
  if (!Number.isFinite(b)) return `${b} B`;
  const sign = b < 0 ? '-' : '';
  let v = Math.abs(b);
  let unit = 0;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  let text = trimFixed(v, unit === 0 ? 0 : 2);
  // Rounding can carry into the next unit (1023.999 KiB prints as "1024 KiB" otherwise).
  if (Number(text) >= 1024 && unit < BYTE_UNITS.length - 1) {
    unit++;
    text = trimFixed(v / 1024, 2);
  }
  return `${sign}${text} ${BYTE_UNITS[unit]}`;
}

/** toFixed(digits) with trailing zeros (and a bare trailing dot) removed. */
function trimFixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
