// The viewer page: one HTML document for one run or two, served by `hetmem view` (data from
// /api/* on 127.0.0.1) or written whole by `hetmem view --static` (data and the query
// functions inlined). Charts are ECharts (inlined, nothing is fetched from elsewhere).
import { echartsLibrary, escapeHtml, jsonForScript } from '../report/html.ts';
import { compareTable } from '../report/summary.ts';
import { VIEW_FUNCTIONS } from '../report/view-format.ts';
import type { LoadedRun } from './load.ts';

/** Colours of memory locations: sockets in greys/blues, devices in distinct hues. */
const SOCKET_COLOURS = ['#5b7fa6', '#8aa5c4', '#3d5a80', '#a9bcd0'];
const DEVICE_COLOURS = ['#e4572e', '#29a35a', '#f3a712', '#8e44ad', '#17a2b8', '#d63384', '#6f8f2f', '#b5651d'];

/** What the page starts from: per run, everything but the event log (which /api/* queries). */
export interface BootRun {
  label: string;
  name: string;
  endPs: number;
  bucketPs: number;
  devices: string[];
  /** Location names (index = code in grids) and their colours. */
  locations: string[];
  colours: string[];
  spaces: { id: number; lo: number; hi: number }[];
  /** Pre-aggregated overview per space (cells base64), or [] without a log. */
  overview: unknown[];
  hasLog: boolean;
  truncatedAtPs: number | null;
  kernels: { device: string; name: string; startPs: number; endPs: number }[];
  /** Per device: [batch number, start ps, duration ps] rows. */
  batches: Record<string, [number, number, number][]>;
  links: { id: string; bandwidth: number | null; bytes: number[] }[];
}

/** A compared metric of two runs. */
export interface CompareMetric {
  group: string;
  name: string;
  a: number;
  b: number;
}

function colours(locations: readonly string[], devices: readonly string[]): string[] {
  let s = 0;
  return locations.map((l) => {
    if (l === 'none') return '#ffffff';
    const d = devices.indexOf(l);
    return d >= 0 ? DEVICE_COLOURS[d % DEVICE_COLOURS.length] : SOCKET_COLOURS[s++ % SOCKET_COLOURS.length];
  });
}

/** The boot data of a run. */
export function bootRun(r: LoadedRun): BootRun {
  const res = r.results;
  const devices = res.devices.map((d) => d.id);
  const locations = r.log ? r.log.meta.locations : ['none'];
  const batches: Record<string, [number, number, number][]> = {};
  for (const d of devices) batches[d] = [];
  for (const b of res.batches) (batches[b.device] ??= []).push([b.batch, b.start_time * 1000, Math.max(1, b.time) * 1000]);
  return {
    label: r.label,
    name: res.name,
    endPs: res.endPs,
    bucketPs: res.timeline.bucketPs,
    devices,
    locations,
    colours: colours(locations, devices),
    spaces: r.log ? r.log.meta.spaces : [],
    overview: r.overview ? r.overview.grids : [],
    hasLog: r.log !== null,
    truncatedAtPs: r.log ? r.log.meta.truncatedAtPs : null,
    kernels: res.devices.flatMap((d) => d.kernels.map((k) => ({ device: d.id, name: k.name, startPs: k.startPs, endPs: k.endPs }))),
    batches,
    links: res.links.map((l) => ({ id: l.id, bandwidth: l.bandwidth, bytes: res.timeline.linkBytes[l.id] ?? [] })),
  };
}

/** The numbers `hetmem compare` prints, per device and link, for the difference charts. */
export function compareMetrics(a: LoadedRun, b: LoadedRun): CompareMetric[] {
  const out: CompareMetric[] = [{ group: 'run', name: 'simulated time (ms)', a: a.results.endPs / 1e9, b: b.results.endPs / 1e9 }];
  const ids = [...new Set([...a.results.devices.map((d) => d.id), ...b.results.devices.map((d) => d.id)])];
  const dev = (r: LoadedRun, id: string) => r.results.devices.find((d) => d.id === id);
  const per: [string, (d: NonNullable<ReturnType<typeof dev>>) => number][] = [
    ['faults raised', (d) => d.faults.raised], ['batches', (d) => d.batches], ['pages in', (d) => d.pagesIn],
    ['pages out', (d) => d.pagesOut], ['evicted pages', (d) => d.evictions.pages], ['fault service (ms)', (d) => d.time.faultService / 1e9],
  ];
  for (const [name, f] of per) {
    for (const id of ids) {
      const da = dev(a, id), db = dev(b, id);
      out.push({ group: name, name: id, a: da ? f(da) : 0, b: db ? f(db) : 0 });
    }
  }
  const links = [...new Set([...a.results.links.map((l) => l.id), ...b.results.links.map((l) => l.id)])];
  for (const id of links) {
    const la = a.results.links.find((l) => l.id === id), lb = b.results.links.find((l) => l.id === id);
    out.push({ group: 'link MiB', name: id, a: (la?.bytes ?? 0) / 2 ** 20, b: (lb?.bytes ?? 0) / 2 ** 20 });
  }
  return out;
}

