import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { computePrefetch, PREFETCH_DEFAULTS, type PrefetchParams } from '../../src/policy/prefetch.ts';
import { BLOCK_PAGES } from '../../src/policy/types.ts';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const NO_GROWTH: PrefetchParams = { ...PREFETCH_DEFAULTS, bigPagePages: 1 };
const BASE = 7 * BLOCK_PAGES; // block 7

/** Straightforward oracle: per fault, the highest aligned power-of-two node above threshold. */
function oracle(faulted: number[], resident: number[], thrashing: number[], p: PrefetchParams): number[] {
  const base = Math.floor(faulted[0] / BLOCK_PAGES) * BLOCK_PAGES;
  const occ = new Set([...faulted, ...resident.filter((v) => v >= base && v < base + BLOCK_PAGES)]);
  const thr = new Set(thrashing);
  for (let s = base; s < base + BLOCK_PAGES; s += p.bigPagePages) {
    const pages = range(s, s + p.bigPagePages);
    if (pages.some((v) => faulted.includes(v)) && !pages.some((v) => thr.has(v))) pages.forEach((v) => occ.add(v));
  }
  const region = new Set<number>();
  for (const f of faulted) {
    if (thr.has(f)) continue;
    let best: number[] = [];
    for (let size = 1; size <= BLOCK_PAGES; size *= 2) {
      const start = base + Math.floor((f - base) / size) * size;
      const node = range(start, start + size);
      if (node.filter((v) => occ.has(v)).length * 100 > size * p.threshold * 100) best = node;
    }
    best.forEach((v) => region.add(v));
  }
  return [...region].filter((v) => !faulted.includes(v) && !resident.includes(v) && !thr.has(v)).sort((a, b) => a - b);
}

