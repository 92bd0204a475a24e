// move_pages(2): NUMA migration of user pages (mm/migrate.c, Linux 6.1 as Debian ships it, and
// 6.12 where a KernelSwitches switch says so: movePagesFolioWalk, migrateSplitsPartiallyMappedThp).
// Every status, return value and side effect here was checked against those kernels running
// with two fake NUMA nodes (tools/oracle-numa, `hetmem oracle --nodes 2`; traces in
// test/oracle-numa/ and test/oracle-numa-612/).
import { PageKind, PG_ANON, PG_ANON_EXCLUSIVE, PG_DIRTY, PG_FILE, PG_HUGETLB, PG_KERNEL, PG_LAZYFREE, PG_PARTIALLY_MAPPED } from './page.ts';
import { PMD_NR, PMD_ORDER, NotifyEvent, EACCES, EBUSY, EFAULT, EINVAL, ENODEV, ENOENT } from './constants.ts';
import { PteType, mkPte, pteType, ptePfn, pteFlags, PTE_WRITE, PTE_ANON_EXCL, STALE_MIGRATION_PFN } from './pte.ts';
import { splitHugePage } from './huge-memory.ts';
import { rmapWalk, migrationEntryFor, removeMigrationPtes, pageRemoveRmap, folioRemoveRmapPmd, type RmapHit } from './rmap.ts';
import { MAX_NUMNODES, type System } from './system.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

/** move_pages(2) flags (MPOL_MF_*). */
export const MPOL_MF_MOVE = 1 << 1;
export const MPOL_MF_MOVE_ALL = 1 << 2;

/** Passes migrate_pages() makes over folios that keep failing with -EAGAIN. */
const NR_MAX_MIGRATE_PAGES_RETRY = 10;
/** Base pages migrate_pages() handles per batch (HPAGE_PMD_NR). */
const NR_MAX_BATCHED_MIGRATION = PMD_NR;

/** What move_pages(2) returned. */
export interface MovePagesResult {
  /** The syscall's value: 0, the number of pages not migrated (> 0), or -errno. */
  ret: number;
  /**
   * Per page: a node id, -errno, or null where the kernel left the entry unwritten (the pages
   * of a batch whose migration failed, and pages after an -ENODEV).
   */
  status: (number | null)[];
}

/**
 * move_pages(0, n, pages, nodes, status, flags) for `mm`: moves the page mapped at each
 * `vpns[i]` to NUMA node `nodes[i]`, or, with `nodes` null, reports each page's node.
 * Pages mapped more than once move only with MPOL_MF_MOVE_ALL. A move unmaps every mapping
 * (MMU_NOTIFY_CLEAR per mapping, so mirroring devices drop theirs), copies the folio to the
 * target node and maps the copy: data, dirtiness and write permission survive, the new PTEs
 * are clean and old (no A/D bits in migration entries without CONFIG_SWAP).
 */
export function movePages(mm: Mm, vpns: readonly number[], nodes: readonly number[] | null, flags: number): MovePagesResult {
  const status: (number | null)[] = new Array<number | null>(vpns.length).fill(null);
  if ((flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)) !== 0) return { ret: -EINVAL, status };
  if (nodes === null) {
    for (let i = 0; i < vpns.length; i++) status[i] = pageNode(mm, vpns[i]);
    return { ret: 0, status };
  }
  if (nodes.length !== vpns.length) throw new RangeError('movePages: one node per page');
  return { ret: doPagesMove(mm, vpns, nodes, (flags & MPOL_MF_MOVE_ALL) !== 0, status), status };
}

/** The folios a move_pages call has isolated for one target node, in order. */
interface PageList {
  heads: number[];
  isolated: Set<number>;
}

/**
 * do_pages_move: pages are queued while consecutive entries name the same node and migrated
 * when the node changes, when a lookup fails (so later lookups see the moved pages), and at
 * the end. A failed batch stops the call: the result counts its failures plus every page not
 * yet tried.
 */
