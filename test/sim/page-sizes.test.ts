// memory.pageSizes: a device maps each address with the largest page size its mapping allows
// (aligned, physically contiguous, one permission; for SVA the CPU page table's leaf), and a TLB
// entry holds one such page. A profile limited to [4 KiB] needs an entry per 4 KiB page and so
// misses far more on the same kernel than one with [4 KiB, 64 KiB, 2 MiB].
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import { bestPageSize } from '../../src/sim/drivers/pinning.ts';
import { encodeAccess, type LaneProgram } from '../../src/sim/program.ts';
import { profile, streamLanes, sequence } from './helpers.ts';

const KiB = 1024, MiB = 1024 * KiB;
const PAGES = 1024; // 4 MiB: two 2 MiB blocks

/** `name` with a 64-entry TLB and the given page sizes (bytes). */
function withSizes(name: string, sizes: number[], extra: Partial<Profile> = {}): Profile {
  const p = profile(name);
  return { ...p, ...extra, memory: { ...p.memory, pageSizes: sizes as Profile['memory']['pageSizes'] }, tlb: { ...p.tlb, entries: 64 } };
}

/** One CPU thread writing pages [base, base + n) from the last to the first. */
function reverseFill(base: number, n: number): LaneProgram[] {
  let v = base + n;
  return [{ next: () => (v > base ? encodeAccess(--v, true) : -1) }];
}

/**
 * The CPU fills a 2 MiB-aligned buffer of `kind` (in reverse with `scatter`, so that consecutive
 * pages get descending frames), then the device streams it `passes` times.
 */
function stream(prof: Profile, kind: 'anon' | 'thp', passes = 2, policies?: object, scatter = false) {
  const m = new SimMachine({ seed: 1, devices: [{ name: 'd', profile: prof, ...(policies ? { policies } : {}) }] });
  const p = m.spawn();
  const raw = p.mmap(PAGES + 512, kind, 'rw');
  const base = raw + ((512 - (raw % 512)) % 512);
  sequence(m, [
    () => m.cpuPhase(p, { name: 'fill', threads: scatter ? reverseFill(base, PAGES) : streamLanes(base, PAGES, 1, true), computePs: 0, accessBytes: 4096 }),
    () => m.launch('d', p, { name: 'k', lanes: streamLanes(base, PAGES, 1, false, passes), computePs: 1000, accessBytes: 64, regions: [{ base, pages: PAGES }] }),
  ]);
  m.run();
  const d = m.results('ps').devices[0];
  return { d, len: d.kernels[0].endPs - d.kernels[0].startPs };
}

describe('memory.pageSizes decides the translation size and so the TLB reach', () => {
  const ALL = [4 * KiB, 64 * KiB, 2 * MiB];

  it('memory.pageSizes, HMM mirror: blocks migrated into device memory map as 2 MiB pages; with only [4 KiB] every page takes an entry', () => {
    const small = stream(withSizes('gpu-pcie4', [4 * KiB]), 'anon');
    const big = stream(withSizes('gpu-pcie4', ALL), 'anon');
    expect(big.d.pagesIn).toBe(PAGES);
    expect(small.d.pagesIn).toBe(PAGES);
    // Two passes over 1024 pages with 64 entries: 4 KiB entries miss on every access; 2 MiB
    // entries miss only while the prefetcher is still filling a block (smaller pages until then).
    expect(small.d.tlb.misses).toBe(2 * PAGES);
    expect(big.d.tlb.misses).toBeLessThan(PAGES / 16);
    expect(small.len).toBeGreaterThan(big.len);
  });

  it('HMM mirror: [4 KiB, 64 KiB] gets 64 KiB entries, between the two', () => {
    const mid = stream(withSizes('gpu-pcie4', [4 * KiB, 64 * KiB]), 'anon');
    const big = stream(withSizes('gpu-pcie4', ALL), 'anon');
    expect(mid.d.tlb.misses).toBeLessThanOrEqual(2 * PAGES / 16);
    expect(mid.d.tlb.misses).toBeGreaterThan(big.d.tlb.misses);
  });

  it('HMM mirror mapping system memory in place: scattered pages stay 4 KiB, a THP maps as one 2 MiB page', () => {
    const remote = { placement: { policy: 'map-remote' } };
    const anon = stream(withSizes('gpu-pcie4', ALL), 'anon', 2, remote, true);
    const thp = stream(withSizes('gpu-pcie4', ALL), 'thp', 2, remote);
    expect(anon.d.pagesIn).toBe(0);
    expect(thp.d.pagesIn).toBe(0);
    // The first pass maps page by page (4 KiB entries until the THP is fully mapped); the
    // second pass needs one 2 MiB entry per THP.
    expect(thp.d.tlb.misses).toBeLessThanOrEqual(PAGES + 2);
    expect(anon.d.tlb.misses).toBe(2 * PAGES);
  });

  it('SVA: the ATC caches the CPU leaf, so a THP buffer takes 2 MiB entries unless the profile lists only 4 KiB', () => {
    const small = stream(withSizes('sva-accelerator', [4 * KiB]), 'thp');
    const big = stream(withSizes('sva-accelerator', [4 * KiB, 2 * MiB]), 'thp');
    expect(small.d.tlb.misses).toBe(2 * PAGES);
    expect(big.d.tlb.misses).toBeLessThanOrEqual(4);
    expect(small.len).toBeGreaterThan(big.len);
  });

  it('pinning (pin mode): the MR maps with the best page size its pinned pages allow (a THP buffer: 2 MiB)', () => {
    const pin = { registration: { mode: 'pin' as const } };
    const small = stream(withSizes('rdma-nic', [4 * KiB], pin), 'thp');
    const big = stream(withSizes('rdma-nic', [4 * KiB, 2 * MiB], pin), 'thp');
    expect(small.d.tlb.misses).toBe(2 * PAGES);
    expect(big.d.tlb.misses).toBeLessThanOrEqual(4);
  });

  it('bestPageSize follows ib_umem_find_best_pgsz: runs must start aligned (but the first) and congruent in VA and PA', () => {
    const sizes = [1, 16, 512];
    // One physically contiguous run, congruent modulo 2 MiB: 2 MiB pages.
    expect(bestPageSize(sizes, 1000, 600, (v) => v + 512 * 7)).toBe(512);
    // Congruent only modulo 64 KiB.
    expect(bestPageSize(sizes, 1000, 600, (v) => v + 16 * 3)).toBe(16);
    // Two runs, the second starting at vpn 1040 (64 KiB aligned, not 2 MiB): at most 64 KiB.
    expect(bestPageSize(sizes, 1024, 64, (v) => (v < 1040 ? v + 512 : v + 5120))).toBe(16);
    // Scattered pages: 4 KiB.
    expect(bestPageSize(sizes, 0, 8, (v) => 100 + 3 * v)).toBe(1);
  });
});
