// Device profiles: what one device (GPU, accelerator, NIC...) and its links look like to the
// model: fault servicing, copy engines, transfer curve, TLB, page sizes and policy defaults.
// The YAML uses human units ("4 KiB", "11.95 GB/s", "45 us"); the schema turns them into bytes,
// bytes/s and integer picoseconds. Every number in a profile file must name its source (see
// checkSources): a citation, or a string starting with "estimate".
import { z } from 'zod';
import { mib, type Bytes } from '../../units/bytes.ts';
import type { TimePs } from '../../units/time.ts';
import { formatPath, type Path, type PathIssue } from '../../units/yaml-located.ts';
import { PcieGenSchema, PcieWidthSchema } from '../../topology/spec.ts';
import { isQuantity, parseBandwidth, parseDuration, parseSize, QuantityError } from './quantity.ts';
import { isEstimate } from './sources.ts';

export const DEVICE_KINDS = ['gpu', 'accelerator', 'nic', 'sva-accelerator', 'crypto', 'ai-engine'] as const;
/**
 * How the device shares the address space: `hmm-mirror` mirrors CPU page tables and migrates
 * pages into device memory (NVIDIA UVM, AMD KFD SVM, Intel Xe gpusvm); `sva` walks the CPU page
 * tables through the IOMMU (PASID) and reports faults with PCIe PRI; `pinning` pins pages
 * (get_user_pages / RDMA memory registration), optionally with on-demand paging.
 */
export const DRIVER_KINDS = ['hmm-mirror', 'sva', 'pinning'] as const;
/** Host-facing link kinds. */
export const HOST_LINK_KINDS = ['pcie', 'nvlink', 'xgmi', 'nvlink-c2c', 'cxl'] as const;
/**
 * Device-to-device link kinds: the default topology joins devices with such links directly (and
 * into one address-space group for NVLink and XGMI). PCIe peer-to-peer goes through the PCIe
 * tree, and an RDMA network port reaches no device of the model, so neither is a peer link.
 */
export const PEER_LINK_KINDS = ['nvlink', 'xgmi', 'cxl'] as const;
/**
 * How the pinning driver registers memory (RDMA `ibv_reg_mr`): `pin` pins every page of the
 * region at registration (ib_umem_get → pin_user_pages FOLL_LONGTERM); `odp` pins nothing and
 * faults pages in on first device access (mlx5 On-Demand Paging, IB_ACCESS_ON_DEMAND).
 */
export const REGISTRATION_MODES = ['pin', 'odp'] as const;
/**
 * How serviced faults resume. UVM's replay policies (anchors-uvm.md b.1) replay every stalled
 * access: after each VA block, batch, flushed batch, or the whole buffer. `per-fault` answers
 * only the faults serviced, as Xe's page-fault response to the GuC does: other stalled accesses
 * keep waiting for their own answer instead of faulting again.
 */
export const REPLAY_POLICIES = ['block', 'batch', 'batch-flush', 'once', 'per-fault'] as const;

/** Default device memory chunk: UVM manages GPU memory in 2 MiB root chunks (anchors-uvm.md b.5). */
export const DEFAULT_CHUNK_SIZE: Bytes = mib(2);

function quantity<T>(parse: (v: unknown) => T) {
  return z.unknown().transform((v, ctx): T => {
    try {
      return parse(v);
    } catch (e) {
      if (!(e instanceof QuantityError)) throw e;
      ctx.addIssue({ code: 'custom', message: e.message, params: { quantity: true } });
      return z.NEVER;
    }
  });
}

/** Bytes: a byte count or "4 KiB". */
export const SizeSchema = quantity((v) => parseSize(v));
/** Bytes/s: a number or "11.95 GB/s". */
export const BandwidthSchema = quantity((v) => parseBandwidth(v));
/** Integer picoseconds from "45 us". */
export const DurationSchema = quantity((v) => parseDuration(v));

const isPowerOfTwo = (n: number) => n >= 1 && Number.isInteger(Math.log2(n));
const PowerOfTwoSize = SizeSchema.refine((b) => isPowerOfTwo(b), { message: 'expected a power-of-two size such as "4 KiB" or "2 MiB"' });
const PositiveSize = SizeSchema.refine((b) => b > 0, { message: 'expected a size greater than zero' });
const PositiveInt = z.number().int().positive();

const Name = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'expected a name of lowercase letters, digits, _ . - (e.g. "gpu-pcie4")');

