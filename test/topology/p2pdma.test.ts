import { describe, it, expect } from 'vitest';
import { parseTopologySpec } from '../../src/topology/spec.ts';
import { PciTree, calcMapTypeAndDist, p2pdmaDistanceMany } from '../../src/topology/p2pdma.ts';
import { AMD, INTEL, machine, type MachineOptions } from './fixtures.ts';

const tree = (o: MachineOptions = {}) => new PciTree(parseTopologySpec(machine(o)));
const NOT_LISTED = { vendorId: INTEL, deviceId: 0x1234 };

describe('calc_map_type_and_dist', () => {
  it('same function is distance 0, BUS_ADDR', () => {
    expect(calcMapTypeAndDist(tree(), 'gpu0', 'gpu0')).toEqual({ mapType: 'BUS_ADDR', distance: 0 });
  });

  it('two devices below the same bridge are distance 2', () => {
    expect(calcMapTypeAndDist(tree(), 'gpu0', 'nic0')).toEqual({ mapType: 'BUS_ADDR', distance: 2 });
  });

  it('different downstream ports of one switch are distance 4 (A→DSP0→USP←DSP1←B)', () => {
    const t = tree({ rc0: NOT_LISTED });
    // BUS_ADDR never consults the host bridge, so a non-whitelisted RC does not matter.
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu1')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(calcMapTypeAndDist(t, 'gpu1', 'gpu0')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
  });

  it('ACS redirect on the client-side downstream port forces the host-bridge path', () => {
    expect(calcMapTypeAndDist(tree(), 'gpu0', 'gpu2')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 4 });
    expect(calcMapTypeAndDist(tree({ rc0: NOT_LISTED }), 'gpu0', 'gpu2')).toEqual({ mapType: 'NOT_SUPPORTED', distance: 4 });
  });

  it('ACS redirect on the provider side is recorded during the upstream walk', () => {
    expect(calcMapTypeAndDist(tree({ rc0: NOT_LISTED }), 'gpu2', 'gpu0').mapType).toBe('NOT_SUPPORTED');
  });

  it('ACS redirect on the common ancestor itself counts', () => {
    expect(calcMapTypeAndDist(tree({ rc0: NOT_LISTED, uspAcs: true }), 'gpu0', 'gpu1')).toEqual({ mapType: 'NOT_SUPPORTED', distance: 4 });
  });

  it('no common ancestor: distance is the sum of both chain lengths', () => {
    // gpu0 → dsp0 → usp0 → rp0 (4 devices); gpu3 → rp1 (2 devices).
    expect(calcMapTypeAndDist(tree(), 'gpu0', 'gpu3')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 6 });
  });

  it('whitelisted host bridge without REQ_SAME_HOST_BRIDGE allows different host bridges', () => {
    expect(calcMapTypeAndDist(tree(), 'gpu0', 'gpu4').mapType).toBe('THRU_HOST_BRIDGE');
    expect(calcMapTypeAndDist(tree({ rc0: { vendorId: INTEL, deviceId: 0x09a2 } }), 'gpu3', 'gpu4').mapType).toBe('THRU_HOST_BRIDGE');
  });

  it('REQ_SAME_HOST_BRIDGE entries allow only the same host bridge', () => {
    const t = tree({ rc0: { vendorId: INTEL, deviceId: 0x3c00 }, rc1: { vendorId: INTEL, deviceId: 0x3c00 } });
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu3').mapType).toBe('THRU_HOST_BRIDGE');
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu4').mapType).toBe('NOT_SUPPORTED');
  });

  it('different host bridges need both listed', () => {
    const t = tree({ rc0: { vendorId: INTEL, deviceId: 0x2020 }, rc1: NOT_LISTED });
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu3').mapType).toBe('THRU_HOST_BRIDGE');
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu4').mapType).toBe('NOT_SUPPORTED');
  });

  it('a non-whitelisted Intel host bridge is NOT_SUPPORTED', () => {
    expect(calcMapTypeAndDist(tree({ rc0: NOT_LISTED }), 'gpu0', 'gpu3')).toEqual({ mapType: 'NOT_SUPPORTED', distance: 6 });
  });

  it('the whitelist matches the vendor too', () => {
    expect(calcMapTypeAndDist(tree({ rc0: { vendorId: AMD, deviceId: 0x2030 } }), 'gpu0', 'gpu3').mapType).toBe('NOT_SUPPORTED');
  });

  it('AMD Zen goes through any host bridge', () => {
    const zen = { vendorId: AMD, deviceId: 0x1480, amdZen: true };
    const t = tree({ rc0: zen, rc1: zen });
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu3').mapType).toBe('THRU_HOST_BRIDGE');
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu4').mapType).toBe('THRU_HOST_BRIDGE');
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu2').mapType).toBe('THRU_HOST_BRIDGE');
    expect(calcMapTypeAndDist(t, 'gpu0', 'gpu1').mapType).toBe('BUS_ADDR');
  });

  it('non-PCI devices are unusable', () => {
    expect(tree().mapTypeAndDistance('gh0', 'gpu0')).toEqual({ mapType: 'NOT_SUPPORTED', distance: -1 });
  });
});

describe('pci_p2pdma_distance_many', () => {
  it('sums the distances', () => {
    expect(p2pdmaDistanceMany(tree(), 'gpu0', ['gpu1', 'nic0'])).toBe(6);
    expect(p2pdmaDistanceMany(tree(), 'gpu0', ['gpu1', 'gpu3'])).toBe(10);
    expect(p2pdmaDistanceMany(tree(), 'gpu0', ['gpu0'])).toBe(0);
  });

  it('is -1 when any client is not supported, not PCI, or there are none', () => {
    const t = tree({ rc0: NOT_LISTED });
    expect(p2pdmaDistanceMany(t, 'gpu0', ['gpu1', 'nic0'])).toBe(6);
    expect(p2pdmaDistanceMany(t, 'gpu0', ['gpu1', 'gpu3'])).toBe(-1);
    expect(p2pdmaDistanceMany(t, 'gpu0', ['gpu1', 'gh0'])).toBe(-1);
    expect(p2pdmaDistanceMany(t, 'gpu0', [])).toBe(-1);
  });
});
