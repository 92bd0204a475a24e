// Binary min-heap of scheduled events, on the engine's hot path (one push and one pop per
// event), so it is hand-written over a plain array and moves a "hole" instead of swapping.

/**
 * What the heap orders by. `time` is simulated time (integer ps); `seq` is a tie-breaker that
 * the caller makes unique and increasing in scheduling order. Ordering by (time, seq) is a
 * strict total order, so the pop order never depends on heap layout: same-time entries come
 * out first-in, first-out, and every run with the same pushes is identical.
 */
export interface HeapEntry {
  readonly time: number;
  readonly seq: number;
}

/** True when `a` must pop before `b`: earlier time, or same time and smaller seq. */
export function entryBefore(a: HeapEntry, b: HeapEntry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * Min-heap on (time, seq). push/pop are O(log n), peek/size O(1).
 * Invariant: entries must not be mutated (time/seq) while in the heap.
 */
export class EventHeap<E extends HeapEntry> {
  private readonly items: E[] = [];

  /** Number of entries held (including any the owner considers cancelled). */
  get size(): number {
    return this.items.length;
  }

  /** Adds an entry. */
  push(e: E): void {
    const items = this.items;
    let i = items.length;
    items.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (!entryBefore(e, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = e;
  }

  /** The minimum entry without removing it, or undefined when empty. */
  peek(): E | undefined {
    return this.items[0];
  }

  /** Removes and returns the minimum entry, or undefined when empty. */
  pop(): E | undefined {
    const items = this.items;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (n === 1) return top;
    const size = n - 1;
    let i = 0;
    while (true) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && entryBefore(items[r], items[l]) ? r : l;
      const child = items[c];
      if (!entryBefore(child, last)) break;
      items[i] = child;
      i = c;
    }
    items[i] = last;
    return top;
  }

  /** Removes every entry. */
  clear(): void {
    this.items.length = 0;
  }
}
