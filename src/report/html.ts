// report.html: one self-contained page (opens from file:// without network) with the run's
// summary tables and ECharts charts. The ECharts library is inlined from node_modules; chart
// options are computed in Node (charts.ts) and embedded as JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BATCH_FIELDS, type RunResults } from '../sim/results.ts';
import { formatBytes } from '../units/bytes.ts';
import { formatTime } from '../units/time.ts';
import { chartSpecs, type ChartSpec } from './charts.ts';
import { formatCount, formatPercent } from './format.ts';
import { quantileOf } from '../units/histogram.ts';
import {
  LANE_TIME_NOTE, LINK_HEAD, contentionLine, cpuBusy, ownerGroupsLine, peerAccessLine, linkCells, devicePulls, faultIdentity, faultTotals, faultOutcomeHeads, faultOutcomeNames, formatBandwidth, linkUtilisation,
  migrationsToRam, perLane,
} from './summary.ts';

let echartsSource: string | undefined;

/** The minified ECharts browser bundle (echarts/dist/echarts.min.js), read once. */
export function echartsLibrary(): string {
  if (echartsSource === undefined) {
    const path = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
    echartsSource = readFileSync(path, 'utf8');
  }
  return echartsSource;
}

/** Text safe inside HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * JSON for a <script type="application/json"> block: every '<' is written as \u003c, so no
 * value can close the script (`</script>`) or open an HTML comment; JSON.parse reads it back
 * unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** JavaScript source made safe to inline in a <script> element. */
function scriptSafe(js: string): string {
  // `<\/script` means the same as `</script` inside JS strings, regexes and comments, the only
  // places a library can contain it.
  return js.replace(/<\/(script)/gi, '<\\/$1');
}

function table(head: readonly string[], rows: readonly (readonly string[])[], numericFrom: number): string {
  const cell = (tag: 'th' | 'td', text: string, i: number): string =>
    `<${tag}${i >= numericFrom ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
  return [
    '<div class="scroll"><table>',
    `<thead><tr>${head.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`),
    '</tbody>',
    '</table></div>',
  ].join('\n');
}

/** Why a kernel can be far shorter than its siblings, under the kernel table. */
export const KERNEL_NOTE = 'A kernel that raised no faults found every page it touched mapped already (the prefetcher may have brought them in with an earlier kernel\'s batch) and ran at compute speed.';

function summaryHtml(r: RunResults): string {
  const lat = r.faultLatency;
  const facts: [string, string][] = [
    ['simulated time', formatTime(r.endPs)],
    ['events', formatCount(r.events)],
    ['seed', String(r.seed)],
    ['page data', r.data ? 'kept' : 'not kept (no-data mode)'],
    ['faults', faultIdentity(faultTotals(r))],
    ['fault latency', lat.count === 0 ? 'no faults serviced' : `p50 ${formatTime(quantileOf(lat, 0.5))}, p99 ${formatTime(quantileOf(lat, 0.99))} (${formatCount(lat.count)} faults)`],
    ['cpu', `${formatCount(r.cpu.faults)} faults, ${migrationsToRam(r.cpu)}, ${formatCount(r.cpu.cow)} COW, ${cpuBusy(r.cpu)}`],
  ];
  if (r.cpu.deviceMigrateToRam !== null) facts.push(['device pulls', devicePulls(r.cpu.deviceMigrateToRam)]);
  // Cross-device lines, as in the terminal summary: only for runs that have them.
  for (const [k, line] of [['peer access', peerAccessLine(r)], ['owner groups', ownerGroupsLine(r)], ['contention', contentionLine(r)]] as const) {
    if (line !== null) facts.push([k, line]);
  }
  if (r.devices.length > 0) facts.push(['lane time', LANE_TIME_NOTE]);
  // The fault columns after "faults raised" add up to it (DeviceMetrics.faults).
  const withPending = r.devices.some((d) => d.faults.pending > 0);
  const withBusy = r.devices.some((d) => d.faults.busy > 0);
  const devices = table(
    ['device', 'profile', 'driver', 'faults raised', ...faultOutcomeHeads(withPending, withBusy), 'batches', 'replays',
      'migrated in', 'migrated out', 'prefetched', 'evicted', 'thrashing', 'TLB inval.', 'fault service', 'pinning', 'copy', 'lanes',
      'lane stall, lane-seconds', 'per lane', 'lane busy, lane-seconds', 'per lane'],
    r.devices.map((d) => [
      d.id, d.profile, d.driver, formatCount(d.faults.raised), ...faultOutcomeNames(withPending, withBusy).map((k) => formatCount(d.faults[k])),
      formatCount(d.batches), formatCount(d.replays), formatBytes(d.bytesIn), formatBytes(d.bytesOut), `${formatCount(d.prefetched)} pages`,
      `${formatCount(d.evictions.pages)} pages`, formatCount(d.thrashing.events), formatCount(d.tlb.invalidations),
      formatTime(d.time.faultService), formatTime(d.time.pinning), formatTime(d.time.copy), d.lanes > 0 ? formatCount(d.lanes) : '-',
      formatTime(d.time.stall), perLane(d.time.stall, d.lanes), formatTime(d.time.busy), perLane(d.time.busy, d.lanes),
    ]),
    3,
  );
  const kernelRows = r.devices.flatMap((d) => d.kernels.map((k) => [
    d.id, k.name, formatTime(k.startPs), formatTime(k.endPs - k.startPs),
    k.lanes === null ? '-' : formatCount(k.lanes), k.faults === null ? '-' : formatCount(k.faults),
  ]));
  const kernels = table(['device', 'kernel', 'start', 'duration', 'lanes', 'faults raised'], kernelRows, 2);
  const links = table(
    ['link direction', 'link', ...LINK_HEAD.slice(1)],
    r.links.map((l) => {
      const u = linkUtilisation(l.bytes, l.bandwidth, r.endPs);
      return [l.id, l.link, l.kind, formatBandwidth(l.bandwidth), ...linkCells(l), u === null ? '-' : formatPercent(u)];
    }),
    3,
  );
  return [
    '<dl class="facts">',
    ...facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`),
    '</dl>',
    '<h2>Devices</h2>',
    r.devices.length === 0 ? '<p class="none">no devices</p>' : devices,
    '<h2>Kernels</h2>',
    kernelRows.length === 0 ? '<p class="none">no kernels</p>' : kernels,
    `<p class="note">${escapeHtml(KERNEL_NOTE)}</p>`,
    '<h2>Links</h2>',
    r.links.length === 0 ? '<p class="none">no links</p>' : links,
  ].join('\n');
}

