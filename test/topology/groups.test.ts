import { describe, it, expect } from 'vitest';
import { AddressSpaceGroups } from '../../src/topology/groups.ts';
import { parseTopologySpec, type TopologySpecInput } from '../../src/topology/spec.ts';

function spec(links: TopologySpecInput['links'], endpointIds = ['g0', 'g1', 'g2', 'g3', 'g4', 'n0']): TopologySpecInput {
  return {
    sockets: [{ id: 's0', memoryBytes: 1 << 30, memoryBandwidth: 1e11, memoryLatencyPs: 80_000 }],
    rootComplexes: [{ id: 'rc0', socket: 's0', vendorId: 0x8086, deviceId: 0x2030, rootPorts: endpointIds.map((e) => ({ id: `rp-${e}` })) }],
    endpoints: endpointIds.map((e) => ({ id: e, gen: 4 as const, width: 16 as const, parent: `rp-${e}` })),
    links,
  };
}
const groups = (s: TopologySpecInput) => new AddressSpaceGroups(parseTopologySpec(s));
const nv = (id: string, a: string, b: string, kind: 'nvlink' | 'xgmi' | 'cxl' = 'nvlink') => ({ id, kind, a, b, bandwidth: 1e11, latencyPs: 1000 });

describe('AddressSpaceGroups', () => {
  it('an NVLink pair is one group; PCIe-only devices are singletons', () => {
    const g = groups(spec([nv('l0', 'g1', 'g0')]));
    expect(g.groups.map((x) => x.members)).toEqual([['g0', 'g1'], ['g2'], ['g3'], ['g4'], ['n0']]);
    expect(g.sameGroup('g0', 'g1')).toBe(true);
    expect(g.sameGroup('g0', 'g2')).toBe(false);
    expect(g.groupOf('n0')).toBe(4);
  });

  it('chains are transitive and mix NVLink and XGMI', () => {
    const g = groups(spec([nv('l0', 'g4', 'g2'), nv('l1', 'g2', 'g0', 'xgmi')]));
    expect(g.groups.map((x) => x.members)).toEqual([['g0', 'g2', 'g4'], ['g1'], ['g3'], ['n0']]);
    expect(g.sameGroup('g4', 'g0')).toBe(true);
  });

  it('ids are stable: ordered by smallest member, independent of declaration order', () => {
    const a = groups(spec([nv('l0', 'g3', 'g4'), nv('l1', 'g1', 'g2')]));
    const b = groups(spec([nv('l1', 'g2', 'g1'), nv('l0', 'g4', 'g3')], ['n0', 'g4', 'g3', 'g2', 'g1', 'g0']));
    expect(a.groups).toEqual(b.groups);
    expect(a.groups.map((x) => x.id)).toEqual([0, 1, 2, 3]);
    expect(a.groupOf('g1')).toBe(1);
    expect(a.groupOf('g3')).toBe(2);
  });

  it('other link kinds do not join groups unless asked', () => {
    const s = parseTopologySpec(spec([nv('l0', 'g0', 'g1', 'cxl')]));
    expect(new AddressSpaceGroups(s).sameGroup('g0', 'g1')).toBe(false);
    expect(new AddressSpaceGroups(s, ['cxl']).sameGroup('g0', 'g1')).toBe(true);
  });

  it('throws for unknown endpoints', () => {
    expect(() => groups(spec([])).groupOf('zz')).toThrow("'zz' is not an endpoint");
  });
});
