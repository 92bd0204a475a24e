// Measure 5: oversubscription.
import { describe, it, expect } from 'vitest';
import { oversubRun, oversubscriptionMeasure, type OversubscriptionConfig } from '../../src/faultbench/oversubscription.ts';
import { NOTES } from '../../src/faultbench/harness.ts';
import { profile } from './helpers.ts';

const TINY: OversubscriptionConfig = { factors: [0.5, 2], policies: ['evict-lru-chunk'], chunks: 2, lanes: 8, passes: 1, randomPerPage: 0.25 };

describe('oversubscription', () => {
  it('2× device memory is slower than 0.5× for a streaming and a random kernel, and evicts', () => {
    const p = profile('gpu-pcie4');
    for (const kernel of ['stream', 'random'] as const) {
      const half = oversubRun(p, kernel, 0.5, 'evict-lru-chunk', TINY, 1);
      const twice = oversubRun(p, kernel, 2, 'evict-lru-chunk', TINY, 1);
      expect(half.evictedPages).toBe(0);
      expect(twice.evictedPages).toBeGreaterThan(0);
      expect(twice.accessesPerSecond).toBeLessThan(half.accessesPerSecond);
    }
  });

  it('every eviction policy runs; devices without memory are n/a', () => {
    const t = oversubscriptionMeasure([profile('pascal-pcie3'), profile('sva-accelerator'), profile('rdma-nic')],
      { ...TINY, factors: [2], policies: ['evict-lru-chunk', 'evict-lru-page', 'evict-random'] }, 1);
    expect(t.rows.map((r) => r.key)).toEqual([
      'oversubscription.stream.evict-lru-chunk.2', 'oversubscription.stream.evict-lru-page.2', 'oversubscription.stream.evict-random.2',
      'oversubscription.random.evict-lru-chunk.2', 'oversubscription.random.evict-lru-page.2', 'oversubscription.random.evict-random.2',
    ]);
    for (const r of t.rows) {
      expect(r.cells['pascal-pcie3'].value).toBeGreaterThan(0);
      expect(r.cells['sva-accelerator']).toEqual({ value: null, note: NOTES.noMemory });
      expect(r.cells['rdma-nic']).toEqual({ value: null, note: NOTES.noMemory });
    }
  });
});