/** Batch rows the page holds at most; batches.csv has every one. */
export const MAX_BATCH_ROWS = 2000;

/**
 * batches.csv's content as a table whose column headers sort it (click: ascending, again:
 * descending). Values are written as the CSV writes them (times in ns, uvm-eval's fields), so a
 * row can be found in the file. At most MAX_BATCH_ROWS rows, the first ones of those results.json
 * kept (SimOptions.maxBatchRecords per device), with a note giving every batch's count.
 */
function batchesHtml(r: RunResults): string {
  if (r.batches.length === 0) return '<p class="none">no fault batches</p>';
  const rows = r.batches.slice(0, MAX_BATCH_ROWS);
  const numeric = (f: string): boolean => f !== 'device';
  const note = `One row per fault batch, the fields of batches.csv (uvm-eval's; times in ns). Click a column to sort.` +
    (r.batchSummary.count > rows.length ? ` Showing ${formatCount(rows.length)} of ${formatCount(r.batchSummary.count)} batches; batches.csv has all.` : '');
  return [
    `<p class="note">${escapeHtml(note)}</p>`,
    '<div class="scroll batches"><table id="batches" class="sortable">',
    `<thead><tr>${BATCH_FIELDS.map((f) => `<th${numeric(f) ? ' class="num"' : ''} aria-sort="none"><button type="button">${escapeHtml(f)}</button></th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((b) => `<tr>${BATCH_FIELDS.map((f) => `<td${numeric(f) ? ' class="num"' : ''}>${escapeHtml(String(b[f]))}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table></div>',
  ].join('\n');
}

/**
 * Sorting for `table.sortable`: a header's button sorts the rows by that column, numerically
 * where both cells are numbers, ascending first, then descending; ties keep their order.
 */
const SORT_SCRIPT = `
(function () {
  'use strict';
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var heads = table.tHead.rows[0].cells;
    var body = table.tBodies[0];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.querySelector('button').addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute('aria-sort', 'none'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
          var t = row.cells[col].textContent;
          return { row: row, i: i, t: t, n: t === '' ? NaN : Number(t) };
        });
        rows.sort(function (a, b) {
          var c = !isNaN(a.n) && !isNaN(b.n) ? a.n - b.n : a.t < b.t ? -1 : a.t > b.t ? 1 : 0;
          return (asc ? c : -c) || a.i - b.i;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r.row); });
        body.appendChild(frag);
      });
    });
  });
})();
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; padding: 16px 24px; max-width: 1400px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 17px; margin: 20px 0 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: #666; } dl.facts dd { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; }
th { background: #f0f0f0; font-weight: 600; } .num { text-align: right; }
.chart { width: 100%; height: 380px; background: #fff; border: 1px solid #e3e3e3; margin: 0 0 16px; }
.chart.failed { height: auto; padding: 12px; color: #b00020; }
.none { color: #888; } .note { color: #555; margin: 4px 0; }
.batches { max-height: 520px; overflow: auto; border: 1px solid #e3e3e3; }
.batches thead th { position: sticky; top: 0; z-index: 1; }
th button { all: unset; cursor: pointer; } th button:focus-visible { outline: 2px solid #4a7bd0; }
th[aria-sort="ascending"] button::after { content: " ▲"; } th[aria-sort="descending"] button::after { content: " ▼"; }
`;

/**
 * The page script that sets up every chart from the `hetmem-charts` JSON; a failing chart is
 * reported (console, with `tool` as the prefix, and in its div), never skipped silently.
 */
export function chartInitScript(tool: string): string {
  return `
(function () {
  'use strict';
  var specs = JSON.parse(document.getElementById('hetmem-charts').textContent);
  var charts = [];
  specs.forEach(function (spec) {
    var el = document.getElementById('chart-' + spec.name);
    try {
      if (!el) throw new Error('no element #chart-' + spec.name);
      var chart = echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption(spec.option);
      charts.push(chart);
    } catch (e) {
      console.error('${tool}: chart "' + spec.name + '" failed: ' + (e && e.stack ? e.stack : e));
      if (el) { el.className += ' failed'; el.textContent = 'chart failed: ' + (e && e.message ? e.message : e); }
    }
  });
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  window.__hetmemChartsReady = charts.length;
})();
`;
}

const INIT = chartInitScript('hetmem report') + SORT_SCRIPT;

/** A chart to place on a page: rendered by the init script into the div `chart-<name>`. */
export interface PageChart {
  name: string;
  title: string;
  option: unknown;
  /** Height of the chart's container in px, when the chart needs other than the page's default. */
  height?: number;
}

/** The opening of a self-contained page, up to and including `<body>`. */
export function pageHead(title: string, style: string): string[] {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    '<body>',
  ];
}

