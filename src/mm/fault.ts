import { KernelCrash } from './errors.ts';
import { policyNode, filePolicyNode, policyAllowedNodes } from './mempolicy.ts';
import { PMD_NR, PMD_ORDER, NotifyEvent } from './constants.ts';
import { PteType, mkPte, pteType, ptePfn, pteHas, pteFlags, pteSetFlags, PTE_WRITE, PTE_DIRTY, PTE_YOUNG, isStaleMigration } from './pte.ts';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_DIRTY, PageKind } from './page.ts';
import { pageAddNewAnonRmap, pageAddRmap, pageRemoveRmap } from './rmap.ts';
import { splitHugePmd } from './huge-memory.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';
import type { Pmd } from './pagetable.ts';

/** vm_fault_t bits the model produces. */
export const VM_FAULT_OK = 0;
export const VM_FAULT_SIGSEGV = 1;
export const VM_FAULT_SIGBUS = 2;
export const VM_FAULT_OOM = 4;
export const VM_FAULT_ERROR = VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS | VM_FAULT_OOM;

/**
 * handle_mm_fault: resolves one fault at `vpn` in `vma` (already checked for permission by the
 * caller: the CPU's access check, GUP's check_vma_flags or hmm_vma_fault). Returns a VM_FAULT
 * code; on success the caller retries the access, which may fault again (e.g. a write to a
 * device-private page first migrates it, then COWs it).
 */
export function handleMmFault(mm: Mm, vma: Vma, vpn: number, write: boolean): number {
  if (vma.isHugetlb) return hugetlbFault(mm, vma, vpn, write);
  const pmd = mm.pt.pmd(vpn);
  if ((!pmd || (pmd.huge === 0 && !pmd.ptes)) && vma.thpEligible(vpn)) {
    return doHugePmdAnonymousPage(mm, vma, vpn, write);
  }
  if (pmd && pmd.huge !== 0 && pteType(pmd.huge) === PteType.DEVICE_PRIVATE) return doHugePmdDevicePrivate(mm, vma, vpn, pmd.huge);
  if (pmd && pmd.huge !== 0) {
    if (write && !pteHas(pmd.huge, PTE_WRITE)) {
      if (doHugePmdWpPage(mm, vma, vpn)) return VM_FAULT_OK;
      // Fallback: the PMD was split; handle the fault at PTE level.
    } else {
      pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) | PTE_YOUNG | (write ? PTE_DIRTY : 0));
      return VM_FAULT_OK;
    }
  }
  // The PTE in the slot found above (a split of a huge PMD puts its new table in that same
  // slot): no second walk to it.
  const ptes = pmd?.ptes;
  const k = vpn - Math.floor(vpn / PMD_NR) * PMD_NR;
  const e = ptes ? ptes[k] : 0;
  switch (pteType(e)) {
    case PteType.NONE:
      if (vma.isAnonymous) return doAnonymousPage(mm, vma, vpn, write);
      // A driver mapping (vm_insert_page, no ->fault): a zapped page cannot come back.
      if (vma.isMixed) return VM_FAULT_SIGBUS;
      return doFileFault(mm, vma, vpn, write);
    case PteType.DEVICE_EXCLUSIVE:
    case PteType.DEVICE_PRIVATE:
    case PteType.MIGRATION:
      return doSwapPage(mm, vma, vpn);
    case PteType.PRESENT:
      if (write && !pteHas(e, PTE_WRITE)) return wpPage(mm, vma, vpn, e, pmd!);
      ptes![k] = pteSetFlags(e, pteFlags(e) | PTE_YOUNG | (write ? PTE_DIRTY : 0));
      return VM_FAULT_OK;
  }
  return VM_FAULT_SIGBUS;
}

