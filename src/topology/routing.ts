// The built topology: a graph of directed link segments and the route a DMA transfer takes.
// Routes follow what the hardware + Linux would do, not a generic shortest path: a direct
// private link wins; otherwise PCIe P2P as p2pdma decides (switch-local or via the host bridge);
// otherwise no route, and the caller bounces through host memory. Private links between
// endpoints do not forward (NVLink without an NVSwitch, XGMI, CXL): an endpoint route never
// crosses a third endpoint, so in a chain gpu0–gpu1–gpu2 gpu0 reaches gpu2 over PCIe P2P or
// not at all.
import { PciTree, p2pdmaDistanceMany, type P2pdmaResult } from './p2pdma.ts';
import { pcieBandwidth, trainedLink } from './pcie.ts';
import { parseTopologySpec, type LinkKind, type PortSpec, type TopologySpec } from './spec.ts';

/**
 * Port-to-port latency of a PCIe switch, picoseconds. ESTIMATE: Akita's example switch latency
 * (140 cycles at 1 GHz, anchors-uvm.md row 18); vendor cut-through figures are 100–150 ns.
 */
export const DEFAULT_SWITCH_LATENCY_PS = 140_000;
/** Root-complex traversal latency, picoseconds. ESTIMATE: same order as a switch. */
export const DEFAULT_ROOT_COMPLEX_LATENCY_PS = 140_000;
/** One PCIe link's PHY + data-link latency, picoseconds. ESTIMATE. */
export const DEFAULT_PCIE_LINK_LATENCY_PS = 20_000;

/** What a segment physically is: a PCIe link, DRAM, RC↔socket fabric, or a private link kind. */
export type SegmentKind = 'pcie' | 'memory' | 'fabric' | LinkKind;

/**
 * One direction of a full-duplex physical link. Invariants: the reverse direction exists with the
 * same bandwidth and latency except that entering a bridge (switch / root complex) adds that
 * bridge's traversal latency, so a route and its reverse have equal total latency.
 */
export interface Segment {
  /** `${from}->${to}`; unique in a topology. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** Bytes/s in this direction; Infinity = never a bottleneck (undeclared fabric bandwidth). */
  readonly bandwidth: number;
  /** Picoseconds added to a transfer crossing this segment. */
  readonly latencyPs: number;
  readonly kind: SegmentKind;
  /** Id of the physical link (spec link id, PCIe child id, `mem:<socket>`, or `<rc>:fabric`). */
  readonly link: string;
}

/** How a route crosses the machine. */
export type RouteKind = 'local' | 'private' | 'p2p-bus-addr' | 'p2p-host-bridge' | 'host';

/** A DMA path. `segments` is ordered from source to destination. */
export interface Route {
  readonly kind: RouteKind;
  readonly segments: readonly Segment[];
  /** Node ids visited, source first (segments.length + 1 entries). */
  readonly nodes: readonly string[];
  /** Sum of segment latencies, picoseconds. */
  readonly latencyPs: number;
  /** Min segment bandwidth, bytes/s (Infinity for an empty path). */
  readonly bandwidth: number;
  /** The p2pdma verdict when the route is PCIe peer-to-peer. */
  readonly p2pdma?: P2pdmaResult;
}

/**
 * One DMA initiator of a device: its own endpoint (path 0) or one named in the endpoint's
 * `paths`. `iommu` says whether its DMA is translated by an IOMMU domain (IOVAs) or not.
 */
export interface DevicePath {
  /** Position in the device's path list, 0 = the device's own endpoint. */
  readonly index: number;
  readonly endpoint: string;
  readonly iommu: boolean;
}

/** A candidate route of a multi-path device: one per path; null where that path has no route. */
export interface PathRoute {
  readonly path: DevicePath;
  readonly route: Route | null;
}

/** Node id of a socket's DRAM; socket ids themselves denote the CPU/uncore. */
export function memoryNode(socketId: string): string {
  return `mem:${socketId}`;
}

