/** Type of a ZONE_DEVICE pagemap (enum memory_type). */
export type PagemapType = 'private' | 'coherent';

/** What the core asks of the driver that owns device pages (struct dev_pagemap_ops). */
export interface DevPagemapOps {
  /** The page's last reference went away (page_free): give it back to the driver. */
  pageFree(pfn: number): void;
  /**
   * A CPU (or GUP/HMM) fault touched a device-private entry (migrate_to_ram). Must migrate
   * at least `pfn` back to system memory; returns a VmFault code (0 on success).
   */
  migrateToRam(fault: { mm: import('./mm.ts').Mm; vma: import('./vma.ts').Vma; vpn: number; pfn: number; pmd?: boolean }): number;
  /**
   * folio_split (7.x, devicePrivateThp): the large device folio at `head` has just been split
   * into `nr` small pages; the driver splits whatever backs it. Optional, as in the kernel.
   */
  folioSplit?(head: number, nr: number): void;
}

/**
 * struct dev_pagemap: a range of device pfns with a type, owner and ops. `owner` is the opaque
 * identity hmm_range_fault and migrate_vma compare against (dev_private_owner / pgmap_owner).
 */
export class DevPagemap {
  constructor(
    readonly id: number,
    readonly type: PagemapType,
    readonly owner: unknown,
    readonly ops: DevPagemapOps,
    readonly start: number,
    readonly npages: number,
  ) {}
  /** memunmap_pages() was called: the range is gone. */
  dead = false;
}
