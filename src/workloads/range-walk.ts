// The lane behind streaming and cpuTouch: an in-order walk over one contiguous run of pages,
// repeated pass after pass, in O(1) memory whatever the run's length.

import type { LaneProgram } from '../sim/program.ts';
import type { WriteMode } from './options.ts';

/**
 * A lane that visits pages start, start+1, ..., start+count−1 in order, `passes` times. Each
 * visit is one access (a write if `write` is true) or, with `'rw'`, a read then a write of the
 * page. `count` may be 0 (the lane is done at once). Pages must be valid VPNs below 2^51.
 */
export function rangeWalk(start: number, count: number, write: WriteMode, passes: number): LaneProgram {
  const rw = write === 'rw';
  const bit = write === true ? 1 : 0;
  let pass = count > 0 ? 0 : passes;
  let k = 0;
  // With 'rw', the read of the current page has been issued and its write is due.
  let writeDue = false;
  return {
    next(): number {
      if (pass >= passes) return -1;
      const vpn = start + k;
      if (rw && !writeDue) {
        writeDue = true;
        return vpn * 2;
      }
      writeDue = false;
      if (++k === count) {
        k = 0;
        pass++;
      }
      return vpn * 2 + (rw ? 1 : bit);
    },
  };
}
