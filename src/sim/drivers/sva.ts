// The SVA driver: the device shares the process's CPU page table through the IOMMU (PASID).
// A translation comes from a walk of the CPU page table (cached in the device's ATC/IOTLB, which
// the IOMMU's mmu notifier shoots down). An access the CPU page table does not allow becomes a
// PCIe page request (PRI): the IOMMU driver's fault queue runs handle_mm_fault for it and
// answers, then the device retries. Nothing ever migrates to the device; device-private pages of
// other devices come back to RAM through handle_mm_fault like a CPU touch.
//
// The profile's `iommu` flags (modelled from Linux 6.1 drivers/iommu/iommu-sva.c and
// io-pgfault.c, not checked against hardware): `pasid` is required (the profile schema refuses
// driver sva without it). Without `pri` the device cannot report a missing translation: as
// drivers do that bind SVA without IOPF (uacce/idxd without PRS), the driver populates and pins
// the kernel's regions before it runs (get_user_pages FOLL_WRITE | FOLL_LONGTERM, PIN_PAGE_PS
// a page) and unpins them at the end; an access the page table does not allow is an
// unrecoverable translation fault that kills the lane. Without `ats` the device has no ATC:
// every access is translated by the IOMMU at tlb.missCost, nothing is cached, and an
// invalidation sends the device no ATS invalidation to wait for (the IOMMU's own IOTLB flush
// is not priced).
import type { Mm } from '../../mm/mm.ts';
import { PMD_NR } from '../../mm/constants.ts';
import { PteType, pteType, ptePfn, pteHas, pteFlags, pteSetFlags, PTE_WRITE, PTE_DIRTY, PTE_YOUNG } from '../../mm/pte.ts';
import { PG_DIRTY } from '../../mm/page.ts';
import type { IntervalNotifier, NotifierRange } from '../../mm/mmu-notifier.ts';
import { mmdrop, mmgrab } from '../../mm/mmap.ts';
import { getUserPages, putUserPages } from '../../mm/gup.ts';
import { FaultBuffer, type FaultEntry } from '../../devices/fault-buffer.ts';
import { faultOf, type Profile } from '../../devices/profile/schema.ts';
import { CPU } from '../../policy/types.ts';
import type { TimePs } from '../../units/time.ts';
import { TimedDevice, type KernelRun, type Lane } from '../device.ts';
import type { SimContext } from '../context.ts';
import type { BatchRecord } from '../results.ts';
import { BatchLog } from '../metrics.ts';
import { LogHistogram } from '../../units/histogram.ts';
import { PIN_PAGE_PS, PinningError } from './pinning.ts';
import { appendAll } from '../../units/append.ts';

/** A device serviced by the SVA driver. */
export class SvaDevice extends TimedDevice {
  readonly prq: FaultBuffer;
  private readonly notifiers = new Map<number, IntervalNotifier>();
  private servicing = false;
  private queued = false;
  private batchNo = 0;
  /** Finished fault batches: counted and summed, the first records kept (sim/metrics.ts). */
  readonly records = new BatchLog();
  /** Raise → response latency of every serviced page request, ps: a histogram, not a list. */
  readonly latencies = new LogHistogram();

  /** PCIe Page Request Interface: the device can fault (iommu.pri). */
  readonly pri: boolean;
  /** PCIe Address Translation Services: the device caches translations in its ATC (iommu.ats). */
  readonly ats: boolean;
  /** Without PRI: the pages each kernel pinned before it ran. */
  private readonly pinnedBy = new Map<KernelRun, number[]>();

  constructor(ctx: SimContext, index: number, name: string, profile: Profile, quantumPs: number) {
    super(ctx, index, name, profile, quantumPs);
    this.pri = profile.iommu?.pri ?? true;
    // Without PRI the device never sends a page request (the schema refuses a fault section).
    this.prq = new FaultBuffer(this.pri ? faultOf(profile).bufferCapacity! : 1);
    this.ats = profile.iommu?.ats ?? true;
  }

