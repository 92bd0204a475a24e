// Measure 7: cross-device HMM (issue 12) for two or more instances of a profile.
//
// - read in place vs migrate, per path: dev0 holds N pages (the CPU wrote them, a dev0 kernel
//   pulled them in); a dev1 kernel then reads each page once. "in place": dev1 maps dev0's memory
//   (placement map-remote, prefetching off) and reads over the path; "migrate": dev1 takes the
//   pages device to device (default placement). Paths: two PCIe endpoints under one switch
//   (p2pdma bus address), the same with ACS redirect on the switch ports (through the root
//   complex), and the profile's own peer link (NVLink/XGMI, where it has one). With Linux 7.0's
//   owner rule each pair shares a pagemap owner; the "through RAM" row is the same read with one
//   owner per device (before 7.0): every page comes back to RAM first.
// - populate_mm from a peer, bytes against size, copied by the source's engine
//   (source_peer_migrates) or pulled by the destination's: a `migrate` of N pages from dev0 to
//   dev1 under one switch; GB/s = bytes / (end of the copies − start of the call).
// - contention: n devices under one switch write the same range at once (2 passes each), with
//   drm_gpusvm's -EBUSY and evict-and-retry (migrateLock none) or 7.0's rwsem; the time until every
//   kernel has finished, µs, or n/a when they do not within the window (a livelock).
// Values are µs of the measured kernel (lower is better) or GB/s; every case is deterministic.
import type { Profile } from '../devices/profile/schema.ts';
import type { Process } from '../api/machine.ts';
import { SimMachine } from '../sim/machine.ts';
import type { CrossDeviceOptions } from '../sim/cross-device.ts';
import type { TopologySpecInput } from '../topology/spec.ts';
import { streaming } from '../workloads/streaming.ts';
import { NOTES, alignedRegion, cpuWrite, gbps, hasMemory, isMirror, kernelStep, na, pageLanes, runScript, sig, usOf, type KernelTiming } from './harness.ts';
import type { Cell, MeasureTable, Row } from './types.ts';

/** Sizes of the peers measure. */
export interface PeersConfig {
  /** Pages dev1 reads in the in-place / migrate rows. */
  readonly pages: number;
  /** populate_mm sizes, bytes (multiples of 4 KiB). */
  readonly migrateSizes: readonly number[];
  /** Device counts of the contention rows. */
  readonly contenders: readonly number[];
  /** Pages every contender writes. */
  readonly contentionPages: number;
}

/** Paths of the read rows, in table order. */
export const PEER_PATHS = ['switch', 'root-complex', 'link'] as const;
export type PeerPath = (typeof PEER_PATHS)[number];

const PATH_LABELS: Record<PeerPath, string> = {
  switch: 'PCIe P2P under one switch',
  'root-complex': 'PCIe P2P through the root complex (ACS redirect)',
  link: 'the profile\'s peer link',
};

/** Bound on one case, simulated. */
const LIMIT_PS = 2_000_000_000_000; // 2 s
/** Bound on a contention case, simulated: past it the devices are taken to livelock. */
const CONTENTION_LIMIT_PS = 200_000_000_000; // 200 ms

const PEER_NOTES = {
  notPcie: 'host link is not PCIe: the peers would not sit under a PCIe switch',
  noLink: 'no peer link in the profile (link.peer)',
} as const;

function dev(i: number): string {
  return `dev${i}`;
}

/** `n` instances of the profile under one PCIe switch (ACS redirect on its downstream ports if asked), or on their peer links. */
function topology(p: Profile, n: number, path: PeerPath): TopologySpecInput | undefined {
  if (path === 'link') return undefined; // the default topology joins peers by link.peer
  const pcie = p.link.pcie ?? { gen: 4 as const, width: 16 as const };
  return {
    sockets: [{ id: 'cpu0', memoryBytes: 2 ** 40, memoryBandwidth: 300e9, memoryLatencyPs: 100_000 }],
    rootComplexes: [{ id: 'rc0', socket: 'cpu0', vendorId: 0x8086, deviceId: 0x09a2, rootPorts: [{ id: 'rp0' }] }],
    switches: [{
      id: 'sw0', parent: 'rp0', gen: pcie.gen, width: pcie.width, upstreamPort: { id: 'sw0-up' },
      downstreamPorts: Array.from({ length: n }, (_, i) => ({ id: `dp${i}`, acsRedirect: path === 'root-complex' })),
    }],
    endpoints: Array.from({ length: n }, (_, i) => ({ id: dev(i), parent: `dp${i}`, gen: pcie.gen, width: pcie.width })),
  };
}

