/**
 * mremap(2): mm/mremap.c modelled from the source (the 6.12 / mainline structure: mremap_to,
 * vma_to_resize, move_vma, move_page_tables, move_huge_pmd, move_ptes), not checked against a
 * running kernel: the hmmtrace op language has no mremap op, so no oracle trace exercises it.
 *
 * What is modelled: MREMAP_MAYMOVE and MREMAP_FIXED moves of a whole VMA or of a part of it
 * (the old range is split off by the munmap that ends move_vma, as the kernel does), shrinking
 * in place (the tail unmapped), growing in place when the pages after the VMA are free, and the
 * errors of the man page for bad input. Page tables move entry by entry with their kind and
 * flags: present, device-private, device-exclusive and migration entries alike (move_ptes keeps
 * the entry; mapcounts and references stay where they are), all under one MMU_NOTIFY_UNMAP over
 * the old range (move_page_tables' mmu_notifier_range_init(MMU_NOTIFY_UNMAP, ...)); a huge PMD
 * (a THP, the huge zero page, or on 7.x a device-private PMD) moves whole when the old and new
 * addresses are both 2 MiB aligned and the move covers the whole 2 MiB (move_huge_pmd), and is
 * split (split_huge_pmd, its own MMU_NOTIFY_CLEAR over the block) otherwise. Anonymous pages keep
 * their index: the new VMA's linear index is the old one's (`Vma.anonShift`), and rmap finds
 * them there.
 *
 * MREMAP_DONTUNMAP (with MREMAP_MAYMOVE, old and new lengths equal) leaves the old range mapped
 * and empty; when the whole VMA moved it loses its anon_vma (unlink_anon_vmas), so its next faults
 * are fresh zero-filled pages.
 *
 * Not modelled (refused with -EINVAL, which the kernel does not do for them): old_len 0 (the duplicate-a-shared-mapping case), hugetlb VMAs (move_hugetlb_page_tables) and
 * VM_MIXEDMAP device mappings. 6.12's try_realign_addr (moving a PMD-unaligned range's tables
 * whole) changes no entry's outcome and is not modelled; nor are VM_ACCOUNT and mlock limits.
 */
import { EFAULT, EINVAL, ENOMEM, NotifyEvent, PAGE_SIZE, PMD_NR } from './constants.ts';
import { splitHugePmd } from './huge-memory.ts';
import { munmap, getUnmappedArea } from './mmap.ts';
import { Vma } from './vma.ts';
import type { Mm } from './mm.ts';

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

/** TASK_SIZE of x86-64 with 4-level paging, in pages (0x7ffffffff000 bytes). */
const TASK_SIZE_PAGES = 0x7ffffffff;

/**
 * mremap(addr, oldLen, newLen, flags, newAddr): byte addresses and lengths, as the syscall takes
 * them (lengths rounded up to pages). Returns the (new) byte address or -errno.
 */
