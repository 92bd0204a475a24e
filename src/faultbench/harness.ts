// Shared machinery of the faultbench measures: machines of one or two instances of a profile,
// profile variants (batch size, memory size, no peer link), lane builders, and a step script
// that runs activities one after another with a bound on simulated time, so a pathological
// case (a livelock in the model, a fault storm) ends as "did not finish" instead of hanging.
import type { CrossDeviceOptions } from '../sim/cross-device.ts';
import { faultOf, type Profile } from '../devices/profile/schema.ts';
import type { Process } from '../api/machine.ts';
import { SimMachine, type DeviceConfig } from '../sim/machine.ts';
import type { TimedDevice } from '../sim/device.ts';
import { HmmMirrorDevice } from '../sim/drivers/mirror.ts';
import { SvaDevice } from '../sim/drivers/sva.ts';
import { encodeAccess, type KernelSpec, type LaneProgram } from '../sim/program.ts';
import type { Cell } from './types.ts';
import { LogHistogram, type HistogramJson } from '../units/histogram.ts';

/** Pages of one 2 MiB VA block. */
export const BLOCK_PAGES = 512;
/** Name of the measured device; `PEER` is the second instance of the same profile. */
export const DEV = 'dev0';
export const PEER = 'dev1';

/** Reasons a profile cannot do a case (footnotes of "n/a" cells). */
export const NOTES = {
  pinning: 'pinning driver: pages are pinned (and copied) before a kernel starts, so the device never takes a page fault',
  noMemory: 'no device memory: the device works on host memory in place, nothing migrates to it',
  svaInPlace: 'SVA works on host memory in place: a present system page needs no fault and nothing migrates',
  noPeerLink: 'no peer link in the profile (link.peer): a peer is in another address-space group, see the through-RAM row',
  noMirror: 'no mirror: the pinning driver pins per kernel and registers no MMU notifier, so CPU-side changes never reach the device',
  notReplayable: 'no replayable faults (XNACK off): the driver maps whole ranges where they reside when a queue starts, so nothing faults or migrates',
  noPri: 'profile has no PRI cost (fault.priCost): the SVA driver kind would need an invented number',
  noCopyEngines: 'profile has no copy engines or device memory: the mirror driver kind cannot run on it',
} as const;

/** An n/a cell with its reason. */
export function na(note: string): Cell {
  return { value: null, note };
}

/** True if the profile's driver mirrors CPU page tables and migrates (HMM mirror). */
export function isMirror(p: Profile): boolean {
  return p.driver === 'hmm-mirror';
}

/** True if the device has a memory pool pages can live in. */
export function hasMemory(p: Profile): boolean {
  return p.memory.capacity >= p.memory.chunkSize;
}

/** The profile with a fault batch of `batchSize` (the buffer grows to hold at least one batch). */
export function withBatch(p: Profile, batchSize: number): Profile {
  const f = faultOf(p);
  return { ...p, fault: { ...f, batchSize, bufferCapacity: Math.max(f.bufferCapacity!, batchSize) } };
}

/** The profile with its fault buffer at least `entries` long. */
export function withBuffer(p: Profile, entries: number): Profile {
  const f = faultOf(p);
  return { ...p, fault: { ...f, bufferCapacity: Math.max(f.bufferCapacity!, entries) } };
}

/** The profile with coalescing of duplicate faults on or off. */
export function withCoalescing(p: Profile, on: boolean): Profile {
  return { ...p, fault: { ...faultOf(p), coalesceDuplicates: on } };
}

/** The profile with `bytes` of device memory. */
export function withCapacity(p: Profile, bytes: number): Profile {
  return { ...p, memory: { ...p.memory, capacity: bytes as Profile['memory']['capacity'] } };
}

/** The profile without its peer link: two instances land in different address-space groups. */
export function withoutPeer(p: Profile): Profile {
  const { peer: _peer, ...link } = p.link;
  return { ...p, link };
}

/** True if the default topology joins two instances of `p` in one address-space group (NVLink/XGMI peer link). */
export function hasGroupPeerLink(p: Profile): boolean {
  return p.link.peer?.kind === 'nvlink' || p.link.peer?.kind === 'xgmi';
}

