// The terminal tables: `summaryTable` after `hetmem run`, `compareTable` for `hetmem compare`.
import type { DeviceMetrics, LinkMetrics, RunResults } from '../sim/results.ts';
import { formatBytes } from '../units/bytes.ts';
import { formatTime } from '../units/time.ts';
import { formatColumns, formatCount, formatPercent, formatRate, formatSignedPercent, type Align } from './format.ts';
import { quantileOf, type HistogramJson } from '../units/histogram.ts';

function sum(devices: readonly DeviceMetrics[], f: (d: DeviceMetrics) => number): number {
  return devices.reduce((s, d) => s + f(d), 0);
}

/** Total faults of a run over all devices. */
export function faultTotals(r: RunResults): DeviceMetrics['faults'] {
  const total = (k: keyof DeviceMetrics['faults']) => sum(r.devices, (d) => d.faults[k]);
  return {
    raised: total('raised'), coalesced: total('coalesced'), duplicates: total('duplicates'), serviced: total('serviced'),
    throttled: total('throttled'), flushed: total('flushed'), overflows: total('overflows'), pri: total('pri'),
    fatal: total('fatal'), pending: total('pending'), busy: total('busy'),
  };
}

type FaultCounter = keyof DeviceMetrics['faults'];
/** The counters raised faults end in, in the order of the identity they satisfy (DeviceMetrics.faults). */
const FAULT_OUTCOMES: readonly FaultCounter[] = ['serviced', 'duplicates', 'coalesced', 'throttled', 'flushed', 'overflows', 'fatal'];

/**
 * Names of the counters raised faults end in, in identity order; `busy` only when asked (devices
 * met another's migration, -EBUSY), `pending` only when asked (a run cut short with faults still
 * queued).
 */
export function faultOutcomeNames(withPending: boolean, withBusy = false): FaultCounter[] {
  return [...FAULT_OUTCOMES, ...(withBusy ? ['busy' as const] : []), ...(withPending ? ['pending' as const] : [])];
}

/** Column headers of those counters: "= serviced", "+ duplicates", ... after a "raised" column. */
export function faultOutcomeHeads(withPending: boolean, withBusy = false): string[] {
  return faultOutcomeNames(withPending, withBusy).map((k, i) => `${i === 0 ? '=' : '+'} ${k}`);
}

/** "1,200 raised = 1,000 serviced + 50 duplicates + ...": a fault count and where every fault went. */
export function faultIdentity(f: DeviceMetrics['faults']): string {
  return `${formatCount(f.raised)} raised = ${faultOutcomeNames(f.pending > 0, f.busy > 0).map((k) => `${formatCount(f[k])} ${k}`).join(' + ')}`;
}

/**
 * The CPU's share of migrate_to_ram: "N migrations to RAM" on CPU faults, or, in results that
 * did not tell CPU and device faults apart, the total said to be both.
 */
export function migrationsToRam(c: RunResults['cpu']): string {
  if (c.deviceMigrateToRam === null) return `${formatCount(c.migrateToRam)} migrations to RAM (CPU and device faults, not told apart)`;
  return `${formatCount(c.migrateToRam - c.deviceMigrateToRam)} migrations to RAM`;
}

/** migrate_to_ram that devices caused: the pages and what it means. */
export function devicePulls(pages: number): string {
  return `${formatCount(pages)} pages migrated to RAM for another device's fault (migrate_to_ram)`;
}

/**
 * Time summed over `n` lanes or threads ("lane-seconds"), and its average per lane; `n` = 0 (a
 * results file that did not count them) gives no average.
 */
export function perLane(total: number, n: number): string {
  return n > 0 ? formatTime(Math.round(total / n)) : '-';
}

/** What the lane-time columns mean, said once under the run totals. */
export const LANE_TIME_NOTE = 'device stall and busy are lane-seconds: summed over all lanes, so they can exceed the simulated time';

/** CPU busy time, summed over threads, with its average per thread when known. */
export function cpuBusy(c: RunResults['cpu']): string {
  return c.threads > 0
    ? `busy ${formatTime(c.busyPs)} summed over ${formatCount(c.threads)} thread${c.threads === 1 ? '' : 's'} (${perLane(c.busyPs, c.threads)} per thread)`
    : `busy ${formatTime(c.busyPs)} summed over threads`;
}

