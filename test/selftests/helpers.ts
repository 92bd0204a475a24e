// Helpers shared by the ports of Linux's tools/testing/selftests/mm/hmm-tests.c (as of 6.1).
//
// The C tests treat buffers as arrays of `int` and fill them with "pattern i" (int[k] = k) or
// "pattern -i". These helpers build such patterns page by page (little-endian int32, 1024 per
// 4 KiB page) and compare results without one expect() per int (which would be slow).
import { expect } from 'vitest';
import { Machine, parseProt, type DeviceFile, type Process, type MapKind, type RegionFd } from '../../src/api/machine.ts';
import { PAGE_SIZE } from '../../src/mm/constants.ts';
import type { KernelVersion } from '../../src/mm/kernel.ts';
import { TAG_WRITE, type CmdResult } from '../../src/devices/dmirror/dmirror.ts';

export const INTS_PER_PAGE = PAGE_SIZE / 4;
/** HMM_BUFFER_SIZE / page size: the C tests' default buffer of 1024 pages (4 MiB). */
export const FULL_NPAGES = 1024;
/** The reduced buffer most ports use to keep the suite fast. */
export const N = 64;
/** PMD size in pages (2 MiB / 4 KiB). */
export const PMD_PAGES = 512;

/** HMM_DMIRROR_PROT_* snapshot bytes. */
export const PROT = {
  ERROR: 0xff, NONE: 0x00, READ: 0x01, WRITE: 0x02, PMD: 0x04, PUD: 0x08, ZERO: 0x10,
  DEV_PRIVATE_LOCAL: 0x20, DEV_PRIVATE_REMOTE: 0x30, DEV_COHERENT_LOCAL: 0x40, DEV_COHERENT_REMOTE: 0x50,
} as const;

export const EINVAL = -22, EFAULT = -14, ENOENT = -2, EPERM = -1, EBUSY = -16;

/** The two fixture variants: [name, device, second device (hmm2), coherent?]. */
export const VARIANTS: Array<[string, number, number, boolean]> = [
  ['hmm_device_private', 0, 1, false],
  ['hmm_device_coherent', 2, 3, true],
];

/** A fresh machine (default kernel unless `kernel`), a process and the fixture's device file(s), like FIXTURE_SETUP(hmm/hmm2). */
export function setup(dev: number, dev1?: number, kernel?: KernelVersion): { m: Machine; p: Process; fd: DeviceFile; fd1: DeviceFile | null } {
  const m = new Machine(kernel === undefined ? {} : { kernel });
  const p = m.spawn();
  const fd = p.device(dev);
  const fd1 = dev1 === undefined ? null : p.device(dev1);
  return { m, p, fd, fd1 };
}

/** FIXTURE_TEARDOWN: close() of every fixture fd must succeed. */
export function teardown(p: Process, ...devs: number[]): void {
  for (const d of devs) expect(p.close(d)).toBe(true);
}

/** mmap that also returns what the region's fd holds (for tmpfs files). */
export function mmapFd(p: Process, npages: number, kind: MapKind, prot: string): { start: number; fd: RegionFd | null } {
  const r = p.mmapRaw(npages, kind, parseProt(prot));
  if (typeof r === 'number') throw new Error(`mmap failed: ${r}`);
  return r;
}

/** npages pages of ints with int[k] = f(k) (k counts ints from the start of the buffer). */
export function intPattern(npages: number, f: (k: number) => number): Uint8Array {
  const a = new Int32Array(npages * INTS_PER_PAGE);
  for (let k = 0; k < a.length; k++) a[k] = f(k);
  return new Uint8Array(a.buffer);
}

export const iota = (k: number): number => k;
export const negIota = (k: number): number => -k;

/** The CPU stores int[k] = f(k) over [start, start+npages) page by page (faults as needed). */
export function cpuWriteInts(p: Process, start: number, npages: number, f: (k: number) => number): void {
  const buf = intPattern(npages, f);
  for (let i = 0; i < npages; i++) p.writeBytes(start + i, buf.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
}

/** The CPU reads [start, start+npages) page by page (faults as needed). */
export function cpuReadInts(p: Process, start: number, npages: number): Int32Array {
  const out = new Uint8Array(npages * PAGE_SIZE);
  for (let i = 0; i < npages; i++) out.set(p.read(start + i), i * PAGE_SIZE);
  return new Int32Array(out.buffer);
}

/** Ints of a byte buffer (e.g. a CmdResult's data). */
export function ints(data: Uint8Array | undefined): Int32Array {
  if (!data) throw new Error('no data');
  return new Int32Array(data.buffer, data.byteOffset, data.byteLength / 4);
}

/** The first int k in [from, to) with a[k] != f(k), or null: expect(...).toBeNull(). */
export function mismatch(a: Int32Array, f: (k: number) => number, from = 0, to = a.length): { k: number; got: number; want: number } | null {
  for (let k = from; k < to; k++) if (a[k] !== f(k)) return { k, got: a[k], want: f(k) };
  return null;
}

/** Asserts ret/cpages/faults of a dmirror command like the C tests' ASSERT_EQs. */
export function expectCmd(r: CmdResult, ret: number, cpages?: number, faults?: number): void {
  expect(r.ret).toBe(ret);
  if (cpages !== undefined) expect(r.cpages).toBe(cpages);
  if (faults !== undefined) expect(r.faults).toBe(faults);
}

/**
 * HMM_DMIRROR_WRITE of arbitrary data. The public API's device write fills each page with one
 * byte, so the port runs the real ioctl (which does all the faulting, permission checks and
 * counting, and writes zeroes), then completes dmirror_do_write's copy from the "bounce buffer"
 * through the mirror entries the ioctl just used: every one must be a writable (TAG_WRITE)
 * mirror entry of a system or coherent page. Returns the ioctl's result.
 */
export function devWriteInts(p: Process, fd: DeviceFile, start: number, npages: number, f: (k: number) => number): CmdResult {
  const r = fd.write(start, npages, 0);
  if (r.ret !== 0) return r;
  const buf = intPattern(npages, f);
  const pages = p.sys.pages;
  for (let i = 0; i < npages; i++) {
    const e = fd.mirror.pt.get(start + i);
    expect(e?.tag).toBe(TAG_WRITE);
    expect(pages.isDevicePrivate(e!.pfn)).toBe(false);
    pages.writeFrom(e!.pfn, buf.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), 0);
  }
  return r;
}

/** pwrite() into a tmpfs file's page cache (no mapping involved). */
export function pwriteFile(p: Process, fd: RegionFd | null, data: Uint8Array): void {
  const f = fd?.file;
  if (!f) throw new Error('not a file region');
  for (let i = 0; i * PAGE_SIZE < data.length; i++) {
    p.sys.pages.writeFrom(p.sys.fileGetPage(f, i), data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), 0);
  }
}

/** pread() of npages from a tmpfs file's page cache (holes read as zeroes). */
export function preadFile(p: Process, fd: RegionFd | null, npages: number): Int32Array {
  const f = fd?.file;
  if (!f) throw new Error('not a file region');
  const out = new Uint8Array(npages * PAGE_SIZE);
  for (let i = 0; i < npages; i++) {
    const pfn = f.pages.get(i);
    if (pfn !== undefined) out.set(p.sys.pages.bytes(pfn), i * PAGE_SIZE);
  }
  return new Int32Array(out.buffer);
}

/** One snapshot byte array as plain numbers (readable diffs). */
export function perms(r: CmdResult): number[] {
  return [...(r.perm ?? [])];
}
