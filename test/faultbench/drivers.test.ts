// Measure 6: the same kernel on the three driver kinds.
import { describe, it, expect } from 'vitest';
import { asDriver, driverRun, driversMeasure } from '../../src/faultbench/drivers.ts';
import { NOTES } from '../../src/faultbench/harness.ts';
import { profile } from './helpers.ts';

const CFG = { pages: 128, lanes: 8 };

describe('SVA/PRI vs mirror vs pinning', () => {
  it('a GPU profile runs as mirror and as pinning, not as SVA (no PRI cost in the profile)', () => {
    const g = profile('gpu-pcie4');
    expect(asDriver(g, 'hmm-mirror')).toBe(g);
    expect(asDriver(g, 'sva')).toBe(NOTES.noPri);
    const mirror = driverRun(g, 'hmm-mirror', 'dense', CFG, 1);
    const pinned = driverRun(g, 'pinning', 'dense', CFG, 1);
    expect(mirror.faults).toBeGreaterThan(0);
    expect(pinned.faults).toBe(0);
    // Pinning copies back what the kernel wrote when it ends; the mirror leaves pages on the
    // device, so the CPU's read-back faults them home (in fewer faults than pages: UVM's
    // migrate_to_ram goes through its prefetcher).
    expect(pinned.migratedBack).toBe(0);
    expect(mirror.migratedBack).toBe(CFG.pages);
    expect(mirror.endToEndPs).toBeGreaterThan(pinned.endToEndPs);
  });

  it('the SVA accelerator runs as SVA and as pinning, not as a mirror (no copy engines or memory)', () => {
    const s = profile('sva-accelerator');
    expect(asDriver(s, 'hmm-mirror')).toBe(NOTES.noCopyEngines);
    const sva = driverRun(s, 'sva', 'sparse', CFG, 1);
    const pinned = driverRun(s, 'pinning', 'sparse', CFG, 1);
    // The CPU wrote every page: SVA finds them present and takes no page request; pinning pins
    // the whole buffer up front, which a sparse kernel does not pay back.
    expect(sva.faults).toBe(0);
    expect(sva.kernelPs).toBeLessThan(pinned.kernelPs);
  });

  it('rows per kernel, driver kind and metric; n/a cells carry the reason', () => {
    const t = driversMeasure([profile('rdma-nic'), profile('sva-accelerator')], CFG, 1);
    expect(t.rows).toHaveLength(2 * 3 * 2);
    const row = (k: string) => t.rows.find((r) => r.key === k)!;
    expect(row('drivers.dense.pinning.kernel').cells['rdma-nic'].value).toBeGreaterThan(0);
    expect(row('drivers.dense.hmm-mirror.kernel').cells['rdma-nic']).toEqual({ value: null, note: NOTES.noCopyEngines });
    expect(row('drivers.sparse.sva.end-to-end').cells['rdma-nic']).toEqual({ value: null, note: NOTES.noPri });
    expect(row('drivers.sparse.sva.end-to-end').cells['sva-accelerator'].value).toBeGreaterThan(0);
  });
});
