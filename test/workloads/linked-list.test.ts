import { describe, it, expect } from 'vitest';
import { chaseList, linkedList } from '../../src/workloads/linked-list.ts';
import { Machine, type Process } from '../../src/api/machine.ts';
import { Rng } from '../../src/engine/rng.ts';
import { accessIsWrite, accessVpn, type LaneProgram } from '../../src/sim/program.ts';
import { R, counts, drain, drainAll, sorted } from './helpers.ts';

function run(proc: Process, programs: readonly LaneProgram[]): void {
  for (const a of drainAll(programs).flat()) expect(typeof proc.access(accessVpn(a), accessIsWrite(a))).toBe('number');
}

describe('linkedList', () => {
  it('allocates nodes at scattered pages: consecutive nodes are not in consecutive pages', () => {
    const list = linkedList(new Machine().spawn(), { nodes: 1000, rng: new Rng(1), arenaPages: 64 });
    expect(list.arenas).toHaveLength(16);
    expect(new Set(list.nodeVpn).size).toBe(1000);
    let adjacent = 0;
    for (let k = 1; k < 1000; k++) if (list.nodeVpn[k] === list.nodeVpn[k - 1] + 1) adjacent++;
    expect(adjacent).toBeLessThan(5);
  });

  it('builds on the CPU by writing every page of every node once, head to tail', () => {
    const list = linkedList(new Machine().spawn(), { nodes: 50, nodePages: 2, rng: new Rng(3) });
    const writes = drain(list.build.threads[0]);
    expect(writes.every(accessIsWrite)).toBe(true);
    expect(writes.map(accessVpn)).toEqual(Array.from(list.nodeVpn).flatMap((v) => [v, v + 1]));
    expect([list.build.name, list.build.accessBytes, list.build.threads.length]).toEqual(['linkedList.build', 64, 1]);
    const par = linkedList(new Machine().spawn(), { nodes: 50, rng: new Rng(3), build: { threads: 4, name: 'init' } });
    expect(par.build.name).toBe('init');
    expect(sorted(drainAll(par.build.threads).flat().map(accessVpn))).toEqual(sorted(par.nodeVpn));
  });

  it('chases: lane i walks its own segment in list order, every node read once', () => {
    const list = linkedList(new Machine().spawn(), { nodes: 10, rng: new Rng(4) });
    const lanes = drainAll(chaseList(list, { lanes: 3 }).lanes);
    const v = Array.from(list.nodeVpn);
    // 10 nodes over 3 lanes: starts at 0, 4, 7.
    expect(lanes).toEqual([v.slice(0, 4).map(R), v.slice(4, 7).map(R), v.slice(7).map(R)]);
  });

  it('with steps, every lane walks that many nodes, wrapping from tail to head', () => {
    const list = linkedList(new Machine().spawn(), { nodes: 6, nodePages: 2, rng: new Rng(4) });
    const v = Array.from(list.nodeVpn);
    const lanes = drainAll(chaseList(list, { lanes: 2, steps: 4 }).lanes);
    const pagesOf = (nodes: number[]) => nodes.flatMap((n) => [R(v[n]), R(v[n] + 1)]);
    expect(lanes).toEqual([pagesOf([0, 1, 2, 3]), pagesOf([3, 4, 5, 0])]);
  });

  it('touches every node, and the whole build-then-chase runs on a real process', () => {
    const proc = new Machine().spawn();
    const list = linkedList(proc, { nodes: 300, rng: new Rng(8), arenaPages: 40 });
    run(proc, list.build.threads);
    const k = chaseList(list, { lanes: 7 });
    expect([k.name, k.accessBytes, k.computePs]).toEqual(['chaseList', 64, 1000]);
    const c = counts(drainAll(k.lanes).flat().map(accessVpn));
    expect(sorted(c.keys())).toEqual(sorted(list.nodeVpn));
    expect([...c.values()].every((n) => n === 1)).toBe(true);
    run(proc, chaseList(list, { lanes: 7, steps: 20 }).lanes);
  });

  it('is deterministic for a seed', () => {
    const a = linkedList(new Machine().spawn(), { nodes: 100, rng: new Rng(42) });
    const b = linkedList(new Machine().spawn(), { nodes: 100, rng: new Rng(42) });
    expect(Array.from(a.nodeVpn)).toEqual(Array.from(b.nodeVpn));
  });

  it('rejects bad options by name', () => {
    const proc = new Machine().spawn();
    expect(() => linkedList(proc, { nodes: 0, rng: new Rng(1) })).toThrow(/'nodes'/);
    expect(() => linkedList(proc, { nodes: 4, nodePages: 8, arenaPages: 4, rng: new Rng(1) })).toThrow(/'arenaPages'/);
    expect(() => linkedList(proc, { nodes: 4, rng: null as never })).toThrow(/'rng'/);
    expect(() => linkedList(proc, { nodes: 4, rng: new Rng(1), build: { threads: 0 } })).toThrow(/'build.threads'/);
    expect(() => linkedList(proc, { nodes: 4, rng: new Rng(1), build: { accessBytes: 0 } })).toThrow(/'build.accessBytes'/);
    const list = linkedList(proc, { nodes: 4, rng: new Rng(1) });
    expect(() => chaseList(list, { lanes: 0 })).toThrow(/'lanes'/);
    expect(() => chaseList(list, { lanes: 1, steps: -1 })).toThrow(/'steps'/);
  });
});
