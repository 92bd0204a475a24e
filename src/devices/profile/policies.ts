// A profile's `policy` section speaks its vendor's vocabulary (UVM's tree prefetcher and
// thrashing knobs, KFD's SVM retry faults). This turns it into the policy registry's choices, the
// defaults a device gets unless a scenario overrides a role.
import type { Profile } from './schema.ts';

type Raw = Record<string, unknown>;

/**
 * Policy choices (input of policy/registry.ts parseDevicePolicies) implied by a profile:
 * - `prefetch: { name: uvm-tree, threshold (%), minFaults, bigPage }` → prefetch-density;
 * - `thrashing: { name: uvm-thrashing, threshold, lapse, nap, pinThreshold, pin }` → thrashing-uvm;
 * - `accessCounterMigration: true` with `accessCounters.threshold` → access-counters;
 * - `svm: { name: amd-kfd-svm }`: KFD has no thrashing throttling → thrashing-off (its 2 MiB
 *   granularity window is the profile's fault.migrateWindow).
 * Roles a profile does not mention are left out (the registry's defaults apply).
 */
export function profilePolicies(p: Profile): Raw {
  const pol = p.policy;
  const out: Raw = {};
  const pre = pol.prefetch;
  if (pre) {
    out.prefetch = {
      policy: 'prefetch-density',
      ...(pre.threshold !== undefined ? { threshold: pre.threshold / 100 } : {}),
      ...(pre.minFaults !== undefined ? { minFaults: pre.minFaults } : {}),
      ...(pre.bigPage !== undefined ? { bigPagePages: pre.bigPage / 4096 } : {}),
    };
  }
  const th = pol.thrashing;
  if (th) {
    const lapse = th.lapse ?? 500_000_000;
    out.thrashing = {
      policy: 'thrashing-uvm',
      lapseUs: lapse / 1e6,
      ...(th.threshold !== undefined ? { threshold: th.threshold } : {}),
      ...(th.nap !== undefined ? { napLapses: Math.max(1, Math.round(th.nap / lapse)) } : {}),
      ...(th.pinThreshold !== undefined ? { pinThreshold: th.pinThreshold } : {}),
      ...(th.pin !== undefined ? { pinLapses: Math.round(th.pin / lapse) } : {}),
    };
  }
  if (pol.accessCounterMigration === true && p.accessCounters) out.accessCounters = { policy: 'access-counters', threshold: p.accessCounters.threshold };
  // KFD's granularity window is the profile's fault.migrateWindow; it has no UVM-style throttling.
  if (pol.svm) out.thrashing = { policy: 'thrashing-off' };
  return out;
}
