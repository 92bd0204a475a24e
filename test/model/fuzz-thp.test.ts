import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { runArb, replay, newStats, type Op } from './fuzz-harness.ts';

// The model-based fuzz of fuzz.test.ts on kernel 7.x, where device-private THP
// (KernelSwitches.devicePrivateThp, modelled from source) moves whole PMDs to device memory and
// back: random THP migrations, partial munmap/mprotect/madvise splits of device-private PMDs,
// forks copying them, CPU faults, GUP, move_pages and exits, checked against the flat reference
// and the invariants after every op. Each run starts with a THP region the CPU has written, and
// one op in five is a migration of a whole THP region to or from a device (the
// harness's `whole` span): device-private PMD entries are common, and coherent devices, which
// hand out no huge pages here, take the 4 KiB fallback that splits the THP.
// HETMEM_FUZZ_RUNS and HETMEM_FUZZ_SEED override the defaults.
const RUNS = Math.max(1, Math.floor(Number(process.env.HETMEM_FUZZ_RUNS ?? 250) / 6));
const SEED = process.env.HETMEM_FUZZ_SEED ? Number(process.env.HETMEM_FUZZ_SEED) : 7;

const wholeThp: fc.Arbitrary<Op> = fc.record({
  k: fc.constantFrom<'migrate_to_dev' | 'migrate_to_sys'>('migrate_to_dev', 'migrate_to_dev', 'migrate_to_sys'),
  p: fc.nat({ max: 3 }), d: fc.nat({ max: 3 }), r: fc.constant(0), off: fc.constant(0), n: fc.constant(0),
});
const thpRunArb: fc.Arbitrary<Op[]> = fc.tuple(runArb(50), fc.array(wholeThp, { minLength: 1, maxLength: 12 }), fc.nat({ max: 255 }))
  .map(([ops, extra, b]) => {
    const out: Op[] = [{ k: 'mmap', p: 0, kind: 'thp', n: 0, prot: 'rw' }, { k: 'cpu_write', p: 0, r: 0, off: b, byte: 1 + (b % 255) }];
    ops.forEach((o, i) => {
      out.push(o);
      if (i % 5 === 4 && extra.length) out.push(extra[(i / 5) % extra.length | 0]);
    });
    return out;
  });

describe('model-based fuzz on 7.x (device-private THP)', () => {
  it(`${RUNS} random runs keep every byte`, () => {
    const before = process.env.HETMEM_FUZZ_KERNEL;
    process.env.HETMEM_FUZZ_KERNEL = '7.x';
    try {
      const stats = newStats();
      fc.assert(fc.property(thpRunArb, (ops: Op[]) => {
        replay(ops, stats);
      }), { numRuns: RUNS, seed: SEED });
      console.log(`fuzz 7.x: ${stats.runs} runs, ${stats.ops} ops, device-private PMDs seen ${stats.devicePrivatePmdSeen} times`);
      // The runs reach the state this test is for: device-private PMD entries, and PTEs.
      expect(stats.devicePrivatePmdSeen).toBeGreaterThan(RUNS);
      expect(stats.devicePrivateSeen).toBeGreaterThan(0);
    } finally {
      if (before === undefined) delete process.env.HETMEM_FUZZ_KERNEL;
      else process.env.HETMEM_FUZZ_KERNEL = before;
    }
  }, 600_000);
});
