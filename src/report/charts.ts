// ECharts option objects for the report's charts, built in Node from RunResults. Options are
// plain JSON (no callbacks), so the HTML page embeds them as data and only calls setOption.
import type { BarSeriesOption, EChartsOption, LineSeriesOption } from 'echarts';
import type { RunResults, TimeBreakdown } from '../sim/results.ts';
import { PAGE_SIZE } from '../units/page.ts';
import { formatTime } from '../units/time.ts';
import { formatCount, formatRate, trimFixed } from './format.ts';
import { bucketValue, quantileOf, type HistogramJson } from '../units/histogram.ts';

/** One chart of the report: rendered into the div `chart-<name>`. */
export interface ChartSpec {
  name: string;
  title: string;
  option: EChartsOption;
  /** Height of the chart's container in px, when it needs other than the page's default (small multiples). */
  height?: number;
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

/** The smallest of 1, 2, 5 × 10^k at or above `v` (v > 0), for a shared axis maximum. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v * (1 - 1e-12)) return Number((m * p).toPrecision(6));
  return 10 * p;
}

/** Height of one small multiple of the link chart, px (its plot and its title). */
export const LINK_PANEL_PX = 96;

/**
 * Link utilisation as small multiples: one panel per link direction, stacked, all on the same
 * time axis (zoomed together) and the same y axis, so panels compare at a glance where one
 * chart of many lines was a tangle. A direction with a bandwidth shows % of it; the shared
 * maximum is the busiest bucket of any direction, rounded up to 1, 2 or 5 × 10^k (at most
 * 100 %), since a fixed 100 % would flatten links that never pass 1 %. Unlimited directions
 * show MiB per bucket on their own shared maximum.
 */
function linkChart(results: RunResults): ChartSpec {
  const tl = results.timeline;
  const unit = timeUnit(bucketCount(results) * tl.bucketPs);
  const bucketSeconds = tl.bucketPs / 1e12;
  const segs = Object.keys(tl.linkBytes);
  const bandwidthOf = (seg: string): number | null => results.links.find((l) => l.id === seg)?.bandwidth ?? null;
  const values = (seg: string): number[] => {
    const bw = bandwidthOf(seg);
    return tl.linkBytes[seg].map((b) => r6(bw === null ? b / MIB : (100 * b) / (bw * bucketSeconds)));
  };
  const peak = (limited: boolean): number => {
    // A loop, not Math.max(...): a long run has up to 10^6 buckets per link, past the argument
    // limit of a spread call (RangeError: Maximum call stack size exceeded).
    let m = 0;
    for (const seg of segs) if ((bandwidthOf(seg) !== null) === limited) for (const v of values(seg)) if (v > m) m = v;
    return m > 0 ? (limited ? Math.min(100, niceCeil(m)) : niceCeil(m)) : limited ? 100 : 1;
  };
  const pctMax = peak(true), mibMax = peak(false);
  const top = 76, bottom = 64;
  const end = r6((bucketCount(results) * tl.bucketPs) / unit.ps);
  const x = (i: number): number => r6(((i + 0.5) * tl.bucketPs) / unit.ps);
  const panels = segs.map((seg, k) => {
    const bw = bandwidthOf(seg);
    const y0 = top + k * LINK_PANEL_PX;
    return {
      title: { text: bw === null ? `${seg} (unlimited): MiB per bucket` : `${seg} (${formatRate(bw)}): % of bandwidth`, left: 72, top: y0, textStyle: { fontSize: 12, fontWeight: 'normal' as const } },
      grid: { left: 72, right: 40, top: y0 + 20, height: LINK_PANEL_PX - 36 },
      xAxis: {
        type: 'value' as const, gridIndex: k, min: 0, max: end, axisLabel: { show: k === segs.length - 1 },
        ...(k === segs.length - 1 ? { name: `time (${unit.label})`, nameLocation: 'middle' as const, nameGap: 28 } : {}),
      },
      yAxis: { type: 'value' as const, gridIndex: k, min: 0, max: bw === null ? mibMax : pctMax, splitNumber: 2, name: bw === null ? 'MiB' : '%', nameGap: 6 },
      series: {
        type: 'line' as const, name: seg, xAxisIndex: k, yAxisIndex: k, showSymbol: false, sampling: 'lttb' as const, areaStyle: { opacity: 0.25 },
        ...(bw === null ? { lineStyle: { type: 'dashed' as const } } : {}),
        data: values(seg).map((v, i) => [x(i), v]),
      } satisfies LineSeriesOption,
    };
  });
  const all = panels.map((_, k) => k);
  const base = chartBase('Link utilisation', 'one panel per link direction, same axes: bytes carried per bucket as % of its bandwidth (unlimited: MiB)');
  const option: EChartsOption = segs.length === 0
    ? { ...base, xAxis: timeAxis(results, unit), yAxis: { type: 'value', name: '% of bandwidth', min: 0 }, series: [] }
    : {
        ...base,
        title: [base.title as object, ...panels.map((p) => p.title)],
        legend: { show: false },
        grid: panels.map((p) => p.grid),
        xAxis: panels.map((p) => p.xAxis),
        yAxis: panels.map((p) => p.yAxis),
        dataZoom: [{ type: 'inside', xAxisIndex: all }, { type: 'slider', xAxisIndex: all, height: 16, bottom: 8 }],
        series: panels.map((p) => p.series),
      };
  return {
    name: 'link-utilisation', title: 'Link utilisation',
    option: segs.length === 0 ? noData(option, 'no link samples') : option,
    ...(segs.length === 0 ? {} : { height: top + segs.length * LINK_PANEL_PX + bottom }),
  };
}

/** Log-spaced histogram of fault latencies in µs. */
export interface LatencyHistogram {
  /** Bin edges in µs, ascending; bin i is [edges[i], edges[i+1]) (the last bin includes its top edge). */
  edgesUs: number[];
  counts: number[];
}

/**
 * A latency histogram (ps, results.json `faultLatency`) rebinned on log-spaced bins in µs,
 * `binsPerDecade` per power of ten, from the decade-fraction at or below the smallest value to
 * the one at or above the largest. Each fine bucket goes to the bin of the value it stands for
 * (`bucketValue`, clamped to the exact min and max), so a value within HISTOGRAM_RELATIVE_PRECISION of a bin edge may be
 * drawn in the neighbouring bin. Zero latencies count in the first bin. Empty input gives no bins.
 */
export function latencyHistogram(h: HistogramJson, binsPerDecade = 10): LatencyHistogram {
  if (h.count === 0) return { edgesUs: [], counts: [] };
  if (h.max === 0) return { edgesUs: [0, 1], counts: [h.count] };
  const value = (low: number) => Math.min(h.max, Math.max(h.min, bucketValue(low, h.subBits)));
  const firstPositive = h.buckets.find(([low]) => value(low) > 0)!;
  const minPositive = h.min > 0 ? h.min : value(firstPositive[0]);
  const lo = Math.floor(Math.log10(minPositive / 1e6) * binsPerDecade);
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(h.max / 1e6) * binsPerDecade));
  const n = hi - lo;
  const edgesUs = Array.from({ length: n + 1 }, (_, k) => Number((10 ** ((lo + k) / binsPerDecade)).toPrecision(6)));
  const counts = new Array<number>(n).fill(0);
  for (const [low, c] of h.buckets) {
    const v = value(low) / 1e6;
    const k = v > 0 ? Math.floor(Math.log10(v) * binsPerDecade) - lo : 0;
    counts[Math.min(n - 1, Math.max(0, k))] += c;
  }
  return { edgesUs, counts };
}

