import { policyNode } from '../mm/mempolicy.ts';
import { movePages, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, type MovePagesResult } from '../mm/migrate.ts';
import { System, type SystemOptions } from '../mm/system.ts';
import { Mm } from '../mm/mm.ts';
import { PMD_NR, PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_EXEC, VM_READ, VM_WRITE, VM_EXEC, VM_HUGEPAGE, errnoName } from '../mm/constants.ts';
import { mmapFixed, munmap, mmput, getUnmappedArea } from '../mm/mmap.ts';
import { mremap } from '../mm/mremap.ts';
export { MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP } from '../mm/mremap.ts';
import { mprotect } from '../mm/mprotect.ts';
import { madvise, type Advice } from '../mm/madvise.ts';
import { forkMm } from '../mm/fork.ts';
import { handleMmFault, VM_FAULT_ERROR, VM_FAULT_SIGSEGV } from '../mm/fault.ts';
import { getUserPages, putUserPages, type GupFlags } from '../mm/gup.ts';
import { PteType, pteType, ptePfn, pteHas, pteSetFlags, pteFlags, mkPte, PTE_WRITE, PTE_DIRTY, PTE_YOUNG } from '../mm/pte.ts';
import { PG_KERNEL } from '../mm/page.ts';
import { pageAddRmap } from '../mm/rmap.ts';
import type { ShmemFile } from '../mm/file.ts';
import { DmirrorDriver } from '../devices/dmirror/driver.ts';
import type { Dmirror, CmdResult } from '../devices/dmirror/dmirror.ts';

/** Mapping kinds of `Process.mmap` (the op language's KIND). */
export type MapKind = 'anon' | 'shared' | 'file' | 'file_private' | 'thp' | 'hugetlb' | `dev${number}`;

/** Parses a protection string: 'none' or letters from 'rwx-'. Returns -1 when malformed. */
export function parseProt(s: string): number {
  if (s === 'none') return 0;
  let p = 0;
  for (const c of s) {
    if (c === 'r') p |= PROT_READ;
    else if (c === 'w') p |= PROT_WRITE;
    else if (c === 'x') p |= PROT_EXEC;
    else if (c !== '-') return -1;
  }
  return p;
}

/** Thrown by `Process` calls that the kernel answers with an errno. */
export class ErrnoError extends Error {
  constructor(readonly errno: number, what: string) {
    super(`${what}: ${errnoName(errno)}`);
  }
}

/** A CPU access that the kernel answered with a signal. */
export class SignalError extends Error {
  constructor(readonly signal: 'SIGSEGV' | 'SIGBUS') {
    super(signal);
  }
}

/**
 * A machine running Linux 6.1 (or 6.12 with `kernel: '6.12'`) with the test_hmm module: the memory model (`sys`), the four
 * dmirror devices (0 and 1 device-private, 2 and 3 device-coherent) and its processes.
 */
export class Machine {
  readonly sys: System;
  readonly driver: DmirrorDriver;
  /** `dmirror: false` leaves the test_hmm module out (timed machines have their own devices). */
  constructor(opts: SystemOptions & { dmirror?: boolean } = {}) {
    this.sys = new System({ hugetlbPages: 16, ...opts });
    this.driver = new DmirrorDriver(this.sys, opts.dmirror ?? true);
  }
  /** Called with every new process (spawned or forked): timed devices bind to it. */
  readonly spawnHooks: ((p: Process) => void)[] = [];
  /**
   * Called by Process.exit after exit_mm and before the remaining files close (do_exit's order:
   * exit_mm, then exit_files): the timed machine closes the process's device files here, which
   * stops its device tasks.
   */
  readonly exitHooks: ((p: Process) => void)[] = [];
  /** A new process with an empty address space. */
  spawn(): Process {
    const p = new Process(this, new Mm(this.sys));
    for (const h of this.spawnHooks) h(p);
    return p;
  }
}

/** What a region's mmap holds besides the VMA: a tmpfs file or a device file reference. */
export interface RegionFd {
  file?: ShmemFile;
  dmirror?: Dmirror;
}

/**
 * A process: an address space plus open device files. Addresses are virtual page numbers.
 * Calls mirror system calls; errors come back as negative errnos (`*Raw`) or exceptions.
 */
export class Process {
  /** Open /dev/hmm_dmirrorN files by device number. */
  readonly devfd: Array<Dmirror | null> = [null, null, null, null];
  exited = false;
  /** Files behind regions mapped with `mmap`, closed at exit. */
  private readonly ownedFds: RegionFd[] = [];
  constructor(readonly machine: Machine, readonly mm: Mm) {}

