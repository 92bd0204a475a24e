// The HMM mirror driver: the model of nouveau / amdgpu (KFD SVM) / xe (drm_gpusvm) and of NVIDIA
// UVM's HMM path. The device page table mirrors the CPU's through an interval notifier over the
// whole address space. A device fault goes into the replayable fault buffer; the driver fetches
// batches, coalesces them, asks the policies what to do per 2 MiB VA block, migrates with
// migrate_vma_* (evicting root chunks when memory is full), then maps with hmm_range_fault and
// replays.
//
// Timing of a batch (all integer ps), decomposed the way the drivers spend it (profile `fault:`):
//   service = serviceLatency (fetch + sort) + perFaultCost × faults after coalescing
//             + perBlockCost × VA blocks serviced + perPageCost × pages migrated
//             (or perFolioCost × whole 2 MiB folios on the THP path) + synchronous costs,
// then the copies (evictions first, on the copy engines over the routed links, contended), then
// the bind (bindCost per mapping op + bindPerEntry per device PTE written), then replayCost per
// replay. The parts run one after another, as Xe's per-fault breakdown shows them (migrate CPU
// time, then the copy, then get_pages and bind); UVM overlaps a block's copies with the next
// block's CPU work, which this ignores (an upper bound on a multi-block batch). The semantic
// effects (PTEs, struct pages, data) happen when the batch is fetched; lanes that faulted resume
// only at the replay, and a CPU touching a migrated page earlier just faults it back, so data
// stays exact whatever the interleaving.
//
// The driver is split along drm_gpusvm / drm_pagemap's structure: this file is the fault service
// (batches, policies per block, replay), residency and migration (migrate_vma to and from device
// memory, eviction, migrate_to_ram) and mapping (hmm_range_fault, the device page table);
// mirror/space.ts is the per-address-space state (drm_gpusvm's notifier and ranges),
// mirror/pagemap.ts the drm_pagemap side (populate_mm, preferred-location advice, contention),
// mirror/copies.ts the copies (copy_to_devmem / copy_to_ram on the copying device's engines).
import { policyNode } from '../../mm/mempolicy.ts';
import { EBUSY, VM_WRITE } from '../../mm/constants.ts';
import type { Mm } from '../../mm/mm.ts';
import { mmdrop } from '../../mm/mmap.ts';
import type { Vma } from '../../mm/vma.ts';
import { NotifyEvent } from '../../mm/constants.ts';
import type { IntervalNotifier, NotifierRange } from '../../mm/mmu-notifier.ts';
import { PteType, pteType, ptePfn, pteHas, PTE_WRITE } from '../../mm/pte.ts';
import { PG_DIRTY } from '../../mm/page.ts';
import {
  newMigrateVma, reuseMigrateVma, migrateVmaSetup, migrateVmaPages, migrateVmaFinalize, migratePfn, migratePfnToPage, mpfnHas,
  migrateDeviceRange, migrateDevicePages, migrateDeviceFinalize,
  MIGRATE_PFN_MIGRATE, MIGRATE_PFN_WRITE, MIGRATE_VMA_SELECT_SYSTEM, MIGRATE_VMA_SELECT_DEVICE_PRIVATE, MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  type MigrateVma,
} from '../../mm/migrate-device.ts';
import { hmmRangeFault, newHmmRange, reuseHmmRange, type HmmRange, HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE } from '../../hmm/range-fault.ts';
import { FaultBuffer, type CoalescedFault, type FaultEntry } from '../../devices/fault-buffer.ts';
import { CopyEngines } from '../../devices/transfers.ts';
import { DeviceMemory } from '../../devices/device-memory.ts';
import { faultOf, type Profile } from '../../devices/profile/schema.ts';
import { effectiveBandwidth } from '../../devices/profile/load.ts';
import { computePrefetch } from '../../policy/prefetch.ts';
import { CPU, type ProcessorId } from '../../policy/types.ts';
import {
  prefetchParamsOf, evictionParamsOf, type DevicePolicies,
  prefetchChoiceOf, densityChoiceOf, placementChoiceOf, thrashingChoiceOf, accessCounterChoiceOf,
} from '../../policy/registry.ts';
import {
  accessCounterPolicy, placementPolicy, prefetchPolicy, thrashingPolicy, type AccessCounterFn, type PlacementFn, type PrefetchFn, type ThrashingFn,
} from '../../policy/plugin.ts';
import type { TimePs } from '../../units/time.ts';
import { TimedDevice, type Lane } from '../device.ts';
import { makeDeviceExclusiveRange } from '../../mm/exclusive.ts';
import type { SimContext } from '../context.ts';
import { BatchLog, newBatchRecord } from '../metrics.ts';
import { LogHistogram } from '../../units/histogram.ts';
import type { BatchRecord } from '../results.ts';
import { appendAll } from '../../units/append.ts';
import { formatVpnRange } from '../../units/vpn.ts';
import { MirrorSpace } from './mirror/space.ts';
import { runs, submitCopies, peerLabel, planPage, type PlannedCopy } from './mirror/copies.ts';
import { sortedUnion, intersectSorted } from './mirror/vpn-lists.ts';
import { lockBlock, populateForPeer, populateMm, advise } from './mirror/pagemap.ts';

export { MirrorSpace } from './mirror/space.ts';
export { runs } from './mirror/copies.ts';




/** Options of the mirror driver beyond the profile. */
export interface MirrorOptions {
  /** pgmap owner shared by an address-space group (devices reaching each other's memory directly). */
  readonly owner: object;
  /** Policies of this device. */
  readonly policies: DevicePolicies;
  /** Can device `a` map memory resident at `b` (device index or CPU)? */
  readonly canAccess: (a: ProcessorId, b: ProcessorId) => boolean;
}


/** A device serviced by the HMM mirror driver. */
export class HmmMirrorDevice extends TimedDevice {
  readonly buffer: FaultBuffer;
  readonly mem: DeviceMemory | null;
  readonly ce: CopyEngines;
  readonly spaces = new Map<number, MirrorSpace>();
  private servicing = false;
  private serviceQueued = false;
  private batchNo = 0;
  /** Set while this device runs its own migrate_vma, so its notifier skips its own migrations. */
  private selfMigrating = false;
  /** A MigrateVma no migration holds, for the next run of migrateToDevice to reuse. */
  private spareMigrateVma: MigrateVma | null = null;
  /** The access-counter policy (built-in or plug-in) and its state, or null when the role is off. */
  private readonly accessCounterFn: AccessCounterFn | null;
  private accessCounters: unknown;
  private readonly evictRng: () => number;
  private readonly policies: DevicePolicies;
  /** The registered prefetch policy (built-in or plug-in), or null for prefetch-none. */
  private readonly prefetchFn: PrefetchFn | null;
  /** Finished fault batches: counted and summed, the first records kept (sim/metrics.ts). */
  readonly records = new BatchLog();
  /** The registered thrashing policy (built-in or plug-in), or null when the role is off. */
  private readonly thrashingFn: ThrashingFn | null;
  /** The registered placement policy (built-in or plug-in). */
  private readonly placementFn: PlacementFn;
  /** Raise → replay latency of every serviced fault entry, ps: a histogram, not a list (a run may service 10^7 faults). */
  readonly latencies = new LogHistogram();
  /** What the current batch migrated, for its CPU cost: 4 KiB pages, and whole 2 MiB folios (THP path). */
  /** @internal shared with mirror/*.ts */
  migrated = { pages: 0, folios: 0 };
  /** -EBUSY met by the current batch (its migrations found blocks another device was migrating). */
  /** @internal shared with mirror/*.ts */
  ebusy = 0;
  /** Blocks migrated here whose timeslice starts when their copies land. */
  /** @internal shared with mirror/*.ts */
  timesliceBlocks: [MirrorSpace, number][] = [];
  /** Peers that migrated pages for the current batch (preferred-location advice). */
  /** @internal shared with mirror/*.ts */
  readonly peersUsed = new Set<HmmMirrorDevice>();

