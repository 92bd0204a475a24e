/**
 * The Linux versions the mm core reproduces, and what differs between them.
 *
 * The model follows 6.1 everywhere unless a switch below says otherwise. Each switch is one
 * behaviour the kernel changed, named for what the newer kernel does, and is read at the
 * place the kernel changed it (`if (sys.k.thpSplitMapsZeroPage)`). Where a switch was
 * confirmed on a running kernel (the 6.12 oracle, ../shared/oracle/README-612.md) it says so;
 * otherwise it is modelled from the source.
 */

/**
 * A kernel the model reproduces: Debian's linux-source 6.1 or 6.12 (the default), or '7.x':
 * mainline as of 7.1, that is 6.12 plus the switches marked "7.x" below, modelled from source,
 * not checked against a running kernel (no oracle runs it).
 */
export type KernelVersion = '6.1' | '6.12' | '7.x';

/** Every kernel version the model knows, oldest first (CLI messages list them). */
export const KERNEL_VERSIONS: readonly KernelVersion[] = ['6.1', '6.12', '7.x'];

/** The versions a QEMU oracle can run (`hetmem oracle`): 7.x has none. */
export const ORACLE_KERNELS: readonly KernelVersion[] = ['6.1', '6.12'];

/**
 * The kernel a System, Machine, SimMachine, trace or scenario reproduces when it does not say:
 * 6.12, the newer of the two checked against a running kernel (issue 16). Every default in the
 * code reads this one constant; everything recorded on 6.1 (the golden traces, test/oracle-corpus,
 * test/oracle-numa) names '6.1' where it replays.
 */
export const DEFAULT_KERNEL: KernelVersion = '6.12';

