// `--out DIR`: faultbench.html, one self-contained page (the conventions of report/html.ts:
// ECharts inlined from node_modules, chart options computed here as plain JSON and embedded in
// <script id="hetmem-charts" type="application/json">, one <div id="chart-NAME"
// data-chart="NAME"> per chart, window.__hetmemChartsReady set to the charts set up). The page
// holds every measure's table (profiles as columns, n/a with footnotes) and the charts: single
// fault latency, fault-latency histograms under load, bandwidth curves, throughput against batch
// size and lanes, oversubscription curves, invalidation stalls and the driver comparison.
import type { BarSeriesOption, EChartsOption, LineSeriesOption } from 'echarts';
import { chartDivs, chartInitScript, chartScriptsAndEnd, escapeHtml, pageHead } from '../report/html.ts';
import { chartBase } from '../report/charts.ts';
import { cellText, footnotes } from './table.ts';
import { sizeLabel } from './bandwidth.ts';
import { MEASURE_IDS, type FaultbenchResults, type MeasureId, type MeasureTable, type Row } from './types.ts';

/** One chart of the page. */
export interface FaultbenchChart {
  name: string;
  title: string;
  option: EChartsOption;
}

/** The charts of the page, in page order (a chart whose measure did not run is left out). */
export const FAULTBENCH_CHART_NAMES = [
  'latency', 'latency-histogram', 'bandwidth', 'throughput-batch', 'throughput-lanes',
  'oversubscription-stream', 'oversubscription-random', 'invalidation', 'drivers',
] as const;

/** The report's chart frame with room for a legend of many profiles under the title. */
function base(title: string, subtext: string): EChartsOption {
  return {
    ...chartBase(title, subtext),
    legend: { top: 52, left: 12, right: 12, type: 'scroll' },
    grid: { left: 80, right: 40, top: 96, bottom: 64 },
  };
}

function noData(option: EChartsOption, what: string): EChartsOption {
  return { ...option, graphic: [{ type: 'text', left: 'center', top: 'middle', style: { text: what, fontSize: 14, fill: '#888' } }] };
}

/** ECharts' default palette: profile i always gets colour i, in every chart. */
const PALETTE = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4', '#ea7ccc'];
const LINE_TYPES: ('solid' | 'dashed' | 'dotted' | number[])[] = ['solid', 'dashed', 'dotted', [12, 4, 2, 4]];
const SYMBOLS = ['circle', 'triangle', 'rect', 'diamond'] as const;
const colourOf = (r: FaultbenchResults, p: string): string => PALETTE[r.profiles.indexOf(p) % PALETTE.length];

const measure = (r: FaultbenchResults, id: MeasureId): MeasureTable | undefined => r.measures.find((m) => m.id === id);
const value = (row: Row, p: string): number | null => row.cells[p]?.value ?? null;

/** Bars: one category per row, one series per profile (n/a → no bar). */
function barsByRow(r: FaultbenchResults, rows: readonly Row[], name: string, title: string, sub: string, yName: string, log = false): FaultbenchChart {
  const series: BarSeriesOption[] = r.profiles.map((p) => ({ type: 'bar', name: p, itemStyle: { color: colourOf(r, p) }, data: rows.map((row) => value(row, p)) }));
  const any = rows.some((row) => r.profiles.some((p) => value(row, p) !== null && value(row, p)! > 0));
  const option: EChartsOption = {
    ...base(title, sub),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 80, right: 40, top: 96, bottom: 120 },
    xAxis: { type: 'category', data: rows.map((row) => row.label), axisLabel: { rotate: 20, interval: 0, fontSize: 10 } },
    yAxis: log ? { type: 'log', name: yName } : { type: 'value', name: yName },
    series,
  };
  return { name, title, option: any ? option : noData(option, 'no profile has a number here') };
}

