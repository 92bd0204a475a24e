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
    expect(prof.fault.migrateWindow).toBe(2 * 1024 * 1024);
  });
  it('profiles without policies leave the defaults', () => {
    expect(profilePolicies(load('rdma-nic'))).toEqual({});
    expect(profilePolicies(load('sva-accelerator'))).toEqual({});
  });
});
