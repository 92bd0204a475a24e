import { EINVAL, EBUSY, NotifyEvent, PMD_NR } from './constants.ts';
import { PteType, mkPte, pteType, ptePfn, pteHas, pteFlags, imod, PTE_WRITE, PTE_DIRTY, PTE_ANON_EXCL } from './pte.ts';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_FILE, PG_DIRTY, PG_KERNEL, PG_HUGETLB, PG_HEAD, PG_TAIL, PageKind } from './page.ts';
import { migrationEntryFor, tryToMigrate, removeMigrationPtes, rmapCount, pageRemoveRmap, pageAddNewAnonRmap, restoreMigrationPte, restoreMigrationPteAt } from './rmap.ts';
import type { Pmd } from './pagetable.ts';
import { splitHugePmd, splitHugePage, splitDevicePrivateFolio } from './huge-memory.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';
import type { System } from './system.ts';

/** MIGRATE_PFN_* flags; an entry is `pfn * 64 + flags` (MIGRATE_PFN_SHIFT = 6). */
export const MIGRATE_PFN_VALID = 1;
export const MIGRATE_PFN_MIGRATE = 2;
export const MIGRATE_PFN_WRITE = 8;
/**
 * 7.x (KernelSwitches.devicePrivateThp): the entry stands for a whole PMD-sized folio (or a
 * 2 MiB hole); the 511 entries after it are 0.
 */
export const MIGRATE_PFN_COMPOUND = 16;
export function migratePfn(pfn: number): number {
  return pfn * 64 + MIGRATE_PFN_VALID;
}
export function migratePfnToPage(e: number): number {
  // The VALID bit tested with a constant mask: imod(e, 2), wherever the compiler does not
  // inline it, is a division by a variable, and this runs several times per page per pass.
  return (Math.floor(e) & MIGRATE_PFN_VALID) !== 0 ? Math.floor(e / 64) : -1;
}
export function mpfnHas(e: number, f: number): boolean {
  return (Math.floor(e) & f) !== 0;
}
function mpfnClear(e: number, f: number): number {
  return mpfnHas(e, f) ? e - f : e;
}

/** enum migrate_vma_direction. */
export const MIGRATE_VMA_SELECT_SYSTEM = 1;
export const MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 2;
export const MIGRATE_VMA_SELECT_DEVICE_COHERENT = 4;
/** 7.x (devicePrivateThp): collect PMD-mapped THPs and aligned 2 MiB holes as one entry. */
export const MIGRATE_VMA_SELECT_COMPOUND = 8;

/** struct migrate_vma: one VMA's page range being migrated; `src`/`dst` have one slot per page. */
export interface MigrateVma {
  mm: Mm;
  vma: Vma;
  start: number;
  end: number;
  src: Float64Array;
  dst: Float64Array;
  cpages: number;
  npages: number;
  pgmapOwner: unknown;
  flags: number;
  /** The device-private page a CPU fault is migrating (migrate_to_ram), or -1. */
  faultPage: number;
  /**
   * 1 where the page's only migration entry is the one collect wrote at `start + i` (it was
   * mapped nowhere else), so unmap and finalize need no rmap walk for it. Bookkeeping of the
   * model, not of the kernel: the result is the same as with the walks.
   */
  single: Uint8Array;
}

/** A migrate_vma for [start, end) of `vma` with fresh arrays. */
export function newMigrateVma(mm: Mm, vma: Vma, start: number, end: number, owner: unknown, flags: number, faultPage = -1): MigrateVma {
  return reuseMigrateVma(null, mm, vma, start, end, owner, flags, faultPage);
}

/** Bytes of the one buffer behind `src`, `dst` and `single` per page: 8 + 8 + 1. */
const MIGRATE_VMA_BYTES_PER_PAGE = 17;

/**
 * A migrate_vma for [start, end) of `vma`, reusing `prev` (and its arrays, when their buffer
 * holds `end - start` pages) or, with `prev` null, a fresh one. A driver that migrates block
 * after block keeps one and passes it back each time, as test_hmm reuses its on-stack src/dst
 * arrays: a typed array's backing store is allocated outside the JS heap and costs far more
 * than the work on 512 entries. `migrateVmaSetup` clears the arrays, so nothing of the previous
 * call is seen. The caller must not reuse a MigrateVma that a migration still in progress holds
 * (one nested inside it, from an eviction or a fault, takes its own).
 */
