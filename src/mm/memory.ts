import { KernelCrash } from './errors.ts';
import { PteType, pteType, ptePfn, pteFlags, PTE_DIRTY, isStaleMigration } from './pte.ts';
import { splitHugePmd } from './huge-memory.ts';
import { pageRemoveRmap, folioRemoveRmapPmd, folioRmapBatchDone } from './rmap.ts';
import { PG_FILE, PG_DIRTY } from './page.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

/** Options of a zap (zap_details). */
export interface ZapOptions {
  /** Only zap page-cache pages, leaving private COW copies (unmap_mapping_range even_cows=0). */
  onlyFile?: number;
  /** Only zap page-cache pages of any file (MADV_PAGEOUT unmapping them). */
  onlyPagecache?: boolean;
}

/**
 * zap_pte_range over [start, end) of one VMA: drops every mapping (present, device-private,
 * device-exclusive) and its page reference; device pages whose last reference goes return to
 * their driver. PMD leaves fully inside the range are zapped whole; a partially covered THP
 * PMD is split first, as zap_pmd_range does. The caller brackets this with the notifier.
 */
export function zapRange(mm: Mm, vma: Vma, start: number, end: number, opts: ZapOptions = {}): void {
  const sys = mm.sys, p = sys.pages;
  for (const { base, lo, hi, pmd, whole } of mm.pt.pmdSegments(start, end)) {
    if (pmd.huge !== 0) {
      if (opts.onlyFile !== undefined || opts.onlyPagecache) continue;
      if (whole) {
        const head = ptePfn(pmd.huge);
        pmd.huge = 0;
        if (!sys.isHugeZero(head)) {
          folioRemoveRmapPmd(sys, head);
          sys.putPage(head);
        }
        continue;
      }
      splitHugePmd(mm, vma, lo);
    }
    if (!pmd.ptes) continue;
    // zap_present_ptes (6.12) unmaps consecutive PTEs of one large folio as one batch
    // (folio_pte_batch: the next page of the folio, only W/D/A differing): `runEnd` is the pfn
    // that would continue the batch, `runLast` the batch's last page left unmapped, or -1.
    let runEnd = -1, runLast = -1;
    for (let v = lo; v < hi; v++) {
      const e = pmd.ptes[v - base];
      if (runLast >= 0 && (pteType(e) !== PteType.PRESENT || ptePfn(e) !== runEnd || p.folio(runEnd) !== p.folio(runEnd - 1))) {
        folioRmapBatchDone(sys, runLast);
        runLast = -1;
      }
      if (e === 0) continue;
      const t = pteType(e), pfn = ptePfn(e);
      if (t === PteType.MIGRATION && isStaleMigration(e)) throw new KernelCrash('zap_pte_range: pfn_swap_entry_to_page on a migration entry left by try_to_migrate on a device-exclusive entry');
      if (opts.onlyFile !== undefined || opts.onlyPagecache) {
        if (t !== PteType.PRESENT || !p.hasFlag(pfn, PG_FILE)) continue;
        if (opts.onlyFile !== undefined && p.mappingOf(pfn) !== opts.onlyFile) continue;
      }
      pmd.ptes[v - base] = 0;
      if (t === PteType.PRESENT) {
        if (sys.isZeroPfn(pfn)) continue;
        // zap_pte_range: a dirty PTE of a page-cache page dirties the page.
        if (pteFlags(e) & PTE_DIRTY && p.hasFlag(pfn, PG_FILE)) p.setFlag(pfn, PG_DIRTY);
        if (--p.mapcount[pfn] === 0 && p.isCompound(pfn)) runLast = pfn;
        runEnd = pfn + 1;
        sys.putPage(pfn);
      } else if (t === PteType.DEVICE_PRIVATE || t === PteType.DEVICE_EXCLUSIVE) {
        // Device entries map only anon folios; 6.1 and 6.12 checked the VMA instead, and warn for
        // an anon (COW) folio of a private file mapping (kernel.ts, zapChecksFolioAnon).
        if (sys.k.zapChecksFolioAnon ? !p.isAnon(pfn) : !vma.isAnonymous) sys.warnOnce(sys.k.zapChecksFolioAnon ? 'zap_nonpresent_ptes: !folio_test_anon(folio)' : 'zap_nonpresent_ptes: !vma_is_anonymous(vma)');
      }
      if (t === PteType.DEVICE_PRIVATE) {
        pageRemoveRmap(sys, pfn);
        sys.putPage(pfn);
      } else if (t === PteType.DEVICE_EXCLUSIVE) {
        // zap_nonpresent_ptes: 6.15 drops the rmap of both kinds (deviceExclusiveKeepsMapcount);
        // before, only a device-private entry had one.
        if (sys.k.deviceExclusiveKeepsMapcount) pageRemoveRmap(sys, pfn);
        sys.putPage(pfn);
      }
    }
    if (runLast >= 0) folioRmapBatchDone(sys, runLast);
  }
}
