import { EINVAL, ENOMEM, EAGAIN, EBADF, EACCES, NotifyEvent, PMD_NR, VM_HUGEPAGE, VM_NOHUGEPAGE } from './constants.ts';
import { PteType, pteType, ptePfn, pteFlags, pteSetFlags, PTE_YOUNG, PTE_DIRTY } from './pte.ts';
import { PG_ANON, PG_FILE, PG_DIRTY, PG_LAZYFREE } from './page.ts';
import { zapRange } from './memory.ts';
import { splitHugePage, splitHugePmd } from './huge-memory.ts';
import { rmapWalk, pageRemoveRmap, folioRemoveRmapPmd, anonVpnIn } from './rmap.ts';
import { madviseCollapse } from './khugepaged.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

/** The madvise() advice values the model implements. */
export type Advice = 'dontneed' | 'free' | 'hugepage' | 'nohugepage' | 'willneed' | 'cold' | 'pageout' | 'remove' | 'collapse';

/**
 * madvise(start, npages, advice) as do_madvise + madvise_walk_vmas: each VMA piece of the
 * range gets the advice; holes make the call return ENOMEM after the rest was done; the first
 * error from a VMA stops the walk. Returns 0 or -errno. `collapse` is MADV_COLLAPSE (advice 25,
 * new in 6.1; khugepaged.ts), which the op language does not have (the real hmmtrace.c lacks it).
 */
export function madvise(mm: Mm, start: number, npages: number, advice: Advice): number {
  if (npages === 0) return 0;
  const end = start + npages;
  let unmappedError = 0;
  let s = start;
  for (;;) {
    const v = mm.vmas.find((x) => x.end > s);
    if (!v) return -ENOMEM;
    if (s < v.start) {
      unmappedError = -ENOMEM;
      s = v.start;
      if (s >= end) break;
    }
    const tmp = Math.min(v.end, end);
    const err = madviseVma(mm, v, s, tmp, advice);
    // madvise_vma_behavior turns -ENOMEM into -EAGAIN on its way out; MADV_COLLAPSE returns
    // before that point, so its -ENOMEM (no THP could be allocated) stays.
    if (err) return err === -ENOMEM && advice !== 'collapse' ? -EAGAIN : err;
    s = tmp;
    if (s >= end) break;
  }
  return unmappedError;
}

