// The pinning driver: the legacy path users compare SVM against, and RDMA memory registration.
// Before a kernel starts it registers the kernel's regions, in one of two modes (profile
// `registration.mode`):
//
// - pin (ibv_reg_mr, drivers/infiniband/core/umem.c ib_umem_get): pin_user_pages(FOLL_WRITE |
//   FOLL_LONGTERM) over every page at registration, at PIN_PAGE_PS each. A device with memory then
//   copies the buffers in (cudaMemcpy style), runs on its copy, and copies written pages back when
//   the kernel ends; a device without memory (an RDMA NIC) reads and writes the pinned pages in
//   place. No device faults ever; pinned pages cannot migrate, which other devices feel.
// - odp (On-Demand Paging, IB_ACCESS_ON_DEMAND; umem_odp.c and mlx5/odp.c, modelled from source,
//   not checked against hardware): registration pins nothing; ib_umem_odp_get subscribes an MMU
//   interval notifier over the region. A device access to a page the MTT does not map raises a
//   page fault that stalls the lane (the queue pair); the driver resolves faults in batches with
//   hmm_range_fault (ib_umem_odp_map_dma_and_lock), writes the MTT and resumes the QP. A CPU-side
//   change (munmap, migration, COW, mprotect) invalidates the MTT entries of its range
//   (mlx5_ib_invalidate_range), so the next access faults again. Pages are never pinned, so they
//   migrate freely. The profile's `fault` section times it: serviceLatency + perFaultCost per
//   further page of a batch of up to batchSize faults from a queue of bufferCapacity, resumed as
//   replayPolicy says.
//
// Multi-path devices (a socket-direct NIC with a PCIe function per socket; topology endpoint
// `paths`): every MTT entry records the path its DMA takes, chosen when the entry is written (at
// registration in pin mode, at the page fault in odp mode) by the device's path policy
// (policies.path, src/policy/path.ts), as a PTE bit would; that page's remote accesses then flow
// over that path's route. A path whose PCI function sits in an IOMMU DMA domain (endpoint
// `iommu`) translates every access through the IOMMU's IOTLB, and a miss costs an IOMMU walk
// (the profile's tlb.missCost, what the sva driver charges per IOMMU translation); an identity
// path does not. Choosing a path per mapping is a proposal from the cross-device HMM thread
// (issue 12), modelled from that description: no kernel has it, nothing here is checked against one.
import { getUserPages, putUserPages } from '../../mm/gup.ts';
import { EBUSY } from '../../mm/constants.ts';
import type { Mm } from '../../mm/mm.ts';
import { PG_DIRTY } from '../../mm/page.ts';
import type { IntervalNotifier, NotifierRange } from '../../mm/mmu-notifier.ts';
import { hmmRangeFault, newHmmRange, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_PFN_WRITE } from '../../hmm/range-fault.ts';
import { DeviceMemory } from '../../devices/device-memory.ts';
import { FaultBuffer, type FaultEntry } from '../../devices/fault-buffer.ts';
import { CopyEngines, copyOverheadPs } from '../../devices/transfers.ts';
import { faultOf, type Profile, type RegistrationMode } from '../../devices/profile/schema.ts';
import { CPU } from '../../policy/types.ts';
import type { TimePs } from '../../units/time.ts';
import { TimedDevice, type KernelRun, type Lane } from '../device.ts';
import type { SimContext } from '../context.ts';
import type { BatchRecord } from '../results.ts';
import { BatchLog } from '../metrics.ts';
import { LogHistogram } from '../../units/histogram.ts';
import { appendAll } from '../../units/append.ts';
import { Tlb } from '../../devices/tlb.ts';
import type { DevicePath } from '../../topology/routing.ts';
import { MAX_EXTRA_PATHS } from '../../topology/spec.ts';

/**
 * Cost of pinning one page (get_user_pages walk + refcount + IOMMU map), ps. ESTIMATE: no
 * figure in anchors-uvm.md; RDMA memory registration is commonly quoted at ~0.1–0.3 µs/page.
 */