/**
 * Columns of a link direction between its bandwidth and its utilisation: what crossed it.
 * Copies (migrations, evictions, the pinning driver's copies) with their transfers, remote
 * (zero-copy) accesses, and the total; results that did not tell the two apart show '-'.
 */
export const LINK_HEAD = ['link', 'kind', 'bandwidth', 'copied', 'transfers', 'remote access', 'total', 'avg util'];

/** The cells of LINK_HEAD from 'copied' to 'total' for `l`. */
export function linkCells(l: LinkMetrics): string[] {
  const b = (v: number | null) => (v === null ? '-' : formatBytes(v));
  return [b(l.copyBytes), formatCount(l.transfers), b(l.remoteBytes), formatBytes(l.bytes)];
}

/** Average utilisation of a link direction over the run: bytes / (bandwidth × run time). */
export function linkUtilisation(bytesCarried: number, bandwidth: number | null, endPs: number): number | null {
  if (bandwidth === null || endPs <= 0) return null;
  return bytesCarried / ((bandwidth * endPs) / 1e12);
}

export function formatBandwidth(bw: number | null): string {
  return bw === null ? 'unlimited' : formatRate(bw);
}

function latencyLine(h: HistogramJson): string {
  if (h.count === 0) return 'no faults serviced';
  return `p50 ${formatTime(quantileOf(h, 0.5))}, p99 ${formatTime(quantileOf(h, 0.99))}, max ${formatTime(h.max)} over ${formatCount(h.count)} faults`;
}

/**
 * The summary printed after a run: a block of run totals (simulated time, events, faults and
 * where they went, batches, fault latency, migration, evictions, thrashing, CPU, device pulls),
 * a per-device fault table whose columns add up to the faults raised (DeviceMetrics.faults), a
 * per-device table (bytes migrated, evictions, thrashing events, lane stall and busy time) and a
 * per-link-direction table (bytes and transfers carried, average utilisation). Columns are
 * aligned with spaces; times and sizes in human units. Ends with a newline.
 */
