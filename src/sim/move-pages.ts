// A CPU thread calling move_pages(2) on the timed machine. The pages move (and every mapping is
// invalidated) at the call's start instant, like every core operation; the time it takes is
// charged after: the devices' TLB shootdowns it waited for, a fixed cost per moved page, and
// the copy itself as a flow over the route between the two sockets, which shares the
// inter-socket link with DMA traffic.
import type { Process } from '../api/machine.ts';
import type { MovePagesResult } from '../mm/migrate.ts';
import type { SimMachine } from './machine.ts';

/**
 * CPU time per 4 KiB page move_pages spends besides the copy (isolating it from the LRU,
 * unmapping it with a TLB flush, remapping the copy, putting it back), ps. ESTIMATE: about
 * 1.5 µs, the order of a minor fault plus a TLB shootdown on a two-socket x86 server; not in
 * anchors-uvm.md.
 */
export const MOVE_PAGE_PS = 1_500_000;
/** The syscall's own entry, page-array copy-in and lru_cache_disable, ps. ESTIMATE: 2 µs. */
export const MOVE_PAGES_CALL_PS = 2_000_000;

/** A move_pages call in flight. */
export class MoveRun {
  /** What the syscall returned (known at once: the semantics happen at the start instant). */
  readonly result: MovePagesResult;
  /** Base pages that changed node (a THP named by one page moves whole). */
  readonly moved: number;
  private endPs = -1;
  private readonly waiters: ((t: number) => void)[] = [];

  constructor(readonly machine: SimMachine, readonly proc: Process, start: number, npages: number, node: number) {
    const m = machine;
    const t0 = m.engine.now;
    const before = proc.movePages(start, npages, null).status;
    const migrated0 = m.sys.stats.numaMigrated;
    this.result = proc.movePages(start, npages, node);
    this.moved = m.sys.stats.numaMigrated - migrated0;
    // Bytes per source node, from the pages the call named; a whole THP's extra pages go with
    // the first source.
    const bytesFrom = new Map<number, number>();
    let named = 0;
    this.result.status.forEach((s, i) => {
      const from = before[i];
      if (s === node && from !== null && from >= 0 && from !== node) {
        bytesFrom.set(from, (bytesFrom.get(from) ?? 0) + 4096);
        named++;
      }
    });
    if (this.moved > named && bytesFrom.size > 0) {
      const first = bytesFrom.keys().next().value!;
      bytesFrom.set(first, bytesFrom.get(first)! + (this.moved - named) * 4096);
    }
    const cpuPs = m.takeSyncPs() + MOVE_PAGES_CALL_PS + this.moved * MOVE_PAGE_PS;
    m.cpuStats.busyPs += cpuPs;
    m.cpuStats.threads++;
    let pending = bytesFrom.size;
    const copied = (t: number) => {
      if (--pending === 0) this.finish(t0, t);
    };
    m.at(t0 + cpuPs, () => {
      if (pending === 0) return this.finish(t0, m.engine.now);
      for (const [from, bytes] of bytesFrom) {
        const route = m.route(m.socketOf(from), m.socketOf(node));
        if (route) m.transfers.startFlow(bytes, route.segments, copied);
        else copied(m.engine.now);
      }
    });
  }

  onDone(cb: (t: number) => void): void {
    if (this.endPs >= 0) cb(this.endPs);
    else this.waiters.push(cb);
  }

  private finish(t0: number, t: number): void {
    this.endPs = t;
    this.machine.spans('cpu', 'move_pages', t0, t - t0, { pages: this.moved, ret: this.result.ret });
    for (const w of this.waiters.splice(0)) w(t);
  }
}