export const PIN_PAGE_PS = 200_000;

/**
 * Translations the IOMMU's IOTLB holds for one IOMMU-translated path. ESTIMATE: vendors do not
 * publish IOTLB sizes; a few hundred entries is the order reported for VT-d and AMD-Vi.
 */
export const IOTLB_ENTRIES = 256;

/** Path slots an MTT entry encodes: path 0 plus MAX_EXTRA_PATHS. */
const MTT_PATHS = MAX_EXTRA_PATHS + 1;

/**
 * An MTT entry: the page's pfn, whether it is writable, and the DMA path the entry was mapped
 * through (a multi-path device's per-mapping path bits); exact in a double for pfns below 2^48.
 */
export function mttEntry(pfn: number, writable: boolean, path: number): number {
  return (pfn * 2 + (writable ? 1 : 0)) * MTT_PATHS + path;
}
/** Pfn of an MTT entry. */
export function mttPfn(e: number): number {
  return Math.floor(e / (2 * MTT_PATHS));
}
/** Whether an MTT entry allows writes. */
export function mttWritable(e: number): boolean {
  return Math.floor(e / MTT_PATHS) % 2 === 1;
}
/** The path index an MTT entry was mapped through. */
export function mttPath(e: number): number {
  return e % MTT_PATHS;
}

/** What one kernel registered: what it pinned and, with device memory, where its copies live. */
interface Registration {
  /** vpn → pinned system pfn (mode pin). */
  readonly pinned: Map<number, number>;
  /** vpn → device copy pfn (copy mode). */
  readonly copies: Map<number, number>;
  readonly written: Set<number>;
  readonly pfnList: number[];
  /**
   * The MTT, vpn → mttEntry(pfn, writable, path): written at registration (pin mode, pinned
   * pages, no device memory) or by faults (odp), emptied by invalidations (odp).
   */
  readonly mtt: Map<number, number>;
  /** Mode odp: one interval notifier per registered region (ib_umem_odp_get). */
  readonly notifiers: IntervalNotifier[];
  /** The registered regions, [base, base + pages). */
  readonly regions: readonly { readonly base: number; readonly pages: number }[];
  /** Per region, the page size (4 KiB pages) of its MTT / device mapping. */
  readonly pageSize: number[];
}

/**
 * ib_umem_find_best_pgsz (drivers/infiniband/core/umem.c), as mlx5_umem_find_best_pgsz uses it
 * for a pinned MR: the largest of `sizes` (4 KiB pages) such that every physically contiguous
 * run of the region starts at the same offset modulo the size in VA and PA, and every run but
 * the first starts size-aligned. One size for the whole region.
 */
export function bestPageSize(sizes: readonly number[], base: number, pages: number, pfnOf: (vpn: number) => number): number {
  const starts: [number, number][] = [];
  for (let v = base; v < base + pages; v++) {
    const pfn = pfnOf(v);
    if (v === base || pfn !== pfnOf(v - 1) + 1) starts.push([v, pfn]);
  }
  for (let i = sizes.length - 1; i > 0; i--) {
    const s = sizes[i];
    if (starts.every(([v, pfn], k) => Math.abs(pfn - v) % s === 0 && (k === 0 || v % s === 0))) return s;
  }
  return 1;
}

/** The registration mode of a pinning profile (absent = pin). */
export function registrationMode(profile: Profile): RegistrationMode {
  return profile.registration?.mode ?? 'pin';
}

/** Thrown when a kernel cannot be set up by the pinning driver (no regions, pin failure, no room). */
export class PinningError extends Error {}

