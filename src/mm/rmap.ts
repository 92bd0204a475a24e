import { PteType, mkPte, pteType, ptePfn, pteFlags, imod, PTE_WRITE, PTE_DIRTY, PTE_YOUNG, PTE_ANON_EXCL } from './pte.ts';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_FILE, PG_DIRTY, PG_HUGETLB, PG_PARTIALLY_MAPPED } from './page.ts';
import { PMD_NR, NotifyEvent } from './constants.ts';
import type { System } from './system.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

/** page_add_new_anon_rmap: a freshly allocated anon page mapped once, exclusively. */
export function pageAddNewAnonRmap(sys: System, pfn: number, vpn: number): void {
  const p = sys.pages;
  p.setFlag(pfn, PG_ANON | PG_ANON_EXCLUSIVE);
  p.setIndex(pfn, vpn);
  p.mapcount[pfn]++;
}

/** page_add_anon_rmap / page_add_file_rmap for an already-owned page: one more mapping. */
export function pageAddRmap(sys: System, pfn: number, exclusive: boolean): void {
  sys.pages.mapcount[pfn]++;
  if (exclusive) sys.pages.setFlag(pfn, PG_ANON_EXCLUSIVE);
}

/** page_remove_rmap for a PTE mapping. The reference is dropped separately. */
export function pageRemoveRmap(sys: System, pfn: number): void {
  // Only a page of a large folio can leave it partially mapped: testing that first keeps the
  // scan's code out of the compiled loops (collect, zap) that remove small pages.
  const p = sys.pages;
  if (--p.mapcount[pfn] === 0 && p.isCompound(pfn) && sys.k.migrateSplitsPartiallyMappedThp) notePartiallyMapped(sys, pfn);
}

/**
 * The end of a batch of PTE-level rmap removals from one folio (folio_remove_rmap_ptes after
 * zap_present_ptes' folio_pte_batch, 6.12), `last` the last of its pages whose mapcount fell to
 * 0 by it: PG_partially_mapped is decided once, after the batch, so a batch that unmaps all that
 * was left of a folio does not set it.
 */
export function folioRmapBatchDone(sys: System, last: number): void {
  if (sys.k.migrateSplitsPartiallyMappedThp) notePartiallyMapped(sys, last);
}

/** folio_remove_rmap_pmd: the THP at `head` loses one PMD mapping. */
export function folioRemoveRmapPmd(sys: System, head: number): void {
  const p = sys.pages;
  p.addEntireMapcount(head, -1);
  if (!sys.k.migrateSplitsPartiallyMappedThp || !mayBePartiallyMapped(sys, head)) return;
  // nr = pages no longer mapped at all: partially mapped when 0 < nr < nr_pages, that is when
  // PTEs (another process's) still map some of its pages but not all.
  const n = p.folioNr(head);
  let mapped = 0;
  for (let i = 0; i < n; i++) if (p.mapcount[head + i] > 0) mapped++;
  if (mapped > 0 && mapped < n) p.setFlag(head, PG_PARTIALLY_MAPPED);
}

/**
 * __folio_remove_rmap's deferred_split_folio(folio, true) (mm/rmap.c, 6.12): `pfn`, a page of
 * a large folio, has just lost its last PTE mapping; if the folio is anonymous, not mapped by a
 * PMD and still maps some other page, it is marked PG_partially_mapped for good (only a split or
 * its freeing clears it). Read by migrate_pages (migrateSplitsPartiallyMappedThp). The scan for
 * a mapped page starts after `pfn`, where an ascending unmap still finds one at once.
 */
function notePartiallyMapped(sys: System, pfn: number): void {
  const p = sys.pages;
  if (!p.isCompound(pfn)) return;
  const head = p.folio(pfn);
  if (!mayBePartiallyMapped(sys, head)) return;
  const end = head + p.folioNr(head);
  let found = false;
  for (let i = pfn + 1; i < end && !found; i++) found = p.mapcount[i] > 0;
  for (let i = head; i < pfn && !found; i++) found = p.mapcount[i] > 0;
  if (found) p.setFlag(head, PG_PARTIALLY_MAPPED);
}

