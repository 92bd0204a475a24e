// Uniform random page accesses: the pattern with no locality at all, where every prefetch is a
// guess and every oversubscribed access is likely to miss.

import type { Rng } from '../engine/rng.ts';
import type { KernelSpec, LaneProgram } from '../sim/program.ts';
import { LINE_ACCESS_BYTES } from './defaults.ts';
import {
  costs, fraction, nonNegativeInt, optionsObject, pageRange, positiveInt, rngOption, type CostOptions,
} from './options.ts';

/** Options of `random`. */
export interface RandomOptions extends CostOptions {
  /** First page of the buffer (VPN). */
  readonly base: number;
  /** Buffer length in 4 KiB pages, ≥ 1. */
  readonly pages: number;
  /** Lanes, ≥ 1. */
  readonly lanes: number;
  /** Accesses each lane issues, ≥ 0. */
  readonly accessesPerLane: number;
  /** Probability that an access is a write, in [0, 1]. Default 0 (read-only). */
  readonly writeFraction?: number;
  /** Parent stream; only forks of it are drawn from, so the caller's stream does not advance. */
  readonly rng: Rng;
}

/**
 * A kernel whose lanes each issue `accessesPerLane` accesses to pages drawn uniformly from
 * [base, base + pages). Lane i draws its pages from `rng.fork('lane' + i)` and its write/read
 * choices from that stream's fork('write'), so a lane's sequence depends only on the parent
 * stream's key and i: not on how lanes interleave, on the lane count, or on writeFraction (the
 * same seed gives the same pages whatever the write mix). O(1) memory per lane.
 *
 * Defaults: name 'random', writeFraction 0, accessBytes 64 (LINE_ACCESS_BYTES: a random access
 * reads one element, not the page around it), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function random(o: RandomOptions): KernelSpec {
  const fn = 'random';
  optionsObject(fn, o);
  pageRange(fn, 'base', o.base, 'pages', o.pages);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const count = nonNegativeInt(fn, 'accessesPerLane', o.accessesPerLane);
  const wf = fraction(fn, 'writeFraction', o.writeFraction ?? 0);
  const rng = rngOption(fn, 'rng', o.rng);
  const c = costs(fn, o, fn, LINE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) programs.push(randomLane(o.base, o.pages, count, wf, rng.fork(`lane${i}`)));
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

function randomLane(base: number, pages: number, count: number, wf: number, rng: Rng): LaneProgram {
  const writes = rng.fork('write');
  let left = count;
  return {
    next(): number {
      if (left <= 0) return -1;
      left--;
      const vpn = base + rng.int(0, pages);
      // Draw only when the answer is uncertain, so writeFraction 0 or 1 costs no draws.
      const w = wf >= 1 || (wf > 0 && writes.nextFloat() < wf);
      return vpn * 2 + (w ? 1 : 0);
    },
  };
}