/** A device serviced by the pinning driver. */
export class PinningDevice extends TimedDevice {
  readonly mem: DeviceMemory | null;
  readonly ce: CopyEngines | null;
  readonly mode: RegistrationMode;
  private readonly regs = new Map<KernelRun, Registration>();
  /**
   * The system frame the MTT of a running kernel in `mm` maps at `vpn`, or -1: what the NIC
   * would DMA to now (for checks that a mapping follows the CPU's page, e.g. after COW).
   */
  mttPfn(mm: Mm, vpn: number): number {
    for (const [run, reg] of this.regs) {
      if (run.mm !== mm) continue;
      const e = reg.mtt.get(vpn);
      if (e !== undefined) return mttPfn(e);
    }
    return -1;
  }
  /** Mode odp: the page-fault queue the NIC writes and the driver drains. */
  readonly faultQueue: FaultBuffer;
  private servicing = false;
  private queued = false;
  private batchNo = 0;
  /** Finished fault batches: counted and summed, the first records kept (sim/metrics.ts). */
  readonly records = new BatchLog();
  /** Raise → resume latency of every serviced ODP fault, ps: a histogram, not a list (a run may service 10^7 faults). */
  readonly latencies = new LogHistogram();
  /** Mode odp, replay policy once: entries serviced but not yet resumed. */
  private readonly held: FaultEntry[] = [];
  /** The device's DMA paths, path 0 (its own endpoint) first. */
  readonly paths: readonly DevicePath[];
  /** Per path: the IOMMU's IOTLB for an IOMMU-translated path, null for an untranslated one. */
  private readonly iotlb: (Tlb | null)[];

  constructor(ctx: SimContext, index: number, name: string, profile: Profile, quantumPs: number, private readonly owner: object) {
    super(ctx, index, name, profile, quantumPs);
    this.mode = registrationMode(profile);
    // Pin mode never faults (the schema refuses a fault section there): its queue stays empty.
    this.faultQueue = new FaultBuffer(this.mode === 'odp' ? faultOf(profile).bufferCapacity! : 1);
    const chunkPages = profile.memory.chunkSize / 4096;
    // ODP works in place on host memory (the schema refuses odp with device memory).
    this.mem = this.mode === 'pin' && profile.memory.capacity >= profile.memory.chunkSize
      ? new DeviceMemory(ctx.sys, 'private', owner, { pageFree: (pfn) => this.mem!.pageFreed(pfn), migrateToRam: () => 2 }, profile.memory.capacity, chunkPages, { kind: 'lru-chunk', unitPages: chunkPages })
      : null;
    const ce = profile.copyEngines;
    this.ce = ce ? new CopyEngines(ctx.transfers, name, ce.count, ce.bandwidth, ctx.spans) : null;
    this.paths = ctx.pathsOf(index);
    this.iotlb = this.paths.map((p) => (p.iommu ? new Tlb(IOTLB_ENTRIES, this.tlb.sizes) : null));
    this.metrics.paths = this.paths.map((p) => ({ endpoint: p.endpoint, iommu: p.iommu, mappings: 0, bytes: 0, iotlbMisses: 0 }));
  }

  /**
   * Picks the path for a mapping of `pfn` (policies.path, at `now`) and counts the mapping on
   * it: the MTT entry's path bits. A write mapping is picked for DMA from the device to the
   * page, a read-only one for DMA toward the device.
   */
  private pickPath(pfn: number, write: boolean, now: number): number {
    const { path } = this.ctx.pathRoute(this.index, this.ctx.homeNodeOf(pfn), !write, now);
    this.metrics.paths[path.index].mappings++;
    return path.index;
  }

