// Multi-path devices (issue 12, the proposal): a socket-direct NIC with a PCIe function per
// socket. The pinning driver records a path in every MTT entry when it writes the entry, by the
// device's path policy, and the page's DMA goes over that function; an IOMMU-translated
// function pays IOTLB misses, an identity one does not.
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { mttEntry, mttPath, mttPfn, mttWritable } from '../../src/sim/drivers/pinning.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import type { TopologySpecInput } from '../../src/topology/spec.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import type { RunResults } from '../../src/sim/results.ts';
import { profile, streamLanes, sequence } from './helpers.ts';
import { socketDirectNicScenario } from '../fixtures/socket-direct-nic.ts';

const PAGES = 64;

function nic(mode: 'pin' | 'odp'): Profile {
  return { ...profile('rdma-nic'), registration: { mode } } as Profile;
}

/** Two sockets; nic0 on cpu0's root complex (IOMMU-translated) with its second function nic0-pf1 on cpu1's. */
function topology(): TopologySpecInput {
  return {
    sockets: [
      { id: 'cpu0', memoryBytes: 2 ** 34, memoryBandwidth: 300e9, memoryLatencyPs: 100_000 },
      { id: 'cpu1', memoryBytes: 2 ** 34, memoryBandwidth: 300e9, memoryLatencyPs: 100_000 },
    ],
    rootComplexes: [
      { id: 'rc0', socket: 'cpu0', vendorId: 0x8086, deviceId: 0x09a2, rootPorts: [{ id: 'rp0' }] },
      { id: 'rc1', socket: 'cpu1', vendorId: 0x8086, deviceId: 0x09a2, rootPorts: [{ id: 'rp1' }] },
    ],
    endpoints: [
      { id: 'nic0', gen: 4, width: 16, parent: 'rp0', iommu: true, paths: ['nic0-pf1'] },
      { id: 'nic0-pf1', gen: 4, width: 16, parent: 'rp1' },
    ],
    links: [{ id: 'upi0', kind: 'upi', a: 'cpu0', b: 'cpu1', bandwidth: 96e9, latencyPs: 60_000 }],
  };
}

/** nic0 writes a buffer of PAGES pages on cpu0's node, under path policy `policy`. */
function receive(mode: 'pin' | 'odp', policy: string): { r: RunResults; m: SimMachine } {
  const m = new SimMachine({ seed: 1, topology: topology(), devices: [{ name: 'nic0', profile: nic(mode), policies: { path: { policy } } }] });
  const p = m.spawn();
  const base = p.mmap(PAGES, 'anon', 'rw');
  sequence(m, [
    () => m.cpuPhase(p, { name: 'fill', threads: streamLanes(base, PAGES, 1, true), computePs: 0, accessBytes: 4096 }),
    () => m.launch('nic0', p, { name: 'rx', lanes: streamLanes(base, PAGES, 4, true, 2), computePs: 1_000_000, accessBytes: 4096, regions: [{ base, pages: PAGES }] }),
  ]);
  m.run();
  return { r: m.results('mp'), m };
}

const linkBytes = (r: RunResults, id: string) => r.links.find((l) => l.id === id)?.bytes ?? 0;

