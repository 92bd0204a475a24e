// What a timed device and its driver see of the machine. The machine (machine.ts) implements it;
// drivers never reach past it, so a driver can be tested on a small hand-built machine.
import type { Engine } from '../engine/engine.ts';
import type { Rng } from '../engine/rng.ts';
import type { System } from '../mm/system.ts';
import type { Mm } from '../mm/mm.ts';
import type { Route } from '../topology/routing.ts';
import type { Transfers, SpanSink } from '../devices/transfers.ts';
import type { Process } from '../api/machine.ts';
import type { TimelineBuilder } from './metrics.ts';
import type { DeviceMetrics } from './results.ts';
import { formatVpnRange } from '../units/vpn.ts';

/** Memory node name of system memory in metrics and timelines. */
export const CPU_NODE = 'cpu';

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
  /**
   * Cost accumulated by synchronous work the current operation triggered (migrate_to_ram on
   * another device, TLB shootdowns it waited for); reading it resets it.
   */
  takeSyncPs(): number;
  addSyncPs(ps: number): void;
  /** The device whose driver is running core code right now, or -1 (the CPU). */
  actor: number;
  /**
   * Counts one migrate_to_ram (a device-private page back to system memory) against whoever
   * runs core code now (`actor`): a CPU page fault, or a device's fault that reached a page of a
   * device outside its address-space group (hmm_range_fault, a PRI request, pin_user_pages).
   */
  noteMigrateToRam(detail?: MigrateToRamNote): void;
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