export const MemorySchema = z.strictObject({
  /** Device-local memory, bytes (0 for devices that only use host memory). */
  capacity: SizeSchema,
  /** Allocation/eviction unit of device memory, bytes; default 2 MiB root chunks. */
  chunkSize: PowerOfTwoSize.default(DEFAULT_CHUNK_SIZE),
  /**
   * Page sizes the device MMU can map, bytes, ascending from 4 KiB. The device maps each
   * address with the largest size its mapping allows (an aligned, physically contiguous run
   * with one permission; for SVA the CPU page table's leaf), and a TLB entry covers one such
   * page: so these sizes decide the TLB's reach.
   */
  /**
   * The unit the device mirrors and migrates in (hmm-mirror): a fault maps and migrates the
   * aligned unit around the page, and a CPU fault on a device page brings the unit back, so
   * pages sharing a unit move together (false sharing). Default 4 KiB. At most 2 MiB.
   */
  granularity: PowerOfTwoSize.refine((b) => b >= 4096 && b <= DEFAULT_CHUNK_SIZE, { message: 'expected a granularity from 4 KiB to 2 MiB' }).optional(),
  /**
   * Whether the device page table records which pages the device wrote (default true). false:
   * every page the device may write is treated as dirty: the pinning driver copies every
   * registered page back after the kernel, not only those written.
   */
  dirtyTracking: z.boolean().default(true),
  /**
   * Whether a device page-table entry can be read-only (default true). false (hmm-mirror): the
   * driver must not map a page the device may not write, so every page it maps in a writable
   * VMA is faulted in for write (breaking COW, replacing the zero page) and pages of a read-only
   * VMA cannot be mapped at all: the device's access is a fatal fault.
   */
  readOnlyProtection: z.boolean().default(true),
  pageSizes: z.array(PowerOfTwoSize).min(1).superRefine((sizes, ctx) => {
    if (sizes[0] !== 4096) ctx.addIssue({ code: 'custom', path: [0], message: 'the first page size must be 4 KiB (the base page every device maps)' });
    if (sizes.length > 8) ctx.addIssue({ code: 'custom', path: [8], message: 'at most 8 page sizes' });
    for (let i = 1; i < sizes.length; i++) {
      if (sizes[i] <= sizes[i - 1]) ctx.addIssue({ code: 'custom', path: [i], message: 'page sizes must be listed in ascending order without repeats' });
    }
  }),
});

export const PeerLinkSchema = z.strictObject({
  kind: z.enum(PEER_LINK_KINDS),
  /** Bytes/s per direction (bonded links aggregated). */
  bandwidth: BandwidthSchema,
  /** One-way latency, ps. */
  latency: DurationSchema,
  /**
   * Peers each device reaches over this link: the default topology joins devices of one peer
   * kind, in declaration order, into fully connected sets of peers + 1 (1: pairs, 3: a hive of 4).
   */
  peers: PositiveInt,
});

export const LinkSchema = z
  .strictObject({
    kind: z.enum(HOST_LINK_KINDS),
    /** PCIe generation and width (kind pcie); the usable bandwidth comes from topology/pcie.ts. */
    pcie: z.strictObject({ gen: PcieGenSchema, width: PcieWidthSchema }).optional(),
    /** Bytes/s host → device; overrides the PCIe-derived figure when given. */
    hostToDevice: BandwidthSchema.optional(),
    /** Bytes/s device → host. */
    deviceToHost: BandwidthSchema.optional(),
    /** One-way latency, ps. */
    latency: DurationSchema,
    /** Cache-coherent with the CPU (C2C, CXL.cache, XGMI-to-CPU). */
    coherent: z.boolean().default(false),
    /** Device-to-device link (NVLink / XGMI peers, RDMA network port). */
    peer: PeerLinkSchema.optional(),
  })
  .superRefine((l, ctx) => {
    const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (l.hostToDevice !== undefined && l.deviceToHost === undefined) bad('deviceToHost', 'hostToDevice is given, so deviceToHost is needed too (bandwidth per direction)');
    if (l.deviceToHost !== undefined && l.hostToDevice === undefined) bad('hostToDevice', 'deviceToHost is given, so hostToDevice is needed too (bandwidth per direction)');
    if (l.kind === 'pcie') {
      if (l.pcie === undefined && l.hostToDevice === undefined) bad('pcie', 'a pcie link needs pcie: { gen, width } or hostToDevice/deviceToHost bandwidths');
    } else {
      if (l.pcie !== undefined) bad('pcie', `pcie: { gen, width } applies only to kind pcie, not ${l.kind}`);
      if (l.hostToDevice === undefined && l.deviceToHost === undefined) bad('hostToDevice', `link kind ${l.kind} needs hostToDevice and deviceToHost bandwidths`);
    }
  });

