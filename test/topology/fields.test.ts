// One test per topology field (or a few of one section): each changes the field, in the
// TypeScript spec and in a scenario's `topology` (with units), and checks what the routes, the
// p2pdma verdicts or the address-space groups make of it (test/schema/fields.ts maps every
// topology field to the test that exercises it).
import { describe, it, expect } from 'vitest';
import { Topology, DEFAULT_PCIE_LINK_LATENCY_PS } from '../../src/topology/routing.ts';
import { AddressSpaceGroups } from '../../src/topology/groups.ts';
import { parseTopologySpec, type TopologySpecInput } from '../../src/topology/spec.ts';
import { pcieBandwidth } from '../../src/topology/pcie.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { INTEL, machine } from './fixtures.ts';

type Spec = ReturnType<typeof machine>;
/** The fixture machine with `f` applied. */
function topo(f: (s: Spec) => void = () => {}): Topology {
  const s = structuredClone(machine());
  f(s);
  return Topology.fromSpec(s);
}

/** The topology a scenario with two GPUs and `topology` (YAML, indented 2) resolves to. */
function scenarioTopology(topology: string): Topology {
  const s = parseScenario(`name: t
devices: [{ name: g0, profile: gpu-pcie4 }, { name: g1, profile: gpu-pcie4 }]
topology:
${topology}
processes: [{ name: p, allocations: [{ name: a, pages: 1 }] }]
steps: [{ cpu: { workload: { type: streaming, buffer: a } } }]
`, 't.yaml');
  return Topology.fromSpec(parseTopologySpec(s.topology as TopologySpecInput));
}
const SOCKETS = `  sockets:
    - { id: cpu0, memoryBytes: 1 GiB, memoryBandwidth: 100 GB/s, memoryLatencyPs: 90 ns }
    - { id: cpu1, memoryBytes: 1 GiB, memoryBandwidth: 20 GB/s, memoryLatencyPs: 150 ns }
  links: [{ id: upi0, kind: upi, a: cpu0, b: cpu1, bandwidth: 40 GB/s, latencyPs: 100 ns }]`;