  /** The copies of the migrations since the last call landed at `t`: their timeslices start now. */
  /** @internal shared with mirror/*.ts */
  settleTimeslice(t: number): void {
    for (const [sp, b] of this.timesliceBlocks) sp.timeslice.set(b, t + this.ctx.cross.timeslicePs);
    this.timesliceBlocks = [];
  }
  /** VA blocks the current batch migrated as one folio: they bind as one device PTE. */
  private readonly folioBlocks = new Set<number>();
  /** Device page-table entries written by mapping ops since the last bindPs(). */
  private bindEntries = 0;

  constructor(ctx: SimContext, index: number, name: string, profile: Profile, quantumPs: number, readonly opts: MirrorOptions) {
    super(ctx, index, name, profile, quantumPs);
    this.policies = opts.policies;
    const pf = prefetchChoiceOf(opts.policies.prefetch);
    this.prefetchFn = pf && prefetchPolicy(pf.key, pf.params);
    const th = thrashingChoiceOf(opts.policies.thrashing);
    this.thrashingFn = th && thrashingPolicy(th.key, th.params);
    const pl = placementChoiceOf(opts.policies.placement);
    this.placementFn = placementPolicy(pl.key, pl.params);
    const ac = accessCounterChoiceOf(opts.policies.accessCounters);
    this.accessCounterFn = ac && accessCounterPolicy(ac.key, ac.params);
    this.accessCounters = this.accessCounterFn?.init();
    this.buffer = new FaultBuffer(faultOf(profile).bufferCapacity ?? 1); // no buffer without replayable faults: it stays empty
    const ce = profile.copyEngines!;
    this.ce = new CopyEngines(ctx.transfers, name, ce.count, ce.bandwidth, ctx.spans);
    const chunkPages = profile.memory.chunkSize / 4096;
    const type = profile.link.coherent ? 'coherent' : 'private';
    this.mem = profile.memory.capacity >= profile.memory.chunkSize
      ? new DeviceMemory(ctx.sys, type, opts.owner, {
        pageFree: (pfn) => this.mem!.pageFreed(pfn),
        migrateToRam: (f) => this.migrateToRam(f),
      }, profile.memory.capacity, chunkPages, evictionParamsOf(opts.policies.eviction))
      : null;
    const rng = ctx.rng(`${name}:evict`);
    this.evictRng = () => rng.nextFloat();
    this.metrics.paths = ctx.pathsOf(index).map((p) => ({ endpoint: p.endpoint, iommu: p.iommu, mappings: 0, bytes: 0, iotlbMisses: 0 }));
  }

  /** MIGRATE_VMA_SELECT_* for pages of this device's kind. */
  private get selectDevice(): number {
    return this.mem?.type === 'coherent' ? MIGRATE_VMA_SELECT_DEVICE_COHERENT : MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
  }

  /**
   * The device file closes: the mirror of `mm` goes (its entries, its subscription, the
   * subscription's mm_count). Its entries are already gone if exit_mmap's RELEASE came first.
   */
  protected override unbind(mm: Mm): void {
    const sp = this.spaces.get(mm.id);
    if (!sp) return;
    if (sp.pt.size > 0) this.shootdown(sp.space, 0, Number.MAX_SAFE_INTEGER);
    sp.pt.clear();
    mm.notifiers.remove(sp.notifier);
    this.spaces.delete(mm.id);
    mmdrop(mm);
  }

  /** Mirror of `mm`, created on first use (the driver binds the process's address space). */
  spaceOf(mm: Mm): MirrorSpace {
    let sp = this.spaces.get(mm.id);
    if (!sp) {
      this.spaces.set(mm.id, (sp = new MirrorSpace(this, mm)));
      if (this.thrashingFn) sp.thrashing = this.thrashingFn.init();
    }
    return sp;
  }

  // ---- the lane's view ----

  access(lane: Lane, vpn: number, write: boolean, t: number): number {
    const sp = this.spaceOf(lane.run.mm);
    let e = sp.pt.get(vpn);
    let restorePs = 0;
    if (e === undefined && !this.fault.replayable) {
      restorePs = this.restore(sp, vpn);
      e = sp.pt.get(vpn);
    }
    // An atomic on a system page over a non-coherent link needs the page device-exclusive: a
    // mapping without it faults, and the driver takes exclusivity (see atomicFault).
    if (e !== undefined && write && lane.run.spec.atomic === true && !sp.atomic.has(vpn) && this.needsExclusive(Math.floor(e / 2))) {
      sp.atomicWanted.add(vpn);
      e = undefined;
    }
    if (e === undefined || (write && e % 2 === 0)) {
      if (write && lane.run.spec.atomic === true) sp.atomicWanted.add(vpn);
      // A non-replayable device cannot retry: a write to a page the restore mapped read-only is
      // a VM fault that kills the queue, as with XNACK off.
      if (!this.fault.replayable) {
        this.countFault(lane, t);
        this.metrics.faults.fatal++;
        lane.run.kill(lane);
        return -1;
      }
      this.raiseFault(this.buffer, lane, { lane: lane.id, space: sp.space, vpn, write, time: t });
      this.requestService(t);
      return -1;
    }
    this.noteTouch(sp.space, vpn);
    const pfn = Math.floor(e / 2);
    const spec = lane.run.spec;
    let cost = restorePs + spec.computePs + this.tlbCost(sp.space, vpn);
    const home = this.ctx.deviceOfPfn(pfn);
    if (home === this.index) {
      this.metrics.accesses.local++;
    } else {
      // The data of a load moves from the memory to the device, that of a store the other way.
      const where = this.ctx.homeNodeOf(pfn);
      // A multi-path device's path policy picks the DMA path (a single-path device: its endpoint).
      const { path, route } = this.ctx.pathRoute(this.index, where, !write, this.ctx.engine.now);
      if (this.metrics.paths[path.index]) this.metrics.paths[path.index].bytes += spec.accessBytes;
      if (home === CPU) this.metrics.accesses.remote++;
      else this.notePeerAccess(route, spec.accessBytes);
      if (route) cost += this.ctx.remoteAccess(route, spec.accessBytes, t + cost) - (t + cost);
      if (this.accessCounterFn && this.mem) this.countRemote(this.accessCounterFn, sp, vpn, write, home, t);
    }
    if (write) {
      if (home === CPU) this.ctx.sys.pages.setFlag(pfn, PG_DIRTY);
      this.ctx.storeWord(this.name, sp.mm, vpn, pfn);
    }
    this.ctx.noteAccess(pfn);
    return cost;
  }

  /** Page size of the device mapping of `vpn`: the largest big/huge page its PTEs allow. */
  protected override mappingPages(space: number, vpn: number): number {
    const sp = this.spaces.get(space);
    return sp ? this.largestMapping(vpn, sp.pt) : 1;
  }

  /** Access-counter notifications: a hot remote region migrates here (anchors-uvm.md b.4). */
  private countRemote(fn: AccessCounterFn, sp: MirrorSpace, vpn: number, write: boolean, home: ProcessorId, t: number): void {
    const r = fn.count(this.accessCounters, { vpn, deviceId: this.index, write, time: t as TimePs }, home);
    this.accessCounters = r.state;
    if (r.decision.kind !== 'migrate') return;
    this.metrics.accessCounterNotifications++;
    const start = this.ctx.engine.now;
    const copies: PlannedCopy[] = [];
    const rec = newBatchRecord(this.name, -1, start);
    this.ctx.actor = this.index;
    const moved = this.migrateToDevice(sp, [...r.decision.vpns], copies, rec, new Set());
    if (moved.length > 0) this.remap(sp, moved, NO_WRITES, rec);
    this.ctx.actor = CPU;
    submitCopies(this, copies, () => undefined);
  }

