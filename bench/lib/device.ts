// A minimal device driver for the bench: device-private memory registered with memremap_pages,
// a free list of device pages, and migration in runs of up to 512 pages (one PMD) with
// migrate_vma_setup / _pages / _finalize, the way a GPU driver's migrate path does it. Contents
// go where the core keeps them (the PageStore, keyed by the device pfn), so with page data on
// every migrated page costs one 4 KiB copy.
import type { System } from '../../src/mm/system.ts';
import type { Mm } from '../../src/mm/mm.ts';
import type { Vma } from '../../src/mm/vma.ts';
import type { DevPagemap, DevPagemapOps } from '../../src/mm/memremap.ts';
import { VM_FAULT_OK, VM_FAULT_SIGBUS } from '../../src/mm/fault.ts';
import {
  newMigrateVma, reuseMigrateVma, migrateVmaSetup, migrateVmaPages, migrateVmaFinalize, migratePfn, migratePfnToPage, mpfnHas,
  MIGRATE_PFN_MIGRATE, MIGRATE_PFN_WRITE, MIGRATE_VMA_SELECT_SYSTEM, MIGRATE_VMA_SELECT_DEVICE_PRIVATE, type MigrateVma,
} from '../../src/mm/migrate-device.ts';

/** Pages one migrate_vma call covers at most (one PMD, as drivers batch). */
export const MIGRATE_RUN = 512;

export interface BenchDeviceOptions {
  /** Device memory in 4 KiB pages. */
  pages: number;
  /**
   * Pages registered per memremap_pages call. Default: all of `pages` up front. Smaller values
   * register memory on demand, one chunk when the free list runs dry (test_hmm does this with
   * 256 MiB chunks).
   */
  chunkPages?: number;
}

/** A device with `pages` pages of device-private memory. */
export class BenchDevice implements DevPagemapOps {
  readonly pagemaps: DevPagemap[] = [];
  /** Pages registered so far (memremap_pages). */
  registered = 0;
  private free: Float64Array;
  private nfree = 0;
  private readonly chunkPages: number;
  /** Pages migrated to the device and back to system memory, by this driver. */
  toDevice = 0;
  toSystem = 0;

  constructor(readonly sys: System, readonly opts: BenchDeviceOptions) {
    this.chunkPages = Math.min(opts.chunkPages ?? opts.pages, opts.pages);
    this.free = new Float64Array(0);
    this.addChunk();
  }

  get capacity(): number {
    return this.opts.pages;
  }

  /** Registers the next chunk of device memory; false when the device is full. */
  private addChunk(): boolean {
    const n = Math.min(this.chunkPages, this.opts.pages - this.registered);
    if (n <= 0) return false;
    const pm = this.sys.memremapPages('private', this, this, n);
    this.pagemaps.push(pm);
    this.registered += n;
    if (this.free.length < this.nfree + n) {
      const f = new Float64Array(Math.max(this.nfree + n, Math.min(this.opts.pages, this.free.length * 2)));
      f.set(this.free.subarray(0, this.nfree));
      this.free = f;
    }
    // Highest pfn first so pops hand pages out in ascending order.
    for (let pfn = pm.start + n - 1; pfn >= pm.start; pfn--) this.free[this.nfree++] = pfn;
    return true;
  }

  /** A free device page with refcount 1, or -1 when the device is full. */
  allocPage(): number {
    if (this.nfree === 0 && !this.addChunk()) return -1;
    const pfn = this.free[--this.nfree];
    const p = this.sys.pages;
    p.refcount[pfn] = 1;
    p.flags[pfn] = 0;
    p.mapcount[pfn] = 0;
    p.dropData(pfn);
    return pfn;
  }

  /** dev_pagemap_ops.page_free: back on the free list. */
  pageFree(pfn: number): void {
    this.sys.pages.dropData(pfn);
    this.free[this.nfree++] = pfn;
  }

