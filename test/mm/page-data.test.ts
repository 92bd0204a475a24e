// PageContents (slabs of 4 KiB slots, copies sharing a slot until written) against the plain
// store it replaced: a Map from pfn to its own Uint8Array, a missing entry reading as zeroes.
// Random operations on both, then every pfn read back every way the store offers.
import { describe, it, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { PageContents, SLAB_SLOTS } from '../../src/mm/page-data.ts';
import { PageStore, PageKind, ZERO_BYTES } from '../../src/mm/page.ts';
import { PAGE_SIZE } from '../../src/mm/constants.ts';

/** The store before: a buffer per written page, copied in full by copy_highpage. */
class Reference {
  data = new Map<number, Uint8Array>();
  private own(pfn: number): Uint8Array {
    let d = this.data.get(pfn);
    if (!d) this.data.set(pfn, (d = new Uint8Array(PAGE_SIZE)));
    return d;
  }
  fill(pfn: number, byte: number): void {
    if (byte === 0) this.data.delete(pfn);
    else this.own(pfn).fill(byte);
  }
  writeU32(pfn: number, off: number, v: number): void {
    new DataView(this.own(pfn).buffer).setUint32(off, v, true);
  }
  copy(dst: number, src: number): void {
    const s = this.data.get(src);
    if (!s) this.data.delete(dst);
    else this.own(dst).set(s);
  }
  writeFrom(pfn: number, src: Uint8Array, off: number): void {
    this.own(pfn).set(src.subarray(off, off + PAGE_SIZE));
  }
  drop(pfn: number): void {
    this.data.delete(pfn);
  }
  bytes(pfn: number): Uint8Array {
    return this.data.get(pfn) ?? ZERO_BYTES;
  }
}

/**
 * More pfns than a slab has slots (a second slab, slots across slabs), but mostly a few, so
 * copies, shared slots, writes to a sharer and slot reuse meet often.
 */
const PFNS = SLAB_SLOTS + 9;
const pfn = fc.oneof({ arbitrary: fc.nat(7), weight: 4 }, { arbitrary: fc.nat(PFNS - 1), weight: 1 });
const op = fc.oneof(
  fc.record({ k: fc.constant('fill' as const), pfn, byte: fc.oneof(fc.constant(0), fc.nat(255)) }),
  // Words mostly among the first few (which the checks read one by one), and anywhere.
  fc.record({ k: fc.constant('word' as const), pfn, word: fc.oneof(fc.nat(9), fc.nat(1023)), value: fc.oneof(fc.constant(0), fc.nat(0xffffffff)) }),
  fc.record({ k: fc.constant('copy' as const), dst: pfn, src: pfn }),
  fc.record({ k: fc.constant('from' as const), pfn, seed: fc.nat(255) }),
  fc.record({ k: fc.constant('drop' as const), pfn }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function apply(c: PageContents, r: Reference, o: Op): void {
  switch (o.k) {
    case 'fill': c.fill(o.pfn, o.byte); r.fill(o.pfn, o.byte); break;
    case 'word': c.writeU32(o.pfn, o.word * 4, o.value); r.writeU32(o.pfn, o.word * 4, o.value); break;
    case 'copy': c.copy(o.dst, o.src); r.copy(o.dst, o.src); break;
    case 'from': {
      const src = new Uint8Array(PAGE_SIZE + 8);
      for (let i = 0; i < src.length; i++) src[i] = (o.seed * 31 + i * 7) & 0xff;
      c.writeFrom(o.pfn, src, 8); r.writeFrom(o.pfn, src, 8);
      break;
    }
    case 'drop': c.drop(o.pfn); r.drop(o.pfn); break;
  }
}

/** The first byte where `a` and `b` differ, or -1 (toEqual on 4 KiB arrays is far too slow here). */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function expectSame(c: PageContents, r: Reference): void {
  const out = new Uint8Array(PAGE_SIZE + 4).fill(0xee);
  for (let p = 0; p < PFNS; p++) {
    const want = r.bytes(p);
    const dv = new DataView(want.buffer, want.byteOffset);
    // The word reads, readInto and isZero first: a view gives a one-word page a slot.
    for (const w of [0, 1, 2, 7, 511, 1023]) expect(c.readU32(p, w * 4)).toBe(dv.getUint32(w * 4, true));
    const words = new Uint32Array(8).fill(7);
    c.readU32s(p, 4088, 2, words);
    expect([words[0], words[1], words[2]]).toEqual([dv.getUint32(4088, true), dv.getUint32(4092, true), 7]);
    c.readU32s(p, 4, 8, words);
    for (let i = 0; i < 8; i++) expect(words[i]).toBe(dv.getUint32(4 + i * 4, true));
    expect(c.isZero(p)).toBe(want.every((b) => b === 0));
    c.readInto(p, out, 4);
    expect(firstDiff(out.subarray(4), want), `pfn ${p} readInto`).toBe(-1);
    expect(firstDiff(c.view(p, ZERO_BYTES), want), `pfn ${p}`).toBe(-1);
  }
  // Every page with a non-zero byte holds contents, and no page the reference never wrote does
  // (a zero word stored into an untouched page leaves it untouched here).
  const nonZero = [...r.data.values()].filter((d) => d.some((b) => b !== 0)).length;
  expect(c.pages).toBeGreaterThanOrEqual(nonZero);
  expect(c.pages).toBeLessThanOrEqual(r.data.size);
  expect(c.slotsInUse).toBeLessThanOrEqual(c.pages);
}

describe('PageContents', () => {
  test.prop([fc.array(op, { minLength: 20, maxLength: 300, size: 'max' })], { numRuns: 100 })('reads what a Map of per-page buffers reads, after random ops', (ops) => {
    const c = new PageContents(PFNS);
    const r = new Reference();
    for (const o of ops) apply(c, r, o);
    expectSame(c, r);
  });

  it('shares a copied slot until one side is written, then each keeps its own bytes', () => {
    const c = new PageContents(4);
    c.fill(1, 0);
    c.writeU32(1, 4, 1);
    c.writeU32(1, 8, 0xdeadbeef);
    c.writeU32(1, 4, 0);
    c.copy(2, 1);
    expect(c.slotsInUse).toBe(1);
    expect(c.pages).toBe(2);
    c.writeU32(2, 8, 7);
    expect(c.slotsInUse).toBe(2);
    expect(c.readU32(1, 8)).toBe(0xdeadbeef);
    expect(c.readU32(2, 8)).toBe(7);
    // The migration case: the source is freed after the copy, and no byte was ever copied.
    c.copy(3, 1);
    c.drop(1);
    expect(c.readU32(3, 8)).toBe(0xdeadbeef);
    expect(c.slotsInUse).toBe(2);
  });

  it('keeps a page with one word in no slot, and gives it one with the same bytes once it needs one', () => {
    const c = new PageContents(8);
    c.writeU32(1, 12, 0x01020304);
    expect([c.pages, c.slotsInUse, c.readU32(1, 12), c.readU32(1, 8)]).toEqual([1, 0, 0x01020304, 0]);
    c.copy(2, 1);
    expect([c.pages, c.slotsInUse, c.readU32(2, 12)]).toEqual([2, 0, 0x01020304]);
    c.writeU32(2, 12, 0); // its only word back to zero: an untouched page again
    expect([c.pages, c.has(2), c.isZero(2)]).toEqual([1, false, true]);
    c.writeU32(1, 16, 5); // a second word: a slot holding both
    expect([c.slotsInUse, c.readU32(1, 12), c.readU32(1, 16)]).toEqual([1, 0x01020304, 5]);
    c.writeU32(3, 4, 9);
    const v = c.view(3, ZERO_BYTES); // a view needs the bytes themselves
    expect([v[4], v[5], v[0], v[8], c.slotsInUse]).toEqual([9, 0, 0, 0, 2]);
  });

  it('reuses freed slots (cleared) before allocating another slab', () => {
    const c = new PageContents(2 * SLAB_SLOTS);
    for (let p = 0; p < SLAB_SLOTS; p++) c.fill(p, 0xab);
    expect(c.allocatedBytes).toBe(SLAB_SLOTS * PAGE_SIZE);
    for (let p = 0; p < SLAB_SLOTS; p++) c.drop(p);
    for (let p = SLAB_SLOTS; p < 2 * SLAB_SLOTS; p++) {
      c.writeU32(p, 0, 1);
      c.writeU32(p, 8, 0); // a second word: the page takes a slot
    }
    expect(c.allocatedBytes).toBe(SLAB_SLOTS * PAGE_SIZE);
    for (let p = SLAB_SLOTS; p < 2 * SLAB_SLOTS; p++) {
      expect(c.readU32(p, 0)).toBe(1);
      expect(c.readU32(p, 4)).toBe(0);
      expect(c.view(p, ZERO_BYTES).subarray(4).every((b) => b === 0)).toBe(true);
    }
  });
});

describe('PageStore contents', () => {
  it('a reused frame reads as zeroes, and grows with the store', () => {
    const s = new PageStore(16, true);
    const a = s.allocSystem();
    s.writeU32(a, 0, 5);
    s.freeFrame(a);
    const b = s.allocSystem();
    expect(b).toBe(a);
    expect(s.readU32(b, 0)).toBe(0);
    const base = s.reserveRange(4096);
    s.initPage(base + 4095, PageKind.SYSTEM);
    s.fill(base + 4095, 3);
    expect(s.bytes(base + 4095)[4095]).toBe(3);
  });

  it('keeps nothing in no-data mode', () => {
    const s = new PageStore(16, false);
    const a = s.allocSystem();
    s.writeU32(a, 0, 5);
    s.fill(a, 9);
    expect(s.readU32(a, 0)).toBe(0);
    expect(s.bytes(a)).toBe(ZERO_BYTES);
    expect(s.isZero(a)).toBe(true);
    expect(s.contents).toBeNull();
  });
});