  // ---- fault servicing ----

  private requestService(t: number): void {
    if (this.servicing || this.serviceQueued) return;
    this.serviceQueued = true;
    const at = Math.max(t, this.ctx.engine.now, this.buffer.oldestTime() ?? t);
    this.ctx.engine.schedule(at as TimePs, (now) => this.serviceBatch(now), `${this.name}:fault-batch`);
  }

  private serviceBatch(t0: number): void {
    this.serviceQueued = false;
    if (this.ctx.locks.mustWait(this.index)) {
      // down_read/down_write on the driver-wide rwsem: sleep until a holder lets go.
      this.metrics.contention.rwsemWaits++;
      this.ctx.locks.onRelease(() => {
        this.metrics.contention.rwsemWaitPs += this.ctx.engine.now - t0;
        this.requestService(this.ctx.engine.now);
      });
      return;
    }
    const f = this.fault;
    const entries = this.buffer.fetch(f.batchSize!, t0);
    if (entries.length === 0) {
      const next = this.buffer.oldestTime();
      if (next !== undefined) this.requestService(next);
      return;
    }
    this.servicing = true;
    const { rec, pages } = this.openBatch(entries, this.batchNo++, t0);
    this.migrated = { pages: 0, folios: 0 };
    this.folioBlocks.clear();
    this.ebusy = 0;
    const copies: PlannedCopy[] = [];
    const busyKeys = new Set<number>();
    // Group by (space, block) in service order.
    let i = 0;
    while (i < pages.length) {
      const sp = this.spaces.get(pages[i].space)!;
      const block = Math.floor(pages[i].vpn / 512);
      let j = i;
      while (j < pages.length && pages[j].space === pages[i].space && Math.floor(pages[j].vpn / 512) === block) j++;
      this.serviceBlock(sp, pages.slice(i, j), copies, rec, busyKeys, t0);
      rec.num_vablock++;
      i = j;
    }
    this.ctx.actor = CPU;
    const syncPs = this.ctx.takeSyncPs();
    const fixed = f.serviceLatency + f.perFaultCost! * pages.length + f.perBlockCost! * rec.num_vablock
      + f.perPageCost! * this.migrated.pages + (f.perFolioCost ?? 0) * this.migrated.folios;
    rec.service = Math.floor(fixed / 1000);
    const mapPs = this.bindPs(rec);
    rec.map = Math.floor(mapPs / 1000);
    this.metrics.time.faultService += fixed + syncPs;
    this.metrics.time.map += mapPs;
    const copyStart = t0 + fixed + syncPs;
    this.ctx.spans(`${this.name}/driver`, 'fault batch', t0, fixed + syncPs, () => batchArgs(rec.batch, entries, pages));
    const oldest = entries.reduce((m, e) => Math.min(m, e.time), t0);
    this.ctx.spans(`${this.name}/faults`, 'faults waiting', oldest, t0 - oldest, { batch: rec.batch, faults: entries.length });
    const finish = (tCopies: number) => {
      this.settleTimeslice(tCopies);
      for (const peer of this.peersUsed) peer.settleTimeslice(tCopies);
      this.peersUsed.clear();
      if (mapPs > 0) this.ctx.spans(`${this.name}/driver`, 'map', tCopies, mapPs, { batch: rec.batch, pages: rec.num_mapped_pages, ops: rec.num_mapping_ops });
      rec.batch_transfer = Math.floor((tCopies - copyStart) / 1000);
      rec.make_resident = rec.batch_transfer;
      this.ctx.engine.schedule((tCopies + mapPs) as TimePs, (now) => this.endBatch(now, rec, entries, t0), `${this.name}:bound`);
    };
    this.ctx.engine.schedule(copyStart as TimePs, () => {
      const n = submitCopies(this, copies, finish, rec.batch);
      rec.num_transfers = n.transfers;
      rec.transfer_size = n.bytes;
    }, `${this.name}:copies`);
  }

  /** Services the faults of one VA block. */
  private serviceBlock(sp: MirrorSpace, faults: CoalescedFault[], copies: PlannedCopy[], rec: BatchRecord, busyKeys: Set<number>, t0: number): void {
    const mm = sp.mm;
    const th = this.thrashingFn;
    const toMigrate: number[] = [];
    const toMap: CoalescedFault[] = [];
    const toPeer: number[] = [];
    for (const fl of faults) {
      const e = sp.pt.get(fl.vpn);
      if (e !== undefined && (!fl.write || e % 2 === 1)) {
        // One per page: its other entries were counted as coalesced.
        rec.duplicate_faults++;
        this.metrics.faults.duplicates++;
        continue;
      }
      const vma = mm.findVma(fl.vpn);
      if (!vma) {
        this.fatal(fl);
        continue;
      }
      const residency = this.residencyOf(mm, fl.vpn);
      // The placement policy: migrate here, or map where it lies (`none`: it lies here).
      const placed = this.placementFn({ vpn: fl.vpn, deviceId: this.index, write: fl.write, time: t0 as TimePs, residency }, this.opts.canAccess);
      let target: 'migrate' | 'map' = placed.kind === 'migrate' ? 'migrate' : 'map';
      if (th) {
        const hint = th.hint(sp.thrashing, { vpn: fl.vpn, deviceId: this.index, write: fl.write, time: t0 as TimePs }, {
          canAccess: this.opts.canAccess, residency,
        });
        sp.thrashing = hint.state;
        if (hint.decision.kind === 'throttle') {
          this.metrics.thrashing.throttles++;
          this.metrics.faults.throttled++;
          continue; // not serviced now: the lane re-faults after the replay
        }
        if (hint.decision.kind === 'pin') {
          this.metrics.thrashing.pins++;
          target = hint.decision.residency === this.index ? 'migrate' : 'map';
        }
        if (th.stealGuard && sp.remotelyPinned(fl.vpn, t0, th.stealGuard, residency, this.index)) {
          if (target === 'migrate') this.metrics.thrashing.pins++;
          target = 'map';
        }
      }
      if (target === 'migrate' && (!this.mem || !this.migratable(vma))) target = 'map';
      const pref = target === 'migrate' ? sp.preferredOf(fl.vpn) : null;
      if (pref !== null && pref !== this.index) {
        // A preferred location elsewhere (advice that passed the interconnect check): the page
        // goes there (a peer populates it, drm_pagemap_populate_mm) or stays in system memory,
        // and this device maps it where it lands.
        if (pref !== CPU && residency !== pref) toPeer.push(fl.vpn);
        target = 'map';
      }
      if (residency === this.index) {
        target = 'map';
        // hmm_range_fault reports our own device-private entry as it is, read-only or not (6.1),
        // so a write to a read-only one (COW-shared after fork) would fault forever: bring the
        // page back to RAM first; the write fault then breaks COW on the CPU side and the device
        // maps the new page in place.
        if (fl.write && !this.ownEntryWritable(mm, fl.vpn)) this.pullBack(sp, vma, fl.vpn, copies);
      }
      rec.actual_faults++;
      this.metrics.faults.serviced++;
      if (target === 'migrate') toMigrate.push(fl.vpn);
      toMap.push(fl);
    }
    if (toMap.length === 0) return;
    const block = Math.floor(toMap[0].vpn / 512);
    if (toMigrate.length > 0 && !lockBlock(this, sp, block, toMigrate, toMap, rec)) {
      if (toMap.length === 0) return;
      toMigrate.length = 0;
    }
    if (toPeer.length > 0) populateForPeer(this, sp, toPeer, copies, rec);
    // KFD and drm_gpusvm work on a whole aligned window (svm_range granularity, gpusvm range)
    // around a faulting page: it migrates with the fault when the fault migrates, and is
    // collected (hmm_range_fault) and mapped with it either way.
    const faultedVpns = toMap.map((fl) => fl.vpn);
    const window = this.windowPages(mm, faultedVpns, this.fault.migrateWindow);
    const windowed = toMigrate.length > 0 && window.length > 0 ? window.filter((v) => !this.isResidentHere(mm, v)) : [];
    if (this.mem) busyKeys.add(this.mem.keyOf(sp.space, toMap[0].vpn));
    if (!sp.blockMigrations.has(block)) rec.num_new_vablock++;
    let prefetch: number[] = [];
    if (toMigrate.length > 0 && this.prefetchFn) {
      const vma = mm.findVma(toMigrate[0])!;
      const resident = this.residentHereIn(mm, block * 512);
      const thrashing: number[] = [];
      if (th) for (let v = block * 512; v < block * 512 + 512; v++) if (th.isThrashing(sp.thrashing, v)) thrashing.push(v);
      prefetch = this.prefetchFn({
        blockStart: block * 512, faulted: [...toMigrate].sort((a, b) => a - b), resident, thrashing, priorFaultMigrations: sp.blockMigrations.get(block) ?? 0,
      }).filter((v) => v >= vma.start && v < vma.end);
    }
    const moved = toMigrate.length > 0 ? this.migrateToDevice(sp, sortedUnion(toMigrate, windowed, prefetch), copies, rec, busyKeys) : [];
    const prefetched = prefetch.length > 0 ? intersectSorted(prefetch, moved) : [];
    rec.num_prefetch += prefetched.length;
    this.metrics.prefetched += prefetched.length;
    sp.blockMigrations.set(block, (sp.blockMigrations.get(block) ?? 0) + (toMigrate.length > 0 ? 1 : 0));
    if (th && moved.length > 0) {
      const before = countThrashing(th, sp.thrashing, moved);
      sp.thrashing = th.migrated(sp.thrashing, { vpns: moved, target: this.index, time: t0 as TimePs });
      const after = countThrashing(th, sp.thrashing, moved);
      if (after > before) this.metrics.thrashing.events += after - before;
    }
    // Map the faulted pages (and what the prefetcher brought) with hmm_range_fault.
    const unmappedWindow = window.length > 0 ? window.filter((v) => !sp.pt.has(v)) : window;
    // Write faults: the pages still to map that a write faulted (a page is one entry of toMap).
    let writes: ReadonlySet<number> = NO_WRITES;
    for (const fl of toMap) {
      if (!fl.write) continue;
      if (writes === NO_WRITES) writes = new Set<number>();
      (writes as Set<number>).add(fl.vpn);
    }
    this.remap(sp, sortedUnion(faultedVpns, prefetched, unmappedWindow), writes, rec, toMap);
    for (const fl of toMap) if (fl.write && sp.atomicWanted.delete(fl.vpn)) this.atomicFault(sp, fl.vpn);
  }

