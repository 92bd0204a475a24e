import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { streaming } from '../../src/workloads/streaming.ts';
import { accessVpn } from '../../src/sim/program.ts';
import { R, W, counts, drain, drainAll, range } from './helpers.ts';

describe('streaming', () => {
  it('gives each lane a contiguous slice, first lanes one page more, walked in order', () => {
    const k = streaming({ base: 100, pages: 5, lanes: 2 });
    expect(drainAll(k.lanes)).toEqual([[R(100), R(101), R(102)], [R(103), R(104)]]);
  });

  it('repeats the slice for each pass; write: true writes every access', () => {
    const k = streaming({ base: 7, pages: 2, lanes: 1, passes: 3, write: true });
    expect(drain(k.lanes[0])).toEqual([W(7), W(8), W(7), W(8), W(7), W(8)]);
  });

  it("reads then writes each page with write: 'rw'", () => {
    const k = streaming({ base: 0, pages: 3, lanes: 1, passes: 2, write: 'rw' });
    expect(drain(k.lanes[0])).toEqual([R(0), W(0), R(1), W(1), R(2), W(2), R(0), W(0), R(1), W(1), R(2), W(2)]);
  });

  it('leaves lanes beyond the page count empty', () => {
    const k = streaming({ base: 10, pages: 2, lanes: 4 });
    expect(drainAll(k.lanes)).toEqual([[R(10)], [R(11)], [], []]);
  });

  it('covers every page exactly once per pass across lanes', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3 }),
      (base, pages, lanes, passes) => {
        const perLane = drainAll(streaming({ base, pages, lanes, passes }).lanes);
        const c = counts(perLane.flat().map(accessVpn));
        expect([...c.keys()].sort((a, b) => a - b)).toEqual(range(base, base + pages));
        for (const n of c.values()) expect(n).toBe(passes);
        // Slices are in lane order and contiguous.
        let next = base;
        for (const lane of perLane) {
          const firstPass = lane.slice(0, lane.length / passes).map(accessVpn);
          expect(firstPass).toEqual(range(next, next + firstPass.length));
          next += firstPass.length;
        }
      },
    ), { numRuns: 100 });
  });

  it('is lazy: a 2^40-page pass yields its first accesses at once', () => {
    const pages = 2 ** 40;
    const k = streaming({ base: 2 ** 45, pages, lanes: 4, passes: 1000 });
    const lane3 = k.lanes[3];
    const start = 2 ** 45 + 3 * (pages / 4);
    expect([lane3.next(), lane3.next(), lane3.next()]).toEqual([R(start), R(start + 1), R(start + 2)]);
  });

  it('reaches the top of the VPN space exactly', () => {
    const k = streaming({ base: 2 ** 51 - 2, pages: 2, lanes: 1, write: true });
    expect(drain(k.lanes[0])).toEqual([W(2 ** 51 - 2), W(2 ** 51 - 1)]);
  });

  it('documents its defaults', () => {
    const k = streaming({ base: 0, pages: 1, lanes: 1 });
    expect({ name: k.name, computePs: k.computePs, accessBytes: k.accessBytes }).toEqual({
      name: 'streaming', computePs: 1000, accessBytes: 4096,
    });
    const named = streaming({ base: 0, pages: 1, lanes: 1, name: 'copy', computePs: 0, accessBytes: 128 });
    expect([named.name, named.computePs, named.accessBytes]).toEqual(['copy', 0, 128]);
  });

  it('rejects bad options with a RangeError naming the option', () => {
    const ok = { base: 0, pages: 4, lanes: 2 };
    expect(() => streaming({ ...ok, lanes: 0 })).toThrow(/'lanes'/);
    expect(() => streaming({ ...ok, pages: 0 })).toThrow(/'pages'/);
    expect(() => streaming({ ...ok, pages: 1.5 })).toThrow(/'pages'/);
    expect(() => streaming({ ...ok, base: -1 })).toThrow(/'base'/);
    expect(() => streaming({ ...ok, base: 2 ** 51 })).toThrow(/'pages'/);
    expect(() => streaming({ ...ok, passes: 0 })).toThrow(/'passes'/);
    expect(() => streaming({ ...ok, write: 'w' as never })).toThrow(/'write'/);
    expect(() => streaming({ ...ok, computePs: -1 })).toThrow(/'computePs'/);
    expect(() => streaming({ ...ok, computePs: 0.5 })).toThrow(/'computePs'/);
    expect(() => streaming({ ...ok, accessBytes: 4097 })).toThrow(/'accessBytes'/);
    expect(() => streaming({ ...ok, accessBytes: 0 })).toThrow(/'accessBytes'/);
    expect(() => streaming({ ...ok, name: '' })).toThrow(/'name'/);
    expect(() => streaming(undefined as never)).toThrow(RangeError);
    expect(() => streaming({ ...ok, lanes: 0 })).toThrow(RangeError);
  });
});
