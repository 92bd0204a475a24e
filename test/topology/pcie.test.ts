import { describe, it, expect } from 'vitest';
import { pcieBandwidth, pcieEncodedBandwidth, pcieProtocolEfficiency, trainedLink } from '../../src/topology/pcie.ts';

describe('PCIe bandwidth', () => {
  it('applies line encoding per generation', () => {
    expect(pcieEncodedBandwidth(1, 1)).toBe(250e6); // 2.5 GT/s × 8/10 / 8
    expect(pcieEncodedBandwidth(2, 4)).toBe(2e9);
    expect(pcieEncodedBandwidth(3, 16)).toBeCloseTo((8e9 * 16 * 128) / 130 / 8, 0);
    expect(pcieEncodedBandwidth(6, 16)).toBeCloseTo((64e9 * 16 * 236) / 256 / 8, 0);
  });

  it('applies TLP efficiency and floors to whole bytes/s', () => {
    expect(pcieProtocolEfficiency(3)).toBeCloseTo(256 / 280, 12);
    expect(pcieProtocolEfficiency(6)).toBeCloseTo(256 / 272, 12);
    expect(pcieBandwidth(3, 16)).toBe(14_403_516_483); // ~14.4 GB/s usable on gen3 x16
    expect(Number.isInteger(pcieBandwidth(5, 8))).toBe(true);
  });

  it('doubles per generation from gen3 to gen5 and scales with width', () => {
    expect(pcieBandwidth(4, 16) / pcieBandwidth(3, 16)).toBeCloseTo(2, 6);
    expect(pcieBandwidth(5, 16) / pcieBandwidth(4, 16)).toBeCloseTo(2, 6);
    expect(pcieBandwidth(4, 16) / pcieBandwidth(4, 4)).toBeCloseTo(4, 6);
  });

  it('trains to the lower end', () => {
    expect(trainedLink({ gen: 5, width: 16 }, { gen: 4, width: 8 })).toEqual({ gen: 4, width: 8 });
    expect(trainedLink({ gen: 3, width: 4 }, {})).toEqual({ gen: 3, width: 4 });
  });
});
