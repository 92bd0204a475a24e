// Where a CPU program's small allocations land. Pointer structures built with malloc are not
// laid out in node order: the allocator hands out free slots scattered over the arenas it has
// mapped. This is the case HMM exists for (the device follows the CPU's pointers in place, with
// no copy into a device buffer), and the scatter is what makes such traversals hard to prefetch.

import type { Process } from '../api/machine.ts';
import type { Rng } from '../engine/rng.ts';
import { badOption, positiveInt } from './options.ts';

/** A mapped region: pages [start, start + pages). */
export interface Region {
  readonly start: number;
  readonly pages: number;
}

/** Result of placeInArenas. */
export interface ArenaPlacement {
  /** First VPN of object k, for k in [0, count). Objects are disjoint runs of objectPages pages. */
  readonly objectVpn: Float64Array;
  /** The arenas mapped, in mapping order. */
  readonly arenas: readonly Region[];
}

/**
 * Allocates `count` objects of `objectPages` contiguous pages each, the way an arena allocator
 * would: maps A = ⌈count / S⌉ arenas of `arenaPages` pages (`proc.mmap(arenaPages, 'anon', 'rw')`,
 * placed top-down with guard pages by the kernel), each holding S = ⌊arenaPages / objectPages⌋
 * slots, then gives object k a slot chosen uniformly among the slots still free (a partial
 * Fisher–Yates over all A·S slots, drawing from `rng`). Consecutive objects therefore land in
 * unrelated slots, usually in different arenas, and the placement is a pure function of the
 * rng's state and the arguments (for a fresh process, also of the VPNs mmap returns).
 *
 * Memory: one slot index per slot (≈ count entries), the allocator's own metadata.
 * @throws RangeError on bad sizes (fn names the caller in the message).
 */
export function placeInArenas(
  proc: Process, rng: Rng, count: number, objectPages: number, arenaPages: number, fn = 'placeInArenas',
): ArenaPlacement {
  positiveInt(fn, 'count', count);
  positiveInt(fn, 'nodePages', objectPages);
  positiveInt(fn, 'arenaPages', arenaPages);
  if (arenaPages < objectPages) badOption(fn, 'arenaPages', `at least nodePages (${objectPages})`, arenaPages);
  const perArena = Math.floor(arenaPages / objectPages);
  const arenaCount = Math.ceil(count / perArena);
  const slots = arenaCount * perArena;
  if (slots > 2 ** 31 - 1) {
    badOption(fn, 'count', 'small enough to place (≤ 2^31 − 1 slots)', count);
  }
  const arenas: Region[] = [];
  for (let a = 0; a < arenaCount; a++) arenas.push({ start: proc.mmap(arenaPages, 'anon', 'rw'), pages: arenaPages });
  const slot = new Int32Array(slots);
  for (let s = 0; s < slots; s++) slot[s] = s;
  const objectVpn = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const j = rng.int(k, slots);
    const s = slot[j];
    slot[j] = slot[k];
    slot[k] = s;
    objectVpn[k] = arenas[Math.floor(s / perArena)].start + (s % perArena) * objectPages;
  }
  return { objectVpn, arenas };
}
