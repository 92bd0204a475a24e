// Ports of the migration cases of Linux 6.1's hmm-tests.c (FIXTURE(hmm) and FIXTURE(hmm2)),
// plus the migrate_anon_huge_* / migrate_partial_unmap_fault cases of newer kernels that do not
// need 6.1-absent features (device-private THPs, HMM_DMIRROR_FLAGS, MADV_COLLAPSE, mremap).
// 6.1 behaviour followed: MIGRATE_TO_DEV works in 64-page chunks, splits PMD-mapped THPs
// first, and reports the mirror read-back (behaviour 3 of shared/hmmtrace/README.md).
import { describe, it, expect } from 'vitest';
import {
  VARIANTS, N, FULL_NPAGES, PMD_PAGES, EINVAL, ENOENT, setup, teardown, cpuWriteInts, cpuReadInts, ints, mismatch, iota,
  expectCmd, INTS_PER_PAGE,
} from './helpers.ts';

const all = (n: number, v: number): number[] => new Array<number>(n).fill(v);

describe.each(VARIANTS)('hmm.%s (migration)', (_name, dev, _dev1, coherent) => {
  const local = coherent ? 0x40 : 0x20; // DEV_COHERENT_LOCAL / DEV_PRIVATE_LOCAL

  // migrate: pattern i, MIGRATE_TO_DEV(N) -> 0, cpages N, the mirror holds pattern i.
  // Port: full size; addition: the snapshot shows every page as this device's (0x22 / 0x42).
  it('migrate (1024 pages)', () => {
    const { p, fd } = setup(dev);
    const n = FULL_NPAGES;
    const a = p.mmap(n, 'anon', 'rw');
    cpuWriteInts(p, a, n, iota);
    const r = fd.migrateToDevice(a, n);
    expectCmd(r, 0, n, 0);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect([...fd.snapshot(a, n).perm!]).toEqual(all(n, local | 0x02));
    teardown(p, dev);
  });

  // migrate_fault: migrate, the CPU reads the first half (private: each read migrates that page
  // back; coherent: read in place), migrate again -> 0, cpages N (the second half is still in
  // this device's memory and its mirror entries survived: own migrations are ignored).
  it('migrate_fault (1024 pages)', () => {
    const { p, fd } = setup(dev);
    const n = FULL_NPAGES;
    const a = p.mmap(n, 'anon', 'rw');
    cpuWriteInts(p, a, n, iota);
    let r = fd.migrateToDevice(a, n);
    expectCmd(r, 0, n);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect(mismatch(cpuReadInts(p, a, n / 2), iota)).toBeNull();
    expect(fd.snapshot(a, 1).perm![0]).toBe(coherent ? 0x42 : 0x02);
    r = fd.migrateToDevice(a, n);
    expectCmd(r, 0, n);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect([...fd.snapshot(a, n).perm!]).toEqual(all(n, local | 0x02));
    teardown(p, dev);
  });

  // migrate_release: migrate, HMM_DMIRROR_RELEASE -> 0 (every page of the device is evicted to
  // RAM and the chunks are freed), the CPU reads the first half == pattern i. Port additions:
  // the evicted pages are writable system pages (0x02); the second half holds pattern i; a new
  // migration afterwards gets a fresh chunk.
  it('migrate_release', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(N, 'anon', 'rw');
    cpuWriteInts(p, a, N, iota);
    const r = fd.migrateToDevice(a, N);
    expectCmd(r, 0, N);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expectCmd(fd.release(), 0);
    expect([...fd.snapshot(a, N).perm!]).toEqual(all(N, 0x02));
    expect(mismatch(cpuReadInts(p, a, N / 2), iota)).toBeNull();
    expect(mismatch(cpuReadInts(p, a + N / 2, N / 2), (k) => k + (N / 2) * INTS_PER_PAGE)).toBeNull();
    expectCmd(fd.migrateToDevice(a, N), 0, N);
    expect([...fd.snapshot(a, N).perm!]).toEqual(all(N, local | 0x02));
    teardown(p, dev);
  });

  // migrate_shared: an untouched MAP_SHARED|MAP_ANONYMOUS buffer; MIGRATE_TO_DEV -> -ENOENT
  // (shmem is not migrated, so nothing is in the mirror for the read-back).
  it('migrate_shared (-ENOENT)', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(N, 'shared', 'rw');
    expect(fd.migrateToDevice(a, N).ret).toBe(ENOENT);
    expect([...fd.snapshot(a, N).perm!]).toEqual(all(N, 0x00));
    teardown(p, dev);
  });

  // migrate_multiple: 10 times: new buffer with pattern i, MIGRATE_TO_DEV -> 0/N with pattern
  // i; coherent variant: MIGRATE_TO_SYS -> 0, cpages N; the CPU reads pattern i (private:
  // faulting each page back); free. Port: N = 64.
  it('migrate_multiple (10 times)', () => {
    const { p, fd } = setup(dev);
    for (let c = 0; c < 10; c++) {
      const a = p.mmap(N, 'anon', 'rw');
      cpuWriteInts(p, a, N, iota);
      const r = fd.migrateToDevice(a, N);
      expectCmd(r, 0, N);
      expect(mismatch(ints(r.data), iota)).toBeNull();
      if (coherent) expectCmd(fd.migrateToSystem(a, N), 0, N);
      expect(mismatch(cpuReadInts(p, a, N), iota)).toBeNull();
      expect(p.munmap(a, N)).toBe(0);
    }
    teardown(p, dev);
  });

  // Port addition (migrate_multiple's private path, done by ioctl): MIGRATE_TO_SYS brings
  // every page back (cpages N) and a second one finds nothing (cpages 0).
  it('migrate to device and back with MIGRATE_TO_SYS', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(N, 'anon', 'rw');
    cpuWriteInts(p, a, N, iota);
    expectCmd(fd.migrateToDevice(a, N), 0, N);
    expectCmd(fd.migrateToSystem(a, N), 0, N, 0);
    expectCmd(fd.migrateToSystem(a, N), 0, 0, 0);
    expect([...fd.snapshot(a, N).perm!]).toEqual(all(N, 0x02));
    expect(mismatch(cpuReadInts(p, a, N), iota)).toBeNull();
    teardown(p, dev);
  });

  // hmm_cow_in_device: 4 pages with pattern i migrated (0/4); fork a child that just spins; the
  // parent rewrites pattern i (COW: private pages migrate back first, coherent pages are copied
  // straight from device memory); kill and reap the child; SNAPSHOT(4): every byte 0x02.
  it('hmm_cow_in_device', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(4, 'anon', 'rw');
    cpuWriteInts(p, a, 4, iota);
    expectCmd(fd.migrateToDevice(a, 4), 0, 4);
    const child = p.fork();
    cpuWriteInts(p, a, 4, iota);
    child.exit(); // SIGTERM; WTERMSIG == SIGTERM is not modelled
    const r = fd.snapshot(a, 4);
    expectCmd(r, 0, 4);
    expect([...r.perm!]).toEqual([0x02, 0x02, 0x02, 0x02]);
    expect(mismatch(cpuReadInts(p, a, 4), iota)).toBeNull();
    teardown(p, dev);
  });

  // migrate_anon_huge_empty (newer kernels; applies to 6.1 with 4 KiB device pages): an empty
  // PROT_READ 2 MiB MADV_HUGEPAGE region; MIGRATE_TO_DEV(512) -> 0 / 512, mirror all zero.
  // Port additions: the new device pages are read-only (no VM_WRITE) and 4 KiB (no PMD bit).
  it('migrate_anon_huge_empty', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(PMD_PAGES, 'thp', 'r');
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), () => 0)).toBeNull();
    expect([...fd.snapshot(a, PMD_PAGES).perm!]).toEqual(all(PMD_PAGES, local | 0x01));
    teardown(p, dev);
  });

  // migrate_anon_huge_zero (newer kernels; applies to 6.1): as _empty but the CPU first reads
  // the region (the huge zero page, 0x05); 6.1 splits it and migrates the zero-page entries;
  // 0 / 512 with all zeros, then the CPU reads all zeros.
  it('migrate_anon_huge_zero', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(PMD_PAGES, 'thp', 'r');
    expect(ints(p.read(a))[0]).toBe(0);
    expect(fd.snapshot(a, 1).perm![0]).toBe(0x05);
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), () => 0)).toBeNull();
    expect([...fd.snapshot(a, PMD_PAGES).perm!]).toEqual(all(PMD_PAGES, local | 0x01));
    expect(mismatch(cpuReadInts(p, a, PMD_PAGES), () => 0)).toBeNull();
    teardown(p, dev);
  });

  // migrate_anon_huge_free (newer kernels; applies to 6.1): a THP with pattern i migrates
  // (6.1 splits it: 512 4 KiB device pages) -> 0 / 512 with pattern i; MADV_FREE -> 0. Port
  // additions: no PMD bit after the migration; MADV_FREE ignores device entries and nothing
  // reclaims, so the CPU still reads pattern i.
  it('migrate_anon_huge_free', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(PMD_PAGES, 'thp', 'rw');
    cpuWriteInts(p, a, PMD_PAGES, iota);
    expect(fd.snapshot(a, 1).perm![0]).toBe(0x06);
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect([...fd.snapshot(a, PMD_PAGES).perm!]).toEqual(all(PMD_PAGES, local | 0x02));
    expect(p.madvise(a, PMD_PAGES, 'free')).toBe(0);
    expect(mismatch(cpuReadInts(p, a, PMD_PAGES), iota)).toBeNull();
    teardown(p, dev);
  });

  // migrate_anon_huge_fault, 6.1 form: the newer test builds the THP with MADV_COLLAPSE and
  // expects a device-private PMD (snapshot 0x26, pagemap swap entries). 6.1 has no
  // device-private THP: the THP (made here by write faults under MADV_HUGEPAGE) is split, so
  // every page snapshots 0x22 (coherent: 0x42); the CPU then reads pattern i back.
  it('migrate_anon_huge_fault (6.1: split, 4 KiB device pages)', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(PMD_PAGES, 'thp', 'rw');
    cpuWriteInts(p, a, PMD_PAGES, iota);
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    const s = fd.snapshot(a, PMD_PAGES);
    expectCmd(s, 0, PMD_PAGES);
    expect([...s.perm!]).toEqual(all(PMD_PAGES, local | 0x02));
    expect(mismatch(cpuReadInts(p, a, PMD_PAGES), iota)).toBeNull();
    teardown(p, dev);
  });

  // migrate_partial_unmap_fault (newer kernels; applies to 6.1): for THP on/off and unmap
  // offsets 0, PMD/4, PMD/2: pattern i over 2 MiB, MIGRATE_TO_DEV -> 0 / 512 with pattern i,
  // munmap half of it at the offset, the CPU reads pattern i everywhere outside the hole.
  it.each([
    [true, 0], [true, PMD_PAGES / 4], [true, PMD_PAGES / 2],
    [false, 0], [false, PMD_PAGES / 4], [false, PMD_PAGES / 2],
  ])('migrate_partial_unmap_fault (thp=%s, offset=%i pages)', (thp, off) => {
    const { p, fd } = setup(dev);
    const a = p.mmap(PMD_PAGES, thp ? 'thp' : 'anon', 'rw');
    cpuWriteInts(p, a, PMD_PAGES, iota);
    const r = fd.migrateToDevice(a, PMD_PAGES);
    expectCmd(r, 0, PMD_PAGES);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    const hole = PMD_PAGES / 2;
    expect(p.munmap(a + off, hole)).toBe(0);
    if (off > 0) expect(mismatch(cpuReadInts(p, a, off), iota)).toBeNull();
    const rest = PMD_PAGES - off - hole;
    if (rest > 0) expect(mismatch(cpuReadInts(p, a + off + hole, rest), (k) => k + (off + hole) * INTS_PER_PAGE)).toBeNull();
    expect(fd.snapshot(a + off, 1).perm![0]).toBe(0xff);
    teardown(p, dev);
  });
});