  protected override prepare(run: KernelRun, start: (t: number) => void): void {
    const regions = run.spec.regions;
    if (!regions || regions.length === 0) throw new PinningError(`${this.name}: the pinning driver needs the kernel's regions (kernel ${run.spec.name})`);
    const reg: Registration = { pinned: new Map(), copies: new Map(), written: new Set(), pfnList: [], mtt: new Map(), notifiers: [], regions, pageSize: [] };
    const mm = run.mm;
    if (this.mode === 'odp') {
      // ib_umem_odp_get: nothing is pinned or mapped; the MR only subscribes to invalidations.
      // An ODP MR maps PAGE_SIZE entries (umem_odp page_shift = PAGE_SHIFT; hugetlb ODP MRs are
      // not modelled).
      appendAll(reg.pageSize, regions.map(() => 1));
      for (const r of regions) reg.notifiers.push(mm.notifiers.insert(r.base, r.pages, (sub, range, cur) => this.invalidate(mm, reg, sub, range, cur)));
      this.regs.set(run, reg);
      start(this.ctx.engine.now);
      return;
    }
    let pages = 0;
    // The pins fault pages in for this device: a page on another device comes back to RAM
    // because of this device, not because of a CPU fault.
    const prev = this.ctx.actor;
    this.ctx.actor = this.index;
    try {
      for (const r of regions) {
        const got = getUserPages(mm, r.base, r.pages, { write: true, pin: true, longterm: true });
        if (typeof got === 'number') throw new PinningError(`${this.name}: pin_user_pages of ${r.pages} pages at vpn ${r.base} failed (errno ${-got})`);
        got.forEach((pfn, i) => reg.pinned.set(r.base + i, pfn));
        appendAll(reg.pfnList, got);
        pages += r.pages;
      }
    } finally {
      this.ctx.actor = prev;
    }
    this.metrics.pinnedPages += pages;
    this.regs.set(run, reg);
    const pinPs = pages * PIN_PAGE_PS;
    this.metrics.time.pinning += pinPs;
    const t0 = this.ctx.engine.now;
    this.ctx.spans(`${this.name}/driver`, 'pin', t0, pinPs, { pages });
    if (!this.mem || !this.ce) {
      // ib_umem_get + the MTT write: every pinned page is mapped writable (FOLL_WRITE) now, and
      // a multi-path device picks each entry's path now, with what is in flight at registration.
      for (const [vpn, pfn] of reg.pinned) reg.mtt.set(vpn, mttEntry(pfn, true, this.pickPath(pfn, true, t0)));
      for (const r of regions) reg.pageSize.push(bestPageSize(this.tlb.sizes, r.base, r.pages, (v) => reg.pinned.get(v)!));
      start(t0 + pinPs);
      return;
    }
    if (pages > this.mem.capacityPages - this.mem.allocated) {
      throw new PinningError(`${this.name}: kernel ${run.spec.name} needs ${pages} pages of device memory, ${this.mem.capacityPages - this.mem.allocated} free (the pinning driver cannot oversubscribe)`);
    }
    const p = this.ctx.sys.pages;
    for (const [vpn, spfn] of reg.pinned) {
      const d = this.mem.allocPage(-1 - run.laneBase, vpn, t0 as TimePs);
      if (d < 0) throw new PinningError(`${this.name}: device memory exhausted`);
      p.copy(d, spfn);
      reg.copies.set(vpn, d);
    }
    for (const r of regions) reg.pageSize.push(bestPageSize(this.tlb.sizes, r.base, r.pages, (v) => reg.copies.get(v)!));
    this.metrics.pagesIn += pages;
    this.metrics.bytesIn += pages * 4096;
    this.ctx.engine.after(pinPs as TimePs, () => this.copy(pages * 4096, 'h2d', start), `${this.name}:h2d`);
  }

  /**
   * Copies `bytes` in chunks over the host link; `done(t)` when the last chunk lands. A
   * multi-path device picks each chunk's path when it is submitted.
   */
  private copy(bytes: number, dir: 'h2d' | 'd2h', done: (t: number) => void): void {
    const ce = this.profile.copyEngines!;
    let pending = 0;
    let last: number = this.ctx.engine.now;
    if (bytes === 0) {
      done(last);
      return;
    }
    for (let left = bytes; left > 0; left -= ce.chunkSize) {
      const n = Math.min(ce.chunkSize, left);
      pending++;
      const { path, route } = this.ctx.pathRoute(this.index, this.ctx.hostNode, dir === 'h2d', this.ctx.engine.now);
      this.metrics.paths[path.index].bytes += n;
      const bottleneck = Math.min(route?.bandwidth ?? Infinity, ce.bandwidth ?? Infinity);
      this.ce!.submit({
        bytes: n, path: route?.segments ?? [], overheadPs: copyOverheadPs(this.profile, n, dir, bottleneck, route?.latencyPs ?? 0), label: dir,
        onDone: (t) => {
          last = Math.max(last, t);
          if (--pending === 0) done(last);
        },
      });
    }
  }

