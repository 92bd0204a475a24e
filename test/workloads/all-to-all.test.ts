import { describe, it, expect } from 'vitest';
import { allToAll, type DeviceBuffer } from '../../src/workloads/all-to-all.ts';
import { accessIsWrite, accessVpn } from '../../src/sim/program.ts';
import { R, W, counts, drain, drainAll, range, sorted } from './helpers.ts';

const three: DeviceBuffer[] = [{ base: 0, pages: 6 }, { base: 100, pages: 6 }, { base: 200, pages: 6 }];

describe('allToAll', () => {
  it('pulls slice d of each peer buffer, in ring order, into slice j of its own buffer', () => {
    expect(drain(allToAll({ buffers: three, device: 0 }).lanes[0])).toEqual([
      R(100), W(2), R(101), W(3), // peer 1: its slice 0 → our slice 1
      R(200), W(4), R(201), W(5), // peer 2: its slice 0 → our slice 2
    ]);
    expect(drain(allToAll({ buffers: three, device: 1 }).lanes[0])).toEqual([
      R(202), W(104), R(203), W(105), // peer 2 first (ring order)
      R(2), W(100), R(3), W(101),
    ]);
  });

  it('moves every off-diagonal chunk exactly once and leaves each own chunk alone', () => {
    const bufs: DeviceBuffer[] = [{ base: 0, pages: 10 }, { base: 50, pages: 10 }, { base: 90, pages: 11 }, { base: 400, pages: 9 }];
    const n = bufs.length;
    const all = range(0, n).flatMap((d) => drainAll(allToAll({ buffers: bufs, device: d, lanes: 3 }).lanes).flat());
    const reads = counts(all.filter((a) => !accessIsWrite(a)).map(accessVpn));
    const writes = counts(all.filter(accessIsWrite).map(accessVpn));
    for (let x = 0; x < n; x++) {
      const b = bufs[x];
      for (let j = 0; j < n; j++) {
        const lo = b.base + Math.floor(b.pages / n) * j + Math.min(j, b.pages % n);
        const len = Math.floor(b.pages / n) + (j < b.pages % n ? 1 : 0);
        for (const v of range(lo, lo + len)) {
          // Slice j of buffer x is read once (by device j) and written once (by device x), unless j = x.
          expect(reads.get(v) ?? 0).toBe(j === x ? 0 : 1);
          expect(writes.get(v) ?? 0).toBe(j === x ? 0 : 1);
        }
      }
    }
  });

  it('splits each chunk among lanes without changing what is moved', () => {
    const one = drain(allToAll({ buffers: three, device: 2 }).lanes[0]);
    const lanes = drainAll(allToAll({ buffers: three, device: 2, lanes: 2 }).lanes);
    expect(lanes).toEqual([[R(4), W(200), R(104), W(202)], [R(5), W(201), R(105), W(203)]]);
    expect(sorted(lanes.flat())).toEqual(sorted(one));
  });

  it('handles unequal slices: reads and writes only as far as each slice goes', () => {
    const k = allToAll({ buffers: [{ base: 0, pages: 1 }, { base: 10, pages: 5 }], device: 1 });
    // Peer 0's slice 1 is empty (1 page over 2 slices); our slice 0 has 3 pages.
    expect(drain(k.lanes[0])).toEqual([W(10), W(11), W(12)]);
  });

  it('names the kernel after the device and prices whole pages', () => {
    const k = allToAll({ buffers: three, device: 2 });
    expect([k.name, k.computePs, k.accessBytes]).toEqual(['allToAll2', 1000, 4096]);
  });

  it('rejects bad options by name', () => {
    expect(() => allToAll({ buffers: three, device: 3 })).toThrow(/'device'/);
    expect(() => allToAll({ buffers: [three[0]], device: 0 })).toThrow(/'buffers'/);
    expect(() => allToAll({ buffers: [three[0], { base: 5, pages: 10 }], device: 0 })).toThrow(/'buffers\[\d\]'/);
    expect(() => allToAll({ buffers: [three[0], { base: 50, pages: 0 }], device: 0 })).toThrow(/'buffers\[1\]\.pages'/);
    expect(() => allToAll({ buffers: three, device: 0, lanes: 0 })).toThrow(/'lanes'/);
  });
});
