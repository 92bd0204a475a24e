import { PMD_NR, NotifyEvent } from './constants.ts';
import { PteType, mkPte, pteHas, ptePfn, pteType, pteSetFlags, pteFlags, PTE_WRITE, PTE_DIRTY, PTE_YOUNG } from './pte.ts';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_DIRTY, PG_HUGETLB, PG_PARTIALLY_MAPPED } from './page.ts';
import { rmapWalk } from './rmap.ts';
import type { System } from './system.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

/**
 * __split_huge_pmd: replaces a PMD leaf by a page table of 512 PTEs. The huge zero page
 * becomes 4 KiB zero-page PTEs; a THP stays one compound folio, now PTE-mapped. Mirrors are
 * invalidated over the whole 2 MiB block (MMU_NOTIFY_CLEAR).
 */
export function splitHugePmd(mm: Mm, _vma: Vma, vpn: number): void {
  const sys = mm.sys;
  const pmd = mm.pt.pmd(vpn);
  if (!pmd || pmd.huge === 0) return;
  const p = sys.pages;
  const base = Math.floor(vpn / PMD_NR) * PMD_NR;
  const head = ptePfn(pmd.huge);
  if (p.hasFlag(head, PG_HUGETLB)) return;
  mm.notifiers.invalidate({ start: base, end: base + PMD_NR, event: NotifyEvent.CLEAR, owner: null }, () => {
    const e = pmd.huge;
    pmd.huge = 0;
    const ptes = new Float64Array(PMD_NR);
    if (sys.isHugeZero(head)) {
      for (let i = 0; i < PMD_NR; i++) ptes[i] = mkPte(PteType.PRESENT, sys.zeroPfn, 0);
    } else {
      // 6.1 does not carry the PMD's dirty bit to the PTEs (only to the folio), so a later
      // mprotect cannot upgrade them to writable without a write fault.
      if (pteHas(e, PTE_DIRTY)) p.setFlag(head, PG_DIRTY);
      const f = (pteHas(e, PTE_WRITE) ? PTE_WRITE : 0) | (pteHas(e, PTE_YOUNG) ? PTE_YOUNG : 0);
      const excl = p.hasFlag(head, PG_ANON_EXCLUSIVE);
      for (let i = 0; i < PMD_NR; i++) {
        ptes[i] = mkPte(PteType.PRESENT, head + i, f);
        p.mapcount[head + i]++;
        if (excl) p.setFlag(head + i, PG_ANON_EXCLUSIVE);
      }
      p.addEntireMapcount(head, -1);
      p.refcount[head] += PMD_NR - 1;
    }
    pmd.ptes = ptes;
  });
}

/**
 * split_huge_page: turns a THP into 512 small pages, keeping every mapping (each process's
 * PMD is split first). Fails, like the kernel, when something other than the mappings holds
 * a reference (a pin). Each mapping is invalidated over the folio's range.
 */
export function splitHugePage(sys: System, head: number): boolean {
  const p = sys.pages;
  if (!p.isCompound(head) || p.hasFlag(head, PG_HUGETLB)) return false;
  head = p.folio(head);
  const n = p.folioNr(head);
  // References beyond mappings (pins, device-exclusive entries) make the split fail.
  let mappingRefs = p.entireMapcountOf(head);
  for (let i = 0; i < n; i++) mappingRefs += p.mapcount[head + i];
  if (p.refcount[head] !== mappingRefs || p.pincountOf(head) > 0) return false;
  for (const h of rmapWalk(sys, head, false)) if (h.huge) splitHugePmd(h.mm, h.vma, h.vpn);
  // unmap_folio + remap_page: each mapping is invalidated once over the folio's span in its VMA,
  // and, going through migration entries that carry no A/D bits without CONFIG_SWAP, every PTE
  // of the folio comes back clean and old.
  const invalidated = new Set<string>();
  // 6.12 (KernelSwitches.thpSplitMapsZeroPage): remap_page(RMP_USE_SHARED_ZEROPAGE) maps an
  // anonymous subpage that holds only zeroes to the shared zero page instead of restoring it.
  const toZero = sys.k.thpSplitMapsZeroPage && p.hasFlag(head, PG_ANON);
  for (let i = 0; i < n; i++) {
    const zero = toZero && subpageUnused(sys, head + i);
    for (const h of rmapWalk(sys, head + i, false)) {
      const base = Math.floor(h.vpn / PMD_NR) * PMD_NR;
      const key = `${h.mm.id}:${base}`;
      if (!invalidated.has(key)) {
        invalidated.add(key);
        h.mm.notifiers.invalidate({ start: Math.max(base, h.vma.start), end: Math.min(base + PMD_NR, h.vma.end), event: NotifyEvent.CLEAR, owner: null }, () => undefined);
      }
      if (pteType(h.entry) !== PteType.PRESENT) continue;
      if (zero) {
        // try_to_map_unused_to_zeropage: a special zero-page PTE, read-only as vm_page_prot
        // makes it in a private mapping; the subpage loses this mapping (and its reference).
        h.mm.pt.setPte(h.vpn, mkPte(PteType.PRESENT, sys.zeroPfn, 0));
        p.mapcount[head + i]--;
        continue;
      }
      h.mm.pt.setPte(h.vpn, pteSetFlags(h.entry, pteFlags(h.entry) & ~(PTE_DIRTY | PTE_YOUNG)));
    }
  }
  const anon = p.hasFlag(head, PG_ANON), dirty = p.hasFlag(head, PG_DIRTY);
  const idx = p.indexOf(head);
  for (let i = 0; i < n; i++) {
    const pfn = head + i;
    p.clearCompound(pfn);
    p.refcount[pfn] = p.mapcount[pfn];
    if (anon) p.setFlag(pfn, PG_ANON);
    if (dirty) p.setFlag(pfn, PG_DIRTY);
    p.setIndex(pfn, idx + i);
  }
  p.setEntireMapcount(head, 0);
  // __split_huge_page_to_list_to_order takes the folio off the deferred split list.
  p.clearFlag(head, PG_PARTIALLY_MAPPED);
  // Subpages nobody maps any more are freed, as the split frees unmapped tails.
  for (let i = 0; i < n; i++) if (p.refcount[head + i] === 0) p.freeFrame(head + i);
  return true;
}

/**
 * Whether try_to_map_unused_to_zeropage (6.12) finds the subpage unused: its 4 KiB are all
 * zeroes (memchr_inv). In no-data mode there are no contents to look at, and the model counts
 * every subpage as used: it keeps the 6.1 mapping rather than guess, so a no-data run on 6.12
 * can keep subpages mapped that a data run (and the kernel) would have dropped.
 */
function subpageUnused(sys: System, pfn: number): boolean {
  const p = sys.pages;
  if (!p.keepData) return false;
  const d = p.data.get(pfn);
  if (!d) return true;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) return false;
  return true;
}