export function reuseMigrateVma(prev: MigrateVma | null, mm: Mm, vma: Vma, start: number, end: number, owner: unknown, flags: number, faultPage = -1): MigrateVma {
  const n = Math.max(0, end - start);
  if (prev === null) {
    // One buffer behind the three arrays: one backing store instead of three.
    const buf = new ArrayBuffer(n * MIGRATE_VMA_BYTES_PER_PAGE);
    return {
      mm, vma, start, end, cpages: 0, npages: 0, pgmapOwner: owner, flags, faultPage,
      src: new Float64Array(buf, 0, n), dst: new Float64Array(buf, n * 8, n), single: new Uint8Array(buf, n * 16, n),
    };
  }
  if (prev.src.length !== n) {
    // Views of exactly n entries (callers and migrate_device_* read `src.length`), on the old
    // buffer when it is large enough: a view is a small heap object, the buffer is not.
    const old = prev.src.buffer;
    const buf = old.byteLength >= n * MIGRATE_VMA_BYTES_PER_PAGE ? old : new ArrayBuffer(n * MIGRATE_VMA_BYTES_PER_PAGE);
    prev.src = new Float64Array(buf, 0, n);
    prev.dst = new Float64Array(buf, n * 8, n);
    prev.single = new Uint8Array(buf, n * 16, n);
  }
  prev.mm = mm;
  prev.vma = vma;
  prev.start = start;
  prev.end = end;
  prev.pgmapOwner = owner;
  prev.flags = flags;
  prev.faultPage = faultPage;
  prev.cpages = 0;
  prev.npages = 0;
  return prev;
}

/**
 * migrate_vma_setup: validates, collects the pages of [start, end) that match `flags` and
 * `pgmapOwner` (under one MMU_NOTIFY_MIGRATE invalidation carrying that owner), replaces
 * their PTEs by migration entries and unmaps them everywhere else; pages that turn out
 * pinned are restored. Returns 0 or -EINVAL; on return `cpages` counts migratable entries.
 */
export function migrateVmaSetup(args: MigrateVma): number {
  const v = args.vma;
  const n = args.end - args.start;
  if (v.isHugetlb || v.isMixed) return -EINVAL;
  if (n <= 0) return -EINVAL;
  if (args.start < v.start || args.start >= v.end) return -EINVAL;
  if (args.end <= v.start || args.end > v.end) return -EINVAL;
  if (args.faultPage >= 0 && !args.mm.sys.pages.isDevicePrivate(args.faultPage)) return -EINVAL;
  args.src.fill(0);
  args.dst.fill(0);
  args.single.fill(0);
  args.cpages = 0;
  args.npages = 0;
  // migrate_vma_collect runs under one MMU_NOTIFY_MIGRATE invalidation (start and end rather
  // than a closure: this runs once per 512 pages on every driver's migrate path).
  const notifiers = args.mm.notifiers;
  notifiers.start({ start: args.start, end: args.end, event: NotifyEvent.MIGRATE, owner: args.pgmapOwner });
  let unchecked: number;
  try {
    unchecked = collect(args);
  } finally {
    notifiers.end();
  }
  // migrate_vma_unmap, for what collect could not settle itself (see collect).
  if (unchecked > 0) args.cpages = migrateDeviceUnmap(args.mm.sys, args.src, args.faultPage, args.single);
  return 0;
}

/**
 * migrate_vma_check_page as the model counts references: the page `page` (entry `s`), holding
 * `migrationRefs` migration entries and no mapping, may migrate when nothing else holds it: no
 * reference beyond those entries (plus the page cache's, plus the faulting CPU's), no pin, and
 * not a piece of a large folio collected page by page.
 */
function unmappedPageMigratable(sys: System, page: number, s: number, migrationRefs: number, faultPage: number): boolean {
  const p = sys.pages;
  const expected = migrationRefs + (p.hasFlag(page, PG_FILE) ? 1 : 0) + (page === faultPage ? 1 : 0);
  const large = p.isCompound(page) && !mpfnHas(s, MIGRATE_PFN_COMPOUND);
  return !p.isMapped(page) && p.refcount[p.folio(page)] <= expected && p.pincountOf(page) === 0 && !large;
}

/**
 * migrate_vma_collect (migrate_vma_collect_pmd per PMD) over [start, end), fused with
 * migrate_device_unmap's work for the common page: in the kernel, collect already takes each
 * page it can lock out of its PTE, installs the migration entry and drops the rmap, so for a
 * page that PTE was the only mapping of, migrate_device_unmap has nothing to unmap
 * (try_to_migrate is not called for an unmapped folio) and only checks the references
 * (migrate_vma_check_page). That check reads only this page's counts, which the rest of the
 * walk (other PTEs, other folios) cannot change, so making it here gives what the unmap pass
 * would. Returns how many collected pages it left unsettled (mapped elsewhere too, or failing
 * the check, or a 7.x compound entry): when there are any, setup runs migrate_device_unmap
 * over all entries as before, which gives the settled ones the same answer again.
 */
