import { policyNode } from '../../mm/mempolicy.ts';
import type { System } from '../../mm/system.ts';
import type { DevPagemap } from '../../mm/memremap.ts';
import { PageKind } from '../../mm/page.ts';
import { PteType, mkPte, pteType } from '../../mm/pte.ts';
import { VM_FAULT_SIGBUS, VM_FAULT_OK } from '../../mm/fault.ts';
import { pageAddRmap, rmapWalk } from '../../mm/rmap.ts';
import { splitHugePmd, splitDevicePrivateFolio } from '../../mm/huge-memory.ts';
import { PMD_NR, PMD_ORDER } from '../../mm/constants.ts';
import type { Mm } from '../../mm/mm.ts';
import type { Vma } from '../../mm/vma.ts';
import {
  newMigrateVma, migrateVmaSetup, migrateVmaPages, migrateVmaFinalize, migrateDeviceRange, migrateDevicePages,
  migrateDeviceFinalize, migratePfn, migratePfnToPage, mpfnHas, MIGRATE_PFN_MIGRATE, MIGRATE_PFN_WRITE, MIGRATE_PFN_COMPOUND,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE, MIGRATE_VMA_SELECT_DEVICE_COHERENT, MIGRATE_VMA_SELECT_COMPOUND, type MigrateVma,
} from '../../mm/migrate-device.ts';
import { KernelHang } from './errors.ts';
import { HMM_DMIRROR_FLAG_FAIL_ALLOC, type Dmirror } from './dmirror.ts';

/** DEVMEM_CHUNK_SIZE: 256 MiB of 4 KiB pages. */
export const DEVMEM_CHUNK_PAGES = 65536;

/** One chunk of device memory: a pagemap and the pages handed out of it so far. */
interface Chunk {
  pagemap: DevPagemap;
  /** Pages [0, used) have been handed out at least once; the rest are implicitly free. */
  used: number;
  remove: boolean;
}

/**
 * struct dmirror_device (lib/test_hmm.c): a fake device with device-private or device-coherent
 * memory in 256 MiB chunks. A private page's contents live in a system "backing" page (rpage)
 * the driver allocates with it; a coherent page holds its own contents. Free pages form a LIFO
 * list; a new chunk hands out its pages from the highest pfn down, as the driver's list does.
 */
export class DmirrorDevice {
  readonly chunks: Chunk[] = [];
  private freePages: number[] = [];
  /** dpage -> backing rpage (private devices). */
  readonly backing = new Map<number, number>();
  /** dpage -> the mirror (open file) that migrated it (rpage->zone_device_data). */
  readonly migratedBy = new Map<number, Dmirror>();
  /** Pages allocated / freed (calloc / cfree). */
  calloc = 0;
  cfree = 0;
  /**
   * 7.x (devicePrivateThp): free order-9 device folios (mdevice->free_folios, LIFO), and the
   * heads of those handed out and not yet split or freed. A huge device page is backed by a
   * system THP (the rpage folio of test_hmm), subpage by subpage in `backing`.
   */
  private freeFolios: number[] = [];
  readonly hugeHeads = new Set<number>();

  constructor(readonly sys: System, readonly id: number, readonly type: 'private' | 'coherent') {
    this.allocateChunk();
  }

  get isPrivate(): boolean {
    return this.type === 'private';
  }
  /** MIGRATE_VMA_SELECT_* for this device's memory. */
  get select(): number {
    return this.isPrivate ? MIGRATE_VMA_SELECT_DEVICE_PRIVATE : MIGRATE_VMA_SELECT_DEVICE_COHERENT;
  }
  ownsPage(pfn: number): boolean {
    const pm = this.sys.pagemapOf(pfn);
    return pm !== undefined && pm.owner === this;
  }

  private allocateChunk(): boolean {
    // Coherent devices have one fixed special-purpose memory range: at most one chunk.
    if (!this.isPrivate && this.chunks.length > 0) return false;
    const pm = this.sys.memremapPages(this.type, this, {
      pageFree: (pfn) => this.pageFree(pfn),
      migrateToRam: (f) => this.migrateToRam(f),
      folioSplit: (head, nr) => this.folioSplit(head, nr),
    }, DEVMEM_CHUNK_PAGES);
    this.chunks.push({ pagemap: pm, used: 0, remove: false });
    return true;
  }

  private chunkOf(pfn: number): Chunk | undefined {
    return this.chunks.find((c) => pfn >= c.pagemap.start && pfn < c.pagemap.start + c.pagemap.npages);
  }