/** Sum of latencies, picoseconds. */
export function pathLatency(path: readonly Segment[]): number {
  return path.reduce((s, seg) => s + seg.latencyPs, 0);
}

/** Bottleneck bandwidth, bytes/s; Infinity for an empty path. */
export function bottleneckBandwidth(path: readonly Segment[]): number {
  return path.reduce((m, seg) => Math.min(m, seg.bandwidth), Infinity);
}

type Kind = 'socket' | 'rootComplex' | 'switch' | 'endpoint';

/** A topology built from a validated spec. Immutable after construction. */
export class Topology {
  readonly spec: TopologySpec;
  /** The PCI view used for p2pdma decisions. */
  readonly pci: PciTree;
  private readonly kinds = new Map<string, Kind>();
  private readonly segs = new Map<string, Segment>();
  /** PCIe tree parent node of endpoints, switches and root complexes (RC → its socket). */
  private readonly treeParent = new Map<string, string>();
  /** Private links by unordered endpoint pair. */
  private readonly privateLinks = new Map<string, { kind: LinkKind }>();
  /** Sockets reachable from an endpoint by a private link. */
  private readonly socketLinksOf = new Map<string, string[]>();
  /** Each endpoint's DMA initiators, path 0 first (spec `paths`). */
  private readonly pathLists = new Map<string, readonly DevicePath[]>();
  /** Endpoint of a path → the endpoint (device) whose path it is. */
  private readonly pathOwners = new Map<string, string>();
  /** Socket-level shortest paths (by latency) over inter-socket links: `${a}\0${b}` → nodes. */
  private readonly socketPaths = new Map<string, readonly string[]>();

  /** Validate unknown input and build. */
  static fromSpec(input: unknown): Topology {
    return new Topology(parseTopologySpec(input));
  }

  constructor(spec: TopologySpec) {
    this.spec = spec;
    this.pci = new PciTree(spec);
    const addLink = (a: string, b: string, bw: number, lat: number, latAB: number, latBA: number, kind: SegmentKind, link: string) => {
      this.addSegment({ id: `${a}->${b}`, from: a, to: b, bandwidth: bw, latencyPs: lat + latAB, kind, link });
      this.addSegment({ id: `${b}->${a}`, from: b, to: a, bandwidth: bw, latencyPs: lat + latBA, kind, link });
    };

    const portOwner = new Map<string, { node: string; port: PortSpec; latencyPs: number }>();
    for (const s of spec.sockets) {
      this.kinds.set(s.id, 'socket');
      addLink(s.id, memoryNode(s.id), s.memoryBandwidth, s.memoryLatencyPs, 0, 0, 'memory', memoryNode(s.id));
    }
    for (const rc of spec.rootComplexes) {
      this.kinds.set(rc.id, 'rootComplex');
      this.treeParent.set(rc.id, rc.socket);
      const lat = rc.latencyPs ?? DEFAULT_ROOT_COMPLEX_LATENCY_PS;
      addLink(rc.id, rc.socket, rc.bandwidth ?? Infinity, 0, 0, lat, 'fabric', `${rc.id}:fabric`);
      for (const p of rc.rootPorts) portOwner.set(p.id, { node: rc.id, port: p, latencyPs: lat });
    }
    for (const sw of spec.switches) {
      this.kinds.set(sw.id, 'switch');
      for (const p of sw.downstreamPorts) portOwner.set(p.id, { node: sw.id, port: p, latencyPs: sw.latencyPs ?? DEFAULT_SWITCH_LATENCY_PS });
    }
    for (const sw of spec.switches) {
      const up = portOwner.get(sw.parent)!;
      this.treeParent.set(sw.id, up.node);
      const l = trainedLink(sw, up.port);
      addLink(sw.id, up.node, pcieBandwidth(l.gen, l.width), DEFAULT_PCIE_LINK_LATENCY_PS, up.latencyPs, sw.latencyPs ?? DEFAULT_SWITCH_LATENCY_PS, 'pcie', sw.id);
    }
    for (const e of spec.endpoints) {
      this.kinds.set(e.id, 'endpoint');
      if (e.parent === undefined) continue;
      const up = portOwner.get(e.parent)!;
      this.treeParent.set(e.id, up.node);
      const l = trainedLink(e, up.port);
      addLink(e.id, up.node, pcieBandwidth(l.gen, l.width), e.linkLatencyPs ?? DEFAULT_PCIE_LINK_LATENCY_PS, up.latencyPs, 0, 'pcie', e.id);
    }
    for (const l of spec.links) {
      if (l.reverseBandwidth === undefined) addLink(l.a, l.b, l.bandwidth, l.latencyPs, 0, 0, l.kind, l.id);
      else {
        this.addSegment({ id: `${l.a}->${l.b}`, from: l.a, to: l.b, bandwidth: l.bandwidth, latencyPs: l.latencyPs, kind: l.kind, link: l.id });
        this.addSegment({ id: `${l.b}->${l.a}`, from: l.b, to: l.a, bandwidth: l.reverseBandwidth, latencyPs: l.latencyPs, kind: l.kind, link: l.id });
      }
      const ka = this.kinds.get(l.a);
      const kb = this.kinds.get(l.b);
      if (ka === 'endpoint' && kb === 'endpoint') this.privateLinks.set(pairKey(l.a, l.b), { kind: l.kind });
      else if (ka === 'endpoint' && kb === 'socket') this.pushSocketLink(l.a, l.b);
      else if (ka === 'socket' && kb === 'endpoint') this.pushSocketLink(l.b, l.a);
    }
    this.computeSocketPaths();
    const iommuOf = new Map(spec.endpoints.map((e) => [e.id, e.iommu] as const));
    for (const e of spec.endpoints) {
      this.pathLists.set(e.id, [e.id, ...e.paths].map((id, index) => ({ index, endpoint: id, iommu: iommuOf.get(id)! })));
      for (const p of e.paths) this.pathOwners.set(p, e.id);
    }
  }

