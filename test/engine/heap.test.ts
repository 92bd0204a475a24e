import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EventHeap, entryBefore, type HeapEntry } from '../../src/engine/heap.ts';

interface Item extends HeapEntry { readonly tag: string }

function drain<E extends HeapEntry>(h: EventHeap<E>): E[] {
  const out: E[] = [];
  for (let e = h.pop(); e !== undefined; e = h.pop()) out.push(e);
  return out;
}

describe('EventHeap', () => {
  it('is empty initially and after draining', () => {
    const h = new EventHeap<Item>();
    expect(h.size).toBe(0);
    expect(h.peek()).toBeUndefined();
    expect(h.pop()).toBeUndefined();
    h.push({ time: 1, seq: 0, tag: 'x' });
    expect(h.size).toBe(1);
    expect(h.peek()?.tag).toBe('x');
    expect(h.pop()?.tag).toBe('x');
    expect(h.size).toBe(0);
  });

  it('pops same-time entries in seq (FIFO) order', () => {
    const h = new EventHeap<Item>();
    h.push({ time: 5, seq: 0, tag: 'a' });
    h.push({ time: 5, seq: 1, tag: 'b' });
    h.push({ time: 3, seq: 2, tag: 'early' });
    h.push({ time: 5, seq: 3, tag: 'c' });
    h.push({ time: 5, seq: 4, tag: 'd' });
    h.push({ time: 9, seq: 5, tag: 'late' });
    h.push({ time: 5, seq: 6, tag: 'e' });
    expect(drain(h).map((e) => e.tag)).toEqual(['early', 'a', 'b', 'c', 'd', 'e', 'late']);
  });

  it('orders by time first, then seq', () => {
    expect(entryBefore({ time: 1, seq: 9 }, { time: 2, seq: 0 })).toBe(true);
    expect(entryBefore({ time: 2, seq: 0 }, { time: 2, seq: 1 })).toBe(true);
    expect(entryBefore({ time: 2, seq: 1 }, { time: 2, seq: 1 })).toBe(false);
    expect(entryBefore({ time: 3, seq: 0 }, { time: 2, seq: 5 })).toBe(false);
  });

  it('clear() empties the heap', () => {
    const h = new EventHeap<HeapEntry>();
    for (let i = 0; i < 10; i++) h.push({ time: 10 - i, seq: i });
    h.clear();
    expect(h.size).toBe(0);
    expect(h.pop()).toBeUndefined();
  });

  it('pops in (time, seq) order for arbitrary push/pop interleavings (vs a reference sort)', () => {
    // An op is either a push of a time (small range to force many ties) or a pop (null).
    const op = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(null));
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const h = new EventHeap<HeapEntry>();
      let model: HeapEntry[] = [];
      let seq = 0;
      const cmp = (a: HeapEntry, b: HeapEntry) => a.time - b.time || a.seq - b.seq;
      for (const o of ops) {
        if (o === null) {
          model.sort(cmp);
          const want = model.shift();
          expect(h.pop()).toBe(want);
        } else {
          const e = { time: o, seq: seq++ };
          h.push(e);
          model.push(e);
        }
        expect(h.size).toBe(model.length);
      }
      model = model.sort(cmp);
      expect(drain(h)).toEqual(model);
    }), { numRuns: 300 });
  });
});