  /** Without PRI: populate and pin the kernel's regions first, since the device cannot fault. */
  protected override prepare(run: KernelRun, start: (t: number) => void): void {
    if (this.pri) {
      start(this.ctx.engine.now);
      return;
    }
    const regions = run.spec.regions;
    if (!regions || regions.length === 0) throw new PinningError(`${this.name}: without PRI the sva driver pins the kernel's regions first and needs them (kernel ${run.spec.name})`);
    const pfns: number[] = [];
    for (const r of regions) {
      const got = getUserPages(run.mm, r.base, r.pages, { write: true, pin: true, longterm: true });
      if (typeof got === 'number') throw new PinningError(`${this.name}: pin_user_pages of ${r.pages} pages at vpn ${r.base} failed (errno ${-got})`);
      appendAll(pfns, got);
    }
    this.pinnedBy.set(run, pfns);
    this.metrics.pinnedPages += pfns.length;
    const pinPs = pfns.length * PIN_PAGE_PS;
    this.metrics.time.faultService += pinPs;
    const t0 = this.ctx.engine.now;
    this.ctx.spans(`${this.name}/driver`, 'pin (no PRI)', t0, pinPs, { pages: pfns.length });
    start(t0 + pinPs);
  }

  protected override complete(run: KernelRun, t: number, done: (t: number) => void): void {
    const pfns = this.pinnedBy.get(run);
    if (pfns) {
      this.pinnedBy.delete(run);
      putUserPages(run.mm, pfns, { write: true, pin: true, longterm: true });
      this.metrics.pinnedPages -= pfns.length;
    }
    done(t);
  }

  /**
   * The IOMMU walks the CPU page table, so a translation (and an ATC entry, sized by the ATS
   * translation completion) covers the CPU's leaf: a PMD maps 2 MiB, a PTE 4 KiB. The TLB keeps
   * the largest of the profile's page sizes that fits in it.
   */
  protected override mappingPages(space: number, vpn: number): number {
    const pmd = this.ctx.processOf(space).mm.pt.pmd(vpn);
    return pmd && pmd.huge !== 0 ? PMD_NR : 1;
  }

  /** Translation cost of one access: the ATC with ATS, else an IOMMU translation every time. */
  private translatePs(space: number, vpn: number): number {
    if (this.ats) return this.tlbCost(space, vpn);
    this.tlb.stats.misses++;
    return this.profile.tlb.missCost;
  }

  /** Binds `mm` (iommu_sva_bind_device): the IOMMU subscribes to its invalidations. */
  private bind(mm: Mm): void {
    if (this.notifiers.has(mm.id)) return;
    this.notifiers.set(mm.id, mm.notifiers.insert(0, Number.MAX_SAFE_INTEGER, (sub, range, cur) => this.invalidate(mm, sub, range, cur)));
    // iommu_sva_bind_device keeps the mm_struct for the PASID's life (mmgrab).
    mmgrab(mm);
  }

  /** iommu_sva_unbind_device at the device file's close: the PASID and its subscription go. */
  protected override unbind(mm: Mm): void {
    const sub = this.notifiers.get(mm.id);
    if (!sub) return;
    mm.notifiers.remove(sub);
    this.notifiers.delete(mm.id);
    mmdrop(mm);
  }

  private invalidate(mm: Mm, sub: IntervalNotifier, range: NotifierRange, cur: number): boolean {
    sub.setSeq(cur);
    // Without ATS the device caches nothing: no ATS invalidation to send or wait for.
    if (this.ats) this.shootdown(mm.id, range.start, range.end);
    return true;
  }

  /**
   * The translation the IOMMU walk finds for an access, or -1 if the CPU page table does not
   * allow it. Sets the accessed/dirty bits as the IOMMU does.
   */
  private walk(mm: Mm, vpn: number, write: boolean): number {
    const pmd = mm.pt.pmd(vpn);
    if (pmd && pmd.huge !== 0) {
      if (write && !pteHas(pmd.huge, PTE_WRITE)) return -1;
      pmd.huge = pteSetFlags(pmd.huge, pteFlags(pmd.huge) | PTE_YOUNG | (write ? PTE_DIRTY : 0));
      return ptePfn(pmd.huge) + (vpn % PMD_NR);
    }
    const e = mm.pt.pte(vpn);
    if (pteType(e) !== PteType.PRESENT || e === 0) return -1;
    if (write && !pteHas(e, PTE_WRITE)) return -1;
    mm.pt.setPte(vpn, pteSetFlags(e, pteFlags(e) | PTE_YOUNG | (write ? PTE_DIRTY : 0)));
    return ptePfn(e);
  }

