import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { runArb, replay, newStats, type Op } from './fuzz-harness.ts';

// Model-based random testing (see fuzz-harness.ts for the reference model and what is checked
// after every op). A failure prints fast-check's seed and path and the shrunk op list; replay it
// with `replay(ops)` or `fc.assert(..., { seed, path })`.
const RUNS = Number(process.env.HETMEM_FUZZ_RUNS ?? 250);

describe('model-based fuzz: reference contents + invariants after every op', () => {
  it(`${RUNS} random runs of up to 60 ops`, () => {
    const stats = newStats();
    fc.assert(fc.property(runArb(60), (ops: Op[]) => {
      replay(ops, stats);
    }), { numRuns: RUNS });
    console.log(JSON.stringify(stats));
    expect(stats.kernelDied).toBeLessThanOrEqual(stats.runs * 0.05);
  });
});
