// Ports of the device-exclusive cases of Linux 6.1's hmm-tests.c. 6.1's dmirror_exclusive
// calls make_device_exclusive_range() in chunks of 64 pages and returns -EBUSY unless every
// page of a chunk became exclusive; the pages are then mapped ATOMIC in the mirror and read
// back (cpages = npages). Note: the C cases run on system pages only; making a coherent
// device page exclusive is a 6.1 bug (behaviour 18 of shared/hmmtrace/README.md) and is not
// exercised.
import { describe, it, expect } from 'vitest';
import {
  VARIANTS, N, FULL_NPAGES, EPERM, EBUSY, EFAULT, setup as setupOn, teardown, cpuWriteInts, cpuReadInts, devWriteInts, ints, mismatch, iota,
  expectCmd, INTS_PER_PAGE,
} from './helpers.ts';
import type { Process } from '../../src/api/machine.ts';

/** The C loop `ASSERT_EQ(ptr[i]++, i)` page by page: a read (which revokes), check, write back + 1. */
function incrementAll(p: Process, a: number, n: number): void {
  for (let pg = 0; pg < n; pg++) {
    const v = ints(p.read(a + pg));
    const base = pg * INTS_PER_PAGE;
    expect(mismatch(v, (k) => base + k)).toBeNull();
    const w = new Int32Array(v);
    for (let k = 0; k < w.length; k++) w[k]++;
    p.writeBytes(a + pg, new Uint8Array(w.buffer));
  }
}

// The C cases run on 6.12 (the default) and on 7.x, where dmirror_exclusive goes page by page
// through 6.15's make_device_exclusive (kernel.ts, deviceExclusiveOnePage).
const KERNELS_RUN = [['6.12'], ['7.x']] as const;

describe.each(KERNELS_RUN)('kernel %s', (kernel) => {
describe.each(VARIANTS)('hmm.%s (exclusive access)', (_name, dev0) => {
  const setup = (dev: number) => setupOn(dev, undefined, kernel);
  // exclusive: pattern i; EXCLUSIVE(N) -> 0, cpages N, the mirror holds pattern i; the CPU
  // increments every int (each first touch of a page revokes the device's atomic access),
  // everything reads i + 1; CHECK_EXCLUSIVE -> 0 (no atomic entry left). Port: full size,
  // and CHECK_EXCLUSIVE is also shown to be -EPERM while the access is held.
  it('exclusive (1024 pages)', () => {
    const { p, fd } = setup(dev0);
    const n = FULL_NPAGES;
    const a = p.mmap(n, 'anon', 'rw');
    cpuWriteInts(p, a, n, iota);
    const r = fd.exclusive(a, n);
    expectCmd(r, 0, n, 0);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect(fd.checkExclusive(a, n).ret).toBe(EPERM);
    // Exclusive entries are not present PTEs: a snapshot sees nothing.
    expect([...fd.snapshot(a, 2).perm!]).toEqual([0x00, 0x00]);
    incrementAll(p, a, n);
    expect(mismatch(cpuReadInts(p, a, n), (k) => k + 1)).toBeNull();
    expectCmd(fd.checkExclusive(a, n), 0);
    teardown(p, dev0);
  });

  // exclusive_mprotect: EXCLUSIVE(N) -> 0 / N with pattern i; mprotect(PROT_READ) -> 0 (the
  // invalidation drops the atomic entries); the device WRITE -> -EPERM (write fault on a vma
  // without VM_WRITE).
  it('exclusive_mprotect (WRITE after mprotect(PROT_READ) is -EPERM)', () => {
    const { p, fd } = setup(dev0);
    const a = p.mmap(N, 'anon', 'rw');
    cpuWriteInts(p, a, N, iota);
    const r = fd.exclusive(a, N);
    expectCmd(r, 0, N);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect(p.mprotect(a, N, 'r')).toBe(0);
    expectCmd(fd.checkExclusive(a, N), 0);
    expect(devWriteInts(p, fd, a, N, iota).ret).toBe(EPERM);
    teardown(p, dev0);
  });

  // exclusive_cow: EXCLUSIVE(N) -> 0 / N; fork (the fork restores the exclusive entries and
  // write-protects them); parent and child both run the increment loop and each sees its own
  // i + 1. Port: parent first, then the child, then the parent's copy is checked again.
  it('exclusive_cow', () => {
    const { p, fd } = setup(dev0);
    const a = p.mmap(N, 'anon', 'rw');
    cpuWriteInts(p, a, N, iota);
    const r = fd.exclusive(a, N);
    expectCmd(r, 0, N);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    const child = p.fork();
    expect([...fd.snapshot(a, 2).perm!]).toEqual([0x01, 0x01]);
    incrementAll(p, a, N);
    expect(mismatch(cpuReadInts(p, a, N), (k) => k + 1)).toBeNull();
    incrementAll(child, a, N);
    expect(mismatch(cpuReadInts(child, a, N), (k) => k + 1)).toBeNull();
    child.exit();
    expect(mismatch(cpuReadInts(p, a, N), (k) => k + 1)).toBeNull();
    expectCmd(fd.checkExclusive(a, N), 0);
    teardown(p, dev0);
  });

  // Not a C case: 6.1's -EBUSY rule (all pages of a 64-page chunk must become exclusive):
  // a read-only vma and a shared mapping cannot be made exclusive. 7.x returns the error of
  // the first page that fails: the GUP for write of a read-only VMA is -EFAULT, a shmem folio
  // is not anonymous (-EOPNOTSUPP).
  it(kernel === '7.x' ? 'exclusive -EFAULT on read-only, -EOPNOTSUPP on shared memory (7.x)' : 'exclusive -EBUSY on read-only and shared memory (6.1 chunk rule)', () => {
    const { p, fd } = setup(dev0);
    const ro = p.mmap(N, 'anon', 'r');
    expect(fd.exclusive(ro, N).ret).toBe(kernel === '7.x' ? EFAULT : EBUSY);
    const sh = p.mmap(N, 'shared', 'rw');
    expect(fd.exclusive(sh, N).ret).toBe(kernel === '7.x' ? -95 : EBUSY);
    teardown(p, dev0);
  });
});
});
