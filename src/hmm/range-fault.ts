import { KernelCrash } from '../mm/errors.ts';
import { EFAULT, EPERM, EBUSY, EINVAL, PMD_NR } from '../mm/constants.ts';
import { PteType, pteType, ptePfn, pteHas, PTE_WRITE, isStaleMigration } from '../mm/pte.ts';
import { handleMmFault, VM_FAULT_ERROR } from '../mm/fault.ts';
import type { Mm } from '../mm/mm.ts';
import type { Vma } from '../mm/vma.ts';
import type { IntervalNotifier } from '../mm/mmu-notifier.ts';

/** Output bits of an hmm_pfns entry (HMM_PFN_*), and the request bits that share them. */
export const HMM_PFN_VALID = 1;
export const HMM_PFN_WRITE = 2;
export const HMM_PFN_ERROR = 4;
/**
 * Output: the pfn is a peer's DEVICE_PRIVATE page handed out as a PCIe P2P page (the proposed
 * HMM_PFN_ALLOW_P2P path, Maman v2, July 2025; not merged: no kernel has it).
 */
export const HMM_PFN_P2PDMA = 8;
export const HMM_PFN_REQ_FAULT = HMM_PFN_VALID;
export const HMM_PFN_REQ_WRITE = HMM_PFN_WRITE;

/**
 * struct hmm_range. Per page i of [start, end): `flags[i]` holds the request bits on input and
 * VALID/WRITE/ERROR on output, `pfns[i]` the pfn and `order[i]` the mapping order (0, or 9 for
 * a PMD). Entries below the point an error stopped at hold outputs; the rest still inputs. The
 * arrays hold at least end − start entries; a reused range (reuseHmmRange) may hold more, which
 * nothing reads.
 */
export interface HmmRange {
  notifier: IntervalNotifier;
  notifierSeq: number;
  start: number;
  end: number;
  pfns: Float64Array;
  flags: Uint8Array;
  order: Uint8Array;
  defaultFlags: number;
  pfnFlagsMask: number;
  /** Device-private pages whose pagemap owner is this are reported as-is, never faulted. */
  devPrivateOwner: unknown;
  /**
   * HMM_PFN_ALLOW_P2P (proposal, not merged): asked of the owning pgmap for a device-private
   * page of another owner; true = report it as a P2P page (VALID | P2PDMA) instead of faulting
   * it to RAM. Absent = the kernel as merged.
   */
  allowP2p?: (pfn: number) => boolean;
}

/** A range over [start, end) with zeroed arrays. */
export function newHmmRange(notifier: IntervalNotifier, start: number, end: number, defaultFlags: number, owner: unknown): HmmRange {
  const n = Math.max(0, end - start);
  return { notifier, notifierSeq: 0, start, end, pfns: new Float64Array(n), flags: new Uint8Array(n), order: new Uint8Array(n), defaultFlags, pfnFlagsMask: 0, devPrivateOwner: owner };
}

/**
 * `range` aimed at [start, end) with its first end − start entries zeroed, as newHmmRange would
 * return it, reusing its arrays when they are long enough (a driver faulting block after block
 * then allocates none; typed arrays over 64 bytes have an off-heap backing store each). Null
 * makes a new one (with room for at least a PMD's pages). allowP2p is cleared. The caller must be done with the range's last use.
 */
export function reuseHmmRange(range: HmmRange | null, notifier: IntervalNotifier, start: number, end: number, defaultFlags: number, owner: unknown): HmmRange {
  const n = Math.max(0, end - start);
  if (range === null || range.pfns.length < n) {
    // Room for a whole 2 MiB block at least, so that later ranges of a block fit.
    const r = newHmmRange(notifier, start, start + Math.max(n, PMD_NR), defaultFlags, owner);
    r.end = end;
    r.allowP2p = undefined;
    return r;
  }
  range.notifier = notifier;
  range.notifierSeq = 0;
  range.start = start;
  range.end = end;
  range.pfns.fill(0, 0, n);
  range.flags.fill(0, 0, n);
  range.order.fill(0, 0, n);
  range.defaultFlags = defaultFlags;
  range.pfnFlagsMask = 0;
  range.devPrivateOwner = owner;
  range.allowP2p = undefined;
  return range;
}