  private addSegment(s: Segment): void {
    if (this.segs.has(s.id)) throw new Error(`topology: two physical links join '${s.from}' and '${s.to}'`);
    this.segs.set(s.id, s);
  }

  private pushSocketLink(endpoint: string, socket: string): void {
    const l = this.socketLinksOf.get(endpoint) ?? [];
    l.push(socket);
    l.sort(compareIds);
    this.socketLinksOf.set(endpoint, l);
  }

  /** Dijkstra per source socket over socket↔socket links; ties broken by id for determinism. */
  private computeSocketPaths(): void {
    const sockets = this.spec.sockets.map((s) => s.id).sort(compareIds);
    const neighbours = (s: string) => sockets.filter((t) => t !== s && this.segs.has(`${s}->${t}`));
    for (const src of sockets) {
      const dist = new Map<string, number>([[src, 0]]);
      const prev = new Map<string, string>();
      const done = new Set<string>();
      while (true) {
        let u: string | undefined;
        for (const s of sockets) if (!done.has(s) && dist.has(s) && (u === undefined || dist.get(s)! < dist.get(u)!)) u = s;
        if (u === undefined) break;
        done.add(u);
        for (const v of neighbours(u)) {
          const d = dist.get(u)! + this.segs.get(`${u}->${v}`)!.latencyPs;
          if (!dist.has(v) || d < dist.get(v)!) {
            dist.set(v, d);
            prev.set(v, u);
          }
        }
      }
      for (const dst of dist.keys()) {
        const nodes = [dst];
        while (nodes[0] !== src) nodes.unshift(prev.get(nodes[0])!);
        this.socketPaths.set(`${src}\u0000${dst}`, nodes);
      }
    }
  }

  /** All directed segments, in construction order. */
  get segments(): readonly Segment[] {
    return [...this.segs.values()];
  }