export function summaryTable(results: RunResults): string {
  const f = faultTotals(results);
  const thrash = {
    events: sum(results.devices, (d) => d.thrashing.events),
    throttles: sum(results.devices, (d) => d.thrashing.throttles),
    pins: sum(results.devices, (d) => d.thrashing.pins),
  };
  const c = results.cpu;
  const totals: string[][] = [
    ['simulated time', formatTime(results.endPs)],
    ['events', formatCount(results.events)],
    ['faults', faultIdentity(f)],
    ['batches', `${formatCount(sum(results.devices, (d) => d.batches))} (${formatCount(sum(results.devices, (d) => d.replays))} replays)`],
    ['fault latency', latencyLine(results.faultLatency)],
    ['migrated', `${formatBytes(sum(results.devices, (d) => d.bytesIn))} to devices, ${formatBytes(sum(results.devices, (d) => d.bytesOut))} from devices, ` +
      `${formatCount(sum(results.devices, (d) => d.prefetched))} pages prefetched`],
    ['evictions', `${formatCount(sum(results.devices, (d) => d.evictions.pages))} pages in ${formatCount(sum(results.devices, (d) => d.evictions.units))} units`],
    ['thrashing', `${formatCount(thrash.events)} events, ${formatCount(thrash.throttles)} throttles, ${formatCount(thrash.pins)} pins`],
    ['cpu', `${formatCount(c.faults)} faults, ${migrationsToRam(c)}, ${formatCount(c.cow)} COW, ${c.numaMigrated > 0 ? `${formatCount(c.numaMigrated)} pages moved between NUMA nodes, ` : ''}${cpuBusy(c)}`],
  ];
  if (c.deviceMigrateToRam !== null) totals.push(['device pulls', devicePulls(c.deviceMigrateToRam)]);
  const peer = peerAccessLine(results);
  if (peer !== null) totals.push(['peer access', peer]);
  const owners = ownerGroupsLine(results);
  if (owners !== null) totals.push(['owner groups', owners]);
  const contention = contentionLine(results);
  if (contention !== null) totals.push(['contention', contention]);
  if (results.devices.length > 0) totals.push(['lane time', LANE_TIME_NOTE]);

  // Faults per device: the columns after "raised" add up to it (throttled, flushed and overflowed
  // faults are raised again by their lanes, and counted again).
  const withPending = results.devices.some((d) => d.faults.pending > 0);
  const withBusy = results.devices.some((d) => d.faults.busy > 0);
  const faultHead = ['device', 'raised', ...faultOutcomeHeads(withPending, withBusy), 'batches', 'replays'];
  const faultAlign: Align[] = ['left', ...Array<Align>(faultHead.length - 1).fill('right')];
  const faultRows = results.devices.map((d) => [
    d.id, formatCount(d.faults.raised), ...faultOutcomeNames(withPending, withBusy).map((k) => formatCount(d.faults[k])), formatCount(d.batches), formatCount(d.replays),
  ]);

  const devHead = ['device', 'profile', 'driver', 'migrated in', 'migrated out', 'evicted', 'thrashing', 'lanes',
    'stall, lane-seconds', 'per lane', 'busy, lane-seconds', 'per lane'];
  const devAlign: Align[] = ['left', 'left', 'left', ...Array<Align>(9).fill('right')];
  const devRows = results.devices.map((d) => [
    d.id, d.profile, d.driver, formatBytes(d.bytesIn), formatBytes(d.bytesOut),
    `${formatCount(d.evictions.pages)} pages`, formatCount(d.thrashing.events), d.lanes > 0 ? formatCount(d.lanes) : '-',
    formatTime(d.time.stall), perLane(d.time.stall, d.lanes), formatTime(d.time.busy), perLane(d.time.busy, d.lanes),
  ]);

  const linkAlign: Align[] = ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'];
  const linkRows = results.links.map((l) => {
    const u = linkUtilisation(l.bytes, l.bandwidth, results.endPs);
    return [l.id, l.kind, formatBandwidth(l.bandwidth), ...linkCells(l), u === null ? '-' : formatPercent(u)];
  });

  // DMA paths: only devices with more than one (a single path carries everything by definition).
  const pathHead = ['device', 'path', 'iommu', 'mappings', 'bytes', 'share', 'IOTLB misses'];
  const pathAlign: Align[] = ['left', 'left', 'left', 'right', 'right', 'right', 'right'];
  const pathRows: string[][] = [];
  for (const d of results.devices) {
    if (d.paths.length < 2) continue;
    const total = d.paths.reduce((n, p) => n + p.bytes, 0);
    for (const p of d.paths) {
      pathRows.push([d.id, p.endpoint, p.iommu ? 'translated' : 'none', formatCount(p.mappings), formatBytes(p.bytes),
        total > 0 ? formatPercent(p.bytes / total) : '-', p.iommu ? formatCount(p.iotlbMisses) : '-']);
    }
  }

  // Run queues: only kernels a scheduler ran (device scheduler other than concurrent) or an
  // exit stopped, so runs without either print as before.
  const queueHead = ['device', 'kernel', 'start', 'end', 'queued', 'running', 'stalled on faults', 'preempted', 'fault switches', 'stopped'];
  const queueAlign: Align[] = ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'];
  const queueRows: string[][] = [];
  for (const d of results.devices) {
    for (const k of d.kernels) {
      if (!k.sched && !k.stopped) continue;
      const q = k.sched;
      queueRows.push([d.id, k.name, formatTime(k.startPs), formatTime(k.endPs), q ? formatTime(q.queuedPs) : '-', q ? formatTime(q.runningPs) : '-',
        q ? formatTime(q.stalledPs) : '-', q ? formatCount(q.preemptions) : '-', q ? formatCount(q.faultSwitches) : '-', k.stopped ? 'by exit' : '']);
    }
  }

  const parts = [
    `run ${results.name} (seed ${results.seed}${results.data ? '' : ', no page data'})`,
    formatColumns(totals, [], '  '),
  ];
  if (faultRows.length > 0) parts.push('', formatColumns([faultHead, ...faultRows], faultAlign, '  '));
  if (devRows.length > 0) parts.push('', formatColumns([devHead, ...devRows], devAlign, '  '));
  if (pathRows.length > 0) parts.push('', formatColumns([pathHead, ...pathRows], pathAlign, '  '));
  if (queueRows.length > 0) parts.push('', formatColumns([queueHead, ...queueRows], queueAlign, '  '));
  if (linkRows.length > 0) parts.push('', formatColumns([LINK_HEAD, ...linkRows], linkAlign, '  '));
  return parts.join('\n') + '\n';
}

type Kind = 'count' | 'time' | 'bytes' | 'text';

