// Streaming: lanes sweep a buffer front to back, each over its own contiguous slice; the
// pattern of copy, scale and reduction kernels and of the UVM streaming microbenchmarks.

import type { KernelSpec, LaneProgram } from '../sim/program.ts';
import { PAGE_ACCESS_BYTES } from './defaults.ts';
import { costs, optionsObject, pageRange, positiveInt, writeMode, type CostOptions, type WriteMode } from './options.ts';
import { rangeWalk } from './range-walk.ts';
import { partLength, partStart } from './split.ts';

/** Options of `streaming`. */
export interface StreamingOptions extends CostOptions {
  /** First page of the buffer (VPN). */
  readonly base: number;
  /** Buffer length in 4 KiB pages, ≥ 1. */
  readonly pages: number;
  /** Lanes (warps, queues), ≥ 1; more lanes than pages leaves the extra lanes empty. */
  readonly lanes: number;
  /** Sweeps over the slice, ≥ 1. Default 1. */
  readonly passes?: number;
  /** Reads (false, default), writes (true), or read-then-write of each page ('rw'). */
  readonly write?: WriteMode;
}

/**
 * A kernel streaming over [base, base + pages). The pages are split contiguously (split.ts):
 * lane i gets pages [base + partStart(pages, lanes, i), base + partStart(pages, lanes, i + 1)),
 * the first `pages % lanes` lanes one page more than the rest. Each lane walks its slice in
 * ascending order, `passes` times; every page is touched by exactly one lane, once per pass
 * (twice with write 'rw'). O(1) memory per lane.
 *
 * Defaults: name 'streaming', accessBytes 4096 (PAGE_ACCESS_BYTES), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function streaming(o: StreamingOptions): KernelSpec {
  const fn = 'streaming';
  optionsObject(fn, o);
  pageRange(fn, 'base', o.base, 'pages', o.pages);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const passes = positiveInt(fn, 'passes', o.passes ?? 1);
  const write = writeMode(fn, 'write', o.write ?? false);
  const c = costs(fn, o, fn, PAGE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) {
    programs.push(rangeWalk(o.base + partStart(o.pages, lanes, i), partLength(o.pages, lanes, i), write, passes));
  }
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}
