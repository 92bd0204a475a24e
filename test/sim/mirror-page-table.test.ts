import { describe, it, expect } from 'vitest';
import { DevicePageTable } from '../../src/sim/drivers/mirror/page-table.ts';
import { Rng } from '../../src/engine/rng.ts';

describe('DevicePageTable (the HMM mirror device page table)', () => {
  it('maps, replaces and unmaps entries; size counts mapped pages', () => {
    const pt = new DevicePageTable();
    expect(pt.get(7)).toBeUndefined();
    pt.set(7, 0); // pfn 0, read-only: a zero entry is a mapping, not a hole
    expect(pt.get(7)).toBe(0);
    expect(pt.has(7)).toBe(true);
    pt.set(7, 41);
    expect(pt.get(7)).toBe(41);
    expect(pt.size).toBe(1);
    expect(pt.delete(7)).toBe(true);
    expect(pt.delete(7)).toBe(false);
    expect(pt.size).toBe(0);
    expect(pt.mappedInBlock(0)).toBe(0);
  });

  it('counts mapped pages per 2 MiB block', () => {
    const pt = new DevicePageTable();
    for (let v = 512; v < 1024; v++) pt.set(v, v * 2 + 1);
    pt.set(1024, 3);
    expect(pt.mappedInBlock(1)).toBe(512);
    expect(pt.mappedInBlock(2)).toBe(1);
    expect(pt.deleteRange(1000, 1025)).toBe(25);
    expect(pt.mappedInBlock(1)).toBe(488);
    expect(pt.mappedInBlock(2)).toBe(0);
    expect(pt.size).toBe(488);
  });

  it('deleteRange over the whole address space drops everything and reports how many', () => {
    const pt = new DevicePageTable();
    for (const v of [0, 511, 512, 2 ** 30, 2 ** 35 + 3]) pt.set(v, 2);
    expect(pt.deleteRange(0, Number.MAX_SAFE_INTEGER)).toBe(5);
    expect(pt.size).toBe(0);
    expect(pt.get(2 ** 30)).toBeUndefined();
  });

  it('agrees with a Map of entries over random sets, deletes and range deletes', () => {
    const rng = new Rng(17);
    const pt = new DevicePageTable(), ref = new Map<number, number>();
    const span = 4 * 512;
    for (let op = 0; op < 20000; op++) {
      const r = rng.nextFloat(), v = Math.floor(rng.nextFloat() * span);
      if (r < 0.6) {
        const e = Math.floor(rng.nextFloat() * 1e6);
        pt.set(v, e);
        ref.set(v, e);
      } else if (r < 0.9) {
        expect(pt.delete(v)).toBe(ref.delete(v));
      } else {
        const end = v + Math.floor(rng.nextFloat() * (rng.nextFloat() < 0.5 ? 16 : span));
        let n = 0;
        for (const k of [...ref.keys()]) if (k >= v && k < end && ref.delete(k)) n++;
        expect(pt.deleteRange(v, end)).toBe(n);
      }
      expect(pt.size).toBe(ref.size);
    }
    for (let v = 0; v < span; v++) expect(pt.get(v)).toBe(ref.get(v));
    for (let b = 0; b < 4; b++) expect(pt.mappedInBlock(b)).toBe([...ref.keys()].filter((k) => Math.floor(k / 512) === b).length);
  });
});