function collect(args: MigrateVma): number {
  const { mm, vma } = args;
  const sys = mm.sys, p = sys.pages;
  const thp = sys.k.devicePrivateThp;
  const src = args.src, single = args.single;
  let unchecked = 0;
  for (let base = Math.floor(args.start / PMD_NR) * PMD_NR; base < args.end; base += PMD_NR) {
    const lo = Math.max(args.start, base), hi = Math.min(args.end, base + PMD_NR);
    let pmd = mm.pt.pmds.get(base / PMD_NR);
    if (thp) {
      // 7.x: migrate_vma_collect_huge_pmd decides for a huge or empty PMD.
      const r = collectHugePmd(args, base, lo, hi);
      if (r === HUGE_COLLECTED) unchecked++;
      if (r !== HUGE_WALK_PTES) continue;
      pmd = mm.pt.pmds.get(base / PMD_NR);
    } else if (pmd && pmd.huge !== 0) {
      const head = ptePfn(pmd.huge);
      if (sys.isHugeZero(head)) splitHugePmd(mm, vma, lo);
      else if (!splitHugePage(sys, head)) {
        args.npages += hi - lo;
        continue;
      }
      pmd = mm.pt.pmds.get(base / PMD_NR);
    }
    const ptes = pmd?.ptes ?? null;
    for (let a = lo; a < hi; a++) {
      const i = args.npages++;
      const e = ptes !== null ? ptes[a - base] : 0;
      const t = pteType(e);
      let mpfn: number;
      let page: number;
      if (t === PteType.NONE) {
        if (vma.isAnonymous) {
          args.src[i] = MIGRATE_PFN_MIGRATE;
          args.cpages++;
        }
        continue;
      }
      if (t !== PteType.PRESENT) {
        if (t !== PteType.DEVICE_PRIVATE) continue;
        page = ptePfn(e);
        if (!(args.flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) || sys.pagemapOf(page)!.owner !== args.pgmapOwner) continue;
        mpfn = migratePfn(page) + MIGRATE_PFN_MIGRATE + (pteHas(e, PTE_WRITE) ? MIGRATE_PFN_WRITE : 0);
      } else {
        page = ptePfn(e);
        if (sys.isZeroPfn(page)) {
          // The zero page is "migrated" as a hole when selecting system memory, skipped otherwise.
          if (args.flags & MIGRATE_VMA_SELECT_SYSTEM) {
            args.src[i] = MIGRATE_PFN_MIGRATE;
            args.cpages++;
          }
          continue;
        }
        const kind = p.kind[page];
        if (kind === PageKind.DEVICE_COHERENT) {
          if (!(args.flags & MIGRATE_VMA_SELECT_DEVICE_COHERENT) || sys.pagemapOf(page)!.owner !== args.pgmapOwner) continue;
        } else if (kind !== PageKind.DEVICE_PRIVATE && !(args.flags & MIGRATE_VMA_SELECT_SYSTEM)) continue;
        mpfn = migratePfn(page) + MIGRATE_PFN_MIGRATE + (pteHas(e, PTE_WRITE) ? MIGRATE_PFN_WRITE : 0);
      }
      if (thp && p.isCompound(page) && !p.hasFlag(p.folio(page), PG_HUGETLB)) {
        // 7.x: migrate_vma_split_folio splits a PTE-mapped large folio and looks again; a folio
        // that will not split ends the walk of this PMD (migrate_vma_collect_skip).
        if (!splitLargeFolio(sys, page, args.faultPage)) {
          args.npages = i + (hi - a);
          break;
        }
        args.npages = i;
        a--;
        continue;
      }
      // Pages without a mapping (kernel pages) and pieces of large folios are not migrated. One
      // read of the flags word answers all three: a small page is its own folio.
      const pf = p.flags[page];
      if ((pf & (PG_HEAD | PG_TAIL | PG_KERNEL)) !== 0 || (pf & (PG_ANON | PG_FILE)) === 0) continue;
      // page_try_share_anon_rmap refuses a pinned anon-exclusive page.
      if ((pf & PG_ANON) !== 0 && (pf & PG_ANON_EXCLUSIVE) !== 0 && p.pincountOf(page) > 0) continue;
      args.cpages++;
      // The entry was read from this PTE table, so this is mm.pt.setPte(a, ...).
      ptes![a - base] = migrationEntryFor(sys, page, e);
      pageRemoveRmap(sys, page);
      src[i] = mpfn;
      single[i] = 1;
      // migrate_device_unmap's check, here: this entry is the page's one reference from a
      // mapping when nothing else maps it. unmappedPageMigratable(sys, page, mpfn, 1, faultPage)
      // for a page known to be small (the flags word above): its own folio, not large.
      if (p.isMapped(page) || p.refcount[page] > 1 + ((pf & PG_FILE) !== 0 ? 1 : 0) + (page === args.faultPage ? 1 : 0) || p.pincountOf(page) > 0) unchecked++;
    }
  }
  return unchecked;
}

/**
 * migrate_device_unmap: unmaps collected pages from every other mapping (try_to_migrate) and
 * drops those still referenced by something else (pins, device-exclusive entries); their
 * migration entries are restored and their slot zeroed. Returns the migratable count.
 */
