// Measure 1: single-fault latency. One device access that faults, on a machine where nothing
// else happens, in five situations: an untouched page (zero fill on the device), a page in
// system memory (one 4 KiB migration), a page resident on a second instance of the profile
// (over the peer link when the profile has one, and through system RAM), and a write to a page
// the device maps read-only (a COW page after fork). The number is the time the lane waits:
// fault raised → replay (the device's stall time), in µs.
import type { Profile } from '../devices/profile/schema.ts';
import type { Process } from '../api/machine.ts';
import {
  DEV, NOTES, PEER, alignedRegion, cpuWrite, hasGroupPeerLink, hasMemory, isMirror, kernelStep, machine, na, pageLanes,
  runScript, usOf, withoutPeer, type Step,
} from './harness.ts';
import type { Cell, MeasureTable, Row } from './types.ts';

/** The single-fault cases, in table order. */
export const LATENCY_CASES = ['zero-fill', 'system', 'peer-p2p', 'peer-ram', 'read-only-write'] as const;
export type LatencyCase = (typeof LATENCY_CASES)[number];

const LABELS: Record<LatencyCase, string> = {
  'zero-fill': 'untouched page (zero fill)',
  system: 'page in system memory (migrate 4 KiB)',
  'peer-p2p': 'page on a peer device, peer link (P2P)',
  'peer-ram': 'page on a peer device, through system RAM',
  'read-only-write': 'write to a read-only page (COW after fork)',
};

/** Simulated-time bound of one case: far above any single fault, low enough to end a livelock fast. */
const LIMIT_PS = 50_000_000_000; // 50 ms

/** Result of one case: the lane's wait (ps) and the faults it took, or why there is no number. */
export interface SingleFault {
  cell: Cell;
  /** Stall of the measuring lane, ps (null when n/a). */
  stallPs: number | null;
  /** Fault entries the measured access raised (1 unless it had to fault again). */
  faults: number;
}

/**
 * One single-fault case on `profile`. Mirror devices run without prefetching (one page, one
 * fault); the read-only case maps pages where they are (map-remote), so the device holds a
 * read-only mapping of the COW page its write then faults on.
 */
export function singleFault(profile: Profile, kase: LatencyCase, seed: number): SingleFault {
  const none = (note: string): SingleFault => ({ cell: na(note), stallPs: null, faults: 0 });
  if (profile.driver === 'pinning') return none(NOTES.pinning);
  if (isMirror(profile) && profile.fault?.replayable === false) return none(NOTES.notReplayable);
  const sva = profile.driver === 'sva';
  if (sva && (kase === 'system' || kase === 'peer-p2p' || kase === 'peer-ram')) return none(kase === 'system' ? NOTES.svaInPlace : NOTES.noMemory);
  if (isMirror(profile) && !hasMemory(profile) && kase !== 'zero-fill' && kase !== 'read-only-write') return none(NOTES.noMemory);
  if (kase === 'peer-p2p' && !hasGroupPeerLink(profile)) return none(NOTES.noPeerLink);

  const prof = kase === 'peer-ram' ? withoutPeer(profile) : profile;
  const policies = sva ? undefined : {
    prefetch: { policy: 'prefetch-none' },
    ...(kase === 'read-only-write' ? { placement: { policy: 'map-remote', populateOn: 'system' } } : {}),
  };
  const peer = kase === 'peer-p2p' || kase === 'peer-ram';
  const m = machine(prof, seed, { policies, peer });
  const p = m.spawn();
  const base = alignedRegion(p, 1);
  const v = base;
  const steps: Step[] = [];
  if (kase === 'system' || kase === 'read-only-write') steps.push(() => cpuWrite(m, p, v, 1));
  if (peer) steps.push(kernelStep(m, PEER, p, { name: 'peer-touch', lanes: pageLanes([v], true), computePs: 0, accessBytes: 64 }));
  let child: Process | null = null;
  if (kase === 'read-only-write') {
    steps.push(() => {
      child = p.fork();
    });
    // The device maps the (now write-protected) page read-only first.
    steps.push(kernelStep(m, DEV, p, { name: 'read', lanes: pageLanes([v], false), computePs: 0, accessBytes: 64 }));
  }
  const d = m.device(DEV);
  let stall0 = 0, raised0 = 0, in0 = 0;
  steps.push(() => {
    stall0 = d.metrics.time.stall;
    raised0 = d.metrics.faults.raised;
    in0 = d.metrics.pagesIn;
  });
  steps.push(kernelStep(m, DEV, p, { name: 'measure', lanes: pageLanes([v], kase === 'read-only-write'), computePs: 0, accessBytes: 64 }));
  const finished = runScript(m, steps, LIMIT_PS);
  void child;
  const stall = d.metrics.time.stall - stall0;
  const faults = d.metrics.faults.raised - raised0;
  if (!finished) return { cell: { value: null, note: `did not finish within ${LIMIT_PS / 1e9} ms of simulated time (${faults} faults raised): the model livelocks here` }, stallPs: null, faults };
  const cell: Cell = { value: usOf(stall) };
  if (faults !== 1) cell.note = `the access took ${faults} faults; the value is their total wait`;
  else if ((kase === 'system' || peer) && d.metrics.pagesIn === in0) cell.note = 'nothing migrated: the device mapped the page where it is (coherent memory)';
  return { cell, stallPs: stall, faults };
}

/** Measure 1 over `profiles`: a row per case, µs. */
export function latencyMeasure(profiles: readonly Profile[], seed: number): MeasureTable {
  const rows: Row[] = LATENCY_CASES.map((kase) => ({
    key: `latency.${kase}`,
    label: LABELS[kase],
    unit: 'us',
    params: { case: kase },
    cells: Object.fromEntries(profiles.map((p) => [p.name, singleFault(p, kase, seed).cell])),
  }));
  return {
    id: 'latency',
    title: 'Single-fault latency',
    meaning: 'time one device access waits for its fault: raised to replayed, µs (lower is better)',
    rows,
  };
}
