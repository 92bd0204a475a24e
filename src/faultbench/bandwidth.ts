// Measure 3: migration bandwidth against transfer size, per direction and path.
//
// - host → device: a fault-driven migration. The CPU writes N pages; one lane per page faults on
//   them, all in one batch (fault.batchSize raised to N), prefetching off, so the driver moves
//   exactly N pages in one migrate_vma per block and one merged copy split at the copy engines'
//   chunk size (the setup of test/sim/fidelity.test.ts).
// - peer → device over the peer link: the same, with the pages first made resident on a second
//   instance of the profile; only profiles whose peer link joins the two in one address-space
//   group (NVLink, XGMI) have this path.
// - peer → device through system RAM: the same on two instances without a peer link: the peer's
//   driver brings each page back (migrate_to_ram, one page at a time) and the host→device copy
//   follows, as Linux does between pagemap owners.
// - device → host: the model has no fault-driven device→host migration of a chosen size (CPU
//   faults bring single pages back, evictions move whole chunks), so this row measures the copy
//   path those use: copies of the size, split at the chunk size, on the device's copy engines
//   over the routed link, exactly as the driver issues them.
//
// The number is bytes / migration time, GB/s (10^9 B/s). Migration time of a fault-driven batch
// = batch time − fixed service cost − device mapping time (it includes the peer's migrate_to_ram
// work on the through-RAM path).
import { faultOf, type Profile } from '../devices/profile/schema.ts';
import { copyOverheadPs } from '../devices/transfers.ts';
import { HmmMirrorDevice } from '../sim/drivers/mirror.ts';
import {
  BLOCK_PAGES, DEV, NOTES, PEER, alignedRegion, cpuWrite, gbps, hasGroupPeerLink, hasMemory, kernelStep, machine, na, pageLanes,
  runScript, sig, withBatch, withoutPeer, type Step,
} from './harness.ts';
import type { Cell, MeasureTable, Row } from './types.ts';

/** Directions / paths of the bandwidth rows, in table order. */
export const BANDWIDTH_PATHS = ['h2d', 'd2h', 'peer-link', 'peer-ram'] as const;
export type BandwidthPath = (typeof BANDWIDTH_PATHS)[number];

const LABELS: Record<BandwidthPath, string> = {
  h2d: 'host→device (fault-driven)',
  d2h: 'device→host (copy path)',
  'peer-link': 'peer→device over the peer link (fault-driven)',
  'peer-ram': 'peer→device through system RAM (fault-driven)',
};

/** Sizes of the published PCIe 3 points (anchors-uvm.md c.3) and the default sweep, bytes. */
export const DEFAULT_SIZES = [4096, 16384, 65536, 262144, 1 << 20, 2 << 20, 8 << 20, 64 << 20] as const;

/** Bound on one migration's simulated time (the through-RAM path at 64 MiB takes ~0.8 s). */
const LIMIT_PS = 10_000_000_000_000; // 10 s

/** One migration: its size, how long it took and what moved. */
export interface Migration {
  bytes: number;
  /** Migration time, ps. */
  timePs: number;
  /** GB/s. */
  gbps: number;
  /** Copies issued and bytes they moved (fault-driven paths: the batch record's num_transfers/transfer_size). */
  transfers: number;
  transferBytes: number;
}

/** Why `profile` has no `path` row, or null if it has one. */
export function bandwidthUnavailable(profile: Profile, path: BandwidthPath): string | null {
  if (profile.driver === 'pinning') return NOTES.pinning;
  if (profile.driver === 'sva' || !hasMemory(profile)) return NOTES.noMemory;
  if (profile.fault?.replayable === false && path !== 'd2h') return NOTES.notReplayable;
  if (path === 'peer-link' && !hasGroupPeerLink(profile)) return NOTES.noPeerLink;
  return null;
}

/** Migrates `bytes` (a multiple of 4 KiB) along `path` on `profile`; throws if the profile has no such path. */
export function migrate(profile: Profile, path: BandwidthPath, bytes: number, seed: number): Migration {
  const why = bandwidthUnavailable(profile, path);
  if (why) throw new RangeError(`${profile.name}: no ${path} migration: ${why}`);
  if (bytes % 4096 !== 0 || bytes <= 0) throw new RangeError(`migration size must be a positive multiple of 4 KiB, got ${bytes}`);
  return path === 'd2h' ? copyPath(profile, bytes, seed) : faultDriven(profile, path, bytes, seed);
}