function madviseVma(mm: Mm, vma: Vma, start: number, end: number, advice: Advice): number {
  switch (advice) {
    case 'dontneed':
    case 'free':
      return dontneedFree(mm, vma, start, end, advice);
    case 'willneed':
      // Anonymous memory has no file to read ahead from.
      return vma.isAnonymous ? -EBADF : 0;
    case 'remove':
      return madviseRemove(mm, vma, start, end);
    case 'collapse':
      return madviseCollapse(mm, vma, start, end);
    case 'cold':
    case 'pageout':
      if (vma.isHugetlb) return -EINVAL;
      coldOrPageout(mm, vma, start, end, advice === 'pageout');
      return 0;
    case 'hugepage':
    case 'nohugepage': {
      const nf = advice === 'hugepage' ? (vma.flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE : (vma.flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
      if (nf === vma.flags) return 0;
      if (vma.isHugetlb && ((start !== vma.start && start % PMD_NR !== 0) || (end !== vma.end && end % PMD_NR !== 0))) return -EINVAL;
      mm.splitAt(start);
      mm.splitAt(end);
      mm.findVma(start)!.flags = nf;
      mm.mergeAround(start, end);
      return 0;
    }
  }
}

/** MADV_DONTNEED zaps; MADV_FREE keeps the pages but marks exclusively mapped anon ones clean and old. */
function dontneedFree(mm: Mm, vma: Vma, start: number, end: number, advice: 'dontneed' | 'free'): number {
  if (vma.isHugetlb) {
    if (advice !== 'dontneed' || start % PMD_NR !== 0) return -EINVAL;
    end = Math.floor(end / PMD_NR) * PMD_NR;
  }
  if (start >= end) return 0;
  if (advice === 'dontneed') {
    mm.notifiers.invalidate({ start, end, event: NotifyEvent.CLEAR, owner: null }, () => zapRange(mm, vma, start, end));
    return 0;
  }
  if (!vma.isAnonymous) return -EINVAL;
  const sys = mm.sys, p = sys.pages;
  mm.notifiers.invalidate({ start, end, event: NotifyEvent.CLEAR, owner: null }, () => {
    for (const { base, lo, hi, pmd, whole } of mm.pt.pmdSegments(start, end)) {
      if (pmd.huge !== 0) {
        // A device-private PMD entry (7.x) is not present: madvise_free_huge_pmd and
        // madvise_free_pte_range both leave it alone.
        if (pteType(pmd.huge) === PteType.DEVICE_PRIVATE) continue;
        // madvise_free_huge_pmd: a THP mapped once is cleaned whole, or split (the folio, not
        // just the PMD) when only part of it is advised.
        const head = ptePfn(pmd.huge);
        if (sys.isHugeZero(head) || p.folioMapcount(head) !== PMD_NR) continue;
        if (whole) {
          pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) & ~(PTE_YOUNG | PTE_DIRTY));
          // 6.12 (k.reclaimDiscardsLazyfreeThp) reclaims a lazyfree THP whole, so the mark
          // (folio_mark_lazyfree) matters: on every subpage, as for a PTE-mapped one below.
          if (sys.k.reclaimDiscardsLazyfreeThp) {
            for (let i = 0; i < PMD_NR; i++) {
              p.clearFlag(head + i, PG_DIRTY);
              p.setFlag(head + i, PG_LAZYFREE);
            }
          }
          continue;
        }
        if (!splitHugePage(sys, head)) continue;
      }
      if (!pmd.ptes) continue;
      for (let v = lo; v < hi; v++) {
        const e = pmd.ptes[v - base];
        if (pteType(e) !== PteType.PRESENT) continue;
        const pfn = ptePfn(e);
        if (sys.isZeroPfn(pfn) || !p.hasFlag(p.folio(pfn), PG_ANON)) continue;
        if (p.isCompound(pfn) && sys.k.madviseKeepsWholePteMappedFolios) {
          // 6.12's madvise_free_pte_range batches the PTEs mapping the rest of the folio: all of
          // it mapped here is marked lazyfree whole (no split); only part of it is split unless
          // it looks shared, and a folio it leaves alone is skipped, the walk going on.
          const folio = p.folio(pfn), n = p.folioNr(folio);
          const nr = pteBatch(pmd.ptes, base, v, hi, pfn, folio + n);
          if (nr < n) {
            if (!likelyMappedShared(mm, folio) && splitHugePage(sys, pfn)) v--;
            else v += nr - 1;
            continue;
          }
          // A dirty folio is cleaned only when this mapping holds all of it (mapcount = pages).
          if (p.hasFlag(folio, PG_DIRTY) && p.folioMapcount(folio) !== n) {
            v += nr - 1;
            continue;
          }
          for (let i = 0; i < n; i++) {
            pmd.ptes[v - base + i] = pteSetFlags(pmd.ptes[v - base + i], pteFlags(pmd.ptes[v - base + i]) & ~(PTE_YOUNG | PTE_DIRTY));
            // The flags go on every subpage: a later split hands each its own (see coldOrPageout).
            p.clearFlag(folio + i, PG_DIRTY);
            p.setFlag(folio + i, PG_LAZYFREE);
          }
          v += nr - 1;
          continue;
        }
        if (p.isCompound(pfn)) {
          // madvise_free_pte_range: a PTE-mapped THP owned by this mapping alone is split; if
          // not, the walk of this page table stops here. "Owned alone" is 6.1's
          // folio_estimated_sharers(): the page_mapcount of the folio's first page, whichever
          // subpage the walk is at (so a THP whose first page was COW-replaced never splits).
          if (p.pageMapcount(p.folio(pfn)) !== 1 || !splitHugePage(sys, pfn)) break;
        }
        if (p.mapcount[pfn] !== 1) continue;
        pmd.ptes[v - base] = pteSetFlags(pmd.ptes[v - base], pteFlags(pmd.ptes[v - base]) & ~(PTE_YOUNG | PTE_DIRTY));
        // mark_page_lazyfree: clean now, and reclaimable by discarding while it stays clean.
        p.clearFlag(pfn, PG_DIRTY);
        p.setFlag(pfn, PG_LAZYFREE);
      }
    }
  });
  return 0;
}

