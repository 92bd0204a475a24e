// The scenario file format: one YAML file says which devices (from profiles) sit on which
// interconnect, which processes allocate what, and which device kernels and CPU phases run in
// which order. This zod schema is the single source of truth for the shape: load.ts validates
// with it (then checks cross-references), and `hetmem schema` publishes it as JSON Schema so
// editors can complete and check scenario files. Quantities use the profile parsers
// ("8 MiB", "10 us", "300 GB/s").
import { z } from 'zod';
import { DEFAULT_KERNEL, KERNEL_VERSIONS } from '../mm/kernel.ts';
import { parseBandwidth, parseDuration, parseSize, QuantityError } from '../devices/profile/quantity.ts';
import { AccessCounterChoiceSchema, EvictionSchema, PathSchema, PlacementSchema, PrefetchSchema, ThrashingSchema } from '../policy/registry.ts';
import { LinkKindSchema, MAX_EXTRA_PATHS, PcieGenSchema, PcieWidthSchema } from '../topology/spec.ts';
import { SCHED_POLICIES } from '../policy/scheduler.ts';

/** Pages per 2 MiB VA block. */
const BLOCK_BYTES = 2 * 1024 * 1024;

const QUANTITY_TYPE = { type: ['string', 'number'] } as const;

/**
 * A quantity field: parsed with `parse`, then checked with `check` (returns a message or
 * undefined). The JSON Schema says "string or number" plus the description.
 */
function quantity<T extends number>(parse: (v: unknown) => T, description: string, check?: (v: T) => string | undefined) {
  return z.unknown().transform((v, ctx): T => {
    try {
      const out = parse(v);
      const bad = check?.(out);
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: bad });
        return z.NEVER;
      }
      return out;
    } catch (e) {
      if (!(e instanceof QuantityError)) throw e;
      ctx.addIssue({ code: 'custom', message: e.message, params: { quantity: true } });
      return z.NEVER;
    }
  }).meta({ description, ...QUANTITY_TYPE });
}

const SIZE_HELP = 'a byte count or "8 MiB" (B, KiB, MiB, GiB, TiB)';
const DURATION_HELP = 'a duration such as "10 us" (ps, ns, us or µs, ms, s)';
const BANDWIDTH_HELP = 'a bandwidth such as "300 GB/s", "200 Gbit/s" or a number of bytes/s';

const positive = (what: string) => (v: number) => (v > 0 ? undefined : `expected ${what} greater than zero`);

/** A name: letters, digits, _ . - (devices become topology endpoint ids, so the same rule). */
export const NameSchema = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a name of letters, digits, _ . -');

const Int = (min: number, description: string) => z.int().min(min).meta({ description });

// ---- devices ----

/**
 * Per-role policy choices (src/policy/registry.ts). A role given here replaces the role the
 * profile implies; omitted roles keep the profile's choice (or the registry default).
 */
export const ScenarioPoliciesSchema = z.strictObject({
  placement: PlacementSchema.optional().meta({ description: 'what a fault does: first-touch, map-remote (zero copy), read-duplication (not for hmm-mirror devices)' }),
  prefetch: PrefetchSchema.optional().meta({ description: 'prefetch-density (UVM tree, threshold 0..1) or prefetch-none' }),
  thrashing: ThrashingSchema.optional().meta({ description: 'thrashing-uvm (detection, throttling, pinning) or thrashing-off' }),
  accessCounters: AccessCounterChoiceSchema.optional().meta({ description: 'access-counters (migrate hot remote regions) or access-counters-off' }),
  eviction: EvictionSchema.optional().meta({ description: 'evict-lru-chunk (2 MiB root chunks), evict-lru-page or evict-random' }),
  path: PathSchema.optional().meta({ description: 'DMA path of each mapping of a multi-path device (topology endpoint paths): nearest (default), least-loaded (fewest bytes in flight on the bottleneck segment) or avoid-iommu; pinning and hmm-mirror devices' }),
}).meta({ id: 'Policies', description: 'policy choices per role; omitted roles keep the profile\'s defaults' });

