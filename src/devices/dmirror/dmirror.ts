import { policyNode } from '../../mm/mempolicy.ts';
import { EINVAL, EFAULT, ENOENT, EPERM, EBUSY, NotifyEvent } from '../../mm/constants.ts';
import type { Mm } from '../../mm/mm.ts';
import type { IntervalNotifier, NotifierRange } from '../../mm/mmu-notifier.ts';
import { hmmRangeFault, newHmmRange, HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_ERROR, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE } from '../../hmm/range-fault.ts';
import {
  newMigrateVma, migrateVmaSetup, migrateVmaPages, migrateVmaFinalize, migratePfn, migratePfnToPage, mpfnHas,
  MIGRATE_PFN_MIGRATE, MIGRATE_PFN_WRITE, MIGRATE_PFN_VALID, MIGRATE_PFN_COMPOUND, MIGRATE_VMA_SELECT_SYSTEM, MIGRATE_VMA_SELECT_COMPOUND, type MigrateVma,
} from '../../mm/migrate-device.ts';
import { makeDeviceExclusiveRange, makeDeviceExclusive } from '../../mm/exclusive.ts';
import { PAGE_SIZE } from '../../mm/constants.ts';
import { KernelCrash } from './errors.ts';
import type { DmirrorDevice } from './device.ts';

/** Device page-table entry tags (DPT_XA_TAG_*). */
export const TAG_READ = 0;
export const TAG_ATOMIC = 1;
export const TAG_WRITE = 3;

/** One entry of the mirror: the page the device reads/writes, and how it may. */
export interface MirrorEntry {
  pfn: number;
  tag: number;
}

/** Snapshot permission bytes (HMM_DMIRROR_PROT_*). */
export const PROT_ERROR = 0xff, PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_PMD = 4, PROT_ZERO = 0x10;
export const PROT_DEV_PRIVATE_LOCAL = 0x20, PROT_DEV_PRIVATE_REMOTE = 0x30, PROT_DEV_COHERENT_LOCAL = 0x40, PROT_DEV_COHERENT_REMOTE = 0x50;

/** What a dmirror command returns: `ret` 0 or -errno; counters and data only on success. */
export interface CmdResult {
  ret: number;
  cpages: number;
  faults: number;
  /** READ / MIGRATE_TO_DEV / EXCLUSIVE: NPAGES*4096 bytes read through the mirror. */
  data?: Uint8Array;
  /** SNAPSHOT: one permission byte per page. */
  perm?: Uint8Array;
}

/** How many pages the driver handles per hmm_range_fault / migrate_vma call. */
const CHUNK = 64;
/**
 * 7.x (devicePrivateThp): test_hmm migrates PTRS_PER_PTE pages per migrate_vma call, so a
 * 2 MiB-aligned buffer meets whole PMDs.
 */
const MIGRATE_CHUNK_THP = 512;

/**
 * HMM_DMIRROR_FLAG_FAIL_ALLOC (7.x test_hmm, HMM_DMIRROR_FLAGS): the next device or system page
 * allocation of a migration fails once, forcing the 4 KiB fallback of a THP migration.
 */
export const HMM_DMIRROR_FLAG_FAIL_ALLOC = 1;

/**
 * struct dmirror: one open file of /dev/hmm_dmirrorN — a mirror (device page table) of the
 * opener's address space, kept coherent by an interval notifier over the whole space. It holds
 * no page references: invalidations keep it honest, and they erase one page more than asked
 * (the inclusive bound in dmirror_do_update).
 */
export class Dmirror {
  /** vpn -> entry. */
  readonly pt = new Map<number, MirrorEntry>();
  readonly notifier: IntervalNotifier;
  /** struct file references (fds, devN mappings); release runs when they reach zero. */
  refs = 1;
  released = false;
  /** dmirror->flags, set by HMM_DMIRROR_FLAGS (7.x): HMM_DMIRROR_FLAG_FAIL_ALLOC. */
  flags = 0;

  constructor(readonly device: DmirrorDevice, readonly mm: Mm) {
    this.notifier = mm.notifiers.insert(0, Number.MAX_SAFE_INTEGER, (sub, range, cur) => this.invalidate(sub, range, cur));
  }

