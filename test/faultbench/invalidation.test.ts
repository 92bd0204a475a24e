// Measure 4: invalidation cost of CPU-side events on a mirrored range.
import { describe, it, expect } from 'vitest';
import { invalidationCost, invalidationMeasure, INVALIDATION_EVENTS, SVM_PAIN_POINTS } from '../../src/faultbench/invalidation.ts';
import { NOTES } from '../../src/faultbench/harness.ts';
import { profile } from './helpers.ts';

describe('invalidation cost', () => {
  const gpu = profile('pascal-pcie3');

  it('fork write-protects the range: the mirror device is shot down and re-faults every page', () => {
    const c = invalidationCost(gpu, 'fork', 1);
    expect(c.shootdowns).toBeGreaterThanOrEqual(1);
    expect(c.shootdownPs).toBe(c.shootdowns * gpu.tlb.invalidationCost);
    expect(c.faults).toBeGreaterThanOrEqual(512);
    // At least one fault-service latency per round of 32 lanes over 512 pages.
    expect(c.stallPs).toBeGreaterThan(16 * gpu.fault!.serviceLatency);
  });

  it('a THP split invalidates the whole 2 MiB block; the same MADV_DONTNEED on small pages only its 64 pages', () => {
    const small = invalidationCost(gpu, 'dontneed', 1);
    const thp = invalidationCost(gpu, 'thp-split', 1);
    expect(small.faults).toBeGreaterThanOrEqual(64);
    expect(small.faults).toBeLessThan(256);
    expect(thp.faults).toBeGreaterThanOrEqual(512);
    expect(thp.shootdowns).toBeGreaterThan(small.shootdowns);
    expect(thp.stallPs).toBeGreaterThan(small.stallPs);
  });

  it('munmap of half the range splits the VMA inside the 2 MiB block, which invalidates the surviving half too (6.1 vma_adjust_trans_huge)', () => {
    const c = invalidationCost(gpu, 'munmap', 1);
    // One shootdown: the split's MMU_NOTIFY_CLEAR over the block drops every entry; the unmap's
    // own invalidation then finds nothing left to shoot down.
    expect(c.shootdowns).toBe(1);
    expect(c.faults).toBeGreaterThanOrEqual(256);
  });

  it('an SVA device walks the CPU page table: fork costs it a shootdown and TLB refills but no faults', () => {
    const sva = profile('sva-accelerator');
    const c = invalidationCost(sva, 'fork', 1);
    expect(c.faults).toBe(0);
    expect(c.shootdowns).toBeGreaterThanOrEqual(1);
    expect(c.stallPs).toBeGreaterThan(0);
    expect(c.stallPs).toBeLessThan(invalidationCost(gpu, 'fork', 1).stallPs / 10);
  });

  it('NUMA migration of one mirrored page: one shootdown and exactly one re-fault, then remote reads over the inter-socket link', () => {
    const c = invalidationCost(gpu, 'numa', 1);
    expect(c.shootdowns).toBe(1);
    expect(c.faults).toBe(1);
    expect(c.stallPs).toBeGreaterThanOrEqual(gpu.fault!.serviceLatency);
    const sva = invalidationCost(profile('sva-accelerator'), 'numa', 1);
    expect(sva.faults).toBe(0);
    expect(sva.shootdowns).toBe(1);
    expect(sva.stallPs).toBeLessThan(c.stallPs);
  });

  it('a THP collapse (MADV_COLLAPSE of the PTE-mapped range) is one MMU_NOTIFY_CLEAR over the 2 MiB: the mirror re-faults all of it, SVA only refills its IOTLB', () => {
    const c = invalidationCost(gpu, 'thp-collapse', 1);
    expect(c.shootdowns).toBe(1);
    expect(c.faults).toBeGreaterThanOrEqual(512);
    expect(c.stallPs).toBeGreaterThan(16 * gpu.fault!.serviceLatency);
    const sva = invalidationCost(profile('sva-accelerator'), 'thp-collapse', 1);
    expect(sva.shootdowns).toBe(1);
    expect(sva.faults).toBe(0);
    expect(sva.stallPs).toBeGreaterThan(0);
    expect(sva.stallPs).toBeLessThan(c.stallPs / 10);
  });

  it('fork, THP split, THP collapse and NUMA migration are the SVM pain points, marked in their rows', () => {
    expect([...SVM_PAIN_POINTS]).toEqual(['fork', 'thp-split', 'thp-collapse', 'numa']);
    const t = invalidationMeasure([profile('sva-accelerator')], 1);
    for (const r of t.rows) {
      const pain = (SVM_PAIN_POINTS as readonly string[]).includes(String(r.params.event));
      expect(r.params.painPoint, r.key).toBe(pain ? 'yes' : 'no');
      expect(r.label.startsWith('SVM pain point: '), r.key).toBe(pain);
    }
    expect(t.rows.filter((r) => r.params.painPoint === 'yes')).toHaveLength(SVM_PAIN_POINTS.length * 3);
  });

  it('the pinning driver has no mirror: every event is n/a with that reason', () => {
    const t = invalidationMeasure([profile('rdma-nic')], 1);
    expect(t.rows).toHaveLength(INVALIDATION_EVENTS.length * 3);
    for (const r of t.rows) expect(r.cells['rdma-nic']).toEqual({ value: null, note: NOTES.noMirror });
    expect(() => invalidationCost(profile('rdma-nic'), 'numa', 1)).toThrow(/no mirror/);
  });
});
