/**
 * Constants of the modelled machine: x86-64 with 4 KiB base pages and 2 MiB PMD leaves,
 * as the Linux 6.1 kernel the golden traces were recorded on.
 */

/** Bytes in a base page. */
export const PAGE_SIZE = 4096;
/** log2(PAGE_SIZE). */
export const PAGE_SHIFT = 12;
/** Base pages covered by one PMD entry (2 MiB / 4 KiB). */
export const PMD_NR = 512;
/** log2(PMD_NR): the order of a PMD-sized folio. */
export const PMD_ORDER = 9;

/** VMA flags (a subset of include/linux/mm.h, same meaning). */
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYWRITE = 0x20;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGETLB = 0x400000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
export const VM_NORESERVE = 0x200000;
/** Committed memory is charged for the VMA; it only ever keeps VMAs apart (vma_merge compares it). */
export const VM_ACCOUNT = 0x100000;

/** mmap/mprotect protection bits (PROT_*). */
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/**
 * Kernel error numbers. Functions in the model return `-E...` like the kernel does, so a
 * reader can follow them against the C source; `errnoName` turns one into its name.
 */
export const EPERM = 1;
export const ENOENT = 2;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
/** The ioctl found no fast interconnect to the named device (DRM_IOCTL_XE_MADVISE PREFERRED_LOC, Linux 7.0). */
export const ENOLINK = 67;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EOPNOTSUPP = 95;

const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: 'EPERM', [ENOENT]: 'ENOENT', [EBADF]: 'EBADF', [EAGAIN]: 'EAGAIN', [ENOMEM]: 'ENOMEM',
  [EACCES]: 'EACCES', [EFAULT]: 'EFAULT', [EBUSY]: 'EBUSY', [EEXIST]: 'EEXIST', [ENODEV]: 'ENODEV', [EINVAL]: 'EINVAL',
  [ENOSPC]: 'ENOSPC', [EOPNOTSUPP]: 'EOPNOTSUPP',
};

/** Name of a positive or negative errno value, e.g. `errnoName(-14) === 'EFAULT'`. */
export function errnoName(e: number): string {
  return ERRNO_NAMES[Math.abs(e)] ?? `E${Math.abs(e)}`;
}

/** The kind of memory mapped by a VMA; decides which fault path and rules apply. */
export type VmaKind = 'anon' | 'shmem' | 'file' | 'hugetlb' | 'mixed';

/** MMU notifier events (enum mmu_notifier_event, same order as the kernel). */
export const enum NotifyEvent {
  UNMAP = 0,
  CLEAR = 1,
  PROTECTION_VMA = 2,
  PROTECTION_PAGE = 3,
  SOFT_DIRTY = 4,
  RELEASE = 5,
  MIGRATE = 6,
  EXCLUSIVE = 7,
}