/** Lines over a numeric x: one series per (profile, group); colour = profile, line type and symbol = group. */
function lines(
  r: FaultbenchResults, rows: readonly Row[], name: string, title: string, sub: string,
  x: (row: Row) => number, group: (row: Row) => string, xName: string, yName: string, opts: { logX?: boolean; logY?: boolean } = {},
): FaultbenchChart {
  const groups = [...new Set(rows.map(group))];
  const series: LineSeriesOption[] = [];
  const xs = rows.map(x);
  for (const p of r.profiles) {
    groups.forEach((g, gi) => {
      const data = rows.filter((row) => group(row) === g).map((row) => [x(row), value(row, p)] as [number, number | null])
        .filter(([, v]) => v !== null && (!opts.logY || v > 0));
      if (data.length === 0) return;
      series.push({
        type: 'line', name: g === '' ? p : `${p} ${g}`, data, symbolSize: 7, symbol: SYMBOLS[gi % SYMBOLS.length],
        itemStyle: { color: colourOf(r, p) }, lineStyle: { color: colourOf(r, p), type: LINE_TYPES[gi % LINE_TYPES.length] },
      });
    });
  }
  const [xMin, xMax] = xs.length > 0 ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const option: EChartsOption = {
    ...base(title, sub),
    xAxis: opts.logX
      ? { type: 'log', name: xName, nameLocation: 'middle', nameGap: 28, logBase: 2, min: xMin, max: xMax }
      : { type: 'value', name: xName, nameLocation: 'middle', nameGap: 28, min: xMin, max: xMax },
    yAxis: opts.logY ? { type: 'log', name: yName } : { type: 'value', name: yName },
    series,
  };
  return { name, title, option: series.length === 0 ? noData(option, 'no profile has a number here') : option };
}

function latencyHistogramChart(r: FaultbenchResults): FaultbenchChart | null {
  const t = measure(r, 'throughput');
  if (!t) return null;
  const hs = t.histograms ?? [];
  // Every histogram uses the same log grid (10 bins per decade), so bins line up by lower edge.
  const edges = [...new Set(hs.flatMap((h) => h.edgesUs.slice(0, -1)))].sort((a, b) => a - b);
  const fmt = (v: number) => (v >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3))));
  const series: BarSeriesOption[] = hs.map((h) => {
    const at = new Map(h.edgesUs.slice(0, -1).map((e, i) => [e, h.counts[i]]));
    return {
      type: 'bar', name: `${h.profile} (p50 ${h.p50Us} µs, p99 ${h.p99Us} µs)`, itemStyle: { color: colourOf(r, h.profile) },
      data: edges.map((e) => at.get(e) ?? 0), barGap: '0%',
    };
  });
  const title = 'Fault latency under load';
  const option: EChartsOption = {
    ...base(title, `raise → replay of every fault of the throughput run at each profile's own batch size (${hs[0]?.label.replace(/, batch \d+/, '') ?? ''}); log-spaced bins`),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'category', name: 'latency (µs, bin lower edge)', nameLocation: 'middle', nameGap: 44, data: edges.map(fmt), axisLabel: { rotate: 30 } },
    yAxis: { type: 'value', name: 'faults' },
    series,
  };
  return { name: 'latency-histogram', title, option: hs.length === 0 ? noData(option, 'no faults') : option };
}

/** The charts of the measures present in `r`, in FAULTBENCH_CHART_NAMES order. */
export function faultbenchCharts(r: FaultbenchResults): FaultbenchChart[] {
  const out: (FaultbenchChart | null)[] = [];
  const lat = measure(r, 'latency');
  out.push(lat ? barsByRow(r, lat.rows, 'latency', 'Single-fault latency', 'one device access that faults, raised → replayed', 'µs') : null);
  out.push(latencyHistogramChart(r));
  const bw = measure(r, 'bandwidth');
  out.push(bw ? lines(r, bw.rows, 'bandwidth', 'Migration bandwidth against transfer size',
    'GB/s by size (log axes), colour = profile, line = path (h2d solid, d2h dashed, peer link dotted, peer through RAM dash-dot)',
    (row) => Number(row.params.bytes) / 1024, (row) => String(row.params.path), 'transfer size (KiB)', 'GB/s', { logX: true, logY: true }) : null);
  const tp = measure(r, 'throughput');
  out.push(tp ? lines(r, tp.rows.filter((row) => row.params.sweep === 'batch'), 'throughput-batch', 'Fault throughput against batch size',
    `pages made accessible per second, ${tp.rows.find((row) => row.params.sweep === 'batch')?.params.lanes ?? ''} concurrently faulting lanes`,
    (row) => Number(row.params.batch), () => '', 'fault batch size', 'faults/s', { logX: true, logY: true }) : null);
  out.push(tp ? lines(r, tp.rows.filter((row) => row.params.sweep === 'lanes'), 'throughput-lanes', 'Fault throughput against concurrently faulting lanes',
    'pages made accessible per second at each profile\'s own batch size', (row) => Number(row.params.lanes), () => '', 'lanes', 'faults/s', { logX: true, logY: true }) : null);
  const ov = measure(r, 'oversubscription');
  for (const k of ['stream', 'random'] as const) {
    out.push(ov ? lines(r, ov.rows.filter((row) => row.params.kernel === k), `oversubscription-${k}`, `Oversubscription: ${k} kernel`,
      'page accesses per second against working set / device memory, one line per profile and eviction policy',
      (row) => Number(row.params.factor), (row) => String(row.params.policy), 'working set / device memory', 'accesses/s', { logY: true }) : null);
  }
  const inv = measure(r, 'invalidation');
  out.push(inv ? barsByRow(r, inv.rows.filter((row) => row.params.metric === 'stall'), 'invalidation', 'Invalidation cost: time until the device runs again',
    'extra time of a kernel re-reading a mirrored 2 MiB range after each CPU-side event', 'µs') : null);
  const dr = measure(r, 'drivers');
  out.push(dr ? barsByRow(r, dr.rows, 'drivers', 'SVA/PRI vs HMM mirror vs pinning', 'the same kernel on each driver kind (log axis)', 'µs', true) : null);
  return out.filter((c): c is FaultbenchChart => c !== null);
}