describe('density prefetch', () => {
  it('grows an isolated fault in an empty block to its 64 KiB big page and no further', () => {
    // 16/16 occupied at level 4; 16/32 = 50 % at level 5 is not above 51 %.
    expect(computePrefetch({ faulted: [BASE + 37], resident: [] })).toEqual(range(BASE + 32, BASE + 48).filter((v) => v !== BASE + 37));
  });

  it('prefetches nothing for an isolated fault when big-page growth is off', () => {
    expect(computePrefetch({ faulted: [BASE + 37], resident: [] }, NO_GROWTH)).toEqual([]);
  });

  it('prefetches the rest of a subtree that is more than 51 % occupied', () => {
    // Node [0, 32): 17 resident + 1 faulted = 18 > 16.32. Node [0, 64): 18/64, no.
    const out = computePrefetch({ faulted: [BASE + 20], resident: range(BASE, BASE + 17) }, NO_GROWTH);
    expect(out).toEqual(range(BASE + 17, BASE + 32).filter((v) => v !== BASE + 20));
  });

  it('uses a strict comparison: exactly the threshold does not qualify', () => {
    // Node [0, 32): 15 resident + 1 faulted = 16 = 0.5 × 32, not above.
    const input = { faulted: [BASE + 20], resident: range(BASE, BASE + 15) };
    expect(computePrefetch(input, { ...NO_GROWTH, threshold: 0.5 })).toEqual([]);
    expect(computePrefetch({ ...input, resident: range(BASE, BASE + 16) }, { ...NO_GROWTH, threshold: 0.5 })).toEqual(
      range(BASE + 16, BASE + 32).filter((v) => v !== BASE + 20),
    );
  });

  it('takes the largest qualifying ancestor even when intermediate nodes do not qualify', () => {
    // Fault at 0; pages 63..127 resident. [0,64) has 2/64, but [0,128) has 66/128 > 65.28.
    const out = computePrefetch({ faulted: [BASE], resident: range(BASE + 63, BASE + 128) }, NO_GROWTH);
    expect(out).toEqual(range(BASE + 1, BASE + 63));
    // One resident page fewer: 65/128 is not above 65.28, so nothing beyond the leaf.
    expect(computePrefetch({ faulted: [BASE], resident: range(BASE + 64, BASE + 128) }, NO_GROWTH)).toEqual([]);
  });

  it('prefetches the whole block when the root qualifies', () => {
    const resident = range(BASE, BASE + 300);
    const out = computePrefetch({ faulted: [BASE + 400], resident });
    expect(out).toEqual(range(BASE + 300, BASE + BLOCK_PAGES).filter((v) => v !== BASE + 400));
  });

  it('never prefetches with threshold 1.0', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: BLOCK_PAGES - 1 }), { minLength: 1, maxLength: 40 }),
        fc.uniqueArray(fc.integer({ min: 0, max: BLOCK_PAGES - 1 }), { maxLength: 500 }),
        (f, r) => {
          const faulted = f.map((i) => BASE + i);
          const resident = r.map((i) => BASE + i).filter((v) => !faulted.includes(v));
          expect(computePrefetch({ faulted, resident }, { ...PREFETCH_DEFAULTS, threshold: 1 })).toEqual([]);
        },
      ),
    );
  });

  it('never returns a resident, faulted, thrashing or out-of-block page, and matches a brute-force oracle', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: BLOCK_PAGES - 1 }), { minLength: 1, maxLength: 30 }),
        fc.uniqueArray(fc.integer({ min: -600, max: BLOCK_PAGES + 600 }), { maxLength: 400 }),
        fc.uniqueArray(fc.integer({ min: 0, max: BLOCK_PAGES - 1 }), { maxLength: 10 }),
        fc.constantFrom(1, 4, 16, 64),
        fc.constantFrom(0.3, 0.51, 0.75),
        (f, r, th, big, threshold) => {
          const faulted = f.map((i) => BASE + i);
          const resident = r.map((i) => BASE + i).filter((v) => !faulted.includes(v));
          const thrashing = th.map((i) => BASE + i);
          const params = { threshold, bigPagePages: big, minFaults: 1 };
          const out = computePrefetch({ faulted, resident, thrashing }, params);
          for (const v of out) {
            expect(v).toBeGreaterThanOrEqual(BASE);
            expect(v).toBeLessThan(BASE + BLOCK_PAGES);
            expect(resident).not.toContain(v);
            expect(faulted).not.toContain(v);
            expect(thrashing).not.toContain(v);
          }
          expect(out).toEqual([...new Set(out)].sort((a, b) => a - b));
          expect(out).toEqual(oracle(faulted, resident, thrashing, params));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('does not grow faults into a big page that holds a thrashing page', () => {
    const out = computePrefetch({ faulted: [BASE + 37], resident: [], thrashing: [BASE + 40] });
    expect(out).toEqual([]);
  });

  it('never walks from a thrashing fault', () => {
    const resident = range(BASE, BASE + 300);
    expect(computePrefetch({ faulted: [BASE + 400], resident, thrashing: [BASE + 400] })).toEqual([]);
  });

  it('populates the whole block on a first touch at the preferred location', () => {
    const out = computePrefetch({ faulted: [BASE + 3], resident: [], firstTouchToPreferred: true, thrashing: [BASE + 9] });
    expect(out).toEqual(range(BASE, BASE + BLOCK_PAGES).filter((v) => v !== BASE + 3 && v !== BASE + 9));
  });

  it('waits for minFaults fault migrations before prefetching', () => {
    const p = { ...PREFETCH_DEFAULTS, minFaults: 3 };
    expect(computePrefetch({ faulted: [BASE + 1], resident: [] }, p)).toEqual([]);
    expect(computePrefetch({ faulted: [BASE + 1], resident: [], priorFaultMigrations: 2 }, p)).toHaveLength(15);
  });

  it('returns nothing for no faults and rejects faults spanning blocks or bad parameters', () => {
    expect(computePrefetch({ faulted: [], resident: [BASE] })).toEqual([]);
    expect(() => computePrefetch({ faulted: [BASE, BASE + BLOCK_PAGES], resident: [] })).toThrow(RangeError);
    expect(() => computePrefetch({ faulted: [BASE], resident: [] }, { ...PREFETCH_DEFAULTS, threshold: 0 })).toThrow(RangeError);
    expect(() => computePrefetch({ faulted: [BASE], resident: [] }, { ...PREFETCH_DEFAULTS, bigPagePages: 24 })).toThrow(RangeError);
  });

  it('has the UVM defaults', () => {
    expect(PREFETCH_DEFAULTS).toEqual({ threshold: 0.51, bigPagePages: 16, minFaults: 1 });
  });
});
