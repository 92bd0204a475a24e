// The log-linear latency histogram that replaced per-fault latency lists: bucket bounds, exact
// count/sum/min/max, quantiles within the stated precision of the exact nearest-rank quantile,
// order independence and merging.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HISTOGRAM_RELATIVE_PRECISION, HISTOGRAM_SUB_BITS, LogHistogram, bucketHigh, bucketValue, meanOf, quantileOf } from '../../src/units/histogram.ts';
import { quantile } from '../../src/report/format.ts';

// Sums stay below 2^53 (where the sum is exact, as the histogram documents): 400 values ≤ 2^44.
const latency = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(20_000_000, 2 ** 30, 2 ** 30 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 44));

describe('LogHistogram', () => {
  it('puts every value in a bucket no wider than 2^-SUB_BITS of its lower bound', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), (v) => {
      const [[low, n]] = LogHistogram.of([v]).toJSON().buckets;
      const high = bucketHigh(low);
      expect(n).toBe(1);
      expect(low).toBeLessThanOrEqual(v);
      expect(v).toBeLessThan(high);
      expect(high - low).toBeLessThanOrEqual(Math.max(1, low * 2 ** -HISTOGRAM_SUB_BITS));
      const rep = bucketValue(low);
      expect(rep).toBeGreaterThanOrEqual(low);
      expect(rep).toBeLessThan(high);
    }), { numRuns: 2000 });
  });

  it('keeps values below 2^SUB_BITS exact and picks round values for wide buckets', () => {
    const h = LogHistogram.of([0, 1, 2, 255, 255]).toJSON();
    expect(h.buckets).toEqual([[0, 1], [1, 1], [2, 1], [255, 2]]);
    expect(bucketValue(LogHistogram.of([20_000_000]).toJSON().buckets[0][0])).toBe(20_000_000);
  });

  it('counts, sums and bounds exactly, and gives quantiles within the stated precision', () => {
    fc.assert(fc.property(fc.array(latency, { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
      const h = LogHistogram.of(values).toJSON();
      expect(h.count).toBe(values.length);
      expect(h.sum).toBe(values.reduce((a, b) => a + b, 0));
      expect(h.min).toBe(Math.min(...values));
      expect(h.max).toBe(Math.max(...values));
      expect(meanOf(h)).toBe(h.sum / h.count);
      const exact = quantile(values, q);
      const approx = quantileOf(h, q);
      expect(Math.abs(approx - exact)).toBeLessThanOrEqual(Math.max(1, exact * HISTOGRAM_RELATIVE_PRECISION));
      expect(quantileOf(h, 1)).toBe(h.max);
      expect(quantileOf(h, 0)).toBe(h.min);
    }), { numRuns: 500 });
  });

  it('gives the same histogram whatever the order, and merging equals adding', () => {
    fc.assert(fc.property(fc.array(latency, { maxLength: 200 }), fc.array(latency, { maxLength: 200 }), (a, b) => {
      const both = LogHistogram.of([...a, ...b]);
      expect(LogHistogram.of([...b, ...a].reverse()).toJSON()).toEqual(both.toJSON());
      const merged = LogHistogram.of(a);
      merged.merge(LogHistogram.of(b));
      expect(merged.toJSON()).toEqual(both.toJSON());
    }), { numRuns: 300 });
  });

  it('holds a bounded number of buckets however many values it counts', () => {
    const h = new LogHistogram();
    for (let i = 0; i < 1_000_000; i++) h.add(1_000_000 + ((i * 7919) % 9_000_000));
    // 1..10 µs in ps spans about 3.2 powers of two: at most 256 buckets each.
    expect(h.count).toBe(1_000_000);
    expect(h.bucketsInUse).toBeLessThanOrEqual(4 * 256);
    expect(h.toJSON().buckets.length).toBe(h.bucketsInUse);
  });

  it('is empty with no values: NaN quantiles and mean, zero bounds', () => {
    const h = new LogHistogram().toJSON();
    expect(h).toEqual({ subBits: HISTOGRAM_SUB_BITS, count: 0, sum: 0, min: 0, max: 0, buckets: [] });
    expect(quantileOf(h, 0.5)).toBeNaN();
    expect(meanOf(h)).toBeNaN();
  });
});
