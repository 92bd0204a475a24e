import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { runArb, replay, newStats, FuzzMismatch, type Op } from './fuzz-harness.ts';
import { InvariantError } from '../invariants.ts';
import type { Machine } from '../../src/api/machine.ts';
import type { Dmirror } from '../../src/devices/dmirror/dmirror.ts';

// Model-based random testing: see fuzz-harness.ts for the op mix, the reference model and what
// is checked after every op. A failure prints fast-check's seed/path and the shrunk op list;
// replay it with `replay(ops)`, or `fc.assert(..., { seed, path })`. HETMEM_FUZZ_RUNS and
// HETMEM_FUZZ_SEED override the defaults. The long run is test/fuzz/long.test.ts.
const RUNS = Number(process.env.HETMEM_FUZZ_RUNS ?? 250);
const SEED = process.env.HETMEM_FUZZ_SEED ? Number(process.env.HETMEM_FUZZ_SEED) : undefined;

describe('model-based fuzz: reference contents + invariants after every op', () => {
  it(`${RUNS} random runs of up to 60 ops`, () => {
    const stats = newStats();
    fc.assert(fc.property(runArb(60), (ops: Op[]) => {
      replay(ops, stats);
    }), { numRuns: RUNS, seed: SEED });
    console.log(`fuzz: ${stats.runs} runs, ${stats.ops} ops (${stats.executed} executed, ${stats.skippedKernelBug} left out for kernel bugs 17/18), ${stats.kernelDied} runs ended by a kernel crash/hang`);
    expect(stats.ops).toBeGreaterThan(RUNS * 10);
    // The fuzz reaches device states: device-private, coherent and exclusive mappings.
    expect(stats.devicePrivateSeen).toBeGreaterThan(0);
    expect(stats.deviceCoherentSeen).toBeGreaterThan(0);
    expect(stats.exclusiveSeen).toBeGreaterThan(0);
    expect(stats.kernelDied).toBeLessThanOrEqual(Math.ceil(stats.runs * 0.02));
  });
});

describe('the fuzz notices a broken machine', () => {
  /** Runs the property on a sabotaged machine and returns the error fast-check reports. */
  function failure(sabotage: (m: Machine) => void, numRuns = 300): Error {
    try {
      fc.assert(fc.property(runArb(40), (ops: Op[]) => {
        replay(ops, newStats(), sabotage);
      }), { numRuns, seed: 42 });
    } catch (e) {
      return (e as Error).cause as Error;
    }
    throw new Error('the sabotaged machine passed');
  }

  it('copy_highpage that copies nothing (migration/COW lose data)', () => {
    const e = failure((m) => {
      m.sys.pages.copy = () => undefined;
    });
    expect(e).toBeInstanceOf(FuzzMismatch);
  });

  it('a mirror that ignores invalidations (stale device page table)', () => {
    const e = failure((m) => {
      const open = m.driver.open.bind(m.driver);
      m.driver.open = (dev, mm) => {
        const d: Dmirror = open(dev, mm);
        type Invalidate = (sub: { setSeq(c: number): void }, range: unknown, cur: number) => boolean;
        (d as unknown as { invalidate: Invalidate }).invalidate = (sub, _range, cur) => {
          sub.setSeq(cur);
          return true;
        };
        return d;
      };
    });
    expect(e).toBeInstanceOf(InvariantError);
    expect(e.message).toMatch(/mirror\(dev\d, mm\d+\)/);
  });

  it('a driver that forgets to free backing pages (leak)', () => {
    const e = failure((m) => {
      for (const dev of m.driver.devices) dev.backing.delete = () => false;
    });
    expect(e).toBeInstanceOf(InvariantError);
    expect(e.message).toMatch(/backing entry for a free or foreign device page|leak/);
  });
});
