import type { VmaKind } from './constants.ts';
import { VM_READ, VM_WRITE, VM_SHARED, VM_HUGETLB, VM_MIXEDMAP, VM_HUGEPAGE, VM_NOHUGEPAGE, PMD_NR } from './constants.ts';
import type { ShmemFile } from './file.ts';

/** Something a VMA holds a reference to and releases when the last VMA goes (struct file). */
export interface FileRef {
  get(): void;
  put(): void;
}

/**
 * A virtual memory area: [start, end) in page numbers with uniform flags and backing.
 * Invariant: start < end; VMAs of one mm never overlap.
 */
export class Vma {
  constructor(
    public start: number,
    public end: number,
    public flags: number,
    public readonly kind: VmaKind,
    /** Page cache behind shmem and file mappings. */
    public readonly file: ShmemFile | null,
    /** File page offset of `start`. */
    public pgoff: number,
    /** The struct file a devN mapping holds (its last put releases the device fd). */
    public readonly fileRef: FileRef | null = null,
  ) {}
  /**
   * Identity of the attached anon_vma (0: none). Pieces of a split keep it; anon_vma_prepare
   * may reuse a compatible neighbour's. Decides whether fork copies this VMA's page tables and
   * whether VMAs may merge (is_mergeable_anon_vma).
   */
  anonVmaId = 0;
  /** Whether the anon_vma_chain has one entry (false in forked children, which link the parent's). */
  chainSingular = true;
  get anonVma(): boolean {
    return this.anonVmaId !== 0;
  }
  /**
   * The anonymous linear index of page `vpn` in this VMA is `vpn + anonShift` (linear_page_index
   * over an anonymous VMA's vm_pgoff, which starts as vm_start): 0 until mremap moves the VMA,
   * after which its pages keep the index they had at the old address (move_vma gives the new VMA
   * vm_pgoff + the offset moved, mm/mremap.c). See `anonIndex` and rmap.ts.
   */
  anonShift = 0;
  /** The index an anonymous page mapped at `vpn` of this VMA has (page->index). */
  anonIndex(vpn: number): number { return vpn + this.anonShift; }
  /** Which mmap this VMA descends from (splits keep it). */
  origin = 0;
  /**
   * hugetlb reservations (resv_map) of a private hugetlb mapping: file page offsets of huge
   * pages promised at mmap and not yet faulted. Shared by the pieces of a split VMA; a
   * forked child gets none, so its COWs draw on the unreserved pool.
   */
  hugetlbResv: Set<number> | null = null;

  get readable(): boolean { return (this.flags & VM_READ) !== 0; }
  get writable(): boolean { return (this.flags & VM_WRITE) !== 0; }
  get shared(): boolean { return (this.flags & VM_SHARED) !== 0; }
  get isHugetlb(): boolean { return (this.flags & VM_HUGETLB) !== 0; }
  get isMixed(): boolean { return (this.flags & VM_MIXEDMAP) !== 0; }
  /** vma_is_anonymous(): private or not, shmem is not anonymous. */
  get isAnonymous(): boolean { return this.kind === 'anon'; }
  /** A private, writable-capable mapping: writes copy (is_cow_mapping). */
  get isCow(): boolean { return !this.shared; }
  /** File page offset of `vpn`. */
  pgoffOf(vpn: number): number { return this.pgoff + (vpn - this.start); }

  /**
   * THP eligibility of the PMD that holds `vpn` (hugepage_vma_check in madvise mode):
   * anonymous, VM_HUGEPAGE, not VM_NOHUGEPAGE, and the whole 2 MiB block inside the VMA.
   */
  thpEligible(vpn: number): boolean {
    if (this.kind !== 'anon') return false;
    if ((this.flags & VM_HUGEPAGE) === 0 || (this.flags & VM_NOHUGEPAGE) !== 0) return false;
    const base = Math.floor(vpn / PMD_NR) * PMD_NR;
    return base >= this.start && base + PMD_NR <= this.end;
  }

  /** A copy covering [start, end) with the same attributes (the split-off part). */
  clone(start: number, end: number): Vma {
    const v = new Vma(start, end, this.flags, this.kind, this.file, this.pgoffOf(start), this.fileRef);
    v.anonVmaId = this.anonVmaId;
    v.chainSingular = this.chainSingular;
    v.origin = this.origin;
    v.anonShift = this.anonShift;
    v.hugetlbResv = this.hugetlbResv;
    this.fileRef?.get();
    this.file?.mapGet();
    return v;
  }
}
