// PageStore's compact layout against the plain per-pfn layout it replaced: random operations
// on both, then every field of every pfn compared, through the methods and through the dense
// views (built before the operations, so they must have been kept current, and after).
import { describe, it, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { PageStore, PageKind, PG_HEAD, PG_TAIL, PG_ANON } from '../../src/mm/page.ts';

/** The layout before: one plain array per field, defaults as the old typed arrays had them. */
class Reference {
  kind: number[] = [];
  flags: number[] = [];
  refcount: number[] = [];
  index: number[] = [];
  head: number[] = [];
  order: number[] = [];
  entire: number[] = [];
  pin: number[] = [];
  mapping: number[] = [];
  pgmap: number[] = [];
  top = 1;
  freeSmall: number[] = [];
  constructor(readonly cap: number) {
    for (const [a, v] of [[this.kind, 0], [this.flags, 0], [this.refcount, 0], [this.index, 0], [this.head, -1], [this.order, 0],
      [this.entire, 0], [this.pin, 0], [this.mapping, 0], [this.pgmap, -1]] as Array<[number[], number]>) a.push(...new Array<number>(cap).fill(v));
  }
  reserve(n: number, align = 1): number {
    const base = Math.ceil(this.top / align) * align;
    this.top = base + n;
    return base;
  }
  init(pfn: number, kind: number): void {
    this.kind[pfn] = kind;
    this.flags[pfn] = 0;
    this.refcount[pfn] = 1;
    this.entire[pfn] = this.pin[pfn] = this.mapping[pfn] = this.index[pfn] = this.order[pfn] = 0;
    this.head[pfn] = -1;
  }
  allocSystem(): number {
    const pfn = this.freeSmall.length > 0 ? this.freeSmall.pop()! : this.reserve(1);
    this.init(pfn, PageKind.SYSTEM);
    return pfn;
  }
  allocCompound(order: number): number {
    const n = 1 << order;
    const h = this.reserve(n, n);
    for (let i = 0; i < n; i++) {
      this.init(h + i, PageKind.SYSTEM);
      this.head[h + i] = h;
      this.refcount[h + i] = 0;
      this.flags[h + i] = i === 0 ? PG_HEAD : PG_TAIL;
    }
    this.refcount[h] = 1;
    this.order[h] = order;
    return h;
  }
  free(pfn: number): void {
    const small = this.head[pfn] < 0;
    this.kind[pfn] = PageKind.FREE;
    this.flags[pfn] = 0;
    this.refcount[pfn] = 0;
    this.head[pfn] = -1;
    if (small) this.freeSmall.push(pfn);
  }
  /** split_huge_page's struct-page part (huge-memory.ts before the change). */
  split(h: number): void {
    const n = 1 << this.order[h];
    for (let i = 0; i < n; i++) {
      this.head[h + i] = -1;
      this.flags[h + i] &= ~(PG_HEAD | PG_TAIL);
    }
    this.order[h] = 0;
    this.entire[h] = 0;
  }
}

/** Index values: dense ones, the edges of the dense range, and ones that need the side table. */
const INDEXES = [0, 1, 7, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 0x7ffff7ff0, 255 * 2 ** 32 - 1, 255 * 2 ** 32, 2 ** 45 + 3, 2 ** 53 - 1, -1, -(2 ** 40), 1.5, 2 ** 33 + 0.25];

type Op =
  | { op: 'small' } | { op: 'compound'; order: number } | { op: 'free'; k: number } | { op: 'split'; k: number }
  | { op: 'index'; k: number; v: number } | { op: 'copy'; k: number; j: number } | { op: 'mapping'; k: number; v: number }
  | { op: 'pin'; k: number; d: number } | { op: 'entire'; k: number; v: number } | { op: 'pgmap'; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ op: 'small' as const }),
  fc.record({ op: fc.constant('compound' as const), order: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ op: fc.constant('free' as const), k: fc.nat() }),
  fc.record({ op: fc.constant('split' as const), k: fc.nat() }),
  fc.record({ op: fc.constant('index' as const), k: fc.nat(), v: fc.constantFrom(...INDEXES) }),
  fc.record({ op: fc.constant('copy' as const), k: fc.nat(), j: fc.nat() }),
  fc.record({ op: fc.constant('mapping' as const), k: fc.nat(), v: fc.constantFrom(0, 1, 2, 77) }),
  fc.record({ op: fc.constant('pin' as const), k: fc.nat(), d: fc.constantFrom(1, -1, 2) }),
  fc.record({ op: fc.constant('entire' as const), k: fc.nat(), v: fc.constantFrom(0, 1, 2, -1) }),
  fc.record({ op: fc.constant('pgmap' as const), n: fc.integer({ min: 1, max: 40 }) }),
);

