// A CPU thread making an mm system call on the timed machine (fork, exit, execve, munmap,
// mprotect, madvise). As with every core operation, the call's semantics happen whole at its
// start instant (page tables copied or zapped, MMU notifiers fired, devices' mappings dropped);
// its time is charged after: the devices' TLB shootdowns it waited for, a fixed syscall cost,
// and a cost per page-table entry it walked.
import type { Mm } from '../mm/mm.ts';
import { PMD_NR } from '../mm/constants.ts';
import type { SimMachine } from './machine.ts';

/**
 * The syscall's entry, VMA lookup and TLB flush of its own CPU, ps. ESTIMATE: 1 µs, the order of
 * an mprotect or munmap of a small range on an x86 server; not in anchors-uvm.md.
 */
export const MM_CALL_PS = 1_000_000;
/**
 * Per page-table entry walked (copied by fork's copy_page_range, zapped by munmap or exit,
 * changed by mprotect), ps. ESTIMATE: 20 ns, about what a fork of a large process costs per
 * mapped page (a 10 GiB process forks in ~50 ms); not in anchors-uvm.md.
 */
export const MM_PTE_PS = 20_000;

/**
 * Page-table entries in `mm` over [start, end) (a huge PMD counts its 512 pages): the work of a
 * walk that visits every mapped entry.
 */
export function mappedEntries(mm: Mm, start = 0, end = Number.MAX_SAFE_INTEGER): number {
  let n = 0;
  for (const [k, pmd] of mm.pt.pmds) {
    const base = k * PMD_NR;
    if (base + PMD_NR <= start || base >= end) continue;
    if (pmd.huge !== 0) {
      n += Math.min(end, base + PMD_NR) - Math.max(start, base);
      continue;
    }
    if (!pmd.ptes) continue;
    const lo = Math.max(start, base) - base, hi = Math.min(end, base + PMD_NR) - base;
    for (let i = lo; i < hi; i++) if (pmd.ptes[i] !== 0) n++;
  }
  return n;
}

/** An mm system call in flight. */
export class MmCallRun {
  private endPs = -1;
  private readonly waiters: ((t: number) => void)[] = [];

  /**
   * Runs `call` now; `entries` is the page-table entries it walks (counted before the call,
   * since exit and munmap leave none). The call ends after its CPU time.
   */
  constructor(readonly machine: SimMachine, readonly name: string, entries: number, call: () => void) {
    const m = machine;
    const t0 = m.engine.now;
    call();
    const cpuPs = m.takeSyncPs() + MM_CALL_PS + entries * MM_PTE_PS;
    m.cpuStats.busyPs += cpuPs;
    m.cpuStats.threads++;
    m.at(t0 + cpuPs, () => {
      this.endPs = m.engine.now;
      m.spans('cpu', name, t0, this.endPs - t0, { entries });
      for (const w of this.waiters.splice(0)) w(this.endPs);
    });
  }

  onDone(cb: (t: number) => void): void {
    if (this.endPs >= 0) cb(this.endPs);
    else this.waiters.push(cb);
  }
}