function doPagesMove(mm: Mm, vpns: readonly number[], nodes: readonly number[], all: boolean, status: (number | null)[]): number {
  const n = vpns.length;
  const list: PageList = { heads: [], isolated: new Set() };
  let cur = -1, start = 0, err = 0, i = 0;
  const flush = (node: number, upto: number): number => {
    if (list.heads.length === 0) return 0;
    const failed = migrateList(mm.sys, list, node);
    if (failed > 0) return failed + n - upto;
    for (let k = start; k < upto; k++) status[k] = node;
    return 0;
  };
  for (; i < n; i++) {
    const node = nodes[i];
    err = -ENODEV;
    if (!(node >= 0 && node < MAX_NUMNODES) || node >= mm.sys.nrNodes) break;
    if (cur < 0) {
      cur = node;
      start = i;
    } else if (node !== cur) {
      err = flush(cur, i);
      if (err !== 0) return err;
      start = i;
      cur = node;
    }
    err = addPageForMigration(mm, vpns[i], cur, all, list);
    if (err > 0) continue;
    status[i] = err !== 0 ? err : cur;
    err = flush(cur, i);
    if (err !== 0) return err > 0 ? err - 1 : err;
    cur = -1;
  }
  const err1 = cur < 0 ? 0 : flush(cur, i);
  return err >= 0 ? err1 : err;
}

/**
 * follow_page(FOLL_GET | FOLL_DUMP): the pfn mapped at `vpn`, null where nothing is mapped
 * but a fault would find something (a non-present entry, an empty shmem or hugetlb slot), or
 * -EFAULT where a fault would only zero-fill (anonymous holes, the zero pages).
 */
function followPageDump(mm: Mm, vma: Vma, vpn: number): number | null {
  const sys = mm.sys;
  // 6.12 (movePagesFolioWalk): folio_walk_start finds no folio in a hole, which both callers
  // answer with -ENOENT; 6.1's FOLL_DUMP made an anonymous hole -EFAULT.
  const noPageTable = !sys.k.movePagesFolioWalk && (vma.isAnonymous || vma.kind === 'mixed') ? -EFAULT : null;
  const pmd = mm.pt.pmd(vpn);
  if (!pmd) return noPageTable;
  if (pmd.huge !== 0) {
    // A device-private PMD entry (7.x) is not present: as for a device-private PTE.
    if (pteType(pmd.huge) !== PteType.PRESENT) return null;
    const head = ptePfn(pmd.huge);
    if (sys.isHugeZero(head)) return -EFAULT;
    return head + (vpn % PMD_NR);
  }
  if (vma.isHugetlb) return null;
  const e = pmd.ptes ? pmd.ptes[vpn % PMD_NR] : 0;
  const t = pteType(e);
  if (t === PteType.NONE) return noPageTable;
  if (t !== PteType.PRESENT) return null;
  const pfn = ptePfn(e);
  return sys.isZeroPfn(pfn) ? -EFAULT : pfn;
}

/** do_pages_stat_array for one page: its node, or -errno. */
function pageNode(mm: Mm, vpn: number): number {
  const vma = mm.findVma(vpn);
  if (!vma) return -EFAULT;
  const pfn = followPageDump(mm, vma, vpn);
  if (pfn === null || (pfn >= 0 && mm.sys.pages.isZoneDevice(pfn))) return -ENOENT;
  return pfn < 0 ? pfn : mm.sys.pages.nodeOf(pfn);
}

/**
 * Whether a THP is on the deferred split list as partially mapped: 6.12's PG_partially_mapped,
 * which __folio_remove_rmap sets (rmap.ts notePartiallyMapped) and only a split or the folio's
 * freeing clears. Checked on the two-node 6.12 oracle (test/oracle-numa-612).
 */
function partiallyMappedThp(sys: System, head: number): boolean {
  // nr_pages > 2 in migrate_pages_batch; the flag is only ever set on anonymous THPs.
  return sys.pages.folioNr(head) > 2 && sys.pages.hasFlag(head, PG_PARTIALLY_MAPPED);
}

/**
 * folio_likely_mapped_shared() (include/linux/mm.h, 6.12). Its folio_mapcount() counts a PMD
 * (entire) mapping once, not once per page.
 */
function likelyMappedShared(sys: System, head: number): boolean {
  const p = sys.pages;
  if (!p.isCompound(head) || p.hasFlag(head, PG_HUGETLB)) return p.pageMapcount(head) > 1;
  const entire = p.entireMapcountOf(head), nr = p.folioNr(head);
  const mapcount = p.folioMapcount(head) - entire * nr + entire;
  if (mapcount <= 1) return false;
  if (entire > 0 || mapcount > nr) return true;
  return p.pageMapcount(head) > 1;
}

/**
 * add_page_for_migration: 1 when the folio at `vpn` was queued, 0 when it is already on
 * `node`, or -errno. Quirks of 6.1 kept: a hugetlb page moves only by its first subpage
 * (others get -EACCES); a folio already queued is -EBUSY; pages not on an LRU list (the
 * kernel pages of a device mapping) cannot be isolated: -EBUSY.
 */