  /** The directed segment from one node to an adjacent one, if any. */
  segment(from: string, to: string): Segment | undefined {
    return this.segs.get(`${from}->${to}`);
  }

  isEndpoint(id: string): boolean {
    return this.kinds.get(id) === 'endpoint';
  }

  isSocket(id: string): boolean {
    return this.kinds.get(id) === 'socket';
  }

  /** Socket whose root complex an endpoint hangs off, or null for non-PCI endpoints. */
  hostSocketOf(endpoint: string): string | null {
    const chain = this.chain(endpoint);
    const top = chain[chain.length - 1];
    return this.kinds.get(top) === 'socket' ? top : null;
  }

  /** The DMA initiators of endpoint `device`, path 0 (itself) first; one entry for a single-path device. */
  pathsOf(device: string): readonly DevicePath[] {
    this.requireEndpoint(device);
    return this.pathLists.get(device)!;
  }

  /** The device (endpoint) whose path `endpoint` is, or null when it is no other endpoint's path. */
  pathOwnerOf(endpoint: string): string | null {
    return this.pathOwners.get(endpoint) ?? null;
  }

  /**
   * The candidate routes between device `device` and node `node` (an endpoint or a socket, as
   * `route` takes), one per path in path order: from the node to the path's endpoint when
   * `toDevice` (a load, a host-to-device copy), else from the path's endpoint to the node.
   */
  pathRoutes(device: string, node: string, toDevice: boolean): PathRoute[] {
    return this.pathsOf(device).map((path) => ({ path, route: toDevice ? this.route(node, path.endpoint) : this.route(path.endpoint, node) }));
  }

  /** Linux's map type and distance for DMA from `client` to `provider`'s memory. */
  p2pdma(provider: string, client: string): P2pdmaResult {
    this.requireEndpoint(provider);
    this.requireEndpoint(client);
    return this.pci.mapTypeAndDistance(provider, client);
  }

  /** pci_p2pdma_distance_many: -1 if any client is unsupported, else the sum of distances. */
  p2pdmaDistanceMany(provider: string, clients: readonly string[]): number {
    this.requireEndpoint(provider);
    clients.forEach((c) => this.requireEndpoint(c));
    return p2pdmaDistanceMany(this.pci, provider, clients);
  }

  /**
   * Path of a DMA transfer from `src` to `dst`. Each is an endpoint id or a socket id (meaning
   * that socket's DRAM). Returns null when no direct path exists (endpoint pair that p2pdma
   * calls NOT_SUPPORTED, or disconnected sockets): the caller then bounces through host memory.
   * For endpoint pairs `src` is treated as the p2pdma provider; the verdict is symmetric anyway.
   */
  route(src: string, dst: string): Route | null {
    const ks = this.requireKnown(src);
    const kd = this.requireKnown(dst);
    if (ks === 'endpoint' && kd === 'endpoint') return this.routeEndpoints(src, dst);
    if (ks === 'socket' && kd === 'socket') {
      const nodes = this.socketPath(src, dst);
      return nodes === null ? null : this.build('host', [memoryNode(src), ...nodes, memoryNode(dst)]);
    }
    const [e, s] = ks === 'endpoint' ? [src, dst] : [dst, src];
    const r = this.endpointToMemory(e, s);
    if (r === null || ks === 'endpoint') return r;
    return this.build(r.kind, [...r.nodes].reverse());
  }