/** MADV_REMOVE: punch a hole in the shmem file behind a shared writable mapping. */
function madviseRemove(mm: Mm, vma: Vma, start: number, end: number): number {
  const sys = mm.sys;
  if (!vma.file && !vma.fileRef && !vma.isHugetlb) return -EINVAL;
  // vma_is_shared_maywrite(): the mapping's current protection does not matter.
  if (!vma.shared) return -EACCES;
  const file = vma.file;
  if (!file) return -EINVAL;
  const first = vma.pgoffOf(start), last = vma.pgoffOf(end);
  // unmap_mapping_range(even_cows = 0): page-cache mappings in every VMA of the file.
  for (const m of [...sys.mms]) {
    for (const v of m.vmas) {
      if (v.file !== file) continue;
      const s = Math.max(v.start, v.start + (first - v.pgoff)), e = Math.min(v.end, v.start + (last - v.pgoff));
      if (s >= e) continue;
      m.notifiers.invalidate({ start: s, end: e, event: NotifyEvent.CLEAR, owner: null }, () => zapRange(m, v, s, e, { onlyFile: file.id }));
    }
  }
  for (let i = first; i < last; i++) {
    const pfn = file.pages.get(i);
    if (pfn === undefined) continue;
    file.pages.delete(i);
    sys.putPage(pfn);
  }
  return 0;
}

/**
 * MADV_COLD / MADV_PAGEOUT. With no swap and no memory pressure, nothing anonymous is
 * reclaimed: what shows is THP splitting (part of a PMD-mapped THP, any PTE-mapped THP, and a
 * whole THP under pageout, which reclaim splits when it cannot swap) and, for pageout, page
 * cache pages unmapped from every process (they stay in the cache).
 */
function coldOrPageout(mm: Mm, vma: Vma, start: number, end: number, pageout: boolean): void {
  const sys = mm.sys, p = sys.pages;
  for (const { base, lo, hi, pmd, whole } of mm.pt.pmdSegments(start, end)) {
    if (pmd.huge !== 0) {
      // Not pmd_trans_huge, and no page table under it: a device-private PMD entry (7.x) is skipped.
      if (pteType(pmd.huge) === PteType.DEVICE_PRIVATE) continue;
      const head = ptePfn(pmd.huge);
      if (sys.isHugeZero(head) || p.entireMapcountOf(head) !== 1) continue;
      if (!whole) {
        if (!splitHugePage(sys, head)) continue;
      } else {
        pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) & ~PTE_YOUNG);
        if (pageout && sys.k.reclaimDiscardsLazyfreeThp && p.hasFlag(head, PG_LAZYFREE)) reclaimLazyfreeLarge(mm, head);
        else if (pageout && p.hasFlag(head, PG_ANON)) splitHugePage(sys, head);
        continue;
      }
    }
    if (!pmd.ptes) continue;
    for (let v = lo; v < hi; v++) {
      const e = pmd.ptes[v - base];
      if (pteType(e) !== PteType.PRESENT) continue;
      const pfn = ptePfn(e);
      if (sys.isZeroPfn(pfn) || p.isZoneDevice(pfn) || p.hasFlag(pfn, 256)) continue;
      if (p.isCompound(pfn) && sys.k.madviseKeepsWholePteMappedFolios) {
        // 6.12's madvise_cold_or_pageout_pte_range batches the PTEs mapping the rest of the
        // folio. All of it mapped here (and by nothing else) is aged whole without a split;
        // under pageout, reclaim then splits an anonymous one anyway, having no swap to put it
        // in (shrink_folio_list: add_to_swap fails, split_folio_to_list), and its pages are
        // looked at again as small ones. Part of it is split unless it looks shared (then the
        // walk stops, as on 6.1); a failed split skips it.
        const folio = p.folio(pfn), n = p.folioNr(folio);
        const nr = pteBatch(pmd.ptes, base, v, hi, pfn, folio + n);
        if (nr === n) {
          if (p.folioMapcount(folio) === n) {
            for (let i = 0; i < n; i++) pmd.ptes[v - base + i] = pteSetFlags(pmd.ptes[v - base + i], pteFlags(pmd.ptes[v - base + i]) & ~PTE_YOUNG);
            if (pageout && sys.k.reclaimDiscardsLazyfreeThp && p.hasFlag(folio, PG_LAZYFREE)) {
              reclaimLazyfreeLarge(mm, folio);
              v += nr - 1;
              continue;
            }
            if (pageout && p.hasFlag(folio, PG_ANON) && splitHugePage(sys, folio)) {
              v--;
              continue;
            }
          }
          v += nr - 1;
          continue;
        }
        if (likelyMappedShared(mm, folio)) break;
        if (splitHugePage(sys, pfn)) v--;
        else v += nr - 1;
        continue;
      }
      if (p.isCompound(pfn)) {
        if (p.pageMapcount(pfn) !== 1) break;
        if (!splitHugePage(sys, pfn)) break;
      }
      if (p.mapcount[pfn] !== 1) continue;
      pmd.ptes[v - base] = pteSetFlags(pmd.ptes[v - base], pteFlags(pmd.ptes[v - base]) & ~PTE_YOUNG);
      if (pageout && p.hasFlag(pfn, PG_FILE)) unmapPagecachePage(mm, pfn);
      else if (pageout && p.hasFlag(pfn, PG_LAZYFREE)) reclaimLazyfree(mm, v, pfn);
    }
  }
}

