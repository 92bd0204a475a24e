// Plug-in policies: a scenario names a JS/TS module for its prefetch or eviction role; the module
// is registered in the same table as the built-ins and decides through the same interface, so a
// plug-in that does what a built-in does gives the same run byte for byte. A plug-in that throws,
// answers an invalid decision or answers differently on replay stops the run with one line naming
// the module and the decision.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { parseScenario, type Scenario } from '../../src/scenario/load.ts';
import { loadPolicyPlugins } from '../../src/scenario/plugins.ts';
import { runScenario, ScenarioRunError } from '../../src/scenario/run.ts';
import { ScenarioError } from '../../src/scenario/locate.ts';
import { computePrefetch, PREFETCH_DEFAULTS } from '../../src/policy/prefetch.ts';
import { evictionPolicy, isModuleRef, prefetchPolicy, registeredPolicy, registerPolicy, PolicyPluginError } from '../../src/policy/plugin.ts';
import { EvictionState, pickVictim } from '../../src/policy/eviction.ts';
import type { RunResults } from '../../src/sim/results.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'plugins');
const FILE = join(FIXTURES, 'scenario.yaml');

function scenario(prefetch: string, eviction: string): string {
  return `
name: plug
data: false
devices:
  - name: gpu0
    profile: pascal-pcie3
    memory: 8 MiB
    policies:
      prefetch: ${prefetch}
      eviction: ${eviction}
processes:
  - name: p
    allocations: [{ name: data, oversubscribe: { device: gpu0, factor: 1.5 } }]
steps:
  - cpu: { workload: { type: streaming, buffer: data, write: true } }
  - kernel: { device: gpu0, workload: { type: streaming, buffer: data, passes: 2, lanes: 8 } }
`;
}

async function load(prefetch: string, eviction = '{ policy: evict-lru-chunk }'): Promise<Scenario> {
  const s = parseScenario(scenario(prefetch, eviction), FILE);
  await loadPolicyPlugins(s);
  return s;
}

/** The results without the scenario's name and file (which differ between the two runs compared). */
const core = (r: RunResults) => JSON.stringify({ ...r, name: '' });

describe('built-ins and plug-ins share one registry', () => {
  it('every built-in prefetch and eviction policy is registered under its name, versioned', () => {
    for (const n of ['prefetch-density', 'prefetch-none', 'evict-lru-chunk', 'evict-lru-page', 'evict-random']) {
      expect(registeredPolicy(n)?.apiVersion, n).toBe(1);
      expect(registeredPolicy(n)?.name).toBe(n);
    }
    expect(isModuleRef('./x.ts')).toBe(true);
    expect(isModuleRef('evict-random')).toBe(false);
  });

  it('the registered density prefetcher answers what computePrefetch answers', () => {
    const fn = prefetchPolicy('prefetch-density', { ...PREFETCH_DEFAULTS });
    const input = { blockStart: 1024, faulted: [1030, 1100], resident: [1024, 1025], thrashing: [], priorFaultMigrations: 0 };
    expect(fn(input)).toEqual(computePrefetch(input, PREFETCH_DEFAULTS));
    expect(fn(input).length).toBeGreaterThan(0);
  });

  it('the registered eviction built-ins pick what pickVictim picks', () => {
    const st = new EvictionState({ kind: 'random', unitPages: 1 });
    [5, 9, 2, 7].forEach((p, i) => st.insert(p, i as never));
    const view = { unitPages: 1, lru: () => st.lruUnits(), order: () => st.randomOrder(), candidates: () => st.candidates(), lastUse: (u: number) => st.victim(u).lastUse, pages: (u: number) => st.victim(u).pages };
    expect(evictionPolicy('evict-random', { unitPages: 1 }, 512).pick(view, () => 0.6)).toBe(pickVictim(st, () => 0.6)!.unit);
    expect(evictionPolicy('evict-lru-page', {}, 512).pick(view, () => 0)).toBe(5);
  });

  it('registering another object under a taken name, or a non-policy, is refused', () => {
    expect(() => registerPolicy('prefetch-density', { apiVersion: 1, role: 'prefetch', name: 'x', prefetch: () => [] })).toThrow(/already registered/);
    expect(() => registerPolicy('/x.ts', { apiVersion: 1, role: 'scheduler', name: 'x' })).toThrow(/expected role placement, prefetch, thrashing, accessCounters, eviction, path/);
    expect(() => registerPolicy('/y.ts', { apiVersion: 1, role: 'thrashing', name: 'y', init: () => null })).toThrow(/a thrashing policy needs the functions init, migrated, hint, isThrashing \(missing migrated, hint, isThrashing\)/);
  });
});

