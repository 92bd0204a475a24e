// Simulated time.
//
// Why integer picoseconds: the fastest links in the model move a 4 KiB page in about 10.9 ns
// (4096 B at 375 GB/s = 10 922.67 ps). Whole nanoseconds would make that copy 10 ns or 11 ns,
// an error of up to ~9% (0.92 ns of 10.9) on every page copy, and the errors accumulate along
// every transfer chain and blur the difference between link speeds. In picoseconds the same
// copy is 10 923 ps, an error below 0.01%.
// A double holds integers exactly up to 2^53, and 2^53 ps ≈ 9007 s ≈ 2.5 hours of simulated
// time, which is far more than any scenario runs. Integer arithmetic on doubles is exact and
// associative, so event times, and therefore whole runs, are byte-identical across machines and
// across refactorings that reorder additions; floating-point seconds would not be.

declare const timePsBrand: unique symbol;

/**
 * Simulated time or duration in integer picoseconds (1 ps = 1e-12 s).
 * Invariant: a safe integer (|t| ≤ 2^53 − 1, i.e. about ±2.5 h). Instants on the engine clock
 * are ≥ 0; differences of instants may be negative. Type-only brand: a plain number at runtime.
 */
export type TimePs = number & { readonly [timePsBrand]: true };

/** Picoseconds per nanosecond. */
export const PS_PER_NS = 1_000;
/** Picoseconds per microsecond. */
export const PS_PER_US = 1_000_000;
/** Picoseconds per millisecond. */
export const PS_PER_MS = 1_000_000_000;
/** Picoseconds per second. */
export const PS_PER_S = 1_000_000_000_000;

/** Time zero: the start of every simulation. */
export const TIME_ZERO = 0 as TimePs;

function toPs(n: number, scale: number, what: string): TimePs {
  const t = Math.round(n * scale);
  if (!Number.isSafeInteger(t)) {
    throw new RangeError(`${what}(${n}): not representable as integer picoseconds`);
  }
  // Math.round(-0.4) is -0; normalise so formatting and Object.is comparisons stay clean.
  return (t === 0 ? 0 : t) as TimePs;
}

/** `n` picoseconds, rounded to the nearest integer ps. @throws RangeError if not finite/safe. */
export function ps(n: number): TimePs {
  return toPs(n, 1, 'ps');
}

/** `n` nanoseconds as TimePs, rounded to the nearest ps. @throws RangeError if not finite/safe. */
export function ns(n: number): TimePs {
  return toPs(n, PS_PER_NS, 'ns');
}

/** `n` microseconds as TimePs, rounded to the nearest ps. @throws RangeError if not finite/safe. */
export function us(n: number): TimePs {
  return toPs(n, PS_PER_US, 'us');
}

/** `n` milliseconds as TimePs, rounded to the nearest ps. @throws RangeError if not finite/safe. */
export function ms(n: number): TimePs {
  return toPs(n, PS_PER_MS, 'ms');
}

/** `n` seconds as TimePs, rounded to the nearest ps. @throws RangeError if not finite/safe. */
export function s(n: number): TimePs {
  return toPs(n, PS_PER_S, 's');
}

const TIME_UNITS: readonly (readonly [string, number])[] = [
  ['ps', 1],
  ['ns', PS_PER_NS],
  ['us', PS_PER_US],
  ['ms', PS_PER_MS],
  ['s', PS_PER_S],
];

/**
 * Human-readable time with the largest unit whose value is ≥ 1, at most three decimals,
 * trailing zeros dropped: 1_234_000_000 ps → "1.234 ms", 10_923 → "10.923 ns", 0 → "0 ps".
 * Uses "us" (ASCII) for microseconds. Accepts negative durations.
 */
export function formatTime(t: number): string {
  if (!Number.isFinite(t)) return `${t} ps`;
  const sign = t < 0 ? '-' : '';
  const a = Math.abs(t);
  let i = 0;
  while (i < TIME_UNITS.length - 1 && a >= TIME_UNITS[i + 1][1]) i++;
  let text = trimFixed(a / TIME_UNITS[i][1], i === 0 ? 0 : 3);
  // 999.9996 ns rounds to "1000"; print it as "1 us" instead.
  if (i < TIME_UNITS.length - 1 && Number(text) >= 1000) {
    i++;
    text = trimFixed(a / TIME_UNITS[i][1], 3);
  }
  return `${sign}${text} ${TIME_UNITS[i][0]}`;
}

function trimFixed(v: number, digits: number): string {
  const str = v.toFixed(digits);
  return str.includes('.') ? str.replace(/\.?0+$/, '') : str;
}
