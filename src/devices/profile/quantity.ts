// Human-friendly quantities in device profiles: sizes ("4 KiB"), bandwidths ("11.95 GB/s") and
// durations ("45 us"). Each parser returns the model's integer-friendly unit (bytes, bytes/s,
// picoseconds) and throws a QuantityError whose message says what was expected.
import { bytes, type Bytes } from '../../units/bytes.ts';
import { PS_PER_MS, PS_PER_NS, PS_PER_S, PS_PER_US, type TimePs } from '../../units/time.ts';

/** A size, bandwidth or duration that could not be parsed. The message is one line. */
export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

/** Binary size units (1024-based). Decimal "KB"/"MB"/"GB" are rejected as ambiguous. */
export const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** Bandwidth units, bytes/s per unit. "GB/s" is decimal (1e9 B/s); "GiB/s" is 2^30 B/s. */
export const BANDWIDTH_UNITS: Readonly<Record<string, number>> = {
  'B/s': 1,
  'KB/s': 1e3,
  'MB/s': 1e6,
  'GB/s': 1e9,
  'TB/s': 1e12,
  'KiB/s': 2 ** 10,
  'MiB/s': 2 ** 20,
  'GiB/s': 2 ** 30,
  'TiB/s': 2 ** 40,
  'Mbit/s': 1e6 / 8,
  'Gbit/s': 1e9 / 8,
  'Tbit/s': 1e12 / 8,
  'Mb/s': 1e6 / 8,
  'Gb/s': 1e9 / 8,
  'Tb/s': 1e12 / 8,
};

/** Duration units, picoseconds per unit. "µs" may be written with U+00B5 or U+03BC, or as "us". */
export const DURATION_UNITS: Readonly<Record<string, number>> = {
  ps: 1,
  ns: PS_PER_NS,
  us: PS_PER_US,
  '\u00b5s': PS_PER_US,
  '\u03bcs': PS_PER_US,
  ms: PS_PER_MS,
  s: PS_PER_S,
};

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(\S+)?$/;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function unitList(units: Readonly<Record<string, number>>): string {
  return Object.keys(units).filter((u) => u !== '\u03bcs').join(', ');
}

/** Splits "4 KiB" into [4, "KiB"]; a bare number string gives unit undefined. */
/** A bare number (no unit) or a "<number> <unit>" string; anything else is an error. */
function numberAndUnit(v: unknown, what: string, example: string): [number, string | undefined] {
  if (typeof v === 'number') return [v, undefined];
  if (typeof v === 'string') return split(v, what, example);
  throw new QuantityError(`expected ${what} such as ${example}, got ${show(v)}`);
}

function split(text: string, what: string, example: string): [number, string | undefined] {
  const m = QUANTITY.exec(text.trim());
  if (m === null) throw new QuantityError(`expected ${what} such as ${example}, got ${show(text)}`);
  return [Number(m[1]), m[2]];
}

/**
 * Parses a size: a non-negative integer number of bytes, or a string "<number> <unit>" with a
 * binary unit (B, KiB, MiB, GiB, TiB): "4 KiB" → 4096, "2 MiB" → 2097152, "1.5 GiB".
 * @throws QuantityError on another type, an unknown or decimal unit, or a result that is not a
 *   whole, non-negative, safe number of bytes.
 */
export function parseSize(v: unknown): Bytes {
  const what = 'a size';
  const example = '"4 KiB" or a byte count';
  const [n, unit] = numberAndUnit(v, what, example);
  let scale = 1;
  if (unit !== undefined) {
    const s = SIZE_UNITS[unit];
    if (s === undefined) {
      const binary = /^([KMGT])B$/i.exec(unit);
      if (binary !== null) {
        throw new QuantityError(
          `ambiguous size unit "${unit}" in ${show(v)}; write "${n} ${binary[1].toUpperCase()}iB" (1024-based) or a byte count`,
        );
      }
      throw new QuantityError(`unknown size unit "${unit}" in ${show(v)}; expected one of ${unitList(SIZE_UNITS)}`);
    }
    scale = s;
  }
  const b = n * scale;
  if (!Number.isSafeInteger(b) || b < 0) {
    throw new QuantityError(`expected ${what} that is a whole, non-negative number of bytes, got ${show(v)}`);
  }
  return bytes(b);
}

/**
 * Parses a bandwidth: a positive number of bytes/s, or "<number> <unit>" with a decimal
 * (B/s, KB/s, MB/s, GB/s, TB/s), binary (KiB/s ... TiB/s) or bit (Mbit/s, Gbit/s, Gb/s ...) unit:
 * "11.95 GB/s" → 11.95e9, "200 Gbit/s" → 25e9.
 * @throws QuantityError on another type, an unknown unit, or a value that is not finite and > 0.
 */
export function parseBandwidth(v: unknown): number {
  const what = 'a bandwidth';
  const example = '"11.95 GB/s" or a number of bytes/s';
  const [n, unit] = numberAndUnit(v, what, example);
  let scale = 1;
  if (unit !== undefined) {
    const s = BANDWIDTH_UNITS[unit];
    if (s === undefined) {
      throw new QuantityError(`unknown bandwidth unit "${unit}" in ${show(v)}; expected one of ${unitList(BANDWIDTH_UNITS)}`);
    }
    scale = s;
  }
  const bw = n * scale;
  if (!Number.isFinite(bw) || !(bw > 0)) {
    throw new QuantityError(`expected ${what} greater than zero, got ${show(v)}`);
  }
  // Decimal inputs such as 11.95 × 1e9 pick up float noise (11950000000.000002); snap it away.
  const rounded = Math.round(bw);
  return Math.abs(bw - rounded) < 1e-6 * bw && rounded > 0 ? rounded : bw;
}

/**
 * Parses a duration into integer picoseconds (rounded to the nearest ps): "45 us" → 45_000_000,
 * "1.5 ms", "200 ns", "45 µs". Units: ps, ns, us (or µs), ms, s. A bare number is accepted only
 * for zero, since "latency: 45" would otherwise silently mean 45 ps.
 * @throws QuantityError on another type, a missing or unknown unit, or a negative value.
 */
export function parseDuration(v: unknown): TimePs {
  const what = 'a duration';
  const example = '"45 us"';
  const [n, unit] = numberAndUnit(v, what, example);
  if (unit === undefined) {
    if (n === 0) return 0 as TimePs;
    throw new QuantityError(`a duration needs a unit (${unitList(DURATION_UNITS)}), e.g. "${n} us"; got ${show(v)}`);
  }
  const scale = DURATION_UNITS[unit];
  if (scale === undefined) {
    throw new QuantityError(`unknown duration unit "${unit}" in ${show(v)}; expected one of ${unitList(DURATION_UNITS)}`);
  }
  const t = Math.round(n * scale);
  if (!Number.isSafeInteger(t) || t < 0) {
    throw new QuantityError(`expected ${what} that is non-negative and at most ~2.5 hours, got ${show(v)}`);
  }
  return (t === 0 ? 0 : t) as TimePs;
}

/** True when `v` is a number or a string that parses as a size, bandwidth or duration. */
export function isQuantity(v: unknown): boolean {
  if (typeof v === 'number') return true;
  if (typeof v !== 'string') return false;
  for (const parse of [parseSize, parseBandwidth, parseDuration]) {
    try {
      parse(v);
      return true;
    } catch {
      // try the next kind
    }
  }
  return false;
}
