// Plug-ins in every role: placement, thrashing, access counters and path selection go through the
// same table and interface as prefetch and eviction (policy/plugin.ts), with the built-ins
// registered there too. A plug-in that reimplements a built-in on its pure decision functions gives
// the same run byte for byte; a plug-in that throws, answers an invalid decision or answers
// differently on replay stops the run with one line naming the module and the decision.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.ts';
import { loadPolicyPlugins } from '../../src/scenario/plugins.ts';
import { runScenario, ScenarioRunError } from '../../src/scenario/run.ts';
import { registeredPolicy, PLUGGABLE_ROLES } from '../../src/policy/plugin.ts';
import type { RunResults } from '../../src/sim/results.ts';
import { socketDirectNicScenario } from '../fixtures/socket-direct-nic.ts';

const FILE = join(import.meta.dirname, '..', 'fixtures', 'plugins', 'roles.yaml');

async function run(text: string): Promise<RunResults> {
  const s = parseScenario(text, FILE);
  await loadPolicyPlugins(s);
  return runScenario(s);
}

/** The results as text: equal text is an equal run, byte for byte. */
const text = (r: RunResults) => JSON.stringify(r);

/** One GPU on PCIe with the given policies; the CPU fills buffer a, the GPU streams a and b. */
function gpu(policies: string, workload = 'type: streaming, buffer: a'): string {
  return `name: roles
data: false
devices: [{ name: g0, profile: gpu-pcie4, policies: { ${policies} } }]
processes: [{ name: p, allocations: [{ name: a, pages: 64 }, { name: b, pages: 64 }] }]
steps:
  - cpu: { workload: { type: streaming, buffer: a, write: true } }
  - kernel: { device: g0, workload: { ${workload} } }
  - kernel: { device: g0, workload: { type: streaming, buffer: b, write: true } }
`;
}

/** The GPU and the CPU writing the same 16 pages in turn: a ping-pong thrashing detection catches. */
function pingPong(thrashing: string): string {
  return `name: roles
data: false
devices: [{ name: g0, profile: gpu-pcie4, policies: { thrashing: ${thrashing} } }]
processes: [{ name: p, allocations: [{ name: a, pages: 16 }] }]
steps:
  - - kernel: { device: g0, workload: { type: streaming, buffer: a, write: true, passes: 40, lanes: 1 } }
    - cpu: { workload: { type: streaming, buffer: a, write: true, passes: 40 } }
`;
}

/** A socket-direct NIC (a PCIe function per socket) beside a busy neighbour on cpu0's root complex. */
function multipath(path: string): string {
  return socketDirectNicScenario(path, { name: 'roles', rx: '1 MiB', busyPasses: 100 });
}

describe('every role is registered in one table', () => {
  it('each built-in of each role is registered under its name, in its role, versioned', () => {
    const builtins: Record<string, readonly string[]> = {
      placement: ['first-touch', 'map-remote', 'read-duplication'],
      prefetch: ['prefetch-density', 'prefetch-none'],
      thrashing: ['thrashing-uvm', 'thrashing-off'],
      accessCounters: ['access-counters', 'access-counters-off'],
      eviction: ['evict-lru-chunk', 'evict-lru-page', 'evict-random'],
      path: ['nearest', 'least-loaded', 'avoid-iommu'],
    };
    expect(Object.keys(builtins)).toEqual([...PLUGGABLE_ROLES]);
    for (const [role, names] of Object.entries(builtins)) {
      for (const n of names) {
        const p = registeredPolicy(n);
        expect(p?.role, n).toBe(role);
        expect(p?.apiVersion).toBe(1);
        expect(p?.name).toBe(n);
      }
    }
  });
});

