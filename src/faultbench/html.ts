// `--out DIR`: faultbench.html, one self-contained page (the conventions of report/html.ts:
// ECharts inlined from node_modules, chart options computed here as plain JSON and embedded in
// <script id="hetmem-charts" type="application/json">, one <div id="chart-NAME"
// data-chart="NAME"> per chart, window.__hetmemChartsReady set to the charts set up). The page
// holds every measure's table (profiles as columns, n/a with footnotes) and the charts: single
// fault latency, fault-latency histograms under load, bandwidth curves, throughput against batch
// size and lanes, oversubscription curves, the SVM pain points, invalidation stalls and the
// driver comparison. No cell goes missing silently: an n/a bar is an "n/a" label at the
// profile's place in its category, with the table's footnote in its tooltip; a line chart names
// the profiles it has no line for, and why, under the plot.
import type { BarSeriesOption, EChartsOption, LineSeriesOption } from 'echarts';
import { chartDivs, chartInitScript, chartScriptsAndEnd, escapeHtml, pageHead } from '../report/html.ts';
import { chartBase, LEGEND_ROW_PX, legendRows, wrappedLines } from '../report/charts.ts';
import { cellText, footnotes, formatValue } from './table.ts';
import { sizeLabel } from './bandwidth.ts';
import { EVENT_SHORT, SVM_PAIN_POINTS, isPainPoint, type InvalidationEvent } from './invalidation.ts';
import { MEASURE_IDS, type FaultbenchResults, type MeasureId, type MeasureTable, type Row } from './types.ts';

/** One chart of the page; `height` is its container's height in px. */
export interface FaultbenchChart {
  name: string;
  title: string;
  option: EChartsOption;
  height: number;
}

/** The charts of the page, in page order (a chart whose measure did not run is left out). */
export const FAULTBENCH_CHART_NAMES = [
  'latency', 'latency-histogram', 'bandwidth', 'throughput-batch', 'throughput-lanes',
  'oversubscription-stream', 'oversubscription-random', 'svm-pain-points', 'invalidation', 'drivers', 'drivers-readback',
] as const;

// Layout. Chart options are plain JSON, laid out here once for the narrowest container the page
// allows (LAYOUT_PX, the .chart min-width): the legend gets rows of its own under the title,
// computed from upper bounds of the text widths, and the grid starts below them; the grid
// contains its axis labels and names (outerBoundsMode 'same'), which wrap rather than rotate out
// of the container. A wider container only leaves room to spare.
/** The narrowest chart container the layout is computed for, px. */
const LAYOUT_PX = 820;
/** Height of every chart's plot area (without labels), px. */
const PLOT_PX = 250;
/** Room above the plot for the value axis's name, px. */
const AXIS_NAME_PX = 24;

/** The frame of a chart: title, wrapped subtext, legend rows, grid, notes at the bottom; and its height. */
function frame(title: string, subtext: string, legend: readonly string[], belowPx: number, notes: readonly string[] = []): { option: EChartsOption; height: number } {
  const subWidth = LAYOUT_PX - 12 - 48; // the toolbox sits at the right
  const titleBottom = 6 + 5 + 20 + 10 + wrappedLines(subtext, subWidth) * 16 + 5;
  const legendTop = titleBottom + 4;
  const gridTop = legendTop + legendRows(legend, LAYOUT_PX - 24) * LEGEND_ROW_PX + 12;
  const noteText = notes.join('\n');
  const notesPx = notes.length === 0 ? 0 : wrappedLines(noteText, LAYOUT_PX - 24, 11) * 15 + 8;
  const bottom = 8 + notesPx;
  const base = chartBase(title, subtext);
  const option: EChartsOption = {
    ...base,
    title: { text: title, subtext, left: 12, top: 6, textStyle: { fontSize: 15 }, subtextStyle: { width: subWidth, overflow: 'break', lineHeight: 16 } },
    legend: { type: 'plain', top: legendTop, left: 12, right: 12 },
    grid: { left: 16, right: 32, top: gridTop, bottom, outerBoundsMode: 'same', outerBoundsContain: 'all' },
  };
  if (notes.length > 0) {
    option.graphic = [{
      type: 'text', left: 12, bottom: 8,
      style: { text: noteText, width: LAYOUT_PX - 24, overflow: 'break', fontSize: 11, lineHeight: 15, fill: '#555' },
    }];
  }
  return { option, height: gridTop + AXIS_NAME_PX + PLOT_PX + belowPx + bottom };
}