/** The behaviours that differ between the modelled kernels. */
export interface KernelSwitches {
  readonly version: KernelVersion;
  /**
   * split_huge_page maps the subpages of an anonymous THP that hold only zeroes to the shared
   * zero page instead of keeping them (and frees them). 6.12: __split_huge_page calls
   * remap_page with RMP_USE_SHARED_ZEROPAGE for anon folios, and remove_migration_pte's
   * try_to_map_unused_to_zeropage (mm/migrate.c) checks each subpage's contents with
   * memchr_inv (the patch "mm: remap unused subpages to shared zeropage when splitting isolated
   * thp", 6.12). It refuses mlocked pages and VM_LOCKED VMAs, which the model has none of.
   * Every successful split_huge_page of an anon folio does it (migrate_vma's collect,
   * MADV_COLD/PAGEOUT, MADV_FREE of part of a THP); a failed split restores the PTEs as they
   * were, and a PMD split alone (split_huge_pmd) keeps the folio mapped. In no-data mode
   * there are no contents to check and every subpage counts as used (huge-memory.ts,
   * subpageUnused). Oracle-checked on 6.12 (migration, cold/pageout, partial split).
   */
  readonly thpSplitMapsZeroPage: boolean;
  /**
   * mprotect makes a clean PTE of an exclusively owned anonymous page in a private writable
   * mapping writable at once. 6.1's can_change_pte_writable() (mm/mprotect.c) also required the
   * PTE to be dirty; 6.12's requires that only for shared mappings ("mm/mprotect: allow clean
   * exclusive anon pages to be writable", 6.2). Oracle-checked on 6.12.
   */
  readonly mprotectWritesCleanAnon: boolean;
  /**
   * mprotect makes a PMD-mapped, exclusively owned anonymous THP writable at once too: 6.12's
   * change_huge_pmd asks can_change_pmd_writable() ("mm/huge_memory: try avoiding write
   * faults when changing PMD protection", 6.5); 6.1 always write-protected the PMD. THPs
   * only: hugetlb_change_protection never upgrades. Oracle-checked on 6.12 by random traces
   * of test/oracle-corpus-612 (the THP case by r8-0134 alone; hugetlb by r13-0105, r13-0123).
   */
  readonly mprotectWritesAnonPmd: boolean;
  /**
   * mprotect making a private anonymous VMA that has never faulted (no anon_vma) read-only
   * drops its VM_ACCOUNT, so it can merge again with never-charged neighbours (and, once one
   * 2 MiB VMA again, get THPs). 6.12's mprotect_fixup ("mm/mprotect: allow unfaulted VMAs to
   * be unaccounted on mprotect()", 6.6); 6.1 kept the charge for good. Oracle-checked on 6.12
   * by one random trace (r13-0035 of test/oracle-corpus-612).
   */
  readonly mprotectUnaccountsUnfaulted: boolean;
  /**
   * GUP with FOLL_SPLIT_PMD fails with -EOPNOTSUPP on a hugetlb VMA before faulting anything:
   * 6.12's check_vma_flags() (mm/gup.c; "mm/gup: reject FOLL_SPLIT_PMD with
   * hugetlb VMAs", 6.9). 6.1 faulted the huge page in and ignored the flag, so
   * make_device_exclusive_range populated the range before refusing the hugetlb folio. Both
   * end in -EBUSY from test_hmm; 6.12 leaves the range unmapped. Oracle-checked on 6.12.
   */
  readonly gupRejectsSplitPmdOnHugetlb: boolean;
  /**
   * Pages of the x86-64 vDSO image, mapped with its 4 vvar pages right below mmap_base, so
   * every later mmap sits this much lower and a file region's place modulo 64 KiB (fault-around
   * windows) moves. 6.1's vdso64.so fits one page (3,408 bytes in the oracle's build); 6.12's
   * needs two (5,192 bytes; 6.12's vDSO has vgetrandom). Oracle-checked: with 6.1's placement 3
   * random 6.12 traces differ (r8-0108, r8-0146, r13-0109 of test/oracle-corpus-612).
   */
  readonly vdsoPages: number;
  /**
   * MADV_COLD, MADV_PAGEOUT and MADV_FREE leave a PTE-mapped THP unsplit when the range maps
   * all of it: 6.12's madvise_cold_or_pageout_pte_range and madvise_free_pte_range batch the
   * folio's PTEs (folio_pte_batch) and split only a folio mapped in part ("mm: madvise: avoid
   * split during MADV_PAGEOUT and MADV_COLD", 6.9; "mm/madvise: optimize lazyfreeing with
   * mTHP in madvise_free", 6.10). 6.1 split every PTE-mapped THP it met. Under pageout reclaim
   * still splits an anonymous folio it cannot swap (unless it is MADV_FREE'd:
   * reclaimDiscardsLazyfreeThp). Oracle-checked on 6.12 with probes
   * (test/oracle-corpus-612/probe-*).
   */
  readonly madviseKeepsWholePteMappedFolios: boolean;
  /**
   * Reclaim (here: MADV_PAGEOUT) discards a MADV_FREE'd THP that is still clean without
   * splitting it: PMD-mapped whole, PTE-mapped PTE by PTE until a dirty one stops it (6.12's
   * shrink_folio_list skips add_to_swap for lazyfree folios and try_to_unmap_one discards
   * them; "mm/vmscan: avoid split lazyfree THP during shrink_folio_list()", 6.12). 6.1 split
   * the THP first. Oracle-checked on 6.12 with probes (test/oracle-corpus-612/probe-*).
   */
  readonly reclaimDiscardsLazyfreeThp: boolean;
  /**
   * move_pages finds each page with folio_walk_start(FW_ZEROPAGE) instead of
   * follow_page(FOLL_GET | FOLL_DUMP): 6.12's add_folio_for_migration /
   * __add_folio_for_migration and do_pages_stat_array (mm/migrate.c; "mm/migrate: convert
   * do_pages_stat_array() / add_page_for_migration() from follow_page() to folio_walk", 6.11).
   * An anonymous hole is -ENOENT (6.1: -EFAULT, FOLL_DUMP's no_page_table); the zero pages stay
   * -EFAULT. A hugetlb folio moves from any of its subpages (6.1: only the head, -EACCES for the
   * others). "Shared" is folio_likely_mapped_shared() (a large folio: mapped more than once in
   * all, and an entire mapping, more mappings than pages, or its first subpage mapped twice)
   * instead of the subpage's page_mapcount() > 1. Checked on the two-node 6.12 oracle
   * (test/oracle-numa-612).
   */
  readonly movePagesFolioWalk: boolean;
  /**
   * migrate_pages splits an anonymous THP that is partially mapped instead of moving it whole:
   * 6.12's migrate_pages_batch → try_split_folio (mm/migrate.c; "mm: split underused THPs" and
   * "mm: introduce a pageflag for partially mapped folios", 6.12). PG_partially_mapped is set by
   * __folio_remove_rmap (mm/rmap.c) whenever an rmap removal leaves some of a folio's pages
   * mapped and others not, and kept until a split or the folio's freeing: so not only a partial
   * munmap/MADV_DONTNEED marks a THP, but also try_to_migrate and make_device_exclusive, which
   * unmap a PTE-mapped THP one PTE at a time (a zap removes consecutive PTEs of a folio as one
   * batch, folio_pte_batch, and marks nothing when the batch unmaps the rest of it), and
   * migrate_folio_move carries the mark to the new folio (rmap.ts notePartiallyMapped; page.ts
   * PG_PARTIALLY_MAPPED). The split counts as one failure of its batch, its subpages migrate
   * after the batch in one pass, and migrate_pages still returns 0 when none is left; with
   * thpSplitMapsZeroPage it maps the zero-filled subpages to the zero page, so move_pages
   * answers -EFAULT for them next. can_split_folio refuses a folio with references beyond its
   * mappings (device-exclusive entries, pins; huge-memory.ts splitHugePage), which then
   * migrates whole. 6.1 moved every THP whole. Checked on the two-node 6.12 oracle
   * (test/oracle-numa-612, probes n15-612-pm-*).
   */
  readonly migrateSplitsPartiallyMappedThp: boolean;
  /**
   * A hint-less private anonymous mmap whose length is a multiple of 2 MiB is placed on a 2 MiB
   * boundary: 6.12's __get_unmapped_area (mm/mmap.c) sends it to thp_get_unmapped_area_vmflags
   * ("mm: align larger anonymous mappings on THP boundaries", 6.7, limited to PMD-aligned
   * lengths by "mm, mmap: limit THP alignment of anonymous mappings to PMD-aligned sizes",
   * 6.12), which searches top-down for the length plus 2 MiB and puts the mapping at the first
   * 2 MiB boundary in that area (__thp_get_unmapped_area, mm/huge_memory.c; at its top when the
   * area starts on a boundary). So up to 2 MiB - 4 KiB above it stay free, and a later small
   * mapping lands there rather than in a lower hole. 6.1 placed every anonymous mapping at the
   * top of the highest gap that holds it. mmap.ts getUnmappedArea; hmmtrace's PROT_NONE
   * reservation of NPAGES + 2 pages is such a mapping for NPAGES = 510, 1022, ...
   * Checked on the two-node 6.12 oracle (test/oracle-numa-612, n10-0191 and probes
   * n15-612-mmap-align-*).
   */
  readonly mmapAlignsPmdSizedAnon: boolean;
  /**
   * 7.x. make_device_exclusive() marks one page, not a range: 6.15's make_device_exclusive
   * (mm/rmap.c; "mm/rmap: convert make_device_exclusive_range() to make_device_exclusive()"
   * and "mm/rmap: implement make_device_exclusive() using folio_walk instead of rmap walk",
   * 6.15) GUPs the one address with FOLL_WRITE | FOLL_SPLIT_PMD, refuses a folio that is not
   * anonymous or is hugetlb with -EOPNOTSUPP, then walks the page table (folio_walk) and
   * replaces that one PTE, which must map the same page writable, by a device-exclusive entry
   * under an MMU_NOTIFY_EXCLUSIVE invalidation of that page alone. Other mappings of the folio
   * are left alone, a subpage of a PTE-mapped THP works (6.1 refused tails), and 6.1's
   * `!folio_mapcount(folio)` check is gone. test_hmm's dmirror_exclusive calls it page by page
   * and stops at the first error, which it returns (6.1: 64-page chunks, -EBUSY unless all of a
   * chunk became exclusive). The same series keeps the mapcount of a device-exclusive entry:
   * deviceExclusiveKeepsMapcount. Modelled from source, not checked against a running kernel.
   */
  readonly deviceExclusiveOnePage: boolean;
  /**
   * 7.x. A device-exclusive entry counts as a mapping: 6.15's make_device_exclusive (mm/rmap.c)
   * no longer calls folio_remove_rmap_pte when it replaces the PTE, restore_exclusive_pte
   * (mm/memory.c; the CPU fault's remove_device_exclusive_entry, and fork's
   * try_restore_exclusive_pte) no longer calls folio_add_anon_rmap_pte, and
   * zap_nonpresent_ptes drops the rmap of a device-exclusive entry as of a device-private one
   * ("mm/rmap: keep mapcount untouched for device-exclusive entries", David Hildenbrand,
   * lore 20250210193801.781278-17-david@redhat.com, 6.15). So folio_mapcount, page_mapcount
   * and folio_mapped see the entry: MADV_COLD/FREE's "mapped once" and
   * folio_likely_mapped_shared, move_pages' -EACCES check, PG_partially_mapped, and
   * split_huge_page's can_split_folio (refcount = mapcount + 1), which 6.1/6.12 fail for a THP
   * with a device-exclusive entry (the entry's reference is no mapping there) and 7.x passes:
   * the split then turns the entry, through a migration entry (try_to_migrate_one,
   * migrateHandlesDeviceExclusive), into a present PTE, so the device loses its exclusive
   * access (MMU_NOTIFY_CLEAR). The same holds for migrate_vma's and eviction's
   * try_to_migrate (rmap.ts tryToMigrate): a page held exclusive migrates instead of failing
   * the reference check, so 6.1's behaviour 18 (a device-coherent page held exclusive stays on
   * the device, RELEASE hangs) is gone on 7.x. Read only with deviceExclusiveOnePage (6.1's
   * make_device_exclusive_range checks `!folio_mapcount(folio)`, which needs the old
   * accounting). Not modelled: reclaim (try_to_unmap_one, here MADV_PAGEOUT of a lazyfree
   * folio) keeps a device-exclusive entry it meets, and the restored PTE is dirty whenever the
   * entry was writable (6.15's restore_exclusive_pte takes dirtiness from the folio through
   * can_change_pte_writable). Modelled from source, not checked against a running kernel.
   */
  readonly deviceExclusiveKeepsMapcount: boolean;
  /**
   * 7.x. Migrating a folio (move_pages, NUMA migration) turns a device-exclusive entry of it
   * into a proper migration entry for that page, so the entry comes back as an ordinary PTE of
   * the new folio (the device having been told with MMU_NOTIFY_CLEAR). 6.1 and 6.12's
   * try_to_migrate_one wrote a migration entry with the swap entry's pte_pfn(), which points at
   * no page (STALE_MIGRATION_PFN, pte.ts: the kernel bug the model reproduces); 6.15 fixed it
   * in the series that brought make_device_exclusive ("mm/rmap: handle device-exclusive
   * entries correctly in try_to_migrate_one()"). Needed with deviceExclusiveOnePage, which
   * leaves a PTE-mapped THP partly mapped (6.1/6.12 converted every PTE of the folio, so it was
   * never migrated with exclusive entries in place). Migrate.ts, tryToMigrateFolio. Modelled
   * from source, not checked against a running kernel.
   */
  readonly migrateHandlesDeviceExclusive: boolean;
  /**
   * 7.x. Zapping a device-private or device-exclusive entry checks the folio, not the VMA:
   * zap_nonpresent_ptes (mm/memory.c; "mm/memory: fix spurious warning when unmapping
   * device-private/exclusive pages", be3f38d05cc5, 7.1, backported to 7.0-stable) has
   * WARN_ON_ONCE(!folio_test_anon(folio)) where 6.1 and 6.12 had
   * WARN_ON_ONCE(!vma_is_anonymous(vma)). An anonymous (COW) folio of a MAP_PRIVATE file
   * mapping migrates to device-private memory on every kernel (test_hmm's migrate_file_private:
   * 0, cpages = npages); only its teardown differs: 6.1 and 6.12 log the warning
   * (System.warnings), 7.x does not. Modelled from source, not checked against a running kernel.
   *
   * Not a switch: 6.15's do_swap_page trylocks the device-private page before migrate_to_ram
   * and returns (the access refaults) when it is locked ("mm/memory: Move the page lock into
   * do_swap_page for device-private", GPU SVM series). In the model no page is ever locked
   * between events (every operation is atomic), so the trylock always succeeds; and on 6.12 a
   * locked page also ends in a refault (migrate_vma_collect's trylock fails, cpages 0). Nothing
   * visible differs, so the model has no switch for it.
   */
  readonly zapChecksFolioAnon: boolean;
  /**
   * 7.x. Device-private THP: migrate_vma with MIGRATE_VMA_SELECT_COMPOUND moves a whole
   * PMD-mapped anonymous THP (or a 2 MiB aligned hole) as one entry flagged MIGRATE_PFN_COMPOUND
   * and maps the order-9 device-private folio by a device-private PMD entry; a destination that
   * is not compound splits the source (migrate_vma_split_unmapped_folio) and the migration goes
   * on page by page. Collect changed with it even without SELECT_COMPOUND: a PTE-mapped large
   * folio is split and migrated (migrate_vma_split_folio) where 6.12 skipped it, the huge zero
   * page is a hole rather than split, and a THP is left alone without MIGRATE_VMA_SELECT_SYSTEM
   * (mm/migrate_device.c: migrate_vma_collect_huge_pmd,
   * migrate_vma_insert_huge_pmd_page, __migrate_device_pages; "mm/migrate_device: THP migration
   * of zone device pages", 6.19). The PMD entry splits into 512 device-private PTEs where a
   * partial munmap/mprotect/madvise meets it (__split_huge_pmd_locked), fork copies it
   * (copy_huge_pmd), zap frees the folio (zap_huge_pmd), a CPU fault calls the driver's
   * migrate_to_ram for the whole folio (do_huge_pmd_device_private), hmm_range_fault reports
   * it with order 9 to its owner (hmm_vma_handle_absent_pmd). test_hmm follows: 512-page
   * migration windows, huge device pages from a free-folio list, HMM_DMIRROR_FLAGS
   * (HMM_DMIRROR_FLAG_FAIL_ALLOC), a THP back to system memory where it can allocate one.
   * Off on 6.1 and 6.12, where MIGRATE_VMA_SELECT_COMPOUND does not exist and every THP is split
   * in collect. Modelled from source (migrate-device.ts, huge-memory.ts, dmirror), not checked
   * against a running kernel.
   */
  readonly devicePrivateThp: boolean;
}