export const DeviceSchema = z.strictObject({
  name: NameSchema.meta({ description: 'device name, also its topology endpoint id (e.g. gpu0)' }),
  profile: z.string().min(1).meta({ description: 'a shipped profile name (hetmem profiles) or a path to a profile YAML file, relative to the scenario file' }),
  memory: quantity(parseSize, `device memory, overriding the profile's capacity: ${SIZE_HELP}`).optional(),
  policies: ScenarioPoliciesSchema.optional(),
  scheduler: z.enum(SCHED_POLICIES).optional().meta({ description: "how kernels share the device: concurrent (default: all at once, as before), fifo (one at a time in launch order), priority (kernel priority, equals take turns by timeslice), fair (processes take turns, least device time first) or gang (kernels with one gang name run on all their devices in the same slices); slices and switch costs from the profile's scheduler section" }),
}).meta({ description: 'a device built from a profile' });

// ---- topology ----

const Id = NameSchema;
/**
 * Slowest bandwidth a scenario may give, bytes/s: at 1 MB/s a 4 KiB page already takes 4 ms; far
 * below it a run's simulated time passes what the engine represents (2^53 ps) or its timeline.
 */
export const MIN_BANDWIDTH = 1e6;
const Bandwidth = (d: string) => quantity(parseBandwidth, `${d} (at least 1 MB/s): ${BANDWIDTH_HELP}`,
  (b) => (b >= MIN_BANDWIDTH ? undefined : `expected a bandwidth of at least 1 MB/s (a 4 KiB page would take ${(4096 / b).toPrecision(3)} s), got ${b} B/s`));
const Latency = (d: string) => quantity(parseDuration, `${d}: ${DURATION_HELP}`);

const PortSchema = z.strictObject({
  id: Id,
  acsRedirect: z.boolean().optional().meta({ description: 'ACS redirect (RR, CR or EC) set: P2P goes up to the host bridge' }),
  gen: PcieGenSchema.optional(),
  width: PcieWidthSchema.optional(),
});

export const ScenarioTopologySchema = z.strictObject({
  sockets: z.array(z.strictObject({
    id: Id,
    memoryBytes: quantity(parseSize, `local DRAM capacity; bounds the socket's NUMA node (when full, pages go to the next socket): ${SIZE_HELP}`),
    memoryBandwidth: Bandwidth('DRAM bandwidth'),
    memoryLatencyPs: Latency('DRAM access latency'),
  })).min(1).optional().meta({ description: 'CPU sockets with their memory (default: one socket, cpu0)' }),
  rootComplexes: z.array(z.strictObject({
    id: Id,
    socket: Id,
    vendorId: z.int().min(0).max(0xffff).optional().meta({ description: 'host bridge PCI vendor id (default 0x8086, on the p2pdma whitelist)' }),
    deviceId: z.int().min(0).max(0xffff).optional().meta({ description: 'host bridge PCI device id (default 0x09a2)' }),
    amdZen: z.boolean().optional(),
    bandwidth: Bandwidth('root complex <-> socket bandwidth per direction').optional(),
    latencyPs: Latency('root complex traversal latency').optional(),
    rootPorts: z.array(PortSchema).min(1),
  })).optional().meta({ description: 'PCIe host bridges and their root ports' }),
  switches: z.array(z.strictObject({
    id: Id,
    parent: Id.meta({ description: 'root port or downstream port the switch hangs off' }),
    gen: PcieGenSchema,
    width: PcieWidthSchema,
    latencyPs: Latency('port-to-port latency').optional(),
    upstreamPort: z.strictObject({ id: Id, acsRedirect: z.boolean().optional() }),
    downstreamPorts: z.array(PortSchema).min(1),
  })).optional().meta({ description: 'PCIe switches' }),
  endpoints: z.array(z.strictObject({
    id: Id.meta({ description: 'a device name (or another PCIe endpoint)' }),
    gen: PcieGenSchema.optional().meta({ description: 'default: the device profile\'s PCIe generation' }),
    width: PcieWidthSchema.optional().meta({ description: 'default: the device profile\'s PCIe width' }),
    parent: Id.optional().meta({ description: 'root port or switch downstream port (absent: not on PCIe, e.g. C2C only)' }),
    linkLatencyPs: Latency('latency of the PCIe link above the endpoint').optional(),
    iommu: z.boolean().optional().meta({ description: 'DMA from this endpoint is translated by an IOMMU DMA domain (IOVAs, IOTLB misses cost an IOMMU walk); default false: identity/passthrough' }),
    paths: z.array(Id).max(MAX_EXTRA_PATHS).optional().meta({ description: 'further DMA initiators of this device (a socket-direct NIC\'s second PCIe function, a GPU\'s NVLink port): endpoint ids, each a path the driver may pick per mapping (policies.path); they default to the device\'s PCIe gen and width' }),
  })).optional().meta({ description: 'devices on the interconnect' }),
  links: z.array(z.strictObject({
    id: Id,
    kind: LinkKindSchema,
    a: Id,
    b: Id,
    bandwidth: Bandwidth('a -> b (and b -> a unless reverseBandwidth) bandwidth'),
    reverseBandwidth: Bandwidth('b -> a bandwidth of an asymmetric link').optional(),
    latencyPs: Latency('one-way latency'),
  })).optional().meta({ description: 'private links (NVLink, XGMI, C2C, CXL, UPI) between endpoints and sockets' }),
}).meta({
  description: 'the interconnect, in the shape of src/topology/spec.ts with quantities allowed. Each section left out is taken from the default topology (one socket cpu0, one root complex, each PCIe device on its own root port, profile peer links joined pairwise)',
});

