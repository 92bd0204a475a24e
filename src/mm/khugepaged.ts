// MADV_COLLAPSE of anonymous memory: the collapse path khugepaged and MADV_COLLAPSE share
// (mm/khugepaged.c: madvise_collapse → hpage_collapse_scan_pmd → collapse_huge_page).
//
// Modelled from the Linux 6.1 source (the 6.1 stable tree at 6.1.166: mm/khugepaged.c,
// mm/madvise.c, mm/memory.c do_swap_page, mm/huge_memory.c hugepage_vma_check; the oracle
// kernel is Debian's 6.1.192), NOT checked against a running kernel: the real hmmtrace.c has no
// MADV_COLLAPSE, so no oracle trace covers it. MADV_COLLAPSE was merged in 6.1.
//
// What 6.1 does, as reproduced here (cc->is_khugepaged is false for MADV_COLLAPSE, so the
// max_ptes_none / max_ptes_swap / max_ptes_shared limits and the "young" test do not apply, and
// the sysfs THP mode and VM_HUGEPAGE are not required):
//   - hugepage_vma_check: VM_NOHUGEPAGE, hugetlb and VM_MIXEDMAP (VM_NO_KHUGEPAGED) VMAs, a VMA
//     holding no aligned 2 MiB block, and an anonymous VMA without an anon_vma (never faulted)
//     are refused with -EINVAL before anything is scanned.
//   - hpage_collapse_scan_pmd looks at each of the 512 PTEs of an aligned block. Every
//     non-present, non-none entry is a "swap PTE" (is_swap_pte): device-private,
//     device-exclusive and migration entries are counted as `unmapped` and passed over. None and
//     zero-page PTEs are passed over (they become zero-filled subpages). A present page must be a
//     normal anon page (not ZONE_DEVICE: a device-coherent page refuses the block) whose
//     refcount equals its mapcount (a pin or other extra reference refuses it). At least one
//     present PTE must be writable (SCAN_PAGE_RO otherwise): a block whose pages all sit on a
//     device, or that fork write-protected, is not collapsed.
//   - collapse_huge_page then allocates the THP on the node most scanned pages are on and, if
//     any swap PTE was seen, runs __collapse_huge_page_swapin: do_swap_page on each of them,
//     as a read fault. So a device-private page is migrated back to RAM by its driver's
//     migrate_to_ram, and a device-exclusive entry is revoked (MMU_NOTIFY_EXCLUSIVE).
//   - Then one MMU_NOTIFY_CLEAR over the whole 2 MiB (no owner), pmdp_collapse_flush, and
//     __collapse_huge_page_isolate re-checks every PTE of the detached table; a failure there
//     puts the table back, after the invalidation has already happened.
//   - __collapse_huge_page_copy copies each page into its subpage of the new THP (none and
//     zero-page PTEs give zeroed subpages), unmaps and releases the old pages; the PMD is
//     installed dirty, young, writable if the VMA is, with the THP anon-exclusive.
//   - madvise_collapse walks the aligned blocks inside the range; some failures go on to the
//     next block (the whitelist below), the others stop. It returns 0 if every block ended up
//     PMD-mapped, else madvise_collapse_errno of the last failure.
//
// Not modelled: shmem and tmpfs mappings (6.1 collapses their page cache through
// hpage_collapse_scan_file / collapse_file; madviseCollapse throws), userfaultfd, and the
// failures that need a concurrent thread (page lock, LRU isolation, VMA changes while the
// mmap_lock is dropped, VM_FAULT_RETRY). Memory is unbounded, so the THP allocation never fails.
import { EAGAIN, EINVAL, ENOMEM, NotifyEvent, PMD_NR, PMD_ORDER, VM_NOHUGEPAGE } from './constants.ts';
import { PteType, mkPte, pteType, ptePfn, pteHas, PTE_WRITE, PTE_DIRTY, PTE_YOUNG, PTE_SPECIAL } from './pte.ts';
import { PageKind, PG_ANON, PG_ANON_EXCLUSIVE } from './page.ts';
import { pageRemoveRmap } from './rmap.ts';
import { doSwapPage, VM_FAULT_ERROR } from './fault.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