describe('topology fields (TypeScript spec)', () => {
  it('sockets[].id, memoryBandwidth and memoryLatencyPs: the DRAM segment of routes to that socket', () => {
    const t = topo((s) => Object.assign(s.sockets[1], { memoryBandwidth: 10e9, memoryLatencyPs: 500_000 }));
    expect(t.route('gpu4', 's1')!.bandwidth).toBe(10e9);
    expect(t.route('gpu4', 's1')!.latencyPs - topo().route('gpu4', 's1')!.latencyPs).toBe(500_000 - 90_000);
    expect(() => topo((s) => { s.sockets[1].id = 's9'; })).toThrow(/unknown socket 's1'/);
  });

  it('rootComplexes[]: id, socket, bandwidth and latencyPs place the host bridge and price its fabric', () => {
    const base = topo().route('gpu4', 's1')!;
    const t = topo((s) => Object.assign(s.rootComplexes![1], { bandwidth: 5e9, latencyPs: 400_000 }));
    expect(t.route('gpu4', 's1')!.bandwidth).toBe(5e9);
    expect(t.route('gpu4', 's1')!.latencyPs).toBeGreaterThan(base.latencyPs);
    // Moving rc1 to socket s0 makes s0 the local socket of gpu4.
    expect(topo((s) => { s.rootComplexes![1].socket = 's0'; }).route('gpu4', 's0')!.nodes).toEqual(['gpu4', 'rc1', 's0', 'mem:s0']);
    expect(topo().route('gpu4', 's0')!.nodes).toContain('s1');
    expect(() => topo((s) => { s.rootComplexes![1].id = 'rp3'; })).toThrow(/duplicate id 'rp3'/);
  });

  it('rootComplexes[].vendorId, deviceId and amdZen decide whether P2P may cross host bridges (pci_p2pdma whitelist)', () => {
    const cross = (rc: { vendorId: number; deviceId: number; amdZen?: boolean }) => topo((s) => {
      Object.assign(s.rootComplexes![0], rc);
      Object.assign(s.rootComplexes![1], rc);
    }).p2pdma('gpu3', 'gpu4').mapType;
    expect(cross({ vendorId: INTEL, deviceId: 0x2030 })).toBe('THRU_HOST_BRIDGE');
    expect(cross({ vendorId: INTEL, deviceId: 0x1234 })).toBe('NOT_SUPPORTED');
    expect(cross({ vendorId: 0x1234, deviceId: 0x2030 })).toBe('NOT_SUPPORTED');
    expect(cross({ vendorId: INTEL, deviceId: 0x1234, amdZen: true })).toBe('THRU_HOST_BRIDGE');
  });

  it('rootPorts[] and downstreamPorts[]: id, acsRedirect, gen and width (the link trains to the slower end)', () => {
    expect(topo((s) => Object.assign(s.rootComplexes![0].rootPorts[1], { gen: 3, width: 8 })).route('gpu3', 's0')!.bandwidth).toBe(pcieBandwidth(3, 8));
    expect(topo((s) => Object.assign(s.switches![0].downstreamPorts[1], { gen: 3, width: 4 })).route('gpu1', 's0')!.bandwidth).toBe(pcieBandwidth(3, 4));
    expect(topo().route('gpu0', 'gpu1')!.kind).toBe('p2p-bus-addr');
    expect(topo((s) => { s.switches![0].downstreamPorts[1].acsRedirect = true; }).route('gpu0', 'gpu1')!.kind).toBe('p2p-host-bridge');
    expect(topo((s) => { s.rootComplexes![0].rootPorts[1].acsRedirect = true; }).p2pdma('gpu3', 'gpu5').mapType).toBe('THRU_HOST_BRIDGE');
    expect(() => topo((s) => { s.rootComplexes![0].rootPorts[1].id = 'rp9'; })).toThrow(/unknown parent port 'rp1'/);
    expect(() => topo((s) => { s.switches![0].downstreamPorts[1].id = 'x'; })).toThrow(/unknown parent port 'dsp1'/);
  });

  it('switches[]: id, parent, gen, width, latencyPs and the upstream port (id, acsRedirect)', () => {
    expect(topo((s) => Object.assign(s.switches![0], { gen: 3, width: 4 })).route('gpu0', 's0')!.bandwidth).toBe(pcieBandwidth(3, 4));
    expect(topo((s) => { s.switches![0].latencyPs = 900_000; }).route('gpu0', 'gpu1')!.latencyPs).toBe(2 * DEFAULT_PCIE_LINK_LATENCY_PS + 900_000);
    expect(topo((s) => { s.switches![0].parent = 'rp2'; s.endpoints!.find((e) => e.id === 'gpu5')!.parent = 'rp0'; }).route('gpu0', 's0')!.nodes).toEqual(['gpu0', 'sw0', 'rc0', 's0', 'mem:s0']);
    expect(topo().p2pdma('gpu0', 'gpu1').mapType).toBe('BUS_ADDR');
    expect(topo((s) => { s.switches![0].upstreamPort.acsRedirect = true; }).p2pdma('gpu0', 'gpu3').distance).toBeGreaterThan(0);
    expect(() => topo((s) => { s.switches![0].upstreamPort.id = 'dsp0'; })).toThrow(/duplicate id 'dsp0'/);
    expect(() => topo((s) => { s.switches![0].id = 'rc0'; })).toThrow(/duplicate id 'rc0'/);
  });

  it('endpoints[]: id, parent, gen, width and linkLatencyPs', () => {
    expect(topo((s) => Object.assign(s.endpoints![4], { gen: 3, width: 4 })).route('gpu3', 's0')!.bandwidth).toBe(pcieBandwidth(3, 4));
    const lat = (t: Topology) => t.route('gpu3', 's0')!.latencyPs;
    expect(lat(topo((s) => { s.endpoints![4].linkLatencyPs = 5_000_000; })) - lat(topo())).toBe(5_000_000 - DEFAULT_PCIE_LINK_LATENCY_PS);
    expect(topo((s) => { s.endpoints![4].parent = 'dsp1'; }).route('gpu3', 'gpu1')!.kind).toBe('p2p-bus-addr');
    expect(topo((s) => { s.endpoints![1].id = 'nic9'; }).isEndpoint('nic9')).toBe(true);
    expect(() => topo((s) => { s.endpoints![4].id = 'gpu9'; })).toThrow(/unknown link end 'gpu3'/);
  });

  it('endpoints[]: paths and iommu make one device several DMA initiators, one candidate route each', () => {
    // gpu4 (under rc1, socket s1) becomes gpu3's second path; gpu3 itself sits under rc0 (s0).
    const t = topo((s) => { s.endpoints![4].paths = ['gpu4']; s.endpoints![5].iommu = true; });
    expect(t.pathsOf('gpu3')).toEqual([{ index: 0, endpoint: 'gpu3', iommu: false }, { index: 1, endpoint: 'gpu4', iommu: true }]);
    expect(topo().pathsOf('gpu3')).toHaveLength(1);
    expect(t.pathOwnerOf('gpu4')).toBe('gpu3');
    const toS1 = t.pathRoutes('gpu3', 's1', false);
    expect(toS1.map((c) => c.route!.nodes[0])).toEqual(['gpu3', 'gpu4']);
    // The second path reaches s1's memory without crossing UPI; the first crosses it.
    expect(toS1[0].route!.segments.some((g) => g.kind === 'upi')).toBe(true);
    expect(toS1[1].route!.segments.some((g) => g.kind === 'upi')).toBe(false);
    expect(t.pathRoutes('gpu3', 's0', true).map((c) => c.route!.nodes[c.route!.nodes.length - 1])).toEqual(['gpu3', 'gpu4']);
    expect(() => topo((s) => { s.endpoints![4].paths = ['nope']; })).toThrow(/endpoints\[4\]\.paths\[0\]: unknown path endpoint 'nope' for endpoint 'gpu3'/);
    expect(() => topo((s) => { s.endpoints![4].paths = ['gpu3']; })).toThrow(/names itself as a path/);
    expect(() => topo((s) => { s.endpoints![4].paths = ['rp0']; })).toThrow(/path 'rp0' of endpoint 'gpu3' is a root port/);
    expect(() => topo((s) => { s.endpoints![4].paths = ['gpu4']; s.endpoints![6].paths = ['gpu4']; })).toThrow(/path endpoint 'gpu4' is claimed by 'gpu3' and '\w+'/);
    expect(() => topo((s) => { s.endpoints![4].paths = ['gpu4']; s.endpoints![5].paths = ['gpu5']; })).toThrow(/endpoint 'gpu4' is a path of 'gpu3' and cannot have paths of its own/);
    expect(() => topo((s) => { s.endpoints![4].paths = Array.from({ length: 8 }, () => 'gpu4'); })).toThrow(/paths/);
  });

  it('links[]: id, kind, a, b, bandwidth, reverseBandwidth and latencyPs; nvlink and xgmi join address-space groups', () => {
    const nv = (f: (l: NonNullable<Spec['links']>[number]) => void) => topo((s) => f(s.links!.find((l) => l.id === 'nv0')!));
    expect(nv((l) => { l.bandwidth = 100e9; }).route('gpu3', 'gpu5')!.bandwidth).toBe(100e9);
    expect(nv((l) => { l.reverseBandwidth = 50e9; }).route('gpu5', 'gpu3')!.bandwidth).toBe(50e9);
    expect(nv((l) => { l.latencyPs = 70_000; }).route('gpu3', 'gpu5')!.latencyPs).toBe(70_000);
    expect(nv((l) => { l.b = 'gpu4'; }).route('gpu3', 'gpu4')!.kind).toBe('private');
    expect(nv((l) => { l.a = 'gpu0'; }).route('gpu0', 'gpu5')!.kind).toBe('private');
    const group = (kind: 'nvlink' | 'xgmi' | 'cxl') => {
      const s = structuredClone(machine());
      s.links!.find((l) => l.id === 'nv0')!.kind = kind;
      const g = new AddressSpaceGroups(parseTopologySpec(s));
      return g.groupOf('gpu3') === g.groupOf('gpu5');
    };
    expect([group('nvlink'), group('xgmi'), group('cxl')]).toEqual([true, true, false]);
    expect(() => topo((s) => { s.links![1].id = 'upi0'; })).toThrow(/duplicate id 'upi0'/);
  });
});