/**
 * do_swap_page for the non-present entries the model has (no swap: they are all non-swap
 * entries): a device-exclusive entry is revoked, a device-private page goes back to RAM through
 * its driver's migrate_to_ram, a migration entry is waited on. Besides faults, khugepaged's
 * swap-in step (khugepaged.ts) calls it. Returns a VM_FAULT code.
 */
export function doSwapPage(mm: Mm, vma: Vma, vpn: number): number {
  const e = mm.pt.pte(vpn);
  switch (pteType(e)) {
    case PteType.DEVICE_EXCLUSIVE:
      removeDeviceExclusiveEntry(mm, vma, vpn);
      return VM_FAULT_OK;
    case PteType.DEVICE_PRIVATE: {
      const pfn = ptePfn(e);
      const pm = mm.sys.pagemapOf(pfn)!;
      mm.sys.pages.get(pfn);
      const r = pm.ops.migrateToRam({ mm, vma, vpn, pfn });
      mm.sys.putPage(pfn);
      return r;
    }
    case PteType.MIGRATION:
      // A live migration entry is only seen while a migration is in progress (single-threaded:
      // never); a stale one is waited on through a page that is not locked.
      if (isStaleMigration(e)) throw new KernelCrash('migration_entry_wait on a migration entry left by try_to_migrate on a device-exclusive entry');
      return VM_FAULT_OK;
  }
  return VM_FAULT_OK;
}

/**
 * do_huge_pmd_device_private (mm/huge_memory.c, 7.x: KernelSwitches.devicePrivateThp; only a
 * 7.x migration makes device-private PMD entries): a CPU fault on a device-private PMD entry
 * holds a reference on the folio and calls its driver's migrate_to_ram with no PTE (the driver
 * may migrate the whole folio). Modelled from source, not checked against a running kernel.
 */
function doHugePmdDevicePrivate(mm: Mm, vma: Vma, vpn: number, e: number): number {
  const head = ptePfn(e);
  const pm = mm.sys.pagemapOf(head)!;
  mm.sys.pages.get(head);
  const r = pm.ops.migrateToRam({ mm, vma, vpn, pfn: head, pmd: true });
  mm.sys.putPage(head);
  return r;
}

/** do_anonymous_page: the zero page for reads, a new exclusive anon page for writes. */
function doAnonymousPage(mm: Mm, vma: Vma, vpn: number, write: boolean): number {
  if (!write) {
    mm.pt.setPte(vpn, mkPte(PteType.PRESENT, mm.sys.zeroPfn, 0));
    return VM_FAULT_OK;
  }
  mm.anonVmaPrepare(vma);
  const pfn = mm.sys.pages.allocSystem(policyNode(mm, vma, vpn));
  pageAddNewAnonRmap(mm.sys, pfn, vma.anonIndex(vpn));
  mm.pt.setPte(vpn, mkPte(PteType.PRESENT, pfn, (vma.writable ? PTE_WRITE | PTE_DIRTY : 0) | PTE_YOUNG));
  return VM_FAULT_OK;
}

/**
 * Faults on shmem and tmpfs-file mappings: map the page cache page (writable at once in a
 * shared writable mapping, since shmem needs no write notification), or COW it into a new
 * anon page on a write to a private mapping (do_cow_fault).
 */
function doFileFault(mm: Mm, vma: Vma, vpn: number, write: boolean): number {
  const sys = mm.sys;
  const file = vma.file;
  if (!file) return VM_FAULT_SIGBUS;
  const idx = vma.pgoffOf(vpn);
  if (idx >= file.size) return VM_FAULT_SIGBUS;
  if (!write && faultAround(mm, vma, vpn)) return VM_FAULT_OK;
  const page = sys.fileGetPage(file, idx, filePolicyNode(mm, file.id, idx));
  if (write && !vma.shared) {
    mm.anonVmaPrepare(vma);
    const pfn = sys.pages.allocSystem(policyNode(mm, vma, vpn));
    sys.pages.copy(pfn, page);
    pageAddNewAnonRmap(sys, pfn, vma.anonIndex(vpn));
    mm.pt.setPte(vpn, mkPte(PteType.PRESENT, pfn, PTE_WRITE | PTE_DIRTY | PTE_YOUNG));
    return VM_FAULT_OK;
  }
  sys.pages.get(page);
  pageAddRmap(sys, page, false);
  // do_shared_fault: fault_dirty_shared_page marks the page dirty.
  if (write) sys.pages.setFlag(page, PG_DIRTY);
  const w = vma.shared && vma.writable ? PTE_WRITE : 0;
  mm.pt.setPte(vpn, mkPte(PteType.PRESENT, page, w | PTE_YOUNG | (write ? PTE_DIRTY : 0)));
  return VM_FAULT_OK;
}