const AGAIN = 1; // the walk faulted something: re-walk from `last` (the kernel's internal -EBUSY)
const NEED_FAULT = 1, NEED_WRITE = 2;

/**
 * hmm_range_fault: fills the range from the CPU page table, faulting what the request needs.
 * Returns 0, -EBUSY (the notifier sequence moved: the caller must retry from read_begin),
 * -EFAULT, -EPERM (write asked of a VMA without VM_WRITE) or -EINVAL.
 */
export function hmmRangeFault(mm: Mm, range: HmmRange): number {
  if (range.start >= range.end) return -EINVAL;
  const w = { last: range.start };
  for (;;) {
    if (range.notifier.readRetry(range.notifierSeq)) return -EBUSY;
    const r = walk(mm, range, w);
    if (r !== AGAIN) return r;
  }
}

function needFault(range: HmmRange, i: number, cpu: number): number {
  const req = (range.flags[i] & range.pfnFlagsMask) | range.defaultFlags;
  if (!(req & HMM_PFN_REQ_FAULT)) return 0;
  if (req & HMM_PFN_REQ_WRITE && !(cpu & HMM_PFN_WRITE)) return NEED_FAULT | NEED_WRITE;
  if (!(cpu & HMM_PFN_VALID)) return NEED_FAULT;
  return 0;
}

function rangeNeedFault(range: HmmRange, from: number, to: number, cpu: number): number {
  if (!((range.defaultFlags | range.pfnFlagsMask) & HMM_PFN_REQ_FAULT)) return 0;
  let r = 0;
  for (let a = from; a < to; a++) r |= needFault(range, a - range.start, cpu);
  return r;
}

function fill(range: HmmRange, from: number, to: number, flags: number, pfn = -1, order = 0): void {
  for (let a = from; a < to; a++) {
    const i = a - range.start;
    range.flags[i] = flags;
    range.pfns[i] = pfn >= 0 ? pfn + (a - from) : 0;
    range.order[i] = order;
  }
}

/** hmm_vma_fault: faults every page of [addr, end), then asks for a re-walk from `addr`. */
function vmaFault(mm: Mm, vma: Vma, w: { last: number }, addr: number, end: number, required: number): number {
  w.last = addr;
  if (required & NEED_WRITE && !vma.writable) return -EPERM;
  for (let a = addr; a < end; a++) {
    if (handleMmFault(mm, vma, a, (required & NEED_WRITE) !== 0) & VM_FAULT_ERROR) return -EFAULT;
  }
  return AGAIN;
}