  /** dmirror_devmem_alloc_page: a locked device page with refcount 1, or -1. */
  allocPage(): number {
    const p = this.sys.pages;
    let rpage = -1;
    if (this.isPrivate) rpage = p.allocSystem();
    let dpage = this.popFree();
    if (dpage < 0 && this.allocateChunk()) dpage = this.popFree();
    if (dpage < 0) {
      if (rpage >= 0) this.sys.putPage(rpage);
      return -1;
    }
    this.calloc++;
    p.refcount[dpage] = 1;
    p.flags[dpage] = 0;
    p.mapcount[dpage] = 0;
    p.dropData(dpage);
    if (rpage >= 0) this.backing.set(dpage, rpage);
    return dpage;
  }

  /**
   * dmirror_devmem_alloc_page(is_large) for an order-9 folio (7.x, devicePrivateThp): a free
   * folio, else an aligned 2 MiB block carved from a chunk (a new one if need be), backed by a
   * system THP; -1 when there is none. The kernel turns a whole new chunk into folios when the
   * allocation that creates it is large; the model carves blocks as they are needed (the pfns
   * differ, nothing else). Coherent devices hand out no large folios here (the caller falls
   * back to 4 KiB pages).
   */
  allocHugePage(): number {
    const p = this.sys.pages;
    if (!this.isPrivate) return -1;
    let dpage = this.freeFolios.pop() ?? this.carveFolio();
    if (dpage < 0 && this.allocateChunk()) dpage = this.carveFolio();
    if (dpage < 0) return -1;
    const rpage = p.allocCompound(PMD_ORDER);
    for (let i = 0; i < PMD_NR; i++) {
      p.flags[dpage + i] = 0;
      p.dropData(dpage + i);
      this.backing.set(dpage + i, rpage + i);
    }
    p.makeDeviceCompound(dpage, PMD_ORDER);
    this.hugeHeads.add(dpage);
    this.calloc += PMD_NR;
    return dpage;
  }

  /** An aligned free 2 MiB block of a chunk's untouched pages (skipped ones join the free list). */
  private carveFolio(): number {
    for (const c of this.chunks) {
      if (c.remove) continue;
      const top = c.pagemap.start + c.pagemap.npages - c.used;
      const head = Math.floor((top - PMD_NR) / PMD_NR) * PMD_NR;
      if (head < c.pagemap.start) continue;
      for (let pfn = top - 1; pfn >= head + PMD_NR; pfn--) this.freePages.push(pfn);
      c.used = c.pagemap.start + c.pagemap.npages - head;
      return head;
    }
    return -1;
  }

  /**
   * folio_split op (dmirror_devmem_folio_split): a huge device page became 512 small ones, and
   * so does the system THP backing it.
   */
  private folioSplit(head: number, nr: number): void {
    if (!this.hugeHeads.delete(head)) return;
    const p = this.sys.pages;
    const rpage = this.backing.get(head)!;
    for (let i = 0; i < nr; i++) {
      p.clearCompound(rpage + i);
      p.refcount[rpage + i] = 1;
    }
  }

  private popFree(): number {
    if (this.freePages.length > 0) return this.freePages.pop()!;
    for (const c of this.chunks) {
      if (c.remove || c.used >= c.pagemap.npages) continue;
      c.used++;
      return c.pagemap.start + c.pagemap.npages - c.used;
    }
    return -1;
  }

  /** BACKING_PAGE: where the contents of device page `dpage` live. */
  backingPage(dpage: number): number {
    return this.isPrivate ? this.backing.get(dpage)! : dpage;
  }

  /** page_free callback: the backing page goes, the device page returns to the free list. */
  private pageFree(dpage: number): void {
    if (this.hugeHeads.delete(dpage)) {
      // A whole huge page: its backing THP goes, the folio returns to the free-folio list.
      const p = this.sys.pages;
      this.sys.putPage(this.backing.get(dpage)!);
      for (let i = 0; i < PMD_NR; i++) {
        this.backing.delete(dpage + i);
        this.migratedBy.delete(dpage + i);
        p.clearCompound(dpage + i);
      }
      const c = this.chunkOf(dpage);
      if (c && !c.remove) {
        this.cfree += PMD_NR;
        this.freeFolios.push(dpage);
      }
      return;
    }
    const rpage = this.backing.get(dpage);
    if (rpage !== undefined) {
      this.backing.delete(dpage);
      this.sys.putPage(rpage);
    }
    this.migratedBy.delete(dpage);
    const c = this.chunkOf(dpage);
    if (c && !c.remove) {
      this.cfree++;
      this.freePages.push(dpage);
    }
  }