/** fault_around_bytes / PAGE_SIZE: the default 64 KiB window. */
const FAULT_AROUND_PAGES = 16;

/**
 * do_fault_around + filemap_map_pages: a read fault on a file mapping first maps every page
 * already in the page cache inside a 64 KiB-aligned window (clipped to the VMA and the page
 * table) wherever the PTE is empty. Returns true when that mapped the faulting page itself.
 */
function faultAround(mm: Mm, vma: Vma, vpn: number): boolean {
  const sys = mm.sys, file = vma.file!;
  const start = Math.max(Math.floor(vpn / FAULT_AROUND_PAGES) * FAULT_AROUND_PAGES, vma.start);
  const end = Math.min(start + FAULT_AROUND_PAGES, (Math.floor(start / PMD_NR) + 1) * PMD_NR, vma.end);
  const w = vma.shared && vma.writable ? PTE_WRITE : 0;
  let mapped = false;
  for (let v = start; v < end; v++) {
    if (mm.pt.pte(v) !== 0) continue;
    const page = file.pages.get(vma.pgoffOf(v));
    if (page === undefined) continue;
    sys.pages.get(page);
    pageAddRmap(sys, page, false);
    mm.pt.setPte(v, mkPte(PteType.PRESENT, page, w | PTE_YOUNG));
    if (v === vpn) mapped = true;
  }
  return mapped;
}

/**
 * set_pte_at for the fault's PTE: through `pmd`, the slot the fault walked to (vmf->pmd; a slot
 * is never replaced), without walking the table again; through the page table when there was
 * none or it no longer holds a PTE table.
 */
function setFaultPte(mm: Mm, pmd: Pmd | undefined, vpn: number, e: number): void {
  const ptes = pmd?.ptes;
  if (ptes) ptes[vpn - Math.floor(vpn / PMD_NR) * PMD_NR] = e;
  else mm.pt.setPte(vpn, e);
}

/**
 * do_wp_page: a write to the present read-only entry `e` just read at `vpn` through the PMD slot
 * `pmd` (the fault path has both in hand, as struct vm_fault does). Shared mappings just become
 * writable; an exclusively owned anon page is reused; anything else is copied (wp_page_copy),
 * which invalidates the old translation first.
 */
function wpPage(mm: Mm, vma: Vma, vpn: number, e: number, pmd: Pmd | undefined): number {
  const sys = mm.sys, p = sys.pages;
  const old = ptePfn(e);
  if (vma.shared) {
    p.setFlag(old, PG_DIRTY);
    setFaultPte(mm, pmd, vpn, pteSetFlags(e, pteFlags(e) | PTE_WRITE | PTE_DIRTY | PTE_YOUNG));
    return VM_FAULT_OK;
  }
  const normal = !sys.isZeroPfn(old);
  if (normal && p.hasFlag(p.folio(old), PG_ANON)) {
    if (p.hasFlag(old, PG_ANON_EXCLUSIVE) || (p.refcount[p.folio(old)] === 1 && p.pincountOf(p.folio(old)) === 0)) {
      p.setFlag(old, PG_ANON_EXCLUSIVE);
      setFaultPte(mm, pmd, vpn, pteSetFlags(e, pteFlags(e) | PTE_WRITE | PTE_DIRTY | PTE_YOUNG));
      return VM_FAULT_OK;
    }
  }
  return wpPageCopy(mm, vma, vpn, old, pmd);
}