  get sys(): System {
    return this.machine.sys;
  }

  /**
   * mmap of a new region the way hmmtrace maps one: a PROT_NONE reservation placed top-down,
   * one guard page on each side, 2 MiB alignment for thp/hugetlb. Returns the first page and
   * what the region's fd holds, or a negative errno.
   */
  mmapRaw(npages: number, kind: MapKind, prot: number): { start: number; fd: RegionFd | null } | number {
    const sys = this.sys, mm = this.mm;
    let align = 1;
    let fd: RegionFd | null = null;
    let sharedFile: ShmemFile | null = null;
    let backing: Parameters<typeof mmapFixed>[4];
    if (kind === 'anon') backing = { kind: 'anon', shared: false };
    else if (kind === 'shared') {
      sharedFile = sys.newFile(npages);
      backing = { kind: 'shmem', shared: true, file: sharedFile };
    } else if (kind === 'thp') {
      backing = { kind: 'anon', shared: false };
      align = PMD_NR;
    } else if (kind === 'hugetlb') {
      backing = { kind: 'hugetlb', shared: false };
      align = PMD_NR;
    } else if (kind === 'file' || kind === 'file_private') {
      const f = sys.newFile(npages);
      fd = { file: f };
      backing = { kind: 'file', shared: kind === 'file', file: f };
    } else {
      const dev = Number(kind.slice(3));
      const d = this.open(dev);
      d.get();
      fd = { dmirror: d };
      backing = { kind: 'mixed', shared: false, fileRef: d };
    }
    // hmmtrace.c's reservation: guard + (alignment slack) + region + guard, PROT_NONE, placed
    // top-down; the region goes after one guard, aligned; slack beyond the guards is unmapped.
    const resvlen = npages + 2 + (align > 1 ? align : 0);
    // A private anonymous mapping: 6.12 aligns it to 2 MiB when resvlen is a multiple of 512.
    const resv = getUnmappedArea(mm, resvlen, 0);
    const undo = () => {
      if (sharedFile) sys.fileput(sharedFile);
      if (fd?.file) sys.fileput(fd.file);
      fd?.dmirror?.put();
    };
    if (resv < 0) {
      undo();
      return -12;
    }
    mmapFixed(mm, resv, resvlen, 0, { kind: 'anon', shared: false, noreserve: true });
    const start = Math.ceil((resv + 1) / align) * align;
    const ret = mmapFixed(mm, start, npages, prot, backing);
    if (sharedFile) sys.fileput(sharedFile);
    sharedFile = null;
    if (ret < 0) {
      munmap(mm, resv, resvlen);
      undo();
      return ret;
    }
    const len = mm.findVma(start)!.end - start;
    if (start - 1 > resv) munmap(mm, resv, start - 1 - resv);
    if (resv + resvlen > start + len + 1) munmap(mm, start + len + 1, resv + resvlen - (start + len + 1));
    if (kind.startsWith('dev')) this.insertKernelPages(start, npages);
    if (kind === 'thp') mm.findVma(start)!.flags |= VM_HUGEPAGE;
    return { start, fd };
  }

  /** mmap that throws on error; returns the first page of the region. */
  mmap(npages: number, kind: MapKind, prot: string): number {
    const r = this.mmapRaw(npages, kind, parseProt(prot));
    if (typeof r === 'number') throw new ErrnoError(-r, 'mmap');
    // The process keeps the region's fd open (as hmmtrace does) until it exits.
    if (r.fd) this.ownedFds.push(r.fd);
    return r.start;
  }

  /** dmirror_fops_mmap: a zeroed kernel page vm_insert_page()d at every page (read-only if private). */
  private insertKernelPages(start: number, npages: number): void {
    const p = this.sys.pages;
    for (let i = 0; i < npages; i++) {
      const pfn = p.allocSystem(policyNode(this.mm, null, 0));
      p.setFlag(pfn, PG_KERNEL);
      pageAddRmap(this.sys, pfn, false);
      this.mm.pt.setPte(start + i, mkPte(PteType.PRESENT, pfn, PTE_YOUNG));
    }
  }

