// CPU phases over shared data: the CPU initialising a buffer before a kernel, or reading the
// results after one. With HMM the CPU touches the same virtual pages the device used, so these
// accesses fault device-private pages back and are what makes the round trip cost visible.

import type { CpuPhaseSpec, LaneProgram } from '../sim/program.ts';
import { PAGE_ACCESS_BYTES } from './defaults.ts';
import { costs, optionsObject, pageRange, positiveInt, writeMode, type CostOptions, type WriteMode } from './options.ts';
import { rangeWalk } from './range-walk.ts';
import { partLength, partStart } from './split.ts';

/** Options of `cpuTouch`. */
export interface CpuTouchOptions extends CostOptions {
  /** First page of the region (VPN). */
  readonly base: number;
  /** Region length in 4 KiB pages, ≥ 1. */
  readonly pages: number;
  /** CPU threads, ≥ 1. Default 1: the single-threaded init/check loop of most HMM programs. */
  readonly threads?: number;
  /** Reads (false, default), writes (true), or read-then-write of each page ('rw'). */
  readonly write?: WriteMode;
  /** Sweeps over each thread's slice, ≥ 1. Default 1. */
  readonly passes?: number;
}

/**
 * A CPU phase touching [base, base + pages): split contiguously among threads exactly like
 * `streaming` splits among lanes (thread i gets [base + partStart(pages, threads, i),
 * base + partStart(pages, threads, i + 1))), each thread walking its slice in ascending order
 * `passes` times. O(1) memory per thread.
 *
 * Defaults: name 'cpuTouch', threads 1, accessBytes 4096 (PAGE_ACCESS_BYTES: initialisation and
 * result checks read or write whole pages), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function cpuTouch(o: CpuTouchOptions): CpuPhaseSpec {
  const fn = 'cpuTouch';
  optionsObject(fn, o);
  pageRange(fn, 'base', o.base, 'pages', o.pages);
  const threads = positiveInt(fn, 'threads', o.threads ?? 1);
  const passes = positiveInt(fn, 'passes', o.passes ?? 1);
  const write = writeMode(fn, 'write', o.write ?? false);
  const c = costs(fn, o, fn, PAGE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < threads; i++) {
    programs.push(rangeWalk(o.base + partStart(o.pages, threads, i), partLength(o.pages, threads, i), write, passes));
  }
  return { name: c.name, threads: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}
