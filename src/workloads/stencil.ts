// A 5-point stencil over a 2-D grid of pages: the structured-grid solver pattern, where each
// lane's reads spill one row into its neighbours' slices, so slice edges are shared between
// lanes (and between devices when the grid is split across them).

import type { KernelSpec, LaneProgram } from '../sim/program.ts';
import { PAGE_ACCESS_BYTES, VPN_LIMIT } from './defaults.ts';
import { badOption, costs, nonNegativeInt, optionsObject, positiveInt, type CostOptions } from './options.ts';
import { partLength, partStart } from './split.ts';

/** Options of `stencil`. */
export interface StencilOptions extends CostOptions {
  /** First page of the (input) grid (VPN). Cell (r, c) is page base + r·cols + c. */
  readonly base: number;
  /** Grid rows, ≥ 1. */
  readonly rows: number;
  /** Grid columns in pages, ≥ 1. */
  readonly cols: number;
  /** Lanes, ≥ 1. */
  readonly lanes: number;
  /** Sweeps over the grid, ≥ 1. Default 1. */
  readonly iterations?: number;
  /**
   * First page of a second grid of rows·cols pages, not overlapping the first. When given, the
   * grids are double-buffered; when absent, every sweep updates the grid in place.
   */
  readonly outBase?: number;
  /**
   * Global number of the first sweep, ≥ 0; only its parity matters (it picks the source grid).
   * Default 0. Lets a caller launch one kernel per sweep, with a barrier between sweeps, and
   * still alternate the buffers.
   */
  readonly firstIteration?: number;
}

/**
 * A 5-point stencil kernel. Cells are split contiguously in row-major order (split.ts): lane i
 * owns cells [partStart(rows·cols, lanes, i), partStart(rows·cols, lanes, i + 1)). In each sweep
 * a lane visits its cells in order and, for cell (r, c), reads from the source grid the cells
 * (r−1, c), (r, c−1), (r, c), (r, c+1), (r+1, c), in that (ascending-address) order, skipping
 * those outside the grid (no halo, no wrap-around), then writes (r, c) in the destination grid.
 *
 * Buffers: without outBase, source = destination = base. With outBase, sweep t (global number
 * firstIteration + local index) reads base and writes outBase when t is even, and the reverse
 * when t is odd.
 *
 * Lanes are not synchronised between sweeps: a lane starts sweep t+1 when it finishes its own
 * cells of sweep t. For barrier semantics launch one kernel per sweep with `iterations: 1` and
 * `firstIteration: t`. O(1) memory per lane.
 *
 * Defaults: name 'stencil', iterations 1, firstIteration 0, accessBytes 4096
 * (PAGE_ACCESS_BYTES: a sweep reads and writes whole pages of the grid), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function stencil(o: StencilOptions): KernelSpec {
  const fn = 'stencil';
  optionsObject(fn, o);
  const rows = positiveInt(fn, 'rows', o.rows);
  const cols = positiveInt(fn, 'cols', o.cols);
  const cells = rows * cols;
  if (!Number.isSafeInteger(cells) || cells > VPN_LIMIT) badOption(fn, 'cols', 'such that rows × cols ≤ 2^51', cols);
  const base = nonNegativeInt(fn, 'base', o.base);
  if (base + cells > VPN_LIMIT) badOption(fn, 'base', 'such that base + rows × cols ≤ 2^51', base);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const iterations = positiveInt(fn, 'iterations', o.iterations ?? 1);
  const first = nonNegativeInt(fn, 'firstIteration', o.firstIteration ?? 0);
  let out = base;
  if (o.outBase !== undefined) {
    out = nonNegativeInt(fn, 'outBase', o.outBase);
    if (out + cells > VPN_LIMIT) badOption(fn, 'outBase', 'such that outBase + rows × cols ≤ 2^51', out);
    if (out < base + cells && base < out + cells) {
      badOption(fn, 'outBase', `a grid not overlapping [${base}, ${base + cells})`, out);
    }
  }
  const c = costs(fn, o, fn, PAGE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) {
    const start = partStart(cells, lanes, i);
    programs.push(stencilLane(base, out, rows, cols, start, start + partLength(cells, lanes, i), iterations, first));
  }
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

function stencilLane(
  a: number, b: number, rows: number, cols: number, start: number, end: number, iterations: number, first: number,
): LaneProgram {
  let it = start < end ? 0 : iterations;
  let src = first % 2 === 0 ? a : b;
  let dst = src === a ? b : a;
  let cell = start;
  let r = Math.floor(start / cols);
  let col = start - r * cols;
  // Step within the cell: 0 up, 1 left, 2 centre, 3 right, 4 down (reads), 5 write.
  let step = 0;
  return {
    next(): number {
      while (it < iterations) {
        switch (step++) {
          case 0: if (r > 0) return (src + cell - cols) * 2; break;
          case 1: if (col > 0) return (src + cell - 1) * 2; break;
          case 2: return (src + cell) * 2;
          case 3: if (col < cols - 1) return (src + cell + 1) * 2; break;
          case 4: if (r < rows - 1) return (src + cell + cols) * 2; break;
          default: {
            const w = (dst + cell) * 2 + 1;
            step = 0;
            if (++col === cols) {
              col = 0;
              r++;
            }
            if (++cell === end) {
              cell = start;
              r = Math.floor(start / cols);
              col = start - r * cols;
              it++;
              if (a !== b) [src, dst] = [dst, src];
            }
            return w;
          }
        }
      }
      return -1;
    },
  };
}
