import { describe, it, expect } from 'vitest';
import { random } from '../../src/workloads/random.ts';
import { Rng } from '../../src/engine/rng.ts';
import { accessIsWrite, accessVpn } from '../../src/sim/program.ts';
import { counts, drain, drainAll } from './helpers.ts';

const opts = (seed: number, extra: object = {}) => ({
  base: 4096, pages: 64, lanes: 4, accessesPerLane: 500, rng: new Rng(seed), ...extra,
});

describe('random', () => {
  it('is a pure function of the seed', () => {
    expect(drainAll(random(opts(7)).lanes)).toEqual(drainAll(random(opts(7)).lanes));
    expect(drainAll(random(opts(7)).lanes)).not.toEqual(drainAll(random(opts(8)).lanes));
  });

  it('gives each lane its own stream: independent of lane count, interleaving and the other lanes', () => {
    const four = drainAll(random(opts(3)).lanes);
    const eight = drainAll(random(opts(3, { lanes: 8 })).lanes);
    expect(eight.slice(0, 4)).toEqual(four);
    // Consume lanes round-robin in reverse order: same per-lane sequences.
    const k = random(opts(3));
    const inter: number[][] = [[], [], [], []];
    for (let step = 0; step < 500; step++) for (let i = 3; i >= 0; i--) inter[i].push(k.lanes[i].next());
    expect(inter).toEqual(four);
    expect(new Set(four.map((l) => l.join(','))).size).toBe(4);
  });

  it('draws the lane stream from rng.fork(`lane${i}`) without advancing the caller', () => {
    const rng = new Rng(11);
    const lane2 = drain(random({ base: 0, pages: 1000, lanes: 3, accessesPerLane: 5, rng }).lanes[2]);
    const expected = new Rng(11).fork('lane2');
    expect(lane2).toEqual(Array.from({ length: 5 }, () => expected.int(0, 1000) * 2));
    expect(rng.nextU32()).toBe(new Rng(11).nextU32());
  });

  it('stays in the buffer, issues exactly accessesPerLane, and is roughly uniform', () => {
    const lanes = drainAll(random({ base: 100, pages: 8, lanes: 2, accessesPerLane: 40_000, rng: new Rng(1) }).lanes);
    expect(lanes.map((l) => l.length)).toEqual([40_000, 40_000]);
    const c = counts(lanes.flat().map(accessVpn));
    expect([...c.keys()].sort((a, b) => a - b)).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    for (const n of c.values()) expect(Math.abs(n - 10_000)).toBeLessThan(500);
  });

  it('writes with probability writeFraction, on the same pages whatever the fraction', () => {
    const pagesOf = (wf: number) => drainAll(random(opts(5, { writeFraction: wf, accessesPerLane: 20_000 })).lanes);
    const none = pagesOf(0), some = pagesOf(0.25), all = pagesOf(1);
    expect(none.flat().some(accessIsWrite)).toBe(false);
    expect(all.flat().every(accessIsWrite)).toBe(true);
    const frac = some.flat().filter(accessIsWrite).length / 80_000;
    expect(Math.abs(frac - 0.25)).toBeLessThan(0.01);
    expect(some.map((l) => l.map(accessVpn))).toEqual(none.map((l) => l.map(accessVpn)));
    expect(all.map((l) => l.map(accessVpn))).toEqual(none.map((l) => l.map(accessVpn)));
  });

  it('defaults to reads priced as one cache line', () => {
    const k = random(opts(1));
    expect([k.name, k.computePs, k.accessBytes]).toEqual(['random', 1000, 64]);
  });

  it('is lazy over 2^40 pages', () => {
    const k = random({ base: 0, pages: 2 ** 40, lanes: 1, accessesPerLane: 1e12, rng: new Rng(2) });
    const a = k.lanes[0].next();
    expect(accessVpn(a)).toBeLessThan(2 ** 40);
  });

  it('rejects bad options by name', () => {
    expect(() => random(opts(1, { writeFraction: 1.5 }))).toThrow(/'writeFraction'/);
    expect(() => random(opts(1, { writeFraction: NaN }))).toThrow(/'writeFraction'/);
    expect(() => random(opts(1, { rng: 42 }))).toThrow(/'rng'/);
    expect(() => random(opts(1, { accessesPerLane: -1 }))).toThrow(/'accessesPerLane'/);
    expect(() => random(opts(1, { lanes: 0 }))).toThrow(/'lanes'/);
  });
});
