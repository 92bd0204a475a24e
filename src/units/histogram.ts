// A log-linear (HDR-style) histogram of non-negative integers: constant memory however many
// values it counts, so a run keeps its latency distribution without a record per fault.
// Values below 2^SUB_BITS land in buckets of width 1 (exact); above, each power of two is cut
// into 2^SUB_BITS equal buckets, so a bucket's width is at most 2^-SUB_BITS of its lower bound.
// Deterministic: integer arithmetic only, and the same values in any order give the same
// buckets, the same sum, min and max (addition of integers below 2^53 is exact and commutative).
import { grown } from './typed-array.ts';

/** Sub-buckets per power of two, as bits: 2^8 = 256, a bucket at most 1/256 (0.39 %) wide. */
export const HISTOGRAM_SUB_BITS = 8;
const SUB = 2 ** HISTOGRAM_SUB_BITS;

/**
 * Largest relative error of a quantile read from a histogram (`quantileOf`): any two values of
 * one bucket are within its width, 2^-SUB_BITS ≈ 0.39 % of the smaller.
 */
export const HISTOGRAM_RELATIVE_PRECISION = 2 ** -HISTOGRAM_SUB_BITS;

/**
 * The serialised form (results.json `faultLatency`): count, exact sum, min and max, and the
 * non-empty buckets as `[lowerBound, count]` pairs, ascending. A bucket holds the values from
 * its lower bound up to (not including) `bucketHigh(lowerBound)`. Units are the caller's (ps for
 * latencies). `sum` is exact while it stays below 2^53 (about 2.5 hours of summed picoseconds).
 */
export interface HistogramJson {
  /** Sub-bucket bits the buckets were cut with (HISTOGRAM_SUB_BITS when written). */
  subBits: number;
  count: number;
  sum: number;
  /** Smallest and largest value counted; 0 when count is 0. */
  min: number;
  max: number;
  buckets: [number, number][];
}

/** Bucket index of integer `v` ≥ 0. */
function indexOf(v: number): number {
  if (v < SUB) return v;
  let k: number;
  // Below 2^32 (4.3 ms in ps: most latencies) the leading-zero count is the exact log2.
  if (v < 2 ** 32) k = 31 - Math.clz32(v);
  else {
    k = Math.floor(Math.log2(v));
    // log2 of integers near a power of two can round either way in floating point.
    if (2 ** k > v) k--;
    else if (2 ** (k + 1) <= v) k++;
  }
  const shift = k - HISTOGRAM_SUB_BITS;
  return shift * SUB + Math.floor(v / 2 ** shift);
}

/** Lower bound of bucket `i`. */
function lowOf(i: number): number {
  if (i < 2 * SUB) return i;
  const shift = Math.floor(i / SUB) - 1;
  return (i - shift * SUB) * 2 ** shift;
}

/**
 * First value above the bucket whose lower bound is `low`, for histograms cut with `subBits`
 * sub-bucket bits.
 */
export function bucketHigh(low: number, subBits = HISTOGRAM_SUB_BITS): number {
  const sub = 2 ** subBits;
  if (low < 2 * sub) return low + 1;
  const shift = Math.floor(Math.log2(low / sub));
  return low + 2 ** shift;
}

/** A log-linear histogram being filled (see the file comment). */
export class LogHistogram {
  private counts = new Float64Array(2 * SUB);
  private top = -1;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  /** Counts integer `v` ≥ 0 (`n` times). */
  add(v: number, n = 1): void {
    const i = indexOf(v);
    if (i >= this.counts.length) this.reserve(i);
    this.counts[i] += n;
    if (i > this.top) this.top = i;
    this.count += n;
    this.sum += v * n;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Makes bucket `i` exist: at least doubles the buckets. */
  private reserve(i: number): void {
    this.counts = grown(this.counts, Math.max(i + 1, this.counts.length * 2));
  }

  /** Adds every value `h` counted. */
  merge(h: LogHistogram): void {
    for (let i = 0; i <= h.top; i++) {
      const n = h.counts[i];
      if (n === 0) continue;
      if (i >= this.counts.length) this.reserve(i);
      this.counts[i] += n;
    }
    this.top = Math.max(this.top, h.top);
    this.count += h.count;
    this.sum += h.sum;
    this.min = Math.min(this.min, h.min);
    this.max = Math.max(this.max, h.max);
  }

  /** Non-empty buckets: the retained state, bounded by the value range, not by the count. */
  get bucketsInUse(): number {
    let n = 0;
    for (let i = 0; i <= this.top; i++) if (this.counts[i] !== 0) n++;
    return n;
  }

  /** The serialised form. */
  toJSON(): HistogramJson {
    const buckets: [number, number][] = [];
    for (let i = 0; i <= this.top; i++) if (this.counts[i] !== 0) buckets.push([lowOf(i), this.counts[i]]);
    return { subBits: HISTOGRAM_SUB_BITS, count: this.count, sum: this.sum, min: this.count === 0 ? 0 : this.min, max: this.count === 0 ? 0 : this.max, buckets };
  }

  /** A histogram of `values` (integers ≥ 0): how old per-fault lists are read. */
  static of(values: readonly number[]): LogHistogram {
    const h = new LogHistogram();
    for (let i = 0; i < values.length; i++) h.add(values[i]);
    return h;
  }
}

/**
 * The value a bucket [low, high) stands for: the integer in it with the fewest significant
 * decimal digits, nearest the middle among those (20,000,000 for the bucket holding 20 µs in ps,
 * where the midpoint would print as 19.988 µs). Latencies are sums of profile costs, often
 * round, so the round value is the likeliest one; any value of the bucket is within its width.
 */
function roundestIn(low: number, high: number): number {
  if (high - low === 1) return low;
  const mid = (low + high - 1) / 2;
  for (let step = 10 ** Math.floor(Math.log10(high)); step >= 1; step /= 10) {
    const first = Math.ceil(low / step) * step;
    if (first >= high) continue;
    const last = Math.floor((high - 1) / step) * step;
    // Multiples of `step` in [first, last]: the one nearest the middle (the upper on a tie).
    return Math.min(last, Math.max(first, Math.round((mid - first) / step) * step + first));
  }
  return Math.floor(mid);
}

/** The value bucket `low` of a histogram cut with `subBits` stands for (`roundestIn`). */
export function bucketValue(low: number, subBits = HISTOGRAM_SUB_BITS): number {
  return roundestIn(low, bucketHigh(low, subBits));
}

/**
 * The nearest-rank `q`-quantile (0 ≤ q ≤ 1) of a serialised histogram, the rank being
 * ceil(q × count): the roundest value of the bucket holding that rank (`roundestIn`), clamped to
 * [min, max], so it is exact for buckets of width 1 and for the smallest and largest values,
 * and otherwise within HISTOGRAM_RELATIVE_PRECISION of the true quantile. NaN when empty.
 */
export function quantileOf(h: HistogramJson, q: number): number {
  if (h.count === 0) return NaN;
  const rank = Math.min(h.count, Math.max(1, Math.ceil(q * h.count)));
  if (rank === h.count) return h.max;
  if (rank === 1) return h.min;
  let seen = 0;
  for (const [low, n] of h.buckets) {
    seen += n;
    if (seen >= rank) {
      return Math.min(h.max, Math.max(h.min, bucketValue(low, h.subBits)));
    }
  }
  return h.max;
}

/** Mean of a serialised histogram (exact sum over count), or NaN when empty. */
export function meanOf(h: HistogramJson): number {
  return h.count === 0 ? NaN : h.sum / h.count;
}