/** enum scan_result of mm/khugepaged.c: the outcomes this model can produce. */
export type ScanResult =
  | 'SCAN_FAIL'
  | 'SCAN_SUCCEED'
  | 'SCAN_PMD_NULL'
  | 'SCAN_PMD_NONE'
  | 'SCAN_PMD_MAPPED'
  | 'SCAN_PTE_NON_PRESENT'
  | 'SCAN_PAGE_RO'
  | 'SCAN_PAGE_NULL'
  | 'SCAN_PAGE_COUNT'
  | 'SCAN_PAGE_ANON'
  | 'SCAN_VMA_NULL'
  | 'SCAN_VMA_CHECK'
  | 'SCAN_ADDRESS_RANGE'
  | 'SCAN_ALLOC_HUGE_PAGE_FAIL';

/** What one MADV_COLLAPSE call did, block by block (for tests and callers that want detail). */
export interface CollapseTrace {
  /** First page of each aligned block tried, with its scan_result. */
  blocks: { addr: number; result: ScanResult }[];
  /** do_swap_page calls made by the swap-in step (device-private and device-exclusive entries). */
  swappedIn: number;
}

/**
 * madvise_collapse over [start, end) (pages) of one VMA (madvise's walk hands each VMA its
 * piece). Returns 0 when every aligned 2 MiB block inside the range is PMD-mapped afterwards,
 * else madvise_collapse_errno of the last failure. `trace`, when given, receives per-block
 * results.
 */
export function madviseCollapse(mm: Mm, vma: Vma, start: number, end: number, trace?: CollapseTrace): number {
  if (!hugepageVmaCheck(vma)) return -EINVAL;
  if (!vma.isAnonymous) {
    // shmem_huge_enabled(vma, force) is true for every shmem inode, so 6.1 goes on to collapse
    // the page cache (hpage_collapse_scan_file). The model has no page-cache THPs.
    throw new Error(`MADV_COLLAPSE of a ${vma.kind} mapping is not modelled (Linux 6.1 collapses its page cache with collapse_file)`);
  }
  // hstart rounds up, hend down. When both lie inside one block and start is not aligned,
  // hstart > hend: the loop does nothing, but 6.1 compares thps with the unsigned
  // (hend - hstart) >> HPAGE_PMD_SHIFT, a huge number, and returns -EINVAL. The signed
  // division below gives a negative count, which no thps equals either.
  const hstart = Math.ceil(start / PMD_NR) * PMD_NR;
  const hend = Math.floor(end / PMD_NR) * PMD_NR;
  let thps = 0;
  let lastFail: ScanResult = 'SCAN_FAIL';
  for (let addr = hstart; addr < hend; addr += PMD_NR) {
    // 6.1 revalidates the VMA here when the previous block dropped the mmap_lock; nothing else
    // runs in the model meanwhile, so the VMA is the same one.
    const result = hpageCollapseScanPmd(mm, vma, addr, trace);
    trace?.blocks.push({ addr, result });
    if (result === 'SCAN_SUCCEED' || result === 'SCAN_PMD_MAPPED') {
      thps++;
      continue;
    }
    lastFail = result;
    // The results 6.1 lets the walk continue after (the others stop it).
    const goOn: readonly ScanResult[] = ['SCAN_PMD_NULL', 'SCAN_PTE_NON_PRESENT', 'SCAN_PAGE_RO', 'SCAN_PAGE_NULL', 'SCAN_PAGE_COUNT'];
    if (!goOn.includes(result)) break;
  }
  return thps === (hend - hstart) / PMD_NR ? 0 : madviseCollapseErrno(lastFail);
}

/**
 * madvise_collapse_errno: MADV_COLLAPSE "breaks from existing madvise(2) conventions" to tell
 * the caller what to do. SCAN_PAGE_COUNT is -EAGAIN in 6.1 stable (6.1.0 returned -EINVAL);
 * SCAN_PAGE_LOCK, SCAN_PAGE_LRU and SCAN_DEL_PAGE_LRU (-EAGAIN) and SCAN_CGROUP_CHARGE_FAIL
 * (-EBUSY) cannot happen in the model.
 */
export function madviseCollapseErrno(r: ScanResult): number {
  switch (r) {
    case 'SCAN_ALLOC_HUGE_PAGE_FAIL':
      return -ENOMEM;
    case 'SCAN_PAGE_COUNT':
      return -EAGAIN;
    default:
      return -EINVAL;
  }
}

