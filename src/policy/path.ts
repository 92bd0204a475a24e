// Path selection for multi-path devices: which of a device's DMA initiators (PCI functions, link
// ports) a mapping uses. This is the design still argued on the cross-device HMM thread (a
// multi-path device picks a path per mapping and records it in the entry, like a PTE bit); no
// kernel has it, so nothing here is checked against one. A pure function of the candidates: the
// driver gathers them (routes from the topology, bytes in flight from the machine) at the moment
// it decides.

/** The path-selection policies a device may use (policies.path in a scenario). */
export type PathPolicyName = 'nearest' | 'least-loaded' | 'avoid-iommu';

/** One path as the policy sees it at decision time. */
export interface PathCandidate {
  /** The path's index in the device's path list (0 = the device's own endpoint). */
  readonly index: number;
  /** DMA over it is translated by an IOMMU domain (IOTLB lookups); false = bus address = physical. */
  readonly iommu: boolean;
  /** Segments the route crosses. */
  readonly hops: number;
  /** Route latency, ps. */
  readonly latencyPs: number;
  /** Route bottleneck bandwidth, bytes/s (Infinity: never a bottleneck). */
  readonly bandwidth: number;
  /** Bytes in flight on the route's bottleneck segment now (queued remote accesses and copies). */
  readonly inFlightBytes: number;
}

/** Nearest first: fewer hops, then lower latency, then more bandwidth, then the lower index. */
function nearer(a: PathCandidate, b: PathCandidate): number {
  return a.hops - b.hops || a.latencyPs - b.latencyPs || (a.bandwidth === b.bandwidth ? 0 : a.bandwidth > b.bandwidth ? -1 : 1) || a.index - b.index;
}

/**
 * The index (into `candidates`) of the path `policy` picks, or -1 when there is none.
 * - `nearest`: fewest hops, then lowest latency, then highest bottleneck bandwidth.
 * - `least-loaded`: fewest bytes in flight on the route's bottleneck segment, then nearest.
 * - `avoid-iommu`: the nearest path without IOMMU translation; the nearest of all if every path
 *   is translated.
 * Ties that survive every key go to the lowest path index, so the choice is deterministic.
 */
export function choosePath(policy: PathPolicyName, candidates: readonly PathCandidate[]): number {
  let best = -1;
  for (let i = 0; i < candidates.length; i++) {
    if (best < 0 || better(policy, candidates[i], candidates[best])) best = i;
  }
  return best;
}

function better(policy: PathPolicyName, a: PathCandidate, b: PathCandidate): boolean {
  switch (policy) {
    case 'nearest':
      return nearer(a, b) < 0;
    case 'least-loaded':
      return a.inFlightBytes !== b.inFlightBytes ? a.inFlightBytes < b.inFlightBytes : nearer(a, b) < 0;
    case 'avoid-iommu':
      return a.iommu !== b.iommu ? !a.iommu : nearer(a, b) < 0;
  }
}