/**
 * Whether the folio at `head` could become partially mapped now: not yet marked, anonymous
 * (deferred_split_folio's callers check folio_test_anon), not hugetlb, more than two pages (order
 * 0 and 1 have no deferred list), and not mapped by a PMD (an entire mapping counts every page).
 */
function mayBePartiallyMapped(sys: System, head: number): boolean {
  const p = sys.pages;
  return !p.hasFlag(head, PG_PARTIALLY_MAPPED) && p.hasFlag(head, PG_ANON) && !p.hasFlag(head, PG_HUGETLB) && p.folioNr(head) > 2 && p.entireMapcountOf(head) === 0;
}

/** One place in some address space that references a page. */
export interface RmapHit {
  mm: Mm;
  vma: Vma;
  vpn: number;
  /** The entry found (a PTE, or a huge PMD leaf when `huge`). */
  entry: number;
  huge: boolean;
}

/**
 * rmap_walk: every PTE or PMD in every live mm that references `pfn` — present, device-private,
 * device-exclusive or (when `migration`) migration entries of it. Anonymous pages sit at the
 * same page number in every mm that shares them (fork keeps layouts); file pages are found
 * through the VMAs that map their file.
 */
export function rmapWalk(sys: System, pfn: number, migration: boolean): RmapHit[] {
  const hits: RmapHit[] = [];
  walk(sys, pfn, migration, hits);
  return hits;
}

/** How many entries rmapWalk(sys, pfn, migration) would find, without building them. */
export function rmapCount(sys: System, pfn: number, migration: boolean): number {
  return walk(sys, pfn, migration, null);
}

/** rmapWalk's search: counts the hits, and collects them into `hits` when given. */
function walk(sys: System, pfn: number, migration: boolean, hits: RmapHit[] | null): number {
  const p = sys.pages;
  const h = p.folio(pfn);
  if (p.hasFlag(h, PG_FILE)) return walkFile(sys, h, pfn, migration, hits);
  // Anonymous: the page sits at the same page number in every mm that shares it.
  const vpn = p.indexOf(h) + (pfn - h);
  const mms = sys.mms.list();
  let n = 0;
  for (let i = 0; i < mms.length; i++) {
    const mm = mms[i];
    if (!mm.alive) continue;
    // VMAs mremap moved (anonShift != 0) map their pages away from the index: their own
    // linear address (vma_address: index - vm_pgoff + vm_start) is probed. Unmoved VMAs (every
    // VMA of an mm that never moved one) take the walk below at the index itself.
    if (mm.movedAnonVmas !== 0) {
      for (const mv of mm.vmas) {
        if (mv.anonShift === 0) continue;
        const at = vpn - mv.anonShift;
        if (at >= mv.start && at < mv.end) n += probe(mm, mv, at, pfn, migration, hits);
      }
    }
    const v = mm.findVma(vpn);
    if (!v || v.anonShift !== 0) continue;
    // probe(mm, v, vpn, pfn, migration, hits), written out: this loop runs for every page of
    // every migration, twice.
    const pmd = mm.pt.pmd(vpn);
    if (!pmd) continue;
    if (pmd.huge !== 0) {
      const head = ptePfn(pmd.huge);
      if (!(head <= pfn && pfn < head + PMD_NR)) continue;
      hits?.push({ mm, vma: v, vpn, entry: pmd.huge, huge: true });
      n++;
      continue;
    }
    const e = pmd.ptes ? pmd.ptes[imod(vpn, PMD_NR)] : 0;
    const t = pteType(e);
    if (t === PteType.NONE || ptePfn(e) !== pfn || (t === PteType.MIGRATION) !== migration) continue;
    hits?.push({ mm, vma: v, vpn, entry: e, huge: false });
    n++;
  }
  return n;
}

/**
 * The page number at which `mm` would map the anonymous page of index `index`: inside a VMA
 * mremap moved (vma_address over its vm_pgoff), else the index itself.
 */
export function anonVpnIn(mm: Mm, index: number): number {
  if (mm.movedAnonVmas !== 0) {
    for (const v of mm.vmas) {
      if (v.anonShift !== 0 && index - v.anonShift >= v.start && index - v.anonShift < v.end) return index - v.anonShift;
    }
  }
  return index;
}

