import { describe, it, expect } from 'vitest';
import { FaultBuffer, coalesceFaults, type FaultEntry } from '../../src/devices/fault-buffer.ts';

/** A fault entry; `lane` doubles as an identity tag in these tests. */
const f = (lane: number, space: number, vpn: number, write: boolean, time: number): FaultEntry => ({ lane, space, vpn, write, time });
const lanes = (es: readonly FaultEntry[]) => es.map((e) => e.lane);

describe('FaultBuffer', () => {
  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new FaultBuffer(0)).toThrow(RangeError);
    expect(() => new FaultBuffer(-1)).toThrow(RangeError);
    expect(() => new FaultBuffer(1.5)).toThrow(RangeError);
    expect(() => new FaultBuffer(NaN)).toThrow(RangeError);
    expect(new FaultBuffer(1).capacity).toBe(1);
  });

  it('starts empty', () => {
    const b = new FaultBuffer(4);
    expect(b.length).toBe(0);
    expect(b.oldestTime()).toBeUndefined();
    expect(b.overflows).toBe(0);
    expect(b.fetch(10, 1e12)).toEqual([]);
  });

  it('refuses pushes into a full buffer and counts each one as an overflow', () => {
    const b = new FaultBuffer(3);
    expect(b.push(f(0, 1, 10, false, 0))).toBe(true);
    expect(b.push(f(1, 1, 11, false, 1))).toBe(true);
    expect(b.push(f(2, 1, 12, false, 2))).toBe(true);
    // Full at 3: the next two are dropped.
    expect(b.push(f(3, 1, 13, false, 3))).toBe(false);
    expect(b.push(f(4, 1, 14, true, 4))).toBe(false);
    expect(b.length).toBe(3);
    expect(b.overflows).toBe(2);
    // The dropped entries never appear.
    expect(lanes(b.fetch(10, 100))).toEqual([0, 1, 2]);
    // Fetching made room again; the overflow count is cumulative.
    expect(b.push(f(5, 1, 15, false, 5))).toBe(true);
    expect(b.length).toBe(1);
    expect(b.overflows).toBe(2);
  });

  it('hands entries out in arrival (FIFO) order, whatever their vpn', () => {
    const b = new FaultBuffer(8);
    b.push(f(0, 2, 900, false, 1));
    b.push(f(1, 1, 5, true, 2));
    b.push(f(2, 1, 3, false, 3));
    const got = b.fetch(8, 10);
    expect(lanes(got)).toEqual([0, 1, 2]);
    expect(got[1]).toEqual(f(1, 1, 5, true, 2));
    expect(b.length).toBe(0);
  });

  it('fetch returns at most `max` entries and leaves the rest queued', () => {
    const b = new FaultBuffer(8);
    for (let i = 0; i < 5; i++) b.push(f(i, 1, i, false, i * 10));
    expect(lanes(b.fetch(2, 1000))).toEqual([0, 1]);
    expect(b.length).toBe(3);
    expect(b.oldestTime()).toBe(20);
    expect(b.fetch(0, 1000)).toEqual([]);
    expect(b.length).toBe(3);
    expect(lanes(b.fetch(10, 1000))).toEqual([2, 3, 4]);
    expect(b.length).toBe(0);
  });

  it('fetch stops at the first entry raised after `now`, even if later ones are older', () => {
    const b = new FaultBuffer(8);
    b.push(f(0, 1, 0, false, 5));
    b.push(f(1, 1, 1, false, 10));
    b.push(f(2, 1, 2, false, 3)); // raised before lane 1's but queued behind it
    expect(b.fetch(8, 4)).toEqual([]); // the head (t=5) is still in the future
    expect(lanes(b.fetch(8, 5))).toEqual([0]); // t=5 <= 5; stops at t=10 > 5
    expect(b.oldestTime()).toBe(10);
    expect(lanes(b.fetch(8, 10))).toEqual([1, 2]);
  });

  it('flush drops exactly the entries raised at or before `now`, keeping order of the rest', () => {
    const b = new FaultBuffer(8);
    b.push(f(0, 1, 0, false, 5));
    b.push(f(1, 1, 1, false, 10));
    b.push(f(2, 1, 2, false, 3));
    b.push(f(3, 1, 3, false, 7));
    b.push(f(4, 1, 4, false, 12));
    const dropped = b.flush(7); // times 5, 3, 7 are <= 7
    expect(lanes(dropped)).toEqual([0, 2, 3]);
    expect(b.length).toBe(2);
    expect(b.oldestTime()).toBe(10);
    expect(lanes(b.fetch(8, 100))).toEqual([1, 4]);
    expect(b.overflows).toBe(0); // a flush is not an overflow
  });

  it('flush after a partial fetch only sees the unfetched entries', () => {
    const b = new FaultBuffer(4);
    for (let i = 0; i < 4; i++) b.push(f(i, 1, i, false, i));
    expect(lanes(b.fetch(2, 10))).toEqual([0, 1]);
    expect(lanes(b.flush(2))).toEqual([2]);
    expect(b.length).toBe(1);
    // Room for three more now (capacity 4, one left).
    for (let i = 4; i < 7; i++) expect(b.push(f(i, 1, i, false, i))).toBe(true);
    expect(b.push(f(7, 1, 7, false, 7))).toBe(false);
    expect(lanes(b.fetch(10, 10))).toEqual([3, 4, 5, 6]);
  });

  it('length and oldestTime track the head', () => {
    const b = new FaultBuffer(4);
    b.push(f(0, 1, 0, false, 42));
    expect(b.length).toBe(1);
    expect(b.oldestTime()).toBe(42);
    b.push(f(1, 1, 1, false, 50));
    expect(b.oldestTime()).toBe(42);
    b.fetch(1, 42);
    expect(b.length).toBe(1);
    expect(b.oldestTime()).toBe(50);
    b.fetch(1, 50);
    expect(b.oldestTime()).toBeUndefined();
  });

  it('keeps FIFO order and capacity across internal compaction (head past 1024)', () => {
    const b = new FaultBuffer(4096);
    for (let i = 0; i < 2000; i++) b.push(f(i, 1, i, false, i));
    // Fetching 1500 moves the head past 1024 with head*2 > 2000: the queue compacts.
    const first = b.fetch(1500, 1e9);
    expect(first.length).toBe(1500);
    expect(first[1499].lane).toBe(1499);
    expect(b.length).toBe(500);
    expect(b.oldestTime()).toBe(1500);
    // Capacity still counts only unfetched entries: 4096 - 500 = 3596 more fit.
    for (let i = 2000; i < 5596; i++) expect(b.push(f(i, 1, i, false, i))).toBe(true);
    expect(b.push(f(5596, 1, 0, false, 5596))).toBe(false);
    expect(b.overflows).toBe(1);
    const rest = b.fetch(10_000, 1e9);
    expect(rest.length).toBe(4096);
    expect(lanes(rest)).toEqual(Array.from({ length: 4096 }, (_, i) => 1500 + i));
  });
});

