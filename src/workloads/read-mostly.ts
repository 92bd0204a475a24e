// A shared lookup table read by every lane and updated rarely: the case read duplication is
// for (each device keeps a read-only copy until a write collapses the copies).

import type { Rng } from '../engine/rng.ts';
import type { KernelSpec, LaneProgram } from '../sim/program.ts';
import { LINE_ACCESS_BYTES } from './defaults.ts';
import {
  badOption, costs, nonNegativeInt, optionsObject, pageRange, positiveInt, rngOption, type CostOptions,
} from './options.ts';

/** Options of `readMostlyTable`. */
export interface ReadMostlyOptions extends CostOptions {
  /** First page of the table (VPN). */
  readonly base: number;
  /** Table length in 4 KiB pages, ≥ 1. */
  readonly pages: number;
  /** Lanes, ≥ 1. */
  readonly lanes: number;
  /** Lookups each lane issues, ≥ 0. */
  readonly lookupsPerLane: number;
  /**
   * Every writeEvery-th lookup of a lane is a write: an integer ≥ 1, or Infinity for none.
   * Default 100 (1% writes, a typical read-mostly mix).
   */
  readonly writeEvery?: number;
  /** Parent stream; only forks of it are drawn from. */
  readonly rng: Rng;
}

/**
 * A kernel of random lookups over the shared table [base, base + pages). Lane i issues
 * `lookupsPerLane` accesses to pages drawn uniformly from `rng.fork('lane' + i)`; its lookup
 * number j (from 1) is a write iff j is a multiple of writeEvery, so each lane writes exactly
 * ⌊lookupsPerLane / writeEvery⌋ times, spaced evenly, and reads the rest. The writes go to random
 * pages like the reads. A lane's pages depend only on the parent stream's key and i. O(1) memory
 * per lane.
 *
 * Defaults: name 'readMostlyTable', writeEvery 100, accessBytes 64 (LINE_ACCESS_BYTES: a lookup
 * reads one row), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function readMostlyTable(o: ReadMostlyOptions): KernelSpec {
  const fn = 'readMostlyTable';
  optionsObject(fn, o);
  pageRange(fn, 'base', o.base, 'pages', o.pages);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const lookups = nonNegativeInt(fn, 'lookupsPerLane', o.lookupsPerLane);
  const writeEvery = o.writeEvery ?? 100;
  if (writeEvery !== Infinity && !(Number.isSafeInteger(writeEvery) && writeEvery >= 1)) {
    badOption(fn, 'writeEvery', 'a positive integer or Infinity', writeEvery);
  }
  const rng = rngOption(fn, 'rng', o.rng);
  const c = costs(fn, o, fn, LINE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) programs.push(tableLane(o.base, o.pages, lookups, writeEvery, rng.fork(`lane${i}`)));
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

function tableLane(base: number, pages: number, lookups: number, writeEvery: number, rng: Rng): LaneProgram {
  let j = 0;
  // Counts down to the next write, avoiding a modulo per lookup.
  let untilWrite = writeEvery;
  return {
    next(): number {
      if (j >= lookups) return -1;
      j++;
      const vpn = base + rng.int(0, pages);
      if (--untilWrite === 0) {
        untilWrite = writeEvery;
        return vpn * 2 + 1;
      }
      return vpn * 2;
    },
  };
}