  private routeEndpoints(src: string, dst: string): Route | null {
    if (src === dst) return this.build('local', [src]);
    if (this.privateLinks.has(pairKey(src, dst))) return this.build('private', [src, dst]);
    const verdict = this.pci.mapTypeAndDistance(src, dst);
    const a = this.chain(src);
    const b = this.chain(dst);
    if (verdict.mapType === 'BUS_ADDR') {
      const lca = a.find((n) => b.includes(n))!;
      return this.build('p2p-bus-addr', joinAt(a, b, lca), verdict);
    }
    if (verdict.mapType === 'NOT_SUPPORTED') return null;
    // Through the host bridge: ACS redirect sends the TLPs up to the root complex even when a
    // lower switch is common to both, so the climb always reaches the RC.
    const rcA = a.findIndex((n) => this.kinds.get(n) === 'rootComplex');
    const rcB = b.findIndex((n) => this.kinds.get(n) === 'rootComplex');
    const upA = a.slice(0, rcA + 1);
    const downB = b.slice(0, rcB + 1).reverse();
    if (a[rcA] === b[rcB]) return this.build('p2p-host-bridge', [...upA, ...downB.slice(1)], verdict);
    const mid = this.socketPath(a[rcA + 1], b[rcB + 1]);
    if (mid === null) return null;
    return this.build('p2p-host-bridge', [...upA, ...mid, ...downB], verdict);
  }

  /**
   * Endpoint → socket DRAM. A direct private link (C2C, CXL) to that socket wins; otherwise the
   * candidates (PCIe up to the host socket, or a private link to another socket, then the
   * inter-socket path) are ranked by bottleneck bandwidth, then latency, PCIe first on ties.
   */
  private endpointToMemory(e: string, s: string): Route | null {
    const mem = memoryNode(s);
    const direct = this.socketLinksOf.get(e) ?? [];
    if (direct.includes(s)) return this.build('private', [e, s, mem]);
    const candidates: Route[] = [];
    const host = this.hostSocketOf(e);
    if (host !== null) {
      const mid = this.socketPath(host, s);
      if (mid !== null) candidates.push(this.build('host', [...this.chain(e).slice(0, -1), ...mid, mem]));
    }
    for (const via of direct) {
      const mid = this.socketPath(via, s);
      if (mid !== null) candidates.push(this.build('private', [e, ...mid, mem]));
    }
    let best: Route | null = null;
    for (const c of candidates) {
      if (best === null || c.bandwidth > best.bandwidth || (c.bandwidth === best.bandwidth && c.latencyPs < best.latencyPs)) best = c;
    }
    return best;
  }

  /** Nodes from `from` to `to` over inter-socket links (inclusive), or null if disconnected. */
  private socketPath(from: string, to: string): string[] | null {
    const p = this.socketPaths.get(`${from}\u0000${to}`);
    return p === undefined ? null : [...p];
  }

  /** Node chain from a node up the PCIe tree: endpoint, switches..., root complex, socket. */
  private chain(node: string): string[] {
    const out = [node];
    for (let p = this.treeParent.get(node); p !== undefined; p = this.treeParent.get(p)) out.push(p);
    return out;
  }

  private build(kind: RouteKind, nodes: string[], p2pdma?: P2pdmaResult): Route {
    const segments: Segment[] = [];
    for (let i = 0; i + 1 < nodes.length; i++) {
      const s = this.segs.get(`${nodes[i]}->${nodes[i + 1]}`);
      if (s === undefined) throw new Error(`topology: internal error, no segment ${nodes[i]}->${nodes[i + 1]}`);
      segments.push(s);
    }
    const r = { kind, segments, latencyPs: pathLatency(segments), bandwidth: bottleneckBandwidth(segments), nodes };
    return p2pdma === undefined ? r : { ...r, p2pdma };
  }

  private requireKnown(id: string): Kind {
    const k = this.kinds.get(id);
    if (k !== 'endpoint' && k !== 'socket') throw new Error(`topology: '${id}' is not an endpoint or socket`);
    return k;
  }

  private requireEndpoint(id: string): void {
    if (this.kinds.get(id) !== 'endpoint') throw new Error(`topology: '${id}' is not an endpoint`);
  }
}

/** Code-unit order: deterministic regardless of locale. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/** a's chain up to lca, then down b's chain from below lca. */
function joinAt(a: string[], b: string[], lca: string): string[] {
  const up = a.slice(0, a.indexOf(lca) + 1);
  const down = b.slice(0, b.indexOf(lca)).reverse();
  return [...up, ...down];
}
