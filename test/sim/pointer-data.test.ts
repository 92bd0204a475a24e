// Pointer structures hold real pointers in page data: on a timed machine with data the CPU's
// build phase writes each node's pointers into its page, and a device traversal follows the
// pointers it reads from the frames its accesses reach, not the builder's side arrays. The proof
// is a corrupted pointer: the traversal goes where the bytes say.
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { Rng } from '../../src/engine/rng.ts';
import { chaseList, linkedList, LIST_NEXT_OFFSET, type LinkedList } from '../../src/workloads/linked-list.ts';
import { binaryTree, searchTree, TREE_KEY_OFFSET, TREE_LEFT_OFFSET, type BinaryTree } from '../../src/workloads/tree.ts';
import { pointerVpn, pointerWords } from '../../src/workloads/page-list-phase.ts';
import { randomGraph, targetsPageOf, TARGET_BYTES, VERTEX_ID_OFFSET, OFFSET_BYTES, offsetsPageOf, type Graph } from '../../src/workloads/graph.ts';
import { bfs, bfsPlan } from '../../src/workloads/bfs.ts';
import { PteType, pteType, ptePfn } from '../../src/mm/pte.ts';
import type { Process } from '../../src/api/machine.ts';
import type { CpuPhaseSpec, KernelSpec } from '../../src/sim/program.ts';
import { profile } from './helpers.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';

/** The frame `vpn` of `p` maps (present), for reading and patching its words. */
function frame(p: Process, vpn: number): number {
  const e = p.mm.pt.pte(vpn);
  expect(pteType(e)).toBe(PteType.PRESENT);
  return ptePfn(e);
}

/**
 * Builds a structure on the CPU, lets `patch` change its bytes, then runs `kernel` on an SVA
 * device (it reads the CPU's frames in place) and returns the pages the device touched.
 */
function traverse<S>(data: boolean, make: (p: Process) => S, build: (s: S) => CpuPhaseSpec,
  kernel: (s: S) => KernelSpec, patch: (p: Process, s: S) => void = () => {}): { touched: number[]; s: S; p: Process } {
  const m = new SimMachine({ seed: 1, data, devices: [{ name: 'sva0', profile: profile('sva-accelerator') }] });
  const p = m.spawn();
  const s = make(p);
  const touched: number[] = [];
  m.at(0, () => m.cpuPhase(p, build(s)).onDone(() => {
    patch(p, s);
    const k = kernel(s);
    // Record the lane's accesses in order as it makes them.
    const lanes = k.lanes.map((l) => ({ next: () => {
      const a = l.next();
      if (a >= 0) touched.push(Math.floor(a / 2));
      return a;
    }, ...(l.data ? { data: l.data } : {}) }));
    m.launch('sva0', p, { ...k, lanes });
  }));
  m.run();
  return { touched, s, p };
}

