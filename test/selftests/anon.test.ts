// Ports of the anonymous-memory cases of Linux 6.1's tools/testing/selftests/vm/hmm-tests.c
// (FIXTURE(hmm), variants hmm_device_private = /dev/hmm_dmirror0 and hmm_device_coherent =
// /dev/hmm_dmirror2). Each case runs on a fresh Machine. "mirror" in the comments is the C
// test's buffer->mirror: here the data a command returns (or the pattern a device writes).
import { describe, it, expect } from 'vitest';
import {
  VARIANTS, N, FULL_NPAGES, EFAULT, EPERM, setup, teardown, cpuWriteInts, cpuReadInts, devWriteInts, ints,
  mismatch, iota, negIota, expectCmd, INTS_PER_PAGE, PMD_PAGES,
} from './helpers.ts';

describe.each(VARIANTS)('hmm.%s (anonymous memory)', (_name, dev, _dev1, coherent) => {
  // anon_read: the C test writes pattern i to every page but 0 and 1, makes the buffer
  // read-only, reads page 1 (maps the zero page; page 0 stays pte_none), then READs all
  // pages: ret 0, cpages N, faults 1; pages 0-1 read as zero, the rest as pattern i.
  // Port: full size (1024 pages).
  it('anon_read (1024 pages, pte_none + zero page + read-only vma)', () => {
    const { p, fd } = setup(dev);
    const n = FULL_NPAGES;
    const a = p.mmap(n, 'anon', 'rw');
    cpuWriteInts(p, a + 2, n - 2, (k) => k + 2 * INTS_PER_PAGE);
    expect(p.mprotect(a, n, 'r')).toBe(0);
    expect(ints(p.read(a + 1))[0]).toBe(0);
    const r = fd.read(a, n);
    expectCmd(r, 0, n, 1);
    const d = ints(r.data);
    expect(mismatch(d, () => 0, 0, 2 * INTS_PER_PAGE)).toBeNull();
    expect(mismatch(d, iota, 2 * INTS_PER_PAGE)).toBeNull();
    // Port addition: the READ's read fault mapped the zero page at page 0 too.
    expect([...fd.snapshot(a, 3).perm!]).toEqual([0x11, 0x11, 0x01]);
    teardown(p, dev);
  });

  // anon_read_prot: pattern i in memory, mprotect(PROT_NONE), READ -> -EFAULT (counters not
  // updated, mirror untouched); mprotect(PROT_READ) and memory still holds pattern i.
  it('anon_read_prot (READ of a PROT_NONE vma is -EFAULT)', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(N, 'anon', 'rw');
    cpuWriteInts(p, a, N, iota);
    expect(p.mprotect(a, N, 'none')).toBe(0);
    const r = fd.read(a, N);
    expect(r.ret).toBe(EFAULT);
    expect(r.data).toBeUndefined(); // nothing copied to the (pattern -i) mirror
    expect(p.mprotect(a, N, 'r')).toBe(0);
    expect(mismatch(cpuReadInts(p, a, N), iota)).toBeNull();
    teardown(p, dev);
  });

  // anon_write: the device WRITEs pattern i into an untouched private anonymous buffer:
  // ret 0, cpages N, faults 1, and the CPU then reads pattern i. Port: full size; the device
  // write of an int pattern uses devWriteInts (see helpers.ts).
  it('anon_write (1024 pages)', () => {
    const { p, fd } = setup(dev);
    const n = FULL_NPAGES;
    const a = p.mmap(n, 'anon', 'rw');
    expectCmd(devWriteInts(p, fd, a, n, iota), 0, n, 1);
    expect(mismatch(cpuReadInts(p, a, n), iota)).toBeNull();
    teardown(p, dev);
  });

  // anon_write_prot: read-only buffer; READ(1) -> 0/1/1 (zero page); WRITE(N) -> -EPERM and
  // memory stays zero; mprotect(RW); WRITE(N) -> 0/N/1 and the CPU reads pattern i.
  it('anon_write_prot (WRITE to a read-only vma is -EPERM)', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(N, 'anon', 'r');
    expectCmd(fd.read(a, 1), 0, 1, 1);
    expect(devWriteInts(p, fd, a, N, iota).ret).toBe(EPERM);
    expect(mismatch(cpuReadInts(p, a, N), () => 0)).toBeNull();
    expect(p.mprotect(a, N, 'rw')).toBe(0);
    expectCmd(devWriteInts(p, fd, a, N, iota), 0, N, 1);
    expect(mismatch(cpuReadInts(p, a, N), iota)).toBeNull();
    teardown(p, dev);
  });

  // anon_write_child: pattern i in memory, pattern -i in the mirror, fork. The child checks it
  // sees pattern i, opens its own /dev/hmm_dmirror0 (always device 0, whatever the variant),
  // WRITEs pattern -i (ret 0, cpages N, faults 1: a COW in the child), sees -i, closes, exits
  // 0. The parent's memory still holds pattern i. 6.1's test is the (migrate=0, thp=0) case;
  // newer kernels loop over migrate (MIGRATE_TO_DEV before fork) and THP (a 2 MiB
  // MADV_HUGEPAGE buffer); those run here too as they need no device THP (6.1 splits the THP
  // when migrating). Port: fork/wait are sequential; the child's exit closes its fd.
  it.each([
    [false, false], [true, false], [false, true], [true, true],
  ])('anon_write_child (migrate=%s, thp=%s)', (migrate, thp) => {
    const { p, fd } = setup(dev);
    const n = thp ? PMD_PAGES : N;
    const a = p.mmap(n, thp ? 'thp' : 'anon', 'rw');
    cpuWriteInts(p, a, n, iota);
    if (migrate) {
      const r = fd.migrateToDevice(a, n);
      expectCmd(r, 0, n);
      expect(mismatch(ints(r.data), iota)).toBeNull();
    }
    const child = p.fork();
    // child
    expect(mismatch(cpuReadInts(child, a, n), iota)).toBeNull();
    const cfd = child.device(0);
    expectCmd(devWriteInts(child, cfd, a, n, negIota), 0, n, 1);
    expect(mismatch(cpuReadInts(child, a, n), negIota)).toBeNull();
    expect(child.close(0)).toBe(true);
    child.exit();
    // parent, after waitpid
    expect(mismatch(cpuReadInts(p, a, n), iota)).toBeNull();
    teardown(p, dev);
  });

  // anon_write_child_shared: as anon_write_child (6.1 form) on a MAP_SHARED|MAP_ANONYMOUS
  // buffer: the child's device writes (pattern -i) are visible to the parent.
  it('anon_write_child_shared (child device writes are visible to the parent)', () => {
    const { p } = setup(dev);
    const a = p.mmap(N, 'shared', 'rw');
    cpuWriteInts(p, a, N, iota);
    const child = p.fork();
    expect(mismatch(cpuReadInts(child, a, N), iota)).toBeNull();
    const cfd = child.device(0);
    expectCmd(devWriteInts(child, cfd, a, N, negIota), 0, N, 1);
    expect(mismatch(cpuReadInts(child, a, N), negIota)).toBeNull();
    expect(child.close(0)).toBe(true);
    child.exit();
    expect(mismatch(cpuReadInts(p, a, N), negIota)).toBeNull();
    teardown(p, dev);
  });

  // anon_read_multiple: 10 times: a new buffer with int[k] = k + c, READ -> 0/N/1, the device
  // read k + c. Port: N = 64 pages.
  it('anon_read_multiple (10 buffers)', () => {
    const { p, fd } = setup(dev);
    for (let c = 0; c < 10; c++) {
      const a = p.mmap(N, 'anon', 'rw');
      cpuWriteInts(p, a, N, (k) => k + c);
      const r = fd.read(a, N);
      expectCmd(r, 0, N, 1);
      expect(mismatch(ints(r.data), (k) => k + c)).toBeNull();
      expect(p.munmap(a, N)).toBe(0);
    }
    teardown(p, dev);
  });

  // anon_teardown: 10 times: a buffer with int[k] = k + c, a thread munmaps the second half at
  // a random moment while the device READs; if READ returns 0 it must be 0/N/1 with k + c,
  // any error is accepted. Port: no threads; both orders are run deterministically (even c:
  // READ then munmap; odd c: munmap then READ, which must fail: -EFAULT at the hole).
  it('anon_teardown (munmap racing a device READ, both orders)', () => {
    const { p, fd } = setup(dev);
    for (let c = 0; c < 10; c++) {
      const a = p.mmap(N, 'anon', 'rw');
      cpuWriteInts(p, a, N, (k) => k + c);
      if (c % 2 === 0) {
        const r = fd.read(a, N);
        expectCmd(r, 0, N, 1);
        expect(mismatch(ints(r.data), (k) => k + c)).toBeNull();
        expect(p.munmap(a + N / 2, N / 2)).toBe(0);
      } else {
        expect(p.munmap(a + N / 2, N / 2)).toBe(0);
        expect(fd.read(a, N).ret).toBe(EFAULT);
      }
      expect(p.munmap(a, N / 2)).toBe(0);
    }
    teardown(p, dev);
  });

  // Not a C case: the coherent variant's reason to exist, checked once here: after
  // MIGRATE_TO_DEV the CPU reads device-coherent pages in place (they stay 0x42) while
  // device-private pages fault back one by one (0x22 -> 0x02).
  it('CPU access after migration (private faults back, coherent stays)', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(4, 'anon', 'rw');
    cpuWriteInts(p, a, 4, iota);
    expectCmd(fd.migrateToDevice(a, 4), 0, 4);
    expect(mismatch(cpuReadInts(p, a, 2), iota)).toBeNull();
    expect([...fd.snapshot(a, 4).perm!]).toEqual(coherent ? [0x42, 0x42, 0x42, 0x42] : [0x02, 0x02, 0x22, 0x22]);
    teardown(p, dev);
  });
});
