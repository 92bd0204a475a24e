import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { strided } from '../../src/workloads/strided.ts';
import { accessVpn } from '../../src/sim/program.ts';
import { R, W, counts, drain, drainAll, range } from './helpers.ts';

describe('strided', () => {
  it('interleaves the stride elements among lanes (grid-stride loop)', () => {
    // Elements at offsets 0, 3, 6, 9; lane 0 takes elements 0 and 2, lane 1 elements 1 and 3.
    const k = strided({ base: 20, pages: 10, stride: 3, lanes: 2 });
    expect(drainAll(k.lanes)).toEqual([[R(20), R(26)], [R(23), R(29)]]);
  });

  it('wraps to the start of the buffer for the next pass, shifted by shiftPerPass', () => {
    const k = strided({ base: 0, pages: 10, stride: 3, lanes: 2, passes: 3, shiftPerPass: 1 });
    // Pass 0: 0 3 6 9; pass 1: 1 4 7; pass 2: 2 5 8.
    expect(drainAll(k.lanes)).toEqual([
      [R(0), R(6), R(1), R(7), R(2), R(8)],
      [R(3), R(9), R(4), R(5)],
    ]);
  });

  it('repeats the same pages every pass by default', () => {
    const k = strided({ base: 0, pages: 5, stride: 2, lanes: 1, passes: 2, write: true });
    expect(drain(k.lanes[0])).toEqual([W(0), W(2), W(4), W(0), W(2), W(4)]);
  });

  it("reads then writes each touched page with write: 'rw'", () => {
    const k = strided({ base: 0, pages: 5, stride: 4, lanes: 1, write: 'rw' });
    expect(drain(k.lanes[0])).toEqual([R(0), W(0), R(4), W(4)]);
  });

  it('skips passes with no element for a lane and ends cleanly', () => {
    // Phases 0, 2: pass 0 touches 0, 4; pass 1 touches 2 (only lane 0).
    const k = strided({ base: 0, pages: 5, stride: 4, lanes: 3, passes: 2, shiftPerPass: 2 });
    expect(drainAll(k.lanes)).toEqual([[R(0), R(2)], [R(4)], []]);
  });

  it('with shiftPerPass 1 and passes = stride covers every page exactly once', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 12 }),
      (pages, stride, lanes) => {
        const k = strided({ base: 1000, pages, stride, lanes, passes: stride, shiftPerPass: 1 });
        const c = counts(drainAll(k.lanes).flat().map(accessVpn));
        expect([...c.keys()].sort((a, b) => a - b)).toEqual(range(1000, 1000 + pages));
        expect([...c.values()].every((n) => n === 1)).toBe(true);
      },
    ), { numRuns: 100 });
  });

  it('touches exactly the pages base + j·stride inside the buffer, each by one lane', () => {
    const k = strided({ base: 0, pages: 1000, stride: 7, lanes: 5 });
    const all = drainAll(k.lanes).flat().map(accessVpn).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 143 }, (_, j) => j * 7));
  });

  it('is lazy over 2^40 pages', () => {
    const k = strided({ base: 0, pages: 2 ** 40, stride: 512, lanes: 1024 });
    expect([k.lanes[1].next(), k.lanes[1].next()]).toEqual([R(512), R(512 + 1024 * 512)]);
  });

  it('rejects bad options by name', () => {
    const ok = { base: 0, pages: 10, stride: 2, lanes: 1 };
    expect(() => strided({ ...ok, stride: 0 })).toThrow(/'stride'/);
    expect(() => strided({ ...ok, shiftPerPass: -1 })).toThrow(/'shiftPerPass'/);
    expect(() => strided({ ...ok, lanes: 1.5 })).toThrow(/'lanes'/);
    expect(() => strided({ ...ok, passes: 0 })).toThrow(RangeError);
  });
});
