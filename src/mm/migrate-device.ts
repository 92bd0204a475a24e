import { EINVAL, EBUSY, NotifyEvent, PMD_NR } from './constants.ts';
import { PteType, mkPte, pteType, ptePfn, pteHas, imod, PTE_WRITE } from './pte.ts';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_FILE, PG_DIRTY, PG_KERNEL, PG_HEAD, PG_TAIL, PageKind } from './page.ts';
import { migrationEntryFor, tryToMigrate, removeMigrationPtes, rmapCount, pageRemoveRmap, pageAddNewAnonRmap, restoreMigrationPte, restoreMigrationPteAt } from './rmap.ts';
import type { Pmd } from './pagetable.ts';
import { splitHugePmd, splitHugePage } from './huge-memory.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';
import type { System } from './system.ts';

/** MIGRATE_PFN_* flags; an entry is `pfn * 64 + flags` (MIGRATE_PFN_SHIFT = 6). */
export const MIGRATE_PFN_VALID = 1;
export const MIGRATE_PFN_MIGRATE = 2;
export const MIGRATE_PFN_WRITE = 8;
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
  const n = Math.max(0, end - start);
  // One buffer behind the three arrays: a typed array's backing store is allocated outside the
  // JS heap and costs far more than its view, and a driver makes one of these per 512 pages.
  const buf = new ArrayBuffer(n * 17);
  return {
    mm, vma, start, end, cpages: 0, npages: 0, pgmapOwner: owner, flags, faultPage,
    src: new Float64Array(buf, 0, n), dst: new Float64Array(buf, n * 8, n), single: new Uint8Array(buf, n * 16, n),
  };
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
  args.mm.notifiers.invalidate({ start: args.start, end: args.end, event: NotifyEvent.MIGRATE, owner: args.pgmapOwner }, () => collect(args));
  if (args.cpages > 0) args.cpages = migrateDeviceUnmap(args.mm.sys, args.src, args.faultPage, args.single);
  return 0;
}

function collect(args: MigrateVma): void {
  const { mm, vma } = args;
  const sys = mm.sys, p = sys.pages;
  for (let base = Math.floor(args.start / PMD_NR) * PMD_NR; base < args.end; base += PMD_NR) {
    const lo = Math.max(args.start, base), hi = Math.min(args.end, base + PMD_NR);
    let pmd = mm.pt.pmds.get(base / PMD_NR);
    if (pmd && pmd.huge !== 0) {
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
      args.src[i] = mpfn;
      args.single[i] = 1;
    }
  }
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
    const expected = migrationRefs + (p.hasFlag(page, PG_FILE) ? 1 : 0) + (page === faultPage ? 1 : 0);
    if (p.isMapped(page) || p.refcount[p.folio(page)] > expected || p.pincountOf(page) > 0 || p.isCompound(page)) {
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
  let notified = false;
  let migrated = 0;
  for (let i = 0; i < n; i++) {
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
      if (!notified) {
        notified = true;
        args.mm.notifiers.start({ start: addr, end: args.end, event: NotifyEvent.MIGRATE, owner: args.pgmapOwner });
      }
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

/** migrate_vma_insert_page: maps a new page where there was nothing (or the zero page). */
function insertPage(args: MigrateVma, addr: number, page: number): boolean {
  const { mm, vma } = args;
  const sys = mm.sys, p = sys.pages;
  if (!vma.isAnonymous) return false;
  const pmd = mm.pt.pmdAlloc(addr);
  if (pmd.huge !== 0) return false;
  const e = mm.pt.pte(addr);
  if (pteType(e) === PteType.PRESENT) {
    if (!sys.isZeroPfn(ptePfn(e))) return false;
  } else if (e !== 0) return false;
  mm.anonVmaPrepare(vma);
  pageAddNewAnonRmap(sys, page, addr);
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
    if (args !== null && args.single[i] === 1) {
      // The one entry is where collect wrote it.
      const vpn = args.start + i;
      if (table === undefined || vpn < tableBase || vpn >= tableBase + PMD_NR) {
        tableBase = vpn - imod(vpn, PMD_NR);
        table = args.mm.pt.pmd(vpn);
      }
      const ptes = table?.ptes;
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