function compare(p: PageStore, r: Reference, pfns: number): void {
  const views = { index: p.index, head: p.head, order: p.order, entireMapcount: p.entireMapcount, pincount: p.pincount, mapping: p.mapping, pgmap: p.pgmap };
  for (let pfn = 0; pfn < pfns; pfn++) {
    const at = `pfn ${pfn}`;
    expect([p.kind[pfn], p.flags[pfn] & 0x7ff, p.refcount[pfn]], at).toEqual([r.kind[pfn], r.flags[pfn], r.refcount[pfn]]);
    expect(p.indexOf(pfn), at).toBe(r.index[pfn]);
    expect(p.isCompound(pfn), at).toBe(r.head[pfn] >= 0);
    expect(p.folio(pfn), at).toBe(r.head[pfn] >= 0 ? r.head[pfn] : pfn);
    if (r.head[pfn] >= 0) expect(p.folioNr(pfn), at).toBe(1 << r.order[r.head[pfn]]);
    if (r.flags[pfn] & PG_HEAD) expect(p.orderOf(pfn), at).toBe(r.order[pfn]);
    expect([p.entireMapcountOf(pfn), p.pincountOf(pfn), p.mappingOf(pfn), p.pgmapId(pfn)], at)
      .toEqual([r.entire[pfn], r.pin[pfn], r.mapping[pfn], r.pgmap[pfn]]);
    expect([views.index[pfn], views.head[pfn], views.entireMapcount[pfn], views.pincount[pfn], views.mapping[pfn], views.pgmap[pfn]], at)
      .toEqual([r.index[pfn], r.head[pfn], r.entire[pfn], r.pin[pfn], r.mapping[pfn], r.pgmap[pfn]]);
    if (r.flags[pfn] & PG_HEAD) expect(views.order[pfn], at).toBe(r.order[pfn]);
  }
}