  access(lane: Lane, vpn: number, write: boolean, t: number): number {
    const reg = this.regs.get(lane.run)!;
    let spfn = reg.pinned.get(vpn);
    if (this.mode === 'odp') {
      if (!reg.regions.some((r) => vpn >= r.base && vpn < r.base + r.pages)) spfn = undefined;
      else {
        const e = reg.mtt.get(vpn);
        if (e === undefined || (write && !mttWritable(e))) return this.raise(lane, vpn, write, t);
        spfn = mttPfn(e);
        if (write) this.ctx.sys.pages.setFlag(spfn, PG_DIRTY);
      }
    }
    if (spfn === undefined) {
      // Outside the registered memory: a protection error, the lane stops.
      this.countFault(lane, t);
      this.metrics.faults.fatal++;
      lane.run.kill(lane);
      return -1;
    }
    const mm = lane.run.mm;
    this.noteTouch(mm.id, vpn);
    const spec = lane.run.spec;
    let cost = spec.computePs + this.tlbCost(mm.id, vpn);
    const dpfn = reg.copies.get(vpn);
    if (dpfn !== undefined) {
      this.metrics.accesses.local++;
      if (write) {
        reg.written.add(vpn);
        this.ctx.storeWord(this.name, mm, vpn, dpfn);
      }
      this.ctx.noteAccess(dpfn);
      return cost;
    }
    const home = this.ctx.deviceOfPfn(spfn);
    // The MTT entry's path: its PCI function's endpoint is where the DMA starts or ends.
    const pi = mttPath(reg.mtt.get(vpn)!);
    const iotlb = this.iotlb[pi];
    if (iotlb !== null && !iotlb.lookup(mm.id, vpn, () => this.mappingPages(mm.id, vpn))) {
      // An IOTLB miss: the IOMMU walks its page table before the DMA goes on.
      this.metrics.paths[pi].iotlbMisses++;
      cost += this.profile.tlb.missCost;
    }
    // The data of a load moves from the memory to the device, that of a store the other way.
    const where = this.ctx.homeNodeOf(spfn);
    const via = this.paths[pi].endpoint;
    const route = write ? this.ctx.route(via, where) : this.ctx.route(where, via);
    this.metrics.paths[pi].bytes += spec.accessBytes;
    if (home === CPU) this.metrics.accesses.remote++;
    else this.notePeerAccess(route, spec.accessBytes);
    if (route) cost += this.ctx.remoteAccess(route, spec.accessBytes, t + cost) - (t + cost);
    if (write) this.ctx.storeWord(this.name, mm, vpn, spfn);
    this.ctx.noteAccess(spfn);
    return cost;
  }

  /** The MR's page size for `vpn` of `space` (4 KiB for an address no running kernel registered). */
  protected override mappingPages(space: number, vpn: number): number {
    for (const [run, reg] of this.regs) {
      if (run.mm.id !== space) continue;
      const i = reg.regions.findIndex((r) => vpn >= r.base && vpn < r.base + r.pages);
      if (i >= 0) return reg.pageSize[i];
    }
    return 1;
  }

  // ---- On-Demand Paging ----

  /** A NIC access the MTT cannot translate: queue a page fault, stall the QP. */
  private raise(lane: Lane, vpn: number, write: boolean, t: number): number {
    // A full queue drops the event; the QP retries at the next resume.
    this.raiseFault(this.faultQueue, lane, { lane: lane.id, space: lane.run.mm.id, vpn, write, time: t });
    this.request(t);
    return -1;
  }

