import { describe, it, expect } from 'vitest';
import { binaryTree, searchTree, type BinaryTree } from '../../src/workloads/tree.ts';
import { Machine } from '../../src/api/machine.ts';
import { Rng } from '../../src/engine/rng.ts';
import { accessIsWrite, accessVpn } from '../../src/sim/program.ts';
import { R, counts, drain, drainAll, range, sorted } from './helpers.ts';

/** In-order key sequence and max depth, checked independently of the builder. */
function walk(t: BinaryTree): { keys: number[]; height: number; reached: number } {
  const keys: number[] = [];
  let height = 0, reached = 0;
  const visit = (n: number, depth: number): void => {
    if (n < 0) return;
    reached++;
    height = Math.max(height, depth);
    visit(t.left[n], depth + 1);
    keys.push(t.key[n]);
    visit(t.right[n], depth + 1);
  };
  visit(t.root, 1);
  return { keys, height, reached };
}

/** The search path for a target, computed directly. */
function path(t: BinaryTree, target: number, miss: boolean): number[] {
  const out: number[] = [];
  let at = t.root;
  while (at >= 0) {
    out.push(at);
    const k = t.key[at];
    if (!miss && k === target) break;
    at = (miss ? target <= k : target < k) ? t.left[at] : t.right[at];
  }
  return out;
}

describe('binaryTree', () => {
  it('balanced: a BST over 0..n−1 of minimal height, nodes in level order', () => {
    const t = binaryTree(new Machine().spawn(), { nodes: 15, shape: 'balanced', rng: new Rng(1) });
    const w = walk(t);
    expect(w.keys).toEqual(range(0, 15));
    expect([w.height, t.height, w.reached]).toEqual([4, 4, 15]);
    expect([t.key[0], t.key[1], t.key[2]]).toEqual([7, 3, 11]);
    expect([t.left[0], t.right[0], t.left[1], t.right[1]]).toEqual([1, 2, 3, 4]);
    const odd = binaryTree(new Machine().spawn(), { nodes: 1000, shape: 'balanced', rng: new Rng(1) });
    expect(walk(odd).keys).toEqual(range(0, 1000));
    expect(odd.height).toBe(10);
  });

  it('random: a BST over 0..n−1 from random insertion order, deterministic per seed', () => {
    const t = binaryTree(new Machine().spawn(), { nodes: 2000, rng: new Rng(2) });
    const w = walk(t);
    expect(w.keys).toEqual(range(0, 2000));
    expect(w.reached).toBe(2000);
    expect(t.height).toBe(w.height);
    // Random BSTs are deeper than balanced ones but far from degenerate (expected ~2 ln n ≈ 15).
    expect(t.height).toBeGreaterThan(11);
    expect(t.height).toBeLessThan(45);
    const again = binaryTree(new Machine().spawn(), { nodes: 2000, rng: new Rng(2) });
    expect(Array.from(again.key)).toEqual(Array.from(t.key));
    expect(Array.from(again.nodeVpn)).toEqual(Array.from(t.nodeVpn));
  });

  it('places nodes at scattered pages and builds them with one write per page', () => {
    const t = binaryTree(new Machine().spawn(), { nodes: 500, rng: new Rng(3), arenaPages: 32 });
    let adjacent = 0;
    for (let k = 1; k < 500; k++) if (t.nodeVpn[k] === t.nodeVpn[k - 1] + 1) adjacent++;
    expect(adjacent).toBeLessThan(5);
    const w = drain(t.build.threads[0]);
    expect(w.every(accessIsWrite)).toBe(true);
    expect(w.map(accessVpn)).toEqual(Array.from(t.nodeVpn));
  });
});

describe('searchTree', () => {
  const t = binaryTree(new Machine().spawn(), { nodes: 63, nodePages: 2, rng: new Rng(4) });
  const nodePagesRead = (nodes: number[]) => nodes.flatMap((n) => [R(t.nodeVpn[n]), R(t.nodeVpn[n] + 1)]);

  it('hit searches read every page of the root-to-key path; keys from rng.fork(`lane${i}`)', () => {
    const lanes = drainAll(searchTree(t, { lanes: 2, lookupsPerLane: 25, rng: new Rng(9) }).lanes);
    for (let i = 0; i < 2; i++) {
      const keys = new Rng(9).fork(`lane${i}`);
      const expected = Array.from({ length: 25 }, () => nodePagesRead(path(t, keys.int(0, 63), false))).flat();
      expect(lanes[i]).toEqual(expected);
    }
  });

  it('miss searches always run to the bottom of the tree', () => {
    const lane = drain(searchTree(t, { lanes: 1, lookupsPerLane: 40, rng: new Rng(9), miss: true }).lanes[0]);
    const keys = new Rng(9).fork('lane0');
    const paths = Array.from({ length: 40 }, () => path(t, keys.int(0, 64), true));
    expect(lane).toEqual(paths.flatMap(nodePagesRead));
    for (const p of paths) {
      const last = p[p.length - 1];
      expect(t.left[last] < 0 || t.right[last] < 0).toBe(true);
    }
  });

  it('reads the root once per lookup and reaches every node over many lookups', () => {
    const k = searchTree(t, { lanes: 4, lookupsPerLane: 500, rng: new Rng(1) });
    expect([k.name, k.accessBytes, k.computePs]).toEqual(['searchTree', 64, 1000]);
    const c = counts(drainAll(k.lanes).flat().map(accessVpn));
    expect(c.get(t.nodeVpn[t.root])).toBe(2000);
    expect(sorted(c.keys())).toEqual(sorted(Array.from(t.nodeVpn).flatMap((v) => [v, v + 1])));
  });

  it('rejects bad options by name', () => {
    const proc = new Machine().spawn();
    expect(() => binaryTree(proc, { nodes: 3, rng: new Rng(1), shape: 'avl' as never })).toThrow(/'shape'/);
    expect(() => binaryTree(proc, { nodes: 0, rng: new Rng(1) })).toThrow(/'nodes'/);
    expect(() => searchTree(t, { lanes: 1, lookupsPerLane: -1, rng: new Rng(1) })).toThrow(/'lookupsPerLane'/);
    expect(() => searchTree(t, { lanes: 1, lookupsPerLane: 1, rng: new Rng(1), miss: 1 as never })).toThrow(/'miss'/);
  });
});