function formatUs(v: number): string {
  return v >= 100 ? trimFixed(v, 0) : trimFixed(Number(v.toPrecision(3)), 6);
}

function latencyChart(results: RunResults): ChartSpec {
  const lat = results.faultLatency;
  const h = latencyHistogram(lat);
  const labels = h.counts.map((_, i) => `${formatUs(h.edgesUs[i])}–${formatUs(h.edgesUs[i + 1])}`);
  const sub = lat.count === 0
    ? 'no faults serviced'
    : `${formatCount(lat.count)} faults; p50 ${formatTime(quantileOf(lat, 0.5))}, p99 ${formatTime(quantileOf(lat, 0.99))}, ` +
      `max ${formatTime(lat.max)}; log-spaced bins`;
  const option: EChartsOption = {
    ...chartBase('Fault service latency', sub),
    xAxis: { type: 'category', name: 'latency (µs), raise to replay', nameLocation: 'middle', nameGap: 40, data: labels, axisLabel: { rotate: 30 } },
    yAxis: { type: 'value', name: 'faults' },
    grid: { left: 72, right: 40, top: 76, bottom: 80 },
    series: [{ type: 'bar', name: 'faults', data: h.counts, barCategoryGap: '8%' }],
  };
  return { name: 'fault-latency', title: 'Fault service latency', option: lat.count === 0 ? noData(option, 'no faults serviced') : option };
}