describe.each(VARIANTS)('hmm2.%s (migration, two devices)', (_name, dev0, dev1, coherent) => {
  // migrate_mixed: 6 PROT_NONE pages; MIGRATE_TO_DEV(fd1, 6) -> -EINVAL (no VM_READ); munmap
  // page 1; MIGRATE_TO_DEV(fd1, 3) -> -EINVAL (hole); page 2 read-only zero page, page 3
  // read-only anon page, pages 4-5 read-write; MIGRATE_TO_DEV(fd1, pages 2-5) -> 0, cpages 4;
  // MIGRATE_TO_DEV(fd0, page 5) -> -ENOENT (page 5 is in device 1's memory).
  it('migrate_mixed', () => {
    const { p, fd: fd0, fd1 } = setup(dev0, dev1);
    const a = p.mmap(6, 'anon', 'none');
    expect(fd1!.migrateToDevice(a, 6).ret).toBe(EINVAL);
    expect(p.munmap(a + 1, 1)).toBe(0);
    expect(fd1!.migrateToDevice(a, 3).ret).toBe(EINVAL);
    expect(p.mprotect(a + 2, 1, 'r')).toBe(0);
    const val = ints(p.read(a + 2))[0] + 3;
    expect(val).toBe(3);
    expect(p.mprotect(a + 3, 1, 'rw')).toBe(0);
    const pg = new Int32Array(INTS_PER_PAGE);
    pg[0] = val;
    p.writeBytes(a + 3, new Uint8Array(pg.buffer));
    expect(p.mprotect(a + 3, 1, 'r')).toBe(0);
    expect(p.mprotect(a + 4, 2, 'rw')).toBe(0);
    p.writeBytes(a + 4, new Uint8Array(pg.buffer));
    p.writeBytes(a + 5, new Uint8Array(pg.buffer));
    const r = fd1!.migrateToDevice(a + 2, 4);
    expectCmd(r, 0, 4);
    expect(ints(r.data).filter((_, k) => k % INTS_PER_PAGE === 0)).toEqual(new Int32Array([0, 3, 3, 3]));
    expect(fd0.migrateToDevice(a + 5, 1).ret).toBe(ENOENT);
    // Port addition: device 1 now holds pages 2-5 (read-only where the vma is).
    const remote = coherent ? [0x51, 0x51, 0x52, 0x52] : [0x00, 0x00, 0x00, 0x00];
    expect([...fd0.snapshot(a + 2, 4).perm!]).toEqual(remote);
    teardown(p, dev0, dev1);
  });
});

