import { PageTable } from './pagetable.ts';
import { NotifierSubscriptions } from './mmu-notifier.ts';
import type { Vma } from './vma.ts';
import type { System } from './system.ts';
import { splitHugePmd } from './huge-memory.ts';
import { PMD_NR, NotifyEvent } from './constants.ts';
import { DEFAULT_POLICY, type Mempolicy } from './mempolicy.ts';

/** The vvar pages mapped below the vDSO on x86-64 (vvar, pvclock, hvclock, timens): 6.1 and 6.12. */
const VVAR_PAGES = 4;

/**
 * struct mm_struct: one address space — its VMAs (sorted, non-overlapping), its CPU page table
 * and its MMU notifier subscriptions. Addresses are virtual page numbers.
 */
export class Mm {
  readonly id: number;
  readonly pt = new PageTable();
  readonly notifiers = new NotifierSubscriptions();
  /** Sorted by start; never overlapping. */
  vmas: Vma[] = [];
  /** mm_users > 0: false after exit_mmap. */
  alive = true;
  /**
   * mm_users: the tasks using the address space (the process's own thread, and any off-CPU task a
   * driver bound with mmget). The last mmput runs exit_mmap (kernel/fork.c mmput → __mmput).
   * Invariant: ≥ 0; 0 exactly when `alive` is false.
   */
  users = 1;
  /**
   * mm_count: references to the mm_struct itself (mmgrab), held by whoever must still look at it
   * after exit_mmap, such as an MMU-notifier subscriber (mmu_notifier_register grabs one). mm_users
   * > 0 holds one mm_count between them, as in the kernel. Invariant: ≥ 1 while anyone holds it.
   */
  count = 1;
  /**
   * Where the next top-down mapping ends (page number). x86-64, ASLR off, 8 MiB stack
   * rlimit: mmap_base is TASK_SIZE minus the 128 MiB minimum gap (0x7ffff7fff000), and the
   * vDSO with its 4 vvar pages sits right below it (5 pages on 6.1, 6 on 6.12: k.vdsoPages).
   * Fault-around windows are aligned to absolute addresses, so this value is visible in traces
   * (probed on the oracle, both kernels).
   */
  mmapBase: number;
  /**
   * The NUMA node of the CPU the task runs on: where default and local policies allocate
   * (numa_node_id()). Fork copies it.
   */
  node = 0;
  /**
   * How many VMAs mremap has created away from their anonymous linear index (Vma.anonShift !=
   * 0) over the mm's life: while 0, rmap finds every anonymous page at its index. Never
   * decremented (a cheap over-approximation: the walk then also looks at the shifted VMAs).
   */
  movedAnonVmas = 0;
  /** The task's memory policy (set_mempolicy); fork copies it. See mempolicy.ts. */
  policy: Mempolicy = DEFAULT_POLICY;
  /** The node an interleaving task last allocated on without a VMA (current->il_prev). */
  ilPrev = -1;

  constructor(readonly sys: System) {
    this.id = sys.nextMmId++;
    sys.mms.add(this);
    this.mmapBase = 0x7ffff7fff - VVAR_PAGES - sys.k.vdsoPages;
  }

