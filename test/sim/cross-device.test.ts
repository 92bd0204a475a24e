// Cross-device HMM (src/sim/cross-device.ts): each test runs a scenario twice, with and without
// the mechanism it checks, and asserts the difference the mechanism alone explains.
import { describe, it, expect } from 'vitest';
import { parseScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import type { DeviceMetrics, RunResults } from '../../src/sim/results.ts';

/** Runs scenario text (YAML) at full scale (runScenario throws on a load or run error). */
function run(text: string): RunResults {
  return runScenario(parseScenario(text, 'x.yaml'));
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
    expect(links.cpu.deviceMigrateToRam).toBeGreaterThan(0);
    expect(dev(links, 'gpu0').pagesOut).toBeGreaterThan(0);
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

/** Two gpu-pcie4 under one switch (one owner under the landed design); `extra` adds top-level keys. */
function twoGpus(steps: string, extra = '', size = '4 MiB'): string {
  return `name: two
devices:
  - { name: gpu0, profile: gpu-pcie4 }
  - { name: gpu1, profile: gpu-pcie4 }
${underSwitch(['gpu0', 'gpu1'])}${extra}
processes: [{ name: app, allocations: [{ name: buf, size: ${size} }] }]
steps:
  - cpu: { workload: { type: streaming, buffer: buf, write: true, lanes: 4 } }
${steps}`;
}

describe('steps[].migrate (drm_pagemap_populate_mm)', () => {
  const toGpu0ThenGpu1 = '  - migrate: { buffer: buf, to: gpu0 }\n  - migrate: { buffer: buf, to: gpu1 }\n';

  it('steps[].migrate buffer and to: RAM to gpu0, then gpu0 to gpu1 device to device, on the copy engines crossDevice.sourcePeerMigrates picks', () => {
    const r = run(twoGpus(toGpu0ThenGpu1));
    const [g0, g1] = [dev(r, 'gpu0'), dev(r, 'gpu1')];
    expect(g0.populated).toBe(1024);
    expect(g1.populated).toBe(1024);
    // The second migration takes the pages straight out of gpu0: nothing goes through RAM.
    expect(g0.pagesOut).toBe(1024);
    expect(g1.pagesIn).toBe(g0.pagesOut);
    expect(r.cpu.migrateToRam).toBe(0);
    expect(link(r, 'gpu0->sw0')!.copyBytes).toBe(1024 * 4096);
    expect(link(r, 'rc0->sw0')!.copyBytes).toBe(1024 * 4096); // the first migration only
    const peerCopies = (x: RunResults, who: string) => x.spans.filter((s) => s.track.startsWith(`${who}/ce`) && s.name === 'p2p-pcie').length;
    // source_peer_migrates (default): gpu0 pushes; off: gpu1 pulls.
    expect(peerCopies(r, 'gpu0')).toBeGreaterThan(0);
    expect(peerCopies(r, 'gpu1')).toBe(0);
    const pull = run(twoGpus(toGpu0ThenGpu1, 'crossDevice: { sourcePeerMigrates: false }\n'));
    expect(peerCopies(pull, 'gpu0')).toBe(0);
    expect(peerCopies(pull, 'gpu1')).toBeGreaterThan(0);
    expect(dev(pull, 'gpu1').pagesIn).toBe(1024);
  });

  it('steps[].migrate offset and pages: a range already resident on the device is skipped', () => {
    const r = run(twoGpus('  - migrate: { buffer: buf, to: gpu0, offset: 256, pages: 512 }\n  - migrate: { buffer: buf, to: gpu0, offset: 0, pages: 512 }\n'));
    const g0 = dev(r, 'gpu0');
    // [256, 768) then [0, 512): only [0, 256) is new the second time.
    expect(g0.populated).toBe(512 + 256);
    expect(g0.pagesIn).toBe(768);
    const again = run(twoGpus('  - migrate: { buffer: buf, to: gpu0, offset: 256, pages: 512 }\n  - migrate: { buffer: buf, to: gpu0, offset: 256, pages: 512 }\n'));
    expect(dev(again, 'gpu0').populated).toBe(512);
  });
});

describe('steps[].advise (Xe PREFERRED_LOC)', () => {
  const advise = (loc: string) => `  - advise: { device: gpu0, buffer: buf, preferredLocation: ${loc} }\n  - kernel: { device: gpu0, workload: { type: streaming, buffer: buf, lanes: 32 } }\n`;

  it('steps[].advise device, buffer and preferredLocation: a peer of the owner group gets the pages gpu0 faults on; gpu0 reaches them in place', () => {
    const r = run(twoGpus(advise('gpu1')));
    const [g0, g1] = [dev(r, 'gpu0'), dev(r, 'gpu1')];
    expect(r.crossDevice?.advice).toMatchObject([{ device: 'gpu0', requested: 'gpu1', applied: 'gpu1', errno: 0, pages: 1024 }]);
    expect(g1.pagesIn).toBe(1024);
    expect(g0.pagesIn).toBe(0);
    expect(g0.accesses.peer).toBe(1024);
    expect(g0.peerPaths['p2p-bus-addr']?.accesses).toBe(1024);
    // Without advice gpu0 migrates the pages into its own memory.
    const local = run(twoGpus(advise('gpu0')));
    expect(dev(local, 'gpu0').pagesIn).toBe(1024);
    expect(dev(local, 'gpu1').pagesIn).toBe(0);
  });

  it('steps[].advise preferredLocation: a peer without an interconnect is refused with -ENOLINK and gpu0 keeps the pages; system maps them in RAM', () => {
    const r = run(twoGpus(advise('gpu1'), 'crossDevice: { owners: device }\n'));
    expect(r.crossDevice?.advice).toMatchObject([{ device: 'gpu0', requested: 'gpu1', applied: 'gpu0', errno: 67 }]);
    expect(dev(r, 'gpu0').pagesIn).toBe(1024);
    expect(dev(r, 'gpu1').pagesIn).toBe(0);
    const sys = run(twoGpus(advise('system')));
    expect(sys.crossDevice?.advice).toMatchObject([{ applied: 'system', errno: 0 }]);
    expect(dev(sys, 'gpu0').pagesIn).toBe(0);
    expect(dev(sys, 'gpu0').accesses.remote).toBe(1024);
  });
  it('steps[].advise offset and pages: only the advised range goes to the peer', () => {
    const r = run(twoGpus('  - advise: { device: gpu0, buffer: buf, preferredLocation: gpu1, offset: 256, pages: 256 }\n  - kernel: { device: gpu0, workload: { type: streaming, buffer: buf, lanes: 32 } }\n'));
    expect(r.crossDevice?.advice).toMatchObject([{ pages: 256, applied: 'gpu1' }]);
    expect(dev(r, 'gpu1').pagesIn).toBe(256);
    expect(dev(r, 'gpu0').pagesIn).toBe(768);
    expect(dev(r, 'gpu0').accesses.peer).toBe(256);
  });
});

describe('crossDevice.migrateLock: two Xe devices migrating one range', () => {
  const contend = (lock: string) => run(`name: contend
duration: 20 ms
devices:
  - { name: g0, profile: xe2-bmg }
  - { name: g1, profile: xe2-bmg }
crossDevice: { migrateLock: ${lock} }
${underSwitch(['g0', 'g1'])}processes: [{ name: app, allocations: [{ name: buf, size: 4 MiB }] }]
steps:
  - - kernel: { device: g0, workload: { type: streaming, buffer: buf, write: true, lanes: 16 } }
    - kernel: { device: g1, workload: { type: streaming, buffer: buf, write: true, lanes: 16 } }
`);
  const sum = (r: RunResults, f: (d: DeviceMetrics) => number) => r.devices.reduce((s, d) => s + f(d), 0);

  it('crossDevice.migrateLock none evicts and retries on -EBUSY; rwsem serializes the retry; serial never sees -EBUSY', () => {
    const none = contend('none');
    expect(sum(none, (d) => d.contention.ebusy)).toBeGreaterThan(0);
    expect(sum(none, (d) => d.contention.evictedPages)).toBeGreaterThan(0);
    expect(sum(none, (d) => d.contention.rwsemWaits)).toBe(0);
    const rwsem = contend('rwsem');
    expect(sum(rwsem, (d) => d.contention.ebusy)).toBeGreaterThan(0);
    expect(sum(rwsem, (d) => d.contention.rwsemWaits)).toBeGreaterThan(0);
    expect(sum(rwsem, (d) => d.contention.rwsemWaitPs)).toBeGreaterThan(0);
    expect(sum(rwsem, (d) => d.contention.evictedPages)).toBe(0);
    const serial = contend('serial');
    expect(sum(serial, (d) => d.contention.ebusy + d.faults.busy + d.contention.rwsemWaits + d.contention.evictedPages)).toBe(0);
  });
});

describe('crossDevice.timeslice', () => {
  const touch = (timeslice: string) => run(`name: ts
devices: [{ name: gpu0, profile: gpu-pcie4 }]
crossDevice: { timeslice: ${timeslice} }
processes: [{ name: app, allocations: [{ name: buf, size: 2 MiB }] }]
steps:
  - migrate: { buffer: buf, to: gpu0 }
  - cpu: { workload: { type: streaming, buffer: buf, lanes: 1 } }
  - kernel: { device: gpu0, workload: { type: streaming, buffer: buf, lanes: 32 } }
`);
  // The CPU phase ends when the kernel of the next step starts.
  const cpuEnd = (r: RunResults) => dev(r, 'gpu0').kernels[0].startPs;

  it('crossDevice.timeslice: a CPU touching pages just migrated into device memory waits until the timeslice expires', () => {
    const off = touch('0');
    expect(cpuEnd(off)).toBeLessThan(5e9);
    expect(dev(off, 'gpu0').contention.timesliceWaits).toBe(0);
    const on = touch('5 ms');
    expect(dev(on, 'gpu0').contention.timesliceWaits).toBeGreaterThan(0);
    // The expiry is 5 ms after the migration, which starts at 0.
    expect(cpuEnd(on)).toBeGreaterThanOrEqual(5e9);
    // The pages still go back to RAM after the wait.
    expect(on.cpu.migrateToRam).toBe(off.cpu.migrateToRam);
  });
});

describe('crossDevice.invalidation', () => {
  const moveMirrored = (invalidation: string, devices: number) => run(`name: inv
devices:
${Array.from({ length: devices }, (_, i) => `  - { name: gpu${i}, profile: gpu-pcie4, policies: { placement: { policy: map-remote, populateOn: system }, prefetch: { policy: prefetch-none } } }`).join('\n')}
crossDevice: { invalidation: ${invalidation} }
topology:
  sockets:
    - { id: cpu0, memoryBytes: 512 GiB, memoryBandwidth: 300 GB/s, memoryLatencyPs: 100 ns }
    - { id: cpu1, memoryBytes: 512 GiB, memoryBandwidth: 300 GB/s, memoryLatencyPs: 100 ns }
  links: [{ id: upi0, kind: upi, a: cpu0, b: cpu1, bandwidth: 96 GB/s, latencyPs: 60 ns }]
processes: [{ name: app, allocations: [{ name: buf, size: 64 KiB }] }]
steps:
  - cpu: { workload: { type: streaming, buffer: buf, write: true, lanes: 1 } }
  - ${'[' + Array.from({ length: devices }, (_, i) => `{ kernel: { device: gpu${i}, workload: { type: streaming, buffer: buf, lanes: 4 } } }`).join(', ') + ']'}
  - move: { buffer: buf, to: cpu1 }
`);
  /** gpu-pcie4's tlb.invalidationCost, ps. */
  const SHOOTDOWN = 2_000_000;

  it('crossDevice.invalidation two-pass: move_pages of a range three devices map waits for the slowest shootdown, one-pass for the sum', () => {
    const one = moveMirrored('one-pass', 3), two = moveMirrored('two-pass', 3);
    expect(one.cpu.numaMigrated).toBe(16);
    expect(two.cpu.numaMigrated).toBe(16);
    // Each of the 16 pages is unmapped on its own: one pass waits 3 shootdowns, two-pass one.
    expect(one.cpu.busyPs - two.cpu.busyPs).toBe(16 * 2 * SHOOTDOWN);
    // With one device the designs agree.
    expect(moveMirrored('one-pass', 1).cpu.busyPs).toBe(moveMirrored('two-pass', 1).cpu.busyPs);
  });
});

describe('crossDevice.peerPages: an ODP NIC writing a buffer a GPU migrated into its memory', () => {
  const nic = (peerPages: string) => run(`name: nic
devices:
  - { name: gpu0, profile: gpu-pcie4 }
  - { name: nic0, profile: rdma-nic }
crossDevice: { peerPages: ${peerPages} }
${underSwitch(['gpu0', 'nic0'])}processes: [{ name: app, allocations: [{ name: buf, size: 4 MiB }] }]
steps:
  - migrate: { buffer: buf, to: gpu0 }
  - kernel: { device: nic0, workload: { type: streaming, buffer: buf, write: true, lanes: 8 } }
`);

  it('crossDevice.peerPages owner migrates the pages back to RAM for the NIC; p2p-page lets it write them in place under the switch', () => {
    const owner = nic('owner');
    expect(owner.cpu.deviceMigrateToRam).toBeGreaterThan(0);
    expect(dev(owner, 'gpu0').pagesOut).toBe(1024);
    expect(dev(owner, 'nic0').peerPaths).toEqual({});
    const p2p = nic('p2p-page');
    expect(p2p.cpu.deviceMigrateToRam).toBe(0);
    expect(dev(p2p, 'gpu0').pagesOut).toBe(0);
    expect(dev(p2p, 'nic0').peerPaths['p2p-bus-addr']).toEqual({ accesses: 1024, bytes: 1024 * 4096 });
    expect(link(p2p, 'nic0->sw0')!.remoteBytes).toBe(1024 * 4096);
  });
});

describe('steps[].migrate and steps[].advise in one of several processes', () => {
  it('steps[].migrate process and steps[].advise process pick the address space whose buffer the step names', () => {
    const r = run(`name: procs
devices:
  - { name: gpu0, profile: gpu-pcie4 }
  - { name: gpu1, profile: gpu-pcie4 }
${underSwitch(['gpu0', 'gpu1'])}processes:
  - { name: a, allocations: [{ name: buf, size: 1 MiB }] }
  - { name: b, allocations: [{ name: buf, size: 2 MiB }] }
steps:
  - migrate: { process: b, buffer: buf, to: gpu0 }
  - migrate: { process: a, buffer: buf, to: gpu1 }
  - advise: { process: b, device: gpu1, buffer: buf, preferredLocation: system }
`);
    // b's buffer (512 pages) went to gpu0, a's (256) to gpu1.
    expect(dev(r, 'gpu0').populated).toBe(512);
    expect(dev(r, 'gpu1').populated).toBe(256);
    expect(r.crossDevice?.advice).toHaveLength(1);
    // The advice covers b's buffer: 512 pages, not a's 256.
    expect(r.crossDevice?.advice[0].pages).toBe(512);
  });
});