/**
 * hugepage_vma_check(vma, vm_flags, smaps=false, in_pf=false, enforce_sysfs=false), as
 * MADV_COLLAPSE calls it: not VM_NOHUGEPAGE, not hugetlb or VM_MIXEDMAP (VM_NO_KHUGEPAGED),
 * an aligned 2 MiB block inside the VMA (transhuge_vma_suitable at vm_end - 2 MiB; file VMAs
 * also need vm_pgoff aligned to it), and, for anonymous memory, an anon_vma.
 */
export function hugepageVmaCheck(vma: Vma): boolean {
  if (vma.flags & VM_NOHUGEPAGE) return false;
  if (vma.isHugetlb || vma.isMixed) return false;
  if (!transhugeVmaSuitable(vma, vma.end - PMD_NR)) return false;
  if (!vma.isAnonymous) return true; // shmem: shmem_huge_enabled(vma, true)
  return vma.anonVma;
}

/** transhuge_vma_suitable: the aligned block holding `vpn` lies inside the VMA. */
function transhugeVmaSuitable(vma: Vma, vpn: number): boolean {
  if (!vma.isAnonymous && (vma.start - vma.pgoff) % PMD_NR !== 0) return false;
  const haddr = Math.floor(vpn / PMD_NR) * PMD_NR;
  return haddr >= vma.start && haddr + PMD_NR <= vma.end;
}

/**
 * find_pmd_or_thp_or_none: no PMD table under the PUD (mm_find_pmd finds nothing), an empty PMD,
 * a PMD leaf, or a page table to scan.
 */
function findPmdOrThpOrNone(mm: Mm, addr: number): ScanResult {
  if (!mm.pt.pudPresent(addr)) return 'SCAN_PMD_NULL';
  const pmd = mm.pt.pmd(addr);
  if (!pmd || (pmd.huge === 0 && !pmd.ptes)) return 'SCAN_PMD_NONE';
  // A device-private PMD entry (7.x) is not present.
  if (pmd.huge !== 0 && pteType(pmd.huge) === PteType.DEVICE_PRIVATE) return 'SCAN_PMD_NULL';
  if (pmd.huge !== 0) return 'SCAN_PMD_MAPPED';
  return 'SCAN_SUCCEED';
}

/**
 * is_refcount_suitable for a folio: no reference beyond its mappings (6.1's total_mapcount:
 * PMD mappings plus every subpage's PTE mappings; no swap cache without CONFIG_SWAP). Pins,
 * GUP references and device-exclusive entries (a reference, no mapcount in 6.1) fail it.
 */
function isRefcountSuitable(mm: Mm, folio: number): boolean {
  const p = mm.sys.pages;
  let mapped = p.entireMapcountOf(folio);
  const n = p.isCompound(folio) ? p.folioNr(folio) : 1;
  for (let i = 0; i < n; i++) mapped += p.mapcount[folio + i];
  return p.refcount[folio] === mapped;
}

/**
 * vm_normal_page + the ZONE_DEVICE test both scans make: the struct page behind a present PTE
 * that may be collapsed, or a reason not to.
 */
function collapsiblePage(mm: Mm, e: number): number | 'SCAN_PAGE_NULL' {
  const pfn = ptePfn(e);
  if (pteHas(e, PTE_SPECIAL) || mm.sys.pages.isZoneDevice(pfn)) return 'SCAN_PAGE_NULL';
  return pfn;
}

/**
 * hpage_collapse_scan_pmd for MADV_COLLAPSE: checks the block's 512 PTEs (see the file header)
 * and, when they qualify, collapses it (collapse_huge_page). Returns the scan_result.
 */
