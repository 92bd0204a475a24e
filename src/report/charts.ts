// ECharts option objects for the report's charts, built in Node from RunResults. Options are
// plain JSON (no callbacks), so the HTML page embeds them as data and only calls setOption.
import type { BarSeriesOption, EChartsOption, LineSeriesOption } from 'echarts';
import type { RunResults, TimeBreakdown } from '../sim/results.ts';
import { PAGE_SIZE } from '../units/page.ts';
import { formatTime } from '../units/time.ts';
import { formatCount, formatRate, quantile, trimFixed } from './format.ts';

/** One chart of the report: rendered into the div `chart-<name>`. */
export interface ChartSpec {
  name: string;
  title: string;
  option: EChartsOption;
}

/** The charts of the report, in page order. */
export const CHART_NAMES = ['residency', 'faults', 'link-utilisation', 'fault-latency', 'time-breakdown'] as const;

const MIB = 1024 * 1024;

/** The unit a time axis is labelled in: the largest of ns, µs, ms, s not above `maxPs`. */
export function timeUnit(maxPs: number): { label: string; ps: number } {
  const units = [
    { label: 'ps', ps: 1 },
    { label: 'ns', ps: 1e3 },
    { label: 'µs', ps: 1e6 },
    { label: 'ms', ps: 1e9 },
    { label: 's', ps: 1e12 },
  ];
  let u = units[0];
  for (const c of units) if (maxPs >= c.ps) u = c;
  return u;
}

/** Number of timeline buckets: the longest series. */
export function bucketCount(results: RunResults): number {
  const tl = results.timeline;
  let n = 0;
  for (const r of [tl.residency, tl.faults, tl.linkBytes]) for (const v of Object.values(r)) n = Math.max(n, v.length);
  return n;
}

/** Rounds for display data: at most 6 significant decimals, so JSON stays short and stable. */
function r6(v: number): number {
  return Number(v.toPrecision(6));
}

/** The frame every chart of hetmem's pages shares: title, tooltip, legend, grid, PNG export. */
export function chartBase(title: string, subtext: string): EChartsOption {
  return {
    animation: false,
    backgroundColor: '#ffffff',
    title: { text: title, subtext, left: 12, top: 6, textStyle: { fontSize: 15 } },
    tooltip: { trigger: 'axis' },
    legend: { top: 8, right: 44, type: 'scroll' },
    grid: { left: 72, right: 72, top: 76, bottom: 64 },
    toolbox: { right: 8, top: 4, feature: { saveAsImage: { title: 'save PNG' } } },
  };
}

/**
 * Upper bounds of DejaVu Sans advances (Debian's default sans-serif and the widest common one)
 * as a fraction of the font size, by character class (the first class that matches; anything
 * else counts 1 em): layouts computed from them leave at least the room a browser needs,
 * whatever sans-serif it picks.
 */
