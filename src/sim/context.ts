// What a timed device and its driver see of the machine. The machine (machine.ts) implements it;
// drivers never reach past it, so a driver can be tested on a small hand-built machine.
import type { Engine } from '../engine/engine.ts';
import type { Rng } from '../engine/rng.ts';
import type { System } from '../mm/system.ts';
import type { Mm } from '../mm/mm.ts';
import type { DevicePath, Route } from '../topology/routing.ts';
import type { Transfers, SpanSink } from '../devices/transfers.ts';
import type { Process } from '../api/machine.ts';
import type { TimelineBuilder } from './metrics.ts';
import type { DeviceMetrics } from './results.ts';
import type { CrossDeviceOptions, MigrationLocks } from './cross-device.ts';
import type { FaultEntry } from '../devices/fault-buffer.ts';
import { formatVpnRange } from '../units/vpn.ts';
import type { LaneProgram } from './program.ts';

/** Memory node name of system memory in metrics and timelines. */
export const CPU_NODE = 'cpu';

/**
 * Someone watching a run page by page (the viewer's event log, src/report/viewlog.ts). Calls
 * are notifications only: an observer must not change the model, so a run gives the same
 * results with or without one. Residency changes need no call: an observer sees them through
 * an MMU interval notifier, as a kernel tracer would. Times are integer ps.
 */
export interface RunObserver {
  /** Device `device` (index) raised `entry` (before it enters the fault buffer). */
  deviceFault(device: number, entry: FaultEntry): void;
  /** Device `device`'s driver fetched batch `no` (its number in the batch records) at `t0`. */
  batch(device: number, no: number, t0: number, entries: readonly FaultEntry[]): void;
  /** A CPU thread of address space `space` took a page fault on `vpn` at `t`. */
  cpuFault(space: number, vpn: number, write: boolean, t: number): void;
}

