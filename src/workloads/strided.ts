// Strided: lanes touch every stride-th page of a buffer, interleaved the way a grid-stride loop
// hands elements to threads. Large strides defeat spatial prefetching (each touched page sits in
// its own 2 MiB block once stride ≥ 512), which is what this pattern is used to expose.

import type { KernelSpec, LaneProgram } from '../sim/program.ts';
import { PAGE_ACCESS_BYTES } from './defaults.ts';
import {
  costs, nonNegativeInt, optionsObject, pageRange, positiveInt, writeMode, type CostOptions, type WriteMode,
} from './options.ts';

/** Options of `strided`. */
export interface StridedOptions extends CostOptions {
  /** First page of the buffer (VPN). */
  readonly base: number;
  /** Buffer length in 4 KiB pages, ≥ 1; no access leaves [base, base + pages). */
  readonly pages: number;
  /** Distance between consecutive touched pages, in pages, ≥ 1 (1 = every page). */
  readonly stride: number;
  /** Lanes, ≥ 1. */
  readonly lanes: number;
  /** Passes over the buffer, ≥ 1. Default 1. */
  readonly passes?: number;
  /**
   * Pages the starting offset moves each pass, ≥ 0, taken modulo stride. Default 0: every pass
   * touches the same pages. With 1 and passes = stride, the passes together touch every page of
   * the buffer exactly once.
   */
  readonly shiftPerPass?: number;
  /** Reads (false, default), writes (true), or read-then-write of each page ('rw'). */
  readonly write?: WriteMode;
}

/**
 * A strided kernel over [base, base + pages). Pass p has a phase φ_p (φ_0 = 0,
 * φ_{p+1} = (φ_p + shiftPerPass) mod stride) and touches the n_p = ⌈(pages − φ_p) / stride⌉
 * elements j = 0 .. n_p − 1 at page base + φ_p + j·stride (none when φ_p ≥ pages). Lane i takes
 * elements j ≡ i (mod lanes), in ascending j: pages base + φ_p + (i + k·lanes)·stride for
 * k = 0, 1, ... while inside the buffer. After its last element of a pass a lane starts the
 * next pass, wrapping back to the start of the buffer. Within a pass every touched page
 * belongs to exactly one lane. O(1) memory per lane.
 *
 * Defaults: name 'strided', accessBytes 4096 (PAGE_ACCESS_BYTES), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function strided(o: StridedOptions): KernelSpec {
  const fn = 'strided';
  optionsObject(fn, o);
  pageRange(fn, 'base', o.base, 'pages', o.pages);
  const stride = positiveInt(fn, 'stride', o.stride);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const passes = positiveInt(fn, 'passes', o.passes ?? 1);
  const shift = nonNegativeInt(fn, 'shiftPerPass', o.shiftPerPass ?? 0) % stride;
  const write = writeMode(fn, 'write', o.write ?? false);
  const c = costs(fn, o, fn, PAGE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) programs.push(stridedLane(o.base, o.pages, stride, lanes, i, passes, shift, write));
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

function elementsInPass(pages: number, stride: number, phase: number): number {
  return phase < pages ? Math.ceil((pages - phase) / stride) : 0;
}

function stridedLane(
  base: number, pages: number, stride: number, lanes: number, lane: number,
  passes: number, shift: number, write: WriteMode,
): LaneProgram {
  const rw = write === 'rw';
  const bit = write === true ? 1 : 0;
  let pass = 0;
  let phase = 0;
  let n = elementsInPass(pages, stride, phase);
  let j = lane;
  let writeDue = false;
  return {
    next(): number {
      // Skip passes in which this lane has no element (few elements, many lanes).
      while (j >= n) {
        if (++pass >= passes) return -1;
        phase = (phase + shift) % stride;
        n = elementsInPass(pages, stride, phase);
        j = lane;
      }
      const vpn = base + phase + j * stride;
      if (rw && !writeDue) {
        writeDue = true;
        return vpn * 2;
      }
      writeDue = false;
      j += lanes;
      return vpn * 2 + (rw ? 1 : bit);
    },
  };
}
