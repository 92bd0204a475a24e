// Declared interconnect topology: what a scenario file says the machine looks like. The schema is
// the single source of truth for the shape; cross-reference checks (ids that must exist, be
// unique, form a tree) live in one superRefine so every problem is reported at once, with a path.
import { z } from 'zod';

/** Ids are restricted so derived node ids such as `mem:<socket>` can never collide with them. */
const Id = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'id must be non-empty and use only letters, digits, _ . -');
/** Integer picoseconds. */
const Ps = z.number().int().nonnegative();
/** Bytes per second, per direction. */
const BytesPerSecond = z.number().positive().finite();

/** PCIe generations 1..6 (gen6 = 64 GT/s PAM4, FLIT mode). */
export const PcieGenSchema = z.literal([1, 2, 3, 4, 5, 6]);
/** Link widths the model accepts (x12/x32 exist on paper but are not seen in practice). */
export const PcieWidthSchema = z.literal([1, 2, 4, 8, 16]);

/** Kinds of private (non-PCIe) links. */
export const LinkKindSchema = z.enum(['nvlink', 'xgmi', 'cxl', 'nvlink-c2c', 'upi', 'other']);

/** A CPU socket with its local memory: one NUMA node. */
export const SocketSpecSchema = z.strictObject({
  id: Id,
  /**
   * Local DRAM capacity, bytes: bounds the socket's NUMA node (a full node falls back to the
   * next, mm/mempolicy.ts; a scenario that cannot fit is refused before it runs).
   */
  memoryBytes: z.number().int().nonnegative(),
  /** DRAM bandwidth, bytes/s (modelled per direction, see routing.ts). */
  memoryBandwidth: BytesPerSecond,
  /** DRAM access latency, picoseconds. */
  memoryLatencyPs: Ps,
});

/**
 * A PCIe bridge port. `acsRedirect` is true when the port's ACS control has any of RR, CR or EC
 * set — the condition pci_bridge_has_acs_redir() tests; it forces P2P up to the host bridge.
 */
export const PortSpecSchema = z.strictObject({
  id: Id,
  acsRedirect: z.boolean().default(false),
  /** Optional port capability; the trained link is the min of both ends. */
  gen: PcieGenSchema.optional(),
  width: PcieWidthSchema.optional(),
});

/** A PCIe root complex (host bridge) and its root ports. */
export const RootComplexSpecSchema = z.strictObject({
  id: Id,
  /** Socket this host bridge belongs to. */
  socket: Id,
  /** PCI vendor/device id of the host bridge device, matched against the p2pdma whitelist. */
  vendorId: z.number().int().min(0).max(0xffff),
  deviceId: z.number().int().min(0).max(0xffff),
  /** CPU is AMD family >= 0x17 (Zen): Linux then allows P2P through any host bridge. System-wide. */
  amdZen: z.boolean().default(false),
  /** Root complex ↔ socket fabric bandwidth, bytes/s per direction; absent = never a bottleneck. */
  bandwidth: BytesPerSecond.optional(),
  /** Traversal latency of the root complex, picoseconds. */
  latencyPs: Ps.optional(),
  rootPorts: z.array(PortSpecSchema).min(1),
});

/** A PCIe switch: one upstream port attached to a root port or another switch's downstream port. */
export const SwitchSpecSchema = z.strictObject({
  id: Id,
  /** Id of the root port or downstream port the upstream port is cabled to. */
  parent: Id,
  gen: PcieGenSchema,
  width: PcieWidthSchema,
  /** Port-to-port traversal latency, picoseconds. */
  latencyPs: Ps.optional(),
  upstreamPort: PortSpecSchema.omit({ gen: true, width: true }),
  downstreamPorts: z.array(PortSpecSchema).min(1),
});

/**
 * Paths a device may declare besides its own endpoint: a driver keeps the chosen path in a few
 * bits of each mapping (the pinning driver's MTT entry holds 3), so at most 8 paths in all.
 */
export const MAX_EXTRA_PATHS = 7;

/** A device (GPU, NIC, accelerator, NVMe...). `parent` absent = not a PCI device (e.g. C2C only). */
export const EndpointSpecSchema = z.strictObject({
  id: Id,
  gen: PcieGenSchema,
  width: PcieWidthSchema,
  /** Id of a root port or switch downstream port. */
  parent: Id.optional(),
  /** Latency of the PCIe link above this endpoint, picoseconds. */
  linkLatencyPs: Ps.optional(),
  /**
   * DMA from this endpoint (PCI function) is translated by an IOMMU domain (IOMMU_DOMAIN_DMA:
   * the device sees IOVAs, each access is looked up in the IOTLB). False (default): an identity
   * or passthrough domain, or no IOMMU: the bus address is the physical address.
   */
  iommu: z.boolean().default(false),
  /**
   * Further DMA initiators of the same device (a socket-direct NIC's second PCIe function, a
   * GPU's NVLink port declared as an endpoint of its own): endpoint ids, each its own path with
   * its own address space (its `iommu`). The endpoint itself is path 0, these follow in order.
   */
  paths: z.array(Id).max(MAX_EXTRA_PATHS).default([]),
});