/** wp_page_copy of the page `old` mapped at `vpn` through `pmd` (the zero page or an anon page). */
function wpPageCopy(mm: Mm, vma: Vma, vpn: number, old: number, pmd: Pmd | undefined): number {
  const sys = mm.sys, p = sys.pages;
  mm.anonVmaPrepare(vma);
  const pfn = p.allocSystem(policyNode(mm, vma, vpn));
  if (!sys.isZeroPfn(old)) p.copy(pfn, old);
  // invalidate_range_start/end written out rather than through notifiers.invalidate: this runs
  // once per COW fault, and the closure that call takes was most of its garbage.
  mm.notifiers.start({ start: vpn, end: vpn + 1, event: NotifyEvent.CLEAR, owner: null });
  try {
    pageAddNewAnonRmap(sys, pfn, vma.anonIndex(vpn));
    setFaultPte(mm, pmd, vpn, mkPte(PteType.PRESENT, pfn, (vma.writable ? PTE_WRITE : 0) | PTE_DIRTY | PTE_YOUNG));
    if (!sys.isZeroPfn(old)) {
      pageRemoveRmap(sys, old);
      sys.putPage(old);
    }
  } finally {
    mm.notifiers.end();
  }
  sys.stats.cow++;
  return VM_FAULT_OK;
}

/**
 * remove_device_exclusive_entry: a CPU touch revokes device-exclusive access. Devices are told
 * with MMU_NOTIFY_EXCLUSIVE and no owner, then the PTE is restored (old; writable and dirty if
 * the entry was the writable variant and the vma allows writes).
 */
export function removeDeviceExclusiveEntry(mm: Mm, vma: Vma, vpn: number): void {
  const sys = mm.sys;
  mm.notifiers.invalidate({ start: vpn, end: vpn + 1, event: NotifyEvent.EXCLUSIVE, owner: null }, () => {
    const e = mm.pt.pte(vpn);
    if (pteType(e) !== PteType.DEVICE_EXCLUSIVE) return;
    const pfn = ptePfn(e);
    const f = pteHas(e, PTE_WRITE) ? PTE_DIRTY | (vma.writable ? PTE_WRITE : 0) : 0;
    // restore_exclusive_pte: 6.15 no longer adds the rmap, which the entry kept
    // (deviceExclusiveKeepsMapcount).
    if (!sys.k.deviceExclusiveKeepsMapcount) pageAddRmap(sys, pfn, false);
    mm.pt.setPte(vpn, mkPte(PteType.PRESENT, pfn, f));
  });
}

/** do_huge_pmd_anonymous_page: the huge zero page for reads, a new THP for writes. */
function doHugePmdAnonymousPage(mm: Mm, vma: Vma, vpn: number, write: boolean): number {
  const sys = mm.sys, p = sys.pages;
  mm.anonVmaPrepare(vma);
  const pmd = mm.pt.pmdAlloc(vpn);
  const base = Math.floor(vpn / PMD_NR) * PMD_NR;
  if (!write) {
    pmd.huge = mkPte(PteType.PRESENT, sys.hugeZeroPfn, 0);
    return VM_FAULT_OK;
  }
  const head = p.allocCompound(PMD_ORDER, PageKind.SYSTEM, policyNode(mm, vma, base, PMD_ORDER));
  p.setFlag(head, PG_ANON | PG_ANON_EXCLUSIVE);
  p.setIndex(head, vma.anonIndex(base));
  p.setEntireMapcount(head, 1);
  pmd.huge = mkPte(PteType.PRESENT, head, PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
  return VM_FAULT_OK;
}

/**
 * do_huge_pmd_wp_page: reuse an exclusively owned THP; otherwise split the PMD and let the
 * PTE-level COW copy one 4 KiB page (the huge zero page always splits). Returns true when
 * the fault was resolved at PMD level.
 */
function doHugePmdWpPage(mm: Mm, vma: Vma, vpn: number): boolean {
  const sys = mm.sys, p = sys.pages;
  const pmd = mm.pt.pmd(vpn)!;
  const head = ptePfn(pmd.huge);
  if (!sys.isHugeZero(head) && (p.hasFlag(head, PG_ANON_EXCLUSIVE) || p.refcount[head] === 1)) {
    p.setFlag(head, PG_ANON_EXCLUSIVE);
    pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) | PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
    return true;
  }
  splitHugePmd(mm, vma, vpn);
  return false;
}