const STYLE = `
body { font: 14px system-ui, sans-serif; margin: 12px 20px; color: #222; }
h1 { font-size: 20px; margin: 4px 0 10px; } h2 { font-size: 16px; margin: 16px 0 6px; } h3 { font-size: 14px; margin: 10px 0 4px; }
.runs { display: grid; gap: 16px; } .runs.two { grid-template-columns: 1fr 1fr; }
.chart { width: 100%; height: 380px; } .timeline { height: 200px; } .link { height: 110px; }
.controls { margin: 6px 0; } .controls input { width: 9em; } .note { color: #666; font-size: 12px; }
table { border-collapse: collapse; font-size: 12px; margin: 4px 0; } td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
.panel { max-height: 360px; overflow: auto; border: 1px solid #ddd; padding: 4px 8px; margin-top: 6px; }
pre { font-size: 12px; background: #f6f6f6; padding: 6px; overflow: auto; }
`;

/** The browser side. `HV` holds the state; `window.__hetmemView` exposes it to tests. */
const CLIENT = `
var __name = function (f) { return f; };
(function () {
  var BOOT = JSON.parse(document.getElementById('hetmem-view-boot').textContent);
  var RUNS = BOOT.runs;
  var charts = [];
  var HV = { ready: false, grids: [], cursorPs: null, window: [0, Math.max.apply(null, RUNS.map(function (r) { return r.endPs; }).concat([1]))], history: null, batch: null, errors: 0 };
  window.__hetmemView = HV;
  var logs = [];
  if (BOOT.static) {
    RUNS.forEach(function (r, i) {
      if (!BOOT.events[i]) { logs.push(null); return; }
      var bin = atob(BOOT.events[i]);
      var bytes = new Uint8Array(bin.length);
      for (var k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
      logs.push(decodeLog(BOOT.metas[i], bytes.buffer));
    });
  }
  function api(path, q) {
    if (!BOOT.static) {
      var qs = Object.keys(q).map(function (k) { return k + '=' + encodeURIComponent(q[k]); }).join('&');
      return fetch('/api/' + path + '?' + qs).then(function (r) { if (!r.ok) return r.text().then(function (t) { throw new Error(t); }); return r.json(); });
    }
    var log = logs[q.run];
    try {
      if (path === 'grid') { var g = residencyGrid(log, +q.space, +q.v0, +q.v1, +q.t0, +q.t1, +q.rows, +q.cols); g.cells = Array.from(g.cells); return Promise.resolve(g); }
      if (path === 'page') return Promise.resolve(pageHistory(log, +q.space, +q.v0, +q.v1, 500));
      if (path === 'batch') { var d = batchDetail(log, q.device, +q.batch); d.record = BOOT.records[q.run].find(function (b) { return b.device === q.device && b.batch === +q.batch; }) || null; return Promise.resolve(d); }
    } catch (e) { return Promise.reject(e); }
    return Promise.reject(new Error('unknown query ' + path));
  }
  function fmtT(ps) {
    var a = Math.abs(ps);
    if (a >= 1e12) return (ps / 1e12).toFixed(3) + ' s';
    if (a >= 1e9) return (ps / 1e9).toFixed(3) + ' ms';
    if (a >= 1e6) return (ps / 1e6).toFixed(2) + ' us';
    return (ps / 1e3).toFixed(1) + ' ns';
  }
  function hex(v) { return '0x' + Math.round(v).toString(16); }
  function el(tag, attrs, text) { var e = document.createElement(tag); for (var k in attrs || {}) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }
  function fail(where, e) { HV.errors++; console.error('hetmem view: ' + where + ': ' + (e && e.message ? e.message : e)); }
  function table(parent, head, rows) {
    var t = el('table'); var tr = el('tr'); head.forEach(function (h) { tr.appendChild(el('th', {}, h)); }); t.appendChild(tr);
    rows.forEach(function (r) { var x = el('tr'); r.forEach(function (c) { x.appendChild(el('td', {}, String(c))); }); t.appendChild(x); });
    parent.appendChild(t); return t;
  }
  function decodeCells(g) {
    if (typeof g.cells !== 'string') return g;
    var bin = atob(g.cells); var c = new Array(bin.length); for (var i = 0; i < bin.length; i++) c[i] = bin.charCodeAt(i);
    return Object.assign({}, g, { cells: c });
  }
  function cursorLine() { return HV.cursorPs === null ? [] : [{ xAxis: HV.cursorPs / 1e6 }]; }

  // ---- residency heatmap ----
  function heatOption(ri, g) {
    var run = RUNS[ri]; var data = [];
    for (var r = 0; r < g.rows; r++) for (var c = 0; c < g.cols; c++) { var v = g.cells[r * g.cols + c]; if (v !== 0) data.push([c, r, v]); }
    var xs = []; for (var i = 0; i < g.cols; i++) xs.push(fmtT(g.t0 + (g.t1 - g.t0) * (i + 1) / g.cols));
    var ys = []; for (var j = 0; j < g.rows; j++) ys.push(hex(g.v0 + j * g.pagesPerRow));
    var pieces = run.locations.map(function (l, k) { return { value: k, label: l, color: run.colours[k] }; }).filter(function (p) { return p.value !== 0; });
    var cursorCol = HV.cursorPs === null ? null : Math.floor((HV.cursorPs - g.t0) / (g.t1 - g.t0) * g.cols);
    return {
      animation: false,
      title: { text: 'page residency (' + (g.pagesPerRow === 1 ? 'single pages' : g.pagesPerRow + ' pages per row') + ')', left: 'center', textStyle: { fontSize: 13 } },
      tooltip: { formatter: function (p) { return 'pages ' + ys[p.value[1]] + '+' + g.pagesPerRow + ' at ' + xs[p.value[0]] + ': ' + run.locations[p.value[2]]; } },
      grid: { left: 90, right: 20, top: 30, bottom: 70 },
      xAxis: { type: 'category', data: xs, name: 'time', nameLocation: 'middle', nameGap: 28, axisLabel: { interval: Math.max(0, Math.floor(g.cols / 6) - 1) } },
      yAxis: { type: 'category', data: ys, name: 'address (page)', axisLabel: { interval: Math.max(0, Math.floor(g.rows / 8) - 1) } },
      visualMap: { type: 'piecewise', pieces: pieces, orient: 'horizontal', left: 'center', bottom: 0, dimension: 2 },
      dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'none' }, { type: 'inside', yAxisIndex: 0, filterMode: 'none' }],
      series: [{ type: 'heatmap', data: data, progressive: 0, markLine: cursorCol === null ? undefined : { silent: true, symbol: 'none', data: [{ xAxis: Math.max(0, Math.min(g.cols - 1, cursorCol)) }], lineStyle: { color: '#000' } } }],
    };
  }
  function showGrid(ri, g) {
    g = decodeCells(g); HV.grids[ri] = g;
    var c = HV.heat[ri]; c.setOption(heatOption(ri, g), true);
    var info = document.getElementById('heat-info-' + ri);
    if (info) info.textContent = 'space ' + g.space + ', pages ' + hex(g.v0) + '-' + hex(g.v1) + ', ' + fmtT(g.t0) + '-' + fmtT(g.t1) + ', ' + g.pagesPerRow + ' page(s) per row';
  }
  function loadGrid(ri, space, v0, v1, t0, t1) {
    return api('grid', { run: ri, space: space, v0: v0, v1: v1, t0: Math.floor(t0), t1: Math.ceil(t1), rows: 256, cols: 256 })
      .then(function (g) { showGrid(ri, g); }, function (e) { fail('residency', e); });
  }
  /** Zooms run ri's heatmap to pages [v0, v1) (null: keep) and every chart to time [t0, t1). */
  HV.zoom = function (ri, v0, v1, t0, t1) {
    var ps = [];
    HV.window = [t0, t1];
    RUNS.forEach(function (run, k) {
      var g = HV.grids[k]; if (!g) return;
      var a = k === ri && v0 !== null ? v0 : g.v0, b = k === ri && v1 !== null ? v1 : g.v1;
      ps.push(loadGrid(k, g.space, a, b, t0, t1));
    });
    syncTime(null);
    return Promise.all(ps);
  };
  function heatZoomed(ri, ev) {
    var g = HV.grids[ri]; if (!g) return;
    var opt = HV.heat[ri].getOption(); var xz = opt.dataZoom[0], yz = opt.dataZoom[1];
    var c0 = Math.floor(xz.start / 100 * g.cols), c1 = Math.ceil(xz.end / 100 * g.cols);
    var r0 = Math.floor(yz.start / 100 * g.rows), r1 = Math.ceil(yz.end / 100 * g.rows);
    var t0 = g.t0 + (g.t1 - g.t0) * c0 / g.cols, t1 = g.t0 + (g.t1 - g.t0) * Math.max(c1, c0 + 1) / g.cols;
    var v0 = g.v0 + r0 * g.pagesPerRow, v1 = Math.min(g.v1, g.v0 + Math.max(r1, r0 + 1) * g.pagesPerRow);
    if (c0 === 0 && c1 >= g.cols && r0 === 0 && r1 >= g.rows) return;
    HV.zoom(ri, v0, v1, t0, t1);
  }

  // ---- device timelines ----
  function timelineOption(ri) {
    var run = RUNS[ri]; var rows = []; var data = [];
    run.devices.forEach(function (d) { rows.push(d + ' kernels'); rows.push(d + ' batches'); });
    run.kernels.forEach(function (k) { data.push({ value: [rows.indexOf(k.device + ' kernels'), k.startPs / 1e6, k.endPs / 1e6, k.name, -1, k.device], itemStyle: { color: '#7a9cc6' } }); });
    run.devices.forEach(function (d) { (run.batches[d] || []).forEach(function (b) { data.push({ value: [rows.indexOf(d + ' batches'), b[1] / 1e6, (b[1] + b[2]) / 1e6, 'batch ' + b[0], b[0], d], itemStyle: { color: '#e4572e' } }); }); });
    return {
      animation: false,
      title: { text: 'kernels and fault batches (click a batch)', left: 'center', textStyle: { fontSize: 13 } },
      tooltip: { formatter: function (p) { return p.value[5] + ' ' + p.value[3] + ': ' + fmtT(p.value[1] * 1e6) + ' + ' + fmtT((p.value[2] - p.value[1]) * 1e6); } },
      grid: { left: 110, right: 20, top: 30, bottom: 30 },
      xAxis: { type: 'value', min: 0, max: HV.window[1] / 1e6, name: 'us' },
      yAxis: { type: 'category', data: rows, inverse: true },
      dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'weakFilter' }],
      series: [{
        type: 'custom', encode: { x: [1, 2], y: 0 }, data: data,
        renderItem: function (params, api) {
          var y = api.value(0), s = api.coord([api.value(1), y]), e = api.coord([api.value(2), y]);
          var h = api.size([0, 1])[1] * 0.6;
          var w = Math.max(2, e[0] - s[0]);
          return { type: 'rect', shape: { x: s[0], y: s[1] - h / 2, width: w, height: h }, style: api.style() };
        },
        markLine: { silent: true, symbol: 'none', data: cursorLine(), lineStyle: { color: '#000' } },
      }],
    };
  }

  // ---- link small multiples ----
  function linkOption(ri, l) {
    var run = RUNS[ri]; var pts = [];
    var perBucket = l.bandwidth ? l.bandwidth * run.bucketPs / 1e12 : null;
    for (var i = 0; i < l.bytes.length; i++) pts.push([(i + 0.5) * run.bucketPs / 1e6, perBucket ? 100 * l.bytes[i] / perBucket : l.bytes[i] / 1048576]);
    return {
      animation: false,
      title: { text: l.id + (perBucket ? ' (% of bandwidth)' : ' (MiB per bucket, unlimited)'), left: 60, top: 0, textStyle: { fontSize: 12 } },
      grid: { left: 60, right: 20, top: 22, bottom: 22 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'value', min: 0, max: HV.window[1] / 1e6 },
      yAxis: { type: 'value', min: 0, max: perBucket ? 100 : null },
      dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'none' }],
      series: [{ type: 'line', data: pts, showSymbol: false, areaStyle: {}, lineStyle: { width: 1 }, markLine: { silent: true, symbol: 'none', data: cursorLine(), lineStyle: { color: '#000' } } }],
    };
  }

  // ---- one time window and cursor for every chart ----
  var syncing = false;
  function syncTime(from) {
    if (syncing) return; syncing = true;
    try {
      HV.timeCharts.forEach(function (c) {
        if (c === from) return;
        c.dispatchAction({ type: 'dataZoom', startValue: HV.window[0] / 1e6, endValue: HV.window[1] / 1e6 });
      });
    } finally { syncing = false; }
  }
  HV.setCursor = function (ps) {
    HV.cursorPs = ps;
    HV.timeCharts.forEach(function (c) { c.setOption({ series: [{ markLine: { data: cursorLine() } }] }); });
    RUNS.forEach(function (r, k) { if (HV.grids[k]) showGrid(k, HV.grids[k]); });
    var cur = document.getElementById('cursor'); if (cur) cur.textContent = 'cursor: ' + fmtT(ps);
  };
  function timeZoomed(c) {
    if (syncing) return;
    var opt = c.getOption(); var z = opt.dataZoom[0];
    var ax = c.getModel().getComponent('xAxis', 0).axis.scale.getExtent();
    HV.window = [ax[0] * 1e6, ax[1] * 1e6];
    syncTime(c);
    clearTimeout(HV.heatTimer);
    HV.heatTimer = setTimeout(function () { RUNS.forEach(function (r, k) { var g = HV.grids[k]; if (g) loadGrid(k, g.space, g.v0, g.v1, HV.window[0], HV.window[1]); }); }, 150);
    return z;
  }

  // ---- page history and batch detail ----
  HV.openHistory = function (ri, space, v0, v1) {
    return api('page', { run: ri, space: space, v0: v0, v1: v1 }).then(function (h) {
      HV.history = h;
      var p = document.getElementById('history-' + ri); p.textContent = '';
      p.appendChild(el('h3', {}, 'History of pages ' + hex(v0) + (v1 - v0 > 1 ? '-' + hex(v1) : '') + ' (space ' + space + ')'));
      p.appendChild(el('div', { class: 'note' }, 'touched by: ' + (h.devices.join(', ') || 'no device') + '; at the end: ' + Object.keys(h.final).map(function (k) { return k + ' ' + h.final[k]; }).join(', ')));
      table(p, ['time', 'event', 'pages', 'where', 'from', 'detail', 'during'], h.events.map(function (e) { return [fmtT(e.t), e.kind, hex(e.vpn) + (e.count > 1 ? ' +' + e.count : ''), e.what, e.from, e.detail, e.during]; })).setAttribute('data-history', '1');
      if (h.more > 0) p.appendChild(el('div', { class: 'note' }, h.more + ' more events not shown: narrow the range'));
    }, function (e) { fail('history', e); });
  };
  HV.openBatch = function (ri, device, no) {
    return api('batch', { run: ri, device: device, batch: no }).then(function (d) {
      HV.batch = d;
      var p = document.getElementById('batch-' + ri); p.textContent = '';
      p.appendChild(el('h3', {}, device + ' batch ' + no + ': ' + d.faults.length + ' faults, ' + d.pagesIn + ' pages in, ' + d.pagesOut + ' pages out'));
      if (d.record) table(p, ['field', 'value'], Object.keys(d.record).map(function (k) { return [k, d.record[k]]; })).setAttribute('data-batch-record', '1');
      table(p, ['time', 'fault', 'page', 'detail'], d.faults.map(function (e) { return [fmtT(e.t), e.kind, hex(e.vpn), e.detail]; })).setAttribute('data-batch-faults', '1');
      table(p, ['time', 'pages', 'to', 'from'], d.moves.map(function (e) { return [fmtT(e.t), hex(e.vpn) + ' +' + e.count, e.what, e.from]; })).setAttribute('data-batch-moves', '1');
      if (d.faults.length > 0) HV.setCursor(d.faults[0].t);
    }, function (e) { fail('batch', e); });
  };

  // ---- building the page ----
  var box = document.getElementById('runs');
  HV.heat = []; HV.timeCharts = []; HV.timelines = [];
  RUNS.forEach(function (run, ri) {
    var col = el('div', { class: 'run', 'data-run': String(ri) });
    col.appendChild(el('h2', {}, run.label + ' (' + run.name + ', ' + fmtT(run.endPs) + ')'));
    box.appendChild(col);
    if (run.hasLog && run.spaces.length > 0) {
      var ctl = el('div', { class: 'controls' });
      ctl.innerHTML = 'space <select id="space-' + ri + '"></select> pages <input id="v0-' + ri + '"> to <input id="v1-' + ri + '"> <button id="go-' + ri + '">zoom</button> <button id="reset-' + ri + '">whole run</button> <button id="hist-' + ri + '">history of these pages</button>';
      col.appendChild(ctl);
      var sel = ctl.querySelector('select');
      run.spaces.forEach(function (s) { sel.appendChild(el('option', { value: String(s.id) }, String(s.id))); });
      col.appendChild(el('div', { class: 'note', id: 'heat-info-' + ri }));
      if (run.truncatedAtPs !== null) col.appendChild(el('div', { class: 'note' }, 'the event log filled up at ' + fmtT(run.truncatedAtPs) + ': residency after it is not shown'));
      var hd = el('div', { class: 'chart', id: 'heat-' + ri, 'data-view-chart': 'residency' }); col.appendChild(hd);
      var hc = echarts.init(hd); HV.heat[ri] = hc; charts.push(hc);
      hc.on('dataZoom', function (ev) { clearTimeout(hc.__t); hc.__t = setTimeout(function () { heatZoomed(ri, ev); }, 150); });
      hc.on('click', function (p) {
        var g = HV.grids[ri]; if (!g || !p.value) return;
        var v0 = g.v0 + p.value[1] * g.pagesPerRow;
        HV.setCursor(g.t0 + (g.t1 - g.t0) * (p.value[0] + 1) / g.cols);
        HV.openHistory(ri, g.space, v0, Math.min(g.v1, v0 + g.pagesPerRow));
      });
      var first = run.overview[0];
      showGrid(ri, first);
      document.getElementById('go-' + ri).onclick = function () {
        var a = parseInt(document.getElementById('v0-' + ri).value, 16), b = parseInt(document.getElementById('v1-' + ri).value, 16);
        if (!(b > a)) { document.getElementById('heat-info-' + ri).textContent = 'expected two hex page numbers, the first lower'; return; }
        var g = HV.grids[ri]; var sp = +sel.value;
        if (sp !== g.space) { HV.grids[ri] = Object.assign({}, g, { space: sp }); }
        HV.zoom(ri, a, b, HV.window[0], HV.window[1]);
      };
      document.getElementById('reset-' + ri).onclick = function () {
        var s = run.spaces.find(function (x) { return x.id === +sel.value; }) || run.spaces[0];
        HV.grids[ri] = Object.assign({}, HV.grids[ri], { space: s.id });
        HV.zoom(ri, s.lo, s.hi, 0, HV.window[1] > 0 ? Math.max.apply(null, RUNS.map(function (r) { return r.endPs; })) : 1);
      };
      document.getElementById('hist-' + ri).onclick = function () {
        var g = HV.grids[ri]; HV.openHistory(ri, g.space, g.v0, g.v1);
      };
    } else {
      col.appendChild(el('div', { class: 'note' }, 'no page residency: this directory has no view/ files (results written before hetmem view, or by hetmem report)'));
    }
    var td = el('div', { class: 'chart timeline', id: 'timeline-' + ri, 'data-view-chart': 'timeline' });
    td.style.height = Math.max(120, 60 + 36 * run.devices.length * 2) + 'px';
    col.appendChild(td);
    var tc = echarts.init(td); tc.setOption(timelineOption(ri)); charts.push(tc); HV.timeCharts.push(tc); HV.timelines[ri] = tc;
    tc.on('click', function (p) {
      HV.setCursor(p.value[1] * 1e6);
      if (p.value[4] >= 0) HV.openBatch(ri, p.value[5], p.value[4]);
    });
    tc.on('dataZoom', function () { timeZoomed(tc); });
    col.appendChild(el('div', { class: 'panel', id: 'batch-' + ri }, 'click a fault batch to see its faults, pages, copies and evictions'));
    col.appendChild(el('h3', {}, 'links'));
    run.links.forEach(function (l) {
      var d = el('div', { class: 'chart link', 'data-view-chart': 'link', 'data-link': l.id }); col.appendChild(d);
      var c = echarts.init(d); c.setOption(linkOption(ri, l)); charts.push(c); HV.timeCharts.push(c);
      c.on('dataZoom', function () { timeZoomed(c); });
      c.getZr().on('click', function (e) { var v = c.convertFromPixel({ gridIndex: 0 }, [e.offsetX, e.offsetY]); if (v) HV.setCursor(v[0] * 1e6); });
    });
    col.appendChild(el('div', { class: 'panel', id: 'history-' + ri }, 'click a heatmap cell, or give pages above, to see their history'));
  });

  // ---- two runs: their differences ----
  if (BOOT.compare) {
    var cmp = document.getElementById('compare');
    cmp.appendChild(el('h2', {}, 'Differences (' + RUNS[0].label + ' vs ' + RUNS[1].label + ')'));
    var groups = []; BOOT.compare.metrics.forEach(function (m) { if (groups.indexOf(m.group) < 0) groups.push(m.group); });
    groups.forEach(function (gname) {
      var ms = BOOT.compare.metrics.filter(function (m) { return m.group === gname; });
      var d = el('div', { class: 'chart', 'data-view-chart': 'compare', 'data-metric': gname }); d.style.height = '220px'; cmp.appendChild(d);
      var c = echarts.init(d); charts.push(c);
      c.setOption({ animation: false, title: { text: gname, left: 'center', textStyle: { fontSize: 13 } }, tooltip: { trigger: 'axis' }, legend: { top: 20 },
        grid: { left: 70, right: 20, top: 50, bottom: 30 }, xAxis: { type: 'category', data: ms.map(function (m) { return m.name; }) }, yAxis: { type: 'value' },
        series: [{ type: 'bar', name: RUNS[0].label, data: ms.map(function (m) { return m.a; }) }, { type: 'bar', name: RUNS[1].label, data: ms.map(function (m) { return m.b; }) }] });
    });
    cmp.appendChild(el('pre', { id: 'compare-text' }, BOOT.compare.text));
  }
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  HV.charts = charts.length;
  HV.ready = true;
})();
`;

