import { describe, it, expect } from 'vitest';
import { Tlb } from '../../src/devices/tlb.ts';

/** Page sizes in 4 KiB pages: 4 KiB, 64 KiB, 2 MiB. */
const GPU = [1, 16, 512];
const huge = () => 512;

describe('Tlb: construction', () => {
  it('rejects an entry count that is not a positive integer', () => {
    expect(() => new Tlb(0)).toThrow(RangeError);
    expect(() => new Tlb(-4)).toThrow(RangeError);
    expect(() => new Tlb(2.5)).toThrow(RangeError);
  });

  it('rejects page sizes that do not start at one page, are not powers of two or not ascending', () => {
    expect(() => new Tlb(4, [16, 512])).toThrow(RangeError);
    expect(() => new Tlb(4, [1, 12])).toThrow(RangeError);
    expect(() => new Tlb(4, [1, 512, 16])).toThrow(RangeError);
    expect(new Tlb(4096, GPU).sizes).toEqual(GPU);
    expect(new Tlb(4096).sizes).toEqual([1]);
  });
});

describe('Tlb: lookup', () => {
  it('a miss fills the entry; the next lookup of it hits', () => {
    const tlb = new Tlb(16);
    expect(tlb.lookup(1, 100)).toBe(false);
    expect(tlb.lookup(1, 100)).toBe(true);
    expect(tlb.lookup(1, 101)).toBe(false); // the neighbour is its own 4 KiB translation
    expect(tlb.stats).toEqual({ hits: 1, misses: 2, invalidations: 0 });
    expect(tlb.size).toBe(2);
  });

  it('a 2 MiB translation covers its whole aligned 2 MiB: two vpns in it share one entry', () => {
    const tlb = new Tlb(4096, GPU);
    expect(tlb.lookup(1, 0, huge)).toBe(false); // vpns 0..511
    expect(tlb.lookup(1, 511, huge)).toBe(true);
    expect(tlb.lookup(1, 512, huge)).toBe(false); // vpns 512..1023
    expect(tlb.lookup(1, 1000, huge)).toBe(true);
    expect(tlb.lookup(1, 1024, huge)).toBe(false);
    expect(tlb.stats).toEqual({ hits: 2, misses: 3, invalidations: 0 });
    expect(tlb.size).toBe(3);
  });

  it('entries of different sizes coexist; the same walk on a 4 KiB-only TLB needs an entry per page', () => {
    const mixed = new Tlb(64, GPU), small = new Tlb(64, [1]);
    // Pages 0..511 mapped by one 2 MiB page, 512..527 by a 64 KiB page, 528.. by 4 KiB pages.
    const pagesOf = (v: number) => () => (v < 512 ? 512 : v < 528 ? 16 : 1);
    for (const tlb of [mixed, small]) for (let v = 0; v < 540; v++) tlb.lookup(1, v, pagesOf(v));
    expect(mixed.stats.misses).toBe(1 + 1 + 12);
    expect(mixed.size).toBe(14);
    // Holding only 4 KiB entries, the 64-entry TLB keeps the last 64 pages and missed every one.
    expect(small.stats.misses).toBe(540);
    expect(small.size).toBe(64);
  });

  it('a mapping larger than the TLB holds is cached at the largest size it has', () => {
    const tlb = new Tlb(8, [1, 16]);
    expect(tlb.lookup(1, 3, huge)).toBe(false);
    expect(tlb.lookup(1, 15, huge)).toBe(true); // same 64 KiB entry
    expect(tlb.lookup(1, 16, huge)).toBe(false);
  });

  it('at capacity evicts the least recently used entry (a hit refreshes recency)', () => {
    const tlb = new Tlb(2);
    tlb.lookup(1, 1); // miss      order [1]
    tlb.lookup(1, 2); // miss      order [1, 2]
    expect(tlb.lookup(1, 1)).toBe(true); // order [2, 1]
    expect(tlb.lookup(1, 3)).toBe(false); // [2, 1, 3] -> evict 2 -> [1, 3]
    expect(tlb.size).toBe(2);
    expect(tlb.lookup(1, 1)).toBe(true); // [3, 1]
    expect(tlb.lookup(1, 2)).toBe(false); // 2 was evicted; [3, 1, 2] -> evict 3 -> [1, 2]
    expect(tlb.lookup(1, 1)).toBe(true); // [2, 1]
    expect(tlb.lookup(1, 3)).toBe(false); // 3 was evicted; [2, 1, 3] -> evict 2 -> [1, 3]
    expect(tlb.lookup(1, 3)).toBe(true);
    expect(tlb.lookup(1, 1)).toBe(true);
    expect(tlb.size).toBe(2);
    expect(tlb.stats).toEqual({ hits: 5, misses: 5, invalidations: 0 });
  });

  it('a one-entry TLB holds only the last translation', () => {
    const tlb = new Tlb(1);
    expect(tlb.lookup(1, 0)).toBe(false);
    expect(tlb.lookup(1, 1)).toBe(false);
    expect(tlb.lookup(1, 0)).toBe(false);
    expect(tlb.lookup(1, 0)).toBe(true);
    expect(tlb.size).toBe(1);
  });

  it('does not alias the same vpn in different address spaces or at different sizes', () => {
    const tlb = new Tlb(16, GPU);
    expect(tlb.lookup(1, 5)).toBe(false);
    expect(tlb.lookup(2, 5)).toBe(false);
    expect(tlb.lookup(1, 5)).toBe(true);
    expect(tlb.lookup(2, 5)).toBe(true);
    // The highest user vpn of a 47-bit address space (2^35 - 1) in space 0 is not space 1's vpn 0.
    expect(tlb.lookup(0, 2 ** 35 - 1, huge)).toBe(false);
    expect(tlb.lookup(1, 0)).toBe(false);
    expect(tlb.size).toBe(4);
  });
});