describe('coalesceFaults', () => {
  it('merges entries for the same (space, vpn) and counts the ones merged away', () => {
    const es = [f(0, 1, 7, false, 0), f(1, 1, 7, false, 1), f(2, 1, 8, false, 2), f(3, 1, 7, false, 3)];
    const { pages, coalesced } = coalesceFaults(es);
    // 4 entries, 2 distinct pages -> 2 merged away.
    expect(coalesced).toBe(2);
    expect(pages.map((p) => [p.space, p.vpn])).toEqual([[1, 7], [1, 8]]);
    // Every entry of a page is kept, in arrival order, for the replay.
    expect(lanes(pages[0].entries)).toEqual([0, 1, 3]);
    expect(lanes(pages[1].entries)).toEqual([2]);
  });

  it('the page takes the most intrusive access: write wins whatever its position', () => {
    const { pages } = coalesceFaults([
      f(0, 1, 1, false, 0), f(1, 1, 1, true, 1), f(2, 1, 1, false, 2), // write in the middle
      f(3, 1, 2, true, 3), f(4, 1, 2, false, 4), // write first
      f(5, 1, 3, false, 5), f(6, 1, 3, false, 6), // reads only
    ]);
    expect(pages.map((p) => [p.vpn, p.write])).toEqual([[1, true], [2, true], [3, false]]);
  });

  it('sorts by space, then vpn', () => {
    const { pages, coalesced } = coalesceFaults([
      f(0, 2, 1, false, 0), f(1, 1, 9, false, 1), f(2, 1, 2, false, 2), f(3, 2, 0, false, 3), f(4, 1, 10, false, 4),
    ]);
    expect(coalesced).toBe(0);
    expect(pages.map((p) => [p.space, p.vpn])).toEqual([[1, 2], [1, 9], [1, 10], [2, 0], [2, 1]]);
  });

  it('agrees with a map of pages keyed by (space, vpn) over random batches', () => {
    let x = 12345;
    const next = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    for (let round = 0; round < 200; round++) {
      const es = Array.from({ length: 1 + next(300) }, (_, i) => f(i, next(3), next(round % 2 === 0 ? 40 : 4000), next(4) === 0, i));
      const byKey = new Map<string, { space: number; vpn: number; write: boolean; lanes: number[] }>();
      for (const e of es) {
        const k = `${e.space}:${e.vpn}`;
        const c = byKey.get(k);
        if (c) {
          c.write ||= e.write;
          c.lanes.push(e.lane);
        } else byKey.set(k, { space: e.space, vpn: e.vpn, write: e.write, lanes: [e.lane] });
      }
      const want = [...byKey.values()].sort((a, b) => a.space - b.space || a.vpn - b.vpn);
      const { pages, coalesced } = coalesceFaults(es);
      expect(coalesced).toBe(es.length - want.length);
      expect(pages.map((p) => ({ space: p.space, vpn: p.vpn, write: p.write, lanes: lanes(p.entries) }))).toEqual(want);
    }
  });

  it('does not merge the same vpn in different spaces', () => {
    const { pages, coalesced } = coalesceFaults([f(0, 2, 5, true, 0), f(1, 1, 5, false, 1)]);
    expect(coalesced).toBe(0);
    expect(pages.map((p) => [p.space, p.vpn, p.write])).toEqual([[1, 5, false], [2, 5, true]]);
  });

  it('with coalesce=false keeps one page per entry (sorted, stable), merging nothing', () => {
    const es = [f(0, 1, 7, false, 0), f(1, 1, 3, true, 1), f(2, 1, 7, true, 2), f(3, 1, 7, false, 3)];
    const { pages, coalesced } = coalesceFaults(es, false);
    expect(coalesced).toBe(0);
    expect(pages.length).toBe(4);
    // vpn 3 first, then the three vpn-7 entries in arrival order, each with its own access type.
    expect(pages.map((p) => [p.vpn, p.write, lanes(p.entries)])).toEqual([
      [3, true, [1]], [7, false, [0]], [7, true, [2]], [7, false, [3]],
    ]);
  });

  it('handles no entries and does not mutate its input', () => {
    expect(coalesceFaults([])).toEqual({ pages: [], coalesced: 0 });
    expect(coalesceFaults([], false)).toEqual({ pages: [], coalesced: 0 });
    const es = [f(0, 1, 9, false, 0), f(1, 1, 1, true, 1), f(2, 1, 9, true, 2)];
    const copy = es.map((e) => ({ ...e }));
    coalesceFaults(es);
    coalesceFaults(es, false);
    expect(es).toEqual(copy);
  });

  it('round trip: entries fetched from a buffer coalesce into the pages the batch services', () => {
    const b = new FaultBuffer(16);
    // Three lanes fault on vpn 100 (one writes), one on vpn 4, one on another space's vpn 4.
    b.push(f(0, 1, 100, false, 10));
    b.push(f(1, 1, 100, true, 11));
    b.push(f(2, 1, 4, false, 12));
    b.push(f(3, 1, 100, false, 13));
    b.push(f(4, 2, 4, false, 14));
    const { pages, coalesced } = coalesceFaults(b.fetch(16, 20));
    expect(coalesced).toBe(2);
    expect(pages.map((p) => [p.space, p.vpn, p.write, lanes(p.entries)])).toEqual([
      [1, 4, false, [2]], [1, 100, true, [0, 1, 3]], [2, 4, false, [4]],
    ]);
  });
});