/** A machine with one instance of `p` (or two: DEV and PEER) in no-data mode (same timing, less memory). */
export function machine(p: Profile, seed: number, opts: { policies?: object; peer?: boolean; peerProfile?: Profile; numaNodes?: number; crossDevice?: Partial<CrossDeviceOptions> } = {}): SimMachine {
  const devices: DeviceConfig[] = [{ name: DEV, profile: p, policies: opts.policies }];
  if (opts.peer) devices.push({ name: PEER, profile: opts.peerProfile ?? p, policies: opts.policies });
  // No timeline or spans are read: one bucket per simulated second and no spans keep the
  // bookkeeping negligible even when a run is bounded far in the future.
  // The measures' peer rows compare a peer joined by a link with one in another owner group
  // (through RAM): owners formed from NVLink/XGMI links, as before Linux 7.0. The peers measure
  // (peers.ts) compares 7.0's owner groups per path explicitly.
  return new SimMachine({ seed, data: false, devices, bucketPs: 1_000_000_000_000, maxSpans: 0, numaNodes: opts.numaNodes, crossDevice: opts.crossDevice ?? { owners: 'links' } });
}

/** First page of a new `pages`-page region that starts on a 2 MiB boundary. */
export function alignedRegion(p: Process, pages: number, kind: 'anon' | 'thp' = 'anon'): number {
  if (kind === 'thp') return p.mmap(pages, 'thp', 'rw');
  const raw = p.mmap(pages + BLOCK_PAGES, 'anon', 'rw');
  return Math.ceil(raw / BLOCK_PAGES) * BLOCK_PAGES;
}

/** A lane over a fixed list of pages, in order. */
export function listLane(vpns: readonly number[], write: boolean): LaneProgram {
  let i = 0;
  return { next: () => (i < vpns.length ? encodeAccess(vpns[i++], write) : -1) };
}

/** One lane per page, each touching its page once. */
export function pageLanes(vpns: readonly number[], write: boolean): LaneProgram[] {
  return vpns.map((v) => listLane([v], write));
}

/**
 * `lanes` lanes; lane i touches `perLane` consecutive pages starting at
 * base + floor(i / share) × perLane, so `share` lanes fault on every page.
 */
export function groupLanes(base: number, lanes: number, perLane: number, write: boolean, share = 1): LaneProgram[] {
  return Array.from({ length: lanes }, (_, i) => {
    const first = base + Math.floor(i / share) * perLane;
    let j = 0;
    return { next: () => (j < perLane ? encodeAccess(first + j++, write) : -1) };
  });
}

/** A CPU phase that writes every page of [base, base+pages) once (one thread). */
export function cpuWrite(m: SimMachine, p: Process, base: number, pages: number, name = 'cpu-init'): Activity {
  const vpns: number[] = [];
  for (let i = 0; i < pages; i++) vpns.push(base + i);
  return m.cpuPhase(p, { name, threads: [listLane(vpns, true)], computePs: 0, accessBytes: 4096 });
}

/** Something that ends: a kernel or a CPU phase. */
export interface Activity {
  onDone(cb: (t: number) => void): void;
}
/** One step of a script: start an activity (the next step starts when it ends) or do something at once. */
export type Step = () => Activity | void;

/** Launch → end of one kernel, ps (end −1 while it runs). */
export interface KernelTiming {
  startPs: number;
  endPs: number;
}

/** A step that launches `spec` on `device` and records its timing into `into`. */
export function kernelStep(m: SimMachine, device: string, p: Process, spec: KernelSpec, into?: KernelTiming): Step {
  return () => {
    if (into) {
      into.startPs = m.engine.now;
      into.endPs = -1;
    }
    const a = m.launch(device, p, spec);
    if (into) a.onDone((t) => (into.endPs = t));
    return a;
  };
}

/**
 * Runs `steps` one after another from the current time, for at most `limitPs` of simulated
 * time. Returns whether the last step ended within the limit.
 */
export function runScript(m: SimMachine, steps: readonly Step[], limitPs: number): boolean {
  let finished = false;
  const go = (i: number): void => {
    for (; i < steps.length; i++) {
      const a = steps[i]();
      if (a) {
        a.onDone(() => go(i + 1));
        return;
      }
    }
    finished = true;
  };
  const start = m.engine.now;
  m.at(start, () => go(0));
  m.run(start + limitPs);
  return finished;
}

/** Fault latencies (raise → replay, ps) a device recorded so far, as a histogram; empty for the pinning driver. */
export function latenciesOf(d: TimedDevice): HistogramJson {
  return (d instanceof HmmMirrorDevice || d instanceof SvaDevice ? d.latencies : new LogHistogram()).toJSON();
}

/** Bytes/s as GB/s (10^9), the unit link bandwidths are quoted in. */
export function gbps(bytes: number, ps: number): number {
  return ps > 0 ? bytes / ps * 1e3 : 0;
}

/** Rounds to `digits` significant digits (tables and JSON stay short and stable). */
export function sig(v: number, digits = 4): number {
  if (!Number.isFinite(v) || v === 0) return v;
  return Number(v.toPrecision(digits));
}

/** ps → µs with 4 significant digits. */
export function usOf(ps: number): number {
  return sig(ps / 1e6);
}
