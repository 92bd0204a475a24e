// Linux's P2PDMA placement rules (drivers/pci/p2pdma.c): whether, and how far, a provider's BAR
// memory is reachable by a client's DMA. Mirrors calc_map_type_and_dist() step by step, over
// a PCI-device view of the declared topology (the spec's ports are the kernel's bridges).
import type { TopologySpec } from './spec.ts';

/** enum pci_p2pdma_map_type, minus the internal UNKNOWN/NONE values. */
export type P2pdmaMapType = 'BUS_ADDR' | 'THRU_HOST_BRIDGE' | 'NOT_SUPPORTED';

/**
 * Result of calcMapTypeAndDist. `distance` is the kernel's hop count (0 = same function) and is
 * filled in even for NOT_SUPPORTED, as the kernel does; it is -1 only when either side is not a
 * PCI device at all (PciTree.mapTypeAndDistance).
 */
export interface P2pdmaResult {
  readonly mapType: P2pdmaMapType;
  readonly distance: number;
}

/** One host-bridge whitelist entry (pci_p2pdma_whitelist[]). */
export interface HostBridgeWhitelistEntry {
  readonly vendor: number;
  readonly device: number;
  /** REQ_SAME_HOST_BRIDGE: only P2P between devices below this same host bridge is allowed. */
  readonly reqSameHostBridge: boolean;
}

/** PCI_VENDOR_ID_INTEL. */
export const PCI_VENDOR_ID_INTEL = 0x8086;

/** The kernel's whitelist (all Intel), linux-hmm-spec.md §9.3. */
export const HOST_BRIDGE_WHITELIST: readonly HostBridgeWhitelistEntry[] = [
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x3c00, reqSameHostBridge: true },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x3c01, reqSameHostBridge: true },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2f00, reqSameHostBridge: true },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2f01, reqSameHostBridge: true },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2030, reqSameHostBridge: false },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2031, reqSameHostBridge: false },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2032, reqSameHostBridge: false },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2033, reqSameHostBridge: false },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2020, reqSameHostBridge: false },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x09a2, reqSameHostBridge: false },
];

/** A PCI function as p2pdma sees it: endpoints and bridge ports (root, switch up/downstream). */
export interface PciDevice {
  readonly id: string;
  /** pci_upstream_bridge(): null for root ports, which sit on the root bus. */
  readonly upstream: string | null;
  /** Bridge with RR/CR/EC set in ACS control; always false for endpoints (not bridges). */
  readonly acsRedirect: boolean;
  /** Id of the root complex whose root bus this device descends from. */
  readonly hostBridge: string;
}

interface HostBridge {
  readonly vendorId: number;
  readonly deviceId: number;
}

/** The PCI hierarchy of a topology plus the memoised (provider, client) results. */
export class PciTree {
  readonly devices: ReadonlyMap<string, PciDevice>;
  private readonly hostBridges: ReadonlyMap<string, HostBridge>;
  /** cpu_supports_p2pdma(): AMD family >= 0x17. */
  readonly cpuSupportsP2pdma: boolean;
  private readonly cache = new Map<string, P2pdmaResult>();

  constructor(spec: TopologySpec) {
    const devices = new Map<string, PciDevice>();
    const hostBridgeOfPort = new Map<string, string>();
    for (const rc of spec.rootComplexes) {
      for (const p of rc.rootPorts) {
        devices.set(p.id, { id: p.id, upstream: null, acsRedirect: p.acsRedirect, hostBridge: rc.id });
        hostBridgeOfPort.set(p.id, rc.id);
      }
    }
    // Switches may be declared in any order; resolve host bridges by walking parent links.
    const switchByDsp = new Map<string, (typeof spec.switches)[number]>();
    for (const sw of spec.switches) for (const p of sw.downstreamPorts) switchByDsp.set(p.id, sw);
    const rootOf = (portId: string): string => {
      const hb = hostBridgeOfPort.get(portId);
      if (hb !== undefined) return hb;
      const sw = switchByDsp.get(portId);
      if (sw === undefined) throw new Error(`p2pdma: port '${portId}' is not in the PCI tree`);
      const r = rootOf(sw.parent);
      hostBridgeOfPort.set(portId, r);
      return r;
    };
    for (const sw of spec.switches) {
      const hb = rootOf(sw.parent);
      devices.set(sw.upstreamPort.id, { id: sw.upstreamPort.id, upstream: sw.parent, acsRedirect: sw.upstreamPort.acsRedirect, hostBridge: hb });
      for (const p of sw.downstreamPorts) {
        devices.set(p.id, { id: p.id, upstream: sw.upstreamPort.id, acsRedirect: p.acsRedirect, hostBridge: hb });
      }
    }
    for (const e of spec.endpoints) {
      if (e.parent === undefined) continue;
      devices.set(e.id, { id: e.id, upstream: e.parent, acsRedirect: false, hostBridge: rootOf(e.parent) });
    }
    this.devices = devices;
    this.hostBridges = new Map(spec.rootComplexes.map((rc) => [rc.id, { vendorId: rc.vendorId, deviceId: rc.deviceId }]));
    this.cpuSupportsP2pdma = spec.rootComplexes.some((rc) => rc.amdZen);
  }

