import { describe, it, expect } from 'vitest';
import { stencil } from '../../src/workloads/stencil.ts';
import { accessIsWrite, accessVpn } from '../../src/sim/program.ts';
import { R, W, drain, drainAll, range } from './helpers.ts';

/** Splits a lane's accesses into cells: the reads since the previous write, then the write. */
function cellsOf(accesses: number[]): { reads: number[]; write: number }[] {
  const out: { reads: number[]; write: number }[] = [];
  let reads: number[] = [];
  for (const a of accesses) {
    if (accessIsWrite(a)) {
      out.push({ reads, write: accessVpn(a) });
      reads = [];
    } else reads.push(accessVpn(a));
  }
  expect(reads).toEqual([]);
  return out;
}

describe('stencil', () => {
  it('reads up, left, centre, right, down (inside the grid), then writes the cell', () => {
    // 2 × 3 grid at page 0:  0 1 2 / 3 4 5.
    const k = stencil({ base: 0, rows: 2, cols: 3, lanes: 1 });
    expect(drain(k.lanes[0])).toEqual([
      R(0), R(1), R(3), W(0),
      R(0), R(1), R(2), R(4), W(1),
      R(1), R(2), R(5), W(2),
      R(0), R(3), R(4), W(3),
      R(1), R(3), R(4), R(5), W(4),
      R(2), R(4), R(5), W(5),
    ]);
  });

  it('reads exactly the 5-point neighbourhood of every cell', () => {
    const rows = 5, cols = 7, base = 1000;
    const cells = cellsOf(drain(stencil({ base, rows, cols, lanes: 1 }).lanes[0]));
    expect(cells.map((c) => c.write)).toEqual(range(base, base + rows * cols));
    for (const { reads, write } of cells) {
      const r = Math.floor((write - base) / cols), c = (write - base) % cols;
      const expected = [[r - 1, c], [r, c - 1], [r, c], [r, c + 1], [r + 1, c]]
        .filter(([y, x]) => y >= 0 && y < rows && x >= 0 && x < cols)
        .map(([y, x]) => base + y * cols + x);
      expect(reads).toEqual(expected);
    }
  });

  it('double-buffers: even sweeps read base and write outBase, odd sweeps the reverse', () => {
    const k = stencil({ base: 0, outBase: 100, rows: 1, cols: 2, lanes: 1, iterations: 3 });
    expect(drain(k.lanes[0])).toEqual([
      R(0), R(1), W(100), R(0), R(1), W(101),
      R(100), R(101), W(0), R(100), R(101), W(1),
      R(0), R(1), W(100), R(0), R(1), W(101),
    ]);
    const odd = stencil({ base: 0, outBase: 100, rows: 1, cols: 1, lanes: 1, firstIteration: 5 });
    expect(drain(odd.lanes[0])).toEqual([R(100), W(0)]);
  });

  it('updates in place without outBase', () => {
    const k = stencil({ base: 8, rows: 1, cols: 1, lanes: 1, iterations: 2 });
    expect(drain(k.lanes[0])).toEqual([R(8), W(8), R(8), W(8)]);
  });

  it('splits cells contiguously in row-major order; every cell written once per sweep', () => {
    const rows = 6, cols = 5, lanes = 4;
    const perLane = drainAll(stencil({ base: 0, outBase: 64, rows, cols, lanes, iterations: 2 }).lanes);
    const writes = perLane.map((l) => cellsOf(l).map((c) => c.write));
    // 30 cells over 4 lanes: 8, 8, 7, 7.
    expect(writes.map((w) => w.slice(0, w.length / 2))).toEqual([
      range(64, 72), range(72, 80), range(80, 87), range(87, 94),
    ]);
    expect(writes.map((w) => w.slice(w.length / 2))).toEqual([range(0, 8), range(8, 16), range(16, 23), range(23, 30)]);
  });

  it('is lazy over a 2^20 × 2^20 grid', () => {
    const k = stencil({ base: 0, rows: 2 ** 20, cols: 2 ** 20, lanes: 2 });
    const mid = 2 ** 39; // lane 1 starts at row 2^19, column 0
    expect([k.lanes[1].next(), k.lanes[1].next(), k.lanes[1].next()]).toEqual([R(mid - 2 ** 20), R(mid), R(mid + 1)]);
  });

  it('defaults to whole-page accesses', () => {
    const k = stencil({ base: 0, rows: 1, cols: 1, lanes: 1 });
    expect([k.name, k.computePs, k.accessBytes]).toEqual(['stencil', 1000, 4096]);
  });

  it('rejects bad options by name', () => {
    const ok = { base: 0, rows: 4, cols: 4, lanes: 1 };
    expect(() => stencil({ ...ok, outBase: 10 })).toThrow(/'outBase'/);
    expect(() => stencil({ ...ok, outBase: -16 })).toThrow(/'outBase'/);
    expect(() => stencil({ ...ok, rows: 0 })).toThrow(/'rows'/);
    expect(() => stencil({ ...ok, cols: 2.5 })).toThrow(/'cols'/);
    expect(() => stencil({ ...ok, iterations: 0 })).toThrow(/'iterations'/);
    expect(() => stencil({ ...ok, firstIteration: -1 })).toThrow(/'firstIteration'/);
    expect(() => stencil({ ...ok, base: 2 ** 51 - 4 })).toThrow(/'base'/);
    expect(stencil({ ...ok, outBase: 16 }).lanes).toHaveLength(1);
  });
});