/**
 * A private full-duplex link between two endpoints, an endpoint and a socket (C2C, CXL), or two
 * sockets (the inter-socket link). Bonded links (e.g. 4 NVLinks) are declared once, aggregated.
 */
export const LinkSpecSchema = z.strictObject({
  id: Id,
  kind: LinkKindSchema,
  a: Id,
  b: Id,
  /** Bytes/s in each direction (a → b, and b → a unless reverseBandwidth says otherwise). */
  bandwidth: BytesPerSecond,
  /** Bytes/s b → a when the link is asymmetric (NVLink-C2C measures 375 GB/s H2D, 297 D2H). */
  reverseBandwidth: BytesPerSecond.optional(),
  /** One-way latency, picoseconds. */
  latencyPs: Ps,
});

const TopologyShape = z.strictObject({
  sockets: z.array(SocketSpecSchema).min(1),
  rootComplexes: z.array(RootComplexSpecSchema).default([]),
  switches: z.array(SwitchSpecSchema).default([]),
  endpoints: z.array(EndpointSpecSchema).default([]),
  links: z.array(LinkSpecSchema).default([]),
});

type Shape = z.infer<typeof TopologyShape>;
type Ctx = { addIssue: (issue: { code: 'custom'; message: string; path: (string | number)[] }) => void };

