// Measure 2: fault throughput against batch size, lanes and duplicate coalescing.
import { describe, it, expect } from 'vitest';
import { throughputMeasure, throughputRun } from '../../src/faultbench/throughput.ts';
import { withBatch, withCoalescing, NOTES } from '../../src/faultbench/harness.ts';
import { profile } from './helpers.ts';

const WINDOW = 20_000_000_000; // 20 ms

describe('fault throughput', () => {
  it('batch size 1 services fewer faults per second than 256', () => {
    const p = profile('pascal-pcie3');
    const one = throughputRun(withBatch(p, 1), 64, 2, 1, WINDOW, 1);
    const big = throughputRun(withBatch(p, 256), 64, 2, 1, WINDOW, 1);
    expect(big.finished).toBe(true);
    expect(big.pages).toBe(128);
    expect(one.faultsPerSecond).toBeLessThan(big.faultsPerSecond / 10);
    // Every batch of one pays the whole service latency; 256 lanes' faults share it.
    expect(one.batches).toBeGreaterThan(big.batches * 10);
  });

  it('more concurrently faulting lanes give more faults per second, until the per-page migrate time bounds it', () => {
    const p = profile('gpu-pcie4');
    const rates = [1, 8, 64].map((n) => throughputRun(p, n, 2, 1, WINDOW, 1).faultsPerSecond);
    expect(rates[1]).toBeGreaterThan(rates[0] * 4);
    expect(rates[2]).toBeGreaterThan(rates[1]);
    // Each migrated page costs perPageCost of driver CPU time plus its copy: that is the ceiling.
    const perPage = (p.fault!.perPageCost! + 4096 / 25e9 * 1e12) / 1e12;
    expect(rates[2]).toBeLessThan(1 / perPage);
  });

  it('coalescing duplicate faults pays off when lanes share pages', () => {
    const p = profile('h100-pcie5');
    const on = throughputRun(withCoalescing(p, true), 64, 2, 4, WINDOW, 1);
    const off = throughputRun(withCoalescing(p, false), 64, 2, 4, WINDOW, 1);
    expect(on.pages).toBe(32);
    expect(off.pages).toBe(32);
    expect(on.coalesced).toBeGreaterThan(0);
    expect(off.coalesced).toBe(0);
    expect(on.faultsPerSecond).toBeGreaterThan(off.faultsPerSecond);
  });

  it('builds rows per batch size, lane count and coalescing, with latency histograms; pinning is n/a', () => {
    const t = throughputMeasure([profile('sva-accelerator'), profile('rdma-nic')], {
      batchSizes: [1, 32], lanes: 16, laneCounts: [1, 16], pagesPerLane: 1, share: 4, windowPs: WINDOW,
    }, 1);
    expect(t.rows.map((r) => r.key)).toEqual([
      'throughput.batch.1', 'throughput.batch.32', 'throughput.lanes.1', 'throughput.lanes.16',
      'throughput.shared.coalesce', 'throughput.shared.no-coalesce',
    ]);
    for (const r of t.rows) {
      expect(r.cells['rdma-nic']).toEqual({ value: null, note: NOTES.pinning });
      expect(r.cells['sva-accelerator'].value).toBeGreaterThan(0);
    }
    expect(t.histograms!.map((h) => h.profile)).toEqual(['sva-accelerator']);
    const h = t.histograms![0];
    expect(h.samples).toBe(16);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(16);
    expect(h.p99Us).toBeGreaterThanOrEqual(h.p50Us);
  });
});