describe('a scenario naming plug-in modules', () => {
  it('devices[].policies.prefetch.params: a plug-in prefetching nothing runs exactly as prefetch-none', async () => {
    const plug = runScenario(await load('{ policy: ./prefetch-empty.ts, params: { unused: 1 } }'));
    const none = runScenario(await load('{ policy: prefetch-none }'));
    const density = runScenario(await load('{ policy: prefetch-density }'));
    expect(core(plug)).toBe(core(none));
    expect(plug.devices[0].prefetched).toBe(0);
    expect(density.devices[0].prefetched).toBeGreaterThan(0);
  });

  it('the example read-ahead prefetcher prefetches, and a larger ahead param leaves fewer faults to service', async () => {
    const ex = join('..', '..', '..', 'examples', 'plugins', 'prefetch-sequential.ts');
    const small = runScenario(await load(`{ policy: ${ex}, params: { ahead: 2 } }`));
    const large = runScenario(await load(`{ policy: ${ex}, params: { ahead: 64 } }`));
    expect(small.devices[0].prefetched).toBeGreaterThan(0);
    expect(large.devices[0].faults.serviced).toBeLessThan(small.devices[0].faults.serviced);
  });

  it('devices[].policies.eviction.params: a plug-in LRU of root chunks runs exactly as evict-lru-chunk; the MRU example differs', async () => {
    const plug = runScenario(await load('{ policy: prefetch-density }', '{ policy: ./evict-lru.ts, params: {} }'));
    const lru = runScenario(await load('{ policy: prefetch-density }', '{ policy: evict-lru-chunk }'));
    expect(plug.devices[0].evictions.pages).toBeGreaterThan(0);
    expect(core(plug)).toBe(core(lru));
    const mru = runScenario(await load('{ policy: prefetch-density }', `{ policy: ${join('..', '..', '..', 'examples', 'plugins', 'evict-mru.ts')} }`));
    expect(core(mru)).not.toBe(core(lru));
  });
});

describe('a broken plug-in stops the run with one line naming the module and the decision', () => {
  const failure = async (prefetch: string, eviction?: string): Promise<string> => {
    const s = await load(prefetch, eviction);
    try {
      runScenario(s);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioRunError);
      const m = (e as Error).message;
      expect(m.split('\n')).toHaveLength(1);
      return m;
    }
    throw new Error('the run did not fail');
  };

  it('a plug-in that throws', async () => {
    expect(await failure('{ policy: ./prefetch-throws.ts }')).toMatch(/prefetch-throws\.ts: prefetch decision for block at vpn \d+ \(faulted [\d,…]+\): threw Error: boom$/);
  });

  it('a plug-in answering a page outside the block', async () => {
    expect(await failure('{ policy: ./prefetch-outside.ts }')).toMatch(/prefetch-outside\.ts: prefetch decision .*: invalid decision: vpn \d+ at \[0\] is outside the block/);
  });

  it('a plug-in answering differently on replay', async () => {
    expect(await failure('{ policy: ./prefetch-flaky.ts }')).toMatch(/prefetch-flaky\.ts: prefetch decision .*: not deterministic on replay/);
  });

  it('an eviction plug-in answering a unit that is not a candidate', async () => {
    expect(await failure('{ policy: prefetch-density }', '{ policy: ./evict-bogus.ts }')).toMatch(/evict-bogus\.ts: eviction decision among \d+ candidate units: invalid decision: 123456789 is not a candidate unit/);
  });

  it('the policy table is not left half-changed: the same plug-in fails the same way again', async () => {
    const a = await failure('{ policy: ./prefetch-throws.ts }');
    expect(await failure('{ policy: ./prefetch-throws.ts }')).toBe(a);
  });
});

describe('loading plug-ins: located errors', () => {
  const loadError = async (prefetch: string): Promise<string> => {
    try {
      await load(prefetch);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      return (e as Error).message;
    }
    throw new Error('loading did not fail');
  };

  it('a module that does not exist is a FILE:LINE:COL error at its policy', async () => {
    expect(await loadError('{ policy: ./nope.ts }')).toMatch(/scenario\.yaml:9:\d+: .*no such plug-in module .*nope\.ts/);
  });

  it('a module without a default export, of another version, or of another role', async () => {
    expect(await loadError('{ policy: ./no-default.ts }')).toMatch(/scenario\.yaml:9:\d+: plug-in .*no-default\.ts: expected a default export/);
    expect(await loadError('{ policy: ./old-version.ts }')).toMatch(/plug-in .*old-version\.ts: expected apiVersion 1, got 0/);
    expect(await loadError('{ policy: ./evict-lru.ts }')).toMatch(/plug-in .*evict-lru\.ts: is a eviction policy, named for prefetch/);
  });

  it('a plug-in choosing a unit size other than a page or a root chunk is refused when the device is built', () => {
    registerPolicy('/virtual/evict-odd.ts', { apiVersion: 1, role: 'eviction', name: 'odd', unitPages: () => 3, pick: () => null });
    expect(() => evictionPolicy('/virtual/evict-odd.ts', {}, 512)).toThrow(PolicyPluginError);
    expect(() => evictionPolicy('/virtual/evict-odd.ts', {}, 512)).toThrow(/unitPages: invalid decision: expected 1 or 512/);
  });
});
