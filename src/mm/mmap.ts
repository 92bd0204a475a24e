import { policyAllowedNodes } from './mempolicy.ts';
import { EINVAL, ENOMEM, NotifyEvent, PMD_NR, VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MAYWRITE, VM_HUGETLB, VM_MIXEDMAP, VM_NORESERVE, PROT_READ, PROT_WRITE, PROT_EXEC, type VmaKind, VM_ACCOUNT } from './constants.ts';
import { Vma, type FileRef } from './vma.ts';
import { zapRange } from './memory.ts';
import type { Mm } from './mm.ts';
import type { ShmemFile } from './file.ts';

/** Converts PROT_* bits to VM_READ/WRITE/EXEC. */
export function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** What backs a new mapping. */
export interface MmapBacking {
  kind: VmaKind;
  shared: boolean;
  file?: ShmemFile;
  /** The struct file a device mapping holds a reference to. */
  fileRef?: FileRef;
  noreserve?: boolean;
}

/**
 * get_unmapped_area for a hint-less mapping, as x86-64's top-down allocator with ASLR off
 * places it: the highest gap below `mm.mmapBase` that holds `npages`, the mapping at the top
 * of that gap. Traces can see this: a new mapping fills the highest hole a munmap left.
 *
 * `thpPgoff` is null for a mapping whose file has its own get_unmapped_area (shmem, tmpfs,
 * hugetlbfs) or that is MAP_SHARED anonymous (shmem_get_unmapped_area); otherwise (private
 * anonymous: 0, __get_unmapped_area treats pgoff as zero; a file without the hook, as the
 * dmirror device: the mapping's file offset in pages) a length that is a multiple of 2 MiB is
 * aligned as 6.12's thp_get_unmapped_area_vmflags aligns it (KernelSwitches.mmapAlignsPmdSizedAnon).
 * Returns the first page, or -1 when nothing fits.
 */
export function getUnmappedArea(mm: Mm, npages: number, thpPgoff: number | null = null): number {
  if (thpPgoff !== null && mm.sys.k.mmapAlignsPmdSizedAnon && npages % PMD_NR === 0) {
    const at = thpGetUnmappedArea(mm, npages, thpPgoff);
    if (at >= 0) return at;
  }
  return unmappedAreaTopdown(mm, npages);
}

/** vm_unmapped_area top-down with no alignment: the top of the highest gap holding `npages`, or -1. */
function unmappedAreaTopdown(mm: Mm, npages: number): number {
  let top = mm.mmapBase;
  for (let i = mm.vmas.length - 1; i >= -1; i--) {
    const v = i >= 0 ? mm.vmas[i] : null;
    if (v && v.start >= top) continue;
    const gapStart = v ? v.end : 1;
    if (top - gapStart >= npages) return top - npages;
    if (!v) break;
    top = v.start;
  }
  return -1;
}

/**
 * __thp_get_unmapped_area (mm/huge_memory.c, 6.12) with size PMD_SIZE: a top-down search for
 * `npages` plus 2 MiB, the mapping then moved up to the first point where address and file
 * offset agree modulo 2 MiB, or to the top of the padded area when its start already does
 * (MMF_TOPDOWN). -1 (the caller searches again without padding) when the range covers no
 * whole 2 MiB of the file or the padded length fits nowhere.
 */
function thpGetUnmappedArea(mm: Mm, npages: number, pgoff: number): number {
  const offAlign = Math.ceil(pgoff / PMD_NR) * PMD_NR;
  const offEnd = pgoff + npages;
  if (offEnd <= offAlign || offEnd - offAlign < PMD_NR) return -1;
  const at = unmappedAreaTopdown(mm, npages + PMD_NR);
  if (at < 0) return -1;
  const offSub = (((pgoff - at) % PMD_NR) + PMD_NR) % PMD_NR;
  return offSub === 0 ? at + PMD_NR : at + offSub;
}

/**
 * mmap(MAP_FIXED) of [start, start+npages): replaces whatever was there. Private hugetlb
 * mappings reserve their huge pages now and fail with ENOMEM when the pool cannot cover them.
 * Returns 0 or -errno.
 */
