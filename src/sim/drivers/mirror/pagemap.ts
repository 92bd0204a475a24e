// The drm_pagemap side of the mirror driver (Linux 7.0, modelled from source; no oracle runs it):
// populate_mm (migrate a range into this device's memory, from RAM or a peer of its owner group),
// preferred-location advice (Xe's PREFERRED_LOC and its -ENOLINK), and what happens when several
// devices migrate one range (drm_gpusvm's -EBUSY, evict and retry, the driver-wide rwsem).
import type { Mm } from '../../../mm/mm.ts';
import { ENOLINK } from '../../../mm/constants.ts';
import { CPU, type ProcessorId } from '../../../policy/types.ts';
import type { TimePs } from '../../../units/time.ts';
import type { CoalescedFault } from '../../../devices/fault-buffer.ts';
import type { BatchRecord } from '../../results.ts';
import { newBatchRecord } from '../../metrics.ts';
import { MigrationLocks } from '../../cross-device.ts';
import type { HmmMirrorDevice } from '../mirror.ts';
import type { MirrorSpace } from './space.ts';
import { submitCopies, type PlannedCopy } from './copies.ts';

/**
 * Takes block `block` for this batch's migration, or finds it being migrated by another device:
 * migrate_vma_setup then cannot lock its pages (cpages != npages) and drm_gpusvm returns
 * -EBUSY. Without the rwsem the driver evicts the range (drm_gpusvm_range_evict: every device
 * page of it back to RAM) and retries; with it, it takes the driver-wide rwsem for write so its
 * retry runs alone (xe_svm, Linux 7.0; modelled from the patch, not run). Either way the
 * faults that wanted the migration are answered by this batch's replay and raised again: the
 * model takes Xe's devmem-only path (atomics: no fallback to mapping the pages where they are).
 * Returns true when the block was taken.
 */
export function lockBlock(dev: HmmMirrorDevice, sp: MirrorSpace, block: number, toMigrate: number[], toMap: CoalescedFault[], rec: BatchRecord): boolean {
  if (dev.ctx.cross.migrateLock === 'serial') return true;
  const locks = dev.ctx.locks;
  const key = MigrationLocks.key(sp.space, block);
  const h = locks.holder(key);
  if (h < 0 || h === dev.index) {
    locks.take(dev.index, key, dev);
    return true;
  }
  dev.ebusy++;
  dev.metrics.contention.ebusy++;
  if (dev.ctx.cross.migrateLock === 'rwsem') {
    if (locks.writer === -1) locks.writer = dev.index;
  } else evictBlock(dev, sp, block);
  const busy = new Set(toMigrate);
  for (let i = toMap.length - 1; i >= 0; i--) {
    if (!busy.has(toMap[i].vpn)) continue;
    toMap.splice(i, 1);
    rec.actual_faults--;
    dev.metrics.faults.serviced--;
    dev.metrics.faults.busy++;
  }
  return false;
}

/**
 * drm_gpusvm_range_evict: hmm_range_fault over the block with no pagemap owner, so every
 * device-private page in it (any device's) goes back to RAM through its driver's
 * migrate_to_ram.
 */
export function evictBlock(dev: HmmMirrorDevice, sp: MirrorSpace, block: number): void {
  const vma = sp.mm.findVma(block * 512) ?? sp.mm.findVma(block * 512 + 511);
  const lo = Math.max(block * 512, vma?.start ?? block * 512), hi = Math.min(block * 512 + 512, vma?.end ?? block * 512);
  const onDevice: number[] = [];
  for (let v = lo; v < hi; v++) {
    const r = dev.residencyOf(sp.mm, v);
    if (r !== null && r !== CPU) onDevice.push(v);
  }
  // One fault moves its driver's whole window back; the pages after it may be home already.
  for (const v of onDevice) if (dev.residencyOf(sp.mm, v) !== CPU) dev.faultIn(sp, v, false, null);
  for (const v of onDevice) if (dev.residencyOf(sp.mm, v) === CPU) dev.metrics.contention.evictedPages++;
}

/**
 * Pages whose advised preferred location is a peer: that peer's driver migrates them into its
 * memory now (drm_pagemap_populate_mm → migrate_to_devmem over the faulted pages and this
 * driver's window), inside this batch, which waits for the copies and pays the CPU time.
 */
export function populateForPeer(dev: HmmMirrorDevice, sp: MirrorSpace, vpns: number[], copies: PlannedCopy[], rec: BatchRecord): void {
  const byPeer = new Map<number, number[]>();
  for (const v of vpns) {
    const p = sp.preferredOf(v)!;
    const list = byPeer.get(p) ?? [];
    list.push(v);
    byPeer.set(p, list);
  }
  for (const [p, list] of byPeer) {
    const peer = dev.ctx.deviceAt(p) as HmmMirrorDevice;
    dev.peersUsed.add(peer);
    const psp = peer.spaceOf(sp.mm);
    const wanted = [...new Set([...list, ...dev.windowPages(sp.mm, list, dev.fault.migrateWindow)])]
      .filter((v) => !peer.isResidentHere(sp.mm, v)).sort((a, b) => a - b);
    for (const b of new Set(wanted.map((v) => Math.floor(v / 512)))) dev.ctx.locks.take(dev.index, MigrationLocks.key(sp.space, b), dev);
    const before = { ...peer.migrated };
    peer.migrated = { pages: 0, folios: 0 };
    const actor = dev.ctx.actor;
    dev.ctx.actor = p;
    try {
      peer.migrateToDevice(psp, wanted, copies, rec, new Set());
    } finally {
      dev.ctx.actor = actor;
    }
    dev.migrated.pages += peer.migrated.pages;
    dev.migrated.folios += peer.migrated.folios;
    peer.migrated = before;
  }
}