interface Metric {
  name: string;
  kind: Kind;
  /** The value in a run, or undefined if the run has no such thing (e.g. a device it lacks). */
  get: (r: RunResults) => number | string | undefined;
}

function formatValue(v: number | string | undefined, kind: Kind): string {
  if (v === undefined) return '-';
  if (typeof v === 'string') return v;
  if (Number.isNaN(v)) return '-';
  if (kind === 'time') return formatTime(v);
  if (kind === 'bytes') return formatBytes(v);
  return formatCount(v);
}

function formatDelta(a: number | string | undefined, b: number | string | undefined, kind: Kind): string {
  if (a === undefined || b === undefined) return '';
  if (typeof a === 'string' || typeof b === 'string') return a === b ? '=' : 'differs';
  if (Number.isNaN(a) || Number.isNaN(b)) return '';
  const d = b - a;
  if (d === 0) return '=';
  const sign = d > 0 ? '+' : '';
  const text = sign + formatValue(d, kind);
  return a === 0 ? text : `${text} (${formatSignedPercent(d / a)})`;
}

function unionBy<T>(a: readonly T[], b: readonly T[], key: (t: T) => string): string[] {
  const out: string[] = [];
  for (const t of [...a, ...b]) if (!out.includes(key(t))) out.push(key(t));
  return out;
}

/**
 * Two runs side by side: one row per metric with A's value, B's value and B − A (with the
 * relative change when A ≠ 0; "=" when equal; blank when one run lacks the metric). Run totals
 * first, then per device (union of both runs' devices, in A's order then B's new ones), then
 * per link direction. Ends with a newline.
 */
export function compareTable(a: RunResults, b: RunResults, labelA: string, labelB: string): string {
  const dev = (id: string, f: (d: DeviceMetrics) => number) => (r: RunResults): number | undefined => {
    const d = r.devices.find((x) => x.id === id);
    return d === undefined ? undefined : f(d);
  };
  const metrics: Metric[] = [
    { name: 'run', kind: 'text', get: (r) => r.name },
    { name: 'seed', kind: 'text', get: (r) => String(r.seed) },
    { name: 'simulated time', kind: 'time', get: (r) => r.endPs },
    { name: 'events', kind: 'count', get: (r) => r.events },
    { name: 'faults raised', kind: 'count', get: (r) => faultTotals(r).raised },
    { name: 'faults serviced', kind: 'count', get: (r) => faultTotals(r).serviced },
    { name: 'faults duplicate', kind: 'count', get: (r) => faultTotals(r).duplicates },
    { name: 'faults coalesced', kind: 'count', get: (r) => faultTotals(r).coalesced },
    { name: 'faults throttled', kind: 'count', get: (r) => faultTotals(r).throttled },
    { name: 'faults flushed', kind: 'count', get: (r) => faultTotals(r).flushed },
    { name: 'faults overflowed', kind: 'count', get: (r) => faultTotals(r).overflows },
    { name: 'faults fatal', kind: 'count', get: (r) => faultTotals(r).fatal },
    { name: 'batches', kind: 'count', get: (r) => sum(r.devices, (d) => d.batches) },
    { name: 'fault latency p50', kind: 'time', get: (r) => quantileOf(r.faultLatency, 0.5) },
    { name: 'fault latency p99', kind: 'time', get: (r) => quantileOf(r.faultLatency, 0.99) },
    { name: 'migrated to devices', kind: 'bytes', get: (r) => sum(r.devices, (d) => d.bytesIn) },
    { name: 'migrated from devices', kind: 'bytes', get: (r) => sum(r.devices, (d) => d.bytesOut) },
    { name: 'evicted pages', kind: 'count', get: (r) => sum(r.devices, (d) => d.evictions.pages) },
    { name: 'thrashing events', kind: 'count', get: (r) => sum(r.devices, (d) => d.thrashing.events) },
    { name: 'cpu faults', kind: 'count', get: (r) => r.cpu.faults },
    // Blank for a results file that did not tell CPU and device faults apart.
    { name: 'cpu migrations to RAM', kind: 'count', get: (r) => (r.cpu.deviceMigrateToRam === null ? undefined : r.cpu.migrateToRam - r.cpu.deviceMigrateToRam) },
    { name: 'device pulls to RAM', kind: 'count', get: (r) => r.cpu.deviceMigrateToRam ?? undefined },
  ];
  for (const id of unionBy(a.devices, b.devices, (d) => d.id)) {
    metrics.push(
      { name: `${id} faults raised`, kind: 'count', get: dev(id, (d) => d.faults.raised) },
      { name: `${id} batches`, kind: 'count', get: dev(id, (d) => d.batches) },
      { name: `${id} migrated in`, kind: 'bytes', get: dev(id, (d) => d.bytesIn) },
      { name: `${id} migrated out`, kind: 'bytes', get: dev(id, (d) => d.bytesOut) },
      { name: `${id} fault service`, kind: 'time', get: dev(id, (d) => d.time.faultService) },
      { name: `${id} pinning`, kind: 'time', get: dev(id, (d) => d.time.pinning) },
      { name: `${id} stall, lane-seconds`, kind: 'time', get: dev(id, (d) => d.time.stall) },
      { name: `${id} stall per lane`, kind: 'time', get: dev(id, (d) => (d.lanes > 0 ? d.time.stall / d.lanes : NaN)) },
      { name: `${id} busy, lane-seconds`, kind: 'time', get: dev(id, (d) => d.time.busy) },
      { name: `${id} busy per lane`, kind: 'time', get: dev(id, (d) => (d.lanes > 0 ? d.time.busy / d.lanes : NaN)) },
    );
  }
  for (const id of unionBy(a.links, b.links, (l) => l.id)) {
    const link = (r: RunResults) => r.links.find((l) => l.id === id);
    metrics.push(
      { name: `link ${id} copied`, kind: 'bytes', get: (r) => link(r)?.copyBytes ?? undefined },
      { name: `link ${id} remote access`, kind: 'bytes', get: (r) => link(r)?.remoteBytes ?? undefined },
      { name: `link ${id} total`, kind: 'bytes', get: (r) => link(r)?.bytes },
    );
  }
  const rows = metrics.map((m) => {
    const [va, vb] = [m.get(a), m.get(b)];
    return [m.name, formatValue(va, m.kind), formatValue(vb, m.kind), formatDelta(va, vb, m.kind)];
  });
  return formatColumns([['metric', labelA, labelB, 'delta'], ...rows], ['left', 'right', 'right', 'left']) + '\n';
}