  /** Whether an atomic on page `pfn` needs it device-exclusive: a system page over a link that is not coherent. */
  private needsExclusive(pfn: number): boolean {
    return !this.profile.link.coherent && this.ctx.deviceOfPfn(pfn) === CPU;
  }

  /** Exclusive grants (make_device_exclusive_range succeeded) and revocations (the entry went, e.g. a CPU touch). */
  readonly exclusive = { grants: 0, revoked: 0 };

  /**
   * nouveau_atomic_range_fault: the page just mapped is in system memory and the device cannot
   * do atomics there over its link, so the driver makes the CPU's entry device-exclusive
   * (MMU_NOTIFY_EXCLUSIVE with this driver as owner, which its own notifier ignores) and maps
   * the page for atomics. A CPU access restores the CPU's entry under MMU_NOTIFY_EXCLUSIVE
   * without owner, which drops this mapping, so the next atomic faults and takes it again.
   * Pages exclusivity cannot take (not anonymous, hugetlb, a THP tail) keep their plain mapping:
   * the device then does its atomics as ordinary writes, as a coherent device would.
   */
  private atomicFault(sp: MirrorSpace, vpn: number): void {
    const e = sp.pt.get(vpn);
    if (e === undefined || !this.needsExclusive(Math.floor(e / 2))) return;
    this.selfMigrating = true;
    let got: number[] | number;
    try {
      got = makeDeviceExclusiveRange(sp.mm, vpn, vpn + 1, this.opts.owner);
    } finally {
      this.selfMigrating = false;
    }
    if (typeof got === 'number' || got[0] < 0) return;
    sp.pt.set(vpn, got[0] * 2 + 1);
    sp.atomic.add(vpn);
    this.exclusive.grants++;
  }






  /**
   * drm_pagemap_populate_mm(dpagemap, start, end, mm): migrates pages [start, end) of `mm` into
   * this device's memory without mapping them (mirror/pagemap.ts). `done(t)` when the copies land.
   */
  populateMm(mm: Mm, start: number, end: number, done: (t: number) => void): void {
    populateMm(this, mm, start, end, done);
  }

  /** Xe's PREFERRED_LOC for [start, end) of `mm` (mirror/pagemap.ts): 0, or -ENOLINK. */
  advise(mm: Mm, start: number, end: number, loc: ProcessorId): number {
    return advise(this, mm, start, end, loc);
  }

  private fatal(fl: CoalescedFault): void {
    this.metrics.faults.fatal++;
    for (const e of fl.entries) {
      const lane = this.lane(e.lane);
      if (lane && !lane.done) lane.run.kill(lane);
    }
  }

  /** Pages that migrate_vma can move: private anonymous memory (not hugetlb, file or shared). */
  /** @internal shared with mirror/*.ts */
  migratable(vma: Vma): boolean {
    return vma.isAnonymous && !vma.isHugetlb && !vma.isMixed;
  }

  /** Where `vpn` lives now: CPU, a device index, or null (never populated / zero page). */
  /** @internal shared with mirror/*.ts */
  residencyOf(mm: Mm, vpn: number): ProcessorId | null {
    const pmd = mm.pt.pmd(vpn);
    if (pmd && pmd.huge !== 0) return this.ctx.sys.isHugeZero(ptePfn(pmd.huge)) ? null : CPU;
    const e = mm.pt.pte(vpn);
    const type = pteType(e);
    if (e === 0) return null;
    if (type === PteType.PRESENT) return this.ctx.sys.isZeroPfn(ptePfn(e)) ? null : this.ctx.deviceOfPfn(ptePfn(e));
    if (type === PteType.DEVICE_PRIVATE || type === PteType.DEVICE_EXCLUSIVE) return this.ctx.deviceOfPfn(ptePfn(e));
    return CPU;
  }

  /** Whether the CPU page table's device-private entry for `vpn` (ours) allows writes. */
  private ownEntryWritable(mm: Mm, vpn: number): boolean {
    const e = mm.pt.pte(vpn);
    return pteType(e) === PteType.DEVICE_PRIVATE ? pteHas(e, PTE_WRITE) : true;
  }