// ---- processes ----

/**
 * mmap kinds of a buffer: anon (MAP_PRIVATE|MAP_ANONYMOUS), shared (MAP_SHARED|MAP_ANONYMOUS,
 * i.e. shmem), thp (anon with MADV_HUGEPAGE), file (MAP_SHARED of a page-cache file),
 * filePrivate (MAP_PRIVATE of one: writes copy on write) and hugetlb (MAP_HUGETLB, 2 MiB pages
 * from the hugetlb pool, which the run sizes to fit).
 */
export const ALLOCATION_KINDS = ['anon', 'shared', 'thp', 'file', 'filePrivate', 'hugetlb'] as const;

export const AllocationSchema = z.strictObject({
  name: NameSchema.meta({ description: 'buffer name, referenced by workloads' }),
  size: quantity(parseSize, `buffer size (rounded up to 4 KiB pages): ${SIZE_HELP}`, positive('a size')).optional(),
  pages: Int(1, 'buffer size in 4 KiB pages').optional(),
  oversubscribe: z.strictObject({
    device: NameSchema.meta({ description: 'the device whose memory the buffer oversubscribes' }),
    factor: z.number().positive().meta({ description: 'buffer size as a multiple of that device\'s memory (1.5 = 150 %)' }),
  }).optional().meta({ description: 'size the buffer relative to a device\'s memory' }),
  kind: z.enum(ALLOCATION_KINDS).default('anon').meta({ description: 'mmap kind: anon (private anonymous), shared (shmem), thp (anonymous, MADV_HUGEPAGE), file (a shared mapping of a page-cache file), filePrivate (a private mapping of one: writes copy on write) or hugetlb (2 MiB hugetlb pages; the size is rounded up to whole huge pages, aligned to 2 MiB)' }),
  align: quantity(parseSize, `alignment of the first page, a power of two ≥ 4 KiB (default 2 MiB, a VA block, as cudaMallocManaged does): ${SIZE_HELP}`,
    (b) => (b >= 4096 && Number.isInteger(Math.log2(b)) ? undefined : 'expected a power-of-two alignment of at least 4 KiB')).optional(),
}).superRefine((a, ctx) => {
  const given = (['size', 'pages', 'oversubscribe'] as const).filter((k) => a[k] !== undefined);
  if (given.length !== 1) ctx.addIssue({ code: 'custom', path: [], message: given.length === 0 ? 'give the buffer a size: one of size, pages, oversubscribe' : `give only one of size, pages, oversubscribe (got ${given.join(' and ')})` });
}).meta({ description: 'a buffer mapped with mmap before the run; give exactly one of size, pages, oversubscribe' });

const structureCommon = {
  name: NameSchema.meta({ description: 'structure name, referenced by workloads' }),
  arenaPages: Int(1, 'pages per allocator arena that nodes are scattered over (default 512 = 2 MiB)').optional(),
};