export function migrateDeviceUnmap(sys: System, src: Float64Array, faultPage: number, single: Uint8Array | null = null): number {
  const p = sys.pages;
  let unmapped = 0;
  for (let i = 0; i < src.length; i++) {
    const s = src[i];
    const page = migratePfnToPage(s);
    if (page < 0) {
      if (mpfnHas(s, MIGRATE_PFN_MIGRATE)) unmapped++;
      continue;
    }
    if (!mpfnHas(s, MIGRATE_PFN_MIGRATE)) {
      if (single) single[i] = 0;
      continue;
    }
    // Collect's entry is the page's only one when nothing else maps it: then try_to_migrate
    // has nothing to do and the count of migration entries is 1, without walking the rmap.
    let migrationRefs: number;
    if (single !== null && single[i] === 1 && !p.isMapped(page)) migrationRefs = 1;
    else {
      if (single) single[i] = 0;
      tryToMigrate(sys, page);
      migrationRefs = rmapCount(sys, page, true);
    }
    if (!unmappedPageMigratable(sys, page, s, migrationRefs, faultPage)) {
      src[i] = mpfnClear(s, MIGRATE_PFN_MIGRATE);
      removeMigrationPtes(sys, page, page);
      src[i] = 0;
      if (single) single[i] = 0;
      continue;
    }
    unmapped++;
  }
  return unmapped;
}

/**
 * migrate_vma_pages: commits each entry that has a destination. Holes get the new page
 * inserted directly (anonymous VMAs only; one MMU_NOTIFY_MIGRATE from the first hole to the
 * end); page-cache pages cannot go to device memory. Entries that fail lose MIGRATE.
 */
export function migrateVmaPages(args: MigrateVma): void {
  migratePagesCommon(args.mm.sys, args.src, args.dst, args.npages, args);
}

/** migrate_device_pages: migrate_vma_pages without a VMA (eviction): no hole insertion. */
export function migrateDevicePages(sys: System, src: Float64Array, dst: Float64Array): void {
  migratePagesCommon(sys, src, dst, src.length, null);
}

function migratePagesCommon(sys: System, src: Float64Array, dst: Float64Array, n: number, args: MigrateVma | null): void {
  const p = sys.pages;
  // Whether the MMU_NOTIFY_MIGRATE from the first hole to the end has started (the first hole
  // that gets a page starts it).
  let notified = false;
  let migrated = 0;
  const thp = sys.k.devicePrivateThp;
  for (let i = 0; i < n; i++) {
    if (thp && (mpfnHas(src[i], MIGRATE_PFN_COMPOUND) || mpfnHas(dst[i], MIGRATE_PFN_COMPOUND))) {
      if (!notified && args !== null && insertsHole(src[i], dst[i])) notified = notifyHolesFrom(args, args.start + i);
      i += migrateCompoundEntry(sys, src, dst, i, n, args) - 1;
      continue;
    }
    const s = src[i];
    const newpage = migratePfnToPage(dst[i]);
    const page = migratePfnToPage(s);
    if (newpage < 0) {
      src[i] = mpfnClear(s, MIGRATE_PFN_MIGRATE);
      continue;
    }
    if (page < 0) {
      if (!mpfnHas(s, MIGRATE_PFN_MIGRATE)) continue;
      if (!args) {
        src[i] = mpfnClear(s, MIGRATE_PFN_MIGRATE);
        continue;
      }
      const addr = args.start + i;
      if (!notified) notified = notifyHolesFrom(args, addr);
      if (!insertPage(args, addr, newpage)) src[i] = mpfnClear(s, MIGRATE_PFN_MIGRATE);
      continue;
    }
    if (p.isZoneDevice(newpage) && p.hasFlag(page, PG_FILE)) {
      src[i] = mpfnClear(s, MIGRATE_PFN_MIGRATE);
      continue;
    }
    // folio_migrate_mapping + folio_migrate_flags: the new page takes the old one's identity.
    p.flags[newpage] = (p.flags[newpage] & ~(PG_ANON | PG_FILE | PG_DIRTY)) | (p.flags[page] & (PG_ANON | PG_FILE | PG_DIRTY));
    p.copyIndexAndMapping(newpage, page);
    migrated++;
  }
  sys.stats.migrated += migrated;
  if (notified) args!.mm.notifiers.end();
}

/** Whether the entry pair (`s`, `d`) is a hole that migrate_vma_pages is to fill: a destination, no source page, MIGRATE. */
function insertsHole(s: number, d: number): boolean {
  return migratePfnToPage(d) >= 0 && migratePfnToPage(s) < 0 && mpfnHas(s, MIGRATE_PFN_MIGRATE);
}

/** migrate_vma_pages' mmu_notifier_invalidate_range_start from the first hole it fills to the end; returns true. */
function notifyHolesFrom(args: MigrateVma, addr: number): boolean {
  args.mm.notifiers.start({ start: addr, end: args.end, event: NotifyEvent.MIGRATE, owner: args.pgmapOwner });
  return true;
}