export function mremap(mm: Mm, addr: number, oldLen: number, newLen: number, flags: number, newAddr = 0): number {
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) return -EINVAL;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
  const dontUnmap = (flags & MREMAP_DONTUNMAP) !== 0;
  if (!Number.isSafeInteger(addr) || addr < 0 || addr % PAGE_SIZE !== 0) return -EINVAL;
  if (!Number.isSafeInteger(oldLen) || !Number.isSafeInteger(newLen) || oldLen < 0 || newLen < 0) return -EINVAL;
  const oldPages = Math.ceil(oldLen / PAGE_SIZE), newPages = Math.ceil(newLen / PAGE_SIZE);
  // PAGE_ALIGN(new_len) == 0; an old_len of 0 duplicates a shared mapping (not modelled).
  if (newPages === 0 || oldPages === 0) return -EINVAL;
  // MREMAP_DONTUNMAP moves without resizing.
  if (dontUnmap && (!(flags & MREMAP_MAYMOVE) || oldPages !== newPages)) return -EINVAL;
  const start = addr / PAGE_SIZE;
  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
    if (!Number.isSafeInteger(newAddr) || newAddr < 0) return -EINVAL;
    const r = mremapTo(mm, start, oldPages, (flags & MREMAP_FIXED) !== 0 ? newAddr : null, newPages, dontUnmap);
    return r < 0 ? r : r * PAGE_SIZE;
  }
  // Shrinking (or equal) in place: the tail goes (do_vmi_munmap); the address stays.
  if (oldPages >= newPages) {
    if (oldPages > newPages) {
      const r = munmap(mm, start + newPages, oldPages - newPages);
      if (r < 0) return r;
    }
    return addr;
  }
  const vma = vmaToResize(mm, start, oldPages);
  if (typeof vma === 'number') return vma;
  // Growing in place: the VMA ends where the old range does and nothing lies after it.
  if (start + oldPages === vma.end && vmaExpandable(mm, vma, newPages - oldPages)) {
    const end = start + newPages;
    vma.end = end;
    mm.mergeAround(vma.start, end);
    return addr;
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const to = getUnmappedArea(mm, newPages, thpPgoff(vma, start));
  if (to < 0) return -ENOMEM;
  return moveVma(mm, vma, start, oldPages, newPages, to, false) * PAGE_SIZE;
}

/**
 * mremap_to: a move to `newAddr` (bytes, MREMAP_FIXED) or, for MREMAP_DONTUNMAP without it, to
 * where get_unmapped_area puts the new length. Returns the new first page or -errno.
 */
function mremapTo(mm: Mm, start: number, oldPages: number, newAddr: number | null, newPages: number, dontUnmap: boolean): number {
  let to = -1, r: number;
  if (newAddr !== null) {
    if (newAddr % PAGE_SIZE !== 0) return -EINVAL;
    to = newAddr / PAGE_SIZE;
    if (newPages > TASK_SIZE_PAGES || to > TASK_SIZE_PAGES - newPages) return -EINVAL;
    // The ranges may not overlap.
    if (start < to + newPages && to < start + oldPages) return -EINVAL;
    r = munmap(mm, to, newPages);
    if (r < 0) return r;
  }
  if (oldPages > newPages) {
    r = munmap(mm, start + newPages, oldPages - newPages);
    if (r < 0) return r;
    oldPages = newPages;
  }
  const vma = vmaToResize(mm, start, oldPages);
  if (typeof vma === 'number') return vma;
  if (to < 0) {
    to = getUnmappedArea(mm, newPages, thpPgoff(vma, start));
    if (to < 0) return -ENOMEM;
  }
  return moveVma(mm, vma, start, oldPages, newPages, to, dontUnmap);
}

/**
 * What mremap's get_unmapped_area(vma->vm_file, 0, new_len, pgoff, flags) aligns by (mmap.ts
 * getUnmappedArea): a private anonymous VMA as pgoff 0; a device mapping (a file without its
 * own get_unmapped_area) by its file offset at `start`; shmem, tmpfs and hugetlbfs files have
 * their own hook and are not aligned.
 */
function thpPgoff(vma: Vma, start: number): number | null {
  if (vma.kind === 'anon' && !vma.shared) return 0;
  return vma.kind === 'mixed' ? vma.pgoffOf(start) : null;
}

/**
 * vma_to_resize: the VMA holding the old range, or -EFAULT when there is none at `start` or the
 * range runs past its end (a range over several VMAs).
 */
function vmaToResize(mm: Mm, start: number, oldPages: number): Vma | number {
  const vma = mm.findVma(start);
  if (!vma) return -EFAULT;
  if (oldPages > vma.end - start) return -EFAULT;
  if (vma.isHugetlb || vma.isMixed) return -EINVAL; // not modelled (see the file comment)
  return vma;
}

/** vma_expandable: no VMA in the `delta` pages after `vma`, and still below TASK_SIZE. */
function vmaExpandable(mm: Mm, vma: Vma, delta: number): boolean {
  const end = vma.end + delta;
  if (end > TASK_SIZE_PAGES) return false;
  return mm.vmasIn(vma.end, end).length === 0;
}