/**
 * How a driver spends a fault, decomposed the way the drivers spend it (anchors-uvm.md b.1 for
 * UVM's batch pipeline, anchors-2026.md §3 row 7 for Xe's per-fault breakdown): fetch and
 * pre-process a batch, service each VA block, migrate_vma's CPU time per page, the copy (from
 * the transfer curve / copy engines), the device page-table update (bind), the replay. Each
 * part is a separate number so that vendors differ where their drivers differ.
 */
export const FaultSchema = z
  .strictObject({
    /**
     * Fixed cost of one service pass, ps: for a mirror device one fault batch (bottom-half
     * wake-up, fetch from the hardware buffer, sort); for SVA one pass of the IOMMU page-request
     * queue; for an ODP NIC one page-fault event.
     */
    serviceLatency: DurationSchema,
    /** Per fault serviced after coalescing (translate to a VA space, look up the block, check residency), ps. */
    perFaultCost: DurationSchema.optional(),
    /** hmm-mirror: per VA block (UVM) or range (drm_gpusvm, KFD) serviced in a batch, ps. */
    perBlockCost: DurationSchema.optional(),
    /** hmm-mirror: migrate_vma CPU time per 4 KiB page migrated (setup, alloc, pages, finalize), ps; the copy is priced apart. */
    perPageCost: DurationSchema.optional(),
    /**
     * hmm-mirror: migrate_vma CPU time per 2 MiB folio when the driver migrates THPs whole
     * (MIGRATE_VMA_SELECT_COMPOUND, Linux 6.19 / Xe 7.1), ps. Present = the THP path: a fully
     * migrated 2 MiB block costs this instead of 512 × perPageCost, copies as one transfer and
     * binds as one entry. Absent = the 4 KiB path.
     */
    perFolioCost: DurationSchema.optional(),
    /** hmm-mirror: device page-table update per mapping operation (hmm_range_fault + bind of one run), ps. */
    bindCost: DurationSchema.optional(),
    /** hmm-mirror: extra bind cost per device page-table entry written (a whole-folio 2 MiB run is one entry), ps. */
    bindPerEntry: DurationSchema.optional(),
    /** hmm-mirror: one replay (or, for non-replayable devices, one queue restore), ps. */
    replayCost: DurationSchema.optional(),
    /**
     * hmm-mirror: bytes a GPU fault migrates around the faulting page, aligned, clipped to the
     * VMA and the 2 MiB block: KFD's svm_range granularity window (2 MiB), drm_gpusvm's range
     * chunk (2 MiB / 64 KiB / 4 KiB). Absent = the faulting page only (UVM; its prefetcher
     * decides the rest).
     */
    migrateWindow: PowerOfTwoSize.optional(),
    /** hmm-mirror: fixed cost of the driver's migrate_to_ram (a CPU or a foreign device touching this device's page), ps. */
    cpuFaultCost: DurationSchema.optional(),
    /** hmm-mirror: bytes migrate_to_ram moves back around the touched page (aligned, clipped to the VMA and 2 MiB). */
    cpuFaultWindow: PowerOfTwoSize.optional(),
    /**
     * hmm-mirror: the device raises replayable (retry) faults. false = AMD with XNACK off: the
     * driver cannot resolve a fault while the queue runs, so it maps whole ranges where they
     * reside before the queue runs (queue restore) and never migrates on a fault.
     */
    replayable: z.boolean().default(true),
    /** Faults fetched and serviced per batch. */
    batchSize: PositiveInt.optional(),
    /** Hardware fault buffer entries. */
    bufferCapacity: PositiveInt.optional(),
    replayPolicy: z.enum(REPLAY_POLICIES).optional(),
    /** Duplicate faults (same page) are coalesced into one. */
    coalesceDuplicates: z.boolean().optional(),
    /** SVA only: cost of one PCIe PRI page request round trip (request → IOMMU → response), ps. */
    priCost: DurationSchema.optional(),
  })
  .superRefine((f, ctx) => {
    if (f.batchSize !== undefined && f.bufferCapacity !== undefined && f.batchSize > f.bufferCapacity) {
      ctx.addIssue({ code: 'custom', path: ['batchSize'], message: `batchSize ${f.batchSize} exceeds bufferCapacity ${f.bufferCapacity} (the driver clamps a batch to the fault buffer)` });
    }
    if (f.migrateWindow !== undefined && f.migrateWindow > DEFAULT_CHUNK_SIZE) ctx.addIssue({ code: 'custom', path: ['migrateWindow'], message: 'expected at most 2 MiB (one VA block)' });
    if (f.cpuFaultWindow !== undefined && f.cpuFaultWindow > DEFAULT_CHUNK_SIZE) ctx.addIssue({ code: 'custom', path: ['cpuFaultWindow'], message: 'expected at most 2 MiB (one VA block)' });
  });