/**
 * drm_pagemap_populate_mm(dpagemap, start, end, mm): migrates pages [start, end) of `mm`
 * into this device's memory without mapping them (Xe's populate_mm → migrate_to_devmem),
 * skipping what already lives here; pages of peers in this owner group move device to device
 * (copied by the source's engine with source_peer_migrates, else pulled by this one), pages
 * of devices outside it come back through RAM first. Waits while another device migrates a
 * block of the range (the rwsem). `done(t)` when the copies have landed. Returns the number
 * of 4 KiB pages planned to move (0 for memory that cannot migrate: file, shared, hugetlb).
 */
export function populateMm(dev: HmmMirrorDevice, mm: Mm, start: number, end: number, done: (t: number) => void): void {
  const sp = dev.spaceOf(mm);
  const locks = dev.ctx.locks;
  const blocks: number[] = [];
  for (let b = Math.floor(start / 512); b * 512 < end; b++) blocks.push(b);
  const busy = dev.ctx.cross.migrateLock === 'serial' ? undefined : blocks.find((b) => {
    const h = locks.holder(MigrationLocks.key(sp.space, b));
    return h >= 0 && h !== dev.index;
  });
  if (!dev.mem || busy !== undefined || locks.mustWait(dev.index)) {
    if (!dev.mem) {
      done(dev.ctx.engine.now);
      return;
    }
    dev.metrics.contention.ebusy += busy !== undefined ? 1 : 0;
    dev.metrics.contention.rwsemWaits++;
    const t0 = dev.ctx.engine.now;
    locks.onRelease(() => {
      dev.metrics.contention.rwsemWaitPs += dev.ctx.engine.now - t0;
      dev.ctx.engine.schedule(dev.ctx.engine.now as TimePs, () => populateMm(dev, mm, start, end, done), `${dev.name}:populate`);
    });
    return;
  }
  const token = {};
  const t0 = dev.ctx.engine.now;
  const copies: PlannedCopy[] = [];
  const rec = newBatchRecord(dev.name, -1, t0);
  const saved = dev.migrated;
  dev.migrated = { pages: 0, folios: 0 };
  const actor = dev.ctx.actor;
  dev.ctx.actor = dev.index;
  dev.ctx.takeSyncPs();
  let moved = 0;
  try {
    for (const b of blocks) {
      const lo = Math.max(b * 512, start), hi = Math.min(b * 512 + 512, end);
      const vpns: number[] = [];
      for (let v = lo; v < hi; v++) {
        const vma = mm.findVma(v);
        if (vma && dev.migratable(vma) && !dev.isResidentHere(mm, v)) vpns.push(v);
      }
      if (vpns.length === 0) continue;
      locks.take(dev.index, MigrationLocks.key(sp.space, b), token);
      rec.num_vablock++;
      moved += dev.migrateToDevice(sp, vpns, copies, rec, new Set([dev.mem.keyOf(sp.space, lo)])).length;
    }
  } finally {
    dev.ctx.actor = actor;
  }
  const f = dev.fault;
  const cpu = dev.ctx.takeSyncPs() + (f.perBlockCost ?? 0) * rec.num_vablock + (f.perPageCost ?? 0) * dev.migrated.pages + (f.perFolioCost ?? 0) * dev.migrated.folios;
  dev.migrated = saved;
  dev.metrics.populated += moved;
  dev.ctx.spans(`${dev.name}/driver`, 'populate_mm', t0, cpu, { pages: moved });
  dev.ctx.engine.schedule((t0 + cpu) as TimePs, () => {
    submitCopies(dev, copies, (t) => {
      dev.settleTimeslice(t);
      locks.release(token, dev.index, true);
      done(t);
    });
  }, `${dev.name}:populate-copies`);
}

/**
 * Xe's DRM_IOCTL_XE_MADVISE PREFERRED_LOC for [start, end) of `mm` on this device: `loc` is a
 * device index (this one: local memory), or CPU (system memory). Another device is refused
 * with -ENOLINK unless it shares this device's pagemap owner (a fast interconnect) and has
 * device memory. The advice takes effect at the next fault (or populate).
 */
export function advise(dev: HmmMirrorDevice, mm: Mm, start: number, end: number, loc: ProcessorId): number {
  if (loc !== CPU && loc !== dev.index) {
    const peer = dev.ctx.deviceAt(loc) as HmmMirrorDevice | undefined;
    if (peer?.profile.driver !== 'hmm-mirror' || peer.opts.owner !== dev.opts.owner || !peer.mem) return -ENOLINK;
  }
  if (loc === dev.index && !dev.mem) return -ENOLINK;
  dev.spaceOf(mm).preferred.push({ start, end, loc });
  return 0;
}