function tableHtml(t: MeasureTable, profiles: readonly string[], info: FaultbenchResults['profileInfo']): string {
  const notes = footnotes(t, profiles);
  const th = (s: string, num = false) => `<th${num ? ' class="num"' : ''}>${escapeHtml(s)}</th>`;
  const td = (s: string, num = false) => `<td${num ? ' class="num"' : ''}>${escapeHtml(s)}</td>`;
  return [
    `<h2 id="${t.id}">${MEASURE_IDS.indexOf(t.id) + 1}. ${escapeHtml(t.title)}</h2>`,
    `<p class="meaning">${escapeHtml(t.meaning)}</p>`,
    '<div class="scroll"><table>',
    `<thead><tr>${th('case')}${th('unit')}${profiles.map((p) => `<th class="num" title="${escapeHtml(`${info[p].driver}, ${info[p].link}`)}">${escapeHtml(p)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...t.rows.map((r) => `<tr>${td(r.label)}${td(r.unit)}${profiles.map((p) => td(cellText(r.cells[p], notes), true)).join('')}</tr>`),
    '</tbody></table></div>',
    notes.size === 0 ? '' : `<ol class="notes">${[...notes.keys()].map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ol>`,
  ].join('\n');
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; padding: 16px 24px; max-width: 1500px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 17px; margin: 24px 0 4px; }
.meaning { color: #555; margin: 0 0 8px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; }
th { background: #f0f0f0; font-weight: 600; } .num { text-align: right; }
ol.notes { color: #555; font-size: 13px; margin: 6px 0 0; }
.chart { width: 100%; height: 420px; background: #fff; border: 1px solid #e3e3e3; margin: 0 0 16px; }
.chart.failed { height: auto; padding: 12px; color: #b00020; }
`;

const INIT = chartInitScript('hetmem faultbench');

/** The page of a faultbench run. Self-contained and deterministic (identical results give identical bytes). */
export function renderFaultbenchHtml(r: FaultbenchResults): string {
  const charts = faultbenchCharts(r);
  const info = r.profileInfo;
  const profiles = [
    '<div class="scroll"><table>',
    '<thead><tr><th>profile</th><th>driver</th><th>host link</th><th>peer link</th><th class="num">device memory</th></tr></thead><tbody>',
    ...r.profiles.map((p) => `<tr><td>${escapeHtml(p)}</td><td>${escapeHtml(info[p].driver)}</td><td>${escapeHtml(info[p].link)}</td><td>${escapeHtml(info[p].peer ?? 'none')}</td><td class="num">${escapeHtml(info[p].memory === 0 ? 'none' : sizeLabel(info[p].memory))}</td></tr>`),
    '</tbody></table></div>',
  ].join('\n');
  return [
    ...pageHead(`hetmem faultbench: ${r.profiles.join(', ')}`, STYLE),
    `<h1>hetmem faultbench</h1>`,
    `<p>seed ${r.seed}${r.quick ? ', quick run' : ''}; every number is simulated time from the model, deterministic for the seed.</p>`,
    profiles,
    '<h2>Charts</h2>',
    ...chartDivs(charts),
    ...r.measures.map((t) => tableHtml(t, r.profiles, info)),
    ...chartScriptsAndEnd(charts, INIT),
  ].join('\n');
}