/**
 * Reclaim of a MADV_FREE'd anon page (try_to_unmap_one): still clean, it is discarded — the
 * mapping goes and the next touch sees zeroes; written since, it becomes an ordinary page again.
 */
function reclaimLazyfree(mm: Mm, vpn: number, pfn: number): void {
  const sys = mm.sys, p = sys.pages;
  const e = mm.pt.pte(vpn);
  if (pteFlags(e) & PTE_DIRTY || p.hasFlag(pfn, PG_DIRTY)) {
    p.clearFlag(pfn, PG_LAZYFREE);
    return;
  }
  mm.notifiers.invalidate({ start: vpn, end: vpn + 1, event: NotifyEvent.CLEAR, owner: null }, () => {
    mm.pt.clearPte(vpn);
    pageRemoveRmap(sys, pfn);
    sys.putPage(pfn);
  });
}

/**
 * Reclaim of a page-cache page (shrink_folio_list): try_to_unmap removes every mapping, each
 * invalidated first, moving PTE dirty bits to the page. A clean page is then dropped from the
 * cache (it holds nothing a refault could not recreate); a dirty one cannot be written
 * anywhere without swap and stays cached.
 */
function unmapPagecachePage(mm: Mm, pfn: number): void {
  const sys = mm.sys, p = sys.pages;
  for (const hit of rmapWalk(sys, pfn, false)) {
    if (hit.huge) continue;
    hit.mm.notifiers.invalidate({ start: hit.vpn, end: hit.vpn + 1, event: NotifyEvent.CLEAR, owner: null }, () => {
      if (pteFlags(hit.entry) & PTE_DIRTY) p.setFlag(pfn, PG_DIRTY);
      hit.mm.pt.clearPte(hit.vpn);
      pageRemoveRmap(sys, pfn);
      sys.putPage(pfn);
    });
  }
  if (p.hasFlag(pfn, PG_DIRTY) || p.isMapped(pfn)) return;
  const file = sys.files.get(p.mappingOf(pfn));
  if (file && file.pages.get(p.indexOf(pfn)) === pfn) {
    file.pages.delete(p.indexOf(pfn));
    sys.putPage(pfn);
  }
}

