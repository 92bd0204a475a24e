// Device-private THP (7.x: KernelSwitches.devicePrivateThp, modelled from source, not checked
// against a running kernel): the hmm-tests.c tests that came with MIGRATE_VMA_SELECT_COMPOUND in
// 6.19 (tools/testing/selftests/mm/hmm-tests.c of mainline), ported to the API for the
// device-private fixture (test_hmm hands out huge pages from private devices only here; the
// coherent fixture's forms of the older tests are in migrate.test.ts). Each test runs on 7.x,
// where a 2 MiB-aligned THP moves as one order-9 device folio mapped by a device-private PMD
// (snapshot 0x26: local | write | PMD), and where it differs, on 6.1 and 6.12 too, where
// migrate_vma splits every THP and the same test moves 512 4 KiB pages (0x22 each). Port:
// the C buffer is mmap(2 * size) aligned up to 2 MiB by hand; `p.mmap(512, 'thp', ...)` gives
// the aligned MADV_HUGEPAGE region directly ('anon' for MADV_NOHUGEPAGE). Additions to the C
// assertions are marked "port addition".
//
// migrate_remap_fault runs on mremap (src/mm/mremap.ts, modelled from mm/mremap.c), at the end.
// benchmark_thp_migration times migrations with gettimeofday; the
// untimed model has no time to report, so its port checks what it exercises (every buffer size,
// with and without THP, there and back, five iterations) and how the pages move.
import { describe, it, expect } from 'vitest';
import {
  setup, teardown, PMD_PAGES, INTS_PER_PAGE, cpuWriteInts, cpuReadInts, iota, mismatch, ints, expectCmd, perms, EINVAL, ENOENT,
} from './helpers.ts';
import { HMM_DMIRROR_FLAG_FAIL_ALLOC } from '../../src/devices/dmirror/dmirror.ts';
import type { KernelVersion } from '../../src/mm/kernel.ts';
import { MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP } from '../../src/mm/mremap.ts';
import { ptePfn } from '../../src/mm/pte.ts';

const DEV = 0;
const LOCAL = 0x20, READ = 0x01, WRITE = 0x02, PMD = 0x04;
const all = (n: number, v: number): number[] => new Array<number>(n).fill(v);
const KERNELS: KernelVersion[] = ['6.1', '6.12', '7.x'];
const thp = (k: KernelVersion): boolean => k === '7.x';