/**
 * The fields of fault batching: every device that takes page faults needs them; a mirror device
 * without replayable faults (XNACK off) never services a batch, so they are refused there.
 */
export const BATCH_FAULT_FIELDS = ['perFaultCost', 'batchSize', 'bufferCapacity', 'replayPolicy', 'coalesceDuplicates'] as const;
/** The fault fields a mirror device without replayable faults reads: its queue restore. */
export const RESTORE_FAULT_FIELDS = ['bindCost', 'bindPerEntry', 'replayCost'] as const;
/** The fault fields only the HMM mirror driver reads; required for it, refused for the others. */
export const MIRROR_FAULT_FIELDS = ['perBlockCost', 'perPageCost', 'bindCost', 'bindPerEntry', 'replayCost', 'cpuFaultCost'] as const;
/** Optional mirror-only fault fields (refused for other drivers). */
export const MIRROR_OPTIONAL_FAULT_FIELDS = ['perFolioCost', 'migrateWindow', 'cpuFaultWindow'] as const;

export const CopyEnginesSchema = z.strictObject({
  count: PositiveInt,
  /** Per-engine bytes/s; absent = the link is the bottleneck. */
  bandwidth: BandwidthSchema.optional(),
  /** Largest single copy, bytes (bigger migrations are split). */
  chunkSize: PositiveSize,
  /** Fixed cost per transfer (descriptor setup, doorbell, completion), ps. */
  setupLatency: DurationSchema,
});

export const TransferPointSchema = z.strictObject({ size: PositiveSize, bandwidth: BandwidthSchema });

export const TransferCurveSchema = z.array(TransferPointSchema).min(1).superRefine((pts, ctx) => {
  for (let i = 1; i < pts.length; i++) {
    if (pts[i].size <= pts[i - 1].size) ctx.addIssue({ code: 'custom', path: [i, 'size'], message: 'transfer curve sizes must be strictly increasing' });
  }
});

export const TlbSchema = z.strictObject({
  /** Translations held, each of one page of the size the mapping uses (see memory.pageSizes). */
  entries: PositiveInt,
  /** Cost of a miss (page walk), ps. */
  missCost: DurationSchema,
  /** Cost of one invalidation (shootdown), ps. */
  invalidationCost: DurationSchema,
});

/**
 * Hardware access counters (the GPU counts remote accesses per 2 MiB region, UVM's default
 * granularity; other granularities are not modelled).
 */
export const AccessCountersSchema = z.strictObject({
  /** Remote accesses per region before a notification, when policy.accessCounterMigration is on. */
  threshold: PositiveInt,
});

/**
 * The profile's policy defaults in its vendor's vocabulary (devices/profile/policies.ts turns
 * them into policy-registry choices; a scenario's `policies` override them per role). Absent
 * parameters take the registry defaults, which are UVM's.
 */