/** migrate_vma_insert_page: maps a new page where there was nothing (or the zero page). */
function insertPage(args: MigrateVma, addr: number, page: number): boolean {
  const { mm, vma } = args;
  const sys = mm.sys, p = sys.pages;
  if (!vma.isAnonymous) return false;
  const pmd = mm.pt.pmdAlloc(addr);
  if (pmd.huge !== 0) {
    // 7.x collects a huge zero PMD as a hole without splitting it; the 4 KiB insert splits it.
    if (!sys.k.devicePrivateThp || !sys.isHugeZero(ptePfn(pmd.huge))) return false;
    splitHugePmd(mm, vma, addr);
  }
  const e = mm.pt.pte(addr);
  if (pteType(e) === PteType.PRESENT) {
    if (!sys.isZeroPfn(ptePfn(e))) return false;
  } else if (e !== 0) return false;
  mm.anonVmaPrepare(vma);
  pageAddNewAnonRmap(sys, page, vma.anonIndex(addr));
  p.get(page);
  if (p.isDevicePrivate(page)) mm.pt.setPte(addr, mkPte(PteType.DEVICE_PRIVATE, page, vma.writable ? PTE_WRITE : 0));
  else mm.pt.setPte(addr, mkPte(PteType.PRESENT, page, vma.writable ? PTE_WRITE | 2 : 0));
  return true;
}

/** migrate_vma_finalize. */
export function migrateVmaFinalize(args: MigrateVma): void {
  migrateDeviceFinalize(args.mm.sys, args.src, args.dst, args.npages, args);
}

/**
 * migrate_device_finalize: every migration entry becomes a mapping of the new page, or of the
 * old one again when the entry did not migrate; the allocation references of destinations
 * are dropped (a destination nobody maps is freed).
 */
export function migrateDeviceFinalize(sys: System, src: Float64Array, dst: Float64Array, n = src.length, args: MigrateVma | null = null): void {
  // With a migrate_vma, entry i is at start + i: the page table holding it is looked up once
  // per 512 entries (a PMD slot, once there, is never replaced), not once per entry.
  let table: Pmd | undefined = undefined;
  let tableBase = -1;
  for (let i = 0; i < n; i++) {
    const s = src[i], d = dst[i];
    const newpage = migratePfnToPage(d);
    const page = migratePfnToPage(s);
    if (page < 0) {
      if (newpage >= 0) sys.putPage(newpage);
      continue;
    }
    const target = mpfnHas(s, MIGRATE_PFN_MIGRATE) && newpage >= 0 ? newpage : page;
    if (args !== null && mpfnHas(s, MIGRATE_PFN_COMPOUND)) {
      // 7.x: the folio's PMD migration entry, where collect wrote it.
      restorePmdMigration(sys, args.mm, args.vma, args.start + i, page, target);
    } else if (args !== null && args.single[i] === 1) {
      // The one entry is where collect wrote it.
      const vpn = args.start + i;
      if (table === undefined || vpn < tableBase || vpn >= tableBase + PMD_NR) {
        tableBase = vpn - imod(vpn, PMD_NR);
        table = args.mm.pt.pmd(vpn);
      }
      const ptes = table?.ptes;
      if (ptes && target === newpage) {
        // The new page's mapping takes over its allocation reference, which the put below
        // would otherwise drop right after the restore took one (same count, same order of
        // frees: the old page's last reference still goes after its PTE is rewritten).
        restoreMigrationPteAt(sys, ptes, vpn - tableBase, args.vma, page, target, true);
        continue;
      }
      if (ptes) restoreMigrationPteAt(sys, ptes, vpn - tableBase, args.vma, page, target);
      else restoreMigrationPte(sys, args.mm, args.vma, vpn, args.mm.pt.pte(vpn), page, target);
    } else removeMigrationPtes(sys, page, target);
    if (newpage >= 0) sys.putPage(newpage);
  }
}

/**
 * migrate_device_range: collects every in-use page of a device pfn range for eviction and
 * unmaps it from every process. Entries get MIGRATE but never WRITE.
 */
export function migrateDeviceRange(sys: System, src: Float64Array, startPfn: number): void {
  const p = sys.pages;
  for (let i = 0; i < src.length; i++) {
    const pfn = startPfn + i;
    src[i] = p.refcount[pfn] > 0 ? migratePfn(pfn) + MIGRATE_PFN_MIGRATE : 0;
  }
  migrateDeviceUnmap(sys, src, -1);
}

/**
 * migrate_device_coherent_page: moves one device-coherent page to a fresh system page (used
 * by long-term GUP pins, which coherent memory must not hold) on NUMA node `node`. Returns 0
 * or -EBUSY.
 */
export function migrateDeviceCoherentPage(sys: System, page: number, node = 0): number {
  const src = new Float64Array([migratePfn(page) + MIGRATE_PFN_MIGRATE]);
  migrateDeviceUnmap(sys, src, -1);
  if (!mpfnHas(src[0], MIGRATE_PFN_MIGRATE)) return -EBUSY;
  const dpage = sys.pages.allocSystem(node);
  const dst = new Float64Array([migratePfn(dpage)]);
  migrateDevicePages(sys, src, dst);
  if (mpfnHas(src[0], MIGRATE_PFN_MIGRATE)) sys.pages.copy(dpage, page);
  migrateDeviceFinalize(sys, src, dst);
  return mpfnHas(src[0], MIGRATE_PFN_MIGRATE) ? 0 : -EBUSY;
}