/** Linux 6.12 (oracle-checked; see the table in ARCHITECTURE.md). */
const K612: KernelSwitches = {
  version: '6.12',
  thpSplitMapsZeroPage: true,
  mprotectWritesCleanAnon: true,
  mprotectWritesAnonPmd: true,
  mprotectUnaccountsUnfaulted: true,
  gupRejectsSplitPmdOnHugetlb: true,
  vdsoPages: 2,
  madviseKeepsWholePteMappedFolios: true,
  reclaimDiscardsLazyfreeThp: true,
  movePagesFolioWalk: true,
  migrateSplitsPartiallyMappedThp: true,
  mmapAlignsPmdSizedAnon: true,
  deviceExclusiveOnePage: false,
  deviceExclusiveKeepsMapcount: false,
  migrateHandlesDeviceExclusive: false,
  zapChecksFolioAnon: false,
  devicePrivateThp: false,
};

/** The switches of each version. */
export const KERNELS: Readonly<Record<KernelVersion, KernelSwitches>> = {
  '6.1': {
    version: '6.1',
    thpSplitMapsZeroPage: false,
    mprotectWritesCleanAnon: false,
    mprotectWritesAnonPmd: false,
    mprotectUnaccountsUnfaulted: false,
    gupRejectsSplitPmdOnHugetlb: false,
    vdsoPages: 1,
    madviseKeepsWholePteMappedFolios: false,
    reclaimDiscardsLazyfreeThp: false,
    movePagesFolioWalk: false,
    migrateSplitsPartiallyMappedThp: false,
    mmapAlignsPmdSizedAnon: false,
    deviceExclusiveOnePage: false,
    deviceExclusiveKeepsMapcount: false,
    migrateHandlesDeviceExclusive: false,
    zapChecksFolioAnon: false,
    devicePrivateThp: false,
  },
  '6.12': K612,
  // Mainline (7.1): 6.12 plus the five switches below, modelled from source, not checked against
  // a running kernel.
  '7.x': { ...K612, version: '7.x', deviceExclusiveOnePage: true, deviceExclusiveKeepsMapcount: true, migrateHandlesDeviceExclusive: true, zapChecksFolioAnon: true, devicePrivateThp: true },
};

/** `versions` for a message: "6.1 or 6.12", "6.1, 6.12 or 7.x". */
export function listVersions(versions: readonly string[]): string {
  return versions.length <= 1 ? versions.join('') : `${versions.slice(0, -1).join(', ')} or ${versions[versions.length - 1]}`;
}

/** Whether `s` names a kernel the model knows. */
export function isKernelVersion(s: string): s is KernelVersion {
  return (KERNEL_VERSIONS as readonly string[]).includes(s);
}
