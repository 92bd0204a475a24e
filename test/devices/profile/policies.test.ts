import { describe, it, expect } from 'vitest';
import { profilePolicies } from '../../../src/devices/profile/policies.ts';
import { loadProfile, PROFILES_DIR } from '../../../src/devices/profile/load.ts';
import { parseDevicePolicies } from '../../../src/policy/registry.ts';

const load = (n: string) => loadProfile(`${PROFILES_DIR}${n}.yaml`);

describe('profile policy sections become registry choices', () => {
  it('UVM profiles: tree prefetcher at 51 %, thrashing 3 events / 500 µs / pin after 10 for 150 ms, root-chunk LRU', () => {
    const p = parseDevicePolicies(profilePolicies(load('pascal-pcie3')));
    expect(p.prefetch).toEqual({ policy: 'prefetch-density', threshold: 0.51, minFaults: 1, bigPagePages: 16 });
    expect(p.thrashing).toEqual({ policy: 'thrashing-uvm', threshold: 3, lapseUs: 500, napLapses: 1, pinThreshold: 10, pinLapses: 300 });
    expect(p.eviction).toEqual({ policy: 'evict-lru-chunk' });
    expect(p.accessCounters.policy).toBe('access-counters-off');
  });
  it('Grace Hopper turns access-counter migration on (ATS systems, anchors-uvm.md b.4)', () => {
    const p = parseDevicePolicies(profilePolicies(load('gh200-c2c')));
    expect(p.accessCounters).toMatchObject({ policy: 'access-counters', threshold: 256 });
  });
  it('KFD SVM has no UVM-style throttling; its 2 MiB window is a fault field, not a prefetcher', () => {
    const prof = load('mi250x-xnack');
    const p = parseDevicePolicies(profilePolicies(prof));
    expect(p.thrashing).toEqual({ policy: 'thrashing-off' });
    expect(profilePolicies(prof).prefetch).toBeUndefined();
    expect(prof.fault!.migrateWindow).toBe(2 * 1024 * 1024);
  });
  it('profiles without policies leave the defaults', () => {
    expect(profilePolicies(load('rdma-nic'))).toEqual({});
    expect(profilePolicies(load('sva-accelerator'))).toEqual({});
  });
  it('each policy parameter reaches its registry choice: prefetch threshold/minFaults/bigPage, thrashing threshold/lapse/nap/pinThreshold/pin, accessCounterMigration with accessCounters.threshold, svm', () => {
    const base = load('gpu-pcie4');
    const with_ = (policy: object, extra: object = {}) => parseDevicePolicies(profilePolicies({ ...base, ...extra, policy: policy as typeof base.policy }));
    expect(with_({ prefetch: { name: 'uvm-tree', threshold: 80, minFaults: 3, bigPage: 16384 } }).prefetch)
      .toEqual({ policy: 'prefetch-density', threshold: 0.8, minFaults: 3, bigPagePages: 4 });
    expect(with_({ thrashing: { name: 'uvm-thrashing', threshold: 5, lapse: 1_000_000_000, nap: 3_000_000_000, pinThreshold: 20, pin: 10_000_000_000 } }).thrashing)
      .toEqual({ policy: 'thrashing-uvm', threshold: 5, lapseUs: 1000, napLapses: 3, pinThreshold: 20, pinLapses: 10 });
    expect(with_({ accessCounterMigration: true }, { accessCounters: { threshold: 64 } }).accessCounters).toEqual({ policy: 'access-counters', threshold: 64, subRegions: 32 });
    expect(with_({ accessCounterMigration: false }, { accessCounters: { threshold: 64 } }).accessCounters.policy).toBe('access-counters-off');
    const svm = with_({ svm: { name: 'amd-kfd-svm' } });
    // The 2 MiB window is the profile's fault.migrateWindow, not a prefetcher.
    expect(svm.prefetch).toEqual(parseDevicePolicies({}).prefetch);
    expect(svm.thrashing).toEqual({ policy: 'thrashing-off' });
  });
});