function noData(option: EChartsOption, what: string): EChartsOption {
  const note = { type: 'text' as const, left: 'center', top: 'middle', style: { text: what, fontSize: 14, fill: '#888' } };
  return { ...option, graphic: [...(Array.isArray(option.graphic) ? option.graphic : []), note] };
}

/** ECharts' default palette: profile i always gets colour i, in every chart. */
const PALETTE = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4', '#ea7ccc'];
const LINE_TYPES: ('solid' | 'dashed' | 'dotted' | number[])[] = ['solid', 'dashed', 'dotted', [12, 4, 2, 4]];
const SYMBOLS = ['circle', 'triangle', 'rect', 'diamond'] as const;
const colourOf = (r: FaultbenchResults, p: string): string => PALETTE[r.profiles.indexOf(p) % PALETTE.length];

const measure = (r: FaultbenchResults, id: MeasureId): MeasureTable | undefined => r.measures.find((m) => m.id === id);
const value = (row: Row, p: string): number | null => row.cells[p]?.value ?? null;
const noteOf = (row: Row, p: string): string => row.cells[p]?.note ?? 'no number for this profile';

/** A bar's data item. ECharts reads a per-item tooltip (series-bar.data.tooltip) that its types leave out. */
type BarItem = Exclude<NonNullable<BarSeriesOption['data']>[number], unknown[] | Date | string | number | null | undefined> & { tooltip?: { formatter: string } };

/**
 * The bar of an n/a cell: no height, an "n/a" label standing at the profile's place in the
 * category, and the reason in its tooltip.
 */
function naBar(profile: string, category: string, reason: string, at: number): BarItem {
  return {
    value: at,
    itemStyle: { color: 'rgba(0,0,0,0)' },
    label: {
      show: true, formatter: 'n/a', position: 'insideBottom', rotate: 90, align: 'left', verticalAlign: 'middle', distance: 4,
      fontSize: 10, color: '#444', backgroundColor: '#e6e6e6', borderColor: '#999', borderWidth: 1, borderRadius: 2, padding: [2, 3],
    },
    tooltip: { formatter: escapeHtml(`${profile}, ${category}: n/a. ${reason}`) },
  };
}

/** Options of barsByRow. */
interface BarsOptions {
  log?: boolean;
  /** The category of a row (default: its label). */
  category?: (row: Row) => string;
  /** The tooltip of a number (default: profile, category, value and unit). */
  tooltip?: (row: Row, profile: string, value: number) => string;
}

/**
 * Bars: one category per row, one series per profile. An n/a cell is an "n/a" marker with its
 * reason; on a log axis a number ≤ 0 stands at the axis minimum with its value as the label.
 */
function barsByRow(r: FaultbenchResults, rows: readonly Row[], name: string, title: string, sub: string, unit: string, opts: BarsOptions = {}): FaultbenchChart {
  const category = opts.category ?? ((row: Row) => row.label);
  const cats = rows.map(category);
  const positive = rows.flatMap((row) => r.profiles.map((p) => value(row, p))).filter((v): v is number => v !== null && v > 0);
  const log = opts.log === true;
  const floor = log && positive.length > 0 ? 10 ** Math.floor(Math.log10(Math.min(...positive))) : 0;
  const tip = opts.tooltip ?? ((row: Row, p: string, v: number) => `${p}, ${category(row)}: ${formatValue(v)} ${unit}`);
  const series: BarSeriesOption[] = r.profiles.map((p) => ({
    type: 'bar', name: p, itemStyle: { color: colourOf(r, p) },
    data: rows.map((row, i): BarItem => {
      const v = value(row, p);
      if (v === null) return naBar(p, cats[i], noteOf(row, p), floor);
      const item: BarItem = { value: v, tooltip: { formatter: escapeHtml(tip(row, p, v)) } };
      if (log && v <= 0) return { ...item, value: floor, label: { show: true, formatter: formatValue(v), position: 'insideBottom' as const, fontSize: 10 } };
      return item;
    }),
  }));
  // Category labels wrap inside their slot at the narrowest layout.
  const slot = Math.floor((LAYOUT_PX - 120) / Math.max(1, cats.length)) - 8;
  const lines = Math.max(1, ...cats.map((c) => wrappedLines(c, slot, 11)));
  const { option: base, height } = frame(title, sub, r.profiles, lines * 14 + 12);
  const option: EChartsOption = {
    ...base,
    tooltip: { trigger: 'item' },
    xAxis: { type: 'category', data: cats, axisLabel: { interval: 0, width: slot, overflow: 'break', fontSize: 11, lineHeight: 14 } },
    yAxis: log ? { type: 'log', name: unit, min: floor || undefined } : { type: 'value', name: unit },
    series,
  };
  return { name, title, height, option: positive.length > 0 ? option : noData(option, 'no profile has a number here') };
}