function peerMachine(p: Profile, n: number, path: PeerPath, seed: number, cross: Partial<CrossDeviceOptions>, policies?: object[]): SimMachine {
  return new SimMachine({
    seed, data: false, bucketPs: 1_000_000_000_000, maxSpans: 0, crossDevice: cross,
    ...(topology(p, n, path) ? { topology: topology(p, n, path)! } : {}),
    devices: Array.from({ length: n }, (_, i) => ({ name: dev(i), profile: p, policies: policies?.[i] })),
  });
}

/** Why the profile has no peers rows at all, or null. */
export function peersUnavailable(p: Profile): string | null {
  if (!isMirror(p)) return p.driver === 'pinning' ? NOTES.pinning : NOTES.svaInPlace;
  if (!hasMemory(p)) return NOTES.noMemory;
  if (p.fault?.replayable === false) return NOTES.notReplayable;
  return null;
}

function pathUnavailable(p: Profile, path: PeerPath): string | null {
  if (path === 'link') return p.link.peer ? null : PEER_NOTES.noLink;
  return p.link.kind === 'pcie' ? null : PEER_NOTES.notPcie;
}

/** dev1's read of N pages dev0 holds: kernel time, ps, or null when it did not finish. */
export function peerRead(p: Profile, path: PeerPath, mode: 'in-place' | 'migrate', owners: CrossDeviceOptions['owners'], pages: number, seed: number): number | null {
  const reader = mode === 'in-place'
    ? { placement: { policy: 'map-remote', populateOn: 'requester' }, prefetch: { policy: 'prefetch-none' } }
    : { prefetch: { policy: 'prefetch-none' } };
  const m = peerMachine(p, 2, path, seed, { owners }, [{ prefetch: { policy: 'prefetch-none' } }, reader]);
  const proc = m.spawn();
  const base = alignedRegion(proc, pages);
  const k: KernelTiming = { startPs: 0, endPs: -1 };
  const vpns = Array.from({ length: pages }, (_, i) => base + i);
  const ok = runScript(m, [
    () => cpuWrite(m, proc, base, pages),
    kernelStep(m, dev(0), proc, { name: 'hold', lanes: pageLanes(vpns, false), computePs: 1000, accessBytes: 64 }),
    kernelStep(m, dev(1), proc, { ...streaming({ base, pages, lanes: 32, write: false, name: 'read', computePs: 1000 }), accessBytes: 256 }, k),
  ], LIMIT_PS);
  return ok ? k.endPs - k.startPs : null;
}

/** populate_mm of `bytes` from dev0 into dev1 under one switch: GB/s. */
export function peerMigrate(p: Profile, bytes: number, sourcePeerMigrates: boolean, seed: number): number | null {
  const pages = bytes / 4096;
  const m = peerMachine(p, 2, 'switch', seed, { sourcePeerMigrates });
  const proc = m.spawn();
  const base = alignedRegion(proc, pages);
  let t0 = 0, t1 = -1;
  const ok = runScript(m, [
    () => cpuWrite(m, proc, base, pages),
    () => m.migrateRange(dev(0), proc, base, pages),
    () => {
      t0 = m.engine.now;
      const a = m.migrateRange(dev(1), proc, base, pages);
      a.onDone((t) => (t1 = t));
      return a;
    },
  ], LIMIT_PS);
  return ok && t1 > t0 ? gbps(bytes, t1 - t0) : null;
}