const ADVANCE: [RegExp, number][] = [
  [/[mwMW@%→—]/, 1.0],
  [/[ilj.,:;'|!()[\]{}/ tfr-]/, 0.42],
  [/[A-Z&]/, 0.8],
  [/[a-z0-9#$?_~+=<>µ–]/, 0.65],
];

/** Width of `text` at `fontPx` in a sans-serif font, an upper bound in px (see ADVANCE). */
export function textWidthPx(text: string, fontPx = 12): number {
  return Math.ceil(ems(text) * fontPx);
}

/** Width of `text` in ems (see ADVANCE). */
function ems(text: string): number {
  let em = 0;
  for (const ch of text) em += ADVANCE.find(([re]) => re.test(ch))?.[1] ?? 1.0;
  return em;
}

/** Lines that greedy word wrapping of `text` into `widthPx` gives (a word wider than the line takes its own). */
export function wrappedLines(text: string, widthPx: number, fontPx = 12): number {
  let lines = 0;
  for (const para of text.split('\n')) {
    let used = 0;
    lines++;
    for (const word of para.split(' ')) {
      const w = ems(used === 0 ? word : ` ${word}`) * fontPx;
      if (used > 0 && used + w > widthPx) {
        lines++;
        used = ems(word) * fontPx;
      } else used += w;
    }
  }
  return lines;
}

/**
 * Rows of a horizontal ECharts legend (ECharts 6 defaults: 25 px symbol, 5 px to the text,
 * 8 px between items, 5 px padding) holding `names` in `widthPx`. Greedy wrapping needs no
 * fewer rows when items get wider, so an upper bound of each item's width gives an upper
 * bound of the rows.
 */
export function legendRows(names: readonly string[], widthPx: number): number {
  const avail = widthPx - 10;
  let rows = names.length > 0 ? 1 : 0, x = 0;
  for (const n of names) {
    const w = 25 + 5 + textWidthPx(n) + 8;
    if (x > 0 && x + w > avail) {
      rows++;
      x = w;
    } else x += w;
  }
  return rows;
}
/** Height of one legend row in px, an upper bound (a 12 px label with its padding, plus the 8 px gap). */
export const LEGEND_ROW_PX = 32;

/** A "no data" note drawn in the middle of an otherwise empty chart. */
function noData(option: EChartsOption, what: string): EChartsOption {
  return {
    ...option,
    graphic: [{ type: 'text', left: 'center', top: 'middle', style: { text: what, fontSize: 14, fill: '#888' } }],
  };
}

/** Time axis over the run's buckets. */
function timeAxis(results: RunResults, unit: { label: string; ps: number }): EChartsOption['xAxis'] {
  const end = bucketCount(results) * results.timeline.bucketPs;
  return { type: 'value', name: `time (${unit.label})`, nameLocation: 'middle', nameGap: 28, min: 0, max: r6(end / unit.ps) };
}

const zoom: EChartsOption['dataZoom'] = [{ type: 'inside' }, { type: 'slider', height: 16, bottom: 36 }];

function residencyChart(results: RunResults): ChartSpec {
  const tl = results.timeline;
  const unit = timeUnit(bucketCount(results) * tl.bucketPs);
  const nodes = Object.keys(tl.residency);
  const series: LineSeriesOption[] = nodes.map((node) => ({
    type: 'line',
    name: node,
    stack: 'resident',
    areaStyle: {},
    showSymbol: false,
    data: tl.residency[node].map((pages, i) => [r6(((i + 1) * tl.bucketPs) / unit.ps), r6((pages * PAGE_SIZE) / MIB)]),
  }));
  const option: EChartsOption = {
    ...chartBase('Resident memory per node', 'MiB resident at the end of each bucket, stacked'),
    xAxis: timeAxis(results, unit),
    yAxis: { type: 'value', name: 'MiB' },
    dataZoom: zoom,
    series,
  };
  return { name: 'residency', title: 'Resident memory per node', option: nodes.length === 0 ? noData(option, 'no residency samples') : option };
}

function faultsChart(results: RunResults): ChartSpec {
  const tl = results.timeline;
  const unit = timeUnit(bucketCount(results) * tl.bucketPs);
  const devices = Object.keys(tl.faults);
  const series: BarSeriesOption[] = devices.map((d) => ({
    type: 'bar',
    name: d,
    stack: 'faults',
    data: tl.faults[d].map((n, i) => [r6(((i + 0.5) * tl.bucketPs) / unit.ps), n]),
  }));
  const option: EChartsOption = {
    ...chartBase('Faults raised per bucket', `per device, bucket width ${formatTime(tl.bucketPs)}`),
    xAxis: timeAxis(results, unit),
    yAxis: { type: 'value', name: 'faults' },
    dataZoom: zoom,
    series,
  };
  return { name: 'faults', title: 'Faults raised per bucket', option: devices.length === 0 ? noData(option, 'no fault samples') : option };
}

function linkChart(results: RunResults): ChartSpec {
  const tl = results.timeline;
  const unit = timeUnit(bucketCount(results) * tl.bucketPs);
  const bucketSeconds = tl.bucketPs / 1e12;
  const segs = Object.keys(tl.linkBytes);
  const bandwidthOf = (seg: string): number | null => results.links.find((l) => l.id === seg)?.bandwidth ?? null;
  const anyBytes = segs.some((s) => bandwidthOf(s) === null);
  const anyPercent = segs.some((s) => bandwidthOf(s) !== null);
  const yAxis: EChartsOption['yAxis'] = [];
  if (anyPercent || !anyBytes) yAxis.push({ type: 'value', name: '% of bandwidth', min: 0 });
  if (anyBytes) yAxis.push({ type: 'value', name: 'MiB/bucket (unlimited)', min: 0, splitLine: { show: !anyPercent } });
  const series: LineSeriesOption[] = segs.map((seg) => {
    const bw = bandwidthOf(seg);
    const x = (i: number): number => r6(((i + 0.5) * tl.bucketPs) / unit.ps);
    return bw === null
      ? {
          type: 'line', name: `${seg} (MiB)`, yAxisIndex: anyPercent ? 1 : 0, showSymbol: false, sampling: 'lttb',
          lineStyle: { type: 'dashed' }, data: tl.linkBytes[seg].map((b, i) => [x(i), r6(b / MIB)]),
        }
      : {
          type: 'line', name: `${seg} (${formatRate(bw)})`, yAxisIndex: 0, showSymbol: false, sampling: 'lttb',
          data: tl.linkBytes[seg].map((b, i) => [x(i), r6((100 * b) / (bw * bucketSeconds))]),
        };
  });
  const option: EChartsOption = {
    ...chartBase('Link utilisation', 'bytes carried per bucket as % of each direction\'s bandwidth; unlimited links in MiB'),
    xAxis: timeAxis(results, unit),
    yAxis,
    dataZoom: zoom,
    series,
  };
  return { name: 'link-utilisation', title: 'Link utilisation', option: segs.length === 0 ? noData(option, 'no link samples') : option };
}

/** Log-spaced histogram of fault latencies in µs. */
export interface LatencyHistogram {
  /** Bin edges in µs, ascending; bin i is [edges[i], edges[i+1]) (the last bin includes its top edge). */
  edgesUs: number[];
  counts: number[];
}

/**
 * Histogram of latencies (ps) on log-spaced bins in µs, `binsPerDecade` per power of ten, from
 * the decade-fraction at or below the smallest value to the one at or above the largest.
 * Zero latencies count in the first bin. Empty input gives no bins.
 */
export function latencyHistogram(latenciesPs: readonly number[], binsPerDecade = 10): LatencyHistogram {
  const us = latenciesPs.map((v) => v / 1e6);
  const positive = us.filter((v) => v > 0);
  if (us.length === 0) return { edgesUs: [], counts: [] };
  if (positive.length === 0) return { edgesUs: [0, 1], counts: [us.length] };
  const logMin = Math.log10(positive.reduce((m, v) => Math.min(m, v), Infinity));
  const logMax = Math.log10(positive.reduce((m, v) => Math.max(m, v), 0));
  const lo = Math.floor(logMin * binsPerDecade);
  const hi = Math.max(lo + 1, Math.ceil(logMax * binsPerDecade));
  const n = hi - lo;
  const edgesUs = Array.from({ length: n + 1 }, (_, k) => Number((10 ** ((lo + k) / binsPerDecade)).toPrecision(6)));
  const counts = new Array<number>(n).fill(0);
  for (const v of us) {
    const k = v > 0 ? Math.floor(Math.log10(v) * binsPerDecade) - lo : 0;
    counts[Math.min(n - 1, Math.max(0, k))]++;
  }
  return { edgesUs, counts };
}

function formatUs(v: number): string {
  return v >= 100 ? trimFixed(v, 0) : trimFixed(Number(v.toPrecision(3)), 6);
}

function latencyChart(results: RunResults): ChartSpec {
  const lat = results.faultLatencies;
  const h = latencyHistogram(lat);
  const labels = h.counts.map((_, i) => `${formatUs(h.edgesUs[i])}–${formatUs(h.edgesUs[i + 1])}`);
  const sub = lat.length === 0
    ? 'no faults serviced'
    : `${formatCount(lat.length)} faults; p50 ${formatTime(quantile(lat, 0.5))}, p99 ${formatTime(quantile(lat, 0.99))}, ` +
      `max ${formatTime(lat.reduce((m, v) => Math.max(m, v), 0))}; log-spaced bins`;
  const option: EChartsOption = {
    ...chartBase('Fault service latency', sub),
    xAxis: { type: 'category', name: 'latency (µs), raise to replay', nameLocation: 'middle', nameGap: 40, data: labels, axisLabel: { rotate: 30 } },
    yAxis: { type: 'value', name: 'faults' },
    grid: { left: 72, right: 40, top: 76, bottom: 80 },
    series: [{ type: 'bar', name: 'faults', data: h.counts, barCategoryGap: '8%' }],
  };
  return { name: 'fault-latency', title: 'Fault service latency', option: lat.length === 0 ? noData(option, 'no faults serviced') : option };
}

const DRIVER_FIELDS: readonly (keyof TimeBreakdown)[] = ['faultService', 'pinning', 'copy', 'map', 'invalidation'];
const LANE_FIELDS: readonly (keyof TimeBreakdown)[] = ['stall', 'busy'];
const FIELD_LABELS: Record<keyof TimeBreakdown, string> = {
  faultService: 'fault service', pinning: 'pinning (registration)', copy: 'copy', map: 'map', invalidation: 'invalidation', stall: 'lane stall (lane-seconds)', busy: 'lane busy (lane-seconds)',
};

function breakdownChart(results: RunResults): ChartSpec {
  const ids = results.devices.map((d) => d.id);
  const total = (fields: readonly (keyof TimeBreakdown)[]): number =>
    Math.max(0, ...results.devices.map((d) => fields.reduce((s, f) => s + d.time[f], 0)));
  const driverUnit = timeUnit(total(DRIVER_FIELDS));
  const laneUnit = timeUnit(total(LANE_FIELDS));
  const bars = (fields: readonly (keyof TimeBreakdown)[], grid: number, unit: { ps: number }): BarSeriesOption[] =>
    fields.map((f) => ({
      type: 'bar', name: FIELD_LABELS[f], stack: grid === 0 ? 'driver' : 'lanes', xAxisIndex: grid, yAxisIndex: grid,
      data: results.devices.map((d) => r6(d.time[f] / unit.ps)),
    }));
  const option: EChartsOption = {
    ...chartBase('Where each device\'s time went', 'driver work (left) and lane-seconds, summed over every lane (right; can exceed the run); the two overlap'),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 40, left: 12, type: 'scroll' },
    grid: [
      { left: 72, right: '54%', top: 88, bottom: 56 },
      { left: '54%', right: 32, top: 88, bottom: 56 },
    ],
    xAxis: [
      { type: 'value', gridIndex: 0, name: `driver (${driverUnit.label})`, nameLocation: 'middle', nameGap: 28 },
      { type: 'value', gridIndex: 1, name: `lane-seconds (lane-${laneUnit.label})`, nameLocation: 'middle', nameGap: 28 },
    ],
    yAxis: [
      { type: 'category', gridIndex: 0, data: ids, inverse: true },
      { type: 'category', gridIndex: 1, data: ids, inverse: true, axisLabel: { show: false } },
    ],
    series: [...bars(DRIVER_FIELDS, 0, driverUnit), ...bars(LANE_FIELDS, 1, laneUnit)],
  };
  return { name: 'time-breakdown', title: 'Per-device time breakdown', option: ids.length === 0 ? noData(option, 'no devices') : option };
}

/** Every chart of the report, in CHART_NAMES order. Deterministic for identical results. */
export function chartSpecs(results: RunResults): ChartSpec[] {
  return [residencyChart(results), faultsChart(results), linkChart(results), latencyChart(results), breakdownChart(results)];
}