describe('multi-path pinning driver', () => {
  it('an MTT entry keeps pfn, write permission and path', () => {
    for (const [pfn, w, path] of [[0, false, 0], [123_456_789, true, 7], [2 ** 40 + 3, true, 1]] as const) {
      const e = mttEntry(pfn, w, path);
      expect([mttPfn(e), mttWritable(e), mttPath(e)]).toEqual([pfn, w, path]);
    }
  });

  for (const mode of ['pin', 'odp'] as const) {
    it(`${mode}: nearest maps every page through the local function, avoid-iommu through the other, and the traffic follows`, () => {
      const near = receive(mode, 'nearest').r.devices[0];
      const avoid = receive(mode, 'avoid-iommu').r;
      const a = avoid.devices[0];
      expect(near.paths.map((p) => [p.endpoint, p.mappings])).toEqual([['nic0', PAGES], ['nic0-pf1', 0]]);
      expect(a.paths.map((p) => [p.endpoint, p.mappings])).toEqual([['nic0', 0], ['nic0-pf1', PAGES]]);
      // Two passes of 4 KiB writes over every page.
      expect(near.paths[0].bytes).toBe(2 * PAGES * 4096);
      expect(a.paths[1].bytes).toBe(2 * PAGES * 4096);
      // The IOMMU path misses the IOTLB once per page (it holds them all); the identity path never translates.
      expect(near.paths[0].iotlbMisses).toBe(PAGES);
      expect(a.paths[0].iotlbMisses + a.paths[1].iotlbMisses).toBe(0);
      // avoid-iommu's writes land on cpu0's memory from cpu1's root complex: over UPI.
      const nr = receive(mode, 'nearest').r;
      expect(linkBytes(nr, 'nic0->rc0')).toBe(2 * PAGES * 4096);
      expect(linkBytes(nr, 'cpu1->cpu0')).toBe(0);
      expect(linkBytes(avoid, 'nic0->rc0')).toBe(0);
      expect(linkBytes(avoid, 'nic0-pf1->rc1')).toBe(2 * PAGES * 4096);
      expect(linkBytes(avoid, 'cpu1->cpu0')).toBe(2 * PAGES * 4096);
      // The IOTLB walks cost lane time that the identity path does not pay.
      expect(near.time.busy).toBeGreaterThan(a.time.busy);
    });
  }

  it('least-loaded decides with the bytes in flight at the time: none at a pin registration, its own writes at odp faults', () => {
    // Pin mode maps every entry at registration, before any byte moves: the nearest path.
    expect(receive('pin', 'least-loaded').r.devices[0].paths.map((p) => p.mappings)).toEqual([PAGES, 0]);
    // ODP maps at each fault batch, while the writes of the lanes it resumed are still queued
    // on the local function's link: later entries go to the other function.
    const { r } = receive('odp', 'least-loaded');
    const [own, other] = r.devices[0].paths.map((p) => p.mappings);
    expect(own + other).toBe(PAGES);
    expect(own).toBeGreaterThan(0);
    expect(other).toBeGreaterThan(0);
    expect(linkBytes(r, 'nic0-pf1->rc1')).toBe(r.devices[0].paths[1].bytes);
  });

  it('a device with memory copies its buffers in and back over the path each chunk picks', () => {
    const gpu = { ...profile('gpu-pcie4'), driver: 'pinning' } as Profile;
    const copy = (policy: string) => {
      const m = new SimMachine({ seed: 1, topology: topology(), devices: [{ name: 'nic0', profile: gpu, policies: { path: { policy } } }] });
      const p = m.spawn();
      const base = p.mmap(PAGES, 'anon', 'rw');
      sequence(m, [
        () => m.cpuPhase(p, { name: 'fill', threads: streamLanes(base, PAGES, 1, true), computePs: 0, accessBytes: 4096 }),
        () => m.launch('nic0', p, { name: 'k', lanes: streamLanes(base, PAGES, 4, true), computePs: 1_000, accessBytes: 4096, regions: [{ base, pages: PAGES }] }),
      ]);
      m.run();
      return m.results('copy');
    };
    const near = copy('nearest'), avoid = copy('avoid-iommu');
    // In and back out: every page twice, all over the chosen function.
    expect(near.devices[0].paths.map((x) => x.bytes)).toEqual([2 * PAGES * 4096, 0]);
    expect(avoid.devices[0].paths.map((x) => x.bytes)).toEqual([0, 2 * PAGES * 4096]);
    expect(linkBytes(near, 'rc0->nic0')).toBe(PAGES * 4096);
    expect(linkBytes(avoid, 'rc1->nic0-pf1')).toBe(PAGES * 4096);
    expect(linkBytes(avoid, 'nic0-pf1->rc1')).toBe(PAGES * 4096);
  });

  it('a single-path device reports its one path and the sva driver refuses several', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'nic0', profile: nic('pin') }] });
    expect(m.results('x').devices[0].paths).toEqual([{ endpoint: 'nic0', iommu: false, mappings: 0, bytes: 0, iotlbMisses: 0 }]);
    const t = topology();
    expect(() => new SimMachine({ seed: 1, topology: t, devices: [{ name: 'nic0', profile: profile('sva-accelerator') }] })).toThrow(/driver sva, which binds one PCI function/);
    expect(() => new SimMachine({ seed: 1, topology: t, devices: [{ name: 'nic0-pf1', profile: nic('pin') }] })).toThrow(/'nic0-pf1' is a path .* of 'nic0'/);
  });
});

/** A scenario: the socket-direct NIC beside a busy neighbour on cpu0's root complex. */
function scenario(policy: string, extra = ''): string {
  return socketDirectNicScenario(`{ policy: ${policy} }`, { extraDevices: extra });
}