describe('a plug-in reimplementing a built-in runs exactly as the built-in', () => {
  it('devices[].policies.placement.params: a plug-in map-remote with populateOn in its params runs exactly as map-remote', async () => {
    const w = 'type: streaming, buffer: a';
    for (const populateOn of ['system', 'requester']) {
      const builtin = await run(gpu(`placement: { policy: map-remote, populateOn: ${populateOn} }`, w));
      const plug = await run(gpu(`placement: { policy: ./placement-map-remote.ts, params: { populateOn: ${populateOn} } }`, w));
      expect(text(plug)).toBe(text(builtin));
    }
    // The role matters here: first touch migrates the pages map-remote leaves in place.
    const first = await run(gpu('placement: { policy: first-touch }', w));
    const remote = await run(gpu('placement: { policy: ./placement-map-remote.ts }', w));
    expect(first.devices[0].pagesIn).toBeGreaterThan(0);
    expect(remote.devices[0].pagesIn).toBe(0);
  });

  it('devices[].policies.thrashing.params: a plug-in UVM thrashing detection (immutable state, lapseUs in its params) runs exactly as thrashing-uvm', async () => {
    const builtin = await run(pingPong('{ policy: thrashing-uvm, lapseUs: 5000, napLapses: 2 }'));
    const plug = await run(pingPong('{ policy: ./thrashing-uvm.ts, params: { lapseUs: 5000, napLapses: 2 } }'));
    // The detection did work in this run: pages were found thrashing and faults throttled.
    expect(builtin.devices[0].thrashing.events).toBeGreaterThan(0);
    expect(builtin.devices[0].thrashing.throttles).toBeGreaterThan(0);
    expect(text(plug)).toBe(text(builtin));
    const off = await run(pingPong('{ policy: thrashing-off }'));
    expect(text(off)).not.toBe(text(builtin));
  });

  it('devices[].policies.accessCounters.params: a plug-in on recordAccess with threshold and subRegions in its params runs exactly as access-counters', async () => {
    const base = 'placement: { policy: map-remote }, prefetch: { policy: prefetch-none }';
    const w = 'type: streaming, buffer: a, passes: 8, lanes: 4';
    const builtin = await run(gpu(`${base}, accessCounters: { policy: access-counters, threshold: 32, subRegions: 8 }`, w));
    const plug = await run(gpu(`${base}, accessCounters: { policy: ./access-counters.ts, params: { threshold: 32, subRegions: 8 } }`, w));
    expect(builtin.devices[0].accessCounterNotifications).toBeGreaterThan(0);
    expect(text(plug)).toBe(text(builtin));
    const other = await run(gpu(`${base}, accessCounters: { policy: ./access-counters.ts, params: { threshold: 4096 } }`, w));
    expect(other.devices[0].accessCounterNotifications).toBeLessThan(builtin.devices[0].accessCounterNotifications);
  });

  it('devices[].policies.path.params: a plug-in least-loaded path policy runs exactly as least-loaded', async () => {
    const builtin = await run(multipath('{ policy: least-loaded }'));
    const plug = await run(multipath('{ policy: ./path-least-loaded.ts, params: {} }'));
    const maps = builtin.devices[0].paths.map((p) => p.mappings);
    // Both functions carry pages: the choice depended on the load each candidate reported.
    expect(maps.every((m) => m > 0)).toBe(true);
    expect(text(plug)).toBe(text(builtin));
    expect(text(await run(multipath('{ policy: nearest }')))).not.toBe(text(builtin));
  });
});

describe('a broken plug-in in any role stops the run with one line naming the module and the decision', () => {
  const failure = async (scenario: string): Promise<string> => {
    try {
      await run(scenario);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioRunError);
      const m = (e as Error).message;
      expect(m.split('\n')).toHaveLength(1);
      return m;
    }
    throw new Error('the run did not fail');
  };

  it('placement: a plug-in that throws, and one migrating the page to another processor', async () => {
    expect(await failure(gpu('placement: { policy: ./placement-throws.ts }')))
      .toMatch(/placement-throws\.ts: placement decision for vpn \d+ on processor 0 \(resident on -1\): threw TypeError: no placement here$/);
    expect(await failure(gpu('placement: { policy: ./placement-elsewhere.ts }')))
      .toMatch(/placement-elsewhere\.ts: placement decision for vpn \d+ on processor 0 .*: invalid decision \{"kind":"migrate","target":7,.*\}: expected migrate with target 0 and vpns \[\d+\]$/);
  });

  it('thrashing: a hint that answers differently on replay', async () => {
    expect(await failure(pingPong('{ policy: ./thrashing-flaky.ts }')))
      .toMatch(/thrashing-flaky\.ts: thrashing hint for vpn \d+ on processor -?\d+ at \d+ ps: not deterministic on replay \(.*then.*\)$/);
  });

  it('access counters: a migration to another processor than the counting device', async () => {
    const base = 'placement: { policy: map-remote }, prefetch: { policy: prefetch-none }';
    expect(await failure(gpu(`${base}, accessCounters: { policy: ./access-counters-other.ts }`, 'type: streaming, buffer: a, passes: 2')))
      .toMatch(/access-counters-other\.ts: access-counter decision for vpn \d+ by processor 0 \(resident on -1\): invalid decision \{"kind":"migrate","target":-1,.*\}: expected migrate with target 0$/);
  });

  it('path: an index past the candidates, and a choice that changes on replay', async () => {
    expect(await failure(multipath('{ policy: ./path-beyond.ts }')))
      .toMatch(/path-beyond\.ts: path decision among 2 paths \(0,1\): invalid decision 2: expected an index into the candidates, 0 to 1$/);
    expect(await failure(multipath('{ policy: ./path-flaky.ts }')))
      .toMatch(/path-flaky\.ts: path decision among 2 paths \(0,1\): not deterministic on replay \(\d then \d\)$/);
  });
});