export function mmapFixed(mm: Mm, start: number, npages: number, prot: number, b: MmapBacking): number {
  const sys = mm.sys;
  let flags = protToVmFlags(prot) | VM_MAYWRITE;
  if (b.shared) flags |= VM_SHARED;
  if (b.kind === 'hugetlb') {
    flags |= VM_HUGETLB;
    npages = Math.ceil(npages / PMD_NR) * PMD_NR;
    const need = npages / PMD_NR;
    if (sys.hugetlbFree - sys.hugetlbReserved < need) return -ENOMEM;
    // hugetlb_acct_memory: under a bind policy only the bound nodes' free pages count.
    const allowed = policyAllowedNodes(mm);
    if (allowed !== null && allowed.reduce((s, n) => s + sys.hugetlbFreeNode[n], 0) < need) return -ENOMEM;
  }
  if (b.kind === 'mixed') flags |= VM_MIXEDMAP;
  if (b.noreserve) flags |= VM_NORESERVE;
  // accountable_mapping: a private writable mapping that reserves its memory is charged.
  if (!b.shared && b.kind !== 'hugetlb' && !b.noreserve && flags & VM_WRITE) flags |= VM_ACCOUNT;
  doMunmap(mm, start, npages, false);
  const v = new Vma(start, start + npages, flags, b.kind, b.file ?? null, 0, b.fileRef ?? null);
  v.origin = sys.nextVmaOrigin++;
  b.fileRef?.get();
  b.file?.mapGet();
  if (b.kind === 'hugetlb') {
    v.hugetlbResv = new Set();
    for (let i = 0; i < npages; i += PMD_NR) v.hugetlbResv.add(i);
    sys.hugetlbReserved += npages / PMD_NR;
  }
  mm.insertVma(v);
  // mmap_region's vma_merge: a new mapping joins compatible neighbours (e.g. PROT_NONE guards).
  mm.mergeAround(start, start + npages);
  return 0;
}

/** munmap(start, npages): 0 or -errno. */
export function munmap(mm: Mm, start: number, npages: number): number {
  if (npages <= 0) return -EINVAL;
  return doMunmap(mm, start, npages, true);
}

function doMunmap(mm: Mm, start: number, npages: number, checkHuge: boolean): number {
  const end = start + npages;
  const inRange = mm.vmasIn(start, end);
  if (inRange.length === 0) return 0;
  // Splitting a hugetlb VMA anywhere but on a huge page boundary is refused (hugetlb_vm_op_split).
  if (checkHuge) {
    for (const at of [start, end]) {
      const v = mm.findVma(at);
      if (v && v.start !== at && v.isHugetlb && at % PMD_NR !== 0) return -EINVAL;
    }
  }
  mm.splitAt(start);
  mm.splitAt(end);
  const victims = mm.vmasIn(start, end);
  mm.notifiers.invalidate({ start, end, event: NotifyEvent.UNMAP, owner: null }, () => {
    for (const v of victims) zapRange(mm, v, v.start, v.end);
  });
  for (const v of victims) {
    mm.removeVma(v);
    releaseVma(mm, v);
  }
  return 0;
}

/** Drops what a VMA holds: its file references and unused hugetlb reservations. */
function releaseVma(mm: Mm, v: Vma): void {
  const sys = mm.sys;
  if (v.hugetlbResv) {
    for (const off of [...v.hugetlbResv]) {
      if (off >= v.pgoff && off < v.pgoff + (v.end - v.start)) {
        v.hugetlbResv.delete(off);
        sys.hugetlbReserved--;
      }
    }
  }
  if (v.file) sys.fileput(v.file);
  v.fileRef?.put();
}

/**
 * exit_mmap: the RELEASE notification to every subscriber, then every mapping torn down and
 * every VMA released (devN mappings drop their device file references here).
 */
export function exitMmap(mm: Mm): void {
  if (!mm.alive) return;
  mm.users = 0;
  mm.notifiers.invalidate({ start: 0, end: Number.MAX_SAFE_INTEGER, event: NotifyEvent.RELEASE, owner: null }, () => undefined);
  const vmas = mm.vmas;
  for (const v of vmas) zapRange(mm, v, v.start, v.end);
  mm.vmas = [];
  for (const v of vmas) releaseVma(mm, v);
  mm.alive = false;
  mm.sys.mms.delete(mm);
}

/**
 * mmget: an off-CPU user of the address space (a device task bound to it) keeps exit_mmap from
 * running until it lets go. Only on a live mm (callers that may race exit use mmgetNotZero).
 */
export function mmget(mm: Mm): void {
  if (mm.users <= 0) throw new Error(`mmget on mm ${mm.id} with no users: use mmgetNotZero`);
  mm.users++;
}

/** mmget_not_zero: a user reference only while the mm still has users; false after the last mmput. */
export function mmgetNotZero(mm: Mm): boolean {
  if (mm.users <= 0) return false;
  mm.users++;
  return true;
}

/**
 * mmput: drops a user reference; the last one tears the address space down (__mmput → exit_mmap:
 * the RELEASE notification, then every mapping and VMA) and drops the users' mm_count.
 */
export function mmput(mm: Mm): void {
  if (mm.users <= 0) throw new Error(`mmput on mm ${mm.id} with no users`);
  if (--mm.users > 0) return;
  exitMmap(mm);
  mmdrop(mm);
}

/** mmgrab: keeps the mm_struct (not its mappings) for someone who must look at it after exit. */
export function mmgrab(mm: Mm): void {
  mm.count++;
}

/** mmdrop: drops an mm_count reference. The struct is then garbage; nothing to free in the model. */
export function mmdrop(mm: Mm): void {
  if (mm.count <= 0) throw new Error(`mmdrop on mm ${mm.id} with no references`);
  mm.count--;
}
