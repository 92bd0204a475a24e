// A kernel-wide barrier (LANE_BARRIER): a lane that returns it waits until every lane of its
// kernel still running waits there too, and all resume at the latest arrival. Level-synchronous
// BFS needs it: the next frontier is only known once every lane has read its share of the level.
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { LANE_BARRIER, encodeAccess, type LaneProgram } from '../../src/sim/program.ts';
import { profile } from './helpers.ts';

/** A lane making `script`'s accesses (page numbers, or 'B' for the barrier), logging each with its lane. */
function scripted(lane: number, script: (number | 'B')[], log: string[], write = false): LaneProgram {
  let i = 0;
  return {
    next(): number {
      if (i >= script.length) return -1;
      const s = script[i++];
      if (s === 'B') return LANE_BARRIER;
      log.push(`${lane}:${s}`);
      return encodeAccess(s, write);
    },
  };
}

describe('kernel barrier', () => {
  it('holds every lane until the slowest arrives, then resumes them together', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g0', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(64, 'anon', 'rw');
    const log: string[] = [];
    // Lane 0 reaches the barrier after one access, lane 1 after 40 (each a fault and a migration).
    const slow = Array.from({ length: 40 }, (_, k) => base + 1 + k);
    m.launch('g0', p, {
      name: 'sync', computePs: 1000, accessBytes: 64,
      lanes: [scripted(0, [base, 'B', base + 50], log), scripted(1, [...slow, 'B', base + 51], log)],
    });
    m.run();
    // Lane 0's access after the barrier comes after all of lane 1's before it.
    expect(log.indexOf('0:' + (base + 50))).toBeGreaterThan(log.indexOf('1:' + (base + 40)));
    expect(log).toContain('1:' + (base + 51));
    expect(m.results('sync').devices[0].kernels).toHaveLength(1);
  });

  it('a lane that ends (here: a fatal fault kills it) no longer holds the others', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g0', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(8, 'anon', 'rw');
    const ro = p.mmap(1, 'anon', 'r');
    const log: string[] = [];
    m.launch('g0', p, {
      name: 'sync', computePs: 1000, accessBytes: 64,
      lanes: [
        scripted(0, [base, 'B', base + 1], log),
        scripted(1, [ro, 'B', base + 2], log, true), // a write to a read-only page: killed before its barrier
        scripted(2, [base + 3], log), // ends without reaching the barrier
      ],
    });
    m.run();
    const r = m.results('sync');
    expect(r.devices[0].faults.fatal).toBeGreaterThan(0);
    expect(log).toContain('0:' + (base + 1));
    expect(log).not.toContain('1:' + (base + 2));
    expect(r.devices[0].kernels).toHaveLength(1);
  });
});
