import { describe, it, expect } from 'vitest';
import { sortedUnion, intersectSorted } from '../../src/sim/drivers/mirror/vpn-lists.ts';
import { planCopy, planPage, type PlannedCopy } from '../../src/sim/drivers/mirror/copies.ts';
import { Rng } from '../../src/engine/rng.ts';

const reference = (...lists: number[][]) => [...new Set(lists.flat())].sort((a, b) => a - b);

describe('sortedUnion', () => {
  it('is the distinct members of every list, ascending', () => {
    expect(sortedUnion([5, 3], [], [3, 4, 9])).toEqual([3, 4, 5, 9]);
    expect(sortedUnion([], [])).toEqual([]);
    expect(sortedUnion([2 ** 35 + 7], [2 ** 35])).toEqual([2 ** 35, 2 ** 35 + 7]);
  });

  it('agrees with a Set and a sort, for narrow spans (marked) and wide ones (sorted), call after call', () => {
    const rng = new Rng(3);
    for (let round = 0; round < 300; round++) {
      const span = round % 3 === 0 ? 100_000 : 1500;
      const base = Math.floor(rng.nextFloat() * 2 ** 30);
      const lists = [0, 1, 2].map(() => Array.from({ length: Math.floor(rng.nextFloat() * 300) }, () => base + Math.floor(rng.nextFloat() * span)));
      expect(sortedUnion(...lists)).toEqual(reference(...lists));
    }
  });

  it('agrees with a Set and a sort for a few numbers spread over a block (inserted, not marked), duplicates included', () => {
    expect(sortedUnion([300, 44], [44], [7, 300, 511])).toEqual([7, 44, 300, 511]);
    const rng = new Rng(5);
    for (let round = 0; round < 500; round++) {
      const base = Math.floor(rng.nextFloat() * 2 ** 30);
      const lists = [0, 1, 2].map(() => Array.from({ length: Math.floor(rng.nextFloat() * 6) }, () => base + Math.floor(rng.nextFloat() * 512)));
      expect(sortedUnion(...lists)).toEqual(reference(...lists));
    }
  });
});

describe('intersectSorted', () => {
  it('keeps the members of the first list the ascending second one holds, in the first one\'s order', () => {
    expect(intersectSorted([9, 1, 4, 7], [1, 2, 4, 9])).toEqual([9, 1, 4]);
    expect(intersectSorted([3], [])).toEqual([]);
    expect(intersectSorted([], [1])).toEqual([]);
  });

  it('agrees with a filter through a Set, for ascending first lists (merged), repeats and any other order (searched)', () => {
    expect(intersectSorted([1, 1, 4, 4, 9], [1, 4, 5])).toEqual([1, 1, 4, 4]);
    const rng = new Rng(9);
    for (let round = 0; round < 300; round++) {
      const xs = Array.from({ length: Math.floor(rng.nextFloat() * 60) }, () => Math.floor(rng.nextFloat() * 100));
      if (round % 2 === 0) xs.sort((a, b) => a - b);
      const ascending = reference(Array.from({ length: Math.floor(rng.nextFloat() * 60) }, () => Math.floor(rng.nextFloat() * 100)));
      const set = new Set(ascending);
      expect(intersectSorted(xs, ascending)).toEqual(xs.filter((v) => set.has(v)));
    }
  });
});

describe('planCopy', () => {
  const h2d = (first: number): PlannedCopy => ({ bytes: 4096, from: 'cpu0', to: 'gpu0', label: 'h2d', first, pages: 1 });
  it('extends the last copy with the next page, and starts a new one otherwise', () => {
    const copies: PlannedCopy[] = [];
    for (const v of [10, 11, 12, 20]) planCopy(copies, h2d(v));
    planCopy(copies, { ...h2d(21), to: 'gpu1' });
    expect(copies.map((c) => [c.first, c.pages, c.bytes, c.to])).toEqual([[10, 3, 3 * 4096, 'gpu0'], [20, 1, 4096, 'gpu0'], [21, 1, 4096, 'gpu1']]);
  });

  it('planPage plans the same copies as planCopy of one page each', () => {
    const rng = new Rng(4);
    const a: PlannedCopy[] = [], b: PlannedCopy[] = [];
    let v = 100;
    for (let i = 0; i < 400; i++) {
      v += rng.nextFloat() < 0.8 ? 1 : 2;
      const to = rng.nextFloat() < 0.1 ? 'gpu1' : 'gpu0';
      const label = rng.nextFloat() < 0.05 ? 'evict' : 'h2d';
      planCopy(a, { bytes: 4096, from: 'cpu0', to, label, first: v, pages: 1, engine: undefined });
      planPage(b, 'cpu0', to, label, v, undefined);
    }
    expect(b).toEqual(a);
    expect(a.length).toBeLessThan(400);
  });

  it('never merges evictions (their pages are pfns, each copy its own)', () => {
    const copies: PlannedCopy[] = [];
    planCopy(copies, { ...h2d(1), label: 'evict' });
    planCopy(copies, { ...h2d(2), label: 'evict' });
    expect(copies).toHaveLength(2);
  });
});