describe('hmm.hmm_device_private: device-private THP selftests (7.x modelled from source)', () => {
  // migrate_anon_huge_empty: an empty PROT_READ THP region; MIGRATE_TO_DEV(512) -> 0 / 512,
  // the device reads zeroes. Port addition: 7.x fills the 2 MiB hole with one device folio
  // (read-only: 0x25 on every page), older kernels with 512 pages (0x21).
  it.each(KERNELS)('migrate_anon_huge_empty on %s', (k) => {
    const { m, p, fd } = setup(DEV, undefined, k);
    const a = p.mmap(PMD_PAGES, 'thp', 'r');
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), () => 0)).toBeNull();
    expect(perms(fd.snapshot(a, PMD_PAGES))).toEqual(all(PMD_PAGES, LOCAL | READ | (thp(k) ? PMD : 0)));
    expect(m.driver.devices[DEV].hugeHeads.size).toBe(thp(k) ? 1 : 0);
    teardown(p, DEV);
  });

  // migrate_anon_huge_zero: the CPU reads the region first (the huge zero page); migrate ->
  // 0 / 512 with zeroes; the CPU reads zeroes back. Port addition: on 7.x the huge zero PMD is
  // collected as a 2 MiB hole and replaced by a device-private PMD; the fault brings the folio
  // back whole, as a read-only THP (0x05).
  it.each(KERNELS)('migrate_anon_huge_zero on %s', (k) => {
    const { p, fd } = setup(DEV, undefined, k);
    const a = p.mmap(PMD_PAGES, 'thp', 'r');
    expect(ints(p.read(a))[0]).toBe(0);
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), () => 0)).toBeNull();
    expect(perms(fd.snapshot(a, 1))).toEqual([LOCAL | READ | (thp(k) ? PMD : 0)]);
    expect(mismatch(cpuReadInts(p, a, PMD_PAGES), () => 0)).toBeNull();
    if (thp(k)) expect(perms(fd.snapshot(a, 2))).toEqual([READ | PMD, READ | PMD]);
    teardown(p, DEV);
  });

  // migrate_anon_huge_free: a written THP migrates (0 / 512, pattern i), then MADV_FREE -> 0.
  // Port additions: 7.x maps it by a device-private PMD (0x26); MADV_FREE leaves the non-present
  // PMD alone, so the CPU still reads pattern i.
  it.each(KERNELS)('migrate_anon_huge_free on %s', (k) => {
    const { p, fd } = setup(DEV, undefined, k);
    const a = p.mmap(PMD_PAGES, 'thp', 'rw');
    cpuWriteInts(p, a, PMD_PAGES, iota);
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect(perms(fd.snapshot(a, PMD_PAGES))).toEqual(all(PMD_PAGES, LOCAL | WRITE | (thp(k) ? PMD : 0)));
    expect(p.madvise(a, PMD_PAGES, 'free')).toBe(0);
    if (thp(k)) expect(perms(fd.snapshot(a, 1))).toEqual([LOCAL | WRITE | PMD]);
    expect(mismatch(cpuReadInts(p, a, PMD_PAGES), iota)).toBeNull();
    teardown(p, DEV);
  });

  // migrate_anon_huge_fault: pattern i, migrate (0 / 512), the CPU reads pattern i back. Port
  // additions: 7.x moves the folio whole both ways (one device folio, then a writable THP again:
  // 0x06); 6.1/6.12 split it and fault back 4 KiB pages.
  it.each(KERNELS)('migrate_anon_huge_fault on %s', (k) => {
    const { m, p, fd } = setup(DEV, undefined, k);
    const a = p.mmap(PMD_PAGES, 'thp', 'rw');
    cpuWriteInts(p, a, PMD_PAGES, iota);
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect(perms(fd.snapshot(a, 1))).toEqual([LOCAL | WRITE | (thp(k) ? PMD : 0)]);
    const migrated = m.sys.stats.migrateToRam;
    expect(mismatch(cpuReadInts(p, a, PMD_PAGES), iota)).toBeNull();
    // One migrate_to_ram for the whole folio on 7.x, one per page before.
    expect(m.sys.stats.migrateToRam - migrated).toBe(thp(k) ? 1 : PMD_PAGES);
    expect(perms(fd.snapshot(a, 1))).toEqual([WRITE | (thp(k) ? PMD : 0)]);
    teardown(p, DEV);
  });

  // migrate_partial_unmap_fault: for THP on and off and unmap offsets 0, 512 KiB and 1 MiB:
  // pattern i over 2 MiB, migrate (0 / 512), munmap 1 MiB at the offset, the CPU reads pattern i
  // everywhere else. On 7.x with THP the munmap splits the device-private PMD into 512
  // device-private PTEs (__split_huge_pmd_locked) and the faults split the device folio.
  // Port addition: the hole snapshots 0xff and the rest comes back as 4 KiB pages (0x02).
  for (const k of KERNELS) {
    it.each([
      [true, 0], [true, PMD_PAGES / 4], [true, PMD_PAGES / 2],
      [false, 0], [false, PMD_PAGES / 4], [false, PMD_PAGES / 2],
    ])(`migrate_partial_unmap_fault on ${k} (thp=%s, offset=%i pages)`, (useThp, off) => {
      const { m, p, fd } = setup(DEV, undefined, k);
      const a = p.mmap(PMD_PAGES, useThp ? 'thp' : 'anon', 'rw');
      cpuWriteInts(p, a, PMD_PAGES, iota);
      const r = fd.migrateToDevice(a, PMD_PAGES);
      expectCmd(r, 0, PMD_PAGES);
      expect(mismatch(ints(r.data), iota)).toBeNull();
      expect(perms(fd.snapshot(a, 1))).toEqual([LOCAL | WRITE | (useThp && thp(k) ? PMD : 0)]);
      const hole = PMD_PAGES / 2;
      expect(p.munmap(a + off, hole)).toBe(0);
      if (off > 0) expect(mismatch(cpuReadInts(p, a, off), iota)).toBeNull();
      const rest = PMD_PAGES - off - hole;
      if (rest > 0) expect(mismatch(cpuReadInts(p, a + off + hole, rest), (i) => i + (off + hole) * INTS_PER_PAGE)).toBeNull();
      expect(perms(fd.snapshot(a + off, 1))).toEqual([0xff]);
      const kept = off > 0 ? a : a + off + hole;
      expect(perms(fd.snapshot(kept, 1))).toEqual([WRITE]);
      // The device folio is gone: split, its unmapped half freed, the rest migrated back.
      expect(m.driver.devices[DEV].hugeHeads.size).toBe(0);
      teardown(p, DEV);
    });
  }

  // migrate_anon_huge_err: HMM_DMIRROR_FLAGS(HMM_DMIRROR_FLAG_FAIL_ALLOC) makes the huge device
  // allocation fail: the THP still migrates (0 / 512, pattern i) as 512 4 KiB device pages (the
  // core splits the source, migrate_vma_split_unmapped_folio); the CPU reads int 2048 back.
  // Then a fresh THP migrates whole, and with the flag set again migrate_to_sys cannot allocate
  // a system THP: the device folio is split and comes back as 4 KiB pages (0); int 2048 reads
  // back. 6.1 and 6.12 have no HMM_DMIRROR_FLAGS (-EINVAL). Port additions: the snapshots.
  it('migrate_anon_huge_err on 7.x', () => {
    const { m, p, fd } = setup(DEV, undefined, '7.x');
    const dev = m.driver.devices[DEV];
    let a = p.mmap(PMD_PAGES, 'thp', 'rw');
    cpuWriteInts(p, a, PMD_PAGES, iota);
    expectCmd(fd.setFlags(a, HMM_DMIRROR_FLAG_FAIL_ALLOC), 0);
    let r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect(perms(fd.snapshot(a, 2))).toEqual([LOCAL | WRITE, LOCAL | WRITE]);
    expect(dev.hugeHeads.size).toBe(0);
    expect(ints(p.read(a + 2048 / INTS_PER_PAGE))[0]).toBe(2048);
    expect(p.munmap(a, PMD_PAGES)).toBe(0);

    a = p.mmap(PMD_PAGES, 'thp', 'rw');
    cpuWriteInts(p, a, PMD_PAGES, iota);
    r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(perms(fd.snapshot(a, 1))).toEqual([LOCAL | WRITE | PMD]);
    expectCmd(fd.setFlags(a, HMM_DMIRROR_FLAG_FAIL_ALLOC), 0);
    expectCmd(fd.migrateToSystem(a, PMD_PAGES), 0);
    expect(ints(p.read(a + 2048 / INTS_PER_PAGE))[0]).toBe(2048);
    expect(perms(fd.snapshot(a, 2))).toEqual([WRITE, WRITE]);
    expect(dev.hugeHeads.size).toBe(0);
    expect(mismatch(cpuReadInts(p, a, PMD_PAGES), iota)).toBeNull();
    teardown(p, DEV);
  });

  it.each(['6.1', '6.12'] as const)('migrate_anon_huge_err on %s: no HMM_DMIRROR_FLAGS (-EINVAL)', (k) => {
    const { p, fd } = setup(DEV, undefined, k);
    const a = p.mmap(PMD_PAGES, 'thp', 'rw');
    expect(fd.setFlags(a, HMM_DMIRROR_FLAG_FAIL_ALLOC).ret).toBe(EINVAL);
    teardown(p, DEV);
  });

  // migrate_anon_huge_zero_err: an empty PROT_READ THP region, FAIL_ALLOC, migrate -> 0 / 512
  // zeroes (the 2 MiB hole filled with 4 KiB device pages), int 2048 reads 0. Then the huge zero
  // page (a CPU read), FAIL_ALLOC, migrate -> 0 / 512, the CPU reads zeroes everywhere.
  it('migrate_anon_huge_zero_err on 7.x', () => {
    const { p, fd } = setup(DEV, undefined, '7.x');
    let a = p.mmap(PMD_PAGES, 'thp', 'r');
    expectCmd(fd.setFlags(a, HMM_DMIRROR_FLAG_FAIL_ALLOC), 0);
    let r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), () => 0)).toBeNull();
    expect(perms(fd.snapshot(a, 1))).toEqual([LOCAL | READ]);
    expect(ints(p.read(a + 2))[0]).toBe(0);
    expect(p.munmap(a, PMD_PAGES)).toBe(0);

    a = p.mmap(PMD_PAGES, 'thp', 'r');
    expect(ints(p.read(a))[0]).toBe(0);
    expect(perms(fd.snapshot(a, 1))).toEqual([READ | PMD]);
    expectCmd(fd.setFlags(a, HMM_DMIRROR_FLAG_FAIL_ALLOC), 0);
    r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(perms(fd.snapshot(a, 1))).toEqual([LOCAL | READ]);
    expect(mismatch(cpuReadInts(p, a, PMD_PAGES), () => 0)).toBeNull();
    teardown(p, DEV);
  });

  // benchmark_thp_migration (TEST_F_TIMEOUT 120): for each buffer size, with MADV_HUGEPAGE and
  // with MADV_NOHUGEPAGE: write ints & 0xff, a warm-up migration there and back, then iterations
  // of MIGRATE_TO_DEV and MIGRATE_TO_SYS, each returning 0. The model has no wall clock to
  // print; the port keeps the sizes up to 8 MiB (the C test goes on to 16 and 256 MiB) and checks
  // the data after every round and that with THP every whole 2 MiB block moved as one folio.
  it.each([[128], [256], [512], [1024], [2048]])('benchmark_thp_migration on 7.x (%i pages)', (npages) => {
    const { m, p, fd } = setup(DEV, undefined, '7.x');
    const dev = m.driver.devices[DEV];
    const pat = (i: number): number => i & 0xff;
    for (const useThp of [true, false]) {
      const a = p.mmap(npages, useThp ? 'thp' : 'anon', 'rw');
      cpuWriteInts(p, a, npages, pat);
      for (let it = 0; it < 1 + 5; it++) {
        const r = fd.migrateToDevice(a, npages);
        expectCmd(r, 0, npages);
        expect(dev.hugeHeads.size).toBe(useThp ? Math.floor(npages / PMD_PAGES) : 0);
        expectCmd(fd.migrateToSystem(a, npages), 0);
      }
      expect(mismatch(cpuReadInts(p, a, npages), pat)).toBeNull();
      expect(perms(fd.snapshot(a, 1))).toEqual([WRITE | (useThp && npages >= PMD_PAGES ? PMD : 0)]);
      expect(p.munmap(a, npages)).toBe(0);
    }
    teardown(p, DEV);
  });
});