function checkReferences(t: Shape, ctx: Ctx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', message, path });
  const kindOf = new Map<string, string>();
  const declare = (id: string, kind: string, path: (string | number)[]) => {
    const prev = kindOf.get(id);
    if (prev !== undefined) issue(path, `duplicate id '${id}' (already used by a ${prev})`);
    else kindOf.set(id, kind);
  };
  t.sockets.forEach((s, i) => declare(s.id, 'socket', ['sockets', i, 'id']));
  t.rootComplexes.forEach((rc, i) => {
    declare(rc.id, 'root complex', ['rootComplexes', i, 'id']);
    rc.rootPorts.forEach((p, j) => declare(p.id, 'root port', ['rootComplexes', i, 'rootPorts', j, 'id']));
  });
  t.switches.forEach((sw, i) => {
    declare(sw.id, 'switch', ['switches', i, 'id']);
    declare(sw.upstreamPort.id, 'switch upstream port', ['switches', i, 'upstreamPort', 'id']);
    sw.downstreamPorts.forEach((p, j) => declare(p.id, 'switch downstream port', ['switches', i, 'downstreamPorts', j, 'id']));
  });
  t.endpoints.forEach((e, i) => declare(e.id, 'endpoint', ['endpoints', i, 'id']));
  t.links.forEach((l, i) => declare(l.id, 'link', ['links', i, 'id']));

  const isAttachPoint = (id: string) => {
    const k = kindOf.get(id);
    return k === 'root port' || k === 'switch downstream port';
  };
  const badParent = (id: string, what: string) => {
    const k = kindOf.get(id);
    if (k === undefined) return `unknown parent port '${id}' for ${what}`;
    return `parent '${id}' of ${what} is a ${k}; attach to a root port or switch downstream port`;
  };

  t.rootComplexes.forEach((rc, i) => {
    if (kindOf.get(rc.socket) !== 'socket') issue(['rootComplexes', i, 'socket'], `unknown socket '${rc.socket}' for root complex '${rc.id}'`);
  });
  const zen = new Set(t.rootComplexes.map((rc) => rc.amdZen));
  if (zen.size > 1) issue(['rootComplexes'], 'amdZen must be the same on every root complex (it describes the CPU, which is system-wide)');

  t.switches.forEach((sw, i) => {
    if (!isAttachPoint(sw.parent)) issue(['switches', i, 'parent'], badParent(sw.parent, `switch '${sw.id}'`));
  });
  t.endpoints.forEach((e, i) => {
    if (e.parent !== undefined && !isAttachPoint(e.parent)) issue(['endpoints', i, 'parent'], badParent(e.parent, `endpoint '${e.id}'`));
  });

  // Switches must hang off a tree rooted at a root port: a cycle would make upstream walks endless.
  const switchOfPort = new Map<string, string>();
  for (const sw of t.switches) for (const p of sw.downstreamPorts) switchOfPort.set(p.id, sw.id);
  const parentOf = new Map(t.switches.map((sw) => [sw.id, switchOfPort.get(sw.parent)] as const));
  t.switches.forEach((sw, i) => {
    const seen: string[] = [sw.id];
    for (let cur = parentOf.get(sw.id); cur !== undefined; cur = parentOf.get(cur)) {
      if (cur === sw.id) {
        issue(['switches', i, 'parent'], `switch '${sw.id}' is its own ancestor (cycle ${[...seen, cur].join(' -> ')})`);
        break;
      }
      if (seen.includes(cur)) break; // a cycle above us; reported on its own members
      seen.push(cur);
    }
  });

  // A path endpoint belongs to exactly one device, and is not a multi-path device itself (a
  // driver picks among one device's initiators; a path of a path would be two devices' state).
  const pathOwner = new Map<string, string>();
  t.endpoints.forEach((e, i) => {
    e.paths.forEach((p, j) => {
      const at = ['endpoints', i, 'paths', j];
      const k = kindOf.get(p);
      if (k === undefined) issue(at, `unknown path endpoint '${p}' for endpoint '${e.id}'`);
      else if (k !== 'endpoint') issue(at, `path '${p}' of endpoint '${e.id}' is a ${k}; a path is another endpoint (PCI function or link port) of the same device`);
      else if (p === e.id) issue(at, `endpoint '${e.id}' names itself as a path; it is path 0 already`);
      else if (pathOwner.has(p)) issue(at, `path endpoint '${p}' is claimed by '${pathOwner.get(p)}' and '${e.id}'; a DMA initiator belongs to one device`);
      else pathOwner.set(p, e.id);
    });
  });
  t.endpoints.forEach((e, i) => {
    const owner = pathOwner.get(e.id);
    if (owner !== undefined && e.paths.length > 0) issue(['endpoints', i, 'paths'], `endpoint '${e.id}' is a path of '${owner}' and cannot have paths of its own`);
  });

  const pairs = new Map<string, string>();
  t.links.forEach((l, i) => {
    for (const end of ['a', 'b'] as const) {
      const k = kindOf.get(l[end]);
      if (k === undefined) issue(['links', i, end], `unknown link end '${l[end]}' for link '${l.id}'`);
      else if (k !== 'endpoint' && k !== 'socket') issue(['links', i, end], `link '${l.id}' end '${l[end]}' is a ${k}; private links join endpoints and sockets`);
    }
    if (l.a === l.b) issue(['links', i], `link '${l.id}' connects '${l.a}' to itself`);
    const key = l.a < l.b ? `${l.a}\u0000${l.b}` : `${l.b}\u0000${l.a}`;
    const prev = pairs.get(key);
    if (prev !== undefined) issue(['links', i], `link '${l.id}' duplicates link '${prev}' between '${l.a}' and '${l.b}'; declare bonded links once with the aggregate bandwidth`);
    else pairs.set(key, l.id);
  });
}

/** Zod schema for a declared topology (structure + cross-references). */
export const TopologySpecSchema = TopologyShape.superRefine(checkReferences);

/** A validated topology (defaults applied). */
export type TopologySpec = z.infer<typeof TopologySpecSchema>;
/** What a scenario author writes (defaults optional). */
export type TopologySpecInput = z.input<typeof TopologySpecSchema>;
export type SocketSpec = z.infer<typeof SocketSpecSchema>;
export type PortSpec = z.infer<typeof PortSpecSchema>;
export type RootComplexSpec = z.infer<typeof RootComplexSpecSchema>;
export type SwitchSpec = z.infer<typeof SwitchSpecSchema>;
export type EndpointSpec = z.infer<typeof EndpointSpecSchema>;
export type LinkSpec = z.infer<typeof LinkSpecSchema>;
export type LinkKind = z.infer<typeof LinkKindSchema>;
export type PcieGen = z.infer<typeof PcieGenSchema>;
export type PcieWidth = z.infer<typeof PcieWidthSchema>;

/** Thrown by parseTopologySpec; `issues` holds one `path: message` line per problem. */
export class TopologySpecError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid topology:\n${issues.map((s) => `  - ${s}`).join('\n')}`);
    this.name = 'TopologySpecError';
    this.issues = issues;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(root)' : out;
}

/** Validate unknown input (e.g. parsed YAML) into a TopologySpec, or throw TopologySpecError. */
export function parseTopologySpec(input: unknown): TopologySpec {
  const r = TopologySpecSchema.safeParse(input);
  if (r.success) return r.data;
  throw new TopologySpecError(r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
}
