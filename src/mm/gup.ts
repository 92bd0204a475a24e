import { policyNode } from './mempolicy.ts';
import { EFAULT, EOPNOTSUPP, PMD_NR } from './constants.ts';
import { PteType, pteType, ptePfn, pteHas, pteSetFlags, pteFlags, PTE_WRITE, PTE_DIRTY, PTE_YOUNG } from './pte.ts';
import { PG_DIRTY } from './page.ts';
import { handleMmFault, VM_FAULT_ERROR } from './fault.ts';
import { splitHugePmd } from './huge-memory.ts';
import { migrateDeviceCoherentPage } from './migrate-device.ts';
import type { Mm } from './mm.ts';

/** FOLL_* flags of get_user_pages / pin_user_pages. */
export interface GupFlags {
  write?: boolean;
  /** FOLL_PIN (pin_user_pages*) rather than FOLL_GET. */
  pin?: boolean;
  /** FOLL_LONGTERM: the page must be movable out of ZONE_DEVICE coherent memory first. */
  longterm?: boolean;
  /** FOLL_SPLIT_PMD: PMD-mapped THPs are split to PTEs first. */
  splitPmd?: boolean;
  /**
   * get/pin_user_pages_fast: pages found present are taken locklessly, without FOLL_TOUCH; from
   * the first page that needs a fault on, the slow path (with FOLL_TOUCH) takes the rest.
   */
  fast?: boolean;
  /**
   * FOLL_TOUCH on the slow path: get_user_pages, get_user_pages_remote and the unlocked
   * fallback of the fast variants set it; pin_user_pages and FOLL_LONGTERM paths do not.
   */
  touch?: boolean;
}

/**
 * __get_user_pages: faults in and references `npages` pages from `start`. Device-private
 * entries are not present, so GUP faults them (migrate_to_ram); a FOLL_LONGTERM request
 * migrates device-coherent pages to system memory and retries. Returns the referenced pfns
 * (the caller must `putUserPages`) or a negative errno when not even the first page could be
 * had; a later failure ends the list short.
 */
export function getUserPages(mm: Mm, start: number, npages: number, flags: GupFlags): number[] | number {
  const sys = mm.sys, p = sys.pages;
  for (let attempt = 0; ; attempt++) {
    const pages: number[] = [];
    let err = 0;
    const state = { slow: !flags.fast };
    for (let i = 0; i < npages; i++) {
      const vpn = start + i;
      const pfn = followOrFault(mm, vpn, flags, state);
      if (pfn < 0) {
        err = pfn;
        break;
      }
      if (flags.pin) p.addPincount(p.folio(pfn), 1);
      p.get(pfn);
      pages.push(pfn);
    }
    if (pages.length === 0 && err) return err;
    if (!flags.longterm || attempt > 2) return pages;
    const coherent = pages.filter((pfn) => p.isDeviceCoherent(pfn));
    if (coherent.length === 0) return pages;
    // check_and_migrate_movable_pages: unpin everything, move the coherent pages, try again.
    putUserPages(mm, pages, flags);
    // migrate_device_coherent_page allocates with alloc_page(): the task's policy, no VMA.
    for (const pfn of coherent) migrateDeviceCoherentPage(sys, pfn, policyNode(mm, null, 0));
  }
}

/** Releases what getUserPages returned (put_page / unpin_user_page). */
export function putUserPages(mm: Mm, pages: number[], flags: GupFlags): void {
  const p = mm.sys.pages;
  for (const pfn of pages) {
    if (flags.pin) p.addPincount(p.folio(pfn), -1);
    mm.sys.putPage(pfn);
  }
}

/**
 * follow_page_mask, faulting (faultin_page) until the page is present with the access allowed.
 * The slow path touches what it takes (FOLL_TOUCH): a write marks a THP PMD dirty, and a page
 * whose PTE is clean dirty (set_page_dirty) — which keeps a page-cache page from being dropped.
 */
function followOrFault(mm: Mm, vpn: number, flags: GupFlags, state: { slow: boolean }): number {
  const sys = mm.sys, p = sys.pages;
  const vma = mm.findVma(vpn);
  if (!vma) return -EFAULT;
  // 6.12's check_vma_flags refuses FOLL_SPLIT_PMD on hugetlb before any fault (a hugetlb page
  // cannot be split); 6.1 faults the huge page in and ignores the flag (k.gupRejectsSplitPmdOnHugetlb).
  if (flags.splitPmd && vma.isHugetlb && mm.sys.k.gupRejectsSplitPmdOnHugetlb) return -EOPNOTSUPP;
  if (flags.write && !vma.writable) return -EFAULT;
  for (let tries = 0; tries < 8; tries++) {
    const pmd = mm.pt.pmd(vpn);
    // follow_pmd_mask: a device-private PMD entry (7.x) is not present, so GUP faults it in.
    if (pmd && pmd.huge !== 0 && pteType(pmd.huge) === PteType.DEVICE_PRIVATE) {
      state.slow = true;
      if (handleMmFault(mm, vma, vpn, !!flags.write) & VM_FAULT_ERROR) return -EFAULT;
      continue;
    }
    if (pmd && pmd.huge !== 0) {
      if (flags.splitPmd && !vma.isHugetlb) {
        splitHugePmd(mm, vma, vpn);
        continue;
      }
      if (!flags.write || pteHas(pmd.huge, PTE_WRITE)) {
        if (state.slow && flags.touch && flags.write) pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) | PTE_DIRTY | PTE_YOUNG);
        return ptePfn(pmd.huge) + (vpn % PMD_NR);
      }
    } else {
      const e = mm.pt.pte(vpn);
      if (pteType(e) === PteType.PRESENT && (!flags.write || pteHas(e, PTE_WRITE))) {
        const pfn = ptePfn(e);
        if (!sys.isZeroPfn(pfn) || !flags.write) {
          if (state.slow && flags.touch && flags.write && !pteHas(e, PTE_DIRTY) && !sys.isZeroPfn(pfn)) p.setFlag(p.folio(pfn), PG_DIRTY);
          return pfn;
        }
      }
    }
    state.slow = true;
    const r = handleMmFault(mm, vma, vpn, !!flags.write);
    if (r & VM_FAULT_ERROR) return -EFAULT;
  }
  return -EFAULT;
}