describe('pointer structures in page data', () => {
  const list = (p: Process) => linkedList(p, { nodes: 12, rng: new Rng(5), arenaPages: 64 });
  const chase = (l: LinkedList) => chaseList(l, { lanes: 1, steps: 12 });

  it('the CPU writes each list node\'s next pointer into its first page; a device chase follows the bytes', () => {
    const { touched, s, p } = traverse(true, list, (l) => l.build, chase);
    for (let k = 0; k < 11; k++) {
      const f = frame(p, s.nodeVpn[k]);
      expect(pointerVpn(p.sys.pages.readU32(f, LIST_NEXT_OFFSET), p.sys.pages.readU32(f, LIST_NEXT_OFFSET + 4))).toBe(s.nodeVpn[k + 1]);
    }
    expect(pointerVpn(p.sys.pages.readU32(frame(p, s.nodeVpn[11]), 0), p.sys.pages.readU32(frame(p, s.nodeVpn[11]), 4))).toBe(0);
    expect(touched).toEqual(Array.from(s.nodeVpn));
  });

  it('a list pointer changed in memory sends the device where the bytes say; without page data it follows the builder\'s order', () => {
    // Node 3's next pointer now points back at node 1: the chase loops 1, 2, 3, 1, 2, 3, ...
    const loop = (p: Process, l: LinkedList) => {
      const [lo, hi] = pointerWords(l.nodeVpn[1]);
      const f = frame(p, l.nodeVpn[3]);
      p.sys.pages.writeU32(f, LIST_NEXT_OFFSET, lo);
      p.sys.pages.writeU32(f, LIST_NEXT_OFFSET + 4, hi);
    };
    const bytes = traverse(true, list, (l) => l.build, chase, loop);
    const v = bytes.s.nodeVpn;
    expect(bytes.touched).toEqual([0, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2].map((k) => v[k]));
    const meta = traverse(false, list, (l) => l.build, chase, loop);
    expect(meta.touched).toEqual(Array.from(meta.s.nodeVpn));
  });

  it('nodes of several pages: the pointer in the first page decides where the chase goes after the last', () => {
    const big = (p: Process) => linkedList(p, { nodes: 6, nodePages: 2, rng: new Rng(8), arenaPages: 64 });
    const r = traverse(true, big, (l) => l.build, (l) => chaseList(l, { lanes: 1, steps: 6 }), (p, l) => {
      const [lo, hi] = pointerWords(l.nodeVpn[0]);
      p.sys.pages.writeU32(frame(p, l.nodeVpn[1]), LIST_NEXT_OFFSET, lo);
      p.sys.pages.writeU32(frame(p, l.nodeVpn[1]), LIST_NEXT_OFFSET + 4, hi);
    });
    const v = r.s.nodeVpn;
    expect(r.touched).toEqual([0, 1, 0, 1, 0, 1].flatMap((k) => [v[k], v[k] + 1]));
  });

  const tree = (p: Process) => binaryTree(p, { nodes: 31, shape: 'balanced', rng: new Rng(6), arenaPages: 64 });
  const search = (t: BinaryTree) => searchTree(t, { lanes: 1, lookupsPerLane: 1, rng: new Rng(7), miss: true });

  it('the CPU writes each tree node\'s key and child pointers; a search goes down by the keys and pointers it reads', () => {
    const { touched, s, p } = traverse(true, tree, (t) => t.build, search);
    const f = frame(p, s.nodeVpn[0]);
    expect(p.sys.pages.readU32(f, TREE_KEY_OFFSET)).toBe(s.key[0]);
    expect(pointerVpn(p.sys.pages.readU32(f, TREE_LEFT_OFFSET), p.sys.pages.readU32(f, TREE_LEFT_OFFSET + 4))).toBe(s.nodeVpn[s.left[0]]);
    // A miss search runs root to a leaf: the balanced tree of 31 has 5 levels.
    expect(touched).toHaveLength(5);
    expect(touched[0]).toBe(s.nodeVpn[0]);
    // The same search without data follows the side arrays to the same nodes.
    expect(traverse(false, tree, (t) => t.build, search).touched).toEqual(touched);
  });

  it('a tree key changed in memory changes the path the device takes', () => {
    // The root's key set below every key: every search goes right at the root.
    const right = traverse(true, tree, (t) => t.build, search, (p, t) => p.sys.pages.writeU32(frame(p, t.nodeVpn[0]), TREE_KEY_OFFSET, 0));
    const t = right.s;
    const plain = traverse(true, tree, (x) => x.build, search);
    const rightChild = t.nodeVpn[t.right[0]];
    expect(right.touched[1]).toBe(rightChild);
    // Unless the plain search went right too, the paths differ.
    if (plain.touched[1] !== rightChild) expect(right.touched).not.toEqual(plain.touched);
  });

  it('a built list, tree and graph traversed by GPUs that migrate the nodes into their memory: the bytes lead where the builder\'s arrays do, so data and no-data runs match', () => {
    const text = (data: boolean) => `name: p
data: ${data}
devices:
  - { name: g0, profile: gpu-pcie4 }
  - { name: g1, profile: gpu-pcie4, policies: { placement: { policy: map-remote } } }
processes:
  - name: p
    structures:
      - { name: l, type: list, nodes: 300, nodePages: 2, arenaPages: 64 }
      - { name: t, type: tree, nodes: 200, arenaPages: 64 }
      - { name: g, type: graph, vertices: 3000, degree: 4, arenaPages: 64 }
steps:
  - cpu: { workload: { type: build, structure: l } }
  - cpu: { workload: { type: build, structure: t } }
  - cpu: { workload: { type: build, structure: g } }
  - - kernel: { device: g0, workload: { type: chaseList, structure: l, lanes: 4 } }
    - kernel: { device: g1, workload: { type: searchTree, structure: t, lookups: 20, lanes: 4 } }
  - - kernel: { device: g1, workload: { type: chaseList, structure: l, lanes: 4, steps: 100 } }
    - kernel: { device: g0, workload: { type: searchTree, structure: t, lookups: 20, lanes: 4, miss: true } }
  - kernel: { device: g0, workload: { type: bfs, structure: g, lanes: 16 } }
  - kernel: { device: g1, workload: { type: bfs, structure: g, lanes: 16, source: 7 } }
`;
    const withData = runScenario(parseScenario(text(true), 'p.yaml'));
    const without = runScenario(parseScenario(text(false), 'p.yaml'));
    expect(withData.devices[0].pagesIn).toBeGreaterThan(0);
    expect(JSON.stringify({ ...without, data: true })).toBe(JSON.stringify(withData));
  });
  // A random graph of 60 vertices and mean degree 1.5 whose source reaches 40 of them (the rest
  // is other components, for a pointer to lead into); two pages per record, so the
  // id is read from the first page and the pointer followed after the last.
  const graph = (p: Process) => randomGraph(p, { vertices: 60, degree: 1.5, rng: new Rng(12), vertexPages: 2, arenaPages: 64 });
  const walk = (g: Graph) => bfs(g, { lanes: 3 });
  /** Sorted distinct pages of a list. */
  const pagesOf = (t: number[]) => [...new Set(t)].sort((a, b) => a - b);
  /** Where edge e's pointer sits in memory. */
  const targetAt = (p: Process, g: Graph, e: number) => ({ f: frame(p, targetsPageOf(g, e)), at: (e * TARGET_BYTES) % 4096 });

  it('the CPU writes each vertex id, the CSR offsets and pointers to the neighbours\' records; data and no-data BFS touch the same pages in the same order', () => {
    const bytes = traverse(true, graph, (g) => g.build, walk);
    const { s: g, p } = bytes;
    const pg = p.sys.pages;
    for (let v = 0; v < g.vertices; v++) {
      expect(pg.readU32(frame(p, g.vertexVpn[v]), VERTEX_ID_OFFSET)).toBe(v);
      const o = frame(p, offsetsPageOf(g, v));
      expect(pg.readU32(o, (v * OFFSET_BYTES) % 4096)).toBe(g.offsets[v]);
    }
    for (let e = 0; e < g.edges; e++) {
      const { f, at } = targetAt(p, g, e);
      expect(pointerVpn(pg.readU32(f, at), pg.readU32(f, at + 4))).toBe(g.vertexVpn[g.targets[e]]);
    }
    // Every reachable record is read (one flag write per vertex: the sequential BFS's order).
    const plan = bfsPlan(g, 0);
    expect(plan.order.length).toBe(40);
    for (const v of plan.order) expect(bytes.touched).toContain(g.vertexVpn[v]);
    const meta = traverse(false, graph, (x) => x.build, walk);
    expect(meta.touched).toEqual(bytes.touched);
  });

  it('a target pointer changed in memory sends the device to the record it points at and on through that vertex\'s edges; without page data it follows the builder\'s arrays', () => {
    // The source's first edge now points at a vertex the plain BFS never reaches (another
    // component): its record, offsets and neighbours are read, and its neighbours after it.
    const plain = traverse(true, graph, (g) => g.build, walk);
    const g0 = plain.s;
    const reach = new Set(bfsPlan(g0, 0).order);
    const lost = Array.from({ length: g0.vertices }, (_, v) => v).find((v) => !reach.has(v) && g0.offsets[v + 1] > g0.offsets[v]);
    expect(lost).toBeDefined();
    const w = lost!;
    const redirect = (p: Process, g: Graph) => {
      const [lo, hi] = pointerWords(g.vertexVpn[w]);
      const { f, at } = targetAt(p, g, g.offsets[0]);
      p.sys.pages.writeU32(f, at, lo);
      p.sys.pages.writeU32(f, at + 4, hi);
    };
    const moved = traverse(true, graph, (g) => g.build, walk, redirect);
    const g = moved.s;
    expect(plain.touched).not.toContain(g.vertexVpn[w]);
    expect(moved.touched).toContain(g.vertexVpn[w]);
    // w was expanded: its visited flag written and its neighbours' records read.
    expect(moved.touched).toContain(g.visitedBase + Math.floor(w * g.visitedBytesPerVertex / 4096));
    for (let e = g.offsets[w]; e < g.offsets[w + 1]; e++) expect(moved.touched).toContain(g.vertexVpn[g.targets[e]]);
    expect(pagesOf(moved.touched)).not.toEqual(pagesOf(plain.touched));
    // No-data mode keeps the planned traversal: the change is invisible to it.
    expect(traverse(false, graph, (x) => x.build, walk, redirect).touched).toEqual(plain.touched);
  });

  it('a null target pointer drops the edge: the neighbour behind it is not read from that edge', () => {
    // Null every pointer of the source's row: the BFS reads the source and stops.
    const cut = traverse(true, graph, (g) => g.build, walk, (p, g) => {
      for (let e = g.offsets[0]; e < g.offsets[1]; e++) {
        const { f, at } = targetAt(p, g, e);
        p.sys.pages.writeU32(f, at, 0);
        p.sys.pages.writeU32(f, at + 4, 0);
      }
    });
    const g = cut.s;
    expect(g.offsets[1]).toBeGreaterThan(0);
    expect(cut.touched.filter((v) => v !== g.vertexVpn[0] + 1 && g.vertexVpn.includes(v))).toEqual([g.vertexVpn[0]]);
  });
});
