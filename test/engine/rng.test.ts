import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/engine/rng.ts';

function draws(r: Rng, n: number): number[] {
  return Array.from({ length: n }, () => r.nextU32());
}

describe('Rng', () => {
  it('implements xoshiro128** (known answer from the reference algorithm, state [1,2,3,4])', () => {
    const r = new Rng(0);
    r.restore([1, 2, 3, 4]);
    expect(draws(r, 6)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('gives the same sequence for the same seed', () => {
    fc.assert(fc.property(fc.integer(), (seed) => {
      expect(draws(new Rng(seed), 20)).toEqual(draws(new Rng(seed), 20));
    }), { numRuns: 50 });
  });

  it('gives different sequences for different seeds, including seeds differing only above bit 32', () => {
    const seqs = [0, 1, 2, -1, 2 ** 32, 2 ** 33, 2 ** 40 + 1].map((sd) => draws(new Rng(sd), 4).join(','));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('outputs unsigned 32-bit integers', () => {
    const r = new Rng(42);
    for (let i = 0; i < 1000; i++) {
      const u = r.nextU32();
      expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
    }
  });

  it('rejects a non-integer seed', () => {
    expect(() => new Rng(1.5)).toThrow(RangeError);
    expect(() => new Rng(NaN)).toThrow(RangeError);
  });

  it('derives distinct streams for distinct names', () => {
    const root = new Rng(7);
    const names = ['', 'a', 'b', 'ab', 'ba', 'gpu0', 'gpu1', 'cpu', 'link:0', 'link:1'];
    const seqs = names.map((n) => draws(root.fork(n), 4).join(','));
    expect(new Set(seqs).size).toBe(names.length);
    // ...and a child differs from its parent
    expect(draws(new Rng(7).fork('a'), 4)).not.toEqual(draws(new Rng(7), 4));
  });

  it('forks deterministically from the seed and name, independent of prior draws', () => {
    const p1 = new Rng(99);
    const p2 = new Rng(99);
    draws(p2, 37); // advancing the parent must not change its children
    expect(draws(p1.fork('x'), 10)).toEqual(draws(p2.fork('x'), 10));
    expect(draws(p1.fork('x').fork('y'), 10)).toEqual(draws(p2.fork('x').fork('y'), 10));
    expect(draws(new Rng(100).fork('x'), 10)).not.toEqual(draws(p1.fork('x'), 10));
    // a nested fork is not the same as a top-level fork of the same name
    expect(draws(p1.fork('x').fork('y'), 4)).not.toEqual(draws(p1.fork('y'), 4));
  });

  it('int() stays in range and covers it', () => {
    fc.assert(fc.property(
      fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 20 }), fc.integer(),
      (lo, span, seed) => {
        const r = new Rng(seed);
        const seen = new Set<number>();
        for (let i = 0; i < span * 40; i++) {
          const v = r.int(lo, lo + span);
          expect(Number.isInteger(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(lo);
          expect(v).toBeLessThan(lo + span);
          seen.add(v);
        }
        expect(seen.size).toBe(span); // P(missing a value) ≤ 20·(19/20)^800 ≈ 3e-17
      },
    ), { numRuns: 100 });
  });

  it('int() handles spans beyond 2^32', () => {
    const r = new Rng(5);
    const lo = 2 ** 40;
    let sawHigh = false;
    for (let i = 0; i < 200; i++) {
      const v = r.int(lo, lo + 2 ** 36);
      expect(Number.isSafeInteger(v)).toBe(true);
      expect(v >= lo && v < lo + 2 ** 36).toBe(true);
      if (v - lo >= 2 ** 35) sawHigh = true;
    }
    expect(sawHigh).toBe(true);
    expect(r.int(-(2 ** 52), 2 ** 52) < 2 ** 52).toBe(true); // span exactly 2^53
  });

  it('int() rejects empty or invalid ranges', () => {
    const r = new Rng(1);
    expect(() => r.int(5, 5)).toThrow(RangeError);
    expect(() => r.int(5, 4)).toThrow(RangeError);
    expect(() => r.int(0, 1.5)).toThrow(RangeError);
    expect(() => r.int(0, 2 ** 53 + 2)).toThrow(RangeError);
  });

  it('nextFloat() is in [0, 1)', () => {
    const r = new Rng(3);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
    }
    expect(Math.abs(sum / 10_000 - 0.5)).toBeLessThan(0.02);
  });

  it('is roughly uniform: chi-square over 10 buckets of 10k draws', () => {
    for (const seed of [1, 2, 3]) {
      const r = new Rng(seed);
      const counts = new Array<number>(10).fill(0);
      for (let i = 0; i < 10_000; i++) counts[r.int(0, 10)]++;
      const expected = 1000;
      const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
      // 9 degrees of freedom: P(chi2 > 27.88) = 0.001.
      expect(chi2).toBeLessThan(27.88);
      // A constant or badly skewed generator fails this by orders of magnitude.
      expect(Math.min(...counts)).toBeGreaterThan(850);
    }
  });

  it('restore() replays the same draws', () => {
    const r = new Rng(11);
    draws(r, 5);
    const snap = r.state();
    const a = [r.nextU32(), r.int(0, 100), r.nextFloat(), r.pick(['x', 'y', 'z'])];
    r.restore(snap);
    const b = [r.nextU32(), r.int(0, 100), r.nextFloat(), r.pick(['x', 'y', 'z'])];
    expect(b).toEqual(a);
    // a snapshot is a copy, not a live view
    expect(r.state()).not.toEqual(snap);
    // restoring into another stream makes it continue identically
    const other = new Rng(12345);
    other.restore(snap);
    r.restore(snap);
    expect(draws(other, 8)).toEqual(draws(r, 8));
  });

  it('restore() rejects invalid states', () => {
    const r = new Rng(1);
    expect(() => r.restore([0, 0, 0, 0])).toThrow(RangeError);
    expect(() => r.restore([1, 2, 3, 2 ** 32])).toThrow(RangeError);
    expect(() => r.restore([1, 2, 3, -1])).toThrow(RangeError);
  });

  it('pick() returns elements of the array and throws on empty', () => {
    const r = new Rng(8);
    const arr = ['a', 'b', 'c'] as const;
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(r.pick(arr));
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
    expect(() => r.pick([])).toThrow(RangeError);
  });

  it('shuffle() permutes in place, deterministically, and reaches every permutation', () => {
    fc.assert(fc.property(fc.array(fc.integer(), { maxLength: 50 }), fc.integer(), (xs, seed) => {
      const a = [...xs];
      const ret = new Rng(seed).shuffle(a);
      expect(ret).toBe(a);
      expect([...a].sort((p, q) => p - q)).toEqual([...xs].sort((p, q) => p - q));
      expect(new Rng(seed).shuffle([...xs])).toEqual(a);
    }), { numRuns: 100 });
    const r = new Rng(4);
    const perms = new Set<string>();
    for (let i = 0; i < 600; i++) perms.add(r.shuffle([1, 2, 3]).join(''));
    expect(perms.size).toBe(6);
  });
});