  /** Migrates one of our pages back to system memory from the driver side (no CPU fault). */
  private pullBack(sp: MirrorSpace, vma: Vma, vpn: number, copies: PlannedCopy[]): void {
    const args = newMigrateVma(sp.mm, vma, vpn, vpn + 1, this.opts.owner, this.selectDevice);
    const p = this.ctx.sys.pages;
    const node = policyNode(sp.mm, vma, vpn);
    this.selfMigrating = true;
    try {
      if (migrateVmaSetup(args) !== 0) return;
      const spage = migratePfnToPage(args.src[0]);
      if (spage < 0 || !mpfnHas(args.src[0], MIGRATE_PFN_MIGRATE) || !this.mem?.owns(spage)) return;
      const dpage = p.allocSystem(node);
      p.copy(dpage, spage);
      args.dst[0] = migratePfn(dpage) + (mpfnHas(args.src[0], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
      migrateVmaPages(args);
      migrateVmaFinalize(args);
    } finally {
      this.selfMigrating = false;
    }
    sp.pt.delete(vpn);
    this.metrics.pagesOut++;
    this.metrics.bytesOut += 4096;
    copies.push({ bytes: 4096, from: this.node, to: this.ctx.socketOf(node), label: 'd2h', first: vpn, pages: 1 });
  }

  isResidentHere(mm: Mm, vpn: number): boolean {
    return this.isOwnEntry(mm.pt.pte(vpn));
  }

  /** Whether CPU page-table entry `e` maps a page of this device's memory (isResidentHere). */
  private isOwnEntry(e: number): boolean {
    const type = pteType(e);
    return (type === PteType.DEVICE_PRIVATE || type === PteType.PRESENT) && e !== 0 && this.mem !== null && this.mem.owns(ptePfn(e));
  }

  /**
   * The pages of the 2 MiB block at `blockStart` resident here, ascending: isResidentHere of
   * each, read from the block's PTE table in one pass (the prefetcher asks on every fault that
   * migrates, several times per block as a stream fills it).
   */
  private residentHereIn(mm: Mm, blockStart: number): number[] {
    const out: number[] = [];
    const ptes = mm.pt.pmd(blockStart)?.ptes;
    if (!ptes) return out;
    for (let i = 0; i < 512; i++) if (this.isOwnEntry(ptes[i])) out.push(blockStart + i);
    return out;
  }

  /**
   * Makes `vpns` (sorted, one block) resident here with migrate_vma, evicting when memory is
   * full. Pages on a device outside this address-space group come back to RAM first (their
   * driver's migrate_to_ram, through hmm_range_fault). Returns the vpns that moved.
   */
  /** @internal shared with mirror/*.ts */
  migrateToDevice(sp: MirrorSpace, vpns: number[], copies: PlannedCopy[], rec: BatchRecord, busyKeys: Set<number>): number[] {
    const mm = sp.mm, sys = this.ctx.sys, p = sys.pages, mem = this.mem!;
    // Bounce pages held by foreign devices through RAM (all found first, then faulted in).
    let foreign: number[] | null = null;
    for (const v of vpns) {
      const r = this.residencyOf(mm, v);
      if (r !== null && r !== CPU && r !== this.index && this.ctx.sys.pagemapOf(this.pfnAt(mm, v))?.owner !== this.opts.owner) (foreign ??= []).push(v);
    }
    if (foreign !== null) for (const v of foreign) this.faultIn(sp, v, false);
    const moved: number[] = [];
    for (const [s, e] of runs(vpns)) {
      const vma = mm.findVma(s);
      if (!vma || e > vma.end) continue;
      // The compound path takes a THP (or an empty PMD) whole; 512 separate pages stay pages.
      // A destination that cannot allocate 2 MiB splits the folio (6.19): chunks under 2 MiB.
      const folio = this.isWholeFolio(s, e) && this.folioSource(mm, s) && mem.chunkPages >= 512;
      // The migrate_vma of the last run, its arrays reused (reuseMigrateVma); taken while in use,
      // so a migration nested in this one (an eviction for room) makes its own.
      const args = reuseMigrateVma(this.spareMigrateVma, mm, vma, s, e, this.opts.owner, MIGRATE_VMA_SELECT_SYSTEM | this.selectDevice);
      this.spareMigrateVma = null;
      this.selfMigrating = true;
      try {
        if (migrateVmaSetup(args) !== 0) continue;
        // Device a page comes from (a peer in this group), or CPU: the peer counts it out. Made
        // only when a page comes from a peer (a plain array: a typed one here was an off-heap
        // allocation per migrate_vma call).
        let source: ProcessorId[] | null = null;
        for (let i = 0; i < args.npages; i++) {
          if (!mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) continue;
          const spfn = migratePfnToPage(args.src[i]);
          if (spfn >= 0 && mem.owns(spfn)) continue;
          let dpage = mem.allocPage(sp.space, s + i, this.ctx.engine.now);
          while (dpage === -1) {
            if (!this.evictOne(busyKeys, copies, rec)) break;
            dpage = mem.allocPage(sp.space, s + i, this.ctx.engine.now);
          }
          if (dpage < 0) continue;
          if (spfn >= 0) {
            p.copy(dpage, spfn);
            const home = this.ctx.deviceOfPfn(spfn);
            if (home !== CPU) (source ??= new Array<ProcessorId>(args.npages).fill(CPU))[i] = home;
            const from = this.ctx.homeNodeOf(spfn);
            const engine = home !== CPU && this.ctx.cross.sourcePeerMigrates ? this.ctx.deviceAt(home) as HmmMirrorDevice : this;
            planPage(copies, from, this.node, home === CPU ? 'h2d' : peerLabel(this, from), s + i, engine);
            rec.resident_pages++;
          } else {
            rec.pop_pages++;
          }
          args.dst[i] = migratePfn(dpage) + (mpfnHas(args.src[i], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
        }
        migrateVmaPages(args);
        const before = moved.length;
        for (let i = 0; i < args.npages; i++) {
          if (migratePfnToPage(args.dst[i]) < 0 || !mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) continue;
          moved.push(s + i);
          if (source !== null && source[i] !== CPU) {
            const peer = this.ctx.deviceMetrics(source[i]);
            peer.pagesOut++;
            peer.bytesOut += 4096;
          }
        }
        const n = moved.length - before;
        if (folio && n === 512) {
          this.migrated.folios++;
          this.folioBlocks.add(s / 512);
        } else this.migrated.pages += n;
        migrateVmaFinalize(args);
      } finally {
        this.selfMigrating = false;
        this.spareMigrateVma = args;
      }
    }
    if (this.ctx.cross.timeslicePs > 0) {
      // Provisional until the copies land (settleTimeslice): the kernel starts the timeslice
      // when migrate_to_devmem returns, and a CPU fault meanwhile waits on the migration entry.
      for (const b of new Set(moved.map((v) => Math.floor(v / 512)))) {
        sp.timeslice.set(b, this.ctx.engine.now + this.ctx.cross.timeslicePs);
        this.timesliceBlocks.push([sp, b]);
      }
    }
    rec.not_already_resident += moved.length;
    rec.unmap_res_count += moved.length;
    this.metrics.pagesIn += moved.length;
    this.metrics.bytesIn += moved.length * 4096;
    rec.root_chunk_allocs = mem.rootChunkAllocs;
    return moved;
  }

  private pfnAt(mm: Mm, vpn: number): number {
    return ptePfn(mm.pt.pte(vpn));
  }

  /** evictOne's migrate_device source and destination arrays, one run (≤ 512 pages) each. */
  private readonly evictSrc = new Float64Array(512);
  private readonly evictDst = new Float64Array(512);

  /** Evicts one victim unit to system memory; false when nothing can be evicted. */
  private evictOne(busyKeys: Set<number>, copies: PlannedCopy[], rec: BatchRecord): boolean {
    const mem = this.mem!, sys = this.ctx.sys, p = sys.pages;
    // Chunks backing blocks this batch is filling must stay.
    const victim = mem.victim(this.evictRng, busyKeys);
    if (!victim) return false;
    const pfns = victim.pages.map((idx) => mem.pfnOf(idx));
    // Evicted pages land on the NUMA node of the address space the unit belongs to.
    const space = Math.floor(mem.keyOfIndex(victim.pages[0]) / 2 ** 36);
    const owner = space >= 0 ? this.ctx.processOf(space)?.mm : undefined;
    const node = owner ? policyNode(owner, null, 0) : 0;
    let evicted = 0;
    for (const [s, e] of runs(pfns)) {
      // Views of the reused arrays (runs are at most 512 pages): a typed array of its own per
      // run was an off-heap allocation per evicted unit.
      const src = this.evictSrc.subarray(0, e - s), dst = this.evictDst.subarray(0, e - s);
      dst.fill(0);
      migrateDeviceRange(sys, src, s);
      for (let i = 0; i < src.length; i++) {
        const spage = migratePfnToPage(src[i]);
        if (spage < 0 || !mpfnHas(src[i], MIGRATE_PFN_MIGRATE)) continue;
        const dpage = p.allocSystem(node);
        p.copy(dpage, spage);
        dst[i] = migratePfn(dpage);
      }
      migrateDevicePages(sys, src, dst);
      for (let i = 0; i < src.length; i++) if (mpfnHas(src[i], MIGRATE_PFN_MIGRATE) && migratePfnToPage(dst[i]) >= 0) evicted++;
      migrateDeviceFinalize(sys, src, dst);
    }
    if (evicted > 0) copies.push({ bytes: evicted * 4096, from: this.node, to: this.ctx.socketOf(node), label: 'evict', first: pfns[0], pages: evicted, engine: this });
    // Pages that could not move still hold the unit: drop them from the policy so it moves on.
    for (const idx of victim.pages) if (mem.eviction.has(idx)) mem.eviction.remove(idx);
    rec.num_evict += evicted;
    rec.num_evict_ops++;
    this.metrics.evictions.pages += evicted;
    this.metrics.evictions.units++;
    this.metrics.pagesOut += evicted;
    this.metrics.bytesOut += evicted * 4096;
    return true;
  }

  /** hmm_range_fault one page with a fault request (migrates foreign device pages to RAM). */
  /** @internal shared with mirror/*.ts */
  faultIn(sp: MirrorSpace, vpn: number, write: boolean, owner: object | null = this.opts.owner): void {
    const range = newHmmRange(sp.notifier, vpn, vpn + 1, HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0), owner);
    for (let tries = 0; tries < 16; tries++) {
      range.flags.fill(0);
      range.notifierSeq = sp.notifier.readBegin();
      const ret = hmmRangeFault(sp.mm, range);
      if (ret === -EBUSY) continue;
      return;
    }
  }

  /**
   * Maps `vpns` (sorted) in the device page table from hmm_range_fault, faulting on the CPU side
   * what the access needs (`writes`: write faults). Faults the CPU side refuses are fatal: of
   * `faults` (pages counted as serviced), such a page counts as fatal instead.
   */
  private remap(sp: MirrorSpace, vpns: number[], writes: ReadonlySet<number>, rec: BatchRecord, faults?: CoalescedFault[]): void {
    for (const [s, e] of runs(vpns)) {
      const vma = sp.mm.findVma(s);
      if (!vma) continue;
      const end = Math.min(e, vma.end);
      // A device page table without read-only entries (profile memory.readOnlyProtection false):
      // a page goes in writable or not at all. In a read-only VMA nothing can be mapped (the
      // access is fatal); in a writable one every page is faulted in for write.
      const writeAll = !this.profile.memory.readOnlyProtection;
      if (writeAll && (vma.flags & VM_WRITE) === 0) {
        for (let v = s; v < end; v++) {
          const fl = faults?.find((f) => f.vpn === v);
          if (!fl) continue;
          rec.actual_faults--;
          this.metrics.faults.serviced--;
          this.fatal(fl);
        }
        continue;
      }
      const range = this.takeRange(sp.notifier, s, end, 0, this.opts.owner);
      range.pfnFlagsMask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
      if (this.ctx.cross.peerPages === 'p2p-page') range.allowP2p = this.allowP2p;
      let ret = 0;
      for (let tries = 0; tries < 16; tries++) {
        for (let i = 0; i < end - s; i++) range.flags[i] = HMM_PFN_REQ_FAULT | (writeAll || writes.has(s + i) ? HMM_PFN_REQ_WRITE : 0);
        range.notifierSeq = sp.notifier.readBegin();
        ret = hmmRangeFault(sp.mm, range);
        if (ret === -EBUSY) continue;
        if (ret === 0 && sp.notifier.readRetry(range.notifierSeq)) continue;
        break;
      }
      if (ret !== 0) {
        this.dropRange(range);
        // Map page by page so one bad page (e.g. a write to a read-only VMA) fails alone.
        if (end - s > 1) {
          for (let v = s; v < end; v++) this.remap(sp, [v], writes, rec, faults);
        } else {
          const fl = faults?.find((f) => f.vpn === s);
          if (fl) {
            rec.actual_faults--;
            this.metrics.faults.serviced--;
            this.fatal(fl);
          }
        }
        continue;
      }
      rec.num_mapping_ops++;
      this.bindEntries += this.isWholeFolio(s, end) && this.folioBlocks.has(s / 512) ? 1 : end - s;
      for (let i = 0; i < end - s; i++) {
        if (!(range.flags[i] & HMM_PFN_VALID)) continue;
        const pfn = range.pfns[i];
        sp.pt.set(s + i, pfn * 2 + (range.flags[i] & HMM_PFN_WRITE ? 1 : 0));
        if (this.mem?.owns(pfn)) this.mem.touch(pfn, this.ctx.engine.now);
        // A device without dirty bits (profile memory.dirtyTracking false) cannot say which pages
        // it wrote: every system page it may write is taken as written (dirty: written back,
        // copied back), as a driver must.
        else if (!this.profile.memory.dirtyTracking && range.flags[i] & HMM_PFN_WRITE && this.ctx.deviceOfPfn(pfn) === CPU) this.ctx.sys.pages.setFlag(pfn, PG_DIRTY);
        rec.num_mapped_pages++;
      }
      this.dropRange(range);
    }
  }

  /** The hmm_range remap reuses (one per driver, as a driver keeps its own), and whether a call holds it. */
  private range: HmmRange | null = null;
  private rangeTaken = false;
  /** HMM_PFN_ALLOW_P2P's question (p2p-page proposal), made once. */
  private readonly allowP2p = (pfn: number): boolean => this.ctx.p2pPage(this.index, pfn);

  /**
   * The driver's range aimed at [start, end) (reuseHmmRange), or a new one while a call up the
   * stack still holds it (hmm_range_fault can reach this driver again through a CPU fault). The
   * taker hands it to dropRange when done with it.
   */
  private takeRange(notifier: IntervalNotifier, start: number, end: number, defaultFlags: number, owner: unknown): HmmRange {
    if (this.rangeTaken) return newHmmRange(notifier, start, end, defaultFlags, owner);
    this.range = reuseHmmRange(this.range, notifier, start, end, defaultFlags, owner);
    this.rangeTaken = true;
    return this.range;
  }

  private dropRange(range: HmmRange): void {
    if (range === this.range) this.rangeTaken = false;
  }




  /** Replay: per the profile's policy, wake lanes; start the next batch if faults wait. */
  /** The batch is bound: replay now (per the policy, after replayCost per replay), or, under ONCE with faults waiting, service on. */
  private endBatch(now: number, rec: BatchRecord, entries: FaultEntry[], t0: number): void {
    const policy = this.fault.replayPolicy;
    if (policy === 'once' && this.buffer.length > 0) {
      // ONCE: keep servicing until the buffer is empty, then replay.
      rec.time = Math.floor((now - t0) / 1000);
      this.records.push(rec);
      this.servicing = false;
      appendAll(this.pendingEntries, entries);
      this.requestService(now);
      return;
    }
    rec.num_replays = policy === 'block' ? Math.max(1, rec.num_vablock) : 1;
    this.metrics.replays += rec.num_replays;
    const replayPs = rec.num_replays * this.fault.replayCost!;
    this.metrics.time.faultService += replayPs;
    if (replayPs > 0) this.ctx.spans(`${this.name}/driver`, 'replay', now, replayPs, { batch: rec.batch, replays: rec.num_replays });
    if (replayPs === 0) this.replay(now, rec, entries, t0);
    else this.ctx.engine.schedule((now + replayPs) as TimePs, (t) => this.replay(t, rec, entries, t0), `${this.name}:replay`);
  }

  /** The replay has reached the device: answered faults resume, and the next batch may start. */
  private replay(now: number, rec: BatchRecord, entries: FaultEntry[], t0: number): void {
    rec.time = Math.floor((now - t0) / 1000);
    const policy = this.fault.replayPolicy;
    if (policy === 'batch-flush') this.metrics.faults.flushed += this.buffer.flush(now).length;
    const answered = [...this.pendingEntries.splice(0), ...entries];
    for (const e of answered) this.latencies.add(now - e.time);
    this.records.push(rec);
    this.servicing = false;
    this.resumeLanes(now, policy === 'per-fault' ? answered : null);
    if (this.buffer.length > 0) this.requestService(Math.max(now, this.buffer.oldestTime()!));
    // After the lanes are back on the engine: a device the rwsem kept waiting runs after them.
    this.ctx.locks.release(this, this.index, this.ebusy === 0);
  }

  private readonly pendingEntries: FaultEntry[] = [];

  // ---- core callbacks ----

  /** The interval notifier: drop mirrored entries in the range; shoot down the TLB. */
  invalidate(sp: MirrorSpace, sub: IntervalNotifier, range: NotifierRange, cur: number): boolean {
    // Own migrations still drop the entries (the driver remaps them right after) but need no
    // shootdown wait, as nouveau skips its own MMU_NOTIFY_MIGRATE.
    const own = range.event === NotifyEvent.MIGRATE && range.owner === this.opts.owner && this.selfMigrating;
    // nouveau_svmm_invalidate: its own make_device_exclusive_range keeps the mirror as it is.
    if (range.event === NotifyEvent.EXCLUSIVE && range.owner === this.opts.owner && this.selfMigrating) return true;
    if (!own) sub.setSeq(cur);
    if (sp.atomic.size > 0) {
      for (const k of [...sp.atomic]) {
        if (k >= range.start && k < range.end) {
          sp.atomic.delete(k);
          this.exclusive.revoked++;
        }
      }
    }
    const dropped = sp.pt.deleteRange(range.start, range.end);
    if (dropped > 0 && !own) {
      this.shootdown(sp.space, range.start, range.end);
      this.metrics.tlb.invalidations++;
    } else if (dropped > 0) {
      // Its own migrate_to_ram for a CPU fault still cannot change a running job's page table.
      this.waitForJobs(sp.space);
    }
    return true;
  }

  /**
   * dev_pagemap_ops.migrate_to_ram: a CPU (or another device through hmm_range_fault) touched a
   * page of this device. Moves that page back to system memory; the copy is charged to whoever
   * waits (sync cost) and to the link.
   */
  private migrateToRam(f: { mm: Mm; vma: Vma; vpn: number; pfn: number }): number {
    // UVM runs CPU faults through the thrashing heuristics too: a throttled CPU sleeps out the
    // nap; a pin settles the page in system memory, where the device then maps it remotely.
    const sp0 = this.spaces.get(f.mm.id);
    const tp = this.thrashingFn;
    if (sp0 && tp) {
      const now = this.ctx.engine.now as TimePs;
      const hint = tp.hint(sp0.thrashing, { vpn: f.vpn, deviceId: CPU, write: true, time: now }, { canAccess: this.opts.canAccess, residency: this.index });
      sp0.thrashing = hint.state;
      if (hint.decision.kind === 'throttle') {
        this.metrics.thrashing.throttles++;
        this.ctx.addSyncPs(Math.max(0, hint.decision.until - now));
      } else if (hint.decision.kind === 'pin') this.metrics.thrashing.pins++;
    }
    // drm_pagemap timeslice: migrate_to_ram returns without migrating until it expires, so the
    // faulting CPU (or evicting device) comes back until then.
    const expiry = sp0?.timeslice.get(Math.floor(f.vpn / 512)) ?? 0;
    if (expiry > this.ctx.engine.now) {
      this.metrics.contention.timesliceWaits++;
      this.ctx.addSyncPs(expiry - this.ctx.engine.now);
    }
    // The window the driver moves back: nouveau and UVM the touched page, KFD its granularity
    // window (svm_migrate_to_ram), drm_pagemap the device allocation's range. Only this device's
    // pages in it move; the faulting page's source pfn is the one migrate_vma must see locked.
    const [start, end] = this.cpuFaultRange(f.mm, f.vma, f.vpn);
    const args = newMigrateVma(f.mm, f.vma, start, end, this.opts.owner, this.selectDevice, f.pfn);
    const movedVpns: number[] = [];
    this.selfMigrating = true;
    try {
      if (migrateVmaSetup(args) !== 0) return 2; // VM_FAULT_SIGBUS
      const p = this.ctx.sys.pages;
      for (let i = 0; i < args.npages; i++) {
        const spage = migratePfnToPage(args.src[i]);
        if (spage < 0 || !mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE) || !this.mem?.owns(spage)) continue;
        const dpage = p.allocSystem(policyNode(f.mm, f.vma, start + i));
        p.copy(dpage, spage);
        args.dst[i] = migratePfn(dpage) + (mpfnHas(args.src[i], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
      }
      migrateVmaPages(args);
      for (let i = 0; i < args.npages; i++) {
        if (migratePfnToPage(args.dst[i]) >= 0 && mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) movedVpns.push(start + i);
      }
      migrateVmaFinalize(args);
    } finally {
      this.selfMigrating = false;
    }
    const sp = this.spaces.get(f.mm.id);
    for (const v of movedVpns) sp?.pt.delete(v);
    const n = Math.max(1, movedVpns.length);
    this.metrics.pagesOut += movedVpns.length;
    this.metrics.bytesOut += movedVpns.length * 4096;
    const route = this.ctx.pathRoute(this.index, this.ctx.socketOf(policyNode(f.mm, f.vma, f.vpn)), false, this.ctx.engine.now).route;
    const fp = this.fault;
    const bytes = n * 4096;
    // A whole folio comes back as one on the THP path (the device folio was migrated whole).
    const cpuPs = this.isWholeFolio(start, end) && movedVpns.length === 512 ? fp.perFolioCost! : fp.perPageCost! * n;
    const cost = fp.cpuFaultCost! + cpuPs + Math.ceil((bytes / effectiveBandwidth(this.profile, bytes, 'd2h')) * 1e12);
    const first = movedVpns[0] ?? f.vpn, last = movedVpns[movedVpns.length - 1] ?? f.vpn;
    this.ctx.noteMigrateToRam({ device: this.name, first, end: last + 1, pages: n, bytes, to: this.ctx.socketOf(policyNode(f.mm, f.vma, f.vpn)), costPs: cost });
    if (route) this.ctx.syncCopy(route, bytes, this.ctx.engine.now);
    this.ctx.addSyncPs(cost);
    if (sp && tp) {
      sp.thrashing = tp.migrated(sp.thrashing, { vpns: [f.vpn], target: CPU, time: this.ctx.engine.now as TimePs });
      // Only another device counts: CPU ping-pong is what per-page thrashing detection is for.
      if (tp.stealGuard && this.ctx.actor !== CPU && this.ctx.actor !== this.index) sp.noteStolen(f.vpn, this.ctx.engine.now);
    }
    return 0;
  }

  /**
   * Whether [s, e) is one whole 2 MiB folio on the THP path (profile fault.perFolioCost): the
   * driver then migrates, copies and binds it as one unit. The mm core (6.1) still moves 4 KiB
   * pages; only the price follows 6.19's MIGRATE_VMA_SELECT_COMPOUND.
   */
  private isWholeFolio(s: number, e: number): boolean {
    return this.fault.perFolioCost !== undefined && s % 512 === 0 && e - s === 512;
  }

  /**
   * Whether the 2 MiB block at `s` can migrate as one folio (6.19 MIGRATE_VMA_SELECT_COMPOUND):
   * a PMD-mapped THP, or nothing populated yet (the device allocates the folio).
   */
  private folioSource(mm: Mm, s: number): boolean {
    const pmd = mm.pt.pmd(s);
    if (!pmd) return true;
    if (pmd.huge !== 0) return !this.ctx.sys.isHugeZero(ptePfn(pmd.huge));
    for (let v = s; v < s + 512; v++) if (mm.pt.pte(v) !== 0) return false;
    return true;
  }

  /** Bind cost of the mapping ops since the last call: per op plus per device PTE written, ps. */
  private bindPs(rec: BatchRecord): number {
    const f = this.fault;
    const ps = rec.num_mapping_ops * f.bindCost! + this.bindEntries * f.bindPerEntry!;
    this.bindEntries = 0;
    return ps;
  }

  /**
   * The other pages of the aligned `window` (bytes) around each of `vpns`, clipped to the VMA
   * and the 2 MiB block. Empty when the profile has no window.
   */
  /** @internal shared with mirror/*.ts */
  windowPages(mm: Mm, vpns: readonly number[], window0: number | undefined): number[] {
    // The device's granularity is the least it mirrors and migrates (profile memory.granularity).
    const window = Math.max(window0 ?? 0, this.profile.memory.granularity ?? 0);
    if (window <= 4096) return [];
    const w = window / 4096;
    const out = new Set<number>();
    for (const v of vpns) {
      const vma = mm.findVma(v);
      if (!vma) continue;
      const start = Math.max(Math.floor(v / w) * w, vma.start);
      const end = Math.min(Math.floor(v / w) * w + w, vma.end);
      for (let x = start; x < end; x++) if (x !== v) out.add(x);
    }
    return [...out];
  }

  /**
   * Queue restore of a device without replayable faults (AMD with XNACK off): before its queue
   * may run, KFD validates and maps the whole range where it resides (svm_range_validate_and_map
   * with hmm_range_fault, writable where the VMA is), and never migrates on a fault. Maps the
   * VMA around `vpn` here and returns the time the lane waits, ps: one restore pass (the replay
   * cost) plus the bind of every page mapped.
   */
  private restore(sp: MirrorSpace, vpn: number): number {
    const vma = sp.mm.findVma(vpn);
    if (!vma) return 0;
    const vpns: number[] = [];
    for (let v = vma.start; v < vma.end; v++) if (!sp.pt.has(v)) vpns.push(v);
    const writes = new Set(vma.writable ? vpns : []);
    const rec = newBatchRecord(this.name, -1, this.ctx.engine.now);
    const actor = this.ctx.actor;
    this.ctx.actor = this.index;
    this.remap(sp, vpns, writes, rec);
    this.ctx.actor = actor;
    const f = this.fault;
    const bind = this.bindPs(rec);
    const ps = f.serviceLatency + f.replayCost! + bind + this.ctx.takeSyncPs();
    this.metrics.replays++;
    this.metrics.time.map += bind;
    this.metrics.time.faultService += ps - bind;
    this.ctx.spans(`${this.name}/driver`, 'queue restore', this.ctx.engine.now, ps, { pages: rec.num_mapped_pages });
    return ps;
  }

  /**
   * The range [start, end) migrate_to_ram moves back for a touch of `vpn`: the profile's
   * cpuFaultWindow (KFD's granularity window, drm_pagemap's range), clipped to the VMA; without
   * one, UVM's: its CPU faults go through the same uvm_va_block_service_locked as GPU faults and
   * so through the density prefetcher (open-gpu-kernel-modules uvm_va_block.c,
   * block_cpu_fault_locked → uvm_va_block_service_locked(UVM_ID_CPU) → the prefetch hint; read
   * from source, not measured), with the CPU's pages as the resident ones and no big-page
   * growth; without a density prefetcher (nouveau, dmirror), the page alone.
   */
  private cpuFaultRange(mm: Mm, vma: Vma, vpn: number): [number, number] {
    // A device page is at least a granularity unit: the CPU's fault brings the whole unit back.
    const gran = this.profile.memory.granularity ?? 4096;
    const window = gran > 4096 ? Math.max(gran, this.fault.cpuFaultWindow ?? 0) : this.fault.cpuFaultWindow;
    if (window !== undefined) {
      const w = window / 4096;
      return [Math.max(Math.floor(vpn / w) * w, vma.start), Math.min(Math.floor(vpn / w) * w + w, vma.end)];
    }
    const density = densityChoiceOf(this.policies.prefetch);
    if (density === null) return [vpn, vpn + 1];
    const block = Math.floor(vpn / 512);
    const lo = Math.max(block * 512, vma.start), hi = Math.min(block * 512 + 512, vma.end);
    const onCpu: number[] = [];
    for (let v = lo; v < hi; v++) if (v !== vpn && pteType(mm.pt.pte(v)) === PteType.PRESENT && mm.pt.pte(v) !== 0) onCpu.push(v);
    const params = { ...prefetchParamsOf(density), bigPagePages: 1, minFaults: 1 };
    const more = computePrefetch({ faulted: [vpn], resident: onCpu, thrashing: [], priorFaultMigrations: 1 }, params).filter((v) => v >= lo && v < hi);
    if (more.length === 0) return [vpn, vpn + 1];
    return [Math.min(vpn, more[0]), Math.max(vpn, more[more.length - 1]) + 1];
  }

  /** Pages of this device's memory now in use. */
  residentPages(): number {
    return this.mem?.allocated ?? 0;
  }

  override finalizeMetrics(): void {
    super.finalizeMetrics();
    this.metrics.time.copy = this.ce.busyPs;
    this.metrics.faults.pending = this.buffer.length;
  }

  /** Whether the driver has nothing in flight. */
  get quiescent(): boolean {
    return !this.servicing && !this.serviceQueued && this.buffer.length === 0;
  }
}


/** Trace args of a fault batch: its number, entries, pages and the address range they span. */
/** How many of `vpns` the thrashing policy counts as thrashing in `state`. */
function countThrashing(th: ThrashingFn, state: unknown, vpns: readonly number[]): number {
  let n = 0;
  for (const v of vpns) if (th.isThrashing(state, v)) n++;
  return n;
}

/** The write faults of a batch that has none (most streams read): remap asks it per page. */
const NO_WRITES: ReadonlySet<number> = new Set<number>();

function batchArgs(batch: number, entries: readonly FaultEntry[], pages: readonly CoalescedFault[]): Record<string, number | string> {
  let lo = Infinity, hi = -Infinity;
  for (const p of pages) {
    lo = Math.min(lo, p.vpn);
    hi = Math.max(hi, p.vpn);
  }
  const args: Record<string, number | string> = { batch, faults: entries.length, pages: pages.length };
  if (pages.length > 0) args.range = formatVpnRange(lo, hi - lo + 1);
  return args;
}