describe('policies.path in a scenario', () => {
  const run = (policy: string) => runScenario(parseScenario(scenario(policy), 'mp.yaml'));
  it('devices[].policies.path.policy: nearest, least-loaded and avoid-iommu send the NIC\'s pages over different functions', () => {
    const [near, ll, avoid] = ['nearest', 'least-loaded', 'avoid-iommu'].map(run);
    const maps = (r: RunResults) => r.devices[0].paths.map((p) => p.mappings);
    expect(maps(near)).toEqual([512, 0]);
    expect(maps(avoid)).toEqual([0, 512]);
    // The neighbour keeps bytes queued on rc0's fabric (the bottleneck of nic0's own function):
    // least-loaded moves part of the pages to the other function, and across UPI.
    const [own, other] = maps(ll);
    expect(own + other).toBe(512);
    expect(other).toBeGreaterThan(0);
    expect(own).toBeGreaterThan(0);
    expect(linkBytes(ll, 'nic0-pf1->rc1')).toBe(ll.devices[0].paths[1].bytes);
    expect(linkBytes(ll, 'cpu1->cpu0')).toBeGreaterThanOrEqual(other * 4096);
    expect(linkBytes(near, 'cpu1->cpu0')).toBe(0);
    // Same seed, same choices.
    expect(maps(run('least-loaded'))).toEqual(maps(ll));
  });

  it('policies.path is refused for an sva device, with its location', () => {
    expect(() => parseScenario(scenario('nearest', `
  - { name: acc, profile: sva-accelerator, policies: { path: { policy: nearest } } }`), 'mp.yaml')).toThrow(/^mp\.yaml:5:\d+: .*policies\.path applies to pinning and hmm-mirror devices/);
  });
});

describe('multi-path HMM mirror (a GPU with a PCIe function per socket)', () => {
  /** gpu0 on cpu0's root complex (IOMMU-translated), its second function on cpu1's. */
  function gpuTopology(): TopologySpecInput {
    const t = topology();
    return { ...t, endpoints: [{ id: 'gpu0', gen: 4, width: 16, parent: 'rp0', iommu: true, paths: ['gpu0-pf1'] }, { id: 'gpu0-pf1', gen: 4, width: 16, parent: 'rp1' }] };
  }
  /** gpu0 reads, in place, a buffer the CPU wrote on NUMA node 1 (map-remote, populated in system memory). */
  function readRemote(policy: string, node = 1): RunResults {
    const m = new SimMachine({
      seed: 1, topology: gpuTopology(),
      devices: [{ name: 'gpu0', profile: profile('gpu-pcie4'), policies: { path: { policy }, placement: { policy: 'map-remote', populateOn: 'system' }, prefetch: { policy: 'prefetch-none' } } }],
    });
    const p = m.spawn();
    p.mm.node = node;
    const base = p.mmap(PAGES, 'anon', 'rw');
    sequence(m, [
      () => m.cpuPhase(p, { name: 'fill', threads: streamLanes(base, PAGES, 1, true), computePs: 0, accessBytes: 4096 }),
      () => m.launch('gpu0', p, { name: 'read', lanes: streamLanes(base, PAGES, 4, false), computePs: 1000, accessBytes: 256 }),
    ]);
    m.run();
    return m.results('mirror-mp');
  }

  it('the path policy picks the function each remote access goes over, and the link traffic follows', () => {
    const near = readRemote('nearest');
    const avoid = readRemote('avoid-iommu');
    // Node 1's memory is nearest to the second function (no UPI hop): both policies use it here...
    expect(near.devices[0].paths.map((p) => p.bytes)).toEqual([0, PAGES * 256]);
    expect(avoid.devices[0].paths.map((p) => p.bytes)).toEqual([0, PAGES * 256]);
    expect(linkBytes(near, 'cpu1->cpu0') + linkBytes(near, 'cpu0->cpu1')).toBe(0);
    // ...node 0's memory is nearest to the translated function: avoid-iommu crosses UPI instead.
    const near0 = readRemote('nearest', 0);
    const avoid0 = readRemote('avoid-iommu', 0);
    expect(near0.devices[0].paths.map((p) => p.bytes)).toEqual([PAGES * 256, 0]);
    expect(avoid0.devices[0].paths.map((p) => p.bytes)).toEqual([0, PAGES * 256]);
    expect(linkBytes(near0, 'cpu0->cpu1')).toBe(0);
    expect(linkBytes(avoid0, 'cpu0->cpu1')).toBe(PAGES * 256);
  });
});