export function hpageCollapseScanPmd(mm: Mm, vma: Vma, addr: number, trace?: CollapseTrace): ScanResult {
  const found = findPmdOrThpOrNone(mm, addr);
  if (found !== 'SCAN_SUCCEED') return found;
  const p = mm.sys.pages;
  const ptes = mm.pt.pmd(addr)!.ptes!;
  const nodeLoad = new Array<number>(mm.sys.nrNodes).fill(0);
  let unmapped = 0;
  let writable = false;
  for (let i = 0; i < PMD_NR; i++) {
    const e = ptes[i];
    const t = pteType(e);
    if (t !== PteType.NONE && t !== PteType.PRESENT) {
      // is_swap_pte: device-private, device-exclusive and migration entries. No limit for
      // MADV_COLLAPSE (max_ptes_swap is khugepaged's).
      unmapped++;
      continue;
    }
    // None or the zero page: no limit either (max_ptes_none is khugepaged's).
    if (t === PteType.NONE || mm.sys.isZeroPfn(ptePfn(e))) continue;
    if (pteHas(e, PTE_WRITE)) writable = true;
    const page = collapsiblePage(mm, e);
    if (page === 'SCAN_PAGE_NULL') return page;
    // page_mapcount > 1 would count against max_ptes_shared, which MADV_COLLAPSE ignores.
    const folio = p.folio(page);
    nodeLoad[p.nodeOf(folio)]++;
    // (folio_test_lru / folio_test_locked: madvise_collapse drains the per-CPU LRU caches first,
    // and nothing holds a page lock between operations in the model.)
    if (!p.hasFlag(folio, PG_ANON)) return 'SCAN_PAGE_ANON';
    if (!isRefcountSuitable(mm, folio)) return 'SCAN_PAGE_COUNT';
  }
  if (!writable) return 'SCAN_PAGE_RO';
  return collapseHugePage(mm, addr, unmapped, hpageCollapseFindTargetNode(nodeLoad), trace);
}

/** hpage_collapse_find_target_node: the first node with the most scanned pages. */
function hpageCollapseFindTargetNode(nodeLoad: readonly number[]): number {
  let target = 0, max = 0;
  for (let n = 0; n < nodeLoad.length; n++) {
    if (nodeLoad[n] > max) {
      max = nodeLoad[n];
      target = n;
    }
  }
  return target;
}

/**
 * hugepage_vma_revalidate(expect_anon = true): the VMA at `addr` (find_vma: the first ending
 * above it) still suits a collapse and is anonymous with an anon_vma.
 */
function hugepageVmaRevalidate(mm: Mm, addr: number): { result: ScanResult; vma?: Vma } {
  const vma = mm.vmas.find((v) => v.end > addr);
  if (!vma) return { result: 'SCAN_VMA_NULL' };
  if (!transhugeVmaSuitable(vma, addr)) return { result: 'SCAN_ADDRESS_RANGE' };
  if (!hugepageVmaCheck(vma)) return { result: 'SCAN_VMA_CHECK' };
  if (!vma.anonVma || !vma.isAnonymous) return { result: 'SCAN_PAGE_ANON' };
  return { result: 'SCAN_SUCCEED', vma };
}

/**
 * collapse_huge_page: allocates the THP on `node`, swaps in the block's non-present entries,
 * invalidates and clears the PMD, re-checks the pages (isolate), copies them and maps the THP.
 */
export function collapseHugePage(mm: Mm, addr: number, unmapped: number, node: number, trace?: CollapseTrace): ScanResult {
  const sys = mm.sys, p = sys.pages;
  // alloc_charge_hpage: GFP_TRANSHUGE on the target node. Node memory is unbounded here.
  const hpage = p.allocCompound(PMD_ORDER, PageKind.SYSTEM, node);
  const fail = (r: ScanResult): ScanResult => {
    sys.putPage(hpage);
    return r;
  };
  let { result, vma } = hugepageVmaRevalidate(mm, addr);
  if (result !== 'SCAN_SUCCEED') return fail(result);
  result = findPmdOrThpOrNone(mm, addr);
  if (result !== 'SCAN_SUCCEED') return fail(result);
  if (unmapped > 0) {
    result = collapseHugePageSwapin(mm, vma!, addr, trace);
    if (result !== 'SCAN_SUCCEED') return fail(result);
  }
  // mmap_write_lock, then the same checks again (check_pmd_still_valid: still a page table).
  ({ result, vma } = hugepageVmaRevalidate(mm, addr));
  if (result !== 'SCAN_SUCCEED') return fail(result);
  result = findPmdOrThpOrNone(mm, addr);
  if (result !== 'SCAN_SUCCEED') return fail(result);
  const pmd = mm.pt.pmd(addr)!;
  // mmu_notifier_range_init(MMU_NOTIFY_CLEAR, 0, NULL, mm, address, address + HPAGE_PMD_SIZE):
  // every mirror drops the whole 2 MiB before pmdp_collapse_flush detaches the page table.
  const ptes = mm.notifiers.invalidate({ start: addr, end: addr + PMD_NR, event: NotifyEvent.CLEAR, owner: null }, () => {
    const t = pmd.ptes!;
    pmd.ptes = null;
    return t;
  });
  result = collapseHugePageIsolate(mm, ptes);
  if (result !== 'SCAN_SUCCEED') {
    // pmd_populate: the page table goes back as it was; the invalidation stays done.
    pmd.ptes = ptes;
    return fail(result);
  }
  collapseHugePageCopy(mm, ptes, hpage);
  // mk_huge_pmd(hpage, vm_page_prot) (x86's protections carry _PAGE_ACCESSED), pmd_mkdirty,
  // maybe_pmd_mkwrite; page_add_new_anon_rmap makes the THP anon-exclusive, mapped once.
  p.setFlag(hpage, PG_ANON | PG_ANON_EXCLUSIVE);
  p.setIndex(hpage, vma!.anonIndex(addr));
  p.setEntireMapcount(hpage, 1);
  pmd.huge = mkPte(PteType.PRESENT, hpage, PTE_DIRTY | PTE_YOUNG | (vma!.writable ? PTE_WRITE : 0));
  return 'SCAN_SUCCEED';
}

