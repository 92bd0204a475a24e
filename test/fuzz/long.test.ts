import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { runArb, replay, newStats, type Op } from '../model/fuzz-harness.ts';

// The long model-based fuzz run (`npm run test:long`, i.e. HETMEM_LONG=1): at least 100,000
// ops, each followed by the invariant checker and the reference-content check (see
// test/model/fuzz-harness.ts). 1,000 runs of 100 to 200 ops; fast-check prints the seed and the
// shrunk op list of a failure. HETMEM_FUZZ_SEED fixes the seed.
const LONG = !!process.env.HETMEM_LONG;
const SEED = process.env.HETMEM_FUZZ_SEED ? Number(process.env.HETMEM_FUZZ_SEED) : undefined;
const RUNS = 1000;
const MIN_OPS = 100_000;

describe('long model-based fuzz', () => {
  it.skipIf(!LONG)(`${RUNS} runs of 100-200 ops (>= ${MIN_OPS} ops)`, () => {
    const stats = newStats();
    const t0 = Date.now();
    const arb = runArb(200).filter((ops) => ops.length >= 100);
    fc.assert(fc.property(arb, (ops: Op[]) => {
      replay(ops, stats);
    }), { numRuns: RUNS, seed: SEED });
    console.log(`long fuzz: ${stats.runs} runs, ${stats.ops} ops (${stats.executed} executed, ${stats.skippedKernelBug} left out for kernel bugs 17/18), ${stats.kernelDied} runs ended by a kernel crash/hang, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    console.log(JSON.stringify(stats.byKind));
    expect(stats.ops).toBeGreaterThanOrEqual(MIN_OPS);
    expect(stats.kernelDied).toBeLessThanOrEqual(Math.ceil(stats.runs * 0.02));
  }, 3_600_000);
});