describe('Tlb: invalidate', () => {
  it('drops exactly the translations in [start, end) and counts one request', () => {
    const tlb = new Tlb(8);
    for (let v = 10; v <= 14; v++) tlb.lookup(1, v);
    tlb.invalidate(1, 11, 13); // vpns 11 and 12; end is exclusive
    expect(tlb.size).toBe(3);
    expect(tlb.stats.invalidations).toBe(1);
    expect(tlb.lookup(1, 10)).toBe(true);
    expect(tlb.lookup(1, 13)).toBe(true);
    expect(tlb.lookup(1, 14)).toBe(true);
    expect(tlb.lookup(1, 11)).toBe(false);
    expect(tlb.lookup(1, 12)).toBe(false);
  });

  it('drops every large translation the range overlaps, even partially', () => {
    const tlb = new Tlb(4096, GPU);
    tlb.lookup(1, 0, huge);
    tlb.lookup(1, 512, huge);
    tlb.lookup(1, 1024, huge);
    tlb.invalidate(1, 600, 601); // one page inside the second 2 MiB page
    expect(tlb.size).toBe(2);
    expect(tlb.lookup(1, 0)).toBe(true);
    expect(tlb.lookup(1, 1024)).toBe(true);
    tlb.invalidate(1, 511, 1025); // last page of the first .. first page of the third
    expect(tlb.size).toBe(0);
    tlb.invalidate(1, 1024, 1536); // already gone: still counted
    expect(tlb.stats.invalidations).toBe(3);
  });

  it('an invalidation ending on a page boundary leaves the next page alone', () => {
    const tlb = new Tlb(4096, GPU);
    tlb.lookup(1, 0, huge);
    tlb.lookup(1, 512, huge);
    tlb.invalidate(1, 0, 512);
    expect(tlb.size).toBe(1);
    expect(tlb.lookup(1, 512)).toBe(true);
    expect(tlb.lookup(1, 0)).toBe(false);
  });

  it('a range wider than the TLB (scan path) drops only that space', () => {
    const tlb = new Tlb(8, GPU);
    tlb.lookup(1, 3);
    tlb.lookup(1, 500_000, huge);
    tlb.lookup(2, 3);
    tlb.lookup(1, 2_000_000); // outside the range below
    tlb.invalidate(1, 0, 1_000_000);
    expect(tlb.size).toBe(2);
    expect(tlb.lookup(2, 3)).toBe(true);
    expect(tlb.lookup(1, 2_000_000)).toBe(true);
    expect(tlb.lookup(1, 3)).toBe(false);
    expect(tlb.stats.invalidations).toBe(1);
  });

  it('a narrow range (per-tag path) does not touch another space', () => {
    const tlb = new Tlb(8, GPU);
    tlb.lookup(1, 7);
    tlb.lookup(2, 7);
    tlb.invalidate(2, 7, 8);
    expect(tlb.size).toBe(1);
    expect(tlb.lookup(1, 7)).toBe(true);
    expect(tlb.lookup(2, 7)).toBe(false);
  });

  // 2500 entries: the slot tables grow twice (from 1024) while translations are live.
  it.each([[8, 2000, 3000], [2500, 40_000, 12_000]])('both invalidate paths agree with a reference model (mixed page sizes, %i entries)', (entries, span, steps) => {
    // Deterministic pseudo-random workload; reference = live (space, first page, size) in LRU order.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    // The "page table": vpns below 64 are 64 KiB pages, 64..127 4 KiB, 128.. 2 MiB pages.
    const sizeOf = (v: number) => (v < 64 ? 16 : v < 128 || v >= 8192 ? 1 : 512);
    for (const sizes of [[1], [1, 16], GPU]) {
      const tlb = new Tlb(entries, sizes);
      const held = (v: number) => sizes.filter((s) => s <= sizeOf(v)).pop()!;
      const ref: { space: number; first: number; size: number }[] = []; // LRU first
      for (let step = 0; step < steps; step++) {
        const space = 1 + rnd(2);
        if (rnd(5) === 0) {
          const start = rnd(span);
          const end = start + 1 + (rnd(3) === 0 ? rnd(100_000) : rnd(40));
          tlb.invalidate(space, start, end);
          for (let i = ref.length - 1; i >= 0; i--) {
            const e = ref[i];
            if (e.space === space && e.first < end && e.first + e.size > start) ref.splice(i, 1);
          }
        } else {
          const vpn = rnd(span);
          const i = ref.findIndex((e) => e.space === space && vpn >= e.first && vpn < e.first + e.size);
          expect(tlb.lookup(space, vpn, () => sizeOf(vpn))).toBe(i >= 0);
          if (i >= 0) ref.push(...ref.splice(i, 1));
          else {
            const size = held(vpn);
            ref.push({ space, first: vpn - (vpn % size), size });
            if (ref.length > entries) ref.shift();
          }
        }
        expect(tlb.size).toBe(ref.length);
      }
      expect(tlb.stats.misses).toBeGreaterThan(entries);
    }
  });

  // An empty range [start, start) covers no page, whatever the page size (a regression test).
  it('an empty range drops nothing', () => {
    const tlb = new Tlb(4096, GPU);
    tlb.lookup(1, 0, huge);
    tlb.lookup(1, 600);
    tlb.invalidate(1, 5, 5);
    tlb.invalidate(1, 600, 600);
    expect(tlb.stats.invalidations).toBe(2);
    expect(tlb.size).toBe(2);
  });
});