/**
 * __collapse_huge_page_swapin: do_swap_page (FAULT_FLAG_ALLOW_RETRY, a read fault) on every
 * non-present, non-none PTE of the block, re-read at each address. Device-private pages come
 * back through their driver's migrate_to_ram; device-exclusive entries are revoked; migration
 * entries are waited on. A VM_FAULT error fails the collapse.
 */
function collapseHugePageSwapin(mm: Mm, vma: Vma, addr: number, trace?: CollapseTrace): ScanResult {
  for (let vpn = addr; vpn < addr + PMD_NR; vpn++) {
    const t = pteType(mm.pt.pte(vpn));
    if (t === PteType.NONE || t === PteType.PRESENT) continue;
    const ret = doSwapPage(mm, vma, vpn);
    if (ret & VM_FAULT_ERROR) return 'SCAN_FAIL';
    if (trace) trace.swappedIn++;
  }
  return 'SCAN_SUCCEED';
}

/**
 * __collapse_huge_page_isolate on the detached page table: every PTE must now be none, the zero
 * page or a present normal anon page with no extra reference (each folio checked once), and
 * one must be writable.
 */
function collapseHugePageIsolate(mm: Mm, ptes: Float64Array): ScanResult {
  const p = mm.sys.pages;
  const seen = new Set<number>();
  let writable = false;
  for (let i = 0; i < PMD_NR; i++) {
    const e = ptes[i];
    const t = pteType(e);
    if (t === PteType.NONE || (t === PteType.PRESENT && mm.sys.isZeroPfn(ptePfn(e)))) continue;
    if (t !== PteType.PRESENT) return 'SCAN_PTE_NON_PRESENT';
    const page = collapsiblePage(mm, e);
    if (page === 'SCAN_PAGE_NULL') return page;
    const folio = p.folio(page);
    // A THP's pages are checked (and isolated) once, at its first PTE.
    if (!seen.has(folio)) {
      seen.add(folio);
      if (!isRefcountSuitable(mm, folio)) return 'SCAN_PAGE_COUNT';
    }
    if (pteHas(e, PTE_WRITE)) writable = true;
  }
  return writable ? 'SCAN_SUCCEED' : 'SCAN_PAGE_RO';
}

/**
 * __collapse_huge_page_copy: subpage i of `hpage` gets the bytes of PTE i's page (zeroes for
 * none and zero-page PTEs); each old page loses its mapping and that mapping's reference, so a
 * page mapped nowhere else is freed (a PTE-mapped THP when its last PTE goes).
 */
function collapseHugePageCopy(mm: Mm, ptes: Float64Array, hpage: number): void {
  const sys = mm.sys, p = sys.pages;
  for (let i = 0; i < PMD_NR; i++) {
    const e = ptes[i];
    ptes[i] = 0;
    if (e === 0 || sys.isZeroPfn(ptePfn(e))) continue; // clear_user_highpage: fresh frames read as zeroes
    const src = ptePfn(e);
    p.copy(hpage + i, src);
    pageRemoveRmap(sys, src);
    sys.putPage(src);
  }
}
