import { describe, it, expect } from 'vitest';
import { placeInArenas } from '../../src/workloads/arena.ts';
import { Machine } from '../../src/api/machine.ts';
import { Rng } from '../../src/engine/rng.ts';

describe('placeInArenas', () => {
  it('maps ⌈count / slotsPerArena⌉ arenas and places disjoint objects inside them', () => {
    const proc = new Machine().spawn();
    const p = placeInArenas(proc, new Rng(1), 100, 3, 32);
    // 10 slots of 3 pages per 32-page arena → 10 arenas.
    expect(p.arenas).toHaveLength(10);
    for (const a of p.arenas) expect(proc.mm.findVma(a.start)?.end).toBe(a.start + 32);
    const pages = new Set<number>();
    for (const v of p.objectVpn) {
      const arena = p.arenas.find((a) => v >= a.start && v + 3 <= a.start + a.pages);
      expect(arena).toBeDefined();
      expect((v - arena!.start) % 3).toBe(0);
      for (let i = 0; i < 3; i++) pages.add(v + i);
    }
    expect(pages.size).toBe(300);
  });

  it('scatters consecutive objects (not in allocation order)', () => {
    const p = placeInArenas(new Machine().spawn(), new Rng(2), 2000, 1, 512);
    let adjacent = 0, ascending = 0;
    for (let k = 1; k < 2000; k++) {
      if (p.objectVpn[k] === p.objectVpn[k - 1] + 1) adjacent++;
      if (p.objectVpn[k] > p.objectVpn[k - 1]) ascending++;
    }
    expect(adjacent).toBeLessThan(5);
    expect(ascending).toBeGreaterThan(800);
    expect(ascending).toBeLessThan(1200);
  });

  it('is deterministic for a seed on a fresh process', () => {
    const a = placeInArenas(new Machine().spawn(), new Rng(5), 300, 1, 64);
    const b = placeInArenas(new Machine().spawn(), new Rng(5), 300, 1, 64);
    const c = placeInArenas(new Machine().spawn(), new Rng(6), 300, 1, 64);
    expect(Array.from(a.objectVpn)).toEqual(Array.from(b.objectVpn));
    expect(Array.from(a.objectVpn)).not.toEqual(Array.from(c.objectVpn));
  });

  it('rejects arenas smaller than an object', () => {
    expect(() => placeInArenas(new Machine().spawn(), new Rng(1), 1, 4, 2)).toThrow(/'arenaPages'/);
  });
});