/**
 * folio_pte_batch from `v` (6.12): how many PTEs from `v` up to `hi` are present and map `pfn`,
 * `pfn + 1`, ... without leaving the folio (ending at `folioEnd`). Dirty, young and write
 * bits do not matter.
 */
function pteBatch(ptes: Float64Array, base: number, v: number, hi: number, pfn: number, folioEnd: number): number {
  let nr = 0;
  while (v + nr < hi && pfn + nr < folioEnd) {
    const e = ptes[v - base + nr];
    if (pteType(e) !== PteType.PRESENT || ptePfn(e) !== pfn + nr) break;
    nr++;
  }
  return nr;
}

/**
 * folio_likely_mapped_shared (6.12) of a large folio: not with one mapping; yes when it is
 * PMD-mapped or has more mappings than pages; else a guess from the first subpage.
 */
function likelyMappedShared(mm: Mm, folio: number): boolean {
  const p = mm.sys.pages;
  const total = p.folioMapcount(folio);
  if (total <= 1) return false;
  if (p.entireMapcountOf(folio) > 0 || total > p.folioNr(folio)) return true;
  return p.mapcount[folio] > 1;
}

/**
 * 6.12 reclaim of a MADV_FREE'd (lazyfree) THP, PMD- or PTE-mapped, without splitting it
 * (shrink_folio_list skips add_to_swap for it; try_to_unmap_one discards it). A PMD mapping
 * that is clean goes whole (__discard_anon_folio_pmd_locked); else the PMD is split and the
 * PTEs are looked at. PTE by PTE in address order, each mapping of a clean folio without other
 * references is dropped, until a dirty PTE (or a dirty folio) makes the folio dirty: there the
 * walk stops, the folio becomes an ordinary anon folio again, and the PTEs not reached stay.
 */
function reclaimLazyfreeLarge(mm: Mm, folio: number): void {
  const sys = mm.sys, p = sys.pages;
  const n = p.folioNr(folio);
  const normal = () => {
    for (let i = 0; i < n; i++) p.clearFlag(folio + i, PG_LAZYFREE);
  };
  // Pins or other references beyond the mappings keep it (ref_count == 1 + map_count).
  if (p.refcount[folio] !== p.entireMapcountOf(folio) + mappedPtes(sys, folio, n) || p.pincountOf(folio) > 0) return normal();
  for (const other of sys.mms.list()) {
    if (!other.alive) continue;
    const base = anonVpnIn(other, p.indexOf(folio));
    const vma = other.findVma(base) ?? other.findVma(base + n - 1);
    if (!vma) continue;
    const pmd = other.pt.pmd(base);
    const hugeHere = pmd !== undefined && pmd.huge !== 0 && ptePfn(pmd.huge) === folio;
    let stop = false;
    other.notifiers.invalidate({ start: Math.max(base, vma.start), end: Math.min(vma.end, base + n), event: NotifyEvent.CLEAR, owner: null }, () => {
      if (hugeHere) {
        if (!(pteFlags(pmd.huge) & PTE_DIRTY) && !p.hasFlag(folio, PG_DIRTY)) {
          pmd.huge = 0;
          folioRemoveRmapPmd(sys, folio);
          sys.putPage(folio);
          return;
        }
        splitHugePmd(other, vma, base);
      }
      for (let i = 0; i < n && !stop; i++) {
        const e = other.pt.pte(base + i);
        if (pteType(e) !== PteType.PRESENT || ptePfn(e) !== folio + i) continue;
        if (pteFlags(e) & PTE_DIRTY) p.setFlag(folio, PG_DIRTY);
        if (p.hasFlag(folio, PG_DIRTY)) {
          stop = true;
          break;
        }
        other.pt.clearPte(base + i);
        pageRemoveRmap(sys, folio + i);
        sys.putPage(folio + i);
      }
    });
    if (stop) return normal();
  }
}

/** PTE mappings of the folio's subpages, all address spaces (for the reference check). */
function mappedPtes(sys: Mm['sys'], folio: number, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) m += sys.pages.mapcount[folio + i];
  return m;
}