  /** dev_pagemap_ops.migrate_to_ram: a CPU fault brings the one page back. */
  migrateToRam(f: { mm: Mm; vma: Vma; vpn: number; pfn: number }): number {
    const args = newMigrateVma(f.mm, f.vma, f.vpn, f.vpn + 1, this, MIGRATE_VMA_SELECT_DEVICE_PRIVATE, f.pfn);
    if (migrateVmaSetup(args)) return VM_FAULT_SIGBUS;
    this.toSystem += this.commit(args, false);
    return VM_FAULT_OK;
  }

  /** Migrates the system pages of [start, end) to the device; returns the pages that moved. */
  migrateToDevice(mm: Mm, start: number, end: number): number {
    const moved = this.inRuns(mm, start, end, MIGRATE_VMA_SELECT_SYSTEM, (args) => this.commit(args, true));
    this.toDevice += moved;
    return moved;
  }

  /** Migrates this device's pages in [start, end) back to system memory; returns the pages moved. */
  migrateToSystem(mm: Mm, start: number, end: number): number {
    const moved = this.inRuns(mm, start, end, MIGRATE_VMA_SELECT_DEVICE_PRIVATE, (args) => this.commit(args, false));
    this.toSystem += moved;
    return moved;
  }

  /**
   * The migrate_vma of the last run, reused from run to run (reuseMigrateVma; migrate_vma_setup
   * clears its arrays), as test_hmm's driver reuses its on-stack src/dst arrays for every chunk:
   * allocating three typed arrays per 512 pages was a tenth of the measure's time.
   */
  private spare: MigrateVma | null = null;

  /** migrate_vma_setup over [start, end) in runs of at most MIGRATE_RUN pages within one VMA; sums `commit`. */
  private inRuns(mm: Mm, start: number, end: number, select: number, commit: (args: MigrateVma) => number): number {
    let moved = 0;
    for (let a = start; a < end;) {
      const vma = mm.findVma(a);
      if (!vma) throw new Error(`no vma at ${a}`);
      const next = Math.min(end, a + MIGRATE_RUN, vma.end);
      const args = reuseMigrateVma(this.spare, mm, vma, a, next, this, select);
      if (migrateVmaSetup(args)) throw new Error('migrate_vma_setup failed');
      moved += commit(args);
      this.spare = args;
      a = next;
    }
    return moved;
  }

  /**
   * Allocation and copy for a setup (to the device, or back to system memory for this device's
   * pages), then pages + finalize; returns the pages that moved. A full device stops the run.
   */
  private commit(args: MigrateVma, toDevice: boolean): number {
    const p = this.sys.pages;
    const { src, dst } = args;
    for (let i = 0; i < args.npages; i++) {
      const s = src[i];
      if (!mpfnHas(s, MIGRATE_PFN_MIGRATE)) continue;
      const spage = migratePfnToPage(s);
      let dpage: number;
      if (toDevice) {
        dpage = this.allocPage();
        if (dpage < 0) break;
      } else {
        if (spage < 0 || !p.isDevicePrivate(spage)) continue;
        dpage = p.allocSystem();
      }
      if (spage >= 0) p.copy(dpage, spage);
      // A hole migrated to the device gets a writable entry in a writable vma.
      const write = mpfnHas(s, MIGRATE_PFN_WRITE) || (toDevice && spage < 0 && args.vma.writable);
      dst[i] = migratePfn(dpage) + (write ? MIGRATE_PFN_WRITE : 0);
    }
    migrateVmaPages(args);
    const moved = countMoved(args);
    migrateVmaFinalize(args);
    return moved;
  }
}

/** Entries that still have MIGRATE and a destination after migrate_vma_pages. */
function countMoved(args: MigrateVma): number {
  let n = 0;
  for (let i = 0; i < args.npages; i++) if (mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE) && migratePfnToPage(args.dst[i]) >= 0) n++;
  return n;
}
