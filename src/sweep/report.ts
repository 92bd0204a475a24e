// `hetmem sweep report`: one self-contained HTML page from a sweep database (ECharts inlined, as
// report.html is): a heatmap of a metric over two axes, one line chart per axis with the spread
// over seeds as error bars, a Pareto view of two metrics, and a table linking each point's own
// report.html (written beside it under points/KEY/).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { echartsLibrary, renderReportHtml } from '../report/html.ts';
import type { RunResults } from '../sim/results.ts';
import { METRICS } from './point.ts';
import { SweepStore, type StoredPoint } from './store.ts';
import { SweepRunError } from './errors.ts';
import { existsSync } from 'node:fs';

/** Report options: the metric of the heatmap and lines, the two metrics of the Pareto view. */
export interface SweepReportOptions {
  readonly metric: string;
  readonly pareto: readonly [string, string];
}

const label = (v: unknown) => (typeof v === 'string' ? v.replace(/^.*\//, '') : JSON.stringify(v));

/** Indices of the points no other point beats on both metrics (both minimised), by the first. */
export function paretoFront(xs: readonly number[], ys: readonly number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || ys[a] - ys[b]);
  const front: number[] = [];
  let best = Infinity;
  for (const i of idx) {
    if (ys[i] < best) {
      front.push(i);
      best = ys[i];
    }
  }
  return front;
}

/** Mean, min and max of `metric` per value of `axis` over all points (other axes and seeds pooled). */
export function axisSeries(points: readonly StoredPoint[], axis: string, metric: string): { x: string[]; mean: number[]; min: number[]; max: number[] } {
  const groups = new Map<string, number[]>();
  for (const p of points) {
    const k = label(p.params[axis]);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(p.metrics[metric]);
  }
  const x = [...groups.keys()];
  return {
    x,
    mean: x.map((k) => groups.get(k)!.reduce((a, b) => a + b, 0) / groups.get(k)!.length),
    min: x.map((k) => Math.min(...groups.get(k)!)),
    max: x.map((k) => Math.max(...groups.get(k)!)),
  };
}

/**
 * Writes DIR/sweep.html and DIR/points/KEY/report.html for every point of the database.
 * @throws SweepRunError for an unreadable database or an unknown metric
 */
export async function writeSweepReport(db: string, dir: string, o: SweepReportOptions): Promise<string> {
  for (const m of [o.metric, ...o.pareto]) {
    if (!(METRICS as readonly string[]).includes(m)) throw new SweepRunError(`unknown metric '${m}' (metrics: ${METRICS.join(', ')})`);
  }
  if (!existsSync(db)) throw new SweepRunError(`${db}: no such sweep database`);
  const store = await SweepStore.open(db);
  let points: StoredPoint[];
  let description: string | undefined;
  try {
    points = await store.all();
    if (points.length > 0) description = await store.sweepDescription(points[0].sweep);
  } finally {
    store.close();
  }
  if (points.length === 0) throw new SweepRunError(`${db}: no points stored yet`);
  mkdirSync(join(dir, 'points'), { recursive: true });
  for (const p of points) {
    mkdirSync(join(dir, 'points', p.key), { recursive: true });
    writeFileSync(join(dir, 'points', p.key, 'report.html'), renderReportHtml(JSON.parse(p.results) as RunResults));
  }
  const axes = [...new Set(points.flatMap((p) => Object.keys(p.params)))];
  const varying = axes.filter((a) => a !== 'seed');
  const [ax, ay] = [varying[0] ?? axes[0], varying[1]];
  const heat = ay === undefined ? null : (() => {
    const xs = axisSeries(points, ax, o.metric).x;
    const ys = axisSeries(points, ay, o.metric).x;
    const cells: [number, number, number][] = [];
    xs.forEach((xv, i) => ys.forEach((yv, j) => {
      const vs = points.filter((p) => label(p.params[ax]) === xv && label(p.params[ay]) === yv).map((p) => p.metrics[o.metric]);
      if (vs.length > 0) cells.push([i, j, vs.reduce((a, b) => a + b, 0) / vs.length]);
    }));
    return { xs, ys, cells, x: ax, y: ay };
  })();
  const lines = varying.map((a) => ({ axis: a, ...axisSeries(points, a, o.metric) }));
  const px = points.map((p) => p.metrics[o.pareto[0]]), py = points.map((p) => p.metrics[o.pareto[1]]);
  const front = paretoFront(px, py);
  const data = {
    name: points[0].sweep, metric: o.metric, pareto: o.pareto, heat, lines,
    scatter: points.map((p, i) => ({ value: [px[i], py[i]], name: p.key, front: front.includes(i), label: axes.map((a) => `${a}=${label(p.params[a])}`).join(', ') })),
  };
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const rows = points.map((p) => `<tr><td><a href="points/${p.key}/report.html">${p.key}</a></td>${axes.map((a) => `<td>${esc(label(p.params[a]))}</td>`).join('')}${METRICS.map((m) => `<td>${p.metrics[m]}</td>`).join('')}</tr>`).join('\n');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>sweep ${esc(data.name)}</title>
<style>body{font-family:sans-serif;margin:1em}div.chart{width:100%;height:420px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>
<script>${echartsLibrary()}</script></head>
<body><h1>sweep ${esc(data.name)}</h1>
${description === undefined ? '' : `<p id="description">${esc(description)}</p>\n`}<p>${points.length} points; metric ${esc(o.metric)}; seeds pooled as error bars (min..max) where the sweep has them.</p>
<h2 id="heatmap">${esc(o.metric)} over ${esc(ax ?? '')}${ay ? ` × ${esc(ay)}` : ''}</h2><div class="chart" id="heat"></div>
<h2 id="lines">${esc(o.metric)} per axis</h2><div id="lines-box"></div>
<h2 id="pareto">Pareto: ${esc(o.pareto[0])} vs ${esc(o.pareto[1])}</h2><div class="chart" id="pareto-chart"></div>
<h2 id="points">points</h2><table><tr><th>point</th>${axes.map((a) => `<th>${esc(a)}</th>`).join('')}${METRICS.map((m) => `<th>${m}</th>`).join('')}</tr>
${rows}</table>
<script id="sweep-data" type="application/json">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>
const D = JSON.parse(document.getElementById('sweep-data').textContent);
if (D.heat) {
  const vals = D.heat.cells.map((c) => c[2]);
  echarts.init(document.getElementById('heat')).setOption({
    tooltip: {}, xAxis: { type: 'category', data: D.heat.xs, name: D.heat.x }, yAxis: { type: 'category', data: D.heat.ys, name: D.heat.y },
    visualMap: { min: Math.min(...vals), max: Math.max(...vals), calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
    series: [{ type: 'heatmap', data: D.heat.cells, label: { show: true, formatter: (p) => p.value[2].toPrecision(4) } }],
  });
} else document.getElementById('heat').textContent = 'one axis only: no heatmap';
for (const l of D.lines) {
  const el = document.createElement('div'); el.className = 'chart'; document.getElementById('lines-box').appendChild(el);
  echarts.init(el).setOption({
    title: { text: l.axis }, tooltip: { trigger: 'axis' }, xAxis: { type: 'category', data: l.x, name: l.axis }, yAxis: { type: 'value', name: D.metric },
    series: [
      { type: 'line', name: 'mean', data: l.mean },
      { type: 'custom', name: 'min..max', data: l.x.map((_, i) => [i, l.min[i], l.max[i]]), renderItem: (params, api) => {
        const lo = api.coord([api.value(0), api.value(1)]), hi = api.coord([api.value(0), api.value(2)]);
        return { type: 'group', children: [
          { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: { stroke: '#555' } },
          { type: 'line', shape: { x1: lo[0] - 5, y1: lo[1], x2: lo[0] + 5, y2: lo[1] }, style: { stroke: '#555' } },
          { type: 'line', shape: { x1: hi[0] - 5, y1: hi[1], x2: hi[0] + 5, y2: hi[1] }, style: { stroke: '#555' } } ] };
      } },
    ],
  });
}
const pc = echarts.init(document.getElementById('pareto-chart'));
pc.setOption({
  tooltip: { formatter: (p) => p.data.label }, xAxis: { type: 'value', name: D.pareto[0], scale: true }, yAxis: { type: 'value', name: D.pareto[1], scale: true },
  series: [
    { type: 'scatter', name: 'points', data: D.scatter.filter((s) => !s.front) },
    { type: 'scatter', name: 'Pareto front', symbolSize: 14, data: D.scatter.filter((s) => s.front) },
  ],
});
pc.on('click', (p) => { window.location.href = 'points/' + p.data.name + '/report.html'; });
</script></body></html>
`;
  const path = join(dir, 'sweep.html');
  writeFileSync(path, html);
  return path;
}
