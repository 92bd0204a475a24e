// Measure 1: single-fault latency.
import { describe, it, expect } from 'vitest';
import { singleFault, latencyMeasure, LATENCY_CASES } from '../../src/faultbench/latency.ts';
import { NOTES } from '../../src/faultbench/harness.ts';
import { throughputRun } from '../../src/faultbench/throughput.ts';
import { profile } from './helpers.ts';

describe('single-fault latency', () => {
  it('a zero-fill fault on the Pascal profile costs the 45 µs far-fault latency plus the device map (anchors-uvm.md c.1)', () => {
    const r = singleFault(profile('pascal-pcie3'), 'zero-fill', 1);
    expect(r.faults).toBe(1);
    expect(r.cell.value).toBeGreaterThanOrEqual(45);
    expect(r.cell.value).toBeLessThan(45.2);
  });

  it('a fault on a system page adds the 4 KiB PCIe 3 copy (1.888 µs at 2.17 GB/s, anchors-uvm.md c.3)', () => {
    const zero = singleFault(profile('pascal-pcie3'), 'zero-fill', 1).stallPs!;
    const sys = singleFault(profile('pascal-pcie3'), 'system', 1).stallPs!;
    expect((sys - zero) / 1e6).toBeCloseTo(4096 / 2.17e9 * 1e6, 1);
  });

  it('a peer-resident page comes over the private link faster than through system RAM', () => {
    const xgmi = profile('mi250x-xnack');
    const p2p = singleFault(xgmi, 'peer-p2p', 1);
    const ram = singleFault(xgmi, 'peer-ram', 1);
    expect(p2p.faults).toBe(1);
    expect(ram.faults).toBe(1);
    expect(p2p.cell.value).not.toBeNull();
    expect(ram.cell.value).not.toBeNull();
    expect(p2p.cell.value!).toBeLessThan(ram.cell.value!);
    // Through RAM pays the peer's migrate_to_ram (another fault service) first.
    expect(ram.stallPs! - p2p.stallPs!).toBeGreaterThan(xgmi.fault!.serviceLatency * 0.9);
  });

  it('PCIe-only profiles have no P2P row and go through RAM', () => {
    const g = profile('gpu-pcie4');
    expect(singleFault(g, 'peer-p2p', 1).cell).toEqual({ value: null, note: NOTES.noPeerLink });
    expect(singleFault(g, 'peer-ram', 1).cell.value!).toBeGreaterThan(singleFault(g, 'system', 1).cell.value!);
  });

  it('a device write to a COW page faults once and breaks COW (mirror and SVA)', () => {
    for (const name of ['h100-pcie5', 'sva-accelerator']) {
      const r = singleFault(profile(name), 'read-only-write', 1);
      expect(r.faults).toBe(1);
      expect(r.cell.value).toBeGreaterThan(0);
      expect(r.cell.note).toBeUndefined();
    }
  });

  it('what a driver kind cannot do is n/a with its reason, never a number', () => {
    const t = latencyMeasure([profile('rdma-nic'), profile('sva-accelerator')], 1);
    expect(t.rows.map((r) => r.key)).toEqual(LATENCY_CASES.map((c) => `latency.${c}`));
    for (const r of t.rows) expect(r.cells['rdma-nic']).toEqual({ value: null, note: NOTES.pinning });
    const sva = Object.fromEntries(t.rows.map((r) => [r.params.case, r.cells['sva-accelerator']]));
    expect(sva["zero-fill"].value).toBe(17); // 10 µs service + 2 µs for its one entry + 5 µs PRI round trip
    expect(sva.system).toEqual({ value: null, note: NOTES.svaInPlace });
    expect(sva['peer-p2p'].value).toBeNull();
    expect(sva['peer-ram'].value).toBeNull();
  });

  it('a device without replayable faults (XNACK off) is n/a, never a 0 µs fault', () => {
    const t = latencyMeasure([profile('mi250x-noxnack')], 1);
    for (const r of t.rows) expect(r.cells['mi250x-noxnack']).toEqual({ value: null, note: NOTES.notReplayable });
  });

  it('differs across the GPU vendors: each driver spends a fault differently (issue 11)', () => {
    // NVIDIA under UVMSmart and under uvm-eval, AMD KFD, Intel Xe. (Xe's THP path differs only on
    // THP-backed memory, which a one-page region is not: test/sim/fault-cost.test.ts covers it.)
    const names = ['pascal-pcie3', 'volta-titanv', 'mi250x-xnack', 'xe2-bmg'];
    const zero = latencyMeasure(names.map(profile), 1).rows.find((r) => r.params.case === 'zero-fill')!;
    const values = names.map((n) => zero.cells[n].value);
    expect(new Set(values).size).toBe(names.length);
    const rates = names.map((n) => throughputRun(profile(n), 64, 2, 1, 20_000_000_000, 1).faultsPerSecond);
    expect(new Set(rates).size).toBe(names.length);
  });

  it('is deterministic for a seed', () => {
    const a = latencyMeasure([profile('mi250x-xnack')], 7);
    const b = latencyMeasure([profile('mi250x-xnack')], 7);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});
