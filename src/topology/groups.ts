// Address-space groups: devices joined (transitively) by a private coherent-ish interconnect can
// map each other's device-private memory directly — the "pagemap owner" idea from the
// cross-device HMM discussion (an NVLink clique or an XGMI hive shares one owner). Everyone
// else must migrate through system RAM, so policy code asks these groups before choosing.
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

  constructor(spec: TopologySpec, kinds: readonly LinkKind[] = DEFAULT_GROUP_LINK_KINDS) {
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

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
