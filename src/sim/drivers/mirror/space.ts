// One address space as the HMM mirror driver mirrors it (drm_gpusvm's notifier and range state,
// UVM's va_space per GPU): the device page table, the interval notifier over the whole address
// space, the thrashing state, the preferred locations advised for its ranges, drm_pagemap
// timeslices, and the steal history that keeps two devices from pulling a page back and forth.
import type { Mm } from '../../../mm/mm.ts';
import { mmgrab } from '../../../mm/mmap.ts';
import type { IntervalNotifier } from '../../../mm/mmu-notifier.ts';
import type { ProcessorId } from '../../../policy/types.ts';
import type { HmmMirrorDevice } from '../mirror.ts';
import { DevicePageTable } from './page-table.ts';

export type { DptEntry } from './page-table.ts';

/**
 * How long after a page was taken from a device a new fault on it counts as a steal, in lapses
 * (50 ms at UVM's 500 µs). ESTIMATE: a stand-in for UVM's adaptive lapse, bounded at 500 ms.
 */
export const STEAL_WINDOW_LAPSES = 100;

/** One address space mirrored by the device. */
export class MirrorSpace {
  /** The device page table: pfn * 2 + writable per mirrored page (mirror/page-table.ts). */
  readonly pt = new DevicePageTable();
  /** Pages of `pt` mapped for atomics: the CPU's entry is device-exclusive (make_device_exclusive_range). */
  readonly atomic = new Set<number>();
  /** Pages whose pending fault is an atomic that needs exclusive access. */
  readonly atomicWanted = new Set<number>();
  readonly notifier: IntervalNotifier;
  /** The thrashing policy's state for this space (its own type; null when the role is off). */
  thrashing: unknown = null;
  /** Fault migrations per VA block to this device (the prefetcher's min_faults). */
  readonly blockMigrations = new Map<number, number>();

  /**
   * Preferred locations advised for ranges of this space (Xe's DRM_IOCTL_XE_MADVISE
   * PREFERRED_LOC): a peer device's index, or CPU for system memory. Later advice wins.
   */
  readonly preferred: { start: number; end: number; loc: ProcessorId }[] = [];
  /** drm_pagemap timeslice: per VA block migrated here, when migrate_to_ram may take it back, ps. */
  readonly timeslice = new Map<number, number>();

  /** Preferred location of `vpn`, or null when none was advised. */
  preferredOf(vpn: number): ProcessorId | null {
    for (let i = this.preferred.length - 1; i >= 0; i--) {
      const p = this.preferred[i];
      if (vpn >= p.start && vpn < p.end) return p.loc;
    }
    return null;
  }

  /** Pages taken from this device (migrate_to_ram) and when, with how many times in a row. */
  private readonly stolen = new Map<number, { t: number; n: number; until: number }>();

  /** Notes that `vpn` left this device at `t` (a CPU touch or another device pulled it). */
  noteStolen(vpn: number, t: number): void {
    const s = this.stolen.get(vpn);
    this.stolen.set(vpn, { t, n: (s?.n ?? 0) + 1, until: s?.until ?? 0 });
  }

  /**
   * Whether a fault on `vpn` should map it where it is instead of migrating it here: the page was
   * taken from this device twice, each time within STEAL_WINDOW_LAPSES lapses of the fault. Two
   * devices without a direct link otherwise pull a page back and forth between a batch and its
   * replay, each round longer than the 500 µs lapse, so per-page detection never fires; UVM's
   * adaptive lapse (up to 500 ms) is what catches this on real systems. The pin lasts the
   * thrashing pin time. `params`: the thrashing policy's steal guard (ps).
   */
  remotelyPinned(vpn: number, t: number, params: { readonly lapse: number; readonly pinDuration: number }, residency: ProcessorId | null, self: ProcessorId): boolean {
    const s = this.stolen.get(vpn);
    if (!s) return false;
    if (t < s.until) return true;
    if (residency === self || residency === null || t - s.t > STEAL_WINDOW_LAPSES * params.lapse) {
      if (t - s.t > STEAL_WINDOW_LAPSES * params.lapse) this.stolen.delete(vpn);
      return false;
    }
    if (s.n < 2) return false;
    s.until = t + params.pinDuration;
    s.n = 0;
    return true;
  }

  constructor(readonly driver: HmmMirrorDevice, readonly mm: Mm) {
    this.notifier = mm.notifiers.insert(0, Number.MAX_SAFE_INTEGER, (sub, range, cur) => driver.invalidate(this, sub, range, cur));
    // The subscription keeps the mm_struct (not its mappings): mmu_notifier_register's mmgrab.
    mmgrab(mm);
  }
  get space(): number {
    return this.mm.id;
  }
}