/**
 * What a line chart has no number for: reason (the table's footnote) → profile → the lines or
 * points missing ('' for every line of the profile).
 */
type Missing = Map<string, Map<string, string[]>>;

function addMissing(m: Missing, reason: string, profile: string, what: string): void {
  let byProfile = m.get(reason);
  if (!byProfile) m.set(reason, (byProfile = new Map()));
  const list = byProfile.get(profile) ?? [];
  if (!list.includes(what)) list.push(what);
  byProfile.set(profile, list);
}

/** The notes under a chart: "n/a: profile (lines), profile: reason", one per reason. */
function naNotes(m: Missing): string[] {
  return [...m].map(([reason, byProfile]) => {
    const who = [...byProfile].map(([p, what]) => (what.includes('') ? p : `${p} (${what.join(', ')})`));
    return `n/a: ${who.join(', ')}: ${reason}`;
  });
}

/** Lines over a numeric x: one series per (profile, group); colour = profile, line type and symbol = group. */
function lines(
  r: FaultbenchResults, rows: readonly Row[], name: string, title: string, sub: string,
  x: (row: Row) => number, group: (row: Row) => string, xName: string, yName: string, opts: { logX?: boolean; logY?: boolean } = {},
): FaultbenchChart {
  const groups = [...new Set(rows.map(group))];
  const series: LineSeriesOption[] = [];
  const missing: Missing = new Map();
  const xs = rows.map(x);
  for (const p of r.profiles) {
    const lost = new Map<string, string[]>(); // reason → groups of p with no number at all
    groups.forEach((g, gi) => {
      const mine = rows.filter((row) => group(row) === g);
      const who = g === '' ? p : `${p} ${g}`;
      const data: [number, number][] = [];
      const none = mine.every((o) => value(o, p) === null);
      for (const row of mine) {
        const v = value(row, p);
        if (v === null && none) {
          const why = noteOf(row, p);
          if (!(lost.get(why) ?? []).includes(g)) lost.set(why, [...(lost.get(why) ?? []), g]);
        } else if (v === null || (opts.logY && v <= 0)) {
          const why = v === null ? noteOf(row, p) : `${formatValue(v)} cannot be drawn on a log axis`;
          addMissing(missing, why, p, `${g === '' ? '' : `${g} `}at ${formatValue(x(row))}`);
        } else data.push([x(row), v]);
      }
      if (data.length === 0) return;
      series.push({
        type: 'line', name: who, data, symbolSize: 7, symbol: SYMBOLS[gi % SYMBOLS.length],
        itemStyle: { color: colourOf(r, p) }, lineStyle: { color: colourOf(r, p), type: LINE_TYPES[gi % LINE_TYPES.length] },
      });
    });
    // A profile with no number on any line for one reason is named alone.
    for (const [why, gs] of lost) {
      for (const g of gs.length === groups.length ? [''] : gs) addMissing(missing, why, p, g);
    }
  }
  const [xMin, xMax] = xs.length > 0 ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const { option: base, height } = frame(title, sub, series.map((s) => String(s.name)), 16 + 34, naNotes(missing));
  const option: EChartsOption = {
    ...base,
    xAxis: opts.logX
      ? { type: 'log', name: xName, nameLocation: 'middle', nameGap: 30, logBase: 2, min: xMin, max: xMax }
      : { type: 'value', name: xName, nameLocation: 'middle', nameGap: 30, min: xMin, max: xMax },
    yAxis: opts.logY ? { type: 'log', name: yName } : { type: 'value', name: yName },
    series,
  };
  return { name, title, height, option: series.length === 0 ? noData(option, 'no profile has a number here') : option };
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
  // A profile without a histogram has no number in the throughput table: its footnote says why.
  const missing: Missing = new Map();
  for (const p of r.profiles) {
    if (hs.some((h) => h.profile === p)) continue;
    const row = t.rows.find((x) => value(x, p) === null);
    addMissing(missing, row ? noteOf(row, p) : 'no faults recorded', p, '');
  }
  const title = 'Fault latency under load';
  const { option: base, height } = frame(title,
    `raise → replay of every fault of the throughput run at each profile's own batch size (${hs[0]?.label.replace(/, batch \d+/, '') ?? ''}); log-spaced bins`,
    series.map((s) => String(s.name)), 60 + 30, naNotes(missing));
  const option: EChartsOption = {
    ...base,
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'category', name: 'latency (µs, bin lower edge)', nameLocation: 'middle', nameGap: 44, data: edges.map(fmt), axisLabel: { rotate: 30, fontSize: 11 } },
    yAxis: { type: 'value', name: 'faults' },
    series,
  };
  return { name: 'latency-histogram', title, height, option: hs.length === 0 ? noData(option, 'no faults') : option };
}

