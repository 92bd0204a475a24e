// Counterexamples the model-based fuzz found (test/model/fuzz-harness.ts), minimized to
// 1-minimal op lists (no single op can go), each replayed on the kernels it was found on and
// on the others: the op lists are raw records, so each is still a valid run everywhere.
import { describe, it, expect } from 'vitest';
import { replay, newStats, type Op } from './fuzz-harness.ts';
import { KERNEL_VERSIONS } from '../../src/mm/kernel.ts';

interface Case {
  /** Where and how the fuzz found it, and what was wrong. */
  readonly what: string;
  readonly ops: Op[];
}

const CASES: Case[] = [
  {
    // Fuzz seed 7 run 234 (6.12 and 7.x): MADV_FREE of page 0 of a THP that mprotect had split
    // into VMAs [0,1) and [1,3) (munmap made the third) splits the folio; split_huge_page
    // invalidated only the first VMA of each mm and PMD, so dev 0's mirror kept pfn 0x40402 for
    // page 2, which the 6.12 split had remapped to the zero page ("mirror maps pfn 0x40402, the
    // CPU maps 0x1"). unmap_folio → try_to_migrate_one invalidates per VMA (huge-memory.ts).
    what: 'split_huge_page invalidates every VMA the THP is mapped in (seed 7 run 234)',
    ops: [
      { k: 'mmap', p: 0, kind: 'anon', n: 0, prot: 'rw' },
      { k: 'mmap', p: 0, kind: 'anon', n: 0, prot: 'rw' },
      { k: 'mmap', p: 0, kind: 'thp', n: 0, prot: 'rw' },
      { k: 'cpu_write', p: 0, r: 380, off: 0, byte: 1 },
      { k: 'munmap', p: 0, r: 740, off: 3, n: 13 },
      { k: 'dev_read', d: 0, p: 0, r: 8, off: 0, n: 242 },
      { k: 'mprotect', p: 0, r: 347, off: 0, n: 0, prot: 'r' },
      { k: 'madvise', p: 0, r: 512, off: 0, n: 0, adv: 'free' },
    ],
  },
];

describe('model-based fuzz counterexamples, replayed on every kernel', () => {
  for (const c of CASES) {
    for (const kernel of KERNEL_VERSIONS) {
      it(`${c.what} — ${kernel}`, () => {
        const stats = replay(c.ops, newStats(), undefined, kernel);
        // Every op ran (none skipped), and the run ended normally, not in a modelled oops.
        expect(stats.kernelDied).toBe(0);
        expect(stats.executed).toBe(c.ops.length);
      });
    }
  }
});