// ---- 7.x: device-private THP (KernelSwitches.devicePrivateThp) ----
//
// Modelled from mainline mm/migrate_device.c (6.19: "mm/migrate_device: THP migration of zone
// device pages" and the series around it), not checked against a running kernel. The model
// takes one shortcut: collect moves a THP whole only when this PMD is its one mapping and
// reference (the common case, and the one test_hmm exercises); a THP mapped elsewhere too (after
// fork) takes the fallback the kernel takes when set_pmd_migration_entry fails: it is split and
// its pages migrate one by one.

/** collectHugePmd's answers: the PTE walk is to do the segment; it is done; it is done and holds a collected folio. */
const HUGE_WALK_PTES = 0, HUGE_DONE = 1, HUGE_COLLECTED = 2;

/**
 * migrate_vma_collect_huge_pmd (and migrate_vma_collect_hole with MIGRATE_VMA_SELECT_COMPOUND)
 * for the PMD covering [lo, hi): records the whole segment (HUGE_COLLECTED when it collected
 * the folio, which migrate_device_unmap then checks; HUGE_DONE otherwise), or returns
 * HUGE_WALK_PTES for the PTE walk to do it (a page table, a split folio, holes without
 * SELECT_COMPOUND).
 */
function collectHugePmd(args: MigrateVma, base: number, lo: number, hi: number): number {
  const { mm, vma } = args;
  const sys = mm.sys, p = sys.pages;
  const compound = (args.flags & MIGRATE_VMA_SELECT_COMPOUND) !== 0 && lo === base && hi === base + PMD_NR;
  let pmd = mm.pt.pmds.get(base / PMD_NR);
  if (!pmd || (pmd.huge === 0 && !pmd.ptes)) return collectHole(args, lo, hi, compound);
  if (pmd.huge === 0) return HUGE_WALK_PTES;
  const t = pteType(pmd.huge);
  const head = ptePfn(pmd.huge);
  if (t === PteType.PRESENT) {
    if (!(args.flags & MIGRATE_VMA_SELECT_SYSTEM)) return collectSkip(args, lo, hi);
    // The huge zero page is a hole: the insert replaces the PMD (or splits it for 4 KiB pages).
    if (sys.isHugeZero(head)) return collectHole(args, lo, hi, compound);
  } else if (t === PteType.DEVICE_PRIVATE) {
    if (!(args.flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) || sys.pagemapOf(head)!.owner !== args.pgmapOwner) return collectSkip(args, lo, hi);
  } else return collectSkip(args, lo, hi);
  const faulting = args.faultPage >= 0 && p.folio(args.faultPage) === head;
  if (compound && onlyThisPmd(sys, head, faulting)) {
    // set_pmd_migration_entry: the PMD becomes a migration entry of the head, the folio's
    // PMD mapping goes (folio_remove_rmap_pmd); its reference stays with the entry.
    const write = pteHas(pmd.huge, PTE_WRITE);
    pmd.huge = migrationEntryFor(sys, head, pmd.huge);
    p.addEntireMapcount(head, -1);
    const i = args.npages;
    args.src[i] = migratePfn(head) + MIGRATE_PFN_MIGRATE + MIGRATE_PFN_COMPOUND + (write ? MIGRATE_PFN_WRITE : 0);
    args.single[i] = 1;
    args.cpages++;
    args.npages += PMD_NR;
    return HUGE_COLLECTED;
  }
  // Fallback: split the folio (the PMD first for a device-private one) and walk its PTEs.
  let ok: boolean;
  if (t === PteType.DEVICE_PRIVATE) {
    splitHugePmd(mm, vma, lo);
    ok = splitLargeFolio(sys, head, args.faultPage);
  } else ok = splitHugePage(sys, head);
  if (!ok) return collectSkip(args, lo, hi);
  pmd = mm.pt.pmds.get(base / PMD_NR);
  if (!pmd || (pmd.huge === 0 && !pmd.ptes)) return collectHole(args, lo, hi, compound);
  return HUGE_WALK_PTES;
}

/** Whether the PMD-mapped folio `head` has no mapping or reference but the PMD (and a fault's). */
function onlyThisPmd(sys: System, head: number, faulting: boolean): boolean {
  const p = sys.pages;
  if (!p.isAnon(head) || p.entireMapcountOf(head) !== 1 || p.pincountOf(head) > 0) return false;
  if (p.refcount[head] !== 1 + (faulting ? 1 : 0)) return false;
  const n = p.folioNr(head);
  for (let i = 0; i < n; i++) if (p.mapcount[head + i] !== 0) return false;
  return true;
}


/** migrate_vma_collect_hole: one compound entry for an aligned 2 MiB hole, else one per page. Returns HUGE_DONE. */
function collectHole(args: MigrateVma, lo: number, hi: number, compound: boolean): number {
  if (!args.vma.isAnonymous) return collectSkip(args, lo, hi);
  if (compound) {
    args.src[args.npages] = MIGRATE_PFN_MIGRATE + MIGRATE_PFN_COMPOUND;
    args.cpages++;
    args.npages += hi - lo;
    return HUGE_DONE;
  }
  for (let a = lo; a < hi; a++) {
    args.src[args.npages++] = MIGRATE_PFN_MIGRATE;
    args.cpages++;
  }
  return HUGE_DONE;
}