/** The machine as a driver sees it. Times are integer ps. */
export interface SimContext {
  readonly engine: Engine;
  readonly sys: System;
  readonly transfers: Transfers;
  readonly timeline: TimelineBuilder;
  readonly spans: SpanSink;
  /** Seeded stream for a component, stable across runs. */
  rng(name: string): Rng;
  /** Topology node of device `index` (its endpoint id). */
  nodeOf(index: number): string;
  /** Topology node of system memory (the first socket). */
  readonly hostNode: string;
  /**
   * Topology node holding pfn `pfn`: its device's endpoint for ZONE_DEVICE pages, else the
   * socket of its NUMA node (socket i is node i).
   */
  homeNodeOf(pfn: number): string;
  /** Topology id of the socket holding NUMA node `node`. */
  socketOf(node: number): string;
  /** Route of a DMA from node `from` to node `to`, or null (bounce through host memory). */
  route(from: string, to: string): Route | null;
  /**
   * The DMA paths of device `index` (topology endpoint `paths`), path 0 its own endpoint first;
   * one entry for a single-path device.
   */
  pathsOf(index: number): readonly DevicePath[];
  /**
   * The path device `index`'s path policy (policies.path) picks at time `now` for DMA between
   * it and node `node` (an endpoint or socket), toward the device when `toDevice`, and that
   * path's route (null: no direct route, bounce through host memory). A path without a route
   * is never picked while another has one. A single-path device gets its own endpoint's route.
   */
  pathRoute(index: number, node: string, toDevice: boolean, now: number): { readonly path: DevicePath; readonly route: Route | null };
  /** Device index owning a ZONE_DEVICE pfn, or -1 for system memory. */
  deviceOfPfn(pfn: number): number;
  /**
   * Counters of device `index`: a driver that takes pages straight from a peer's memory (one
   * migrate_vma inside an address-space group) counts them out of that peer here.
   */
  deviceMetrics(index: number): DeviceMetrics;
  /** The process owning address space `space` (an Mm id). */
  processOf(space: number): Process;
  /**
   * Charges remote-access traffic (loads/stores over a link, not DMA copies) to the links of
   * `route` at time `t`; returns when the last byte arrives given earlier traffic on the route.
   */
  remoteAccess(route: Route, bytes: number, t: number): number;
  /**
   * A copy made outside the copy engines (migrate_to_ram's page, charged to whoever waits for
   * it): books `bytes` and one transfer on the links of `route` at time `t`, queued with the
   * remote accesses of that route; returns when it lands.
   */
  syncCopy(route: Route, bytes: number, t: number): number;
  /**
   * A lane of `who` stores to page `vpn` of `mm` through pfn `pfn`: writes the next data word
   * (data mode) and tells the run's observers.
   */
  storeWord(who: string, mm: Mm, vpn: number, pfn: number): void;
  /** A lane's access reached frame `pfn` (drivers call it on every completed access, for LaneData.loaded). */
  noteAccess(pfn: number): void;
  /**
   * Starts a lane's access with its program's LaneData (see SimMachine.beginDataAccess); false
   * without page data, when there is nothing to bracket and endDataAccess must not be called.
   */
  beginDataAccess(prog: LaneProgram): boolean;
  /** Ends the access beginDataAccess started: `cost` < 0 when it stalled or threw. */
  endDataAccess(prog: LaneProgram, vpn: number, cost: number): void;
  /**
   * Cost accumulated by synchronous work the current operation triggered (migrate_to_ram on
   * another device, TLB shootdowns it waited for); reading it resets it.
   */
  takeSyncPs(): number;
  addSyncPs(ps: number): void;
  /** The run's observer, or null (the usual case: nothing records pages). */
  readonly observer: RunObserver | null;
  /** The device whose driver is running core code right now, or -1 (the CPU). */
  actor: number;
  /**
   * Counts one migrate_to_ram (a device-private page back to system memory) against whoever
   * runs core code now (`actor`): a CPU page fault, or a device's fault that reached a page of a
   * device outside its address-space group (hmm_range_fault, a PRI request, pin_user_pages).
   */
  noteMigrateToRam(detail?: MigrateToRamNote): void;
  /** The machine's cross-device design (cross-device.ts). */
  readonly cross: CrossDeviceOptions;
  /** Blocks being migrated now and the driver-wide rwsem, shared by every mirror driver. */
  readonly locks: MigrationLocks;
  /**
   * Under the P2P-page proposal (`cross.peerPages: 'p2p-page'`): whether device `dev` may take
   * device-private pfn `pfn` of another owner as a PCIe P2P page (p2pdma allows a path from its
   * home to `dev`). Always false as merged.
   */
  p2pPage(dev: number, pfn: number): boolean;
  /** The device at `index` (for a driver that asks a peer's driver to migrate, as populate_mm does). */
  deviceAt(index: number): unknown;
  /**
   * An MMU-notifier invalidation reaching several devices: their shootdown waits go through here.
   * One pass: the CPU waits for each in turn (the sum); two passes (`cross.invalidation`): all are
   * signalled first, then waited for (the maximum).
   */
  chargeShootdown(ps: number): void;
  /**
   * The operation running now invalidated pages a non-preemptible device job uses: whoever runs
   * it (a CPU thread) waits until `job` ends. Collected with takeJobWaits.
   */
  waitForJob(job: { onDone(cb: (t: number) => void): void }): void;
}

/** What one migrate_to_ram call moved, for the trace (the CPU fault or device slice it ran in). */
export interface MigrateToRamNote {
  /** The device whose memory the pages left. */
  readonly device: string;
  /** Pages moved, between page `first` and page `end` (exclusive). */
  readonly first: number;
  readonly end: number;
  readonly pages: number;
  readonly bytes: number;
  /** Topology node the pages went to (a socket). */
  readonly to: string;
  /** What the call cost whoever waited for it, ps (fault cost, per-page work, the copy). */
  readonly costPs: number;
}

/** Trace args of a migrate_to_ram slice: the address range, source and destination, bytes. */
export function migrateToRamArgs(d: MigrateToRamNote): Record<string, number | string> {
  return { range: formatVpnRange(d.first, d.end - d.first), pages: d.pages, bytes: d.bytes, from: d.device, to: d.to };
}