/** Page data of the static mode: the event logs and batch records go inline. */
export interface StaticData {
  metas: unknown[];
  events: (string | null)[];
  records: unknown[];
}

/**
 * The viewer page of one run or two. Without `staticData` it asks /api/* (the server); with
 * it, the page holds everything and runs the queries itself.
 */
export function renderViewerPage(runs: readonly LoadedRun[], staticData?: StaticData): string {
  const boot = {
    static: staticData !== undefined,
    runs: runs.map(bootRun),
    compare: runs.length === 2 ? { text: compareTable(runs[0].results, runs[1].results, runs[0].label, runs[1].label), metrics: compareMetrics(runs[0], runs[1]) } : null,
    ...(staticData ?? {}),
  };
  const fns = staticData ? VIEW_FUNCTIONS.map((f) => f.toString()).join('\n') : '';
  const title = `hetmem view: ${runs.map((r) => r.label).join(' vs ')}`;
  return [
    '<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No favicon request: the page asks for nothing but /api/*.
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(title)}</title>`, `<style>${STYLE}</style>`, '</head>', '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    '<div class="note">Drag or scroll in a chart to zoom (every chart follows one time window); click to set the time cursor. <span id="cursor"></span></div>',
    `<div id="runs" class="runs${runs.length === 2 ? ' two' : ''}"></div>`,
    '<div id="compare"></div>',
    `<script id="hetmem-view-boot" type="application/json">${jsonForScript(boot)}</script>`,
    `<script>${echartsLibrary().replace(/<\/(script)/gi, '<\\/$1')}</script>`,
    `<script>var __name = function (f) { return f; };\n${fns.replace(/<\/(script)/gi, '<\\/$1')}</script>`,
    `<script>${CLIENT}</script>`,
    '</body>', '</html>', '',
  ].join('\n');
}

/** The static page: the server's answers replaced by the log and records inlined. */
export function renderStaticViewer(runs: readonly LoadedRun[]): string {
  return renderViewerPage(runs, {
    metas: runs.map((r) => r.log?.meta ?? null),
    events: runs.map((r) => (r.eventBytes ? Buffer.from(r.eventBytes).toString('base64') : null)),
    records: runs.map((r) => r.results.batches),
  });
}