const DRIVER_FIELDS: readonly (keyof TimeBreakdown)[] = ['faultService', 'pinning', 'copy', 'map', 'invalidation'];
const LANE_FIELDS: readonly (keyof TimeBreakdown)[] = ['stall', 'busy'];
const FIELD_LABELS: Record<keyof TimeBreakdown, string> = {
  faultService: 'fault service', pinning: 'pinning (registration)', copy: 'copy', map: 'map', invalidation: 'invalidation', stall: 'lane stall (lane-seconds)', busy: 'lane busy (lane-seconds)',
};

/**
 * Where each device's time went, on log axes with one bar per bucket (not stacked): lane stall
 * is often 10^3-10^5 times lane busy (every lane waits on each batch), which a linear stacked
 * bar drew as nothing at all. Each bar is labelled with its time; a zero has no bar (log
 * axes have no 0). Driver work (left) and lane-seconds (right) stay apart: they overlap in time.
 */
function breakdownChart(results: RunResults): ChartSpec {
  const ids = results.devices.map((d) => d.id);
  const values = (fields: readonly (keyof TimeBreakdown)[]): number[] => results.devices.flatMap((d) => fields.map((f) => d.time[f])).filter((v) => v > 0);
  const driverUnit = timeUnit(Math.max(0, ...values(DRIVER_FIELDS)));
  const laneUnit = timeUnit(Math.max(0, ...values(LANE_FIELDS)));
  const bars = (fields: readonly (keyof TimeBreakdown)[], grid: number, unit: { ps: number }): BarSeriesOption[] =>
    fields.map((f) => ({
      type: 'bar', name: FIELD_LABELS[f], xAxisIndex: grid, yAxisIndex: grid, barMaxWidth: 14,
      label: { show: true, position: 'right', fontSize: 10, color: '#444' },
      data: results.devices.map((d) => (d.time[f] > 0 ? { value: r6(d.time[f] / unit.ps), label: { formatter: formatTime(d.time[f]) } } : '-')),
    }));
  const logAxis = (grid: number, name: string): object => ({
    type: 'log', gridIndex: grid, name, nameLocation: 'middle', nameGap: 28, logBase: 10,
    axisLabel: { hideOverlap: true },
  });
  const option: EChartsOption = {
    ...chartBase('Where each device\'s time went', 'log scale, each bar labelled: driver work (left); lane-seconds summed over every lane (right; can exceed the run); the two overlap'),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 40, left: 12, type: 'scroll' },
    grid: [
      { left: 72, right: '54%', top: 88, bottom: 56 },
      { left: '54%', right: 56, top: 88, bottom: 56 },
    ],
    xAxis: [logAxis(0, `driver (${driverUnit.label}, log)`), logAxis(1, `lane-seconds (lane-${laneUnit.label}, log)`)] as EChartsOption['xAxis'],
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
