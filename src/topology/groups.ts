// Address-space groups: devices joined (transitively) by a private coherent-ish interconnect can
// map each other's device-private memory directly — the "pagemap owner" idea from the
// cross-device HMM discussion (an NVLink clique or an XGMI hive shares one owner). Everyone
// else must migrate through system RAM, so policy code asks these groups before choosing.
//
// A pagemap has one owner, so a group is transitive: a chain a–b–c is one group. But links do
// not forward (NVLink without an NVSwitch, XGMI, CXL: a transfer crosses one link, never two),
// so a and c have no path over the links: their traffic takes the topology's route between
// them, PCIe peer-to-peer as p2pdma allows it (a route of kind 'p2p-bus-addr' or
// 'p2p-host-bridge', never through b). A group in which some pair has no route at all could
// hand a device a page it cannot reach; `unreachablePair` finds such a pair so the machine can
// refuse the topology.
import type { Topology } from './routing.ts';
import type { LinkKind, TopologySpec } from './spec.ts';

/** Link kinds that put two devices in one group by default. */
export const DEFAULT_GROUP_LINK_KINDS: readonly LinkKind[] = ['nvlink', 'xgmi'];

/** One group. `id` is its index in AddressSpaceGroups.groups; `members` are sorted. */
export interface AddressSpaceGroup {
  readonly id: number;
  readonly members: readonly string[];
}

/**
 * Partition of the endpoints into groups. Invariants: every endpoint is in exactly one group;
 * groups are ordered by their smallest member id (code-unit order) and numbered 0, 1, ... in
 * that order, so ids are stable for a given set of endpoints and links regardless of
 * declaration order. A PCIe-only device is a singleton group.
 */
export class AddressSpaceGroups {
  readonly groups: readonly AddressSpaceGroup[];
  private readonly byMember: ReadonlyMap<string, number>;

  constructor(spec: TopologySpec, kinds: readonly LinkKind[] = DEFAULT_GROUP_LINK_KINDS, partition?: readonly (readonly string[])[]) {
    if (partition) {
      this.groups = [...partition].map((m) => [...m].sort(cmp)).sort((x, y) => cmp(x[0], y[0])).map((members, id) => ({ id, members }));
      const by = new Map<string, number>();
      for (const g of this.groups) for (const m of g.members) by.set(m, g.id);
      for (const e of spec.endpoints) if (!by.has(e.id)) throw new Error(`groups: endpoint '${e.id}' is in no group`);
      this.byMember = by;
      return;
    }
    const parent = new Map<string, string>();
    for (const e of spec.endpoints) parent.set(e.id, e.id);
    const find = (x: string): string => {
      let r = x;
      while (parent.get(r) !== r) r = parent.get(r)!;
      for (let c = x; c !== r; ) {
        const next = parent.get(c)!;
        parent.set(c, r);
        c = next;
      }
      return r;
    };
    for (const l of spec.links) {
      if (!kinds.includes(l.kind) || !parent.has(l.a) || !parent.has(l.b)) continue;
      const ra = find(l.a);
      const rb = find(l.b);
      if (ra !== rb) parent.set(ra, rb);
    }
    const sets = new Map<string, string[]>();
    for (const id of parent.keys()) {
      const r = find(id);
      const list = sets.get(r) ?? [];
      list.push(id);
      sets.set(r, list);
    }
    const sorted = [...sets.values()].map((m) => m.sort(cmp)).sort((x, y) => cmp(x[0], y[0]));
    this.groups = sorted.map((members, id) => ({ id, members }));
    const byMember = new Map<string, number>();
    for (const g of this.groups) for (const m of g.members) byMember.set(m, g.id);
    this.byMember = byMember;
  }

  /** Group id of an endpoint; throws for unknown ids. */
  groupOf(endpoint: string): number {
    const g = this.byMember.get(endpoint);
    if (g === undefined) throw new Error(`groups: '${endpoint}' is not an endpoint`);
    return g;
  }

  /** True when `a` can map `b`'s device-private memory directly (same pagemap owner). */
  sameGroup(a: string, b: string): boolean {
    return this.groupOf(a) === this.groupOf(b);
  }
}

/**
 * How devices come to share a pagemap owner (`dev_private_owner`):
 * - `interconnect` — drm_pagemap_acquire_owner (drm_pagemap_util.c, Linux 7.0, modelled from
 *   source): devices register in order; each joins the first existing owner with every member
 *   of which it has a fast interconnect, else gets a new owner. Xe's has_interconnect counts a
 *   direct private link and PCIe P2P that pci_p2pdma_distance() allows. Not transitive: a
 *   group is a clique of the interconnect relation, chosen greedily in registration order.
 * - `links` — an NVLink/XGMI hive shares one owner, transitively (KFD's hive owner; UVM's
 *   peer groups); PCIe peers never share one.
 * - `device` — every device its own owner (nouveau, drivers before 7.0's drm_pagemap owners).
 */
export type OwnerDesign = 'interconnect' | 'links' | 'device';

/**
 * drm_pagemap_acquire_owner over `peers` in registration order: each peer joins the first owner
 * (in list order) all of whose members `hasInterconnect` with it, else starts a new owner.
 * Returns the owners' member lists in the order they were created. Invariant: every pair in one
 * list has an interconnect.
 */
export function acquireOwners(peers: readonly string[], hasInterconnect: (a: string, b: string) => boolean): string[][] {
  const owners: string[][] = [];
  for (const p of peers) {
    const owner = owners.find((members) => members.every((m) => hasInterconnect(p, m)));
    if (owner) owner.push(p);
    else owners.push([p]);
  }
  return owners;
}

/**
 * The groups of `design` over the endpoints of `spec`. Only `peers` (the devices whose driver
 * takes part in an owner list: HMM mirrors) join others under `interconnect` and `device`;
 * every other endpoint is a singleton there. `links` keeps the transitive link hives of every
 * endpoint.
 */
export function ownerGroups(
  spec: TopologySpec, design: OwnerDesign, peers: readonly string[], hasInterconnect: (a: string, b: string) => boolean,
): AddressSpaceGroups {
  if (design === 'links') return new AddressSpaceGroups(spec);
  const joined = design === 'interconnect' ? acquireOwners(peers, hasInterconnect) : peers.map((p) => [p]);
  const inGroup = new Set(joined.flat());
  const rest = spec.endpoints.filter((e) => !inGroup.has(e.id)).map((e) => [e.id]);
  return new AddressSpaceGroups(spec, DEFAULT_GROUP_LINK_KINDS, [...joined, ...rest]);
}

/**
 * Two members of one group (among `endpoints`, default all) that have no DMA route to each
 * other, in group then member order, or null when every pair has one: a link of their own, or
 * PCIe P2P that p2pdma allows. Links are not chained: a pair joined only through a third
 * member counts as linked only if PCIe P2P between them works.
 */
export function unreachablePair(groups: AddressSpaceGroups, topology: Topology, endpoints?: readonly string[]): { a: string; b: string } | null {
  const wanted = endpoints === undefined ? null : new Set(endpoints);
  for (const g of groups.groups) {
    const members = wanted === null ? g.members : g.members.filter((m) => wanted.has(m));
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        if (topology.route(members[i], members[j]) === null) return { a: members[i], b: members[j] };
      }
    }
  }
  return null;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