  private invalidate(sub: IntervalNotifier, range: NotifierRange, cur: number): boolean {
    // Own migrations update the mirror themselves and must not force a retry.
    if (range.event === NotifyEvent.MIGRATE && range.owner === this.device) return true;
    sub.setSeq(cur);
    if (range.end - range.start > this.pt.size) {
      for (const k of [...this.pt.keys()]) if (k >= range.start && k <= range.end) this.pt.delete(k);
    } else {
      for (let k = range.start; k <= range.end; k++) this.pt.delete(k);
    }
    return true;
  }

  /**
   * Node of the next page the driver alloc_page()s while evicting: the calling task's policy,
   * and the task is, in hmmtrace, the mirrored process itself.
   */
  private readonly allocNode = (): number => policyNode(this.mm, null, 0);

  get(): void {
    this.refs++;
  }
  /** Drops a file reference; the last one runs dmirror_fops_release. */
  put(): void {
    if (--this.refs > 0 || this.released) return;
    this.released = true;
    this.mm.notifiers.remove(this.notifier);
    this.device.evictAll(this.allocNode);
    this.pt.clear();
  }

  // ---- ioctl ----

  /** dmirror_fops_unlocked_ioctl's common checks and dispatch. */
  ioctl(cmd: 'read' | 'write' | 'migrate_to_dev' | 'migrate_to_sys' | 'snapshot' | 'exclusive' | 'check_exclusive' | 'release' | 'flags', start: number, npages: number, byte = 0): CmdResult {
    const r: CmdResult = { ret: 0, cpages: 0, faults: 0 };
    if (npages <= 0) return { ret: -EINVAL, cpages: 0, faults: 0 };
    const end = start + npages;
    switch (cmd) {
      case 'read': r.ret = this.read(start, end, r); break;
      case 'write': r.ret = this.write(start, end, byte, r); break;
      case 'migrate_to_dev': r.ret = this.migrateToDevice(start, end, r); break;
      case 'migrate_to_sys': r.ret = this.migrateToSystem(start, end, r); break;
      case 'snapshot': r.ret = this.snapshot(start, end, r); break;
      case 'exclusive': r.ret = this.exclusive(start, end, r); break;
      case 'check_exclusive': r.ret = this.checkAtomic(start, end); break;
      case 'release': this.device.removeChunks(this.allocNode); break;
      // HMM_DMIRROR_FLAGS (7.x test_hmm): npages carries the flags. No such ioctl before.
      case 'flags':
        if (!this.mm.sys.k.devicePrivateThp) return { ret: -EINVAL, cpages: 0, faults: 0 };
        this.flags = npages;
        break;
    }
    return r;
  }

  private readPage(pfn: number, out: Uint8Array, off: number): void {
    const p = this.mm.sys.pages;
    if (p.isDevicePrivate(pfn)) throw new KernelCrash('kmap() of a device-private struct page in dmirror_do_read/write');
    p.readInto(pfn, out, off);
  }

  /** dmirror_do_read: copies from the first page until one has no entry (-ENOENT). */
  private doRead(start: number, end: number, buf: Uint8Array, r: CmdResult, base: number): number {
    for (let v = start; v < end; v++) {
      const e = this.pt.get(v);
      if (!e) return -ENOENT;
      this.readPage(e.pfn, buf, (v - base) * PAGE_SIZE);
      r.cpages++;
    }
    return 0;
  }

  private doWrite(start: number, end: number, byte: number, r: CmdResult): number {
    const p = this.mm.sys.pages;
    for (let v = start; v < end; v++) {
      const e = this.pt.get(v);
      if (!e || e.tag !== TAG_WRITE) return -ENOENT;
      if (p.isDevicePrivate(e.pfn)) throw new KernelCrash('kmap() of a device-private struct page in dmirror_do_write');
      p.fill(e.pfn, byte);
      r.cpages++;
    }
    return 0;
  }

