// Cross-device HMM (src/sim/cross-device.ts): each test runs a scenario twice, with and without
// the mechanism it checks, and asserts the difference the mechanism alone explains.
import { describe, it, expect } from 'vitest';
import { parseScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import type { DeviceMetrics, RunResults } from '../../src/sim/results.ts';

/** Runs scenario text (YAML) at full scale; fails the test on any run error. */
function run(text: string): RunResults {
  const r = runScenario(parseScenario(text, 'x.yaml'));
  return r;
}
const dev = (r: RunResults, id: string): DeviceMetrics => r.devices.find((d) => d.id === id)!;
const link = (r: RunResults, id: string) => r.links.find((l) => l.id === id);

/** Endpoints `ids` each under a downstream port of one PCIe gen4 switch below rc0 (YAML). */
function underSwitch(ids: readonly string[], acsRedirect = false): string {
  const ports = ids.map((id) => `{ id: dp-${id}${acsRedirect ? ', acsRedirect: true' : ''} }`).join(', ');
  const eps = ids.map((id) => `{ id: ${id}, parent: dp-${id} }`).join(', ');
  return `topology:
  rootComplexes: [{ id: rc0, socket: cpu0, rootPorts: [{ id: rp0 }] }]
  switches: [{ id: sw0, parent: rp0, gen: 4, width: 16, upstreamPort: { id: sw0-up }, downstreamPorts: [${ports}] }]
  endpoints: [${eps}]
`;
}

/** The issue's acceptance scenario: gpu1 maps gpu0's copy of an 8 MiB buffer remotely. */
function p2pUnderSwitch(extra = '', acsRedirect = false): string {
  return `name: p2p-under-switch
devices:
  - { name: gpu0, profile: gpu-pcie4 }
  - { name: gpu1, profile: gpu-pcie4, policies: { placement: { policy: map-remote, populateOn: requester }, prefetch: { policy: prefetch-none } } }
${underSwitch(['gpu0', 'gpu1'], acsRedirect)}${extra}
processes: [{ name: app, allocations: [{ name: buf, size: 8 MiB }] }]
steps:
  - cpu: { workload: { type: streaming, buffer: buf, write: true, lanes: 4 } }
  - kernel: { device: gpu0, workload: { type: streaming, buffer: buf, lanes: 32 } }
  - kernel: { device: gpu1, workload: { type: streaming, buffer: buf, lanes: 32, accessBytes: 256 } }
`;
}

describe('owner groups: PCIe P2P under a switch counts as an interconnect (drm_pagemap_acquire_owner)', () => {
  it('crossDevice.owners interconnect: gpu1 reads gpu0\'s pages in place through the switch; links migrates them through RAM', () => {
    const r = run(p2pUnderSwitch());
    expect(r.crossDevice?.groups).toEqual([['gpu0', 'gpu1']]);
    expect(r.cpu.migrateToRam).toBe(0);
    expect(r.cpu.deviceMigrateToRam).toBe(0);
    const g1 = dev(r, 'gpu1');
    expect(g1.peerPaths['p2p-bus-addr']).toEqual({ accesses: 2048, bytes: 2048 * 256 });
    expect(g1.pagesIn).toBe(0);
    // gpu0 -> switch -> gpu1, never up to the root complex.
    expect(link(r, 'gpu0->sw0')!.remoteBytes).toBe(2048 * 256);
    expect(link(r, 'sw0->gpu1')!.remoteBytes).toBe(2048 * 256);
    for (const l of r.links.filter((x) => x.from === 'rc0' || x.to === 'rc0')) expect(l.remoteBytes, l.id).toBe(0);

    // Without PCIe P2P as an interconnect the two GPUs have separate owners: gpu1's faults pull
    // gpu0's pages back through migrate_to_ram.
    const links = run(p2pUnderSwitch('crossDevice: { owners: links }\n'));
    expect(links.crossDevice?.groups).toEqual([]);
    expect(links.cpu.deviceMigrateToRam + dev(links, 'gpu0').pagesOut).toBeGreaterThan(0);
    expect(dev(links, 'gpu1').peerPaths['p2p-bus-addr']).toBeUndefined();
  });

  it('acsRedirect on the switch ports sends peer accesses up through the root complex (p2p-host-bridge)', () => {
    const r = run(p2pUnderSwitch('', true));
    const g1 = dev(r, 'gpu1');
    expect(g1.peerPaths['p2p-bus-addr']).toBeUndefined();
    expect(g1.peerPaths['p2p-host-bridge']?.accesses).toBe(2048);
    expect(link(r, 'rc0->sw0')!.remoteBytes).toBe(2048 * 256);
    expect(r.cpu.deviceMigrateToRam).toBe(0);
  });
});
