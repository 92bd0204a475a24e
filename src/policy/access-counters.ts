// Access-counter-driven migration (NVIDIA UVM, anchors-uvm.md §b.4, `uvm_gpu_access_counters.c`).
//
// Each GPU counts its REMOTE accesses (to memory not resident in its own device memory) per 2 MiB
// region. When a region's counter reaches the threshold (256) the GPU raises a notification; the
// counter is then cleared. A notification carries a 32-bit sub-region mask: the region is split
// into 32 sub-regions (64 KiB each for 2 MiB) and a bit is set for each sub-region accessed. UVM
// services the notification by migrating the accessed sub-regions to the GPU (when access-counter
// migration is enabled; by default only on ATS systems, §b.4).
//
// Only devices have access counters: CPU accesses (deviceId −1) are never counted. Local accesses
// (page resident on the accessing device) and accesses to unpopulated pages (those fault
// instead) are not counted either.

import {
  BLOCK_PAGES,
  CPU,
  checkProcessor,
  checkVpn,
  NO_DECISION,
  type AccessEvent,
  type Decision,
  type ProcessorId,
} from './types.ts';

/** Parameters of access-counter migration. */
export interface AccessCounterParams {
  /** Remote accesses per region that trigger a notification: 1–65535. */
  readonly threshold: number;
  /** Pages per tracked region (512 = 2 MiB). */
  readonly regionPages: number;
  /** Sub-regions per region reported in a notification (32); must divide regionPages. */
  readonly subRegions: number;
}

/**
 * UVM defaults (anchors-uvm.md §b.4): `uvm_perf_access_counter_threshold` = 256, granularity
 * 2 MiB, 32 sub-regions of 64 KiB.
 */
export const ACCESS_COUNTER_DEFAULTS: AccessCounterParams = Object.freeze({
  threshold: 256,
  regionPages: BLOCK_PAGES,
  subRegions: 32,
});

/** Counter of one (device, region): accesses since the last notification and sub-regions hit. */
export interface RegionCounter {
  /** Remote accesses counted, 0 < count < threshold. */
  readonly count: number;
  /** Indexes of the sub-regions accessed (ascending, duplicate-free). */
  readonly subRegions: readonly number[];
}

/**
 * All counters: device id → region index (floor(vpn / regionPages)) → counter. Immutable; a
 * counter at zero is absent.
 */
export interface AccessCounterState {
  readonly devices: ReadonlyMap<ProcessorId, ReadonlyMap<number, RegionCounter>>;
}

/** No accesses counted. */
export const EMPTY_ACCESS_COUNTERS: AccessCounterState = Object.freeze({ devices: new Map() });

function checkParams(p: AccessCounterParams): void {
  if (!Number.isInteger(p.threshold) || p.threshold < 1 || p.threshold > 65535) {
    throw new RangeError(`access counters: threshold must be an integer in [1, 65535], got ${p.threshold}`);
  }
  if (!Number.isInteger(p.regionPages) || p.regionPages < 1) {
    throw new RangeError(`access counters: regionPages must be a positive integer, got ${p.regionPages}`);
  }
  if (!Number.isInteger(p.subRegions) || p.subRegions < 1 || p.regionPages % p.subRegions !== 0) {
    throw new RangeError(`access counters: subRegions must divide regionPages, got ${p.subRegions}`);
  }
}

/** The counter of `device` for the region holding `vpn` (undefined = zero). */
export function regionCounter(
  state: AccessCounterState,
  device: ProcessorId,
  vpn: number,
  params: AccessCounterParams = ACCESS_COUNTER_DEFAULTS,
): RegionCounter | undefined {
  return state.devices.get(device)?.get(Math.floor(vpn / params.regionPages));
}

/** Result of counting one access: the new state and `none` or `migrate`. */
export interface AccessCounterResult {
  readonly state: AccessCounterState;
  readonly decision: Decision;
}

/**
 * Counts one access by `ev.deviceId` to `ev.vpn`, resident at `residency`.
 *
 * @returns unchanged state and `none` for uncounted accesses (CPU, local, unpopulated); else the
 *   incremented counter and `none`, or — when the count reaches the threshold — a cleared counter
 *   and `migrate` of every page of the accessed sub-regions to the device (ascending VPNs; the
 *   caller skips pages already resident there).
 */
export function recordAccess(
  state: AccessCounterState,
  ev: AccessEvent,
  residency: ProcessorId | null,
  params: AccessCounterParams = ACCESS_COUNTER_DEFAULTS,
): AccessCounterResult {
  checkParams(params);
  checkVpn(ev.vpn);
  const dev = checkProcessor(ev.deviceId, 'deviceId');
  if (residency !== null) checkProcessor(residency, 'residency');
  if (dev === CPU || residency === null || residency === dev) return { state, decision: NO_DECISION };

  const region = Math.floor(ev.vpn / params.regionPages);
  const subPages = params.regionPages / params.subRegions;
  const sub = Math.floor((ev.vpn - region * params.regionPages) / subPages);
  const regions = new Map(state.devices.get(dev) ?? []);
  const old = regions.get(region) ?? { count: 0, subRegions: [] };
  const subRegions = old.subRegions.includes(sub) ? old.subRegions : [...old.subRegions, sub].sort((a, b) => a - b);
  const count = old.count + 1;

  let decision: Decision = NO_DECISION;
  if (count >= params.threshold) {
    regions.delete(region);
    const vpns: number[] = [];
    for (const s of subRegions) {
      const first = region * params.regionPages + s * subPages;
      for (let i = 0; i < subPages; i++) vpns.push(first + i);
    }
    decision = { kind: 'migrate', target: dev, vpns };
  } else {
    regions.set(region, { count, subRegions });
  }
  const devices = new Map(state.devices);
  if (regions.size === 0) devices.delete(dev);
  else devices.set(dev, regions);
  return { state: { devices }, decision };
}