export const ProfilePolicySchema = z
  .strictObject({
    /** NVIDIA UVM's density-tree prefetcher (uvm_perf_prefetch.c) → prefetch-density. */
    prefetch: z.strictObject({
      name: z.literal('uvm-tree'),
      /** uvm_perf_prefetch_threshold: percent of a subtree already faulted/resident that fills it. */
      threshold: z.number().gt(0).lte(100).optional(),
      /** uvm_perf_prefetch_min_faults: faults in a block before prefetching starts. */
      minFaults: z.int().min(1).max(20).optional(),
      /** Leaf size of the prefetch tree (UVM's 64 KiB big page), bytes; 4 KiB .. 2 MiB. */
      bigPage: PowerOfTwoSize.refine((b) => b >= 4096 && b <= DEFAULT_CHUNK_SIZE, { message: 'expected a big page between 4 KiB and 2 MiB' }).optional(),
    }).optional(),
    /** NVIDIA UVM's thrashing detection (uvm_perf_thrashing.c) → thrashing-uvm. */
    thrashing: z.strictObject({
      name: z.literal('uvm-thrashing'),
      /** uvm_perf_thrashing_threshold: migrations within a lapse that mark a page thrashing. */
      threshold: z.int().min(1).max(7).optional(),
      /** uvm_perf_thrashing_lapse_usec, ps. */
      lapse: DurationSchema.optional(),
      /** uvm_perf_thrashing_nap: how long a throttled processor waits, ps (rounded to lapses). */
      nap: DurationSchema.optional(),
      /** uvm_perf_thrashing_pin_threshold: thrashing events before a page is pinned. */
      pinThreshold: z.int().min(1).max(255).optional(),
      /** uvm_perf_thrashing_pin: how long a page stays pinned, ps (rounded to lapses). */
      pin: DurationSchema.optional(),
    }).optional(),
    /** UVM's access-counter migration on by default (ATS systems); needs an accessCounters section. */
    accessCounterMigration: z.boolean().optional(),
    /**
     * AMD KFD SVM: no UVM-style throttling → thrashing-off. Its 2 MiB granularity window is the
     * profile's fault.migrateWindow / cpuFaultWindow, its XNACK switch fault.replayable.
     */
    svm: z.strictObject({ name: z.literal('amd-kfd-svm') }).optional(),
  })
  .superRefine((pol, ctx) => {
    if (pol.svm !== undefined && pol.thrashing !== undefined) ctx.addIssue({ code: 'custom', path: ['thrashing'], message: 'svm sets the thrashing role itself (KFD has no throttling); give one of svm, thrashing' });
  });

/** Driver pinning only: how a kernel's regions are registered (see REGISTRATION_MODES). */
export const RegistrationSchema = z.strictObject({
  /** `pin` (default): pinned at registration, no device faults. `odp`: faulted in on demand, never pinned. */
  mode: z.enum(REGISTRATION_MODES),
});

/**
 * Driver sva only: what the IOMMU and the device's PCIe function support (Linux drivers/iommu:
 * iommu-sva.c, io-pgfault.c; PCIe ATS/PRI/PASID capabilities). Absent = all three.
 */
export const IommuSchema = z.strictObject({
  /** Process Address Space IDs: DMA tagged with the process's address space. SVA needs it. */
  pasid: z.boolean(),
  /**
   * Page Request Interface: the device can report a missing translation and wait for the
   * kernel to fault the page in (iommu iopf). Without it the driver pins the kernel's regions
   * before the kernel runs, and an access to anything else is a fatal translation fault.
   */
  pri: z.boolean(),
  /**
   * Address Translation Services: the device caches translations in its ATC (the profile's
   * `tlb`). Without it every access is translated by the IOMMU: tlb.missCost each, nothing
   * cached, and no ATS invalidations for the device to wait for.
   */
  ats: z.boolean(),
});

/**
 * How the device shares itself between off-CPU tasks (kernels, queues, contexts) when a scenario
 * gives it a scheduling policy other than `concurrent` (src/policy/scheduler.ts). Absent: the
 * defaults of `schedOf`.
 */
export const SchedulerSchema = z.strictObject({
  /** Length of one task's turn before the scheduler may switch to another, ps. */
  timeslice: DurationSchema.refine((v) => v > 0, { message: 'expected a timeslice greater than zero' }).optional(),
  /** Loading a task's context (page-table base, queue state) before it runs, ps. */
  contextSwitchCost: DurationSchema.optional(),
  /** Saving a running task's state when it is preempted (compute preemption), ps. */
  preemptionCost: DurationSchema.optional(),
  /**
   * What a fault does to the engine: stall (the task keeps the device while its lanes wait for
   * the replay) or switch (once every lane waits, the task is switched out and another runs; it
   * queues again at the replay).
   */
  faultMode: z.enum(['stall', 'switch']).default('stall'),
  /**
   * Whether a running job can be stopped in the middle. false: slices never preempt (jobs run to
   * completion), and an MMU-notifier invalidation of pages a running job mirrors cannot update
   * the device page table until the job ends: the CPU side waits for the job.
   */
  preemptible: z.boolean().default(true),
  /**
   * How a task references its address space. true: mmget when it is bound (mm_users), so the
   * process's exit or exec leaves the address space alive until the task ends or the device file
   * closes. false: only mmgrab (mm_count, as a notifier subscriber holds it): the last task
   * thread's exit or exec tears the address space down under it, the driver's notifier sees
   * RELEASE, and the task's next access is a fatal fault (its mmget_not_zero fails).
   */
  holdsMmUsers: z.boolean().default(true),
});