/** The SVM pain points: time until the device runs again after each, with the faults and shootdown in the tooltip. */
function painPointsChart(r: FaultbenchResults, inv: MeasureTable): FaultbenchChart {
  const rowOf = (e: InvalidationEvent, metric: string) => inv.rows.find((row) => row.params.event === e && row.params.metric === metric);
  const rows = SVM_PAIN_POINTS.map((e) => rowOf(e, 'stall')).filter((row): row is Row => row !== undefined);
  const eventOf = (row: Row) => row.params.event as InvalidationEvent;
  return barsByRow(r, rows, 'svm-pain-points', 'SVM pain points: time until the device runs again',
    'fork, THP split, THP collapse and NUMA migration of a mirrored 2 MiB range: shootdown plus re-faults, per profile (log axis; the tooltip has the faults and the shootdown time)',
    'µs', {
      log: true,
      category: (row) => EVENT_SHORT[eventOf(row)],
      tooltip: (row, p, v) => {
        const faults = value(rowOf(eventOf(row), 'faults')!, p), shoot = value(rowOf(eventOf(row), 'shootdown')!, p);
        return `${p}, ${EVENT_SHORT[eventOf(row)]}: ${formatValue(v)} µs until the device runs again; ${formatValue(faults ?? 0)} faults afterwards; ${formatValue(shoot ?? 0)} µs shootdown`;
      },
    });
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
  out.push(inv ? painPointsChart(r, inv) : null);
  out.push(inv ? barsByRow(r, inv.rows.filter((row) => row.params.metric === 'stall'), 'invalidation', 'Invalidation cost: time until the device runs again',
    'extra time of a kernel re-reading a mirrored 2 MiB range after each CPU-side event (* an SVM pain point)', 'µs', {
      category: (row) => {
        const e = row.params.event as InvalidationEvent;
        return `${EVENT_SHORT[e]}${isPainPoint(e) ? ' *' : ''}`;
      },
    }) : null);
  const dr = measure(r, 'drivers');
  for (const [name, metric, what] of [['drivers', 'kernel', 'kernel time'], ['drivers-readback', 'readback', 'until the CPU has read it back']] as const) {
    out.push(dr ? barsByRow(r, dr.rows.filter((row) => (row.params.metric === 'kernel') === (metric === 'kernel')), name, `SVA/PRI vs HMM mirror vs pinning: ${what}`,
      `the same kernel on each driver kind, ${metric === 'kernel' ? 'launch to end' : 'launch to the end of the CPU\'s read-back'} (log axis)`, 'µs', {
        log: true,
        category: (row) => `${row.params.kernel} kernel on ${row.params.driver}`,
      }) : null);
  }
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
.chart { width: 100%; min-width: 820px; height: 420px; background: #fff; border: 1px solid #e3e3e3; margin: 0 0 16px; }
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
