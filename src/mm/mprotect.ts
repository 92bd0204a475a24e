import { ENOMEM, EINVAL, NotifyEvent, PMD_NR, VM_READ, VM_WRITE, VM_EXEC, VM_ACCOUNT, VM_HUGETLB, VM_SHARED, VM_NORESERVE } from './constants.ts';
import { PteType, mkPte, pteType, ptePfn, pteFlags, PTE_WRITE, PTE_DIRTY, PTE_ANON_EXCL } from './pte.ts';
import { PG_ANON, PG_ANON_EXCLUSIVE } from './page.ts';
import { protToVmFlags } from './mmap.ts';
import { splitHugePmd } from './huge-memory.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

const ACCESS = VM_READ | VM_WRITE | VM_EXEC;

/**
 * mprotect(start, npages, prot) as do_mprotect_pkey: VMA by VMA from `start`; a gap stops it
 * with ENOMEM after the earlier VMAs were changed. VMAs whose flags do not change are left
 * alone entirely (no notifier). Returns 0 or -errno.
 */
export function mprotect(mm: Mm, start: number, npages: number, prot: number): number {
  if (npages === 0) return 0;
  const end = start + npages;
  const want = protToVmFlags(prot);
  let v = mm.findVma(start);
  if (!v) return -ENOMEM;
  let nstart = start;
  for (;;) {
    const tmp = Math.min(v.end, end);
    const newflags = (v.flags & ~ACCESS) | want;
    const r = mprotectFixup(mm, v, nstart, tmp, newflags);
    if (r < 0) return r;
    nstart = tmp;
    if (nstart >= end) return 0;
    const next = mm.findVma(nstart);
    if (!next) return -ENOMEM;
    v = next;
  }
}

function mprotectFixup(mm: Mm, vma: Vma, start: number, end: number, newflags: number): number {
  if (newflags === vma.flags) return 0;
  // A private mapping made writable is charged from now on (and stays charged if made
  // read-only again), so it no longer merges with neighbours that never were.
  if (newflags & VM_WRITE && !(vma.flags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) newflags |= VM_ACCOUNT;
  // 6.12 (k.mprotectUnaccountsUnfaulted): an anonymous VMA that never faulted (no anon_vma) made
  // read-only gives its charge back, so it merges again with neighbours that were never charged.
  else if (!(newflags & VM_WRITE) && mm.sys.k.mprotectUnaccountsUnfaulted && vma.flags & VM_ACCOUNT && vma.isAnonymous && !vma.anonVma) newflags &= ~VM_ACCOUNT;
  if (vma.isHugetlb && ((start !== vma.start && start % PMD_NR !== 0) || (end !== vma.end && end % PMD_NR !== 0))) return -EINVAL;
  mm.splitAt(start);
  mm.splitAt(end);
  const v = mm.findVma(start)!;
  v.flags = newflags;
  mm.mergeAround(start, end);
  changeProtection(mm, mm.findVma(start)!, start, end);
  return 0;
}

/**
 * change_protection over [start, end) of `vma`, with the VMA's new flags already set. One
 * PROTECTION_VMA invalidation from the first populated PMD to `end`, as change_pmd_range does
 * it; nothing at all when no PMD in the range is populated.
 */
function changeProtection(mm: Mm, vma: Vma, start: number, end: number): void {
  let first = -1;
  for (let base = Math.floor(start / PMD_NR) * PMD_NR; base < end; base += PMD_NR) {
    const pmd = mm.pt.pmds.get(base / PMD_NR);
    if (pmd && (pmd.huge !== 0 || pmd.ptes)) {
      first = Math.max(base, start);
      break;
    }
  }
  if (first < 0) return;
  mm.notifiers.invalidate({ start: first, end, event: NotifyEvent.PROTECTION_VMA, owner: null }, () => {
    for (const { base, lo, hi, pmd, whole } of mm.pt.pmdSegments(start, end)) {
      if (pmd.huge !== 0) {
        if (whole) {
          // change_huge_pmd: a device-private PMD entry (7.x) only ever loses write.
          pmd.huge = pteType(pmd.huge) === PteType.DEVICE_PRIVATE ? changePte(mm, vma, pmd.huge) : newPresent(mm, vma, pmd.huge, true);
          continue;
        }
        splitHugePmd(mm, vma, lo);
      }
      if (!pmd.ptes) continue;
      for (let v = lo; v < hi; v++) {
        const e = pmd.ptes[v - base];
        if (e === 0) continue;
        pmd.ptes[v - base] = changePte(mm, vma, e);
      }
    }
  });
}

/** The PTE after mprotect: new permission bits; writable entries of non-present kinds lose write. */
function changePte(mm: Mm, vma: Vma, e: number): number {
  const t = pteType(e);
  const pfn = ptePfn(e), f = pteFlags(e);
  switch (t) {
    case PteType.PRESENT:
      return newPresent(mm, vma, e, false);
    case PteType.MIGRATION:
      if (f & PTE_WRITE) return mkPte(t, pfn, (f & ~PTE_WRITE) | (mm.sys.pages.isAnon(pfn) ? PTE_ANON_EXCL : 0));
      return e;
    case PteType.DEVICE_PRIVATE:
    case PteType.DEVICE_EXCLUSIVE:
      return f & PTE_WRITE ? mkPte(t, pfn, f & ~PTE_WRITE) : e;
    default:
      return e;
  }
}

/**
 * A present entry under the VMA's new protection: shared writable mappings get write back at
 * once (shmem needs no write notification); private ones lose it, except an exclusively owned
 * anon page, which can_change_pte_writable() lets become writable immediately. 6.1 requires
 * the PTE to be dirty too and never upgrades a PMD (change_huge_pmd has no such check);
 * 6.12 drops the dirty requirement for private mappings (k.mprotectWritesCleanAnon) and asks
 * can_change_pmd_writable() the same question for a PMD (k.mprotectWritesAnonPmd).
 */
function newPresent(mm: Mm, vma: Vma, e: number, pmdLevel: boolean): number {
  const sys = mm.sys, p = sys.pages, k = sys.k;
  const pfn = ptePfn(e);
  let f = pteFlags(e) & ~PTE_WRITE;
  if (vma.writable) {
    if (vma.shared) f |= PTE_WRITE;
    // (hugetlb_change_protection never upgrades: a hugetlb PMD is not change_huge_pmd's.)
    else if ((pmdLevel ? k.mprotectWritesAnonPmd && !vma.isHugetlb : (k.mprotectWritesCleanAnon || (f & PTE_DIRTY) !== 0)) && !sys.isZeroPfn(pfn) && !sys.isHugeZero(pfn) && p.hasFlag(p.folio(pfn), PG_ANON) && p.hasFlag(pfn, PG_ANON_EXCLUSIVE)) f |= PTE_WRITE;
  }
  return mkPte(PteType.PRESENT, pfn, f);
}