describe('Tlb: hit and fill (the fault path asks the mapping size only on a miss)', () => {
  it('hit then fill on a miss is lookup: same answers, counters and contents', () => {
    const split = new Tlb(8, GPU), whole = new Tlb(8, GPU);
    const sizeOf = (v: number) => (v % 3 === 0 ? 512 : v % 3 === 1 ? 16 : 1);
    for (let i = 0; i < 400; i++) {
      const v = (i * 37) % 2000;
      const h = split.hit(1, v);
      if (!h) split.fill(1, v, sizeOf(v));
      expect(h).toBe(whole.lookup(1, v, () => sizeOf(v)));
    }
    expect(split.stats).toEqual(whole.stats);
    expect(split.stats.misses).toBeGreaterThan(0);
    expect(split.stats.hits).toBeGreaterThan(0);
    expect(split.size).toBe(whole.size);
  });

  it('a miss counts once and fills nothing until fill', () => {
    const tlb = new Tlb(4, GPU);
    expect(tlb.hit(2, 1000)).toBe(false);
    expect(tlb.size).toBe(0);
    tlb.fill(2, 1000, 16);
    expect(tlb.hit(2, 1007)).toBe(true); // same 64 KiB page (992..1007)
    expect(tlb.hit(2, 1008)).toBe(false);
    expect(tlb.stats).toEqual({ hits: 1, misses: 2, invalidations: 0 });
  });
});
