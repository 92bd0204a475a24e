// The text-width bounds the charts' layouts are computed from (report/charts.ts).
import { describe, it, expect } from 'vitest';
import { legendRows, textWidthPx, wrappedLines } from '../../src/report/charts.ts';

describe('chart layout estimates', () => {
  it('bound DejaVu Sans advances from above, by character class', () => {
    // DejaVu Sans at 12 px: "m" 11.7 px, "a" 7.4 px, "i" 3.3 px, "W" 11.9 px.
    expect(textWidthPx('m')).toBeGreaterThanOrEqual(11.7);
    expect(textWidthPx('a')).toBeGreaterThanOrEqual(7.4);
    expect(textWidthPx('i')).toBeGreaterThanOrEqual(3.3);
    expect(textWidthPx('i')).toBeLessThan(textWidthPx('a'));
    expect(textWidthPx('W', 24)).toBe(2 * textWidthPx('W', 12));
  });

  it('wrap words greedily; a newline starts a line', () => {
    expect(wrappedLines('short', 200)).toBe(1);
    expect(wrappedLines('aaaa aaaa aaaa', textWidthPx('aaaa aaaa'))).toBe(2);
    expect(wrappedLines('one\ntwo', 1000)).toBe(2);
    // A word wider than the line still takes one line.
    expect(wrappedLines('aaaaaaaaaaaaaaaaaaaa', 10)).toBe(1);
  });

  it('count legend rows, never fewer for wider names', () => {
    expect(legendRows([], 800)).toBe(0);
    const names = ['gh200-c2c', 'gpu-pcie4', 'h100-pcie5', 'pascal-pcie3', 'rdma-nic', 'sva-accelerator', 'mi250x-xnack'];
    expect(legendRows(names, 2000)).toBe(1);
    const narrow = legendRows(names, 400);
    expect(narrow).toBeGreaterThan(1);
    expect(legendRows(names.map((n) => `${n} evict-lru-chunk`), 400)).toBeGreaterThanOrEqual(narrow);
  });
});
