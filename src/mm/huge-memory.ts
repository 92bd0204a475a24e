import { PMD_NR, NotifyEvent } from './constants.ts';
import { PteType, mkPte, pteHas, ptePfn, pteType, pteSetFlags, pteFlags, PTE_WRITE, PTE_DIRTY, PTE_YOUNG } from './pte.ts';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_DIRTY, PG_HUGETLB, PG_PARTIALLY_MAPPED } from './page.ts';
import { rmapWalk } from './rmap.ts';
import type { System } from './system.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

/**
 * __split_huge_pmd: replaces a PMD leaf by a page table of 512 PTEs. The huge zero page
 * becomes 4 KiB zero-page PTEs; a THP stays one compound folio, now PTE-mapped; a
 * device-private PMD (7.x, devicePrivateThp) becomes 512 device-private PTEs of its still
 * large folio. Mirrors are invalidated over the whole 2 MiB block (MMU_NOTIFY_CLEAR).
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
    } else if (pteType(e) === PteType.DEVICE_PRIVATE) {
      splitDevicePrivatePmdEntry(sys, e, ptes);
    } else {
      // 6.1 does not carry the PMD's dirty bit to the PTEs (only to the folio), so a later
      // mprotect cannot upgrade them to writable without a write fault.
      if (pteHas(e, PTE_DIRTY)) p.setFlag(head, PG_DIRTY);
      mapFolioByPtes(sys, head, PteType.PRESENT, (pteHas(e, PTE_WRITE) ? PTE_WRITE : 0) | (pteHas(e, PTE_YOUNG) ? PTE_YOUNG : 0), ptes);
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
  // References beyond mappings (pins; device-exclusive entries before 7.x's
  // deviceExclusiveKeepsMapcount) make the split fail.
  let mappingRefs = p.entireMapcountOf(head);
  for (let i = 0; i < n; i++) mappingRefs += p.mapcount[head + i];
  if (p.refcount[head] !== mappingRefs || p.pincountOf(head) > 0) return false;
  for (const h of rmapWalk(sys, head, false)) if (h.huge) splitHugePmd(h.mm, h.vma, h.vpn);
  // unmap_folio + remap_page: each mapping is invalidated once over the folio's span in its VMA,
  // and, going through migration entries that carry no A/D bits without CONFIG_SWAP, every PTE
  // of the folio comes back clean and old. unmap_folio's try_to_migrate walks the rmap VMA by
  // VMA and try_to_migrate_one invalidates [folio start in the VMA, vma_address_end) once for
  // each, so a folio that mprotect or munmap left in several VMAs of one mm is invalidated in
  // every one of them (keyed by VMA, not by mm and PMD: keyed by PMD, the VMAs after the first
  // kept stale mirror entries, which 6.12's zero-page remap made visible).
  const invalidated = new Set<string>();
  // 6.12 (KernelSwitches.thpSplitMapsZeroPage): remap_page(RMP_USE_SHARED_ZEROPAGE) maps an
  // anonymous subpage that holds only zeroes to the shared zero page instead of restoring it.
  const toZero = sys.k.thpSplitMapsZeroPage && p.hasFlag(head, PG_ANON);
  for (let i = 0; i < n; i++) {
    const zero = toZero && subpageUnused(sys, head + i);
    for (const h of rmapWalk(sys, head + i, false)) {
      const base = Math.floor(h.vpn / PMD_NR) * PMD_NR;
      const key = `${h.mm.id}:${base}:${h.vma.start}`;
      if (!invalidated.has(key)) {
        invalidated.add(key);
        h.mm.notifiers.invalidate({ start: Math.max(base, h.vma.start), end: Math.min(base + PMD_NR, h.vma.end), event: NotifyEvent.CLEAR, owner: null }, () => undefined);
      }
      // A device-exclusive entry gets here only on 7.x, whose can_split_folio counts it as a
      // mapping (deviceExclusiveKeepsMapcount; before, its reference failed the check above).
      // try_to_migrate_one makes it a migration entry (migrateHandlesDeviceExclusive) and
      // remove_migration_pte maps the page again: the device's exclusive access ends.
      const exclusive = pteType(h.entry) === PteType.DEVICE_EXCLUSIVE && sys.k.migrateHandlesDeviceExclusive;
      if (pteType(h.entry) !== PteType.PRESENT && !exclusive) continue;
      if (zero) {
        // try_to_map_unused_to_zeropage: a special zero-page PTE, read-only as vm_page_prot
        // makes it in a private mapping; the subpage loses this mapping (and its reference).
        h.mm.pt.setPte(h.vpn, mkPte(PteType.PRESENT, sys.zeroPfn, 0));
        p.mapcount[head + i]--;
        continue;
      }
      if (exclusive) h.mm.pt.setPte(h.vpn, mkPte(PteType.PRESENT, head + i, pteHas(h.entry, PTE_WRITE) ? PTE_WRITE : 0));
      else h.mm.pt.setPte(h.vpn, pteSetFlags(h.entry, pteFlags(h.entry) & ~(PTE_DIRTY | PTE_YOUNG)));
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
  return p.keepData && p.isZero(pfn);
}

/**
 * __split_huge_pmd_locked for a device-private PMD entry (7.x, KernelSwitches.devicePrivateThp;
 * mm/huge_memory.c, 6.19): each subpage gets a device-private PTE, writable when the PMD entry
 * was, and one PTE mapping (folio_add_anon_rmap_ptes) and reference (folio_ref_add of 511);
 * the entire mapping goes. The folio stays large: migrate_vma_collect splits it when it meets
 * one of these PTEs. Modelled from source, not checked against a running kernel.
 */