function walk(mm: Mm, range: HmmRange, w: { last: number }): number {
  const sys = mm.sys;
  let a = w.last;
  while (a < range.end) {
    const vma = mm.findVma(a);
    if (!vma) {
      const next = mm.vmas.find((v) => v.start > a);
      const holeEnd = Math.min(range.end, next ? next.start : range.end);
      if (rangeNeedFault(range, a, holeEnd, 0)) return -EFAULT;
      fill(range, a, holeEnd, HMM_PFN_ERROR);
      a = holeEnd;
      continue;
    }
    const segEnd = Math.min(vma.end, range.end);
    if (!vma.readable) {
      if (rangeNeedFault(range, a, segEnd, 0)) return -EFAULT;
      fill(range, a, segEnd, HMM_PFN_ERROR);
      a = segEnd;
      continue;
    }
    while (a < segEnd) {
      const pmdEnd = Math.min(segEnd, (Math.floor(a / PMD_NR) + 1) * PMD_NR);
      const pmd = mm.pt.pmd(a);
      if (!pmd || (pmd.huge === 0 && !pmd.ptes)) {
        const req = rangeNeedFault(range, a, pmdEnd, 0);
        if (req) return vmaFault(mm, vma, w, a, pmdEnd, req);
        fill(range, a, pmdEnd, 0);
        a = pmdEnd;
        continue;
      }
      if (pmd.huge !== 0 && pteType(pmd.huge) === PteType.DEVICE_PRIVATE) {
        // hmm_vma_handle_absent_pmd (7.x, devicePrivateThp): the owner sees the device folio
        // with order 9; anyone else faults it back (migrate_to_ram) or gets nothing.
        const head = ptePfn(pmd.huge);
        if (sys.pagemapOf(head)!.owner === range.devPrivateOwner) {
          const cpu = HMM_PFN_VALID | (pteHas(pmd.huge, PTE_WRITE) ? HMM_PFN_WRITE : 0);
          const req = rangeNeedFault(range, a, pmdEnd, cpu);
          if (req) return vmaFault(mm, vma, w, a, pmdEnd, req);
          fill(range, a, pmdEnd, cpu, head + (a % PMD_NR), 9);
        } else {
          const req = rangeNeedFault(range, a, pmdEnd, 0);
          if (req) return vmaFault(mm, vma, w, a, pmdEnd, req);
          fill(range, a, pmdEnd, 0);
        }
        a = pmdEnd;
        continue;
      }
      if (pmd.huge !== 0) {
        const cpu = HMM_PFN_VALID | (pteHas(pmd.huge, PTE_WRITE) ? HMM_PFN_WRITE : 0);
        const req = vma.isHugetlb ? needFault(range, a - range.start, cpu) : rangeNeedFault(range, a, pmdEnd, cpu);
        if (req) return vmaFault(mm, vma, w, a, pmdEnd, req);
        const head = ptePfn(pmd.huge);
        fill(range, a, pmdEnd, cpu, head + (a % PMD_NR), 9);
        a = pmdEnd;
        continue;
      }
      for (; a < pmdEnd; a++) {
        const i = a - range.start;
        const e = pmd.ptes![a % PMD_NR];
        const t = pteType(e);
        range.order[i] = 0;
        if (t === PteType.NONE) {
          const req = needFault(range, i, 0);
          if (req) return vmaFault(mm, vma, w, a, pmdEnd, req);
          range.flags[i] = 0;
          range.pfns[i] = 0;
          continue;
        }
        if (t !== PteType.PRESENT) {
          const pfn = ptePfn(e);
          if (t === PteType.DEVICE_PRIVATE && sys.pagemapOf(pfn)!.owner === range.devPrivateOwner) {
            range.flags[i] = HMM_PFN_VALID | (pteHas(e, PTE_WRITE) ? HMM_PFN_WRITE : 0);
            range.pfns[i] = pfn;
            continue;
          }
          if (t === PteType.DEVICE_PRIVATE && range.allowP2p?.(pfn) === true) {
            range.flags[i] = HMM_PFN_VALID | HMM_PFN_P2PDMA | (pteHas(e, PTE_WRITE) ? HMM_PFN_WRITE : 0);
            range.pfns[i] = pfn;
            continue;
          }
          const req = needFault(range, i, 0);
          if (!req) {
            range.flags[i] = 0;
            range.pfns[i] = 0;
            continue;
          }
          if (t === PteType.DEVICE_PRIVATE || t === PteType.DEVICE_EXCLUSIVE) return vmaFault(mm, vma, w, a, pmdEnd, req);
          if (t === PteType.MIGRATION) {
            if (isStaleMigration(e)) throw new KernelCrash('hmm_range_fault: migration_entry_wait on a migration entry left by try_to_migrate on a device-exclusive entry');
            w.last = a;
            return AGAIN;
          }
          return -EFAULT;
        }
        const cpu = HMM_PFN_VALID | (pteHas(e, PTE_WRITE) ? HMM_PFN_WRITE : 0);
        const req = needFault(range, i, cpu);
        if (req) return vmaFault(mm, vma, w, a, pmdEnd, req);
        range.flags[i] = cpu;
        range.pfns[i] = ptePfn(e);
      }
    }
  }
  return 0;
}