/** walk for a page-cache page `pfn` of the folio `h`. */
function walkFile(sys: System, h: number, pfn: number, migration: boolean, hits: RmapHit[] | null): number {
  const p = sys.pages;
  const fid = p.mappingOf(h), idx = p.indexOf(h);
  let n = 0;
  for (const mm of sys.mms) {
    if (!mm.alive) continue;
    // Every VMA of the file that covers the page is a candidate: collect them first, as
    // looking at one must not depend on what another holds.
    const candidates: Array<[Vma, number]> = [];
    for (const v of mm.vmas) {
      if (v.file?.id !== fid) continue;
      const vpn = v.start + (idx + (pfn - h) - v.pgoff);
      if (vpn >= v.start && vpn < v.end) candidates.push([v, vpn]);
    }
    for (const [v, vpn] of candidates) n += probe(mm, v, vpn, pfn, migration, hits);
  }
  return n;
}

/** Whether `mm` maps `pfn` at `vpn` (the kind of entry rmapWalk looks for): 1 or 0. */
function probe(mm: Mm, v: Vma, vpn: number, pfn: number, migration: boolean, hits: RmapHit[] | null): number {
  const pmd = mm.pt.pmd(vpn);
  if (!pmd) return 0;
  if (pmd.huge !== 0) {
    const head = ptePfn(pmd.huge);
    if (!(head <= pfn && pfn < head + PMD_NR)) return 0;
    hits?.push({ mm, vma: v, vpn, entry: pmd.huge, huge: true });
    return 1;
  }
  const e = pmd.ptes ? pmd.ptes[imod(vpn, PMD_NR)] : 0;
  const t = pteType(e);
  if (t === PteType.NONE || ptePfn(e) !== pfn) return 0;
  if (t === PteType.MIGRATION && !migration) return 0;
  if (t !== PteType.MIGRATION && migration) return 0;
  hits?.push({ mm, vma: v, vpn, entry: e, huge: false });
  return 1;
}

/**
 * try_to_migrate for a small page: every remaining mapping becomes a migration entry that
 * remembers write, dirty, young and anon-exclusivity. Each mapping is invalidated with
 * MMU_NOTIFY_CLEAR over its page first. Device-exclusive entries are not mappings in 6.1
 * (no mapcount: folio_mapped() is false for a page only they hold) and stay; 7.x counts them
 * (deviceExclusiveKeepsMapcount) and try_to_migrate_one turns them into migration entries too
 * (migrateHandlesDeviceExclusive), so the page migrates and the device loses its access.
 */
export function tryToMigrate(sys: System, pfn: number): void {
  const p = sys.pages;
  if (!p.isMapped(pfn)) return;
  for (const hit of rmapWalk(sys, pfn, false)) {
    const t = pteType(hit.entry);
    if (hit.huge || (t === PteType.DEVICE_EXCLUSIVE && !(sys.k.deviceExclusiveKeepsMapcount && sys.k.migrateHandlesDeviceExclusive))) continue;
    hit.mm.notifiers.invalidate({ start: hit.vpn, end: hit.vpn + 1, event: NotifyEvent.CLEAR, owner: null }, () => {
      hit.mm.pt.setPte(hit.vpn, migrationEntryFor(sys, pfn, hit.entry));
      pageRemoveRmap(sys, pfn);
    });
  }
}

/**
 * The migration entry replacing `e` (a present or device-private entry of `pfn`): writable, or
 * readable-exclusive for an anon-exclusive page; the dirty bit moves to the folio. For a
 * PMD-mapped folio, called with its head, it is set_pmd_migration_entry's entry too.
 */
export function migrationEntryFor(sys: System, pfn: number, e: number): number {
  // The flags words read once each (the folio's and the page's): collect calls this for every
  // page it takes, and a smaller body is one the compiler can take into that loop.
  const flags = sys.pages.flags;
  const head = sys.pages.folio(pfn);
  const anonExcl = (flags[head] & PG_ANON) !== 0 && (flags[pfn] & PG_ANON_EXCLUSIVE) !== 0;
  const ef = pteFlags(e);
  const f = (ef & PTE_WRITE) !== 0 ? PTE_WRITE : anonExcl ? PTE_ANON_EXCL : 0;
  // The dirty bit moves to the folio. The entry itself keeps neither dirty nor young: the
  // Linux 6.1 kernel the traces come from has no CONFIG_SWAP, so migration entries have no
  // A/D bits (migration_entry_supports_ad() is false) and restored PTEs come back clean and old.
  if ((ef & PTE_DIRTY) !== 0 && pteType(e) === PteType.PRESENT) flags[head] |= PG_DIRTY;
  // The mapping is being shared out: exclusivity is re-established from the entry.
  if (anonExcl) flags[pfn] &= ~PG_ANON_EXCLUSIVE;
  return mkPte(PteType.MIGRATION, pfn, f);
}