// migrate_remap_fault (6.19's hmm-tests.c), modelled from source (mremap is src/mm/mremap.ts,
// modelled from mm/mremap.c; no oracle runs mremap). A 16 MiB anonymous buffer, the 2 MiB-aligned
// `map` inside it advised MADV_HUGEPAGE (use_thp) or MADV_NOHUGEPAGE, the 4 MiB after map + 2 MiB
// unmapped; ints i written; mremap(map, 2 MiB, 2 MiB, MAYMOVE | FIXED [| DONTUNMAP],
// map + 2 MiB + offset) for offsets 0, 512 KiB, 1 MiB, before or after migrating the 512 pages to
// the device (0 / 512, the device reads i); the CPU then reads i at the new address. Port
// additions: on 7.x with THP and the move after the migration, an aligned move (offset 0) moves the
// device-private PMD whole (one huge device folio before and after, snapshot 0x26 at the new
// address) and the CPU fault brings the 2 MiB folio back whole; an unaligned move splits it into
// 512 device-private PTEs (0x22). On 6.1 and 6.12 the 512 4 KiB device-private entries move.
// After the move the old range is empty (DONTUNMAP) or gone (SIGSEGV).
describe('hmm.hmm_device_private: migrate_remap_fault (mremap modelled from source)', () => {
  const OFFSETS = [0, 128, 256]; // 0, 512 KiB, 1 MiB in pages
  const cases: Array<[KernelVersion, boolean, boolean, boolean]> = [];
  for (const k of KERNELS) for (const before of [false, true]) for (const dontUnmap of [false, true]) for (const useThp of [false, true]) cases.push([k, before, dontUnmap, useThp]);
  it.each(cases)('on %s (before %s, dont_unmap %s, use_thp %s)', (k, before, dontUnmap, useThp) => {
    for (const off of OFFSETS) {
      const { m, p, fd } = setup(DEV, undefined, k);
      const flags = MREMAP_MAYMOVE | MREMAP_FIXED | (dontUnmap ? MREMAP_DONTUNMAP : 0);
      const buf = p.mmap(8 * PMD_PAGES, 'anon', 'rw');
      const map = Math.ceil(buf / PMD_PAGES) * PMD_PAGES;
      expect(p.madvise(map, PMD_PAGES, useThp ? 'hugepage' : 'nohugepage')).toBe(0);
      expect(p.munmap(map + PMD_PAGES, 2 * PMD_PAGES)).toBe(0);
      cpuWriteInts(p, map, PMD_PAGES, iota);
      let ptr = map;
      const remap = (): void => {
        const r = p.mremap(map, PMD_PAGES, PMD_PAGES, flags, map + PMD_PAGES + off);
        expect(r).toBe(map + PMD_PAGES + off);
        ptr = r;
      };
      if (before) remap();
      const r = fd.migrateToDevice(ptr, PMD_PAGES);
      // Port addition (a prediction of the model, not checked on a kernel): on 6.1 and 6.12 an
      // unaligned move of the THP before the migration leaves it PTE-mapped, a large folio that
      // migrate_vma of those kernels does not collect (migrate_vma_check_page refuses compound
      // pages), so nothing migrates and the read of the mirror finds no entry: -ENOENT, where
      // the C test's ASSERT_EQ(ret, 0) fails. 6.19 splits such folios (migrate_vma_split_folio).
      const stuck = !thp(k) && useThp && before && off !== 0;
      if (stuck) expectCmd(r, ENOENT, 0);
      else {
        expectCmd(r, 0, PMD_PAGES);
        expect(mismatch(ints(r.data), iota)).toBeNull();
      }
      const hugeOnDevice = thp(k) && useThp && (!before || off === 0);
      expect(m.driver.devices[DEV].hugeHeads.size).toBe(hugeOnDevice ? 1 : 0);
      if (!before) remap();
      // Port addition: how the entries arrived at the new address.
      const moved = perms(fd.snapshot(ptr, PMD_PAGES));
      if (!stuck) expect(moved).toEqual(all(PMD_PAGES, LOCAL | WRITE | (hugeOnDevice && off === 0 ? PMD : 0)));
      else expect(moved.every((x) => (x & LOCAL) === 0)).toBe(true);
      // Fault pages back to system memory and check them.
      expect(mismatch(cpuReadInts(p, ptr, PMD_PAGES), iota)).toBeNull();
      // Port addition: a device-private PMD moved whole comes back as one PMD-mapped THP.
      const pmd = p.mm.pt.pmd(ptr);
      if (hugeOnDevice && off === 0) expect(pmd !== undefined && pmd.huge !== 0 && !p.sys.pages.isDevicePrivate(ptePfn(pmd.huge))).toBe(true);
      // Port addition: nothing is left on the device, and the old range is empty or gone.
      expect(perms(fd.snapshot(ptr, PMD_PAGES)).every((x) => (x & LOCAL) === 0)).toBe(true);
      if (dontUnmap) expect(mismatch(cpuReadInts(p, map, 1), () => 0)).toBeNull();
      else expect(p.access(map, false)).toBe('SIGSEGV');
      expect(p.munmap(ptr, PMD_PAGES)).toBe(0);
      teardown(p, DEV);
    }
  });
});