  private request(t: number): void {
    if (this.servicing || this.queued) return;
    this.queued = true;
    const at = Math.max(t, this.ctx.engine.now, this.faultQueue.oldestTime() ?? t);
    this.ctx.engine.schedule(at as TimePs, (now) => this.service(now), `${this.name}:odp-fault`);
  }

  /** The registration of the running kernel that holds lane `id`'s MR. */
  private regOfLane(id: number): Registration | undefined {
    const lane = this.lane(id);
    return lane ? this.regs.get(lane.run) : undefined;
  }

  /**
   * One pass of the ODP page-fault work (mlx5 pagefault_single_data_segment): up to batchSize
   * faults, each page resolved with hmm_range_fault under the MR's notifier and written to the
   * MTT; then the QPs resume per the replay policy.
   */
  private service(t0: number): void {
    this.queued = false;
    const f = this.fault;
    const entries = this.faultQueue.fetch(f.batchSize!, t0);
    if (entries.length === 0) return;
    this.servicing = true;
    const { rec, pages } = this.openBatch(entries, this.batchNo++, t0);
    for (const pg of pages) {
      const reg = pg.entries.map((e) => this.regOfLane(e.lane)).find((r) => r !== undefined);
      const have = reg?.mtt.get(pg.vpn);
      if (!reg || (have !== undefined && (!pg.write || mttWritable(have)))) {
        rec.duplicate_faults += pg.entries.length;
        this.metrics.faults.duplicates += pg.entries.length;
        continue;
      }
      const mm = this.ctx.processOf(pg.space).mm;
      const e = this.resolve(mm, reg, pg.vpn, pg.write, t0);
      if (e < 0) {
        this.metrics.faults.fatal++;
        for (const x of pg.entries) {
          const lane = this.lane(x.lane);
          if (lane && !lane.done) lane.run.kill(lane);
        }
        continue;
      }
      reg.mtt.set(pg.vpn, e);
      rec.actual_faults++;
      rec.num_mapped_pages++;
      this.metrics.faults.serviced++;
    }
    this.ctx.actor = CPU;
    const dur = f.serviceLatency + f.perFaultCost! * pages.length + this.ctx.takeSyncPs();
    rec.service = Math.floor(dur / 1000);
    this.metrics.time.faultService += dur;
    this.ctx.spans(`${this.name}/driver`, 'odp page faults', t0, dur, { faults: entries.length });
    this.ctx.engine.schedule((t0 + dur) as TimePs, (now) => this.resume(now, rec, entries, t0), `${this.name}:odp-resume`);
  }

