// Path selection is a pure function of the candidates: each policy's keys, in order, and the
// deterministic tie-break on the path index.
import { describe, it, expect } from 'vitest';
import { choosePath, type PathCandidate } from '../../src/policy/path.ts';

const c = (index: number, o: Partial<PathCandidate> = {}): PathCandidate => ({
  index, iommu: false, hops: 4, latencyPs: 1_000_000, bandwidth: 32e9, inFlightBytes: 0, ...o,
});

describe('choosePath', () => {
  it('nearest: fewest hops, then lowest latency, then most bandwidth, then the lowest index', () => {
    expect(choosePath('nearest', [c(0, { hops: 6 }), c(1, { hops: 4 })])).toBe(1);
    expect(choosePath('nearest', [c(0, { latencyPs: 900_000 }), c(1)])).toBe(0);
    expect(choosePath('nearest', [c(0, { hops: 4, latencyPs: 2_000_000 }), c(1, { hops: 5, latencyPs: 1 })])).toBe(0);
    expect(choosePath('nearest', [c(0, { bandwidth: 16e9 }), c(1, { bandwidth: Infinity })])).toBe(1);
    expect(choosePath('nearest', [c(0), c(1)])).toBe(0);
    // Load and translation do not matter to it.
    expect(choosePath('nearest', [c(0, { inFlightBytes: 1e9, iommu: true }), c(1, { hops: 5 })])).toBe(0);
  });

  it('least-loaded: fewest bytes in flight on the bottleneck, ties to the nearest', () => {
    expect(choosePath('least-loaded', [c(0, { inFlightBytes: 65536 }), c(1, { hops: 7, inFlightBytes: 4096 })])).toBe(1);
    expect(choosePath('least-loaded', [c(0, { inFlightBytes: 4096, hops: 7 }), c(1, { inFlightBytes: 4096 })])).toBe(1);
    expect(choosePath('least-loaded', [c(0), c(1)])).toBe(0);
  });

  it('avoid-iommu: the nearest untranslated path, else the nearest', () => {
    expect(choosePath('avoid-iommu', [c(0, { iommu: true }), c(1, { hops: 9 })])).toBe(1);
    expect(choosePath('avoid-iommu', [c(0, { iommu: true, hops: 9 }), c(1, { iommu: true })])).toBe(1);
    expect(choosePath('avoid-iommu', [c(0, { hops: 6 }), c(1, { iommu: true }), c(2, { hops: 5 })])).toBe(2);
  });

  it('no candidate: -1', () => {
    expect(choosePath('nearest', [])).toBe(-1);
  });
});