  /** munmap: 0 or -errno. */
  munmap(start: number, npages: number): number {
    return munmap(this.mm, start, npages);
  }
  /**
   * mremap in pages, as `munmap` and `mprotect` here take them: moves or resizes
   * [start, start + oldPages) to `newPages` (flags MREMAP_MAYMOVE, MREMAP_FIXED with `newStart`).
   * Returns the new first page or -errno. Modelled from mm/mremap.c (see src/mm/mremap.ts).
   */
  mremap(start: number, oldPages: number, newPages: number, flags: number, newStart = 0): number {
    const r = mremap(this.mm, start * PAGE_SIZE, oldPages * PAGE_SIZE, newPages * PAGE_SIZE, flags, newStart * PAGE_SIZE);
    return r < 0 ? r : r / PAGE_SIZE;
  }
  /** mremap(2) itself: byte addresses and lengths (lengths rounded up to pages); the new byte address or -errno. */
  mremapBytes(addr: number, oldLen: number, newLen: number, flags: number, newAddr = 0): number {
    return mremap(this.mm, addr, oldLen, newLen, flags, newAddr);
  }
  /** mprotect with a protection string: 0 or -errno. */
  mprotect(start: number, npages: number, prot: string): number {
    return mprotect(this.mm, start, npages, parseProt(prot));
  }
  /** madvise: 0 or -errno. */
  madvise(start: number, npages: number, advice: Advice): number {
    return madvise(this.mm, start, npages, advice);
  }

  /**
   * A user-mode load or store of page `vpn`: the x86 fault handler's access checks, then
   * handle_mm_fault until the translation allows the access; sets the hardware accessed and
   * dirty bits. Returns the pfn accessed or the signal.
   */
  access(vpn: number, write: boolean): number | 'SIGSEGV' | 'SIGBUS' {
    const mm = this.mm;
    // A fault runs under mmap_lock held for read, so no VMA changes while it is handled: the
    // retried access finds the VMA the first lookup found (one search per access, not per try).
    const vma = mm.findVma(vpn);
    if (!vma) return 'SIGSEGV';
    for (let tries = 0; tries < 16; tries++) {
      if (write ? !(vma.flags & VM_WRITE) : !(vma.flags & (VM_READ | VM_WRITE | VM_EXEC))) return 'SIGSEGV';
      // x86 with protection keys maps PROT_EXEC-only memory with the execute-only pkey: loads fault.
      if (!write && (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === VM_EXEC) return 'SIGSEGV';
      const pmd = mm.pt.pmd(vpn);
      if (pmd && pmd.huge !== 0) {
        // A device-private PMD entry (7.x) is not present: the fault migrates it.
        if (pteType(pmd.huge) === PteType.PRESENT && (!write || pteHas(pmd.huge, PTE_WRITE))) {
          pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) | PTE_YOUNG | (write ? PTE_DIRTY : 0));
          return ptePfn(pmd.huge) + (vpn % PMD_NR);
        }
      } else {
        // The slot found above holds the PTE table: read and update the entry there rather
        // than walking to it twice more (mm.pt.pte, mm.pt.setPte).
        const ptes = pmd?.ptes;
        const k = vpn - Math.floor(vpn / PMD_NR) * PMD_NR;
        const e = ptes ? ptes[k] : 0;
        if (pteType(e) === PteType.PRESENT && (!write || pteHas(e, PTE_WRITE))) {
          ptes![k] = pteSetFlags(e, pteFlags(e) | PTE_YOUNG | (write ? PTE_DIRTY : 0));
          return ptePfn(e);
        }
      }
      const f = handleMmFault(mm, vma, vpn, write);
      if (f & VM_FAULT_ERROR) return f & VM_FAULT_SIGSEGV ? 'SIGSEGV' : 'SIGBUS';
    }
    return 'SIGBUS';
  }

  /** The CPU reads page `vpn`: a copy of its 4096 bytes. Throws SignalError on SIGSEGV/SIGBUS. */
  read(vpn: number): Uint8Array {
    const pfn = this.access(vpn, false);
    if (typeof pfn === 'string') throw new SignalError(pfn);
    return new Uint8Array(this.sys.pages.bytes(pfn));
  }
  /** The CPU fills page `vpn` with `byte` (memset). Throws SignalError on SIGSEGV/SIGBUS. */
  write(vpn: number, byte: number): void {
    const pfn = this.access(vpn, true);
    if (typeof pfn === 'string') throw new SignalError(pfn);
    this.sys.pages.fill(pfn, byte);
  }
  /** The CPU stores `data` (4096 bytes) into page `vpn`. */
  writeBytes(vpn: number, data: Uint8Array): void {
    const pfn = this.access(vpn, true);
    if (typeof pfn === 'string') throw new SignalError(pfn);
    this.sys.pages.writeFrom(pfn, data, 0);
  }

  /** GUP over [start, start+npages) with FOLL_WRITE and the given flags, released at once. */
  gup(start: number, npages: number, flags: GupFlags): number {
    const got = getUserPages(this.mm, start, npages, { write: true, ...flags });
    if (typeof got === 'number') return got;
    putUserPages(this.mm, got, { write: true, ...flags });
    return got.length;
  }

  /**
   * move_pages(2) over `npages` pages from `start`: moves each to NUMA node `node` (or page i
   * to `node(i)`) with MPOL_MF_MOVE, or MPOL_MF_MOVE_ALL with `all` for pages other processes
   * map too; with `node` null it reports where each page is. See movePages for the statuses.
   */
  movePages(start: number, npages: number, node: number | ((i: number) => number) | null, opts: { all?: boolean } = {}): MovePagesResult {
    const vpns = Array.from({ length: npages }, (_, i) => start + i);
    const nodes = node === null ? null : vpns.map((_, i) => (typeof node === 'number' ? node : node(i)));
    return movePages(this.mm, vpns, nodes, opts.all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE);
  }

  /** fork(): a child with a copy of the address space (COW) and no device files of its own. */
  fork(): Process {
    const child = new Process(this.machine, forkMm(this.mm));
    for (const h of this.machine.spawnHooks) h(child);
    return child;
  }

  /** open("/dev/hmm_dmirrorN"), or the file already open for N. */
  open(dev: number): Dmirror {
    if (!this.devfd[dev]) this.devfd[dev] = this.machine.driver.open(dev, this.mm);
    return this.devfd[dev]!;
  }
  /** close() of the device file: the last reference evicts the whole device. */
  close(dev: number): boolean {
    const d = this.devfd[dev];
    if (!d) return false;
    this.devfd[dev] = null;
    d.put();
    return true;
  }
  /** A device command on this process's mirror of device `dev`. */
  device(dev: number): DeviceFile {
    return new DeviceFile(this.open(dev));
  }

  /**
   * exit(): with `closeDevicesFirst` (what hmmtrace's children do) the device files are closed
   * while the address space still exists; then exit_mm, then the remaining files.
   */
  exit(closeDevicesFirst = true, extraFds: RegionFd[] = []): void {
    if (this.exited) return;
    this.exited = true;
    if (closeDevicesFirst) for (let i = 0; i < this.devfd.length; i++) this.close(i);
    // exit_mm: the task's own mm_users reference. Off-CPU users (device tasks that mmget'd the mm)
    // keep the address space until they let go; with none, this is the last and exit_mmap runs.
    mmput(this.mm);
    for (const h of this.machine.exitHooks) h(this);
    for (let i = 0; i < this.devfd.length; i++) this.close(i);
    for (const fd of [...this.ownedFds, ...extraFds]) {
      if (fd.file) this.sys.fileput(fd.file);
      fd.dmirror?.put();
    }
  }
}