export const ProfileSchema = z
  .strictObject({
    name: Name,
    description: z.string().min(1),
    kind: z.enum(DEVICE_KINDS),
    driver: z.enum(DRIVER_KINDS),
    memory: MemorySchema,
    link: LinkSchema,
    /**
     * How the device's faults are serviced. Required where the device faults (hmm-mirror; sva
     * with PRI; pinning with odp registration); refused where it never does (pinning with pin
     * registration pins up front; sva without PRI pins up front), so no number sits unread.
     */
    fault: FaultSchema.optional(),
    copyEngines: CopyEnginesSchema.optional(),
    /** Measured or fitted bandwidth by transfer size; interpolated log-linearly in size. */
    transferCurve: TransferCurveSchema.optional(),
    tlb: TlbSchema,
    accessCounters: AccessCountersSchema.optional(),
    /** Driver sva: IOMMU capabilities; absent = PASID, PRI and ATS. */
    iommu: IommuSchema.optional(),
    /** Driver pinning: memory registration mode; absent = pin. */
    registration: RegistrationSchema.optional(),
    /** Off-CPU task scheduling costs and properties (see SchedulerSchema); absent = schedOf's defaults. */
    scheduler: SchedulerSchema.optional(),
    /** Policy defaults of the device (see ProfilePolicySchema). */
    policy: ProfilePolicySchema.default({}),
    /** Field path ("fault.serviceLatency", "transferCurve") → citation or "estimate...". */
    sources: z.record(z.string(), z.string().refine((v) => v.trim() !== '', 'expected a citation or "estimate", got an empty string')),
  })
  .superRefine((p, ctx) => {
    const bad = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (p.kind === 'sva-accelerator' && p.driver !== 'sva') bad(['driver'], `an sva-accelerator uses driver sva, not ${p.driver}`);
    const pri = p.iommu?.pri ?? true;
    if (p.driver === 'sva' && pri && p.fault !== undefined && p.fault.priCost === undefined) bad(['fault', 'priCost'], 'driver sva needs fault.priCost (the PCIe PRI page-request round trip)');
    if (p.driver !== 'sva' && p.fault?.priCost !== undefined) bad(['fault', 'priCost'], `priCost applies only to driver sva, not ${p.driver}`);
    if (p.iommu !== undefined && p.driver !== 'sva') bad(['iommu'], `iommu applies only to driver sva, not ${p.driver}`);
    if (p.driver === 'sva' && p.iommu?.pasid === false) bad(['iommu', 'pasid'], 'driver sva shares the process address space through a PASID (iommu_sva_bind_device fails without one); use driver pinning for a device without PASID');
    if (p.driver === 'hmm-mirror' && p.copyEngines === undefined) bad(['copyEngines'], 'driver hmm-mirror migrates pages and needs copyEngines');
    const faults = p.driver === 'hmm-mirror' || (p.driver === 'sva' && pri) || (p.driver === 'pinning' && p.registration?.mode === 'odp');
    if (faults && p.fault === undefined) {
      bad(['fault'], `a ${p.driver} device${p.driver === 'pinning' ? ' with odp registration' : p.driver === 'sva' ? ' with PRI' : ''} takes page faults and needs a fault section`);
      return;
    }
    if (!faults && p.fault !== undefined) {
      bad(['fault'], p.driver === 'pinning'
        ? 'a pinning device with pin registration pins its regions up front and never faults: remove the fault section (or use registration mode odp)'
        : 'an sva device without PRI (iommu.pri false) pins its regions up front and never faults: remove the fault section');
      return;
    }
    if (p.fault === undefined) return;
    if (p.driver === 'sva' && p.fault.replayPolicy !== 'per-fault') bad(['fault', 'replayPolicy'], `a PRI response answers only its page-request group, so an sva device resumes per fault: replayPolicy per-fault, not ${p.fault.replayPolicy}`);
    if (p.fault.replayable) {
      // Reported as any required field is: "missing required field", or a misspelling's "did you mean".
      for (const k of BATCH_FAULT_FIELDS) if (p.fault[k] === undefined) ctx.addIssue({ code: 'custom', path: ['fault', k], message: `a device that takes page faults needs fault.${k}`, params: { missing: true } });
      for (const k of MIRROR_FAULT_FIELDS) {
        if (p.driver === 'hmm-mirror' && p.fault[k] === undefined) bad(['fault', k], `driver hmm-mirror needs fault.${k} (see profiles/README.md: how a fault's cost is decomposed)`);
      }
    } else if (p.driver === 'hmm-mirror') {
      // No retry faults: the driver maps ranges where they are at queue restore and never
      // services a fault batch or migrates, so only the restore's numbers are read.
      for (const k of RESTORE_FAULT_FIELDS) if (p.fault[k] === undefined) bad(['fault', k], `a device without replayable faults needs fault.${k} (its queue restore)`);
      for (const k of [...BATCH_FAULT_FIELDS, ...MIRROR_FAULT_FIELDS, ...MIRROR_OPTIONAL_FAULT_FIELDS]) {
        if (!(RESTORE_FAULT_FIELDS as readonly string[]).includes(k) && p.fault[k] !== undefined) {
          bad(['fault', k], `fault.${k}: a device without replayable faults (replayable: false) never services a fault batch or migrates on a fault, so nothing reads it: remove it`);
        }
      }
    }
    for (const k of [...MIRROR_FAULT_FIELDS, ...MIRROR_OPTIONAL_FAULT_FIELDS]) {
      if (p.driver !== 'hmm-mirror' && p.fault[k] !== undefined) bad(['fault', k], `fault.${k} applies only to driver hmm-mirror, not ${p.driver}`);
    }
    if (p.driver !== 'hmm-mirror' && !p.fault.replayable) bad(['fault', 'replayable'], `fault.replayable: false applies only to driver hmm-mirror, not ${p.driver}`);
    if (p.policy.accessCounterMigration === true && p.accessCounters === undefined) bad(['policy', 'accessCounterMigration'], 'access-counter migration needs the hardware counters: add an accessCounters section');
    if (p.registration !== undefined && p.driver !== 'pinning') bad(['registration'], `registration applies only to driver pinning, not ${p.driver}`);
    if (p.registration?.mode === 'odp' && p.memory.capacity >= p.memory.chunkSize) {
      bad(['registration', 'mode'], 'registration mode odp works in place on host memory; a device with memory (memory.capacity) copies its buffers in, which needs mode pin');
    }
  });