function addPageForMigration(mm: Mm, vpn: number, node: number, all: boolean, list: PageList): number {
  const sys = mm.sys, p = sys.pages;
  const vma = mm.findVma(vpn);
  if (!vma) return -EFAULT;
  const pfn = followPageDump(mm, vma, vpn);
  if (pfn === null) return -ENOENT;
  if (pfn < 0) return pfn;
  if (p.isZoneDevice(pfn)) return -ENOENT;
  if (p.nodeOf(pfn) === node) return 0;
  const head = p.folio(pfn);
  if (sys.k.movePagesFolioWalk) {
    // 6.12 __add_folio_for_migration: folio_likely_mapped_shared, and any subpage of a hugetlb
    // folio isolates the whole folio.
    if (likelyMappedShared(sys, head) && !all) return -EACCES;
  } else {
    if (p.pageMapcount(pfn) > 1 && !all) return -EACCES;
    if (p.hasFlag(head, PG_HUGETLB) && pfn !== head) return -EACCES;
  }
  if (list.isolated.has(head) || p.hasFlag(head, PG_KERNEL)) return -EBUSY;
  list.isolated.add(head);
  list.heads.push(head);
  return 1;
}

/**
 * migrate_pages(): hugetlb folios first, then the others in batches of at most 512 base pages;
 * a folio that cannot be unmapped or still has unexpected references is retried, up to 10
 * passes. Returns what migrate_pages returns: 0 when nothing is left unmigrated, else the
 * number of folios that did not move (they stay where they were, mapped as before apart from
 * clean, old PTEs), each THP split on the way counting as one. Empties the list.
 */
function migrateList(sys: System, list: PageList, node: number): number {
  const p = sys.pages;
  const huge = list.heads.filter((h) => p.hasFlag(h, PG_HUGETLB));
  let failed = passes(sys, huge, node);
  let left = failed;
  let batch: number[] = [], pages = 0;
  const flush = () => {
    // 6.12 (migrateSplitsPartiallyMappedThp): migrate_pages_batch splits a THP on the deferred
    // split list as partially mapped (try_split_folio) instead of moving it. The split counts
    // as one failure of the batch ("without doing so, migrate_pages() may report success with
    // split but unmigrated pages still on its fromlist"); its subpages go on split_folios and
    // migrate after the batch, one pass, their failures not counted again. migrate_pages
    // returns 0 all the same when nothing is left on the list at the end. The split maps the
    // zero-filled subpages to the zero page (thpSplitMapsZeroPage) and frees them and the
    // unmapped ones: migrate_folio_unmap takes a folio freed under it (refcount 1) as migrated.
    // A split that fails (can_split_folio: references beyond the mappings, as device-exclusive
    // entries and pins hold; huge-memory.ts splitHugePage) leaves the THP to migrate whole.
    const split: number[] = [];
    let splits = 0;
    if (sys.k.migrateSplitsPartiallyMappedThp) {
      for (let i = 0; i < batch.length; i++) {
        const h = batch[i];
        if (!partiallyMappedThp(sys, h)) continue;
        const nr = p.folioNr(h);
        if (!splitHugePage(sys, h)) continue;
        for (let j = 0; j < nr; j++) if (p.refcount[h + j] > 0 && p.mapcount[h + j] > 0) split.push(h + j);
        batch.splice(i--, 1);
        splits++;
      }
    }
    const f = passes(sys, batch, node);
    failed += f + splits;
    left += f + (split.length > 0 ? passes(sys, split, node, 1) : 0);
    batch = [];
    pages = 0;
  };
  for (const h of list.heads) {
    if (p.hasFlag(h, PG_HUGETLB)) continue;
    const nr = p.folioNr(h);
    if (batch.length > 0 && pages + nr > NR_MAX_BATCHED_MIGRATION) flush();
    batch.push(h);
    pages += nr;
  }
  if (batch.length > 0) flush();
  list.heads.length = 0;
  list.isolated.clear();
  return left === 0 ? 0 : failed;
}

/** Migrates `heads` to `node` in up to `nrPass` passes; returns how many did not move. */
function passes(sys: System, heads: number[], node: number, nrPass = NR_MAX_MIGRATE_PAGES_RETRY): number {
  let retry = heads;
  for (let pass = 0; pass < nrPass && retry.length > 0; pass++) {
    retry = retry.filter((h) => !migrateFolio(sys, h, node));
  }
  return retry.length;
}