function faultDriven(profile: Profile, path: Exclude<BandwidthPath, 'd2h'>, bytes: number, seed: number): Migration {
  const pages = bytes / 4096;
  const base0 = path === 'peer-ram' ? withoutPeer(profile) : profile;
  const prof = withBatch(base0, Math.max(pages, faultOf(base0).batchSize!));
  const peer = path !== 'h2d';
  const m = machine(prof, seed, { peer, policies: { prefetch: { policy: 'prefetch-none' } } });
  const p = m.spawn();
  const base = alignedRegion(p, Math.ceil(pages / BLOCK_PAGES) * BLOCK_PAGES);
  const vpns = Array.from({ length: pages }, (_, i) => base + i);
  const steps: Step[] = [];
  if (path === 'h2d') steps.push(() => cpuWrite(m, p, base, pages));
  else steps.push(kernelStep(m, PEER, p, { name: 'peer-fill', lanes: pageLanes(vpns, true), computePs: 0, accessBytes: 64 }));
  const d = m.device(DEV) as HmmMirrorDevice;
  let first = 0;
  steps.push(() => {
    first = d.records.kept.length;
  });
  steps.push(kernelStep(m, DEV, p, { name: 'migrate', lanes: pageLanes(vpns, false), computePs: 0, accessBytes: 64 }));
  if (!runScript(m, steps, LIMIT_PS)) throw new Error(`${profile.name}: ${path} migration of ${bytes} B did not finish`);
  const recs = d.records.kept.slice(first);
  // ns fields; time − service − map = (peer work waited for) + copies.
  const timeNs = recs.reduce((s, r) => s + r.time - r.service - r.map, 0);
  const transfers = recs.reduce((s, r) => s + r.num_transfers, 0);
  const transferBytes = recs.reduce((s, r) => s + r.transfer_size, 0);
  return { bytes, timePs: timeNs * 1000, gbps: gbps(bytes, timeNs * 1000), transfers, transferBytes };
}

/** A device→host copy of `bytes` as the mirror driver issues it: chunked, on its copy engines. */
function copyPath(profile: Profile, bytes: number, seed: number): Migration {
  const m = machine(profile, seed);
  const d = m.device(DEV) as HmmMirrorDevice;
  const ce = profile.copyEngines!;
  const route = m.route(d.node, m.hostNode);
  const bottleneck = Math.min(route ? route.bandwidth : Infinity, ce.bandwidth ?? Infinity);
  let pending = 0, end = 0, transfers = 0;
  m.at(0, () => {
    for (let left = bytes; left > 0; left -= ce.chunkSize) {
      const n = Math.min(ce.chunkSize, left);
      pending++;
      transfers++;
      d.ce.submit({
        bytes: n, path: route?.segments ?? [], label: 'd2h',
        overheadPs: copyOverheadPs(profile, n, 'd2h', bottleneck, route?.latencyPs ?? 0),
        onDone: (t) => {
          end = Math.max(end, t);
          pending--;
        },
      });
    }
  });
  m.run(LIMIT_PS);
  if (pending !== 0) throw new Error(`${profile.name}: d2h copy of ${bytes} B did not finish`);
  return { bytes, timePs: end, gbps: gbps(bytes, end), transfers, transferBytes: bytes };
}

/** The table cell of a migration: n/a when the driver did not copy every byte (it mapped pages in place). */
export function cellOf(r: Migration): Cell {
  if (r.transferBytes < r.bytes) {
    return na(r.transferBytes === 0
      ? 'nothing migrated: the device maps the peer\'s coherent memory in place instead of copying it'
      : `only ${r.transferBytes} of ${r.bytes} bytes were copied; the rest was mapped in place`);
  }
  return { value: sig(r.gbps) };
}

/** Human size: 4 KiB, 2 MiB. */
export function sizeLabel(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : `${bytes / 1024} KiB`;
}

/** Measure 3 over `profiles` and `sizes` (bytes, multiples of 4 KiB). */
export function bandwidthMeasure(profiles: readonly Profile[], sizes: readonly number[], seed: number): MeasureTable {
  const rows: Row[] = [];
  for (const path of BANDWIDTH_PATHS) {
    for (const bytes of sizes) {
      const cells: Record<string, Cell> = {};
      for (const p of profiles) {
        const why = bandwidthUnavailable(p, path);
        cells[p.name] = why ? na(why) : cellOf(migrate(p, path, bytes, seed));
      }
      rows.push({ key: `bandwidth.${path}.${bytes}`, label: `${LABELS[path]}, ${sizeLabel(bytes)}`, unit: 'GB/s', params: { path, bytes }, cells });
    }
  }
  return {
    id: 'bandwidth',
    title: 'Migration bandwidth against transfer size',
    meaning: 'bytes moved / migration time, GB/s (10^9 B/s; higher is better)',
    rows,
  };
}
