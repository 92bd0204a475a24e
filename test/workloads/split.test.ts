import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { partLength, partStart } from '../../src/workloads/split.ts';

describe('contiguous split', () => {
  it('gives the first total % parts parts one extra item', () => {
    expect([0, 1, 2, 3, 4].map((i) => partStart(10, 4, i))).toEqual([0, 3, 6, 8, 10]);
    expect([0, 1, 2, 3].map((i) => partLength(10, 4, i))).toEqual([3, 3, 2, 2]);
  });

  it('leaves the extra parts empty when parts > total', () => {
    expect([0, 1, 2, 3, 4].map((i) => partLength(3, 5, i))).toEqual([1, 1, 1, 0, 0]);
    expect(partStart(3, 5, 5)).toBe(3);
  });

  it('tiles [0, total) in order with sizes differing by at most one', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 300 }), (total, parts) => {
      let at = 0;
      const sizes: number[] = [];
      for (let i = 0; i < parts; i++) {
        expect(partStart(total, parts, i)).toBe(at);
        at += partLength(total, parts, i);
        sizes.push(partLength(total, parts, i));
      }
      expect(at).toBe(total);
      expect(partStart(total, parts, parts)).toBe(total);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }));
  });

  it('stays exact near 2^51, where i × total would round', () => {
    const total = 2 ** 51 - 1;
    const parts = 1000;
    expect(partStart(total, parts, parts)).toBe(total);
    expect(partStart(total, parts, 999) + partLength(total, parts, 999)).toBe(total);
  });
});