/** One container div per chart, in order. */
export function chartDivs(charts: readonly PageChart[]): string[] {
  return charts.map((c) => `<div id="chart-${escapeHtml(c.name)}" data-chart="${escapeHtml(c.name)}" class="chart"${c.height === undefined ? '' : ` style="height: ${Math.round(c.height)}px"`} role="img" aria-label="${escapeHtml(c.title)}"></div>`);
}

/** The end of a page: the chart options as JSON, the ECharts library, `init`, and the closing tags. */
export function chartScriptsAndEnd(charts: readonly PageChart[], init: string): string[] {
  return [
    `<script id="hetmem-charts" type="application/json">${jsonForScript(charts.map((c) => ({ name: c.name, option: c.option })))}</script>`,
    `<script>${scriptSafe(echartsLibrary())}</script>`,
    `<script>${init}</script>`,
    '</body>',
    '</html>',
    '',
  ];
}

/**
 * The report page of a run: a header, summary facts, device and link tables, one ECharts
 * chart per CHART_NAMES entry, each in `<div id="chart-NAME" data-chart="NAME">`, and the
 * fault batches as a sortable table (`table#batches`). The page is
 * self-contained (ECharts is inlined; no URL is fetched) and sets
 * `window.__hetmemChartsReady` to the number of charts initialised. Deterministic: identical
 * results give byte-identical HTML (no timestamps).
 */
export function renderReportHtml(results: RunResults): string {
  const specs: ChartSpec[] = chartSpecs(results);
  const name = escapeHtml(results.name);
  return [
    ...pageHead(`hetmem report: ${results.name}`, STYLE),
    `<h1>hetmem run <code>${name}</code></h1>`,
    summaryHtml(results),
    '<h2>Charts</h2>',
    ...chartDivs(specs),
    '<h2>Fault batches</h2>',
    batchesHtml(results),
    ...chartScriptsAndEnd(specs, INIT),
  ].join('\n');
}