  private read(start: number, end: number, r: CmdResult): number {
    const buf = new Uint8Array((end - start) * PAGE_SIZE);
    let s = start;
    for (;;) {
      const ret = this.doRead(s, end, buf, r, start);
      if (ret !== -ENOENT) break;
      s = start + r.cpages;
      const f = this.fault(s, end, false);
      if (f) return f;
      r.faults++;
    }
    r.data = buf;
    return 0;
  }

  private write(start: number, end: number, byte: number, r: CmdResult): number {
    let s = start;
    for (;;) {
      const ret = this.doWrite(s, end, byte, r);
      if (ret !== -ENOENT) return ret;
      s = start + r.cpages;
      const f = this.fault(s, end, true);
      if (f) return f;
      r.faults++;
    }
  }

  /** dmirror_fault: hmm_range_fault in chunks of 64 pages, each stored into the mirror. */
  fault(start: number, end: number, write: boolean): number {
    if (!this.mm.alive) return -EFAULT;
    for (let a = start; a < end; a = Math.min(a + CHUNK, end)) {
      const ret = this.rangeFault(a, Math.min(a + CHUNK, end), write);
      if (ret) return ret;
    }
    return 0;
  }

  private rangeFault(start: number, end: number, write: boolean): number {
    const range = newHmmRange(this.notifier, start, end, HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0), this.device);
    for (let tries = 0; ; tries++) {
      // The driver gives up after HMM_RANGE_DEFAULT_TIMEOUT; a bounded retry count stands for it.
      if (tries > 100) return -EBUSY;
      range.flags.fill(0);
      range.notifierSeq = this.notifier.readBegin();
      const ret = hmmRangeFault(this.mm, range);
      if (ret === -EBUSY) continue;
      if (ret) return ret;
      if (this.notifier.readRetry(range.notifierSeq)) continue;
      break;
    }
    // dmirror_do_fault
    for (let i = 0; i < end - start; i++) {
      const f = range.flags[i];
      const pfn = range.pfns[i];
      if (f & HMM_PFN_WRITE) this.pt.set(start + i, { pfn, tag: TAG_WRITE });
      else if (write) return -EFAULT;
      else this.pt.set(start + i, { pfn, tag: TAG_READ });
    }
    return 0;
  }

  /** dmirror_migrate_to_device, then the mirror read-back that decides the result. */
  private migrateToDevice(start: number, end: number, r: CmdResult): number {
    const ret0 = this.migrateChunks(start, end, MIGRATE_VMA_SELECT_SYSTEM | (this.mm.sys.k.devicePrivateThp ? MIGRATE_VMA_SELECT_COMPOUND : 0), (args) => {
      this.allocAndCopy(args);
      migrateVmaPages(args);
      this.finalizeAndMap(args);
    });
    if (ret0) return ret0;
    const buf = new Uint8Array((end - start) * PAGE_SIZE);
    const ret = this.doRead(start, end, buf, r, start);
    if (ret) return ret;
    r.data = buf;
    return 0;
  }

  /** dmirror_migrate_alloc_and_copy. */
  private allocAndCopy(args: MigrateVma): void {
    const sys = this.mm.sys, p = sys.pages;
    if (sys.k.devicePrivateThp) {
      this.allocAndCopyThp(args);
      return;
    }
    for (let i = 0; i < args.npages; i++) {
      if (!mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) continue;
      const spage = migratePfnToPage(args.src[i]);
      if (spage >= 0 && p.isZoneDevice(spage)) continue;
      const dpage = this.device.allocPage();
      if (dpage < 0) continue;
      const rpage = this.device.backingPage(dpage);
      if (spage >= 0) p.copy(rpage, spage);
      else p.fill(rpage, 0);
      this.device.migratedBy.set(dpage, this);
      let d = migratePfn(dpage);
      if (mpfnHas(args.src[i], MIGRATE_PFN_WRITE) || (spage < 0 && args.vma.writable)) d += MIGRATE_PFN_WRITE;
      args.dst[i] = d;
    }
  }

  /**
   * dmirror_migrate_alloc_and_copy as 7.x has it (devicePrivateThp): a compound entry gets a
   * huge device page (or, failing that or with HMM_DMIRROR_FLAG_FAIL_ALLOC, 512 small ones, and
   * the core splits the source); the destination is writable only where the source was (6.1 made
   * new pages of a writable VMA's holes writable too).
   */
  private allocAndCopyThp(args: MigrateVma): void {
    const p = this.mm.sys.pages;
    for (let i = 0; i < args.npages;) {
      if (!mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) {
        i++;
        continue;
      }
      const spage = migratePfnToPage(args.src[i]);
      if (spage >= 0 && p.isZoneDevice(spage)) {
        i++;
        continue;
      }
      const large = mpfnHas(args.src[i], MIGRATE_PFN_COMPOUND);
      const write = mpfnHas(args.src[i], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0;
      let dpage = -1;
      if (this.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) this.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
      else dpage = large ? this.device.allocHugePage() : this.device.allocPage();
      const nr = large ? Math.min(spage >= 0 ? p.folioNr(spage) : 512, args.npages - i) : 1;
      if (dpage < 0 && !large) {
        i++;
        continue;
      }
      for (let j = 0; j < nr; j++) {
        let d: number;
        if (dpage < 0) {
          d = this.device.allocPage();
          if (d < 0) continue;
          args.dst[i + j] = migratePfn(d) + write;
        } else d = dpage + j;
        const rpage = this.device.backingPage(d);
        if (spage >= 0) p.copy(rpage, spage + j);
        else p.fill(rpage, 0);
        this.device.migratedBy.set(d, this);
      }
      if (dpage >= 0) args.dst[i] = migratePfn(dpage) + write + (large ? MIGRATE_PFN_COMPOUND : 0);
      i += nr;
    }
  }

  /** dmirror_migrate_finalize_and_map: the backing pages of what migrated enter the mirror. */
  private finalizeAndMap(args: MigrateVma): void {
    for (let i = 0; i < args.npages; i++) {
      if (!mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) continue;
      const dpage = migratePfnToPage(args.dst[i]);
      if (dpage < 0) continue;
      // A compound destination maps each of its pages (7.x).
      const nr = mpfnHas(args.dst[i], MIGRATE_PFN_COMPOUND) ? this.mm.sys.pages.folioNr(dpage) : 1;
      const tag = mpfnHas(args.dst[i], MIGRATE_PFN_WRITE) ? TAG_WRITE : TAG_READ;
      for (let j = 0; j < nr; j++) this.pt.set(args.start + i + j, { pfn: this.device.backingPage(dpage + j), tag });
    }
  }

  /** dmirror_migrate_to_system: cpages counts the pages that really moved. */
  private migrateToSystem(start: number, end: number, r: CmdResult): number {
    return this.migrateChunks(start, end, this.device.select | (this.mm.sys.k.devicePrivateThp ? MIGRATE_VMA_SELECT_COMPOUND : 0), (args) => {
      this.device.faultAllocAndCopy(args, this);
      migrateVmaPages(args);
      for (let i = 0; i < args.npages; i++) if (mpfnHas(args.src[i], MIGRATE_PFN_VALID) && mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) r.cpages++;
    });
  }

  /**
   * The driver's migration loop: VMA by VMA, at most 64 pages at a time, migrate_vma_setup, the
   * direction-specific copy and commit (`body`), then migrate_vma_finalize. A page with no
   * readable VMA stops it with -EINVAL; chunks already done stay done.
   */
  private migrateChunks(start: number, end: number, select: number, body: (args: MigrateVma) => void): number {
    const mm = this.mm;
    if (!mm.alive) return -EINVAL;
    for (let a = start; a < end;) {
      const vma = mm.findVma(a);
      if (!vma || !vma.readable) return -EINVAL;
      const next = Math.min(end, a + (mm.sys.k.devicePrivateThp ? MIGRATE_CHUNK_THP : CHUNK), vma.end);
      const args = newMigrateVma(mm, vma, a, next, this.device, select);
      const ret = migrateVmaSetup(args);
      if (ret) return ret;
      body(args);
      migrateVmaFinalize(args);
      a = next;
    }
    return 0;
  }

  /** dmirror_snapshot: a pure hmm_range_fault per 64-page chunk, as permission bytes. */
  private snapshot(start: number, end: number, r: CmdResult): number {
    const mm = this.mm;
    if (!mm.alive) return -EINVAL;
    const perm = new Uint8Array(end - start);
    for (let a = start; a < end;) {
      const next = Math.min(a + CHUNK, end);
      const tmp = mm.notifiers.insert(a, next - a, (sub, _range, cur) => {
        sub.setSeq(cur);
        return true;
      });
      const range = newHmmRange(tmp, a, next, 0, this.device);
      let ret: number;
      for (let tries = 0; ; tries++) {
        if (tries > 100) {
          ret = -EBUSY;
          break;
        }
        range.notifierSeq = tmp.readBegin();
        ret = hmmRangeFault(mm, range);
        if (ret === -EBUSY) continue;
        if (ret) break;
        if (tmp.readRetry(range.notifierSeq)) continue;
        break;
      }
      mm.notifiers.remove(tmp);
      if (ret) return ret;
      for (let i = 0; i < next - a; i++) perm[a - start + i] = this.mkentry(range.flags[i], range.pfns[i], range.order[i]);
      r.cpages += next - a;
      a = next;
    }
    r.perm = perm;
    return 0;
  }

  /** dmirror_mkentry. */
  private mkentry(flags: number, pfn: number, order: number): number {
    if (flags & HMM_PFN_ERROR) return PROT_ERROR;
    if (!(flags & HMM_PFN_VALID)) return PROT_NONE;
    const sys = this.mm.sys, p = sys.pages;
    let perm = PROT_NONE;
    if (p.isDevicePrivate(pfn)) perm = sys.pagemapOf(pfn)!.owner === this.device ? PROT_DEV_PRIVATE_LOCAL : PROT_DEV_PRIVATE_REMOTE;
    else if (p.isDeviceCoherent(pfn)) perm = sys.pagemapOf(pfn)!.owner === this.device ? PROT_DEV_COHERENT_LOCAL : PROT_DEV_COHERENT_REMOTE;
    else if (sys.isZeroPfn(pfn)) perm = PROT_ZERO;
    perm |= flags & HMM_PFN_WRITE ? PROT_WRITE : PROT_READ;
    if (order === 9) perm |= PROT_PMD;
    return perm;
  }

  /**
   * dmirror_exclusive (6.1: chunks of 64 pages; all of a chunk must become exclusive. 7.x,
   * deviceExclusiveOnePage: page by page with make_device_exclusive, stopping at the first
   * error, which is returned).
   */
  private exclusive(start: number, end: number, r: CmdResult): number {
    const mm = this.mm;
    if (!mm.alive) return -EINVAL;
    if (mm.sys.k.deviceExclusiveOnePage) {
      for (let a = start; a < end; a++) {
        const page = makeDeviceExclusive(mm, a, null);
        if (page < 0) return page;
        // dmirror_atomic_map
        this.pt.set(a, { pfn: page, tag: TAG_ATOMIC });
      }
    }
    for (let a = mm.sys.k.deviceExclusiveOnePage ? end : start; a < end;) {
      const next = Math.min(end, a + CHUNK);
      const got = makeDeviceExclusiveRange(mm, a, next, null);
      let mapped = 0;
      if (typeof got !== 'number' && got.length === next - a) {
        for (let i = 0; i < got.length; i++) {
          if (got[i] < 0) continue;
          this.pt.set(a + i, { pfn: got[i], tag: TAG_ATOMIC });
          mapped++;
        }
      }
      if (a + mapped < next) return -EBUSY;
      a = next;
    }
    const buf = new Uint8Array((end - start) * PAGE_SIZE);
    const ret = this.doRead(start, end, buf, r, start);
    if (ret) return ret;
    r.data = buf;
    return 0;
  }

  /** dmirror_check_atomic: -EPERM if any page of the range is mapped atomic. */
  private checkAtomic(start: number, end: number): number {
    for (let v = start; v < end; v++) if (this.pt.get(v)?.tag === TAG_ATOMIC) return -EPERM;
    return 0;
  }
}

