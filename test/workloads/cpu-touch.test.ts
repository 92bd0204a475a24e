import { describe, it, expect } from 'vitest';
import { cpuTouch } from '../../src/workloads/cpu-touch.ts';
import { Machine } from '../../src/api/machine.ts';
import { accessIsWrite, accessVpn } from '../../src/sim/program.ts';
import { R, W, drain, drainAll } from './helpers.ts';

describe('cpuTouch', () => {
  it('defaults to one thread reading every page in order, priced as whole pages', () => {
    const p = cpuTouch({ base: 50, pages: 3 });
    expect(p.threads).toHaveLength(1);
    expect(drain(p.threads[0])).toEqual([R(50), R(51), R(52)]);
    expect([p.name, p.computePs, p.accessBytes]).toEqual(['cpuTouch', 1000, 4096]);
  });

  it('splits pages contiguously among threads like streaming', () => {
    const p = cpuTouch({ base: 0, pages: 7, threads: 3, write: true });
    expect(drainAll(p.threads)).toEqual([[W(0), W(1), W(2)], [W(3), W(4)], [W(5), W(6)]]);
  });

  it("supports read-modify-write and repeated passes", () => {
    const p = cpuTouch({ base: 9, pages: 1, write: 'rw', passes: 2 });
    expect(drain(p.threads[0])).toEqual([R(9), W(9), R(9), W(9)]);
  });

  it('drives real CPU accesses on a mapped buffer (init then check)', () => {
    const proc = new Machine().spawn();
    const base = proc.mmap(16, 'anon', 'rw');
    for (const phase of [cpuTouch({ base, pages: 16, threads: 2, write: true }), cpuTouch({ base, pages: 16 })]) {
      for (const a of drainAll(phase.threads).flat()) {
        expect(typeof proc.access(accessVpn(a), accessIsWrite(a))).toBe('number');
      }
    }
  });

  it('rejects bad options by name', () => {
    expect(() => cpuTouch({ base: 0, pages: 1, threads: 0 })).toThrow(/'threads'/);
    expect(() => cpuTouch({ base: 0, pages: -3 })).toThrow(/'pages'/);
    expect(() => cpuTouch({ base: 0, pages: 1, passes: 2.5 })).toThrow(/'passes'/);
  });
});
