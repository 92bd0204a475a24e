// Migrate on first touch: the faulting processor gets the page.
//
// This is the tail of UVM's residency choice when no preference or hint applies (anchors-uvm.md
// §b.5, steps 5 and 9): a page not resident anywhere is populated at the requester ("first
// touch"), and a page resident elsewhere is migrated to the requester. A CPU fault migrates the
// page back to system memory, as UVM and AMD KFD (`svm_migrate_to_ram`, §b.7) do.

import {
  checkProcessor,
  checkVpn,
  NO_DECISION,
  type AccessEvent,
  type Decision,
  type ProcessorId,
} from './types.ts';

/**
 * Decision for one fault under migrate-on-first-touch.
 *
 * @param ev the fault (vpn, faulting processor, access kind, time)
 * @param residency where the page is resident now: a device id, CPU (−1) for system memory, or
 *   null if it is not populated anywhere
 * @returns `none` if the page is already resident at the faulting processor (e.g. a protection
 *   upgrade), otherwise `migrate` of [ev.vpn] to ev.deviceId (populate when `residency` is null)
 */
export function firstTouchDecision(ev: AccessEvent, residency: ProcessorId | null): Decision {
  checkVpn(ev.vpn);
  checkProcessor(ev.deviceId, 'deviceId');
  if (residency !== null) checkProcessor(residency, 'residency');
  if (residency === ev.deviceId) return NO_DECISION;
  return { kind: 'migrate', target: ev.deviceId, vpns: [ev.vpn] };
}
