// The mirror's device page table (one per mirrored address space): what the device's MMU maps,
// vpn → pfn and write permission. A radix of one level above the leaves, like the CPU's page
// table in mm/pagetable.ts: a 512-entry Float64Array per 2 MiB VA block (a GPU's PDE/PTE split),
// allocated when the block gets its first entry and dropped with its last. A Map entry per page
// had been a hash insert, delete and some 80 bytes of heap per mirrored page: with millions of
// pages mirrored and invalidated the garbage collector's share grew with the heap.

/** Device page-table entry: pfn * 2 + writable. */
export type DptEntry = number;

/** Pages per leaf table: one 2 MiB VA block. */
export const DPT_BLOCK_PAGES = 512;

/** A leaf slot without a mapping (entries are non-negative). */
const NONE = -1;

/** One 2 MiB block's entries and how many of them are set. */
interface Leaf {
  readonly entries: Float64Array;
  mapped: number;
}

/** A device page table: Map-like access by vpn over typed-array leaves per 2 MiB block. */
export class DevicePageTable {
  private readonly leaves = new Map<number, Leaf>();
  private count = 0;

  /** Entries mapped. */
  get size(): number {
    return this.count;
  }

  /** The entry of `vpn`, or undefined where nothing is mapped. */
  get(vpn: number): DptEntry | undefined {
    const leaf = this.leaves.get(Math.floor(vpn / DPT_BLOCK_PAGES));
    if (leaf === undefined) return undefined;
    const e = leaf.entries[vpn % DPT_BLOCK_PAGES];
    return e === NONE ? undefined : e;
  }

  has(vpn: number): boolean {
    return this.get(vpn) !== undefined;
  }

  /** Maps `vpn` to `entry` (pfn * 2 + writable), replacing what was there. */
  set(vpn: number, entry: DptEntry): void {
    const block = Math.floor(vpn / DPT_BLOCK_PAGES);
    let leaf = this.leaves.get(block);
    if (leaf === undefined) {
      leaf = { entries: new Float64Array(DPT_BLOCK_PAGES).fill(NONE), mapped: 0 };
      this.leaves.set(block, leaf);
    }
    const i = vpn % DPT_BLOCK_PAGES;
    if (leaf.entries[i] === NONE) {
      leaf.mapped++;
      this.count++;
    }
    leaf.entries[i] = entry;
  }

  /** Unmaps `vpn`; true if it was mapped. */
  delete(vpn: number): boolean {
    const block = Math.floor(vpn / DPT_BLOCK_PAGES);
    const leaf = this.leaves.get(block);
    if (leaf === undefined) return false;
    return this.clearSlot(block, leaf, vpn % DPT_BLOCK_PAGES);
  }

  /**
   * Unmaps every page in [start, end); returns how many were mapped. Visits only the leaves
   * that exist, so a whole-address-space range (munmap of everything, exit) costs the mapped
   * blocks, not the range.
   */
  deleteRange(start: number, end: number): number {
    if (end <= start || this.count === 0) return 0;
    const first = Math.floor(start / DPT_BLOCK_PAGES), last = Math.floor((end - 1) / DPT_BLOCK_PAGES);
    let dropped = 0;
    if (last - first + 1 > this.leaves.size) {
      for (const [block, leaf] of [...this.leaves]) if (block >= first && block <= last) dropped += this.clearLeafRange(block, leaf, start, end);
    } else {
      for (let block = first; block <= last; block++) {
        const leaf = this.leaves.get(block);
        if (leaf !== undefined) dropped += this.clearLeafRange(block, leaf, start, end);
      }
    }
    return dropped;
  }

  /** Unmaps everything. */
  clear(): void {
    this.leaves.clear();
    this.count = 0;
  }

  /**
   * How many pages of the 2 MiB block `block` are mapped: a mapping as large as the block (a
   * 2 MiB device PTE) needs all of them, so fewer rules it out without reading the entries.
   */
  mappedInBlock(block: number): number {
    return this.leaves.get(block)?.mapped ?? 0;
  }

  private clearLeafRange(block: number, leaf: Leaf, start: number, end: number): number {
    const base = block * DPT_BLOCK_PAGES;
    const lo = Math.max(start, base) - base, hi = Math.min(end, base + DPT_BLOCK_PAGES) - base;
    let dropped = 0;
    for (let i = lo; i < hi && leaf.mapped > 0; i++) if (this.clearSlot(block, leaf, i)) dropped++;
    return dropped;
  }

  private clearSlot(block: number, leaf: Leaf, i: number): boolean {
    if (leaf.entries[i] === NONE) return false;
    leaf.entries[i] = NONE;
    this.count--;
    // An empty leaf goes, as free_pgtables drops empty page tables: the heap follows what is mapped.
    if (--leaf.mapped === 0) this.leaves.delete(block);
    return true;
  }
}