/** A validated device profile: sizes in bytes, bandwidths in bytes/s, times in integer ps. */
export type Profile = z.output<typeof ProfileSchema>;
/** What a profile file contains before unit parsing and defaults. */
export type ProfileInput = z.input<typeof ProfileSchema>;
export type DeviceKind = (typeof DEVICE_KINDS)[number];
export type DriverKind = (typeof DRIVER_KINDS)[number];
export type ReplayPolicy = (typeof REPLAY_POLICIES)[number];
export type HostLinkKind = (typeof HOST_LINK_KINDS)[number];
export type PeerLinkKind = (typeof PEER_LINK_KINDS)[number];
export type MemoryProfile = Profile['memory'];
export type LinkProfile = Profile['link'];
export type PeerLinkProfile = NonNullable<LinkProfile['peer']>;
export type FaultProfile = NonNullable<Profile['fault']>;

/**
 * The fault section of a profile whose driver faults (the schema requires it there).
 * @throws Error for a profile that never faults (pinning with pin registration, SVA without PRI)
 */
export function faultOf(p: Profile): FaultProfile {
  if (p.fault === undefined) throw new Error(`profile ${p.name}: the ${p.driver} driver asked for the fault section of a device that never faults`);
  return p.fault;
}
export type CopyEnginesProfile = NonNullable<Profile['copyEngines']>;

/** A device's scheduler properties with defaults applied: durations in integer ps. */
export interface SchedProfile {
  readonly timeslicePs: number;
  readonly contextSwitchPs: number;
  readonly preemptionPs: number;
  readonly faultSwitch: boolean;
  readonly preemptible: boolean;
  readonly holdsMmUsers: boolean;
}

/**
 * Defaults of a profile without `scheduler:` values. ESTIMATES: a 2 ms slice (the order of the
 * Linux amdgpu/nouveau runlist timeslices, 1–5 ms), 25 µs to load a context and 100 µs to save
 * a preempted one (compute preemption on Pascal and later drains or saves every SM's state; the
 * order of magnitude reported for instruction-level preemption, tens to a hundred µs).
 */
export const DEFAULT_SCHED = { timeslicePs: 2_000_000_000, contextSwitchPs: 25_000_000, preemptionPs: 100_000_000 } as const;