// migrate_file_private (hmm-tests.c of 7.1, with the fix be3f38d05cc5 "mm/memory: fix spurious
// warning when unmapping device-private/exclusive pages"): a MAP_PRIVATE mapping of a tmpfs
// file the CPU has written (every page a COW'd anonymous folio), MIGRATE_TO_DEV -> 0, cpages N,
// the mirror holds pattern i; hmm_buffer_free munmaps it. Every kernel migrates it; 6.1 and
// 6.12 WARN while unmapping the device-private entries of a VMA that is not anonymous, 7.x does
// not (kernel.ts, zapChecksFolioAnon: modelled from source). Port: full size; additions: the
// snapshot shows the pages in this device, and the warnings.
describe.each(VARIANTS)('hmm.%s migrate_file_private', (_name, dev, _dev1, coherent) => {
  const local = coherent ? 0x40 : 0x20;
  it.each([['6.1'], ['6.12'], ['7.x']] as const)('on %s', (kernel) => {
    const { m, p, fd } = setup(dev, undefined, kernel);
    const n = FULL_NPAGES;
    const a = p.mmap(n, 'file_private', 'rw');
    cpuWriteInts(p, a, n, iota);
    const r = fd.migrateToDevice(a, n);
    expectCmd(r, 0, n);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect([...fd.snapshot(a, 2).perm!]).toEqual([local | 0x02, local | 0x02]);
    expect(p.munmap(a, n)).toBe(0);
    // Coherent pages are mapped present, so only device-private entries reach the check.
    expect(m.sys.warnings).toEqual(kernel === '7.x' || coherent ? [] : ['zap_nonpresent_ptes: !vma_is_anonymous(vma)']);
    teardown(p, dev);
  });
});