  access(lane: Lane, vpn: number, write: boolean, t: number): number {
    const mm = lane.run.mm;
    this.bind(mm);
    const pfn = this.walk(mm, vpn, write);
    if (pfn < 0 && !this.pri) {
      // No page request possible: an unrecoverable translation fault (the device reports an
      // error; the job is over for this lane).
      this.metrics.faults.raised++;
      this.metrics.faults.fatal++;
      lane.run.kill(lane);
      return -1;
    }
    if (pfn < 0) {
      this.metrics.faults.pri++;
      // A full queue: the IOMMU answers the request at once and the device retries later.
      this.raiseFault(this.prq, lane, { lane: lane.id, space: mm.id, vpn, write, time: t });
      this.request(t);
      return -1;
    }
    this.noteTouch(mm.id, vpn);
    const spec = lane.run.spec;
    let cost = spec.computePs + this.translatePs(mm.id, vpn);
    const home = this.ctx.deviceOfPfn(pfn);
    const from = this.ctx.homeNodeOf(pfn);
    // The data of a load moves from the memory to the device, that of a store the other way.
    const route = home === this.index ? null : write ? this.ctx.route(this.node, from) : this.ctx.route(from, this.node);
    if (home === this.index) this.metrics.accesses.local++;
    else if (home === CPU) this.metrics.accesses.remote++;
    else this.notePeerAccess(route, spec.accessBytes);
    if (route) cost += this.ctx.remoteAccess(route, spec.accessBytes, t + cost) - (t + cost);
    if (write) {
      this.ctx.sys.pages.setFlag(pfn, PG_DIRTY);
      this.ctx.storeWord(this.name, mm, vpn, pfn);
    }
    this.ctx.noteAccess(pfn);
    return cost;
  }

  override finalizeMetrics(): void {
    super.finalizeMetrics();
    this.metrics.faults.pending = this.prq.length;
  }

  private request(t: number): void {
    if (this.servicing || this.queued) return;
    this.queued = true;
    const at = Math.max(t, this.ctx.engine.now, this.prq.oldestTime() ?? t);
    this.ctx.engine.schedule(at as TimePs, (now) => this.service(now), `${this.name}:prq`);
  }

  /**
   * One pass of the IOMMU fault queue: page requests are answered one after another, each a
   * handle_mm_fault on the CPU side plus the PRI round trip.
   */
  private service(t0: number): void {
    this.queued = false;
    const f = this.fault;
    const entries = this.prq.fetch(f.batchSize!, t0);
    if (entries.length === 0) return;
    this.servicing = true;
    const { rec, pages } = this.openBatch(entries, this.batchNo++, t0);
    for (const pg of pages) {
      const mm = this.ctx.processOf(pg.space).mm;
      if (this.walk(mm, pg.vpn, pg.write) >= 0) {
        // One per page: its other entries were counted as coalesced.
        rec.duplicate_faults++;
        this.metrics.faults.duplicates++;
        continue;
      }
      const r = this.ctx.processOf(pg.space).access(pg.vpn, pg.write);
      if (typeof r === 'string') {
        this.metrics.faults.fatal++;
        for (const e of pg.entries) {
          const lane = this.lane(e.lane);
          if (lane && !lane.done) lane.run.kill(lane);
        }
        continue;
      }
      rec.actual_faults++;
      this.metrics.faults.serviced++;
      rec.num_mapped_pages++;
    }
    this.ctx.actor = CPU;
    const priCost = f.priCost ?? 0;
    const dur = f.serviceLatency + f.perFaultCost! * pages.length + priCost * pages.length + this.ctx.takeSyncPs();
    rec.service = Math.floor(dur / 1000);
    this.metrics.time.faultService += dur;
    this.ctx.spans(`${this.name}/driver`, 'page requests', t0, dur, { requests: entries.length });
    this.ctx.engine.schedule((t0 + dur) as TimePs, (now) => this.respond(now, rec, entries, t0), `${this.name}:pri-response`);
  }

  private respond(now: number, rec: BatchRecord, entries: FaultEntry[], t0: number): void {
    rec.time = Math.floor((now - t0) / 1000);
    rec.num_replays = 1;
    this.metrics.replays++;
    for (const e of entries) this.latencies.add(now - e.time);
    this.records.push(rec);
    this.servicing = false;
    // A PRI response answers only the requests it carries; other lanes keep waiting for theirs.
    this.resumeLanes(now, entries);
    if (this.prq.length > 0) this.request(Math.max(now, this.prq.oldestTime()!));
  }
}