/**
 * unmap_and_move for one folio: unmap every mapping into migration entries, check that only
 * the mappings (and the page cache) hold references, copy to a new folio on `node`, and map
 * it where the old one was. False (nothing moved, mappings restored) when a mapping could not
 * be unmapped (a possibly pinned exclusive anon page) or someone else holds a reference.
 */
function migrateFolio(sys: System, head: number, node: number): boolean {
  const p = sys.pages;
  const nr = p.folioNr(head);
  // alloc_migration_target allocates with __GFP_THISNODE: a full target node (only possible
  // with bounded node memory, never in the oracle traces) leaves the folio where it is.
  // Modelled, not checked against 6.1.
  if (!sys.hasRoom(node, nr)) return false;
  const hugetlb = p.hasFlag(head, PG_HUGETLB);
  const file = p.hasFlag(head, PG_FILE);
  const unmapped = tryToMigrateFolio(sys, head, nr);
  const stillMapped = unmapped === null;
  const entries = unmapped ?? 0;
  // folio_migrate_mapping: the references must be exactly the mappings' and the page cache's.
  if (stillMapped || p.refcount[head] !== entries + (file ? 1 : 0)) {
    restore(sys, head, head, nr);
    return false;
  }
  let dst: number;
  let temporary = false;
  if (hugetlb) {
    // alloc_hugetlb_folio_nodemask: a free pool page on the node, else a fresh "temporary"
    // one whose pool membership the old page gives up when it is freed.
    if (sys.hugetlbFreeNode[node] > 0 && sys.hugetlbFree - sys.hugetlbReserved > 0) dst = sys.allocHugetlb(node);
    else {
      temporary = true;
      dst = p.allocCompound(PMD_ORDER, PageKind.SYSTEM, node);
      p.setFlag(dst, PG_HUGETLB);
    }
  } else dst = nr > 1 ? p.allocCompound(p.orderOf(head), PageKind.SYSTEM, node) : p.allocSystem(node);
  // folio_migrate_mapping + folio_migrate_flags: the new folio takes the old one's identity.
  // migrate_folio_move requeues the new folio on the deferred split list as partially mapped
  // when the old one was, as read after the unmap above (whose PTE-by-PTE rmap removals
  // mark a PTE-mapped THP: so a THP moved once is split when it is moved again).
  const keep = PG_ANON | PG_FILE | PG_DIRTY | PG_LAZYFREE | PG_PARTIALLY_MAPPED;
  p.flags[dst] = (p.flags[dst] & ~keep) | (p.flags[head] & keep);
  p.copyIndexAndMapping(dst, head);
  for (let i = 0; i < nr; i++) p.copy(dst + i, head + i);
  if (file) {
    const f = sys.files.get(p.mappingOf(head));
    if (f) f.pages.set(p.indexOf(head), dst);
  }
  restore(sys, head, dst, nr);
  // The old folio's last references were its mappings' (now moved) and the page cache's.
  if (file) sys.putPage(head);
  else sys.putPage(dst);
  if (temporary) {
    // The old page went back to its node's pool; as a temporary page's stand-in it leaves it.
    sys.hugetlbFreeNode[p.nodeOf(head)]--;
  }
  sys.stats.numaMigrated += nr;
  return true;
}

/**
 * try_to_migrate for a folio: each mapping becomes a migration entry, each VMA's share of it
 * invalidated with MMU_NOTIFY_CLEAR over the folio's range in that VMA. Returns the number of
 * migration entries made, or null when a possibly pinned exclusive anon mapping stopped the
 * walk (page_try_share_anon_rmap failed): that mapping is left as it was.
 */