export const StructureSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('graph'),
    ...structureCommon,
    vertices: Int(2, 'vertex count'),
    degree: z.number().min(0).meta({ description: 'average degree (undirected edges = vertices × degree / 2)' }),
    vertexPages: Int(1, 'pages per vertex record (default 1)').optional(),
    visitedBytesPerVertex: z.int().min(1).max(4096).optional().meta({ description: 'bytes of the visited array per vertex (default 1)' }),
  }).meta({ description: 'a random graph in CSR form (workloads/graph.ts)' }),
  z.strictObject({
    type: z.literal('list'),
    ...structureCommon,
    nodes: Int(1, 'node count'),
    nodePages: Int(1, 'pages per node (default 1)').optional(),
  }).meta({ description: 'a linked list with scattered nodes (workloads/linked-list.ts)' }),
  z.strictObject({
    type: z.literal('tree'),
    ...structureCommon,
    nodes: Int(1, 'node count'),
    nodePages: Int(1, 'pages per node (default 1)').optional(),
    shape: z.enum(['random', 'balanced']).optional().meta({ description: 'random insertion order (default) or balanced' }),
  }).meta({ description: 'a binary search tree (workloads/tree.ts)' }),
]).meta({ description: 'a pointer structure the CPU builds with ordinary allocations (build it with a cpu step: workload { type: build })' });

export const ProcessSchema = z.strictObject({
  name: NameSchema.meta({ description: 'process name' }),
  allocations: z.array(AllocationSchema).default([]).meta({ description: 'buffers, mapped in this order' }),
  structures: z.array(StructureSchema).default([]).meta({ description: 'pointer structures, laid out after the buffers' }),
  node: NameSchema.optional().meta({ description: 'the socket (NUMA node) the process runs on: where it allocates under the default policy; default the first socket' }),
  policy: z.strictObject({
    mode: z.enum(['default', 'local', 'preferred', 'bind', 'interleave']).meta({ description: 'set_mempolicy(2) mode' }),
    nodes: z.array(NameSchema).optional().meta({ description: 'sockets (NUMA nodes) for preferred (the first), bind and interleave' }),
  }).optional().meta({ description: 'the memory policy its allocations follow (set_mempolicy); interleave spreads pages over the nodes by page offset' }),
}).meta({ description: 'an address space shared by the CPU and every device that runs in it' });

// ---- workloads ----

const common = {
  name: z.string().min(1).optional().meta({ description: 'kernel / phase name in results and traces (default: the workload type)' }),
  lanes: Int(1, 'lanes (warps, queues; CPU threads); default 32 on a device, 1 on the CPU').optional(),
  compute: quantity(parseDuration, `compute time per access besides memory time (default 1 ns): ${DURATION_HELP}`).optional(),
  accessBytes: quantity(parseSize, 'bytes one access moves, 1 B .. 4 KiB (default 4 KiB for page patterns, 64 B for lookups and pointer chasing)',
    (b) => (b >= 1 && b <= 4096 ? undefined : 'expected accessBytes between 1 B and 4 KiB')).optional(),
};
const bufferRef = NameSchema.meta({ description: 'an allocation of the process' });
const structureRef = NameSchema.meta({ description: 'a structure of the process' });
const WriteSchema = z.union([z.boolean(), z.literal('rw')]).meta({ description: 'false: reads; true: writes; rw: read then write each page' });

export const WORKLOAD_TYPES = ['streaming', 'strided', 'random', 'atomics', 'stencil', 'readMostly', 'allToAll', 'bfs', 'chaseList', 'searchTree', 'build'] as const;

