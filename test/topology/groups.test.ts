import { describe, it, expect } from 'vitest';
import { AddressSpaceGroups, acquireOwners, ownerGroups, unreachablePair } from '../../src/topology/groups.ts';
import { Topology } from '../../src/topology/routing.ts';
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

/**
 * gpu0–gpu1–gpu2 joined by two NVLink links (no NVSwitch), all three under one PCIe switch, or
 * each on its own root port of a host bridge p2pdma does not know (no PCIe P2P between them).
 */
function chain(underSwitch: boolean): TopologySpecInput {
  const gpus = ['gpu0', 'gpu1', 'gpu2'];
  return {
    sockets: [{ id: 's0', memoryBytes: 1 << 30, memoryBandwidth: 1e11, memoryLatencyPs: 80_000 }],
    rootComplexes: [{
      id: 'rc0', socket: 's0', vendorId: underSwitch ? 0x8086 : 0x1234, deviceId: underSwitch ? 0x2030 : 0x0001,
      rootPorts: underSwitch ? [{ id: 'rp0' }] : gpus.map((g) => ({ id: `rp-${g}` })),
    }],
    switches: underSwitch
      ? [{ id: 'sw0', parent: 'rp0', gen: 4, width: 16, upstreamPort: { id: 'usp0' }, downstreamPorts: gpus.map((g) => ({ id: `dsp-${g}` })) }]
      : [],
    endpoints: gpus.map((g) => ({ id: g, gen: 4 as const, width: 16 as const, parent: underSwitch ? `dsp-${g}` : `rp-${g}` })),
    links: [nv('nv01', 'gpu0', 'gpu1'), nv('nv12', 'gpu1', 'gpu2')],
  };
}

describe('a chain of NVLink links (links do not forward)', () => {
  it('is one group, and the ends reach each other over PCIe P2P through the switch, never through gpu1', () => {
    const s = parseTopologySpec(chain(true));
    const g = new AddressSpaceGroups(s);
    expect(g.groups.map((x) => x.members)).toEqual([['gpu0', 'gpu1', 'gpu2']]);
    const t = new Topology(s);
    expect(t.route('gpu0', 'gpu1')!.kind).toBe('private');
    const r = t.route('gpu0', 'gpu2')!;
    expect(r.kind).toBe('p2p-bus-addr');
    expect(r.nodes).toEqual(['gpu0', 'sw0', 'gpu2']);
    expect(r.segments.every((x) => x.kind === 'pcie')).toBe(true);
    expect(t.route('gpu2', 'gpu0')!.nodes).toEqual(['gpu2', 'sw0', 'gpu0']);
    expect(unreachablePair(g, t)).toBeNull();
  });

  it('has no path between its ends where p2pdma refuses PCIe P2P, and unreachablePair names them', () => {
    const s = parseTopologySpec(chain(false));
    const g = new AddressSpaceGroups(s);
    const t = new Topology(s);
    expect(g.sameGroup('gpu0', 'gpu2')).toBe(true);
    expect(t.route('gpu0', 'gpu2')).toBeNull();
    expect(unreachablePair(g, t)).toEqual({ a: 'gpu0', b: 'gpu2' });
    // Only the endpoints asked about count: the linked neighbours alone are fine.
    expect(unreachablePair(g, t, ['gpu0', 'gpu1'])).toBeNull();
  });
});

describe('acquireOwners (drm_pagemap_acquire_owner, Linux 7.0)', () => {
  /** An interconnect relation from unordered pairs "a-b". */
  const rel = (...pairs: string[]) => (a: string, b: string) => pairs.includes(`${a}-${b}`) || pairs.includes(`${b}-${a}`);

  it('a device joins the first owner with every member of which it has an interconnect, else starts its own', () => {
    // c reaches a but not b: the owner {a, b} is closed to it.
    expect(acquireOwners(['a', 'b', 'c'], rel('a-b', 'a-c'))).toEqual([['a', 'b'], ['c']]);
    // d reaches every member of the second owner only: it skips the first and joins the second.
    expect(acquireOwners(['a', 'b', 'c', 'd'], rel('a-b', 'c-d'))).toEqual([['a', 'b'], ['c', 'd']]);
    // A full clique is one owner.
    expect(acquireOwners(['a', 'b', 'c'], rel('a-b', 'a-c', 'b-c'))).toEqual([['a', 'b', 'c']]);
  });

  it('is greedy: the registration order decides the owners', () => {
    // a-b, b-c, no a-c. Registering b first puts a with it, so c is left alone; registering a
    // last leaves b with c.
    const r = rel('a-b', 'b-c');
    expect(acquireOwners(['a', 'b', 'c'], r)).toEqual([['a', 'b'], ['c']]);
    expect(acquireOwners(['c', 'b', 'a'], r)).toEqual([['c', 'b'], ['a']]);
  });

  it('is not transitive, unlike the link hives of owners: links', () => {
    // g0–g1 and g1–g2 NVLink, none between g0 and g2: one hive under links, two owners under
    // interconnect (g2 has no interconnect with g0).
    const s = parseTopologySpec(spec([nv('l0', 'g0', 'g1'), nv('l1', 'g1', 'g2')]));
    const t = new Topology(s);
    const direct = (a: string, b: string) => t.route(a, b)?.kind === 'private';
    const members = (g: AddressSpaceGroups) => g.groups.map((x) => x.members).filter((m) => m.length > 1);
    expect(members(ownerGroups(s, 'links', ['g0', 'g1', 'g2'], direct))).toEqual([['g0', 'g1', 'g2']]);
    expect(members(ownerGroups(s, 'interconnect', ['g0', 'g1', 'g2'], direct))).toEqual([['g0', 'g1']]);
    expect(members(ownerGroups(s, 'device', ['g0', 'g1', 'g2'], direct))).toEqual([]);
  });
});
