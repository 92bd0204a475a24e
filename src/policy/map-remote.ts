// Map remote (zero-copy): never migrate; map the page where it is.
//
// Models UVM's AccessedBy / remote mapping (anchors-uvm.md §b.5 step 6: "the requester is in
// AccessedBy and can reach the current residency → stay there and map"), the `zero_copy` mode of
// NVIDIA's oversubscription benchmark (§a), and XGMI hive peers mapping each other in place on
// AMD (§a, §b.7 ACCESS_IN_PLACE).

import {
  CPU,
  checkProcessor,
  checkVpn,
  NO_DECISION,
  type AccessEvent,
  type AccessibilityFn,
  type Decision,
  type ProcessorId,
} from './types.ts';

/** Parameters of the map-remote policy. */
export interface MapRemoteParams {
  /**
   * Where a page that is not populated anywhere is placed: 'system' (system memory, as pinned
   * host / zero-copy allocations are) or 'requester' (first touch, then mapped by others).
   */
  readonly populateOn: 'system' | 'requester';
}

/** Defaults: populate in system memory ([estimate]: zero-copy buffers live in host memory). */
export const MAP_REMOTE_DEFAULTS: MapRemoteParams = Object.freeze({
  populateOn: 'system',
});

/**
 * Decision for one access under map-remote.
 *
 * @param ev the access
 * @param residency current residency of the page (device id, CPU = −1), or null if unpopulated
 * @param canAccess whether a processor can map a residency directly (e.g. peers in the same
 *   address-space group or over a coherent link)
 * @returns `none` if already resident at the requester; `map-remote` if the requester can map
 *   the residency (for an unpopulated page: at the populate location, which the caller populates
 *   first); otherwise `migrate` to the requester, as UVM does when the requester cannot reach
 *   the residency (§b.5 step 9)
 */
export function mapRemoteDecision(
  ev: AccessEvent,
  residency: ProcessorId | null,
  canAccess: AccessibilityFn,
  params: MapRemoteParams = MAP_REMOTE_DEFAULTS,
): Decision {
  checkVpn(ev.vpn);
  checkProcessor(ev.deviceId, 'deviceId');
  if (residency !== null) checkProcessor(residency, 'residency');
  const where = residency ?? (params.populateOn === 'system' ? CPU : ev.deviceId);
  if (where === ev.deviceId) {
    return residency === null ? { kind: 'migrate', target: where, vpns: [ev.vpn] } : NO_DECISION;
  }
  if (canAccess(ev.deviceId, where)) {
    return { kind: 'map-remote', processor: ev.deviceId, residency: where, vpns: [ev.vpn] };
  }
  return { kind: 'migrate', target: ev.deviceId, vpns: [ev.vpn] };
}