export const WorkloadSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('streaming'), ...common, buffer: bufferRef,
    passes: Int(1, 'passes over the buffer (default 1)').optional(),
    write: WriteSchema.optional(),
  }).meta({ description: 'each lane walks its contiguous slice of the buffer in order' }),
  z.strictObject({
    type: z.literal('strided'), ...common, buffer: bufferRef,
    stride: Int(1, 'stride in pages'),
    passes: Int(1, 'passes (default 1)').optional(),
    shiftPerPass: Int(0, 'phase shift per pass, pages (default 0)').optional(),
    write: WriteSchema.optional(),
  }).meta({ description: 'grid-stride walk with a page stride' }),
  z.strictObject({
    type: z.literal('random'), ...common, buffer: bufferRef,
    accesses: Int(1, 'accesses per lane (scaled by --scale)'),
    writeFraction: z.number().min(0).max(1).optional().meta({ description: 'probability an access writes (default 0)' }),
  }).meta({ description: 'uniform random pages of the buffer' }),
  z.strictObject({
    type: z.literal('atomics'), ...common, buffer: bufferRef,
    accesses: Int(1, 'atomic operations per lane (scaled by --scale)'),
  }).meta({ description: 'atomic read-modify-writes on uniform random pages of the buffer: an HMM mirror device on a non-coherent link takes each system page device-exclusive first (make_device_exclusive_range), and a CPU touch takes it back; on the CPU and other devices, writes' }),
  z.strictObject({
    type: z.literal('stencil'), ...common, buffer: bufferRef,
    cols: Int(1, 'grid row width, pages'),
    rows: Int(1, 'grid rows (default: as many as fit in the buffer)').optional(),
    out: bufferRef.optional().meta({ description: 'second grid: sweeps alternate between buffer and out (default: in place)' }),
    iterations: Int(1, 'sweeps (default 1)').optional(),
  }).meta({ description: '5-point stencil over a row-major grid of pages' }),
  z.strictObject({
    type: z.literal('readMostly'), ...common, buffer: bufferRef,
    lookups: Int(1, 'lookups per lane (scaled by --scale)'),
    writeEvery: z.union([z.int().min(1), z.literal('never')]).optional().meta({ description: 'every n-th lookup writes (default 100), or never' }),
  }).meta({ description: 'random lookups in a shared table, mostly reads' }),
  z.strictObject({
    type: z.literal('allToAll'), ...common,
    buffers: z.array(bufferRef).min(2).meta({ description: 'one buffer per participant, pairwise distinct' }),
    index: Int(0, 'which participant this kernel is (its own buffer)'),
  }).meta({ description: 'participant `index` of an all-to-all exchange' }),
  z.strictObject({
    type: z.literal('bfs'), ...common, structure: structureRef,
    source: Int(0, 'source vertex (default 0)').optional(),
  }).meta({ description: 'level-synchronous BFS over a graph' }),
  z.strictObject({
    type: z.literal('chaseList'), ...common, structure: structureRef,
    steps: Int(1, 'nodes each lane visits (default: every node once overall; scaled by --scale)').optional(),
  }).meta({ description: 'pointer chasing along a linked list' }),
  z.strictObject({
    type: z.literal('searchTree'), ...common, structure: structureRef,
    lookups: Int(1, 'searches per lane (scaled by --scale)'),
    miss: z.boolean().optional().meta({ description: 'search for absent keys, so every search reaches a leaf (default false)' }),
  }).meta({ description: 'binary-search lookups from the root of a tree' }),
  z.strictObject({
    type: z.literal('build'), ...common, structure: structureRef,
  }).meta({ description: 'CPU only: the phase that writes every page of a structure (once per structure)' }),
]).meta({ id: 'Workload', description: 'a workload generator (src/workloads)' });

// ---- steps ----

export const KernelActivitySchema = z.strictObject({
  device: NameSchema.meta({ description: 'the device that runs the kernel' }),
  process: NameSchema.optional().meta({ description: 'address space (may be left out when there is one process)' }),
  workload: WorkloadSchema,
  priority: z.int().optional().meta({ description: 'run-queue priority under the device scheduler priority: higher runs first (default 0)' }),
  gang: NameSchema.optional().meta({ description: 'gang name under the device scheduler gang: the kernels of one step and process with this name, on distinct devices, are one job that starts and stops on all of them together' }),
}).meta({ id: 'Kernel', description: 'a device kernel' });

export const CpuActivitySchema = z.strictObject({
  process: NameSchema.optional().meta({ description: 'address space (may be left out when there is one process)' }),
  workload: WorkloadSchema,
}).meta({ id: 'CpuPhase', description: 'a CPU phase' });

export const MoveActivitySchema = z.strictObject({
  process: NameSchema.optional().meta({ description: 'address space (may be left out when there is one process)' }),
  buffer: bufferRef,
  to: NameSchema.meta({ description: 'the socket (NUMA node) to move the pages to' }),
  offset: Int(0, 'first page of the buffer to move (default 0; scaled by --scale)').optional(),
  pages: Int(1, 'pages to move (default: the rest of the buffer; scaled by --scale)').optional(),
}).meta({ id: 'Move', description: 'a CPU thread moves buffer pages to another NUMA node with move_pages(2); mirroring devices are invalidated and re-fault' });

