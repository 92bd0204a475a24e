// Measure 3: migration bandwidth against transfer size.
import { describe, it, expect } from 'vitest';
import { bandwidthMeasure, cellOf, migrate } from '../../src/faultbench/bandwidth.ts';
import { NOTES, machine, DEV } from '../../src/faultbench/harness.ts';
import { profile } from './helpers.ts';

const KIB = 1024, MIB = 1024 * 1024;

/** The slowest segment between host memory and the device (the link's rate), bytes/s. */
function linkRate(name: string): number {
  const m = machine(profile(name), 1);
  return m.route(m.hostNode, m.device(DEV).node)!.bandwidth;
}

describe('migration bandwidth', () => {
  it('the PCIe 3 profile reproduces the UVMSmart curve within 10 % (anchors-uvm.md c.3)', () => {
    const published: [number, number][] = [[4 * KIB, 2.17], [16 * KIB, 6.6], [64 * KIB, 10.4], [256 * KIB, 11.6], [1 * MIB, 11.9], [2 * MIB, 11.95]];
    for (const [bytes, gbps] of published) {
      const r = migrate(profile('pascal-pcie3'), 'h2d', bytes, 1);
      expect(r.transferBytes).toBe(bytes);
      expect(r.transfers).toBe(1);
      expect(Math.abs(r.gbps - gbps) / gbps).toBeLessThan(0.1);
    }
  });

  it('bandwidth rises with size and saturates at the link\'s rate, both directions', () => {
    for (const name of ['pascal-pcie3', 'gpu-pcie4']) {
      const rate = linkRate(name) / 1e9;
      for (const path of ['h2d', 'd2h'] as const) {
        const curve = [4 * KIB, 64 * KIB, 2 * MIB, 8 * MIB].map((b) => migrate(profile(name), path, b, 1).gbps);
        for (let i = 1; i < curve.length; i++) expect(curve[i]).toBeGreaterThan(curve[i - 1]);
        const top = curve[curve.length - 1];
        expect(top).toBeLessThanOrEqual(rate * 1.0001);
        expect(top).toBeGreaterThan(rate * 0.9);
      }
    }
  });

  it('the coherent C2C link is several times faster than PCIe 5 at 2 MiB', () => {
    expect(migrate(profile('gh200-c2c'), 'h2d', 2 * MIB, 1).gbps).toBeGreaterThan(3 * migrate(profile('h100-pcie5'), 'h2d', 2 * MIB, 1).gbps);
  });

  it('a peer\'s pages come over the XGMI link far faster than through system RAM', () => {
    const link = migrate(profile('mi250x-xnack'), 'peer-link', 2 * MIB, 1);
    const ram = migrate(profile('mi250x-xnack'), 'peer-ram', 2 * MIB, 1);
    expect(link.transferBytes).toBe(2 * MIB);
    expect(ram.transferBytes).toBe(2 * MIB);
    expect(link.gbps).toBeGreaterThan(10 * ram.gbps);
  });

  it('n/a where there is no such path, with the reason', () => {
    const t = bandwidthMeasure([profile('sva-accelerator'), profile('rdma-nic'), profile('gpu-pcie4')], [4096], 1);
    const cell = (key: string, p: string) => t.rows.find((r) => r.key === key)!.cells[p];
    expect(cell('bandwidth.h2d.4096', 'sva-accelerator')).toEqual({ value: null, note: NOTES.noMemory });
    expect(cell('bandwidth.d2h.4096', 'rdma-nic')).toEqual({ value: null, note: NOTES.pinning });
    expect(cell('bandwidth.peer-link.4096', 'gpu-pcie4')).toEqual({ value: null, note: NOTES.noPeerLink });
    expect(cell('bandwidth.peer-ram.4096', 'gpu-pcie4').value).toBeGreaterThan(0);
    // A coherent peer's memory is mapped in place: no bandwidth number is made up for it.
    expect(cellOf(migrate(profile('gh200-c2c'), 'peer-ram', 4096, 1)).value).toBeNull();
  });
});