/** `n` devices under one switch writing the same range at once: time until all finish, ps, or null. */
export function contention(p: Profile, n: number, migrateLock: CrossDeviceOptions['migrateLock'], pages: number, seed: number): number | null {
  const m = peerMachine(p, n, 'switch', seed, { migrateLock });
  const proc: Process = m.spawn();
  const base = alignedRegion(proc, pages);
  let left = n, end = -1;
  const ok = runScript(m, [
    () => cpuWrite(m, proc, base, pages),
    () => {
      const t0 = m.engine.now;
      for (let i = 0; i < n; i++) {
        m.launch(dev(i), proc, { ...streaming({ base, pages, lanes: 16, write: 'rw', passes: 2, name: `w${i}`, computePs: 1000 }), accessBytes: 64 })
          .onDone((t) => {
            if (--left === 0) end = t - t0;
          });
      }
    },
  ], CONTENTION_LIMIT_PS);
  return ok && end >= 0 ? end : null;
}

/** Measure 7 over `profiles`. */
export function peersMeasure(profiles: readonly Profile[], cfg: PeersConfig, seed: number): MeasureTable {
  const rows: Row[] = [];
  const cells = (f: (p: Profile) => Cell): Record<string, Cell> => Object.fromEntries(profiles.map((p) => {
    const why = peersUnavailable(p);
    return [p.name, why !== null ? na(why) : f(p)];
  }));
  const us = (ps: number | null, note: string): Cell => (ps === null ? na(note) : { value: usOf(ps) });
  for (const path of PEER_PATHS) {
    for (const mode of ['in-place', 'migrate'] as const) {
      rows.push({
        key: `peers.read.${path}.${mode}`,
        label: `dev1 reads dev0's pages ${mode === 'in-place' ? 'in place' : 'by migrating them'} over ${PATH_LABELS[path]}`,
        unit: 'us', params: { path, mode, pages: cfg.pages },
        cells: cells((p) => {
          const why = pathUnavailable(p, path);
          return why !== null ? na(why) : us(peerRead(p, path, mode, 'interconnect', cfg.pages, seed), 'did not finish within 2 s');
        }),
      });
    }
  }
  rows.push({
    key: 'peers.read.through-ram',
    label: 'dev1 reads dev0\'s pages with one pagemap owner per device (before 7.0): through RAM',
    unit: 'us', params: { path: 'switch', mode: 'through-ram', pages: cfg.pages },
    cells: cells((p) => {
      const why = pathUnavailable(p, 'switch');
      return why !== null ? na(why) : us(peerRead(p, 'switch', 'migrate', 'device', cfg.pages, seed), 'did not finish within 2 s');
    }),
  });
  for (const bytes of cfg.migrateSizes) {
    for (const source of [true, false]) {
      rows.push({
        key: `peers.migrate.${bytes}.${source ? 'source' : 'destination'}`,
        label: `populate_mm of ${bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : `${bytes / 1024} KiB`} from a peer, copied by the ${source ? 'source' : 'destination'}`,
        unit: 'GB/s', params: { bytes, copiedBy: source ? 'source' : 'destination' },
        cells: cells((p) => {
          const why = pathUnavailable(p, 'switch');
          if (why !== null) return na(why);
          const v = peerMigrate(p, bytes, source, seed);
          return v === null ? na('did not finish within 2 s') : { value: sig(v) };
        }),
      });
    }
  }
  for (const n of cfg.contenders) {
    for (const lock of ['none', 'rwsem'] as const) {
      rows.push({
        key: `peers.contention.${n}.${lock}`,
        label: `${n} devices write one range at once, ${lock === 'none' ? 'evict and retry on -EBUSY' : 'with the driver-wide rwsem'}`,
        unit: 'us', params: { devices: n, migrateLock: lock, pages: cfg.contentionPages },
        cells: cells((p) => {
          const why = pathUnavailable(p, 'switch');
          return why !== null ? na(why) : us(contention(p, n, lock, cfg.contentionPages, seed), `did not finish within ${CONTENTION_LIMIT_PS / 1e9} ms: the devices take the range from each other (livelock)`);
        }),
      });
    }
  }
  return {
    id: 'peers',
    title: `Cross-device HMM (${cfg.pages} pages read; populate_mm sizes; ${cfg.contenders.join('/')} contending devices)`,
    meaning: 'peer reads: time of the reading kernel, µs (lower is better); populate_mm: GB/s (higher is better); contention: time until every writer has finished, µs',
    rows,
  };
}
