import { describe, it, expect } from 'vitest';
import { randomGraph, type Graph } from '../../src/workloads/graph.ts';
import { bfs, bfsPlan } from '../../src/workloads/bfs.ts';
import { Machine } from '../../src/api/machine.ts';
import { Rng } from '../../src/engine/rng.ts';
import { accessIsWrite, accessVpn, listProgram } from '../../src/sim/program.ts';
import { R, W, counts, drainAll, drainKernel, range, sorted } from './helpers.ts';

/** Square 0-1, 0-2, 1-3, 2-3 with hand-placed pages; visited flags one page per vertex. */
const square: Graph = {
  vertices: 4, edges: 8, vertexPages: 1, vertexVpn: Float64Array.from([10, 20, 30, 40]),
  offsets: Int32Array.from([0, 2, 4, 6, 8]), targets: Int32Array.from([1, 2, 0, 3, 0, 3, 1, 2]),
  offsetsBase: 100, offsetsPages: 1, targetsBase: 200, targetsPages: 1,
  visitedBase: 300, visitedPages: 4, visitedBytesPerVertex: 4096, arenas: [], pages: new Machine().sys.pages,
  build: { name: 'none', threads: [listProgram([])], computePs: 0, accessBytes: 64 },
};

/** BFS distances by an independent queue walk (−1 = unreachable). */
function distances(g: Graph, s: number): number[] {
  const dist = new Array<number>(g.vertices).fill(-1);
  dist[s] = 0;
  const q = [s];
  for (let i = 0; i < q.length; i++) {
    const u = q[i];
    for (let e = g.offsets[u]; e < g.offsets[u + 1]; e++) {
      if (dist[g.targets[e]] < 0) {
        dist[g.targets[e]] = dist[u] + 1;
        q.push(g.targets[e]);
      }
    }
  }
  return dist;
}

describe('randomGraph', () => {
  it('builds a symmetric CSR graph with round(n·d/2) edges, no self-loops', () => {
    const g = randomGraph(new Machine().spawn(), { vertices: 500, degree: 6, rng: new Rng(1) });
    expect(g.edges).toBe(3000);
    expect(g.offsets[0]).toBe(0);
    expect(g.offsets[500]).toBe(3000);
    const pairs: string[] = [], reversed: string[] = [];
    for (let u = 0; u < 500; u++) {
      expect(g.offsets[u + 1]).toBeGreaterThanOrEqual(g.offsets[u]);
      for (let e = g.offsets[u]; e < g.offsets[u + 1]; e++) {
        const v = g.targets[e];
        expect(v).not.toBe(u);
        pairs.push(`${u}-${v}`);
        reversed.push(`${v}-${u}`);
      }
    }
    expect(pairs.sort()).toEqual(reversed.sort());
  });

  it('lays out CSR and visited arrays as contiguous buffers and vertex records scattered', () => {
    const proc = new Machine().spawn();
    const g = randomGraph(proc, { vertices: 1000, degree: 4, rng: new Rng(2), arenaPages: 64 });
    expect(g.offsetsPages).toBe(2); // 1001 × 8 B
    expect(g.targetsPages).toBe(8); // 4000 × 8 B pointers
    expect(g.visitedPages).toBe(1); // 1000 × 1 B
    for (const [b, n] of [[g.offsetsBase, g.offsetsPages], [g.targetsBase, g.targetsPages], [g.visitedBase, g.visitedPages]]) {
      expect(proc.mm.findVma(b)?.end).toBe(b + n);
    }
    let adjacent = 0;
    for (let v = 1; v < 1000; v++) if (g.vertexVpn[v] === g.vertexVpn[v - 1] + 1) adjacent++;
    expect(adjacent).toBeLessThan(5);
    const build = drainAll(g.build.threads).flat();
    expect(build.every(accessIsWrite)).toBe(true);
    expect(build.map(accessVpn)).toEqual([
      ...g.vertexVpn, ...range(g.offsetsBase, g.offsetsBase + 2), ...range(g.targetsBase, g.targetsBase + 8), g.visitedBase,
    ]);
  });

  it('is deterministic per seed', () => {
    const a = randomGraph(new Machine().spawn(), { vertices: 200, degree: 3, rng: new Rng(7) });
    const b = randomGraph(new Machine().spawn(), { vertices: 200, degree: 3, rng: new Rng(7) });
    expect(Array.from(a.targets)).toEqual(Array.from(b.targets));
    expect(Array.from(a.vertexVpn)).toEqual(Array.from(b.vertexVpn));
  });

  it('rejects bad options by name', () => {
    const proc = new Machine().spawn();
    expect(() => randomGraph(proc, { vertices: 10, degree: -1, rng: new Rng(1) })).toThrow(/'degree'/);
    expect(() => randomGraph(proc, { vertices: 1, degree: 2, rng: new Rng(1) })).toThrow(/'degree'/);
    expect(() => randomGraph(proc, { vertices: 0, degree: 2, rng: new Rng(1) })).toThrow(/'vertices'/);
    expect(() => randomGraph(proc, { vertices: 4, degree: 1, rng: new Rng(1), visitedBytesPerVertex: 0 })).toThrow(/'visitedBytesPerVertex'/);
    expect(randomGraph(proc, { vertices: 1, degree: 0, rng: new Rng(1) }).edges).toBe(0);
  });
});

