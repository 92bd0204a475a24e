import { describe, it, expect } from 'vitest';
import { readMostlyTable } from '../../src/workloads/read-mostly.ts';
import { Rng } from '../../src/engine/rng.ts';
import { accessIsWrite, accessVpn } from '../../src/sim/program.ts';
import { drain, drainAll } from './helpers.ts';

describe('readMostlyTable', () => {
  it('writes exactly every writeEvery-th lookup of each lane', () => {
    const k = readMostlyTable({ base: 0, pages: 16, lanes: 2, lookupsPerLane: 10, writeEvery: 3, rng: new Rng(1) });
    for (const lane of drainAll(k.lanes)) {
      expect(lane.map((a, j) => (accessIsWrite(a) ? j : -1)).filter((j) => j >= 0)).toEqual([2, 5, 8]);
    }
  });

  it('defaults to 1% writes and line-sized accesses', () => {
    const k = readMostlyTable({ base: 0, pages: 16, lanes: 1, lookupsPerLane: 1000, rng: new Rng(1) });
    expect(drain(k.lanes[0]).filter(accessIsWrite)).toHaveLength(10);
    expect([k.name, k.computePs, k.accessBytes]).toEqual(['readMostlyTable', 1000, 64]);
  });

  it('never writes with writeEvery Infinity', () => {
    const k = readMostlyTable({ base: 0, pages: 4, lanes: 1, lookupsPerLane: 500, writeEvery: Infinity, rng: new Rng(1) });
    expect(drain(k.lanes[0]).some(accessIsWrite)).toBe(false);
  });

  it('draws lane i from rng.fork(`lane${i}`): deterministic and independent per lane', () => {
    const mk = (lanes: number) => readMostlyTable({ base: 64, pages: 1 << 20, lanes, lookupsPerLane: 50, rng: new Rng(9) });
    const two = drainAll(mk(2).lanes);
    expect(drainAll(mk(5).lanes).slice(0, 2)).toEqual(two);
    const r = new Rng(9).fork('lane1');
    expect(two[1].map(accessVpn)).toEqual(Array.from({ length: 50 }, () => 64 + r.int(0, 1 << 20)));
    expect(two[0]).not.toEqual(two[1]);
  });

  it('rejects bad options by name', () => {
    const ok = { base: 0, pages: 4, lanes: 1, lookupsPerLane: 1, rng: new Rng(1) };
    expect(() => readMostlyTable({ ...ok, writeEvery: 0 })).toThrow(/'writeEvery'/);
    expect(() => readMostlyTable({ ...ok, writeEvery: 2.5 })).toThrow(/'writeEvery'/);
    expect(() => readMostlyTable({ ...ok, lookupsPerLane: -2 })).toThrow(/'lookupsPerLane'/);
    expect(() => readMostlyTable({ ...ok, rng: undefined as never })).toThrow(/'rng'/);
  });
});