/**
 * move_vma: copy_vma makes the new VMA (same flags, backing and anon_vma; file offset and
 * anonymous linear index those of the old range), move_page_tables moves the entries, and the
 * old range is unmapped (splitting the old VMA when only part of it moved), or with `dontUnmap`
 * stays, empty, and drops its anon_vma if it moved whole. Returns `to`.
 */
function moveVma(mm: Mm, vma: Vma, start: number, oldPages: number, newPages: number, to: number, dontUnmap: boolean): number {
  const nv = new Vma(to, to + newPages, vma.flags, vma.kind, vma.file, vma.pgoffOf(start), vma.fileRef);
  nv.anonVmaId = vma.anonVmaId;
  nv.chainSingular = vma.chainSingular;
  nv.origin = vma.origin;
  nv.anonShift = vma.anonShift + (start - to);
  if (nv.anonShift !== 0) mm.movedAnonVmas++;
  vma.fileRef?.get();
  vma.file?.mapGet();
  mm.insertVma(nv);
  movePageTables(mm, vma, start, to, oldPages);
  if (!dontUnmap) munmap(mm, start, oldPages);
  else if (vma.start === start && vma.end === start + oldPages) {
    vma.anonVmaId = 0;
    vma.chainSingular = true;
  }
  mm.mergeAround(to, to + newPages);
  return to;
}

/**
 * move_page_tables: every entry of [oldStart, oldStart + npages) moves to the same offset from
 * `newStart`, under one MMU_NOTIFY_UNMAP over the old range. A huge PMD moves whole when the
 * extent is a whole aligned 2 MiB at both ends (move_huge_pmd); otherwise it is split first.
 */
function movePageTables(mm: Mm, vma: Vma, oldStart: number, newStart: number, npages: number): void {
  const oldEnd = oldStart + npages;
  const pt = mm.pt;
  mm.notifiers.invalidate({ start: oldStart, end: oldEnd, event: NotifyEvent.UNMAP, owner: null }, () => {
    let old = oldStart, nw = newStart;
    while (old < oldEnd) {
      // get_extent: up to the next PMD boundary of either address, and the end.
      const extent = Math.min(PMD_NR - (old % PMD_NR), PMD_NR - (nw % PMD_NR), oldEnd - old);
      const pmd = pt.pmd(old);
      if (pmd && pmd.huge !== 0) {
        if (extent === PMD_NR && moveHugePmd(mm, old, nw)) {
          old += extent;
          nw += extent;
          continue;
        }
        splitHugePmd(mm, vma, old);
      }
      if (pmd?.ptes) movePtes(mm, pmd.ptes, old, nw, extent);
      old += extent;
      nw += extent;
    }
  });
}

/**
 * move_huge_pmd: the PMD leaf at `old` (2 MiB aligned) becomes the PMD at `nw` (2 MiB aligned),
 * unchanged: the folio keeps its entire mapcount and reference. The new slot must be empty
 * (munmap left at most an empty page table there, which the kernel would have freed).
 */
function moveHugePmd(mm: Mm, old: number, nw: number): boolean {
  const src = mm.pt.pmd(old)!;
  const dst = mm.pt.pmdAlloc(nw);
  if (dst.huge !== 0) return false;
  if (dst.ptes) {
    for (let i = 0; i < PMD_NR; i++) if (dst.ptes[i] !== 0) return false;
    dst.ptes = null;
  }
  dst.huge = src.huge;
  src.huge = 0;
  return true;
}

/** move_ptes: `n` entries from `old` (in `ptes`, its PMD's table) to `nw`, kind and flags kept. */
function movePtes(mm: Mm, ptes: Float64Array, old: number, nw: number, n: number): void {
  const k = old % PMD_NR;
  for (let i = 0; i < n; i++) {
    const e = ptes[k + i];
    if (e === 0) continue;
    ptes[k + i] = 0;
    mm.pt.setPte(nw + i, e);
  }
}