export const MigrateActivitySchema = z.strictObject({
  process: NameSchema.optional().meta({ description: 'address space (may be left out when there is one process)' }),
  buffer: bufferRef,
  to: NameSchema.meta({ description: 'the device (HMM mirror with memory) whose driver migrates the pages into its memory' }),
  offset: Int(0, 'first page of the buffer to migrate (default 0; scaled by --scale)').optional(),
  pages: Int(1, 'pages to migrate (default: the rest of the buffer; scaled by --scale)').optional(),
}).meta({ id: 'Migrate', description: 'drm_pagemap_populate_mm: a device migrates buffer pages into its memory (from RAM, or from a peer of its owner group device to device), without mapping them; pages already there are skipped' });

export const AdviseActivitySchema = z.strictObject({
  process: NameSchema.optional().meta({ description: 'address space (may be left out when there is one process)' }),
  device: NameSchema.meta({ description: 'the device whose faults the advice steers (its VM, in Xe terms)' }),
  buffer: bufferRef,
  offset: Int(0, 'first page of the buffer the advice covers (default 0; scaled by --scale)').optional(),
  pages: Int(1, 'pages the advice covers (default: the rest of the buffer; scaled by --scale)').optional(),
  preferredLocation: NameSchema.meta({ description: "where the pages should live when this device faults on them: a device name (the device itself: its local memory; another: that peer's memory, refused with -ENOLINK without a fast interconnect, then local memory, then system memory, as Xe's IGT falls back), or 'system'" }),
}).meta({ id: 'Advise', description: "Xe's DRM_IOCTL_XE_MADVISE PREFERRED_LOC: a preferred location for a range, applied at the device's next fault" });

export const CrossDeviceSchema = z.strictObject({
  owners: z.enum(['interconnect', 'links', 'device']).optional().meta({ description: "how devices share a pagemap owner: interconnect (default; Linux 7.0 drm_pagemap_acquire_owner: a clique of devices with a private link or PCIe P2P between every pair), links (NVLink/XGMI hives only, transitive), device (one owner per device)" }),
  peerPages: z.enum(['owner', 'p2p-page']).optional().meta({ description: "a peer's device-private page for a device outside its owner group: owner (default, as merged: it migrates to RAM) or p2p-page (the unmerged HMM_PFN_ALLOW_P2P proposal: reached in place over PCIe P2P where p2pdma allows)" }),
  migrateLock: z.enum(['serial', 'none', 'rwsem']).optional().meta({ description: "devices migrating the same range: serial (default: the second waits for the first's migration, as UVM's VA-block lock does), or drm_gpusvm's -EBUSY: rwsem (Linux 7.0: a driver-wide rwsem taken for write after the first -EBUSY) or none (evict and retry: the livelock 7.0 fixed)" }),
  invalidation: z.enum(['one-pass', 'two-pass']).optional().meta({ description: 'a multi-device invalidation: one-pass (default: the CPU waits for each device in turn) or two-pass (the 2026 proposal: signal all, then wait: the slowest device)' }),
  sourcePeerMigrates: z.boolean().optional().meta({ description: "a page migrated from a peer is copied by the source device's copy engine (default true) or pulled by the destination's" }),
  timeslice: quantity(parseDuration, `drm_pagemap timeslice: after a migration into device memory, migrate_to_ram leaves the pages there this long (default 0): ${DURATION_HELP}`).optional(),
}).meta({ id: 'CrossDevice', description: 'cross-device HMM design (see ARCHITECTURE.md: cross-device HMM)' });

const rangeFields = {
  process: NameSchema.optional().meta({ description: 'address space (may be left out when there is one process)' }),
  buffer: bufferRef,
  offset: Int(0, 'first page of the buffer (default 0; scaled by --scale)').optional(),
  pages: Int(1, 'pages (default: the rest of the buffer; scaled by --scale)').optional(),
};

export const ForkActivitySchema = z.strictObject({
  process: NameSchema.optional().meta({ description: 'the parent (may be left out when there is one process)' }),
  child: NameSchema.meta({ description: 'name of the new process, which later steps name as their process; it has the parent\'s buffers and structures at the same addresses' }),
}).meta({ id: 'Fork', description: "fork(2): the child gets a copy-on-write copy of the parent's address space (dup_mmap: private writable PTEs become read-only in both, under an MMU_NOTIFY_PROTECTION_PAGE invalidation of the parent that mirroring devices see); either side's next write copies the page" });

