// The mirror driver's copies (drm_pagemap's copy_to_devmem / copy_to_ram, UVM's copy engine
// pushes): planned by a batch or a populate_mm, merged where pages are consecutive, split at the
// copy engines' chunk size, routed over the path the copying device's path policy picks, and run
// on that device's engines (the source's with source_peer_migrates).
import { copyOverheadPs, type SpanArgs, type TransferRequest } from '../../../devices/transfers.ts';
import type { SharedSegment } from '../../../topology/sharing.ts';
import type { Route } from '../../../topology/routing.ts';
import { formatVpnRange } from '../../../units/vpn.ts';
import type { HmmMirrorDevice } from '../mirror.ts';

/** Longest run migrate_vma takes in one call, pages (one 2 MiB block). */
const MIGRATE_RUN_MAX = 512;

/** A transfer planned by a batch: bytes from one node to another. */
export interface PlannedCopy {
  bytes: number;
  from: string;
  to: string;
  label: string;
  /** First page (vpn or device pfn) of the copy: consecutive pages merge into one copy. */
  first: number;
  pages: number;
  /**
   * The device whose copy engines do it (default: the batch's device): the destination pulls
   * (copy_to_devmem), or with source_peer_migrates the source peer pushes (its copy_to_ram).
   */
  engine?: HmmMirrorDevice;
}

/**
 * Plans copy `c`, extending the last planned copy instead when `c` continues it (same kind,
 * endpoints and engine, the next page): submitCopies would merge the two anyway, and a
 * migration of a whole block then plans one copy instead of 512.
 */
export function planCopy(copies: PlannedCopy[], c: PlannedCopy): void {
  const last = copies[copies.length - 1];
  if (last && c.label !== 'evict' && canExtend(last, c)) {
    last.bytes += c.bytes;
    last.pages += c.pages;
  } else copies.push(c);
}

/**
 * planCopy of one 4 KiB page at `first` (a vpn) from `from` to `to`, made without an object
 * unless it starts a new copy: a block's migration plans its pages one by one, and all but the
 * first extend the copy before.
 */
export function planPage(copies: PlannedCopy[], from: string, to: string, label: string, first: number, engine: HmmMirrorDevice | undefined): void {
  const last = copies[copies.length - 1];
  if (last && label !== 'evict' && last.label === label && last.from === from && last.to === to && last.engine === engine && last.first + last.pages === first) {
    last.bytes += 4096;
    last.pages++;
  } else copies.push({ bytes: 4096, from, to, label, first, pages: 1, engine });
}

/** Whether `c` continues `last` so that the two are one copy (never evictions: their pages are pfns). */
function canExtend(last: PlannedCopy, c: PlannedCopy): boolean {
  return last.label === c.label && last.from === c.from && last.to === c.to && last.engine === c.engine && c.label !== 'evict' && last.first + last.pages === c.first;
}

/**
 * Submits planned copies, consecutive pages merged into one copy and copies split at the copy
 * engine's chunk size; `done(t)` when all complete. Returns the number of transfers and bytes.
 * The planned copies are not changed, but the requests keep them (a kept trace slice reads its
 * range from them when it is made): the caller must not change them afterwards.
 */
