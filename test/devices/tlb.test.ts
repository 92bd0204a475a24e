import { describe, it, expect } from 'vitest';
import { Tlb } from '../../src/devices/tlb.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

describe('Tlb: construction', () => {
  it('rejects an entry count that is not a positive integer', () => {
    expect(() => new Tlb(0, 16 * MiB)).toThrow(RangeError);
    expect(() => new Tlb(-4, 16 * MiB)).toThrow(RangeError);
    expect(() => new Tlb(2.5, 16 * MiB)).toThrow(RangeError);
  });

  it('4096 entries x 16 MiB reach: 16 MiB / 4096 = 4 KiB per entry -> 1-page tags', () => {
    const tlb = new Tlb(4096, 16 * MiB);
    expect(tlb.tagPages).toBe(1);
    expect(tlb.entries).toBe(4096);
    expect(tlb.size).toBe(0);
  });

  it('4096 entries x 8 GiB reach: 8 GiB / 4096 = 2 MiB per entry -> 512-page tags', () => {
    expect(new Tlb(4096, 8 * GiB).tagPages).toBe(512);
  });

  it('rounds the per-entry size down to a power of two, and never below one page', () => {
    // 3 entries x 5 pages: 5 pages per entry -> 4.
    expect(new Tlb(3, 3 * 5 * 4 * KiB).tagPages).toBe(4);
    // 64 entries x 64 KiB each but 1 byte short: 16 pages - epsilon -> floor 15 -> 8.
    expect(new Tlb(64, 64 * 64 * KiB - 1).tagPages).toBe(8);
    // Reach smaller than one page per entry: 1000 B / 10 entries -> floored up to 1 page.
    expect(new Tlb(10, 1000).tagPages).toBe(1);
    // 1 entry x 1 GiB: 262144 pages = 2^18.
    expect(new Tlb(1, GiB).tagPages).toBe(2 ** 18);
  });
});

describe('Tlb: lookup', () => {
  it('a miss fills the entry; the next lookup of it hits', () => {
    const tlb = new Tlb(16, 16 * 4 * KiB); // 1-page tags
    expect(tlb.lookup(1, 100)).toBe(false);
    expect(tlb.lookup(1, 100)).toBe(true);
    expect(tlb.lookup(1, 101)).toBe(false); // the neighbour is its own tag
    expect(tlb.stats).toEqual({ hits: 1, misses: 2, invalidations: 0 });
    expect(tlb.size).toBe(2);
  });

  it('with 2 MiB tags, two vpns in the same 2 MiB region share one entry', () => {
    const tlb = new Tlb(4096, 8 * GiB); // tagPages 512
    expect(tlb.lookup(1, 0)).toBe(false); // tag 0 (vpns 0..511)
    expect(tlb.lookup(1, 511)).toBe(true); // same tag
    expect(tlb.lookup(1, 512)).toBe(false); // tag 1 (vpns 512..1023)
    expect(tlb.lookup(1, 1000)).toBe(true);
    expect(tlb.lookup(1, 1024)).toBe(false); // tag 2
    expect(tlb.stats).toEqual({ hits: 2, misses: 3, invalidations: 0 });
    expect(tlb.size).toBe(3);
  });

  it('at capacity evicts the least recently used entry (a hit refreshes recency)', () => {
    const tlb = new Tlb(2, 2 * 4 * KiB); // 2 entries, 1-page tags
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
    const tlb = new Tlb(1, 4 * KiB);
    expect(tlb.lookup(1, 0)).toBe(false);
    expect(tlb.lookup(1, 1)).toBe(false);
    expect(tlb.lookup(1, 0)).toBe(false);
    expect(tlb.lookup(1, 0)).toBe(true);
    expect(tlb.size).toBe(1);
  });

  it('does not alias the same vpn in different address spaces', () => {
    const tlb = new Tlb(16, 16 * 4 * KiB);
    expect(tlb.lookup(1, 5)).toBe(false);
    expect(tlb.lookup(2, 5)).toBe(false);
    expect(tlb.lookup(1, 5)).toBe(true);
    expect(tlb.lookup(2, 5)).toBe(true);
    // The highest user vpn of a 47-bit address space (2^35 - 1) in space 0 is not space 1's vpn 0.
    expect(tlb.lookup(0, 2 ** 35 - 1)).toBe(false);
    expect(tlb.lookup(1, 0)).toBe(false);
    expect(tlb.size).toBe(4);
  });
});

