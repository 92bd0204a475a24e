// The pinning driver: the legacy path users compare SVM against. Before a kernel starts it pins
// the kernel's regions with pin_user_pages(FOLL_WRITE | FOLL_LONGTERM). A device with memory then
// copies the buffers in (cudaMemcpy style), runs on its copy, and copies written pages back when
// the kernel ends; a device without memory (an RDMA NIC) reads and writes the pinned pages in
// place. No device faults ever; pinned pages cannot migrate, which other devices feel.
import { getUserPages, putUserPages } from '../../mm/gup.ts';
import { DeviceMemory } from '../../devices/device-memory.ts';
import { CopyEngines, copyOverheadPs } from '../../devices/transfers.ts';
import type { Profile } from '../../devices/profile/schema.ts';
import { CPU } from '../../policy/types.ts';
import type { TimePs } from '../../units/time.ts';
import { TimedDevice, type KernelRun, type Lane } from '../device.ts';
import type { SimContext } from '../context.ts';

/**
 * Cost of pinning one page (get_user_pages walk + refcount + IOMMU map), ps. ESTIMATE: no
 * figure in anchors-uvm.md; RDMA memory registration is commonly quoted at ~0.1–0.3 µs/page.
 */
export const PIN_PAGE_PS = 200_000;

/** What one kernel pinned and, with device memory, where its copies live. */
interface Registration {
  /** vpn → pinned system pfn. */
  readonly pinned: Map<number, number>;
  /** vpn → device copy pfn (copy mode). */
  readonly copies: Map<number, number>;
  readonly written: Set<number>;
  readonly pfnList: number[];
}

/** Thrown when a kernel cannot be set up by the pinning driver (no regions, pin failure, no room). */
export class PinningError extends Error {}

/** A device serviced by the pinning driver. */
export class PinningDevice extends TimedDevice {
  readonly mem: DeviceMemory | null;
  readonly ce: CopyEngines | null;
  private readonly regs = new Map<KernelRun, Registration>();

  constructor(ctx: SimContext, index: number, name: string, profile: Profile, quantumPs: number, owner: object) {
    super(ctx, index, name, profile, quantumPs);
    const chunkPages = profile.memory.chunkSize / 4096;
    this.mem = profile.memory.capacity >= profile.memory.chunkSize
      ? new DeviceMemory(ctx.sys, 'private', owner, { pageFree: (pfn) => this.mem!.pageFreed(pfn), migrateToRam: () => 2 }, profile.memory.capacity, chunkPages, { kind: 'lru-chunk', unitPages: chunkPages })
      : null;
    const ce = profile.copyEngines;
    this.ce = ce ? new CopyEngines(ctx.transfers, name, ce.count, ce.bandwidth, ctx.spans) : null;
  }

  protected override prepare(run: KernelRun, start: (t: number) => void): void {
    const regions = run.spec.regions;
    if (!regions || regions.length === 0) throw new PinningError(`${this.name}: the pinning driver needs the kernel's regions (kernel ${run.spec.name})`);
    const reg: Registration = { pinned: new Map(), copies: new Map(), written: new Set(), pfnList: [] };
    const mm = run.mm;
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
        reg.pfnList.push(...got);
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
    this.metrics.pagesIn += pages;
    this.metrics.bytesIn += pages * 4096;
    this.ctx.engine.after(pinPs as TimePs, () => this.copy(pages * 4096, 'h2d', start), `${this.name}:h2d`);
  }

  /** Copies `bytes` in chunks over the host link; `done(t)` when the last chunk lands. */
  private copy(bytes: number, dir: 'h2d' | 'd2h', done: (t: number) => void): void {
    const ce = this.profile.copyEngines!;
    const [from, to] = dir === 'h2d' ? [this.ctx.hostNode, this.node] : [this.node, this.ctx.hostNode];
    const route = this.ctx.route(from, to);
    let pending = 0;
    let last: number = this.ctx.engine.now;
    if (bytes === 0) {
      done(last);
      return;
    }
    for (let left = bytes; left > 0; left -= ce.chunkSize) {
      const n = Math.min(ce.chunkSize, left);
      pending++;
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
    const spfn = reg.pinned.get(vpn);
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
      return cost;
    }
    const home = this.ctx.deviceOfPfn(spfn);
    if (home === CPU) this.metrics.accesses.remote++;
    else this.metrics.accesses.peer++;
    // The data of a load moves from the memory to the device, that of a store the other way.
    const where = this.ctx.homeNodeOf(spfn);
    const route = write ? this.ctx.route(this.node, where) : this.ctx.route(where, this.node);
    if (route) cost += this.ctx.remoteAccess(route, spec.accessBytes, t + cost) - (t + cost);
    if (write) this.ctx.storeWord(this.name, mm, vpn, spfn);
    return cost;
  }

  protected override complete(run: KernelRun, t: number, done: (t: number) => void): void {
    const reg = this.regs.get(run)!;
    this.regs.delete(run);
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
