// stats.txt: every counter of a run as one flat line each, in gem5's stats.txt style
// (`name value # description (unit)`), so grep, diff and the scripts people already have for gem5
// output work on it. One time unit for the whole file, ps, stated in its header.
import type { DeviceMetrics, LinkMetrics, RunResults } from '../sim/results.ts';
import { meanOf, quantileOf } from '../units/histogram.ts';

/** The unit of every time in stats.txt (stated in its header). */
export const STATS_TIME_UNIT = 'ps';

/** One statistic: a dotted name, its value (null: not recorded in this results file), what it is and its unit. */
export interface Stat {
  name: string;
  value: number | null;
  description: string;
  /** gem5's unit names; Unspecified for values without one (a seed, a flag). */
  unit: 'Count' | 'ps' | 'Byte' | 'Byte/Second' | 'Ratio' | 'Unspecified';
}

const BEGIN = '---------- Begin Simulation Statistics ----------';
const END = '---------- End Simulation Statistics   ----------';

function deviceStats(d: DeviceMetrics): Stat[] {
  const p = `devices.${d.id}`;
  const count = (name: string, value: number | null, description: string): Stat => ({ name: `${p}.${name}`, value, description, unit: 'Count' });
  const time = (name: string, value: number, description: string): Stat => ({ name: `${p}.${name}`, value, description, unit: 'ps' });
  const f = d.faults;
  return [
    count('faults.raised', f.raised, 'faults raised by lanes (= serviced + duplicates + coalesced + throttled + flushed + overflows + fatal + pending)'),
    count('faults.serviced', f.serviced, 'pages (after coalescing) the driver resolved'),
    count('faults.duplicates', f.duplicates, 'pages already mapped when the driver came to them'),
    count('faults.coalesced', f.coalesced, 'entries merged into another entry for the same page'),
    count('faults.throttled', f.throttled, 'pages thrashing mitigation left for later'),
    count('faults.flushed', f.flushed, 'entries a batch-flush replay dropped'),
    count('faults.overflows', f.overflows, 'faults dropped by a full fault buffer'),
    count('faults.fatal', f.fatal, 'pages the driver could not resolve'),
    count('faults.pending', f.pending, 'entries still queued when the run ended'),
    count('faults.pri', f.pri, 'PCIe page requests sent (SVA; a subset of raised)'),
    count('batches', d.batches, 'fault batches serviced'),
    count('replays', d.replays, 'fault replays issued'),
    count('lanes', d.lanes, 'lanes launched over all kernels'),
    count('kernels', d.kernels.length, 'kernels run'),
    count('pagesIn', d.pagesIn, 'pages migrated into this device\'s memory'),
    count('pagesOut', d.pagesOut, 'pages migrated out of this device\'s memory'),
    { name: `${p}.bytesIn`, value: d.bytesIn, description: 'bytes migrated into this device\'s memory', unit: 'Byte' },
    { name: `${p}.bytesOut`, value: d.bytesOut, description: 'bytes migrated out of this device\'s memory', unit: 'Byte' },
    count('prefetched', d.prefetched, 'pages the prefetcher added'),
    count('evictions.pages', d.evictions.pages, 'pages evicted'),
    count('evictions.units', d.evictions.units, 'eviction operations (victim units)'),
    count('thrashing.events', d.thrashing.events, 'pages detected as thrashing'),
    count('thrashing.throttles', d.thrashing.throttles, 'faults throttled by thrashing mitigation'),
    count('thrashing.pins', d.thrashing.pins, 'pages pinned by thrashing mitigation'),
    count('pinnedPages', d.pinnedPages, 'pages pinned (pin_user_pages or thrashing mitigation)'),
    count('accesses.local', d.accesses.local, 'accesses to this device\'s own memory'),
    count('accesses.remote', d.accesses.remote, 'accesses to system memory mapped in place'),
    count('accesses.peer', d.accesses.peer, 'accesses to a peer device\'s memory'),
    count('accessCounterNotifications', d.accessCounterNotifications, 'access-counter notifications'),
    count('tlb.hits', d.tlb.hits, 'device TLB hits'),
    count('tlb.misses', d.tlb.misses, 'device TLB misses'),
    count('tlb.invalidations', d.tlb.invalidations, 'device TLB invalidations'),
    time('time.faultService', d.time.faultService, 'driver time servicing fault batches'),
    time('time.pinning', d.time.pinning, 'pinning driver time registering regions'),
    time('time.copy', d.time.copy, 'copy-engine busy time'),
    time('time.map', d.time.map, 'time mapping pages into the device page table'),
    time('time.invalidation', d.time.invalidation, 'TLB invalidation time for CPU-side changes'),
    time('time.stall', d.time.stall, 'lane time waiting for faults and shootdowns, summed over lanes'),
    time('time.busy', d.time.busy, 'lane time computing and accessing memory, summed over lanes'),
    count('pagesTouched', d.pagesTouched, 'distinct virtual pages this device touched'),
  ];
}