describe('Tlb: invalidate', () => {
  it('drops exactly the tags in [start, end) and counts one request', () => {
    const tlb = new Tlb(8, 8 * 4 * KiB); // 1-page tags
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

  it('with 2 MiB tags drops every tag the range overlaps, even partially', () => {
    const tlb = new Tlb(4096, 8 * GiB);
    tlb.lookup(1, 0); // tag 0
    tlb.lookup(1, 512); // tag 1
    tlb.lookup(1, 1024); // tag 2
    tlb.invalidate(1, 600, 601); // one page inside tag 1
    expect(tlb.size).toBe(2);
    expect(tlb.lookup(1, 0)).toBe(true);
    expect(tlb.lookup(1, 1024)).toBe(true);
    tlb.invalidate(1, 511, 1025); // last page of tag 0 .. first page of tag 2
    expect(tlb.size).toBe(0);
    tlb.invalidate(1, 1024, 1536); // exactly tag 2 (already gone): still counted
    expect(tlb.stats.invalidations).toBe(3);
  });

  it('an invalidation ending on a tag boundary leaves the next tag alone', () => {
    const tlb = new Tlb(4096, 8 * GiB);
    tlb.lookup(1, 0);
    tlb.lookup(1, 512);
    tlb.invalidate(1, 0, 512); // [0, 512) is tag 0 only
    expect(tlb.size).toBe(1);
    expect(tlb.lookup(1, 512)).toBe(true);
    expect(tlb.lookup(1, 0)).toBe(false);
  });

  it('a range wider than the TLB (scan path) drops only that space', () => {
    const tlb = new Tlb(8, 8 * 4 * KiB);
    tlb.lookup(1, 3);
    tlb.lookup(1, 500_000);
    tlb.lookup(2, 3);
    tlb.lookup(1, 2_000_000); // outside the range below
    // 1e6 tags > 4 held: the implementation scans the held tags instead of the range.
    tlb.invalidate(1, 0, 1_000_000);
    expect(tlb.size).toBe(2);
    expect(tlb.lookup(2, 3)).toBe(true);
    expect(tlb.lookup(1, 2_000_000)).toBe(true);
    expect(tlb.lookup(1, 3)).toBe(false);
    expect(tlb.stats.invalidations).toBe(1);
  });

  it('a narrow range (per-tag path) does not touch another space', () => {
    const tlb = new Tlb(8, 8 * 4 * KiB);
    tlb.lookup(1, 7);
    tlb.lookup(2, 7);
    tlb.invalidate(2, 7, 8);
    expect(tlb.size).toBe(1);
    expect(tlb.lookup(1, 7)).toBe(true);
    expect(tlb.lookup(2, 7)).toBe(false);
  });

  it('both invalidate paths agree with a reference model', () => {
    // Deterministic pseudo-random workload; reference = set of live (space, tag) with LRU order.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (const [entries, reach] of [[8, 8 * 4 * KiB], [8, 8 * 16 * 4 * KiB]] as const) {
      const tlb = new Tlb(entries, reach);
      const tp = tlb.tagPages;
      const ref: string[] = []; // LRU first
      for (let step = 0; step < 3000; step++) {
        const space = 1 + rnd(2);
        if (rnd(5) === 0) {
          const start = rnd(200);
          const end = start + 1 + (rnd(3) === 0 ? rnd(100_000) : rnd(40));
          tlb.invalidate(space, start, end);
          for (let i = ref.length - 1; i >= 0; i--) {
            const [s, t] = ref[i].split(':').map(Number);
            if (s === space && t * tp < end && (t + 1) * tp > start) ref.splice(i, 1);
          }
        } else {
          const vpn = rnd(200);
          const key = `${space}:${Math.floor(vpn / tp)}`;
          const i = ref.indexOf(key);
          expect(tlb.lookup(space, vpn)).toBe(i >= 0);
          if (i >= 0) ref.splice(i, 1);
          ref.push(key);
          if (ref.length > entries) ref.shift();
        }
        expect(tlb.size).toBe(ref.length);
      }
    }
  });

  // An empty range [start, start) covers no page, whatever the tag size (a regression test).
  it('an empty range drops nothing (2 MiB tags)', () => {
    const tlb = new Tlb(4096, 8 * GiB);
    tlb.lookup(1, 0);
    tlb.invalidate(1, 5, 5);
    expect(tlb.stats.invalidations).toBe(1);
    expect(tlb.size).toBe(1);
  });

  it('an empty range drops nothing (1-page tags)', () => {
    const tlb = new Tlb(8, 8 * 4 * KiB);
    tlb.lookup(1, 5);
    tlb.invalidate(1, 5, 5);
    expect(tlb.size).toBe(1);
    expect(tlb.stats.invalidations).toBe(1);
  });
});