/**
 * remove_migration_ptes(src, dst): every migration entry of `src` becomes a mapping of `dst`
 * (which may be `src` itself when the migration was abandoned), rebuilt as
 * remove_migration_pte() does: old unless young, dirty only if both the entry and the folio
 * are, writable only for writable entries in VM_WRITE vmas, device-private entries for
 * device-private destinations.
 */
export function removeMigrationPtes(sys: System, src: number, dst: number): void {
  for (const hit of rmapWalk(sys, src, true)) restoreMigrationPte(sys, hit.mm, hit.vma, hit.vpn, hit.entry, src, dst);
}

/**
 * remove_migration_pte for one entry `e` of `src` at `vpn` of `mm`: it becomes a mapping of
 * `dst` (see removeMigrationPtes), which takes the entry's reference over from `src`.
 */
export function restoreMigrationPte(sys: System, mm: Mm, vma: Vma, vpn: number, e: number, src: number, dst: number): void {
  const ef = pteFlags(e);
  mm.pt.setPte(vpn, restoredMigrationPte(sys, vma, ef, dst));
  migrationRefToDst(sys, ef, src, dst);
}

/**
 * restoreMigrationPte for the entry at `ptes[k]`, a PTE table the caller already holds
 * (migrate_device_finalize walks one table per run of 512 entries instead of one per entry).
 * With `dstRefHeld`, the mapping takes over a reference the caller holds on `dst` and would
 * drop right after (migrate_device_finalize's allocation reference of a new page): the count
 * ends the same as with a get here and the caller's put, one increment and decrement fewer.
 */
export function restoreMigrationPteAt(sys: System, ptes: Float64Array, k: number, vma: Vma, src: number, dst: number, dstRefHeld = false): void {
  const ef = pteFlags(ptes[k]);
  ptes[k] = restoredMigrationPte(sys, vma, ef, dst);
  migrationRefToDst(sys, ef, src, dst, dstRefHeld);
}

/** The entry remove_migration_pte writes for a migration entry with flags `ef` in `vma` when it maps `dst`. */
function restoredMigrationPte(sys: System, vma: Vma, ef: number, dst: number): number {
  const p = sys.pages;
  let f = 0;
  if (ef & PTE_YOUNG) f |= PTE_YOUNG;
  if (ef & PTE_DIRTY && p.hasFlag(p.folio(dst), PG_DIRTY)) f |= PTE_DIRTY;
  if (ef & PTE_WRITE && vma.writable) f |= PTE_WRITE;
  if (p.isDevicePrivate(dst)) return mkPte(PteType.DEVICE_PRIVATE, dst, f & PTE_WRITE);
  return mkPte(PteType.PRESENT, dst, f);
}

/**
 * remove_migration_pte's struct-page part once the entry (with flags `ef`) maps `dst`: the
 * mapping's reference and mapcount move from `src` to `dst` (exclusive when the entry was
 * writable or anon-exclusive and `dst` is anonymous); the last reference of `src` frees it.
 */
function migrationRefToDst(sys: System, ef: number, src: number, dst: number, dstRefHeld = false): void {
  const p = sys.pages;
  const exclusive = p.isAnon(dst) && (ef & (PTE_WRITE | PTE_ANON_EXCL)) !== 0;
  if (!dstRefHeld) p.get(dst);
  pageAddRmap(sys, dst, exclusive);
  sys.putPage(src);
}

/** Marks the anon page as mapped once more by a new process (fork): not exclusive anymore. */
export function pageDupAnonRmap(sys: System, pfn: number): void {
  const p = sys.pages;
  p.mapcount[pfn]++;
  p.get(pfn);
  if (p.isAnon(pfn)) p.clearFlag(pfn, PG_ANON_EXCLUSIVE);
}