describe('PageStore', () => {
  test.prop([fc.array(opArb, { maxLength: 60 }), fc.boolean()], { numRuns: 300 })('keeps every field as the per-pfn layout did', (ops, viewsFirst) => {
    const p = new PageStore(64, false), r = new Reference(4096);
    if (viewsFirst) compare(p, r, 1);
    const live: number[] = [];
    const heads: number[] = [];
    let pgmaps = 0;
    const pick = (k: number) => live[k % live.length];
    for (const o of ops) {
      switch (o.op) {
        case 'small': {
          const a = p.allocSystem(), b = r.allocSystem();
          expect(a).toBe(b);
          live.push(a);
          break;
        }
        case 'compound': {
          const a = p.allocCompound(o.order), b = r.allocCompound(o.order);
          expect(a).toBe(b);
          for (let i = 0; i < 1 << o.order; i++) live.push(a + i);
          heads.push(a);
          break;
        }
        case 'free': {
          if (live.length === 0) break;
          const pfn = pick(o.k);
          p.freeFrame(pfn);
          r.free(pfn);
          live.splice(live.indexOf(pfn), 1);
          break;
        }
        case 'split': {
          const h = heads.find((x, i) => i >= o.k % Math.max(1, heads.length) && r.head[x] === x);
          if (h === undefined) break;
          const nr = p.folioNr(h);
          for (let i = 0; i < nr; i++) p.clearCompound(h + i);
          p.setEntireMapcount(h, 0);
          r.split(h);
          break;
        }
        case 'index':
          if (live.length === 0) break;
          p.setIndex(pick(o.k), o.v);
          r.index[pick(o.k)] = o.v;
          break;
        case 'copy': {
          if (live.length === 0) break;
          const d = pick(o.k), s = pick(o.j);
          p.copyIndexAndMapping(d, s);
          r.index[d] = r.index[s];
          r.mapping[d] = r.mapping[s];
          break;
        }
        case 'mapping':
          if (live.length === 0) break;
          p.setMapping(pick(o.k), o.v);
          r.mapping[pick(o.k)] = o.v;
          break;
        case 'pin':
          if (live.length === 0) break;
          p.addPincount(pick(o.k), o.d);
          r.pin[pick(o.k)] += o.d;
          break;
        case 'entire':
          if (live.length === 0) break;
          p.setEntireMapcount(pick(o.k), o.v);
          r.entire[pick(o.k)] = o.v;
          break;
        case 'pgmap': {
          const a = p.reserveRange(o.n, 8), b = r.reserve(o.n, 8);
          expect(a).toBe(b);
          p.setPgmap(a, o.n, pgmaps);
          r.pgmap.fill(pgmaps, a, a + o.n);
          pgmaps++;
          break;
        }
      }
    }
    expect(p.top).toBe(r.top);
    compare(p, r, r.top);
  });

  it('looks pgmaps up in ranges registered in any order, and refuses overlaps', () => {
    const p = new PageStore(16, false);
    p.reserveRange(1000);
    p.setPgmap(500, 100, 3);
    p.setPgmap(100, 50, 1);
    p.setPgmap(300, 1, 2);
    const want = (pfn: number) => (pfn >= 100 && pfn < 150 ? 1 : pfn === 300 ? 2 : pfn >= 500 && pfn < 600 ? 3 : -1);
    for (const pfn of [0, 99, 100, 149, 150, 299, 300, 301, 499, 500, 599, 600, 999, 550, 120, 550]) expect(p.pgmapId(pfn), `pfn ${pfn}`).toBe(want(pfn));
    expect(() => p.setPgmap(140, 20, 4)).toThrow(/overlaps/);
    expect(() => p.setPgmap(599, 1, 4)).toThrow(/overlaps/);
    expect(Array.from({ length: 1000 }, (_, i) => p.pgmap[i])).toEqual(Array.from({ length: 1000 }, (_, i) => want(i)));
  });

  it('derives a tail\'s head from its aligned compound page', () => {
    const p = new PageStore(16, false);
    p.allocSystem();
    const h = p.allocCompound(9);
    expect(h % 512).toBe(0);
    for (const i of [0, 1, 255, 511]) {
      expect(p.folio(h + i)).toBe(h);
      expect(p.folioNr(h + i)).toBe(512);
      expect(p.orderOf(h + i)).toBe(9);
    }
    p.setFlag(h, PG_ANON);
    expect(p.isAnon(h + 7)).toBe(true);
    p.clearCompound(h + 7);
    expect([p.folio(h + 7), p.isCompound(h + 7), p.folioNr(h + 7), p.orderOf(h + 7)]).toEqual([h + 7, false, 1, 0]);
  });

  it('holds 16 bytes per pfn in its dense arrays', () => {
    const p = new PageStore(4096, false);
    expect(p.metadataArrays().reduce((s, a) => s + a.byteLength, 0)).toBe(16 * 4096);
    expect(p.pincount[0]).toBe(0);
    expect(p.metadataArrays().reduce((s, a) => s + a.byteLength, 0)).toBe(20 * 4096);
  });
});
