import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EVICTION_DEFAULTS, EvictionState, MAX_EVICTION_UNIT, pickVictim } from '../../src/policy/eviction.ts';
import { ps, type TimePs } from '../../src/units/time.ts';

/** mulberry32: a tiny seeded generator returning [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const t = (n: number): TimePs => ps(n);

describe('eviction: LRU of 4 KiB pages', () => {
  it('evicts the least recently used page; touching makes a page recent', () => {
    const s = new EvictionState(EVICTION_DEFAULTS['lru-page']);
    s.insert(1, t(1));
    s.insert(2, t(2));
    s.insert(3, t(3));
    expect(pickVictim(s)).toEqual({ unit: 1, pages: [1], lastUse: t(1) });
    s.touch(1, t(4));
    expect(pickVictim(s)!.unit).toBe(2);
    s.remove(2);
    expect(pickVictim(s)!.unit).toBe(3);
    expect(s.lruOrder()).toEqual([3, 1]);
  });

  it('breaks ties between equal times by call order', () => {
    const s = new EvictionState(EVICTION_DEFAULTS['lru-page']);
    s.insert(9, t(5));
    s.insert(4, t(5));
    expect(pickVictim(s)!.unit).toBe(9);
  });

  it('matches a reference LRU list over random operation sequences', () => {
    const op = fc.record({ kind: fc.constantFrom('insert', 'touch', 'remove'), page: fc.integer({ min: 0, max: 20 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const s = new EvictionState(EVICTION_DEFAULTS['lru-page']);
        let ref: number[] = [];
        ops.forEach((o, i) => {
          if (o.kind === 'insert' || (o.kind === 'touch' && ref.includes(o.page))) {
            if (o.kind === 'insert') s.insert(o.page, t(i));
            else s.touch(o.page, t(i));
            ref = [...ref.filter((p) => p !== o.page), o.page];
          } else if (o.kind === 'remove') {
            s.remove(o.page);
            ref = ref.filter((p) => p !== o.page);
          }
          expect(s.lruOrder()).toEqual(ref);
          expect(pickVictim(s)?.unit ?? null).toBe(ref[0] ?? null);
          expect(s.size).toBe(ref.length);
        });
      }),
    );
  });

  it('keeps its order while its arrays grow, and refuses units beyond MAX_EVICTION_UNIT', () => {
    const s = new EvictionState(EVICTION_DEFAULTS['lru-page']);
    s.insert(3, t(1));
    s.insert(100_000, t(2)); // far past the first allocation: the arrays grow
    s.insert(7, t(3));
    s.touch(3, t(4));
    expect(s.lruOrder()).toEqual([100_000, 7, 3]);
    expect([...s.lruUnits()]).toEqual([100_000, 7, 3]);
    expect(s.randomOrder()).toEqual([3, 100_000, 7]);
    expect(s.has(100_000)).toBe(true);
    expect(s.has(99_999)).toBe(false);
    expect(() => s.insert(MAX_EVICTION_UNIT, t(5))).toThrow(RangeError);
    const chunks = new EvictionState(EVICTION_DEFAULTS['lru-chunk']);
    expect(() => chunks.insert(MAX_EVICTION_UNIT * 512, t(0))).toThrow(RangeError);
    expect(chunks.size).toBe(0);
  });

  it('rejects time going backwards and touching a non-resident page', () => {
    const s = new EvictionState(EVICTION_DEFAULTS['lru-page']);
    s.insert(1, t(10));
    expect(() => s.insert(2, t(9))).toThrow(RangeError);
    expect(() => s.touch(7, t(11))).toThrow(RangeError);
    expect(pickVictim(new EvictionState(EVICTION_DEFAULTS['lru-page']))).toBeNull();
  });
});

describe('eviction: LRU of 2 MiB root chunks', () => {
  it('evicts a whole 2 MiB chunk, ordered by its most recent allocation or use', () => {
    const s = new EvictionState(EVICTION_DEFAULTS['lru-chunk']);
    expect(s.unitPages).toBe(512);
    s.insert(5, t(1)); // chunk 0
    s.insert(600, t(2)); // chunk 1
    s.insert(1100, t(3)); // chunk 2
    s.insert(7, t(4)); // chunk 0 becomes most recent
    s.insert(511, t(5)); // chunk 0 again
    expect(pickVictim(s)).toEqual({ unit: 1, pages: [600], lastUse: t(2) });
    s.touch(600, t(6));
    expect(pickVictim(s)!.unit).toBe(2);
    expect(s.removeUnit(2)).toEqual([1100]);
    s.removeUnit(1);
    const v = pickVictim(s)!;
    expect(v).toEqual({ unit: 0, pages: [5, 7, 511], lastUse: t(5) });
    expect(s.removeUnit(v.unit)).toEqual([5, 7, 511]);
    expect(s.size).toBe(0);
    expect(s.unitCount).toBe(0);
    expect(pickVictim(s)).toBeNull();
  });

  it('keeps a chunk until its last page is removed and honours skip', () => {
    const s = new EvictionState(EVICTION_DEFAULTS['lru-chunk']);
    s.insert(1, t(1));
    s.insert(2, t(1));
    s.insert(513, t(2));
    s.remove(1);
    expect(pickVictim(s)).toEqual({ unit: 0, pages: [2], lastUse: t(1) });
    expect(pickVictim(s, undefined, new Set([0]))!.unit).toBe(1);
    expect(pickVictim(s, undefined, new Set([0, 1]))).toBeNull();
    // Units that are not resident in the skip list change nothing.
    expect(pickVictim(s, undefined, new Set([5, 9]))!.unit).toBe(0);
    s.remove(2);
    expect(pickVictim(s)!.unit).toBe(1);
  });
});

describe('eviction: random', () => {
  function run(seed: number, ops: { ins: boolean; page: number }[]) {
    const s = new EvictionState(EVICTION_DEFAULTS.random);
    const rng = seeded(seed);
    const victims: number[] = [];
    ops.forEach((o, i) => {
      if (o.ins) s.insert(o.page, t(i));
      else s.remove(o.page);
      const v = pickVictim(s, rng);
      if (v) {
        expect(s.has(v.pages[0])).toBe(true);
        expect(v.pages).toEqual([v.unit]);
        victims.push(v.unit);
      } else {
        expect(s.size).toBe(0);
      }
    });
    return victims;
  }

  it('is deterministic for a given seeded rng and always picks a resident unit', () => {
    const op = fc.record({ ins: fc.boolean(), page: fc.integer({ min: 0, max: 30 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer(), (ops, seed) => {
        expect(run(seed, ops)).toEqual(run(seed, ops));
      }),
    );
  });

  it('spreads picks over all resident units', () => {
    const s = new EvictionState(EVICTION_DEFAULTS.random);
    for (let p = 0; p < 4; p++) s.insert(p, t(p));
    const rng = seeded(7);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(pickVictim(s, rng)!.unit);
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('maps rng output to the unit array and validates it', () => {
    const s = new EvictionState(EVICTION_DEFAULTS.random);
    for (const p of [10, 20, 30]) s.insert(p, t(p));
    expect(pickVictim(s, () => 0)!.unit).toBe(10);
    expect(pickVictim(s, () => 0.999)!.unit).toBe(30);
    expect(() => pickVictim(s, () => 1)).toThrow(RangeError);
    expect(() => pickVictim(s)).toThrow(RangeError);
    s.remove(10); // swap-with-last: [30, 20]
    expect(s.randomOrder()).toEqual([30, 20]);
  });

  it('with units skipped, picks the floor(r × m)-th of the m others in array order (a reference filter)', () => {
    const op = fc.record({ ins: fc.boolean(), page: fc.integer({ min: 0, max: 30 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(fc.integer({ min: 0, max: 34 }), { maxLength: 12 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (ops, skipList, r) => {
        const s = new EvictionState(EVICTION_DEFAULTS.random);
        ops.forEach((o, i) => (o.ins ? s.insert(o.page, t(i)) : s.remove(o.page)));
        const skip = new Set(skipList);
        const rest = s.randomOrder().filter((u) => !skip.has(u));
        let draws = 0;
        const v = pickVictim(s, () => (draws++, r), skip);
        expect(v?.unit ?? null).toBe(rest.length === 0 ? null : rest[Math.floor(r * rest.length)]);
        // No unit to pick: no number drawn, so the stream stays where it was.
        expect(draws).toBe(rest.length === 0 ? 0 : 1);
        // The same list through candidates(): its count and every entry, in order.
        const c = s.candidates(skip);
        expect(c.count).toBe(rest.length);
        expect(Array.from({ length: c.count }, (_, i) => c.at(i))).toEqual(rest);
        expect(() => c.at(c.count)).toThrow(RangeError);
        // Plug-ins may destructure it (plug-in API 1): `at` works detached from its object.
        const { count, at } = s.candidates(skip);
        expect(Array.from({ length: count }, (_, i) => at(i))).toEqual(rest);
      }),
    );
  });

  it('can pick whole 2 MiB chunks', () => {
    const s = new EvictionState({ kind: 'random', unitPages: 512 });
    s.insert(3, t(0));
    s.insert(4, t(0));
    expect(pickVictim(s, () => 0.5)).toEqual({ unit: 0, pages: [3, 4], lastUse: t(0) });
  });
});
