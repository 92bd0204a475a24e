// The replayable fault buffer of a device MMU (NVIDIA's HW fault buffer, AMD's retry-fault IH
// ring, an IOMMU's PRI page-request queue): a bounded FIFO the device writes and the driver
// drains in batches. Entries carry the lane that faulted so a replay can wake it.

/**
 * One fault as the device reports it. Invariants: `time` is the integer ps at which the access
 * faulted; `space` identifies the address space (mm id); `vpn` is a 4 KiB page number.
 */
export interface FaultEntry {
  readonly lane: number;
  readonly space: number;
  readonly vpn: number;
  readonly write: boolean;
  readonly time: number;
}

/**
 * A bounded FIFO of fault entries. A push into a full buffer is refused (the hardware drops the
 * fault and the access faults again after the next replay), and counted as an overflow.
 */
export class FaultBuffer {
  private q: FaultEntry[] = [];
  private head = 0;
  overflows = 0;

  /** @param capacity entries the buffer holds, ≥ 1. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`fault buffer capacity must be a positive integer, got ${capacity}`);
  }

  /** Entries waiting to be fetched. */
  get length(): number {
    return this.q.length - this.head;
  }

  /** Appends `e`; false (and an overflow counted) when the buffer is full. */
  push(e: FaultEntry): boolean {
    if (this.length >= this.capacity) {
      this.overflows++;
      return false;
    }
    this.q.push(e);
    return true;
  }

  /** Raise time of the oldest entry, or undefined when empty. */
  oldestTime(): number | undefined {
    return this.length > 0 ? this.q[this.head].time : undefined;
  }

  /**
   * Removes and returns up to `max` entries in arrival order, stopping at the first entry raised
   * after `now` (a fault cannot be serviced before it happened).
   */
  fetch(max: number, now: number): FaultEntry[] {
    const out: FaultEntry[] = [];
    while (out.length < max && this.head < this.q.length && this.q[this.head].time <= now) out.push(this.q[this.head++]);
    this.compact();
    return out;
  }

  /** Drops every entry raised at or before `now` (a replay-policy flush); returns them. */
  flush(now: number): FaultEntry[] {
    const kept: FaultEntry[] = [];
    const dropped: FaultEntry[] = [];
    for (let i = this.head; i < this.q.length; i++) (this.q[i].time <= now ? dropped : kept).push(this.q[i]);
    this.q = kept;
    this.head = 0;
    return dropped;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.q.length) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
  }
}

/** A page to service: the most intrusive access any entry asked for, and every entry for it. */
export interface CoalescedFault {
  readonly space: number;
  readonly vpn: number;
  write: boolean;
  readonly entries: FaultEntry[];
}

/**
 * Merges entries for the same page (UVM's coalescing: the representative takes the most intrusive
 * access type, write over read). Returns the pages sorted by (space, vpn) — the order UVM
 * services them in — and how many entries were merged away.
 */
export function coalesceFaults(entries: readonly FaultEntry[], coalesce = true): { pages: CoalescedFault[]; coalesced: number } {
  if (!coalesce) {
    const pages = entries.map((e) => ({ space: e.space, vpn: e.vpn, write: e.write, entries: [e] }));
    pages.sort(bySpaceVpn);
    return { pages, coalesced: 0 };
  }
  // A stable sort by (space, vpn) keeps each page's entries in arrival order, so the pages come
  // out grouped and in service order without a key string and a map entry per fault.
  const sorted = entries.slice().sort(bySpaceVpn);
  const pages: CoalescedFault[] = [];
  let coalesced = 0;
  let c: CoalescedFault | undefined;
  for (const e of sorted) {
    if (c !== undefined && c.space === e.space && c.vpn === e.vpn) {
      coalesced++;
      c.write ||= e.write;
      c.entries.push(e);
    } else {
      c = { space: e.space, vpn: e.vpn, write: e.write, entries: [e] };
      pages.push(c);
    }
  }
  return { pages, coalesced };
}

function bySpaceVpn(a: { readonly space: number; readonly vpn: number }, b: { readonly space: number; readonly vpn: number }): number {
  return a.space - b.space || a.vpn - b.vpn;
}