export function submitCopies(dev: HmmMirrorDevice, copies: PlannedCopy[], done: (t: number) => void, batch?: number): { transfers: number; bytes: number } {
  const now = dev.ctx.engine.now;
  // Evictions go first: their room is what the migrations use. They never merge, so they are
  // taken as planned; a migration is copied only when the next one extends it (the planned
  // list stays as it was, and eviction of 4 KiB units makes no object per page here).
  const order: PlannedCopy[] = [];
  for (const c of copies) if (c.label === 'evict') order.push(c);
  let merged: PlannedCopy | null = null;
  for (const c of copies) {
    if (c.label === 'evict') continue;
    const last = order[order.length - 1];
    if (last && canExtend(last, c)) {
      if (last !== merged) order[order.length - 1] = merged = { ...last };
      merged.bytes += c.bytes;
      merged.pages += c.pages;
    } else order.push(c);
  }
  const chunk = dev.profile.copyEngines!.chunkSize;
  let pending = 0;
  let last: number = now;
  const one = (t: number) => {
    last = Math.max(last, t);
    if (--pending === 0) done(last);
  };
  const reqs: CopyChunk[] = [];
  for (const c of order) {
    // The copying engine's device picks its DMA path (multi-path devices; one path otherwise).
    const eng = c.engine ?? dev;
    const chosen = c.to === eng.node ? dev.ctx.pathRoute(eng.index, c.from, true, now)
      : c.from === eng.node ? dev.ctx.pathRoute(eng.index, c.to, false, now) : null;
    const route = chosen ? chosen.route : dev.ctx.route(c.from, c.to);
    if (chosen && eng.metrics.paths[chosen.path.index]) eng.metrics.paths[chosen.path.index].bytes += c.bytes;
    const path = route ? route.segments : NO_SEGMENTS;
    const bottleneck = Math.min(route ? route.bandwidth : Infinity, eng.profile.copyEngines!.bandwidth ?? Infinity);
    for (let left = c.bytes; left > 0; left -= chunk) {
      const bytes = Math.min(chunk, left);
      reqs.push(new CopyChunk(c, c.bytes - left, bytes, path, copyOverhead(eng, bytes, c, bottleneck, route), one, batch));
    }
  }
  if (reqs.length === 0) {
    done(now);
    return { transfers: 0, bytes: 0 };
  }
  pending = reqs.length;
  let bytes = 0;
  for (const r of reqs) {
    bytes += r.bytes;
    (r.c.engine ?? dev).ce.submit(r);
  }
  return { transfers: reqs.length, bytes };
}

/** The path of a copy without a route (an unconstrained flow). */
const NO_SEGMENTS: readonly SharedSegment[] = [];

/**
 * One copy-engine request: `bytes` from `offset` into planned copy `c`. A class, so that its
 * trace args are a prototype method rather than a closure per request.
 */
class CopyChunk implements TransferRequest {
  readonly label: string;
  constructor(
    readonly c: PlannedCopy,
    readonly offset: number,
    readonly bytes: number,
    readonly path: readonly SharedSegment[],
    readonly overheadPs: number,
    readonly onDone: (t: number) => void,
    readonly batch: number | undefined,
  ) {
    this.label = c.label;
  }

  args(): SpanArgs {
    return copyArgs(this.c, this.offset, this.bytes, this.batch);
  }
}

/**
 * Label of a copy from peer `from` (same address-space group): 'p2p' over a link of their
 * own, 'p2p-pcie' over PCIe peer-to-peer (peers joined only through another device: links do
 * not forward, see topology/groups.ts).
 */
export function peerLabel(dev: HmmMirrorDevice, from: string): string {
  return dev.ctx.pathRoute(dev.index, from, true, dev.ctx.engine.now).route?.kind === 'private' ? 'p2p' : 'p2p-pcie';
}

export function copyOverhead(dev: HmmMirrorDevice, bytes: number, c: PlannedCopy, bottleneck: number, route: Route | null): number {
  // The profile's curve describes its host link; a peer copy pays the engine's setup and the
  // peer route's latency, and its flow runs at the peer route's rate.
  if (c.label === 'p2p' || c.label === 'p2p-pcie') return dev.profile.copyEngines!.setupLatency + (route?.latencyPs ?? 0);
  return copyOverheadPs(dev.profile, bytes, c.from === dev.node ? 'd2h' : 'h2d', bottleneck, route?.latencyPs ?? 0);
}

/**
 * Trace args of one copy-engine chunk: `bytes` from `offset` into copy `c`. An eviction's pages
 * are device pfns, not addresses (and need not be consecutive): it names its first pfn.
 */
function copyArgs(c: PlannedCopy, offset: number, bytes: number, batch: number | undefined): Record<string, number | string> {
  const first = c.first + Math.floor(offset / 4096);
  const args: Record<string, number | string> = c.label === 'evict'
    ? { bytes, from: c.from, to: c.to, pages: Math.ceil(bytes / 4096), first_pfn: `0x${c.first.toString(16)}` }
    : { bytes, from: c.from, to: c.to, range: formatVpnRange(first, Math.ceil(bytes / 4096)) };
  if (batch !== undefined) args.batch = batch;
  return args;
}

/** Maximal runs of consecutive numbers in a sorted list, as [start, end) pairs, at most 512 long. */
export function runs(sorted: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[j - 1] + 1 && j - i < MIGRATE_RUN_MAX) j++;
    out.push([sorted[i], sorted[j - 1] + 1]);
    i = j;
  }
  return out;
}