  /** True for PCI functions; sockets and non-PCI endpoints are not. */
  isPci(id: string): boolean {
    return this.devices.has(id);
  }

  /**
   * Memoised calcMapTypeAndDist, like the kernel's per-(provider, client) xarray cache. A side
   * that is not a PCI device gives NOT_SUPPORTED with distance -1 (the kernel's "non-PCI client").
   */
  mapTypeAndDistance(provider: string, client: string): P2pdmaResult {
    if (!this.isPci(provider) || !this.isPci(client)) return { mapType: 'NOT_SUPPORTED', distance: -1 };
    const key = `${provider}\u0000${client}`;
    let r = this.cache.get(key);
    if (r === undefined) {
      r = calcMapTypeAndDist(this, provider, client);
      this.cache.set(key, r);
    }
    return r;
  }

  /** __host_bridge_whitelist(): is this host bridge listed, and allowed for the same/different case? */
  hostBridgeWhitelisted(hostBridge: string, sameHostBridge: boolean): boolean {
    const hb = this.hostBridges.get(hostBridge);
    if (hb === undefined) return false;
    const entry = HOST_BRIDGE_WHITELIST.find((e) => e.vendor === hb.vendorId && e.device === hb.deviceId);
    if (entry === undefined) return false;
    return !(entry.reqSameHostBridge && !sameHostBridge);
  }
}

/** host_bridge_whitelist(a, b): same bridge must be listed; different bridges both listed without REQ_SAME. */
export function hostBridgeWhitelist(tree: PciTree, a: PciDevice, b: PciDevice): boolean {
  if (a.hostBridge === b.hostBridge) return tree.hostBridgeWhitelisted(a.hostBridge, true);
  return tree.hostBridgeWhitelisted(a.hostBridge, false) && tree.hostBridgeWhitelisted(b.hostBridge, false);
}

/**
 * calc_map_type_and_dist(provider, client): walk upstream from the provider; for each ancestor
 * `a` (recording it if it has ACS redirect) walk upstream from the client looking for `a`. On a
 * common ancestor, also record ACS-redirect bridges on the client side strictly below it; none
 * recorded → BUS_ADDR. Otherwise (ACS, or no common ancestor) the transfer must go through the
 * host bridge: allowed on AMD Zen or whitelisted bridges, else NOT_SUPPORTED.
 * Throws for ids that are not PCI devices of the tree (use PciTree.isPci to test first).
 */
export function calcMapTypeAndDist(tree: PciTree, provider: string, client: string): P2pdmaResult {
  const dev = (id: string): PciDevice => {
    const d = tree.devices.get(id);
    if (d === undefined) throw new Error(`p2pdma: '${id}' is not a PCI device`);
    return d;
  };
  const up = (d: PciDevice): PciDevice | null => (d.upstream === null ? null : dev(d.upstream));
  const p = dev(provider);
  const c = dev(client);

  let acsCount = 0;
  let distA = 0;
  let distB = 0;
  let common: PciDevice | null = null;
  for (let a: PciDevice | null = p; a !== null; a = up(a)) {
    distB = 0;
    if (a.acsRedirect) acsCount++;
    let found = false;
    for (let bb: PciDevice | null = c; bb !== null; bb = up(bb)) {
      if (a === bb) {
        found = true;
        break;
      }
      distB++;
    }
    if (found) {
      common = a;
      break;
    }
    distA++;
  }

  const distance = distA + distB;
  if (common !== null) {
    for (let bb: PciDevice | null = c; bb !== null && bb !== common; bb = up(bb)) {
      if (bb.acsRedirect) acsCount++;
    }
    if (acsCount === 0) return { mapType: 'BUS_ADDR', distance };
  }
  if (tree.cpuSupportsP2pdma || hostBridgeWhitelist(tree, p, c)) return { mapType: 'THRU_HOST_BRIDGE', distance };
  return { mapType: 'NOT_SUPPORTED', distance };
}

/**
 * pci_p2pdma_distance_many(provider, clients): -1 when there are no clients, any client (or the
 * provider) is not a PCI device, or any pair is NOT_SUPPORTED; otherwise the sum of distances.
 */
export function p2pdmaDistanceMany(tree: PciTree, provider: string, clients: readonly string[]): number {
  if (clients.length === 0 || !tree.isPci(provider)) return -1;
  let total = 0;
  for (const c of clients) {
    if (!tree.isPci(c)) return -1;
    const r = tree.mapTypeAndDistance(provider, c);
    if (r.mapType === 'NOT_SUPPORTED') return -1;
    total += r.distance;
  }
  return total;
}
