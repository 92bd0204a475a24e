import { KernelCrash } from './errors.ts';
import { policyNode } from './mempolicy.ts';
import { NotifyEvent, PMD_NR } from './constants.ts';
import { PteType, mkPte, pteType, ptePfn, pteFlags, pteHas, PTE_WRITE, PTE_YOUNG, PTE_DIRTY, isStaleMigration } from './pte.ts';
import { PG_ANON, PG_ANON_EXCLUSIVE } from './page.ts';
import { Mm } from './mm.ts';
import { Vma } from './vma.ts';
import { pageAddNewAnonRmap, pageDupAnonRmap, pageAddRmap } from './rmap.ts';
import type { System } from './system.ts';

/**
 * fork()'s dup_mmap: a child address space with a copy of every VMA. Page tables are copied
 * only for VMAs that need it (copy_page_range): hugetlb, VM_MIXEDMAP, or any VMA with an
 * anon_vma. For private (COW) VMAs the parent is first invalidated over the whole VMA with
 * MMU_NOTIFY_PROTECTION_PAGE, and writable entries become read-only in both processes.
 */
export function forkMm(parent: Mm): Mm {
  const sys = parent.sys;
  const child = new Mm(sys);
  child.mmapBase = parent.mmapBase;
  child.node = parent.node;
  child.policy = parent.policy;
  child.ilPrev = parent.ilPrev;
  for (const v of parent.vmas) {
    const c = new Vma(v.start, v.end, v.flags, v.kind, v.file, v.pgoff, v.fileRef);
    // anon_vma_fork: the child's VMA gets its own anon_vma linked to the parent's.
    if (v.anonVmaId !== 0) {
      c.anonVmaId = sys.nextAnonVmaId++;
      c.chainSingular = false;
    }
    c.origin = v.origin;
    c.anonShift = v.anonShift;
    if (v.anonShift !== 0) child.movedAnonVmas++;
    c.hugetlbResv = null;
    v.fileRef?.get();
    v.file?.mapGet();
    child.insertVma(c);
    if (!v.isHugetlb && !v.isMixed && !v.anonVma) continue;
    const copy = () => copyRange(sys, parent, child, v);
    if (v.isCow) parent.notifiers.invalidate({ start: v.start, end: v.end, event: NotifyEvent.PROTECTION_PAGE, owner: null }, copy);
    else copy();
  }
  return child;
}

function copyRange(sys: System, parent: Mm, child: Mm, v: Vma): void {
  const p = sys.pages;
  const cow = v.isCow;
  for (let base = Math.floor(v.start / PMD_NR) * PMD_NR; base < v.end; base += PMD_NR) {
    const pmd = parent.pt.pmds.get(base / PMD_NR);
    if (!pmd) continue;
    if (pmd.huge !== 0) {
      const head = ptePfn(pmd.huge);
      let e = pmd.huge;
      if (!sys.isHugeZero(head)) {
        p.addEntireMapcount(head, 1);
        p.get(head);
        if (p.hasFlag(head, PG_ANON)) p.clearFlag(head, PG_ANON_EXCLUSIVE);
      }
      // copy_huge_pmd: a device-private PMD entry (7.x, devicePrivateThp) is copied as it is,
      // made readable in both when it was writable; a present one is write-protected for COW.
      const t = pteType(e) === PteType.DEVICE_PRIVATE ? PteType.DEVICE_PRIVATE : PteType.PRESENT;
      if ((cow || t === PteType.DEVICE_PRIVATE) && pteHas(e, PTE_WRITE)) {
        e = mkPte(t, head, pteFlags(e) & ~PTE_WRITE);
        pmd.huge = e;
      }
      child.pt.pmdAlloc(base).huge = mkPte(t, head, pteFlags(e) & ~PTE_YOUNG);
      continue;
    }
    if (!pmd.ptes) continue;
    const lo = Math.max(v.start, base), hi = Math.min(v.end, base + PMD_NR);
    for (let a = lo; a < hi; a++) {
      let e = pmd.ptes[a - base];
      if (e === 0) continue;
      let t = pteType(e);
      if (t === PteType.MIGRATION && isStaleMigration(e)) throw new KernelCrash('copy_nonpresent_pte: BUG_ON(!PageLocked) for a migration entry left by try_to_migrate on a device-exclusive entry');
      if (t === PteType.DEVICE_EXCLUSIVE) {
        // try_restore_exclusive_pte, then copy it as the present PTE it becomes.
        const pfn = ptePfn(e);
        const f = pteHas(e, PTE_WRITE) ? PTE_DIRTY | (v.writable ? PTE_WRITE : 0) : 0;
        if (!sys.k.deviceExclusiveKeepsMapcount) pageAddRmap(sys, pfn, false);
        e = mkPte(PteType.PRESENT, pfn, f);
        pmd.ptes[a - base] = e;
        t = PteType.PRESENT;
      }
      const pfn = ptePfn(e);
      if (t === PteType.DEVICE_PRIVATE) {
        pageDupAnonRmap(sys, pfn);
        if (cow && pteHas(e, PTE_WRITE)) {
          e = mkPte(PteType.DEVICE_PRIVATE, pfn, 0);
          pmd.ptes[a - base] = e;
        }
        child.pt.setPte(a, e);
        continue;
      }
      if (t !== PteType.PRESENT) continue;
      if (sys.isZeroPfn(pfn)) {
        child.pt.setPte(a, mkPte(PteType.PRESENT, pfn, pteFlags(e) & ~PTE_YOUNG));
        continue;
      }
      if (p.hasFlag(p.folio(pfn), PG_ANON)) {
        if (p.pincountOf(p.folio(pfn)) > 0 && p.hasFlag(pfn, PG_ANON_EXCLUSIVE)) {
          // A possibly pinned exclusive page must not become shared: the child gets a copy.
          const np = p.allocSystem(policyNode(parent, v, a));
          p.copy(np, pfn);
          pageAddNewAnonRmap(sys, np, v.anonIndex(a));
          child.pt.setPte(a, mkPte(PteType.PRESENT, np, pteFlags(e) & ~PTE_YOUNG));
          continue;
        }
        pageDupAnonRmap(sys, pfn);
      } else {
        p.get(pfn);
        pageAddRmap(sys, pfn, false);
      }
      if (cow && pteHas(e, PTE_WRITE)) {
        e = mkPte(PteType.PRESENT, pfn, pteFlags(e) & ~PTE_WRITE);
        pmd.ptes[a - base] = e;
      }
      let cf = pteFlags(e) & ~PTE_YOUNG;
      if (v.shared) cf &= ~PTE_DIRTY;
      child.pt.setPte(a, mkPte(PteType.PRESENT, pfn, cf));
    }
  }
}