export const ExitActivitySchema = z.strictObject({
  process: NameSchema.optional().meta({ description: 'the process that exits (may be left out when there is one process)' }),
}).meta({ id: 'Exit', description: "exit(2) (do_exit): exit_mm drops the task's mm_users reference, then its device files close, stopping its device tasks (running or queued); the address space goes when the last user does (exit_mmap: MMU_NOTIFY_RELEASE to every mirroring device, pages freed; device tasks hold one per profile scheduler.holdsMmUsers); later steps may not name the process" });

export const ExecActivitySchema = z.strictObject({
  process: NameSchema.optional().meta({ description: 'the process that execs (may be left out when there is one process)' }),
}).meta({ id: 'Exec', description: "execve(2): the old address space goes as at exit (MMU_NOTIFY_RELEASE, pages freed) and the new image maps the process's allocations again, empty, in a fresh address space; its structures are gone (later steps may not traverse them)" });

export const MunmapActivitySchema = z.strictObject({
  ...rangeFields,
}).meta({ id: 'Munmap', description: 'munmap(2) of a range of a buffer (MMU_NOTIFY_UNMAP: devices drop their mappings); a later access to it is an error' });

export const MprotectActivitySchema = z.strictObject({
  ...rangeFields,
  prot: z.string().regex(/^(none|[rwx-]+)$/, "expected 'none' or letters of rwx").meta({ description: "new protection: 'none' or letters of rwx ('r' makes the range read-only: devices lose write access through MMU_NOTIFY_PROTECTION_VMA)" }),
}).meta({ id: 'Mprotect', description: 'mprotect(2) of a range of a buffer' });

export const MADVICE = ['dontneed', 'free', 'cold', 'pageout', 'willneed', 'hugepage', 'nohugepage', 'remove', 'collapse'] as const;

export const MadviseActivitySchema = z.strictObject({
  ...rangeFields,
  advice: z.enum(MADVICE).meta({ description: 'MADV_DONTNEED (zap: the next touch reads zeroes), FREE, COLD, PAGEOUT, WILLNEED, HUGEPAGE, NOHUGEPAGE, REMOVE (shared mappings: punch the file) or COLLAPSE (6.1: into THPs)' }),
}).meta({ id: 'Madvise', description: 'madvise(2) of a range of a buffer' });

