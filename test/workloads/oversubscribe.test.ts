import { describe, it, expect } from 'vitest';
import { oversubscribedPages } from '../../src/workloads/oversubscribe.ts';
import { GIB, MIB } from '../../src/units/bytes.ts';

describe('oversubscribedPages', () => {
  it('sizes factor × capacity in 4 KiB pages', () => {
    expect(oversubscribedPages(GIB, 1)).toBe(262_144);
    expect(oversubscribedPages(16 * GIB, 1.5)).toBe(6_291_456);
    expect(oversubscribedPages(2 * MIB, 0.5)).toBe(256);
  });

  it('ignores float noise but otherwise rounds up', () => {
    expect(oversubscribedPages(40 * 4096, 1.1)).toBe(44);
    expect(oversubscribedPages(3 * 4096, 1.1)).toBe(4); // 3.3 pages
    expect(oversubscribedPages(4097, 1)).toBe(2);
    expect(oversubscribedPages(100, 0.001)).toBe(1);
  });

  it('rejects bad arguments by name', () => {
    expect(() => oversubscribedPages(0, 1)).toThrow(/'deviceCapacityBytes'/);
    expect(() => oversubscribedPages(1.5, 1)).toThrow(/'deviceCapacityBytes'/);
    expect(() => oversubscribedPages(GIB, 0)).toThrow(/'factor'/);
    expect(() => oversubscribedPages(GIB, Infinity)).toThrow(/'factor'/);
    expect(() => oversubscribedPages(GIB, NaN)).toThrow(RangeError);
  });
});