describe('topology fields in a scenario (with units)', () => {
  it('topology.sockets[]: id, memoryBandwidth and memoryLatencyPs reach the DRAM segments (memoryBytes: see test/sim/node-memory.test.ts)', () => {
    const t = scenarioTopology(SOCKETS);
    // DRAM of cpu0 (90 ns, 100 GB/s), the UPI link (100 ns, 40 GB/s), DRAM of cpu1 (150 ns, 20 GB/s).
    expect(t.route('cpu0', 'cpu1')!.latencyPs).toBe(90_000 + 100_000 + 150_000);
    expect(t.route('cpu0', 'cpu1')!.bandwidth).toBe(20e9);
    expect(t.route('cpu0', 'cpu1')!.nodes).toEqual(['mem:cpu0', 'cpu0', 'cpu1', 'mem:cpu1']);
  });

  it('topology.rootComplexes[]: id, socket, vendorId, deviceId, amdZen, bandwidth, latencyPs and rootPorts[] (id, acsRedirect, gen, width)', () => {
    const rc = (o: string, port = '', a = '') => scenarioTopology(`${SOCKETS}
  rootComplexes:
    - { id: rcA, socket: cpu0${a}, rootPorts: [{ id: pA${port} }] }
    - { id: rcB, socket: cpu1${o}, rootPorts: [{ id: pB }] }
  endpoints: [{ id: g0, parent: pA }, { id: g1, parent: pB }]`);
    expect(rc('').route('g1', 'cpu1')!.nodes).toEqual(['g1', 'rcB', 'cpu1', 'mem:cpu1']);
    expect(rc('', '', ', bandwidth: 5 GB/s').route('g0', 'cpu0')!.bandwidth).toBe(5e9);
    expect(rc(', latencyPs: 2 us').route('g1', 'cpu1')!.latencyPs).toBeGreaterThan(rc('').route('g1', 'cpu1')!.latencyPs + 1_000_000);
    // The default host bridge id 0x8086:0x09a2 is whitelisted: P2P may cross host bridges.
    expect(rc('').p2pdma('g0', 'g1').mapType).toBe('THRU_HOST_BRIDGE');
    expect(rc(', vendorId: 0x8086, deviceId: 0x1234').p2pdma('g0', 'g1').mapType).toBe('NOT_SUPPORTED');
    expect(rc(', vendorId: 0x1022, deviceId: 0x09a2').p2pdma('g0', 'g1').mapType).toBe('NOT_SUPPORTED');
    expect(rc(', deviceId: 0x1234, amdZen: true', '', ', amdZen: true').p2pdma('g0', 'g1').mapType).toBe('THRU_HOST_BRIDGE');
    expect(rc('', ', gen: 3, width: 4').route('g0', 'cpu0')!.bandwidth).toBe(pcieBandwidth(3, 4));
    expect(rc('', ', acsRedirect: true').p2pdma('g0', 'g1').mapType).toBe('THRU_HOST_BRIDGE');
    expect(rc('').route('g0', 'cpu0')!.nodes).toEqual(['g0', 'rcA', 'cpu0', 'mem:cpu0']);
  });

  it('topology.switches[]: id, parent, gen, width, latencyPs, upstreamPort (id, acsRedirect), downstreamPorts[] (id, acsRedirect, gen, width)', () => {
    const sw = (o: string, dsp = '', usp = '', gen = 'gen: 4, width: 16') => scenarioTopology(`  rootComplexes: [{ id: rc0, socket: cpu0, rootPorts: [{ id: rp0 }] }]
  switches:
    - { id: sw0, parent: rp0, ${gen}${o}, upstreamPort: { id: up0${usp} }, downstreamPorts: [{ id: d0${dsp} }, { id: d1 }] }
  endpoints: [{ id: g0, parent: d0 }, { id: g1, parent: d1 }]`);
    expect(sw('').route('g0', 'g1')!.kind).toBe('p2p-bus-addr');
    expect(sw('', ', acsRedirect: true').route('g0', 'g1')!.kind).toBe('p2p-host-bridge');
    expect(sw('', ', gen: 3, width: 4').route('g0', 'g1')!.bandwidth).toBe(pcieBandwidth(3, 4));
    expect(sw('', '', '', 'gen: 3, width: 8').route('g0', 'cpu0')!.bandwidth).toBe(pcieBandwidth(3, 8));
    expect(sw(', latencyPs: 1 us').route('g0', 'g1')!.latencyPs).toBe(2 * DEFAULT_PCIE_LINK_LATENCY_PS + 1_000_000);
    expect(sw('', '', ', acsRedirect: true').route('g0', 'g1')!.kind).toBe('p2p-host-bridge'); // the common upstream bridge counts
    expect(sw('').route('g0', 'cpu0')!.nodes).toEqual(['g0', 'sw0', 'rc0', 'cpu0', 'mem:cpu0']);
  });

  it('topology.endpoints[]: id, parent, gen, width and linkLatencyPs', () => {
    const ep = (g0: string) => scenarioTopology(`  rootComplexes: [{ id: rc0, socket: cpu0, rootPorts: [{ id: rp0 }, { id: rp1 }] }]
  endpoints: [{ id: g0, parent: rp0${g0} }, { id: g1, parent: rp1 }]`);
    expect(ep('').route('g0', 'cpu0')!.bandwidth).toBe(pcieBandwidth(4, 16)); // from the profile
    expect(ep(', gen: 3, width: 8').route('g0', 'cpu0')!.bandwidth).toBe(pcieBandwidth(3, 8));
    expect(ep(', linkLatencyPs: 3 us').route('g0', 'cpu0')!.latencyPs - ep('').route('g0', 'cpu0')!.latencyPs).toBe(3_000_000 - DEFAULT_PCIE_LINK_LATENCY_PS);
    expect(() => ep('').route('g0', 'nvme0')).toThrow(/'nvme0' is not an endpoint/);
  });

  it('topology.endpoints[]: paths and iommu declare a device\'s further DMA initiators (gen and width from the device)', () => {
    const ep = (o: string) => scenarioTopology(`  sockets:
    - { id: cpu0, memoryBytes: 1 GiB, memoryBandwidth: 100 GB/s, memoryLatencyPs: 90 ns }
    - { id: cpu1, memoryBytes: 1 GiB, memoryBandwidth: 100 GB/s, memoryLatencyPs: 90 ns }
  links: [{ id: upi0, kind: upi, a: cpu0, b: cpu1, bandwidth: 40 GB/s, latencyPs: 100 ns }]
  rootComplexes: [{ id: rc0, socket: cpu0, rootPorts: [{ id: rp0 }, { id: rp1 }] }, { id: rc1, socket: cpu1, rootPorts: [{ id: rp2 }] }]
  endpoints: [{ id: g0, parent: rp0${o} }, { id: g1, parent: rp1 }, { id: g0-f1, parent: rp2, iommu: true }]`);
    const t = ep(', paths: [g0-f1]');
    expect(t.pathsOf('g0').map((p) => [p.endpoint, p.iommu])).toEqual([['g0', false], ['g0-f1', true]]);
    // The function has no gen or width of its own: it takes g0's profile link.
    expect(t.route('g0-f1', 'cpu1')!.bandwidth).toBe(pcieBandwidth(4, 16));
    expect(ep(', iommu: true, paths: [g0-f1]').pathsOf('g0').map((p) => p.iommu)).toEqual([true, true]);
    // Without paths the function is a stray endpoint that needs its own gen and width.
    expect(() => ep('')).toThrow(/endpoint 'g0-f1' is not a device of the scenario: give its gen and width/);
  });

  it('topology.links[]: id, kind, a, b, bandwidth, reverseBandwidth and latencyPs', () => {
    const link = (o: string) => scenarioTopology(`  links: [{ id: l0, kind: nvlink, a: g0, b: g1, bandwidth: 100 GB/s, latencyPs: 700 ns${o} }]`);
    expect(link('').route('g0', 'g1')).toMatchObject({ kind: 'private', bandwidth: 100e9, latencyPs: 700_000 });
    expect(link(', reverseBandwidth: 25 GB/s').route('g1', 'g0')!.bandwidth).toBe(25e9);
    expect(link('').segments.find((s) => s.link === 'l0')!.kind).toBe('nvlink');
  });
});