function tryToMigrateFolio(sys: System, head: number, nr: number): number | null {
  const p = sys.pages;
  const hits: RmapHit[] = [];
  for (const h of rmapWalk(sys, head, false)) if (h.huge) hits.push(h);
  for (let i = 0; i < nr; i++) {
    if (!p.isMapped(head + i)) continue;
    for (const h of rmapWalk(sys, head + i, false)) if (!h.huge && pteType(h.entry) !== PteType.DEVICE_EXCLUSIVE) hits.push(h);
  }
  // Device-exclusive entries hold a reference but (before 7.x's deviceExclusiveKeepsMapcount) no
  // mapcount, so isMapped() misses them; the page_vma_mapped_walk of 6.1 finds them all the same
  // (see STALE_MIGRATION_PFN).
  for (let i = 0; i < nr; i++) {
    for (const h of rmapWalk(sys, head + i, false)) if (!h.huge && pteType(h.entry) === PteType.DEVICE_EXCLUSIVE) hits.push(h);
  }
  // One notifier range per (mm, vma): the folio's extent clamped to the VMA.
  const groups = new Map<string, RmapHit[]>();
  for (const h of hits) {
    const k = `${h.mm.id}:${h.vma.start}`;
    const g = groups.get(k);
    if (g) g.push(h);
    else groups.set(k, [h]);
  }
  const pinned = p.pincountOf(head) > 0;
  let made = 0;
  for (const g of groups.values()) {
    const { mm, vma } = g[0];
    const first = g.reduce((m, h) => Math.min(m, h.huge ? h.vpn - (h.vpn % PMD_NR) : h.vpn - (ptePfn(h.entry) - head)), Infinity);
    const start = Math.max(first, vma.start), end = Math.min(first + nr, vma.end);
    let stopped = false;
    mm.notifiers.invalidate({ start, end, event: NotifyEvent.CLEAR, owner: null }, () => {
      // The walk goes through each VMA's entries in address order.
      g.sort((x, y) => x.vpn - y.vpn);
      for (const h of g) {
        if (pteType(h.entry) === PteType.DEVICE_EXCLUSIVE && !sys.k.migrateHandlesDeviceExclusive) {
          // 6.1 bug: the migration entry gets pte_pfn() of the swap entry, a pfn of no page of
          // the folio; the exclusive entry's reference is dropped (folio_put) all the same.
          mm.pt.setPte(h.vpn, mkPte(PteType.MIGRATION, STALE_MIGRATION_PFN, 0));
          sys.putPage(head);
          continue;
        }
        const anonExcl = p.isAnon(head) && p.hasFlag(h.huge ? head : ptePfn(h.entry), PG_ANON_EXCLUSIVE);
        if (anonExcl && pinned) {
          stopped = true;
          return;
        }
        if (pteType(h.entry) === PteType.DEVICE_EXCLUSIVE) {
          // 7.x (migrateHandlesDeviceExclusive): a proper migration entry for the entry's page;
          // its reference becomes the migration entry's, and the mapcount it holds on 7.x
          // (deviceExclusiveKeepsMapcount) goes as a present PTE's does.
          const pfn = ptePfn(h.entry);
          mm.pt.setPte(h.vpn, migrationEntryFor(sys, pfn, h.entry));
          if (sys.k.deviceExclusiveKeepsMapcount) pageRemoveRmap(sys, pfn);
          made++;
          continue;
        }
        if (h.huge) {
          const pmd = mm.pt.pmd(h.vpn)!;
          pmd.huge = migrationEntryFor(sys, head, pmd.huge);
          folioRemoveRmapPmd(sys, head);
        } else {
          const pfn = ptePfn(h.entry);
          mm.pt.setPte(h.vpn, migrationEntryFor(sys, pfn, h.entry));
          pageRemoveRmap(sys, pfn);
        }
        made++;
      }
    });
    if (stopped) return null;
  }
  return made;
}


/**
 * remove_migration_ptes(src, dst) for a whole folio: PTE-level entries per subpage, PMD-level
 * entries of the head (THP and hugetlb) rebuilt as remove_migration_pmd does: old, clean,
 * writable only from a writable entry in a VM_WRITE vma, exclusive unless a plain read entry.
 */
function restore(sys: System, src: number, dst: number, nr: number): void {
  const p = sys.pages;
  // PMD-level entries first: removeMigrationPtes handles PTE-level entries only.
  if (nr > 1) {
    for (const h of rmapWalk(sys, src, true)) {
      if (!h.huge || pteType(h.entry) !== PteType.MIGRATION || ptePfn(h.entry) !== src) continue;
      const ef = pteFlags(h.entry);
      const exclusive = p.isAnon(dst) && (ef & (PTE_WRITE | PTE_ANON_EXCL)) !== 0;
      h.mm.pt.pmd(h.vpn)!.huge = mkPte(PteType.PRESENT, dst, ef & PTE_WRITE && h.vma.writable ? PTE_WRITE : 0);
      p.get(dst);
      p.addEntireMapcount(dst, 1);
      if (exclusive) p.setFlag(dst, PG_ANON_EXCLUSIVE);
      sys.putPage(src);
    }
  }
  for (let i = 0; i < nr; i++) removeMigrationPtes(sys, src + i, dst + i);
}