function splitDevicePrivatePmdEntry(sys: System, e: number, ptes: Float64Array): void {
  mapFolioByPtes(sys, ptePfn(e), PteType.DEVICE_PRIVATE, pteHas(e, PTE_WRITE) ? PTE_WRITE : 0, ptes);
}

/**
 * The PMD split's common part (__split_huge_pmd_locked): the folio's entire mapping becomes 512
 * PTEs of `type` with `flags`, each page mapped once and anon-exclusive if the folio was; the
 * PMD's one reference becomes one per PTE.
 */
function mapFolioByPtes(sys: System, head: number, type: PteType, flags: number, ptes: Float64Array): void {
  const p = sys.pages;
  const excl = p.hasFlag(head, PG_ANON_EXCLUSIVE);
  for (let i = 0; i < PMD_NR; i++) {
    ptes[i] = mkPte(type, head + i, flags);
    p.mapcount[head + i]++;
    if (excl) p.setFlag(head + i, PG_ANON_EXCLUSIVE);
  }
  p.addEntireMapcount(head, -1);
  p.refcount[head] += PMD_NR - 1;
}

/** Whether `pmd` holds a device-private PMD entry (7.x, devicePrivateThp). */
export function isDevicePrivatePmd(pmd: { huge: number } | undefined): boolean {
  return pmd !== undefined && pmd.huge !== 0 && pteType(pmd.huge) === PteType.DEVICE_PRIVATE;
}

/**
 * split_folio on a large device-private folio: every PMD entry mapping it is split first
 * (unmap_folio's TTU_SPLIT_HUGE_PMD, in every mm), then 512 small device-private pages, each
 * keeping its own mappings and one reference per mapping. A reference the caller
 * holds on the folio (a CPU fault's, `extraPfn` >= 0) lands on that page, as
 * migrate_vma_split_folio moves the fault's reference to the new fault folio. The driver is told
 * through its pgmap folio_split op so it can split what backs the folio. Fails, like the kernel,
 * when a PMD still maps it or something else holds a reference. 7.x (devicePrivateThp),
 * modelled from source.
 */
export function splitDevicePrivateFolio(sys: System, head: number, extraPfn = -1): boolean {
  const p = sys.pages;
  head = p.folio(head);
  if (!p.isCompound(head) || !p.isDevicePrivate(head)) return false;
  const n = p.folioNr(head);
  if (p.pincountOf(head) > 0) return false;
  if (p.entireMapcountOf(head) > 0) for (const h of rmapWalk(sys, head, false)) if (h.huge) splitHugePmd(h.mm, h.vma, h.vpn);
  if (p.entireMapcountOf(head) > 0) return false;
  let mapped = 0;
  for (let i = 0; i < n; i++) mapped += p.mapcount[head + i];
  if (p.refcount[head] !== mapped + (extraPfn >= 0 ? 1 : 0) || p.pincountOf(head) > 0) return false;
  const flags = p.flags[head] & (PG_ANON | PG_DIRTY);
  const idx = p.indexOf(head);
  for (let i = 0; i < n; i++) {
    const pfn = head + i;
    p.clearCompound(pfn);
    p.flags[pfn] |= flags;
    p.refcount[pfn] = p.mapcount[pfn] + (pfn === extraPfn ? 1 : 0);
    p.setIndex(pfn, idx + i);
  }
  p.setEntireMapcount(head, 0);
  sys.pagemapOf(head)!.ops.folioSplit?.(head, n);
  // Subpages nobody maps or holds any more go back to the driver.
  for (let i = 0; i < n; i++) {
    if (p.refcount[head + i] === 0) {
      p.refcount[head + i] = 1;
      sys.putPage(head + i);
    }
  }
  return true;
}
