// PCIe link arithmetic: per-lane signalling rate and line encoding (from the PCI-SIG base specs)
// times a protocol-efficiency factor for TLP framing. Everything is per direction: PCIe is
// full duplex and each direction has the full rate.
import type { PcieGen, PcieWidth } from './spec.ts';

/** One generation's physical layer: transfers/s per lane and the fraction of bits that carry data. */
export interface PcieGenInfo {
  /** Transfers (bits) per second per lane. */
  readonly transfersPerSecond: number;
  /** Line-encoding efficiency (payload bits / line bits). */
  readonly encodingEfficiency: number;
  readonly encoding: string;
  /** Gen6 uses FLIT mode: sequence numbers and CRC live in the flit, not per TLP. */
  readonly flitMode: boolean;
}

/**
 * Source: PCI Express Base Specification rev 1.0–6.0. Gen1/2 use 8b/10b; gen3–5 use 128b/130b;
 * gen6 is PAM4 with 256-byte flits of which 236 bytes carry TLPs (6 DLP, 8 CRC, 6 FEC).
 */
export const PCIE_GENERATIONS: Readonly<Record<PcieGen, PcieGenInfo>> = {
  1: { transfersPerSecond: 2.5e9, encodingEfficiency: 8 / 10, encoding: '8b/10b', flitMode: false },
  2: { transfersPerSecond: 5e9, encodingEfficiency: 8 / 10, encoding: '8b/10b', flitMode: false },
  3: { transfersPerSecond: 8e9, encodingEfficiency: 128 / 130, encoding: '128b/130b', flitMode: false },
  4: { transfersPerSecond: 16e9, encodingEfficiency: 128 / 130, encoding: '128b/130b', flitMode: false },
  5: { transfersPerSecond: 32e9, encodingEfficiency: 128 / 130, encoding: '128b/130b', flitMode: false },
  6: { transfersPerSecond: 64e9, encodingEfficiency: 236 / 256, encoding: 'PAM4 FLIT (236/256)', flitMode: true },
};

/**
 * Max payload size assumed per TLP, bytes. ESTIMATE: 256 B is the common MPS on servers; many
 * client platforms negotiate 128 B, which would lower efficiency further.
 */
export const PCIE_MAX_PAYLOAD_BYTES = 256;

/**
 * Per-TLP overhead in non-flit mode, bytes: 4 B framing/STP+sequence, 16 B 4DW header (64-bit
 * address), 4 B LCRC. Derived from the base spec's TLP layout; ECRC off.
 */
export const PCIE_TLP_OVERHEAD_BYTES = 24;

/** Per-TLP overhead in FLIT mode (gen6), bytes: just the 16 B header; CRC/sequence are per flit. */
export const PCIE_FLIT_TLP_OVERHEAD_BYTES = 16;

/**
 * Fraction of post-encoding bandwidth left for payload after TLP framing. ESTIMATE: it ignores
 * DLLP traffic (ACK/NAK, flow-control updates, a few percent) and read-request TLPs on the
 * reverse direction, so real DMA throughput is somewhat lower (e.g. ~12 GB/s measured on
 * gen3 x16 vs 14.4 GB/s here; anchors-uvm.md rows 3–4).
 */
export function pcieProtocolEfficiency(gen: PcieGen): number {
  const overhead = PCIE_GENERATIONS[gen].flitMode ? PCIE_FLIT_TLP_OVERHEAD_BYTES : PCIE_TLP_OVERHEAD_BYTES;
  return PCIE_MAX_PAYLOAD_BYTES / (PCIE_MAX_PAYLOAD_BYTES + overhead);
}

/** Bandwidth after line encoding only, bytes/s per direction (not rounded). */
export function pcieEncodedBandwidth(gen: PcieGen, width: PcieWidth): number {
  const g = PCIE_GENERATIONS[gen];
  return (g.transfersPerSecond * width * g.encodingEfficiency) / 8;
}

/**
 * Usable DMA payload bandwidth of a link, integer bytes/s per direction (floored, so model
 * arithmetic on it is exact): encoded bandwidth × pcieProtocolEfficiency.
 */
export function pcieBandwidth(gen: PcieGen, width: PcieWidth): number {
  return Math.floor(pcieEncodedBandwidth(gen, width) * pcieProtocolEfficiency(gen));
}

/** A link trains to the lower generation and narrower width of its two ends. */
export function trainedLink(
  a: { gen: PcieGen; width: PcieWidth },
  b: { gen?: PcieGen; width?: PcieWidth },
): { gen: PcieGen; width: PcieWidth } {
  return {
    gen: (b.gen === undefined ? a.gen : Math.min(a.gen, b.gen)) as PcieGen,
    width: (b.width === undefined ? a.width : Math.min(a.width, b.width)) as PcieWidth,
  };
}