/** migrate_vma_collect_skip: the pages of [lo, hi) are not migrated (src was zero-filled). */
function collectSkip(args: MigrateVma, lo: number, hi: number): number {
  args.npages += hi - lo;
  return HUGE_DONE;
}

/**
 * migrate_vma_split_folio: splits the large folio holding `page` (a PTE-mapped THP, or a
 * device-private folio whose PMD was split); the reference a CPU fault holds on the folio
 * moves to its own page. False when the folio will not split.
 */
function splitLargeFolio(sys: System, page: number, faultPage: number): boolean {
  const p = sys.pages;
  const head = p.folio(page);
  if (p.isDevicePrivate(head)) return splitDevicePrivateFolio(sys, head, faultPage >= 0 && p.folio(faultPage) === head ? faultPage : -1);
  return splitHugePage(sys, head);
}

/**
 * __migrate_device_pages for an entry flagged MIGRATE_PFN_COMPOUND on either side. Returns how
 * many entries it dealt with: a whole folio (or hole) split into pages counts 512, anything
 * else 1 (the 511 entries after a compound one are 0).
 */
function migrateCompoundEntry(sys: System, src: Float64Array, dst: Float64Array, i: number, n: number, args: MigrateVma | null): number {
  const p = sys.pages;
  const newpage = migratePfnToPage(dst[i]);
  const page = migratePfnToPage(src[i]);
  const srcCompound = mpfnHas(src[i], MIGRATE_PFN_COMPOUND), dstCompound = mpfnHas(dst[i], MIGRATE_PFN_COMPOUND);
  if (newpage < 0) {
    src[i] = mpfnClear(src[i], MIGRATE_PFN_MIGRATE);
    return 1;
  }
  if (page < 0) {
    if (!mpfnHas(src[i], MIGRATE_PFN_MIGRATE)) return 1;
    if (!args) {
      src[i] = mpfnClear(src[i], MIGRATE_PFN_MIGRATE);
      return 1;
    }
    // migratePagesCommon has started the hole's invalidation (insertsHole).
    const addr = args.start + i;
    if (srcCompound && dstCompound) {
      if (!insertHugePmdPage(args, addr, newpage)) src[i] = mpfnClear(src[i], MIGRATE_PFN_MIGRATE);
      return 1;
    }
    // A compound hole the driver filled with 4 KiB pages (or a 4 KiB hole given a large folio,
    // which the model refuses): migrate_vma_insert_page page by page.
    const nr = srcCompound ? Math.min(PMD_NR, n - i) : 1;
    src[i] = mpfnClear(src[i], MIGRATE_PFN_COMPOUND);
    for (let j = 0; j < nr; j++) {
      const d = migratePfnToPage(dst[i + j]);
      if (d < 0 || mpfnHas(dst[i + j], MIGRATE_PFN_COMPOUND) || !insertPage(args, addr + j, d)) src[i + j] = 0;
      else src[i + j] = MIGRATE_PFN_MIGRATE;
    }
    return nr;
  }
  let nr = 1;
  if (mpfnHas(src[i], MIGRATE_PFN_MIGRATE) && srcCompound && !dstCompound) {
    // The destination is 4 KiB pages: split the unmapped folio and migrate page by page.
    if (!args) {
      src[i] = mpfnClear(mpfnClear(src[i], MIGRATE_PFN_MIGRATE), MIGRATE_PFN_COMPOUND);
      return 1;
    }
    nr = Math.min(p.folioNr(page), n - i);
    if (!splitUnmappedFolio(args, i, page)) {
      src[i] = mpfnClear(mpfnClear(src[i], MIGRATE_PFN_MIGRATE), MIGRATE_PFN_COMPOUND);
      return nr;
    }
  } else if (mpfnHas(src[i], MIGRATE_PFN_MIGRATE) && dstCompound && !srcCompound) {
    src[i] = mpfnClear(src[i], MIGRATE_PFN_MIGRATE);
  }
  for (let j = 0; j < nr; j++) {
    const s = migratePfnToPage(src[i + j]), d = migratePfnToPage(dst[i + j]);
    if (!mpfnHas(src[i + j], MIGRATE_PFN_MIGRATE)) continue;
    if (s < 0 || d < 0 || (p.isZoneDevice(d) && p.hasFlag(p.folio(s), PG_FILE))) {
      src[i + j] = mpfnClear(src[i + j], MIGRATE_PFN_MIGRATE);
      continue;
    }
    // folio_migrate_mapping + folio_migrate_flags.
    const fs = p.folio(s), fd = p.folio(d);
    p.flags[fd] = (p.flags[fd] & ~(PG_ANON | PG_FILE | PG_DIRTY)) | (p.flags[fs] & (PG_ANON | PG_FILE | PG_DIRTY));
    p.copyIndexAndMapping(fd, fs);
    sys.stats.migrated += p.folioNr(fd);
  }
  return nr;
}

/**
 * migrate_vma_split_unmapped_folio: the PMD migration entry at `start + idx` is split into 512
 * PTE migration entries (split_huge_pmd_address with freeze, under an MMU_NOTIFY_CLEAR of the
 * block), the folio into 512 pages (each holding its entry's reference; a device-private folio
 * tells its driver), and src[idx..] lists them.
 */