  /** find_vma_intersection for one page: the VMA containing `vpn`, if any. */
  findVma(vpn: number): Vma | undefined {
    let lo = 0, hi = this.vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.vmas[mid];
      if (vpn < v.start) hi = mid - 1;
      else if (vpn >= v.end) lo = mid + 1;
      else return v;
    }
    return undefined;
  }

  /** VMAs intersecting [start, end), in address order. */
  vmasIn(start: number, end: number): Vma[] {
    return this.vmas.filter((v) => v.start < end && v.end > start);
  }

  insertVma(v: Vma): void {
    let i = 0;
    while (i < this.vmas.length && this.vmas[i].start < v.start) i++;
    this.vmas.splice(i, 0, v);
  }

  removeVma(v: Vma): void {
    const i = this.vmas.indexOf(v);
    if (i >= 0) this.vmas.splice(i, 1);
  }

  /**
   * vma_merge for the VMA that now covers [start, end) after an mmap or a flag change: it joins
   * its previous and/or next neighbour when flags, backing and file offsets match and the
   * anon_vmas are compatible (is_mergeable_anon_vma: a neighbour without an anon_vma only
   * takes a range without one; one with an anon_vma takes a range without one only if its
   * chain is singular).
   */
  mergeAround(start: number, end: number): void {
    const i = this.vmas.findIndex((v) => v.start <= start && v.end >= end);
    if (i < 0) return;
    const cur = this.vmas[i];
    const prev = i > 0 ? this.vmas[i - 1] : undefined;
    const next = this.vmas[i + 1];
    const withPrev = prev !== undefined && canMerge(prev, cur) && anonMergeable(prev, cur);
    const withNext = next !== undefined && canMerge(cur, next) && anonMergeable(next, cur) && (!withPrev || prev!.anonVmaId === 0 || next.anonVmaId === 0 || prev!.anonVmaId === next.anonVmaId);
    if (withNext) this.absorb(cur, next);
    if (withPrev) this.absorb(prev!, cur);
  }

  /** `a` grows over its right neighbour `b`, which goes away with its references. */
  private absorb(a: Vma, b: Vma): void {
    a.end = b.end;
    if (a.anonVmaId === 0) {
      a.anonVmaId = b.anonVmaId;
      a.chainSingular = b.chainSingular;
    }
    this.removeVma(b);
    if (b.file) this.sys.fileput(b.file);
    b.fileRef?.put();
  }

  /**
   * anon_vma_prepare: attaches an anon_vma to `vma` if it has none, reusing a compatible
   * neighbour's (next first, then previous) when that neighbour's chain is singular.
   */
  anonVmaPrepare(vma: Vma): void {
    if (vma.anonVmaId !== 0) return;
    const i = this.vmas.indexOf(vma);
    const next = this.vmas[i + 1], prev = i > 0 ? this.vmas[i - 1] : undefined;
    if (next && next.anonVmaId !== 0 && next.chainSingular && anonVmaCompatible(vma, next)) vma.anonVmaId = next.anonVmaId;
    else if (prev && prev.anonVmaId !== 0 && prev.chainSingular && anonVmaCompatible(prev, vma)) vma.anonVmaId = prev.anonVmaId;
    else vma.anonVmaId = this.sys.nextAnonVmaId++;
    vma.chainSingular = true;
  }

  /**
   * Splits VMAs so that `at` is a boundary (split_vma). The page tables are untouched:
   * only the bookkeeping changes, as in the kernel.
   */
  splitAt(at: number): void {
    const v = this.findVma(at);
    if (!v || v.start === at) return;
    // vma_adjust_trans_huge: when the 2 MiB block around an unaligned split point lies inside
    // the VMA, __split_huge_pmd runs on it — and invalidates the block even when the PMD is
    // not huge (6.1 finds the PMD slot through the PUD only).
    const base = Math.floor(at / PMD_NR) * PMD_NR;
    if (at % PMD_NR !== 0 && !v.isHugetlb && v.start <= base && base + PMD_NR <= v.end && this.pt.pudPresent(at)) {
      if ((this.pt.pmd(at)?.huge ?? 0) !== 0) splitHugePmd(this, v, at);
      else this.notifiers.invalidate({ start: base, end: base + PMD_NR, event: NotifyEvent.CLEAR, owner: null }, () => undefined);
    }
    const tail = v.clone(at, v.end);
    v.end = at;
    this.insertVma(tail);
  }
}

function canMerge(a: Vma, b: Vma): boolean {
  if (a.end !== b.start || a.flags !== b.flags || a.kind !== b.kind || a.file !== b.file || a.fileRef !== b.fileRef) return false;
  if (a.isMixed || a.isHugetlb) return false;
  if (a.file && b.pgoff !== a.pgoffOf(b.start)) return false;
  // The anonymous linear index must run on across the boundary (vma_merge's vm_pgoff check for
  // anonymous VMAs); only mremap makes it differ.
  if (a.anonShift !== b.anonShift) return false;
  return true;
}

/** is_mergeable_anon_vma(neighbour's anon_vma, the range's anon_vma, neighbour). */
function anonMergeable(neighbour: Vma, range: Vma): boolean {
  if ((neighbour.anonVmaId === 0 || range.anonVmaId === 0) && neighbour.anonVmaId !== 0 && neighbour.chainSingular) return true;
  return neighbour.anonVmaId === range.anonVmaId;
}

/** anon_vma_compatible: adjacent, same file and offsets, flags equal but for access bits. */
function anonVmaCompatible(a: Vma, b: Vma): boolean {
  const ACCESS = 0x7;
  return a.end === b.start && a.file === b.file && a.kind === b.kind && ((a.flags ^ b.flags) & ~ACCESS) === 0 && a.anonShift === b.anonShift && (!a.file || b.pgoff === a.pgoffOf(b.start));
}