function exactlyOne(keys: readonly string[]) {
  return (v: Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
    const given = keys.filter((k) => v[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', path: [], message: given.length === 0 ? `expected one of ${keys.join(', ')}` : `expected only one of ${keys.join(', ')} (got ${given.join(' and ')}); list activities that start together as a list` });
  };
}

export const StageSchema = z.strictObject({
  kernel: KernelActivitySchema.optional(),
  cpu: CpuActivitySchema.optional(),
}).superRefine(exactlyOne(['kernel', 'cpu'])).meta({ id: 'Stage', description: 'a kernel or a CPU phase of a pipeline stage; its buffers are cut into chunks' });

export const PipelineSchema = z.strictObject({
  chunks: Int(1, 'how many chunks every buffer of the stages is cut into'),
  stages: z.array(z.union([StageSchema, z.array(StageSchema).min(1)])).min(1).meta({
    description: 'each stage is an activity or a list of activities that run together; stage s processes chunk c in wave c + s, and each wave starts when the previous one is done',
  }),
}).meta({ description: 'a software pipeline over buffer chunks (streaming, strided, random and readMostly stages)' });

/** The keys of an activity, one of which it gives. */
export const ACTIVITY_KEYS = ['kernel', 'cpu', 'pipeline', 'move', 'migrate', 'advise', 'fork', 'exit', 'exec', 'munmap', 'mprotect', 'madvise'] as const;

export const ActivitySchema = z.strictObject({
  kernel: KernelActivitySchema.optional(),
  cpu: CpuActivitySchema.optional(),
  pipeline: PipelineSchema.optional(),
  move: MoveActivitySchema.optional(),
  migrate: MigrateActivitySchema.optional(),
  advise: AdviseActivitySchema.optional(),
  fork: ForkActivitySchema.optional(),
  exit: ExitActivitySchema.optional(),
  exec: ExecActivitySchema.optional(),
  munmap: MunmapActivitySchema.optional(),
  mprotect: MprotectActivitySchema.optional(),
  madvise: MadviseActivitySchema.optional(),
  delay: quantity(parseDuration, `start the activity this long after its step starts (default 0), e.g. a fork while the step's kernels run: ${DURATION_HELP}`).optional(),
}).superRefine(exactlyOne(ACTIVITY_KEYS)).meta({ id: 'Activity', description: `one of ${ACTIVITY_KEYS.join(', ')}; with an optional delay` });

export const StepSchema = z.union([ActivitySchema, z.array(ActivitySchema).min(1)]).meta({
  description: 'an activity, or a list of activities that start together; the next step starts when all of them have finished',
});

// ---- the scenario ----

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1).meta({ description: 'run name (results, report titles)' }),
  description: z.string().optional().meta({ description: 'one line, printed under the first line of the run summary' }),
  seed: z.int().min(0).default(1).meta({ description: 'root seed of every random stream (default 1)' }),
  data: z.boolean().default(true).meta({ description: 'keep page contents (false: no-data mode, same timing and counters, less memory)' }),
  kernel: z.enum(KERNEL_VERSIONS).optional().meta({ description: `the Linux version whose mm and HMM behaviour the run reproduces where versions differ: ${KERNEL_VERSIONS.join(', ')} (default ${DEFAULT_KERNEL})` }),
  quantum: quantity(parseDuration, `lane quantum: how far a lane may run ahead within one kernel step (default 1 us): ${DURATION_HELP}`, positive('a duration')).optional(),
  bucket: quantity(parseDuration, `timeline bucket width (default 10 us): ${DURATION_HELP}`, positive('a duration')).optional(),
  duration: quantity(parseDuration, `stop the run at this simulated time (default: when every step is done): ${DURATION_HELP}`, positive('a duration')).optional(),
  maxSpans: Int(0, 'trace spans kept (default 100000; later ones are counted, not kept)').optional(),
  maxBatchRecords: Int(0, 'fault batch records each device keeps in results.json (default 100000; later batches are counted and summed in batchSummary, and hetmem run --out still writes every one to batches.csv)').optional(),
  devices: z.array(DeviceSchema).min(1).meta({ description: 'the devices, each from a profile' }),
  topology: ScenarioTopologySchema.optional(),
  crossDevice: CrossDeviceSchema.optional(),
  processes: z.array(ProcessSchema).min(1).meta({ description: 'address spaces with their buffers and structures' }),
  steps: z.array(StepSchema).min(1).meta({ description: 'what runs, in order' }),
}).meta({ title: 'hetmem scenario', description: 'A hetmem scenario: devices, topology, processes and the steps that run (see examples/README.md)' });

/** A scenario as validated (quantities in bytes and ps, defaults applied), before cross-references. */
export type ScenarioInput = z.output<typeof ScenarioSchema>;
export type DeviceInput = z.output<typeof DeviceSchema>;
export type AllocationInput = z.output<typeof AllocationSchema>;
export type StructureInput = z.output<typeof StructureSchema>;
export type ProcessInput = z.output<typeof ProcessSchema>;
export type WorkloadInput = z.output<typeof WorkloadSchema>;
export type KernelActivityInput = z.output<typeof KernelActivitySchema>;
export type CpuActivityInput = z.output<typeof CpuActivitySchema>;
export type MoveActivityInput = z.output<typeof MoveActivitySchema>;
export type MigrateActivityInput = z.output<typeof MigrateActivitySchema>;
export type AdviseActivityInput = z.output<typeof AdviseActivitySchema>;
export type ForkActivityInput = z.output<typeof ForkActivitySchema>;
export type ExitActivityInput = z.output<typeof ExitActivitySchema>;
export type ExecActivityInput = z.output<typeof ExecActivitySchema>;
export type MunmapActivityInput = z.output<typeof MunmapActivitySchema>;
export type MprotectActivityInput = z.output<typeof MprotectActivitySchema>;
export type MadviseActivityInput = z.output<typeof MadviseActivitySchema>;
export type CrossDeviceInput = z.output<typeof CrossDeviceSchema>;
export type ActivityInput = z.output<typeof ActivitySchema>;
export type PipelineInput = z.output<typeof PipelineSchema>;
export type ScenarioTopologyInput = z.output<typeof ScenarioTopologySchema>;

/** Default alignment of allocations: one VA block. */
export const DEFAULT_ALIGN = BLOCK_BYTES;

/** The JSON Schema of scenario files (draft 2020-12), for editors. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ScenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