  /**
   * hmm_range_fault of one page for the MR (faulting what the access needs), with the notifier
   * retry loop; the MTT entry (mttEntry, its path picked at `now`), or -1 when the CPU side
   * refuses (SIGSEGV-like: the QP goes to the error state).
   */
  private resolve(mm: Mm, reg: Registration, vpn: number, write: boolean, now: number): number {
    const sub = reg.notifiers[reg.regions.findIndex((r) => vpn >= r.base && vpn < r.base + r.pages)];
    const range = newHmmRange(sub, vpn, vpn + 1, HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0), this.owner);
    // The P2P-page proposal: a GPU's device-private page reached in place over PCIe P2P.
    if (this.ctx.cross.peerPages === 'p2p-page') range.allowP2p = (pfn) => this.ctx.p2pPage(this.index, pfn);
    for (let tries = 0; tries < 16; tries++) {
      range.notifierSeq = sub.readBegin();
      const ret = hmmRangeFault(mm, range);
      if (ret === -EBUSY || (ret === 0 && sub.readRetry(range.notifierSeq))) continue;
      if (ret !== 0) return -1;
      const pfn = range.pfns[0];
      return mttEntry(pfn, (range.flags[0] & HMM_PFN_WRITE) !== 0, this.pickPath(pfn, write, now));
    }
    return -1;
  }

  /**
   * Resumes QPs after a batch. block: only the QPs whose faults this batch resolved (mlx5 resumes
   * each QP on its own, mlx5_ib_page_fault_resume); batch: every stalled QP (those still unmapped
   * fault again); batch-flush: the queue is dropped first and every QP retries; once: the driver
   * keeps servicing until the queue is empty, then resumes everything.
   */
  private resume(now: number, rec: BatchRecord, entries: FaultEntry[], t0: number): void {
    rec.time = Math.floor((now - t0) / 1000);
    this.servicing = false;
    const policy = this.fault.replayPolicy;
    if (policy === 'once' && this.faultQueue.length > 0) {
      this.records.push(rec);
      appendAll(this.held, entries);
      this.request(now);
      return;
    }
    // The record is final once its replay is counted: the batch log sums it as it is pushed.
    rec.num_replays = 1;
    this.records.push(rec);
    this.metrics.replays++;
    const done = [...this.held.splice(0), ...entries];
    for (const e of done) this.latencies.add(now - e.time);
    if (policy === 'batch-flush') this.metrics.faults.flushed += this.faultQueue.flush(now).length;
    // block and per-fault answer only the QPs whose faults were resolved.
    this.resumeLanes(now, policy === 'block' || policy === 'per-fault' ? done : null);
    if (this.faultQueue.length > 0) this.request(Math.max(now, this.faultQueue.oldestTime()!));
  }

  /** The MR's notifier (mlx5_ib_invalidate_range): drop MTT entries in the range, fence the NIC. */
  private invalidate(mm: Mm, reg: Registration, sub: IntervalNotifier, range: NotifierRange, cur: number): boolean {
    sub.setSeq(cur);
    let dropped = 0;
    for (let v = Math.max(range.start, sub.start); v < range.end && v <= sub.last; v++) if (reg.mtt.delete(v)) dropped++;
    if (dropped > 0) {
      this.shootdown(mm.id, range.start, range.end);
      // ib_umem_odp_unmap_dma_pages: the IOVAs go, and the IOMMU flushes their IOTLB entries.
      for (const t of this.iotlb) t?.invalidate(mm.id, range.start, range.end);
    }
    return true;
  }

  /** Pin mode: the pinned pages outlive exit_mmap (their pins hold them) until the registration goes. */
  override get survivesExit(): boolean {
    return this.mode === 'pin';
  }

  protected override complete(run: KernelRun, t: number, done: (t: number) => void): void {
    const reg = this.regs.get(run);
    // A kernel stopped (its process exited) before its registration finished has nothing to undo yet.
    if (!reg) {
      done(t);
      return;
    }
    this.regs.delete(run);
    if (this.mode === 'odp') {
      // ib_umem_odp_release: unsubscribe; nothing was pinned.
      for (const sub of reg.notifiers) run.mm.notifiers.remove(sub);
      reg.mtt.clear();
      done(t);
      return;
    }
    const p = this.ctx.sys.pages;
    const unpin = () => {
      putUserPages(run.mm, reg.pfnList, { write: true, pin: true, longterm: true });
      this.metrics.pinnedPages -= reg.pinned.size;
    };
    if (reg.copies.size === 0) {
      unpin();
      done(t);
      return;
    }
    // Without dirty tracking the driver cannot tell which pages the device wrote: every copied
    // page goes back (profile memory.dirtyTracking false).
    if (!this.profile.memory.dirtyTracking) for (const vpn of reg.copies.keys()) reg.written.add(vpn);
    for (const vpn of reg.written) p.copy(reg.pinned.get(vpn)!, reg.copies.get(vpn)!);
    for (const d of reg.copies.values()) this.ctx.sys.putPage(d);
    this.metrics.pagesOut += reg.written.size;
    this.metrics.bytesOut += reg.written.size * 4096;
    const bytes = reg.written.size * 4096;
    this.ctx.engine.schedule(t as TimePs, () => this.copy(bytes, 'd2h', (end) => {
      unpin();
      done(end);
    }), `${this.name}:d2h`);
  }

  override finalizeMetrics(): void {
    super.finalizeMetrics();
    this.metrics.time.copy = this.ce?.busyPs ?? 0;
  }
}