/** The dmirror commands of one device file, with the driver's results. */
export class DeviceFile {
  constructor(readonly mirror: Dmirror) {}
  read(start: number, npages: number): CmdResult {
    return this.mirror.ioctl('read', start, npages);
  }
  write(start: number, npages: number, byte: number): CmdResult {
    return this.mirror.ioctl('write', start, npages, byte);
  }
  migrateToDevice(start: number, npages: number): CmdResult {
    return this.mirror.ioctl('migrate_to_dev', start, npages);
  }
  migrateToSystem(start: number, npages: number): CmdResult {
    return this.mirror.ioctl('migrate_to_sys', start, npages);
  }
  snapshot(start: number, npages: number): CmdResult {
    return this.mirror.ioctl('snapshot', start, npages);
  }
  exclusive(start: number, npages: number): CmdResult {
    return this.mirror.ioctl('exclusive', start, npages);
  }
  checkExclusive(start: number, npages: number): CmdResult {
    return this.mirror.ioctl('check_exclusive', start, npages);
  }
  release(): CmdResult {
    return this.mirror.ioctl('release', 0, 1);
  }
  /**
   * HMM_DMIRROR_FLAGS (7.x test_hmm only; -EINVAL on 6.1 and 6.12): sets the mirror's flags,
   * e.g. HMM_DMIRROR_FLAG_FAIL_ALLOC. `start` is the buffer address the C test passes along.
   */
  setFlags(start: number, flags: number): CmdResult {
    return this.mirror.ioctl('flags', start, flags);
  }
}