const PATH_NAMES: Record<string, string> = {
  'private': 'a private link', 'p2p-bus-addr': 'PCIe P2P under a switch', 'p2p-host-bridge': 'PCIe P2P through the root complex', none: 'no route',
};

/**
 * "gpu1 2,048 accesses (512 KiB) over PCIe P2P under a switch": loads and stores to a peer's
 * memory in place, per device and path; null when no device made any.
 */
export function peerAccessLine(r: RunResults): string | null {
  const parts: string[] = [];
  for (const d of r.devices) {
    for (const [kind, p] of Object.entries(d.peerPaths ?? {})) {
      if (p.accesses > 0) parts.push(`${d.id} ${formatCount(p.accesses)} accesses (${formatBytes(p.bytes)}) over ${PATH_NAMES[kind] ?? kind}`);
    }
  }
  return parts.length > 0 ? parts.join('; ') : null;
}

/** "gpu0 + gpu1 (interconnect)": the pagemap owner groups of two or more devices; null without any. */
export function ownerGroupsLine(r: RunResults): string | null {
  const x = r.crossDevice;
  if (!x || x.groups.length === 0) return null;
  return `${x.groups.map((g) => g.join(' + ')).join(', ')} (owners: ${x.owners})`;
}

/** -EBUSY, evictions and rwsem waits of devices migrating one range; null when none met another. */
export function contentionLine(r: RunResults): string | null {
  const t = r.devices.reduce((a, d) => ({
    ebusy: a.ebusy + (d.contention?.ebusy ?? 0), evicted: a.evicted + (d.contention?.evictedPages ?? 0),
    waits: a.waits + (d.contention?.rwsemWaits ?? 0), waitPs: a.waitPs + (d.contention?.rwsemWaitPs ?? 0),
    slices: a.slices + (d.contention?.timesliceWaits ?? 0),
  }), { ebusy: 0, evicted: 0, waits: 0, waitPs: 0, slices: 0 });
  if (t.ebusy + t.waits + t.slices === 0) return null;
  return `${formatCount(t.ebusy)} -EBUSY, ${formatCount(t.evicted)} pages evicted to retry, ${formatCount(t.waits)} rwsem waits (${formatTime(t.waitPs)}), ${formatCount(t.slices)} timeslice waits`;
}