  /**
   * dmirror_devmem_fault (migrate_to_ram): migrates just the faulting page back to system
   * memory for the mirror that put it on the device; setup failure is SIGBUS.
   */
  private migrateToRam(f: { mm: Mm; vma: Vma; vpn: number; pfn: number; pmd?: boolean }): number {
    const dmirror = this.migratedBy.get(f.pfn);
    // 7.x: a fault on a device-private PMD migrates the whole folio (order from the folio; a PTE
    // fault is order 0 even on a large folio, which collect then splits).
    const order = f.pmd === true ? this.sys.pages.orderOf(f.pfn) : 0;
    const start = order > 0 ? f.vpn - (f.vpn % (1 << order)) : f.vpn;
    const select = this.select | (order > 0 ? MIGRATE_VMA_SELECT_COMPOUND : 0);
    const args = newMigrateVma(f.mm, f.vma, start, start + (1 << order), this, select, f.pfn);
    if (migrateVmaSetup(args)) return VM_FAULT_SIGBUS;
    this.faultAllocAndCopy(args, dmirror);
    migrateVmaPages(args);
    migrateVmaFinalize(args);
    this.sys.stats.migrateToRam++;
    return VM_FAULT_OK;
  }

  /**
   * dmirror_devmem_fault_alloc_and_copy: a system page for every collected device page, copied
   * from the backing page; the mirror's entry for the address is erased first.
   */
  faultAllocAndCopy(args: MigrateVma, dmirror: Dmirror | undefined): void {
    if (this.sys.k.devicePrivateThp) {
      this.faultAllocAndCopyThp(args, dmirror);
      return;
    }
    const p = this.sys.pages;
    for (let i = 0; i < args.npages; i++) {
      const spage = migratePfnToPage(args.src[i]);
      if (spage < 0 || !mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) continue;
      if (!p.isZoneDevice(spage)) continue;
      // alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, addr): the task's policy at that address.
      const dpage = p.allocSystem(policyNode(args.mm, args.vma, args.start + i));
      dmirror?.pt.delete(args.start + i);
      p.copy(dpage, this.sys.pagemapOf(spage)!.owner === this ? this.backingPage(spage) : spage);
      args.dst[i] = migratePfn(dpage) + (mpfnHas(args.src[i], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
    }
  }

  /**
   * dmirror_devmem_fault_alloc_and_copy as 7.x has it (devicePrivateThp): a compound entry of a
   * huge device page gets a system THP (vma_alloc_folio of order 9) and keeps MIGRATE_PFN_COMPOUND,
   * so the folio comes back PMD-mapped; with HMM_DMIRROR_FLAG_FAIL_ALLOC set (once) it gets 512
   * 4 KiB pages instead and the core splits the device folio. The mirror's entries go first.
   */
  private faultAllocAndCopyThp(args: MigrateVma, dmirror: Dmirror | undefined): void {
    const p = this.sys.pages;
    for (let i = 0; i < args.npages;) {
      const spage = migratePfnToPage(args.src[i]);
      if (spage < 0 || !mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE) || !p.isZoneDevice(spage)) {
        i++;
        continue;
      }
      const order = mpfnHas(args.src[i], MIGRATE_PFN_COMPOUND) ? p.orderOf(spage) : 0;
      const nr = 1 << order;
      const node = policyNode(args.mm, args.vma, args.start + i);
      const write = mpfnHas(args.src[i], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0;
      let dpage = -1;
      if (dmirror !== undefined && dmirror.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) dmirror.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
      else dpage = order > 0 ? p.allocCompound(order, PageKind.SYSTEM, node) : p.allocSystem(node);
      if (dpage >= 0) args.dst[i] = migratePfn(dpage) + write + (order > 0 ? MIGRATE_PFN_COMPOUND : 0);
      const from = this.sys.pagemapOf(spage)!.owner === this ? (j: number) => this.backingPage(spage + j) : (j: number) => spage + j;
      for (let j = 0; j < nr && i + j < args.npages; j++) {
        let d: number;
        if (dpage < 0) {
          // Smaller pages when the large allocation failed.
          d = p.allocSystem(policyNode(args.mm, args.vma, args.start + i + j));
          args.dst[i + j] = migratePfn(d);
        } else d = dpage + j;
        dmirror?.pt.delete(args.start + i + j);
        p.copy(d, from(j));
      }
      i += nr;
    }
  }

  /**
   * dmirror_device_evict_chunk: migrates every in-use page of a chunk back to system memory,
   * in every process mapping it, keeping data and write permission. Each page is an
   * alloc_page() under the calling task's policy: `nextNode()` says on which node.
   */
  evictChunk(c: Chunk, nextNode: () => number = () => 0): void {
    const sys = this.sys, p = sys.pages;
    const n = c.used;
    const start = c.pagemap.start + c.pagemap.npages - n;
    if (n === 0) return;
    this.splitHugeForEviction(c);
    const src = new Float64Array(n), dst = new Float64Array(n);
    migrateDeviceRange(sys, src, start);
    for (let i = 0; i < n; i++) {
      const spage = migratePfnToPage(src[i]);
      if (spage < 0 || !mpfnHas(src[i], MIGRATE_PFN_MIGRATE)) continue;
      const dpage = p.allocSystem(nextNode());
      p.copy(dpage, this.backingPage(spage));
      dst[i] = migratePfn(dpage);
    }
    migrateDevicePages(sys, src, dst);
    migrateDeviceFinalize(sys, src, dst);
    this.leaveExclusiveHoldsMapped();
  }

  /**
   * 7.x: the eviction moves 4 KiB pages, so every huge page of the chunk is split first (its
   * PMD entries, then the folio). The kernel's migrate_device_range collects a large folio whole
   * (MIGRATE_PFN_COMPOUND); the model splits it instead: the data and where it lands are the
   * same, the CPU maps it with PTEs rather than a PMD. A simplification, modelled, not checked.
   */
  private splitHugeForEviction(c: Chunk): void {
    const end = c.pagemap.start + c.pagemap.npages;
    for (const head of [...this.hugeHeads]) {
      if (head < c.pagemap.start || head >= end) continue;
      for (const h of rmapWalk(this.sys, head, false)) if (h.huge) splitHugePmd(h.mm, h.vma, h.vpn);
      splitDevicePrivateFolio(this.sys, head);
    }
  }

  /**
   * Device-exclusive entries holding pages of this device. Only a page whose references exceed
   * its mappings can be held that way (exclusive entries have no mapcount in 6.1), so the scan
   * costs one check per page handed out, plus an rmap walk for the rare suspect.
   */
  private *exclusiveHolds(): Generator<{ mm: Mm; vpn: number; pfn: number }> {
    const p = this.sys.pages;
    for (const c of this.chunks) {
      for (let pfn = c.pagemap.start + c.pagemap.npages - c.used; pfn < c.pagemap.start + c.pagemap.npages; pfn++) {
        if (p.refcount[pfn] <= p.mapcount[pfn]) continue;
        for (const h of rmapWalk(this.sys, pfn, false)) {
          if (!h.huge && pteType(h.entry) === PteType.DEVICE_EXCLUSIVE) yield { mm: h.mm, vpn: h.vpn, pfn };
        }
      }
    }
  }

  /**
   * Linux 6.1 bug (behaviour 18), as the oracle shows it: the eviction cannot move a coherent
   * page that a device-exclusive entry holds (the entry's reference fails the pin check), and
   * restoring it turns the entry into a read-only present mapping (snapshot 41) while the
   * entry's reference is never dropped. The page stays on the device for good: later evictions
   * and migrate_to_sys skip it, and RELEASE waits for it forever.
   */
  private leaveExclusiveHoldsMapped(): void {
    if (this.isPrivate) return;
    const p = this.sys.pages;
    for (const { mm, vpn, pfn } of [...this.exclusiveHolds()]) {
      mm.pt.setPte(vpn, mkPte(PteType.PRESENT, pfn, 0));
      pageAddRmap(this.sys, pfn, false);
      p.get(pfn);
    }
  }

  /** Every chunk evicted (dmirror_fops_release); `nextNode` as for evictChunk. */
  evictAll(nextNode?: () => number): void {
    for (const c of this.chunks) this.evictChunk(c, nextNode);
  }

  /**
   * dmirror_device_remove_chunks (HMM_DMIRROR_RELEASE): evict and free every chunk; the next
   * allocation creates a new one. memunmap_pages waits for every page to be free: a page the
   * eviction could not move means the call never returns.
   */
  removeChunks(nextNode?: () => number): void {
    const p = this.sys.pages;
    for (const c of this.chunks) {
      c.remove = true;
      this.evictChunk(c, nextNode);
      // memunmap_pages waits until every page of the chunk is free.
      for (let pfn = c.pagemap.start + c.pagemap.npages - c.used; pfn < c.pagemap.start + c.pagemap.npages; pfn++) {
        if (p.refcount[pfn] > 0) throw new KernelHang('memunmap_pages waits for a page the eviction could not move');
      }
      c.pagemap.dead = true;
      const pm = c.pagemap;
      this.sys.pages.kind.fill(PageKind.FREE, pm.start, pm.start + pm.npages);
    }
    this.chunks.length = 0;
    this.freePages = [];
    this.freeFolios = [];
  }
}
