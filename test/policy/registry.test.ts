import { describe, it, expect } from 'vitest';
import {
  evictionParamsOf,
  parseDevicePolicies,
  parsePolicyChoice,
  policyDefaults,
  prefetchParamsOf,
  thrashingParamsOf,
  accessCounterParamsOf,
  mapRemoteParamsOf,
  PrefetchDensitySchema,
  ThrashingUvmSchema,
  AccessCountersSchema,
} from '../../src/policy/registry.ts';
import { PREFETCH_DEFAULTS } from '../../src/policy/prefetch.ts';
import { THRASHING_DEFAULTS } from '../../src/policy/thrashing.ts';
import { ACCESS_COUNTER_DEFAULTS } from '../../src/policy/access-counters.ts';
import { EVICTION_DEFAULTS } from '../../src/policy/eviction.ts';
import { MAP_REMOTE_DEFAULTS } from '../../src/policy/map-remote.ts';
import { ms, us } from '../../src/units/time.ts';

describe('policy registry', () => {
  it('parses a scenario choice and fills the other defaults', () => {
    expect(parsePolicyChoice({ policy: 'prefetch-density', threshold: 0.6 })).toEqual({
      policy: 'prefetch-density', threshold: 0.6, bigPagePages: 16, minFaults: 1,
    });
  });

  it('rejects out-of-range values, unknown fields and unknown policies', () => {
    expect(() => parsePolicyChoice({ policy: 'prefetch-density', threshold: 1.5 })).toThrow();
    expect(() => parsePolicyChoice({ policy: 'prefetch-density', threshold: 0 })).toThrow();
    expect(() => parsePolicyChoice({ policy: 'prefetch-density', bigPagePages: 24 })).toThrow();
    expect(() => parsePolicyChoice({ policy: 'thrashing-uvm', threshold: 8 })).toThrow();
    expect(() => parsePolicyChoice({ policy: 'first-touch', extra: 1 })).toThrow();
    expect(() => parsePolicyChoice({ policy: 'lfu' })).toThrow();
  });

  it('defaults a device to the NVIDIA UVM profile', () => {
    expect(parseDevicePolicies({})).toEqual({
      placement: { policy: 'first-touch' },
      prefetch: { policy: 'prefetch-density', threshold: 0.51, bigPagePages: 16, minFaults: 1 },
      thrashing: { policy: 'thrashing-uvm', threshold: 3, lapseUs: 500, napLapses: 1, pinThreshold: 10, pinLapses: 300 },
      accessCounters: { policy: 'access-counters-off' },
      eviction: { policy: 'evict-lru-chunk' },
      path: { policy: 'nearest' },
    });
    expect(parseDevicePolicies({ path: { policy: 'avoid-iommu' } }).path).toEqual({ policy: 'avoid-iommu' });
    expect(() => parseDevicePolicies({ path: { policy: 'first-touch' } })).toThrow();
    const d = parseDevicePolicies({ placement: { policy: 'map-remote' }, eviction: { policy: 'evict-random' } });
    expect(d.placement).toEqual({ policy: 'map-remote', populateOn: 'system' });
    expect(d.eviction).toEqual({ policy: 'evict-random', unitPages: 1 });
    expect(() => parseDevicePolicies({ placement: { policy: 'evict-lru-page' } })).toThrow();
  });

  it('converts parsed defaults to exactly the policy modules\' defaults', () => {
    expect(prefetchParamsOf(PrefetchDensitySchema.parse({ policy: 'prefetch-density' }))).toEqual(PREFETCH_DEFAULTS);
    expect(thrashingParamsOf(ThrashingUvmSchema.parse({ policy: 'thrashing-uvm' }))).toEqual(THRASHING_DEFAULTS);
    expect(accessCounterParamsOf(AccessCountersSchema.parse({ policy: 'access-counters' }))).toEqual(ACCESS_COUNTER_DEFAULTS);
    expect(mapRemoteParamsOf({ policy: 'map-remote', populateOn: 'system' })).toEqual(MAP_REMOTE_DEFAULTS);
    // Each names the registered policy that picks victims (policy/plugin.ts), built-in or plug-in alike.
    expect(evictionParamsOf({ policy: 'evict-lru-chunk' })).toEqual({ ...EVICTION_DEFAULTS['lru-chunk'], policy: { key: 'evict-lru-chunk', params: {} } });
    expect(evictionParamsOf({ policy: 'evict-lru-page' })).toEqual({ ...EVICTION_DEFAULTS['lru-page'], policy: { key: 'evict-lru-page', params: {} } });
    expect(evictionParamsOf({ policy: 'evict-random', unitPages: 512 })).toEqual({ kind: 'random', unitPages: 512, policy: { key: 'evict-random', params: { unitPages: 512 } } });
    expect(evictionParamsOf({ policy: '/abs/evict-mine.ts', params: { a: 1 } }).policy).toEqual({ key: '/abs/evict-mine.ts', params: { a: 1 } });
  });

  it('scales thrashing times from the lapse as UVM does', () => {
    const p = thrashingParamsOf(ThrashingUvmSchema.parse({ policy: 'thrashing-uvm', lapseUs: 100, napLapses: 2, pinLapses: 10 }));
    expect(p.lapse).toBe(us(100));
    expect(p.nap).toBe(us(200));
    expect(p.pinDuration).toBe(ms(1));
  });

  it('lists every policy with its defaults and a source for each parameter', () => {
    for (const [name, entry] of Object.entries(policyDefaults)) {
      expect(entry.params.policy).toBe(name);
      expect(entry.description.length).toBeGreaterThan(0);
      const params = Object.keys(entry.params).filter((k) => k !== 'policy');
      const sourced = Object.keys(entry.sources);
      expect(sourced.length).toBeGreaterThan(0);
      for (const k of params) expect(sourced).toContain(k);
      for (const src of Object.values(entry.sources)) expect(src).toMatch(/anchors-uvm\.md|\[estimate\]|ibid/);
    }
    expect(policyDefaults['thrashing-uvm'].sources.pinLapses).toContain('150 ms');
    expect(policyDefaults['prefetch-density'].sources.threshold).toContain('51');
  });
});