function linkStats(l: LinkMetrics, endPs: number): Stat[] {
  const p = `links.${l.id}`;
  const util = l.bandwidth === null || endPs === 0 ? null : l.bytes / ((l.bandwidth * endPs) / 1e12);
  return [
    { name: `${p}.bandwidth`, value: l.bandwidth, description: `bandwidth of this direction of ${l.kind} link ${l.link} (nan: unlimited)`, unit: 'Byte/Second' },
    { name: `${p}.bytes`, value: l.bytes, description: 'bytes carried (copies + remote accesses)', unit: 'Byte' },
    { name: `${p}.copyBytes`, value: l.copyBytes, description: 'bytes of copies (migrations, evictions, migrate_to_ram, move_pages)', unit: 'Byte' },
    { name: `${p}.remoteBytes`, value: l.remoteBytes, description: 'bytes of remote (zero-copy) loads and stores', unit: 'Byte' },
    { name: `${p}.transfers`, value: l.transfers, description: 'copies that crossed this direction', unit: 'Count' },
    { name: `${p}.utilisation`, value: util, description: 'bytes over what the bandwidth carries in the run (nan: unlimited)', unit: 'Ratio' },
  ];
}

/** Every statistic of `results`, in file order. */
export function runStats(results: RunResults): Stat[] {
  const c = results.cpu;
  const lat = results.faultLatency;
  const none = lat.count === 0;
  const bs = results.batchSummary;
  return [
    { name: 'sim.time', value: results.endPs, description: 'simulated time at the end of the run', unit: 'ps' },
    { name: 'sim.events', value: results.events, description: 'engine events run', unit: 'Count' },
    { name: 'sim.seed', value: results.seed, description: 'seed of the run', unit: 'Unspecified' },
    { name: 'sim.data', value: results.data ? 1 : 0, description: 'whether page contents were kept (0: no-data mode)', unit: 'Unspecified' },
    { name: 'sim.spans', value: results.spans.length, description: 'trace spans kept', unit: 'Count' },
    { name: 'cpu.faults', value: c.faults, description: 'CPU page faults taken by CPU phases', unit: 'Count' },
    { name: 'cpu.migrateToRam', value: c.migrateToRam, description: 'migrate_to_ram calls (CPU faults and other devices\' faults)', unit: 'Count' },
    { name: 'cpu.deviceMigrateToRam', value: c.deviceMigrateToRam, description: 'of those, calls a device\'s fault caused (nan: not told apart)', unit: 'Count' },
    { name: 'cpu.cow', value: c.cow, description: 'copy-on-write breaks', unit: 'Count' },
    { name: 'cpu.accesses', value: c.accesses, description: 'accesses CPU phases made', unit: 'Count' },
    { name: 'cpu.busy', value: c.busyPs, description: 'CPU time of CPU phases and move_pages, summed over threads', unit: 'ps' },
    { name: 'cpu.threads', value: c.threads, description: 'CPU threads run', unit: 'Count' },
    { name: 'cpu.numaMigrated', value: c.numaMigrated, description: 'base pages move_pages moved between NUMA nodes', unit: 'Count' },
    { name: 'faultLatency.samples', value: lat.count, description: 'serviced faults with a latency (raise to replay)', unit: 'Count' },
    { name: 'faultLatency.mean', value: none ? null : meanOf(lat), description: 'mean fault latency (exact: sum over count)', unit: 'ps' },
    { name: 'faultLatency.p50', value: none ? null : quantileOf(lat, 0.5), description: 'median fault latency (histogram, within 0.4 %)', unit: 'ps' },
    { name: 'faultLatency.p99', value: none ? null : quantileOf(lat, 0.99), description: '99th percentile fault latency (histogram, within 0.4 %)', unit: 'ps' },
    { name: 'faultLatency.max', value: none ? null : lat.max, description: 'longest fault latency', unit: 'ps' },
    { name: 'batches.count', value: bs.count, description: 'fault batches (batches.csv rows)', unit: 'Count' },
    { name: 'batches.kept', value: bs.kept, description: 'of those, records kept in results.json', unit: 'Count' },
    { name: 'batches.time', value: bs.sums.time * 1000, description: 'batch service time summed over batches (from batches.csv, whose ns it converts)', unit: 'ps' },
    ...results.devices.flatMap(deviceStats),
    ...results.links.flatMap((l) => linkStats(l, results.endPs)),
  ];
}

/** A value as gem5 prints it: integers whole, fractions to 6 places, missing as nan. */
function formatValue(v: number | null): string {
  if (v === null || Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return Number.isInteger(v) ? String(v) : v.toFixed(6);
}

/**
 * The text of stats.txt: a header naming the run and the time unit, gem5's begin/end markers,
 * and one `name value # description (unit)` line per statistic, columns aligned. Deterministic.
 */
export function statsTxt(results: RunResults): string {
  const stats = runStats(results);
  const values = stats.map((s) => formatValue(s.value));
  const nameW = Math.max(40, ...stats.map((s) => s.name.length)) + 1;
  const valueW = Math.max(14, ...values.map((v) => v.length)) + 1;
  const lines = stats.map((s, i) => `${s.name.padEnd(nameW)} ${values[i].padEnd(valueW)} # ${s.description} (${s.unit})`);
  return [
    `# hetmem run ${JSON.stringify(results.name)}, seed ${results.seed}: name value # description (unit)`,
    `# time unit: ${STATS_TIME_UNIT} (every time in this file is in picoseconds; sizes in bytes)`,
    '',
    BEGIN,
    '',
    ...lines,
    '',
    END,
    '',
  ].join('\n');
}
