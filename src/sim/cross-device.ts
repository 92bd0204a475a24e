// Cross-device HMM as a machine-wide design choice: how devices come to share a pagemap owner,
// whether a device outside the owner group may reach a peer's device-private page in place (the
// still-argued HMM_PFN_ALLOW_P2P proposal), what stops several devices from livelocking while
// they migrate the same range (7.0's driver-wide rwsem), and how a multi-device invalidation is
// waited for (one pass: one device after another; the 2026 two-pass proposal: signal all, then
// wait). Modelled from source and mailing-list patches; no oracle runs 7.0, so none of it is
// checked against a running kernel.
import type { OwnerDesign } from '../topology/groups.ts';

/** Machine-wide cross-device design (scenario `crossDevice:`). */
export interface CrossDeviceOptions {
  /** How pagemap owners are formed (topology/groups.ts OwnerDesign); default 'interconnect' (7.0). */
  readonly owners: OwnerDesign;
  /**
   * What hmm_range_fault gives a device for a peer's device-private page outside its owner group:
   * 'owner' (what landed: the page migrates to RAM), or 'p2p-page' (Gunthorpe/Romanovsky/Maman,
   * not merged: with HMM_PFN_ALLOW_P2P the owning pgmap hands out a PCIe P2P address, so the
   * device reaches the page in place where p2pdma allows a path).
   */
  readonly peerPages: 'owner' | 'p2p-page';
  /**
   * Devices migrating one range: 'serial' (a second device waits for the first's migration of
   * the block to end, as UVM's per-VA-block lock makes it; the model's event instants already
   * serialize them, so nothing else happens), or drm_gpusvm's -EBUSY when migrate_vma_setup
   * finds pages another device is migrating: 'none' (evict the range and retry: the livelock
   * 7.0 hit), 'rwsem' (the stopgap that landed in 7.0: after the first -EBUSY the driver takes
   * a driver-wide rwsem for write, so its retry runs alone).
   */
  readonly migrateLock: 'serial' | 'none' | 'rwsem';
  /** 'one-pass' (each device invalidated and waited for in turn: the CPU waits for the sum) or 'two-pass' (the maximum). */
  readonly invalidation: 'one-pass' | 'two-pass';
  /**
   * drm_pagemap_migrate_details.source_peer_migrates: a page taken from a peer is copied by the
   * source device's copy engine (its copy_to_ram) rather than pulled by the destination's
   * (copy_to_devmem). Default true (a later Xe patch makes it unconditional).
   */
  readonly sourcePeerMigrates: boolean;
  /**
   * drm_pagemap timeslice, ps: after a migration into device memory, migrate_to_ram of those
   * pages returns without migrating until it expires (the faulting CPU or device waits). 0 = off.
   */
  readonly timeslicePs: number;
}

/**
 * The defaults: owners as landed in Linux 7.0 (drm_pagemap), merged hmm_range_fault, one-pass
 * invalidation, source-pushed peer copies, no timeslice, and migrations serialized per block
 * (every driver; scenarios of Xe's drm_gpusvm pick 'rwsem', what 7.0 landed, or 'none').
 */
export const LANDED_CROSS_DEVICE: CrossDeviceOptions = {
  owners: 'interconnect', peerPages: 'owner', migrateLock: 'serial', invalidation: 'one-pass', sourcePeerMigrates: true, timeslicePs: 0,
};

/**
 * Ranges being migrated right now, machine-wide: the migrate_vma page locks and migration
 * entries another device's migrate_vma_setup trips over (cpages != npages → -EBUSY), plus the
 * driver-wide rwsem. A device holds a block from its batch's service until its replay.
 */
export class MigrationLocks {
  /** Block key → the device migrating it and the migration (a batch, a populate_mm call) that holds it. */
  private readonly held = new Map<number, { dev: number; token: object }>();
  private readonly byToken = new Map<object, { dev: number; keys: Set<number> }>();
  /** Device holding the rwsem for write (it waits for every holder, and every other device waits for it), or -1. */
  writer = -1;
  private waiters: (() => void)[] = [];

  /** Key of VA block `block` of address space `space`. */
  static key(space: number, block: number): number {
    return space * 2 ** 36 + block;
  }

  /** The device migrating block `key` now, or -1. */
  holder(key: number): number {
    return this.held.get(key)?.dev ?? -1;
  }

  /** Device `dev` starts migrating block `key` in migration `token`. */
  take(dev: number, key: number, token: object): void {
    this.held.set(key, { dev, token });
    let t = this.byToken.get(token);
    if (!t) this.byToken.set(token, (t = { dev, keys: new Set() }));
    t.keys.add(key);
  }

  /** Whether any device other than `dev` is migrating something. */
  othersBusy(dev: number): boolean {
    for (const t of this.byToken.values()) if (t.dev !== dev && t.keys.size > 0) return true;
    return false;
  }

  /**
   * Whether device `dev` must wait before it may migrate: another device holds the rwsem for
   * write, or `dev` holds it and other devices still migrate (down_write waits for readers).
   */
  mustWait(dev: number): boolean {
    if (this.writer === -1) return false;
    if (this.writer === dev) return this.othersBusy(dev);
    // A device still holding blocks (a replay-once driver servicing on before it replays) goes
    // on: it is one of the readers the writer waits for.
    for (const t of this.byToken.values()) if (t.dev === dev && t.keys.size > 0) return false;
    return true;
  }

  /** Calls `wake` once, the next time a migration lets go of its blocks. */
  onRelease(wake: () => void): void {
    this.waiters.push(wake);
  }

  /**
   * Migration `token` of device `dev` is over (its batch replayed, its populate copies landed):
   * its blocks are free; a writer whose retry ran (`done`) gives the rwsem up. Waiters wake in
   * the order they went to sleep.
   */
  release(token: object, dev: number, done: boolean): void {
    const t = this.byToken.get(token);
    if (t) {
      for (const k of t.keys) if (this.held.get(k)?.token === token) this.held.delete(k);
      this.byToken.delete(token);
    }
    if (this.writer === dev && done) this.writer = -1;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
