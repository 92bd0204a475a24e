// Measure 4: invalidation cost. A 2 MiB range the CPU wrote is mirrored by the device (a kernel
// reads all of it; mirror devices map the pages where they are, in system memory, as an SVM
// device does, so no migration hides the invalidation). Then one CPU-side event happens and
// the same kernel runs again. Compared with the same two kernels without the event:
//   stall  = how much longer the second kernel takes: the shootdown the device is charged
//            (TimedDevice.blockedUntil) plus servicing the faults it takes afterwards, i.e. the
//            time until the device runs as before;
//   faults = extra fault entries the second kernel raised;
//   shootdown = device time charged to TLB invalidations (metrics.time.invalidation).
// Events: fork (COW write-protect of the range), mprotect(PROT_READ) of the range, munmap of
// half of it (the kernel then reads the other half; the VMA split inside the 2 MiB block
// invalidates the whole block, as 6.1's vma_adjust_trans_huge does), MADV_DONTNEED of 64
// pages, the same MADV_DONTNEED inside a THP (which splits the PMD first, invalidating the
// whole 2 MiB), MADV_COLLAPSE of the range (PTE-mapped small pages, as khugepaged would find
// them, copied into one THP: one MMU_NOTIFY_CLEAR over the 2 MiB, modelled from 6.1's
// collapse_huge_page), and NUMA migration of a mirrored page: move_pages(2) of one page of the
// range to the second socket of a two-socket host (each mapping invalidated with
// MMU_NOTIFY_CLEAR; afterwards the device reaches that page over the inter-socket link).
// fork, the THP split, the THP collapse and the NUMA migration are the "SVM pain points" the
// upstream discussion names: CPU-side mm work a shared-virtual-memory device pays for.
import type { Profile } from '../devices/profile/schema.ts';
import type { Process } from '../api/machine.ts';
import { streaming } from '../workloads/streaming.ts';
import { BLOCK_PAGES, DEV, NOTES, alignedRegion, cpuWrite, kernelStep, machine, na, runScript, sig, usOf, type KernelTiming, type Step } from './harness.ts';
import type { Cell, MeasureTable, Row } from './types.ts';

/** CPU-side events, in table order. */
export const INVALIDATION_EVENTS = ['fork', 'mprotect', 'munmap', 'dontneed', 'thp-split', 'thp-collapse', 'numa'] as const;
export type InvalidationEvent = (typeof INVALIDATION_EVENTS)[number];

/** The events that are SVM pain points (fork, THP split and collapse, NUMA migration), in table order. */
export const SVM_PAIN_POINTS = ['fork', 'thp-split', 'thp-collapse', 'numa'] as const satisfies readonly InvalidationEvent[];

/** Whether `event` is one of the SVM pain points. */
export function isPainPoint(event: InvalidationEvent): boolean {
  return (SVM_PAIN_POINTS as readonly string[]).includes(event);
}

const LABELS: Record<InvalidationEvent, string> = {
  fork: 'fork (COW write-protect)',
  mprotect: 'mprotect(PROT_READ)',
  munmap: 'munmap of half the range',
  dontneed: 'MADV_DONTNEED of 64 pages',
  'thp-split': 'THP split (MADV_DONTNEED of 64 pages in a THP)',
  'thp-collapse': 'THP collapse (MADV_COLLAPSE of the range)',
  numa: 'NUMA migration of a mirrored page (move_pages to node 1)',
};

/** Short names of the events, for chart categories. */
export const EVENT_SHORT: Record<InvalidationEvent, string> = {
  fork: 'fork', mprotect: 'mprotect', munmap: 'munmap', dontneed: 'madvise DONTNEED',
  'thp-split': 'THP split', 'thp-collapse': 'THP collapse', numa: 'NUMA migration',
};

/** Pages in the mirrored range (one 2 MiB block) and lanes of the kernel. */
const RANGE_PAGES = BLOCK_PAGES;
const LANES = 32;
/** Pages the MADV_DONTNEED events drop. */
const DROP_PAGES = 64;
const LIMIT_PS = 1_000_000_000_000; // 1 s

/** What one event cost the device. */
export interface InvalidationCost {
  /** Second-kernel time with the event minus without, ps. */
  stallPs: number;
  /** Extra fault entries raised by the second kernel. */
  faults: number;
  /** Device time charged to invalidations by the event, ps. */
  shootdownPs: number;
  /** Device TLB shootdowns the event caused. */
  shootdowns: number;
}

/** Why `profile` cannot be measured for these events (the same reason for all), or null. */
export function invalidationUnavailable(profile: Profile): string | null {
  if (profile.driver === 'pinning') return NOTES.noMirror;
  return null;
}

interface Observed {
  kernelPs: number;
  raised: number;
  invalidationPs: number;
}