/**
 * hugetlb_fault for a private hugetlb mapping: no zero page (a read allocates a huge page and
 * maps it read-only), a write reuses a singly mapped anon page or copies it into another huge
 * page from the pool; an empty pool is SIGBUS.
 */
function hugetlbFault(mm: Mm, vma: Vma, vpn: number, write: boolean): number {
  const sys = mm.sys, p = sys.pages;
  const pmd = mm.pt.pmdAlloc(vpn);
  const base = Math.floor(vpn / PMD_NR) * PMD_NR;
  if (pmd.huge === 0) {
    const head = allocHugetlbFor(mm, vma, base);
    if (head < 0) return VM_FAULT_SIGBUS;
    p.setFlag(head, PG_ANON | PG_ANON_EXCLUSIVE);
    p.setIndex(head, base);
    p.setEntireMapcount(head, 1);
    pmd.huge = mkPte(PteType.PRESENT, head, PTE_YOUNG | (write ? PTE_WRITE | PTE_DIRTY : 0));
    return VM_FAULT_OK;
  }
  if (!write || pteHas(pmd.huge, PTE_WRITE)) {
    pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) | PTE_YOUNG | (write ? PTE_DIRTY : 0));
    return VM_FAULT_OK;
  }
  const old = ptePfn(pmd.huge);
  if (p.entireMapcountOf(old) === 1 && p.hasFlag(old, PG_ANON)) {
    p.setFlag(old, PG_ANON_EXCLUSIVE);
    pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) | PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
    return VM_FAULT_OK;
  }
  const head = allocHugetlbFor(mm, vma, base);
  if (head < 0) return VM_FAULT_SIGBUS;
  for (let i = 0; i < PMD_NR; i++) p.copy(head + i, old + i);
  mm.notifiers.invalidate({ start: base, end: base + PMD_NR, event: NotifyEvent.CLEAR, owner: null }, () => {
    p.setFlag(head, PG_ANON | PG_ANON_EXCLUSIVE);
    p.setIndex(head, base);
    p.setEntireMapcount(head, 1);
    pmd.huge = mkPte(PteType.PRESENT, head, PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
    p.addEntireMapcount(old, -1);
    sys.putPage(old);
  });
  return VM_FAULT_OK;
}

/** A huge page for `base` in `vma`: the mapping's own reservation first, then the free pool. */
function allocHugetlbFor(mm: Mm, vma: Vma, base: number): number {
  const sys = mm.sys;
  const resv = vma.hugetlbResv;
  const key = vma.pgoffOf(base);
  if (resv && resv.has(key)) {
    // A bind policy set after mmap can leave no free page on the bound nodes: the fault fails
    // and the reservation stays.
    const head = sys.allocHugetlb(policyNode(mm, vma, base, PMD_ORDER), policyAllowedNodes(mm));
    if (head < 0) return -1;
    resv.delete(key);
    sys.hugetlbReserved--;
    return head;
  }
  if (sys.hugetlbFree - sys.hugetlbReserved <= 0) return -1;
  return sys.allocHugetlb(policyNode(mm, vma, base, PMD_ORDER), policyAllowedNodes(mm));
}

