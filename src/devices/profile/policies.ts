// A profile's `policy` section speaks its vendor's vocabulary (UVM's tree prefetcher and
// thrashing knobs, KFD's SVM granularity). This turns it into the policy registry's choices, the
// defaults a device gets unless a scenario overrides a role.
import type { Profile } from './schema.ts';
import { parseDuration, parseSize } from './quantity.ts';

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined);

/**
 * Policy choices (input of policy/registry.ts parseDevicePolicies) implied by a profile:
 * - `prefetch: { name: uvm-tree, threshold (%), minFaults, bigPage }` → prefetch-density;
 * - `thrashing: { name: uvm-thrashing, threshold, lapse, nap, pinThreshold, pin }` → thrashing-uvm;
 * - `eviction: uvm-root-chunk-lru` or `kfd-range-bo` (a 2 MiB range BO) → evict-lru-chunk;
 * - `accessCounterMigration: true` with `accessCounters.threshold` → access-counters;
 * - `eviction: drm-gpusvm-range` (Xe evicts whole ranges) → evict-lru-chunk;
 * - `svm: { name: amd-kfd-svm }`: KFD has no thrashing throttling → thrashing-off (its 2 MiB
 *   granularity window is the profile's fault.migrateWindow).
 * Roles a profile does not mention are left out (the registry's defaults apply).
 */
export function profilePolicies(p: Profile): Raw {
  const pol = p.policy as Raw;
  const out: Raw = {};
  const pre = obj(pol.prefetch);
  if (pre?.name === 'uvm-tree') {
    out.prefetch = {
      policy: 'prefetch-density',
      ...(typeof pre.threshold === 'number' ? { threshold: pre.threshold / 100 } : {}),
      ...(typeof pre.minFaults === 'number' ? { minFaults: pre.minFaults } : {}),
      ...(pre.bigPage !== undefined ? { bigPagePages: parseSize(pre.bigPage) / 4096 } : {}),
    };
  }
  const th = obj(pol.thrashing);
  if (th?.name === 'uvm-thrashing') {
    const lapse = th.lapse !== undefined ? parseDuration(th.lapse) : 500_000_000;
    out.thrashing = {
      policy: 'thrashing-uvm',
      lapseUs: lapse / 1e6,
      ...(typeof th.threshold === 'number' ? { threshold: th.threshold } : {}),
      ...(th.nap !== undefined ? { napLapses: Math.max(1, Math.round(parseDuration(th.nap) / lapse)) } : {}),
      ...(typeof th.pinThreshold === 'number' ? { pinThreshold: th.pinThreshold } : {}),
      ...(th.pin !== undefined ? { pinLapses: Math.round(parseDuration(th.pin) / lapse) } : {}),
    };
  }
  const ev = obj(pol.eviction);
  if (ev?.name === 'uvm-root-chunk-lru' || ev?.name === 'kfd-range-bo' || ev?.name === 'drm-gpusvm-range') out.eviction = { policy: 'evict-lru-chunk' };
  if (pol.accessCounterMigration === true && p.accessCounters) out.accessCounters = { policy: 'access-counters', threshold: p.accessCounters.threshold };
  const svm = obj(pol.svm);
  // KFD's granularity window is the profile's fault.migrateWindow; it has no UVM-style throttling.
  if (svm?.name === 'amd-kfd-svm') out.thrashing = { policy: 'thrashing-off' };
  return out;
}