function once(profile: Profile, event: InvalidationEvent | null, kind: InvalidationEvent, seed: number): Observed {
  const policies = profile.driver === 'hmm-mirror'
    ? { placement: { policy: 'map-remote', populateOn: 'system' }, prefetch: { policy: 'prefetch-none' }, accessCounters: { policy: 'access-counters-off' } }
    : undefined;
  // Both runs of the NUMA event get the two-socket host, so only the move differs.
  const m = machine(profile, seed, { policies, numaNodes: kind === 'numa' ? 2 : 1 });
  const p = m.spawn();
  const thp = kind === 'thp-split';
  const base = alignedRegion(p, RANGE_PAGES, thp ? 'thp' : 'anon');
  const readPages = kind === 'munmap' ? RANGE_PAGES / 2 : RANGE_PAGES;
  const read = (name: string) => streaming({ base, pages: readPages, lanes: LANES, name, computePs: 1000, accessBytes: 64 });
  const d = m.device(DEV);
  const second: KernelTiming = { startPs: 0, endPs: -1 };
  let raised0 = 0, inv0 = 0;
  let child: Process | null = null;
  const steps: Step[] = [
    () => cpuWrite(m, p, base, RANGE_PAGES),
    kernelStep(m, DEV, p, read('mirror')),
    () => {
      raised0 = d.metrics.faults.raised;
      inv0 = d.metrics.time.invalidation;
      if (event !== null) apply(p, event, base, (c) => (child = c));
    },
    kernelStep(m, DEV, p, read('again'), second),
  ];
  if (!runScript(m, steps, LIMIT_PS)) throw new Error(`${profile.name}: invalidation run (${event ?? 'baseline'}) did not finish`);
  void child;
  return {
    kernelPs: second.endPs - second.startPs,
    raised: d.metrics.faults.raised - raised0,
    invalidationPs: d.metrics.time.invalidation - inv0,
  };
}

function apply(p: Process, event: InvalidationEvent, base: number, keepChild: (c: Process) => void): void {
  const check = (what: string, r: number) => {
    if (r !== 0) throw new Error(`faultbench: ${what} failed with ${r}`);
  };
  switch (event) {
    case 'fork':
      keepChild(p.fork());
      return;
    case 'mprotect':
      check('mprotect', p.mprotect(base, RANGE_PAGES, 'r'));
      return;
    case 'munmap':
      check('munmap', p.munmap(base + RANGE_PAGES / 2, RANGE_PAGES / 2));
      return;
    case 'dontneed':
    case 'thp-split':
      check('madvise', p.madvise(base + RANGE_PAGES / 4, DROP_PAGES, 'dontneed'));
      return;
    case 'thp-collapse':
      // The range is small pages (an 'anon' region, no VM_HUGEPAGE): MADV_COLLAPSE needs none.
      check('madvise(MADV_COLLAPSE)', p.madvise(base, RANGE_PAGES, 'collapse'));
      return;
    case 'numa': {
      const r = p.movePages(base + RANGE_PAGES / 4, 1, 1);
      if (r.ret !== 0 || r.status[0] !== 1) throw new Error(`faultbench: move_pages failed: ret ${r.ret}, status ${r.status[0]}`);
      return;
    }
  }
}

/** The cost of `event` on `profile` (throws for an unavailable event). */
export function invalidationCost(profile: Profile, event: InvalidationEvent, seed: number): InvalidationCost {
  const why = invalidationUnavailable(profile);
  if (why) throw new RangeError(`${profile.name}: no ${event} measurement: ${why}`);
  const base = once(profile, null, event, seed);
  const hit = once(profile, event, event, seed);
  return {
    stallPs: hit.kernelPs - base.kernelPs,
    faults: hit.raised - base.raised,
    shootdownPs: hit.invalidationPs,
    // Every shootdown charges the profile's invalidation cost once (TimedDevice.shootdown).
    shootdowns: Math.round(hit.invalidationPs / profile.tlb.invalidationCost),
  };
}

/** Measure 4 over `profiles`: three rows per event. */
export function invalidationMeasure(profiles: readonly Profile[], seed: number): MeasureTable {
  const rows: Row[] = [];
  for (const event of INVALIDATION_EVENTS) {
    const costs = new Map<string, InvalidationCost | string>();
    for (const p of profiles) costs.set(p.name, invalidationUnavailable(p) ?? invalidationCost(p, event, seed));
    const row = (metric: string, label: string, unit: string, f: (c: InvalidationCost) => number): Row => ({
      key: `invalidation.${event}.${metric}`,
      label: `${isPainPoint(event) ? 'SVM pain point: ' : ''}${LABELS[event]}: ${label}`,
      unit,
      params: { event, metric, painPoint: isPainPoint(event) ? 'yes' : 'no' },
      cells: Object.fromEntries(profiles.map((p): [string, Cell] => {
        const c = costs.get(p.name)!;
        return [p.name, typeof c === 'string' ? na(c) : { value: f(c) }];
      })),
    });
    rows.push(row('stall', 'time until the device runs again', 'us', (c) => usOf(c.stallPs)));
    rows.push(row('faults', 'faults afterwards', 'faults', (c) => c.faults));
    rows.push(row('shootdown', 'shootdown time charged', 'us', (c) => sig(c.shootdownPs / 1e6)));
  }
  return {
    id: 'invalidation',
    title: 'Invalidation cost of CPU-side events on a mirrored 2 MiB range',
    meaning: 'extra time of a kernel re-reading the range after the event (shootdown + re-faults), the faults it takes, and the shootdown time, against the same kernel without the event; fork, THP split, THP collapse and NUMA migration are the SVM pain points',
    rows,
  };
}
