/**
 * Page-table entries encoded as one JS number, so a page table is a Float64Array.
 *
 * Layout: `pfn * 256 + flags * 8 + type`. Exact for pfn < 2^45. Zero is `pte_none`.
 * The entry types are those a 6.1 x86 PTE can hold for the memory this model covers: present,
 * device-private swap entry, device-exclusive swap entry and migration entry.
 */

export const enum PteType {
  NONE = 0,
  PRESENT = 1,
  DEVICE_PRIVATE = 2,
  DEVICE_EXCLUSIVE = 3,
  MIGRATION = 4,
}

/** Writable (present PTE), or the writable variant of a swap-type entry. */
export const PTE_WRITE = 1;
/** Hardware dirty bit (present) / dirty bit remembered by a migration entry. */
export const PTE_DIRTY = 2;
/** Hardware accessed bit. */
export const PTE_YOUNG = 4;
/** Migration entry made from an anon-exclusive page (readable-exclusive variant). */
export const PTE_ANON_EXCL = 8;
/** `vm_normal_page()` returns no page (raw pfn mapping). */
export const PTE_SPECIAL = 16;

export function mkPte(type: PteType, pfn: number, flags: number): number {
  return pfn * 256 + flags * 8 + type;
}
/**
 * `x % m` for an integer x (|x| < 2^53) and a power of two m, without `%`: on a double (an
 * entry above 2^31) `%` is a call to fmod, this is two exact float operations.
 */
export function imod(x: number, m: number): number {
  return x - Math.trunc(x / m) * m;
}

// imod written out: these sit on every hot path, and one call less keeps them inlined.
export function pteType(e: number): PteType {
  return (e - Math.trunc(e / 8) * 8) as PteType;
}
export function pteFlags(e: number): number {
  const q = Math.floor(e / 8);
  return q - Math.trunc(q / 32) * 32;
}
export function ptePfn(e: number): number {
  return Math.floor(e / 256);
}
export function pteHas(e: number, flag: number): boolean {
  return (pteFlags(e) & flag) !== 0;
}
export function pteSetFlags(e: number, flags: number): number {
  return mkPte(pteType(e), ptePfn(e), flags);
}
export function pteIsPresent(e: number): boolean {
  return pteType(e) === PteType.PRESENT;
}

/**
 * The pfn of a migration entry that try_to_migrate wrote for a device-exclusive entry in Linux
 * 6.1: it takes pte_pfn() of the swap entry, which is not the page's pfn, so the entry points at
 * no page of the folio and remove_migration_ptes never finds it. The next thing that looks the
 * page up (a fault, zap, fork) hits BUG_ON(!PageLocked) or an unmapped struct page. No page
 * has this pfn.
 */
export const STALE_MIGRATION_PFN = 2 ** 40 - 1;

/** Whether `e` is such a left-over migration entry. */
export function isStaleMigration(e: number): boolean {
  return pteType(e) === PteType.MIGRATION && ptePfn(e) === STALE_MIGRATION_PFN;
}
