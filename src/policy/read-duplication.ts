// Read duplication (NVIDIA UVM ReadMostly, anchors-uvm.md §b.5).
//
// For pages the scenario marks read-mostly, a read fault by a processor without a copy adds a
// read-only copy at that processor (UVM residency choice step 2: "read-duplicate on a read or
// prefetch fault"); the other copies stay valid. A write by any processor breaks duplication
// (`break_read_duplication_in_region`): the writer keeps the only, writable copy and every other
// copy is invalidated. UVM does not implement read duplication for HMM (pageable) memory
// ("Bug 3660922"); the caller decides which pages this policy applies to.
//
// Copy source, deterministic: when a copy must be made, it comes from the lowest id holding one
// (system memory, −1, first). UVM copies from the closest copy; the model has no distances here.

import {
  checkProcessor,
  checkVpn,
  NO_DECISION,
  sortedUnique,
  type AccessEvent,
  type Decision,
  type ProcessorId,
} from './types.ts';

/**
 * Decision for one access to a read-mostly page.
 *
 * @param ev the access
 * @param copies processors holding a valid copy of the page (any order; empty = unpopulated)
 * @returns read: `none` if the reader has a copy, `migrate` (populate) if there is no copy
 *   anywhere, else `duplicate` to the reader. Write: `none` if the writer holds the only copy,
 *   `migrate` (populate) if there is no copy, else `collapse` to the writer, invalidating all
 *   other copies.
 */
export function readDuplicationDecision(ev: AccessEvent, copies: readonly ProcessorId[]): Decision {
  checkVpn(ev.vpn);
  const dev = checkProcessor(ev.deviceId, 'deviceId');
  const held = sortedUnique(copies.map((c) => checkProcessor(c, 'copy')));
  const vpns = [ev.vpn];
  if (held.length === 0) return { kind: 'migrate', target: dev, vpns };
  if (!ev.write) {
    if (held.includes(dev)) return NO_DECISION;
    return { kind: 'duplicate', target: dev, source: held[0], vpns };
  }
  if (held.length === 1 && held[0] === dev) return NO_DECISION;
  return {
    kind: 'collapse',
    target: dev,
    source: held.includes(dev) ? null : held[0],
    invalidate: held.filter((c) => c !== dev),
    vpns,
  };
}

/**
 * Copy set after carrying out `decision` on a page whose copies were `copies` (sorted result).
 * `migrate` leaves only the target; `duplicate` adds the target; `collapse` leaves only the
 * writer; other decisions leave the set unchanged.
 */
export function applyReadDuplication(copies: readonly ProcessorId[], decision: Decision): ProcessorId[] {
  switch (decision.kind) {
    case 'migrate':
    case 'collapse':
      return [decision.target];
    case 'duplicate':
      return sortedUnique([...copies, decision.target]);
    default:
      return sortedUnique(copies);
  }
}