function splitUnmappedFolio(args: MigrateVma, idx: number, head: number): boolean {
  const { mm } = args;
  const sys = mm.sys, p = sys.pages;
  const vpn = args.start + idx;
  const pmd = mm.pt.pmd(vpn);
  if (!pmd || pmd.huge === 0 || pteType(pmd.huge) !== PteType.MIGRATION || ptePfn(pmd.huge) !== head) return false;
  const nr = p.folioNr(head);
  const f = pteFlags(pmd.huge) & (PTE_WRITE | PTE_ANON_EXCL);
  mm.notifiers.invalidate({ start: vpn, end: vpn + PMD_NR, event: NotifyEvent.CLEAR, owner: null }, () => {
    pmd.huge = 0;
    const ptes = new Float64Array(PMD_NR);
    for (let j = 0; j < PMD_NR; j++) ptes[j] = mkPte(PteType.MIGRATION, head + j, f);
    pmd.ptes = ptes;
  });
  const keep = p.flags[head] & (PG_ANON | PG_DIRTY);
  const index = p.indexOf(head);
  for (let j = 0; j < nr; j++) {
    p.clearCompound(head + j);
    p.flags[head + j] |= keep;
    p.refcount[head + j] = 1;
    p.setIndex(head + j, index + j);
  }
  p.setEntireMapcount(head, 0);
  if (p.isDevicePrivate(head)) sys.pagemapOf(head)!.ops.folioSplit?.(head, nr);
  const low = imod(args.src[idx], 64) - MIGRATE_PFN_VALID - MIGRATE_PFN_COMPOUND;
  for (let j = 0; j < nr; j++) {
    args.src[idx + j] = migratePfn(head + j) + low;
    args.single[idx + j] = 1;
  }
  return true;
}

/**
 * migrate_vma_insert_huge_pmd_page: maps the new large folio `page` (device-private or system)
 * at the aligned `addr`, where there was nothing or the huge zero page, by one PMD entry:
 * device-private (writable in a VM_WRITE VMA) or present (writable and dirty there), with a
 * new exclusive anon PMD mapping and one reference.
 */
function insertHugePmdPage(args: MigrateVma, addr: number, page: number): boolean {
  const { mm, vma } = args;
  const sys = mm.sys, p = sys.pages;
  if (!vma.isAnonymous || addr % PMD_NR !== 0 || addr < vma.start || addr + PMD_NR > vma.end) return false;
  if (!p.isCompound(page) || p.folioNr(page) !== PMD_NR) return false;
  if (p.isZoneDevice(page) && !p.isDevicePrivate(page) && !p.isDeviceCoherent(page)) return false;
  const pmd = mm.pt.pmdAlloc(addr);
  if (pmd.ptes) return false;
  if (pmd.huge !== 0 && !sys.isHugeZero(ptePfn(pmd.huge))) return false;
  mm.anonVmaPrepare(vma);
  // folio_add_new_anon_rmap(RMAP_EXCLUSIVE) of a PMD-mapped folio.
  p.setFlag(page, PG_ANON | PG_ANON_EXCLUSIVE);
  p.setIndex(page, vma.anonIndex(addr));
  p.addEntireMapcount(page, 1);
  p.get(page);
  pmd.huge = p.isDevicePrivate(page)
    ? mkPte(PteType.DEVICE_PRIVATE, page, vma.writable ? PTE_WRITE : 0)
    : mkPte(PteType.PRESENT, page, vma.writable ? PTE_WRITE | PTE_DIRTY : 0);
  return true;
}

/**
 * remove_migration_pmd for the PMD migration entry of `src` at `vpn`: a PMD of `dst`
 * (device-private for a device-private folio), writable only from a writable entry in a
 * VM_WRITE VMA, old and clean (no CONFIG_SWAP: migration entries keep no A/D bits), exclusive
 * unless a plain read entry; `dst` takes the entry's reference over from `src`.
 */
function restorePmdMigration(sys: System, mm: Mm, vma: Vma, vpn: number, src: number, dst: number): void {
  const p = sys.pages;
  const pmd = mm.pt.pmd(vpn);
  if (!pmd || pteType(pmd.huge) !== PteType.MIGRATION || ptePfn(pmd.huge) !== src) throw new Error(`no PMD migration entry of ${src} at ${vpn}`);
  const ef = pteFlags(pmd.huge);
  const w = ef & PTE_WRITE && vma.writable ? PTE_WRITE : 0;
  pmd.huge = p.isDevicePrivate(dst) ? mkPte(PteType.DEVICE_PRIVATE, dst, w) : mkPte(PteType.PRESENT, dst, w);
  p.get(dst);
  p.addEntireMapcount(dst, 1);
  if (p.isAnon(dst) && (ef & (PTE_WRITE | PTE_ANON_EXCL)) !== 0) p.setFlag(dst, PG_ANON_EXCLUSIVE);
  sys.putPage(src);
}