describe('bfs', () => {
  it('plans levels and discovering edges in sequential order', () => {
    const p = bfsPlan(square, 0);
    expect(Array.from(p.order)).toEqual([0, 1, 2, 3]);
    expect(Array.from(p.levelStart)).toEqual([0, 1, 3, 4]);
    expect(Array.from(p.discoverEdge)).toEqual([-1, 0, 1, 3]);
  });

  it('expands exactly: the flag, the vertex, offsets, then per edge the targets page and the neighbour; a barrier per level', () => {
    const r = drainKernel(bfs(square, { lanes: 1 }).lanes);
    expect(r.accesses[0]).toEqual([
      W(300), R(10), R(100), R(200), R(20), R(30), // expand 0; barrier
      W(301), R(20), R(100), R(200), R(10), R(40), // expand 1
      W(302), R(30), R(100), R(200), R(10), R(40), // expand 2 (3 found twice, queued once); barrier
      W(303), R(40), R(100), R(200), R(20), R(30), // expand 3; barrier, and the next frontier is empty
    ]);
    expect(r.barriers).toBe(3);
  });

  it('splits each level among lanes, which share the frontier the previous level found', () => {
    const r = drainKernel(bfs(square, { lanes: 2 }).lanes);
    expect(r.accesses).toEqual([
      [W(300), R(10), R(100), R(200), R(20), R(30), W(301), R(20), R(100), R(200), R(10), R(40),
        W(303), R(40), R(100), R(200), R(20), R(30)],
      [W(302), R(30), R(100), R(200), R(10), R(40)],
    ]);
    // A lane runs no further than its level until every lane reached the barrier.
    const lane1 = bfs(square, { lanes: 2 }).lanes[1];
    expect(lane1.next()).toBe(-2);
  });

  it('reads both offsets pages when a row straddles a page boundary', () => {
    // offsets[511] and offsets[512] are on different pages.
    const n = 513;
    const offsets = new Int32Array(n + 1);
    const g: Graph = { ...square, vertices: n, edges: 0, vertexVpn: Float64Array.from(range(1000, 1000 + n)), offsets, targets: new Int32Array(0), visitedBytesPerVertex: 1, visitedPages: 1 };
    expect(drainKernel(bfs(g, { lanes: 1, source: 511 }).lanes).accesses[0]).toEqual([W(300), R(1511), R(100), R(101)]);
  });

  it('on a random graph: visits exactly the reachable set, writing each visited flag once', () => {
    const proc = new Machine().spawn();
    const g = randomGraph(proc, { vertices: 400, degree: 1.5, rng: new Rng(11), visitedBytesPerVertex: 4096 });
    let source = 0;
    for (let v = 1; v < 400; v++) if (g.offsets[v + 1] - g.offsets[v] > g.offsets[source + 1] - g.offsets[source]) source = v;
    const dist = distances(g, source);
    const reachable = range(0, 400).filter((v) => dist[v] >= 0);
    expect(reachable.length).toBeGreaterThan(20);
    expect(reachable.length).toBeLessThan(400); // this seed's graph is disconnected

    const plan = bfsPlan(g, source);
    expect(sorted(plan.order)).toEqual(reachable);
    for (let L = 0; L + 1 < plan.levelStart.length; L++) {
      for (let k = plan.levelStart[L]; k < plan.levelStart[L + 1]; k++) expect(dist[plan.order[k]]).toBe(L);
    }

    const k = bfs(g, { lanes: 6, source });
    expect([k.name, k.accessBytes, k.computePs]).toEqual(['bfs', 64, 1000]);
    const all = drainKernel(k.lanes).accesses.flat();
    const flags = counts(all.filter(accessIsWrite).map(accessVpn));
    expect(sorted(flags.keys())).toEqual(reachable.map((v) => g.visitedBase + v));
    expect([...flags.values()].every((c) => c === 1)).toBe(true);
    // A reachable vertex's record is read once when expanded and once per incident edge (all its
    // neighbours are reachable and are expanded too); unreachable records are never read.
    const recordReads = counts(all.filter((a) => !accessIsWrite(a)).map(accessVpn));
    for (let v = 0; v < 400; v++) {
      const degree = g.offsets[v + 1] - g.offsets[v];
      expect(recordReads.get(g.vertexVpn[v]) ?? 0).toBe(dist[v] >= 0 ? degree + 1 : 0);
    }
    // Same accesses whatever the lane count.
    const one = drainKernel(bfs(g, { lanes: 1, source }).lanes);
    expect(sorted(one.accesses[0])).toEqual(sorted(all));
    // The frontiers the lanes build are the sequential BFS's levels: flags in its visit order,
    // one barrier per level plus the one that finds the last frontier empty.
    expect(one.accesses[0].filter(accessIsWrite).map(accessVpn)).toEqual(Array.from(plan.order, (v) => g.visitedBase + v));
    expect(one.barriers).toBe(plan.levelStart.length - 1);
    // And the whole build + traversal runs on the process.
    for (const a of [...drainAll(g.build.threads).flat(), ...all]) {
      expect(typeof proc.access(accessVpn(a), accessIsWrite(a))).toBe('number');
    }
  });

  it('rejects bad options by name', () => {
    expect(() => bfs(square, { lanes: 1, source: 4 })).toThrow(/'source'/);
    expect(() => bfs(square, { lanes: 0 })).toThrow(/'lanes'/);
    expect(() => bfsPlan(square, -1)).toThrow(/'source'/);
  });
});