/** The scheduler properties of `p` (defaults where the profile is silent). */
export function schedOf(p: Profile): SchedProfile {
  const s = p.scheduler;
  return {
    timeslicePs: s?.timeslice ?? DEFAULT_SCHED.timeslicePs,
    contextSwitchPs: s?.contextSwitchCost ?? DEFAULT_SCHED.contextSwitchPs,
    preemptionPs: s?.preemptionCost ?? DEFAULT_SCHED.preemptionPs,
    faultSwitch: (s?.faultMode ?? 'stall') === 'switch',
    preemptible: s?.preemptible ?? true,
    holdsMmUsers: s?.holdsMmUsers ?? true,
  };
}
export type TransferPoint = z.output<typeof TransferPointSchema>;
export type TlbProfile = Profile['tlb'];
export type AccessCountersProfile = NonNullable<Profile['accessCounters']>;
export type ProfilePolicy = Profile['policy'];
export type RegistrationMode = (typeof REGISTRATION_MODES)[number];
export type IommuProfile = z.output<typeof IommuSchema>;
// Keep the unit brands visible in the public types.
export type { Bytes, TimePs };

/** A path into a profile: object keys and list indices. */
export type ProfilePath = Path;

/** "fault.serviceLatency", "transferCurve[0].size"; the empty path is "". */
export const formatProfilePath: (path: readonly PropertyKey[]) => string = formatPath;

// isEstimate lives in sources.ts, which loads without zod (hetmem profiles from the built table).
export { isEstimate };

/**
 * Whether a `sources` value is an estimate or names something a reader can look up: a section
 * of the shared anchors (`anchors-uvm.md c.3`, `anchors-2026.md section 3 row 7`), a public
 * repository's issue, pull request or file at a commit (`NVIDIA/nvbandwidth issue #24`,
 * `tallendev/uvm-eval 632b47bb paper-figs/overhead.png`), a measurement kept in this repository
 * (`measured: bench/device/...`), or another profile it derives from (`profiles/xe2-bmg.yaml`).
 */
export function isTraceableSource(source: string): boolean {
  const s = source.trim();
  if (isEstimate(s)) return true;
  return /anchors-uvm\.md (\(a\)|[bc]\.\d)/.test(s)
    || /anchors-2026\.md section \d/.test(s)
    || /\b[\w.-]+\/[\w.-]+ (issue|PR) #\d+/.test(s)
    || /\b[\w.-]+\/[\w.-]+ [0-9a-f]{7,40} \S+/.test(s)
    || /^measured: \S+/.test(s)
    || /profiles\/[\w.-]+\.yaml/.test(s);
}

/** Top-level fields whose contents are never numbers that need a source. */
const UNSOURCED_FIELDS = new Set(['name', 'description', 'sources']);

/**
 * Paths of every numeric leaf in a raw (unparsed) profile: numbers and strings that read as a
 * size, bandwidth or duration. Booleans and names are not numeric.
 */
export function numericLeafPaths(raw: unknown): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) if (path.length > 0 || !UNSOURCED_FIELDS.has(k)) walk(x, [...path, k]);
    } else if (isQuantity(v)) out.push(path);
  };
  walk(raw, []);
  return out;
}

/**
 * The `sources` keys that can cover a leaf: its own path, and, inside a list, the list or the
 * list element (so `transferCurve: "..."` covers every point of the curve).
 */
export function sourceKeysFor(path: ProfilePath): string[] {
  const keys = [formatProfilePath(path)];
  for (let i = path.length - 1; i > 0; i--) {
    if (typeof path[i] === 'number') keys.push(formatProfilePath(path.slice(0, i + 1)), formatProfilePath(path.slice(0, i)));
  }
  return [...new Set(keys)];
}

/** A problem found in a profile, located by path. `at: 'key'` points at a mapping key. */
export type ProfileIssue = PathIssue;

/**
 * The "every number carries its source" rule on a raw profile: each numeric leaf needs a
 * `sources` entry (see sourceKeysFor), and each `sources` key must name a numeric field.
 */
export function checkSources(raw: unknown): ProfileIssue[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const rawSources = (raw as Record<string, unknown>).sources;
  const sources = rawSources !== null && typeof rawSources === 'object' && !Array.isArray(rawSources) ? (rawSources as Record<string, unknown>) : {};
  const issues: ProfileIssue[] = [];
  const usable = new Set<string>();
  for (const leaf of numericLeafPaths(raw)) {
    const keys = sourceKeysFor(leaf);
    keys.forEach((k) => usable.add(k));
    if (!keys.some((k) => Object.hasOwn(sources, k))) {
      const p = formatProfilePath(leaf);
      issues.push({ path: leaf, message: `${p}: no source for this number; add "${p}" under sources with a citation or "estimate"` });
    }
  }
  for (const key of Object.keys(sources)) {
    if (!usable.has(key)) issues.push({ path: ['sources', key], at: 'key', message: `sources: "${key}" does not name a numeric field of this profile` });
  }
  return issues;
}
