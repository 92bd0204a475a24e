import { describe, it, expect } from 'vitest';
import { bucketCount, CHART_NAMES, chartSpecs, latencyHistogram, LINK_PANEL_PX, niceCeil, timeUnit } from '../../src/report/charts.ts';
import { echartsLibrary, escapeHtml, jsonForScript, MAX_BATCH_ROWS, renderReportHtml } from '../../src/report/html.ts';
import { batchesCsv } from '../../src/report/csv.ts';
import { BATCH_FIELDS } from '../../src/sim/results.ts';
import type { RunResults } from '../../src/sim/results.ts';
import { buildFixture } from './fixture.ts';
import { tinyResults, EMPTY_LATENCY } from './tiny.ts';
import { LogHistogram } from '../../src/units/histogram.ts';

/** The JSON chart specs embedded in a page. */
function embeddedSpecs(html: string): { name: string; option: Record<string, unknown> }[] {
  const m = /<script id="hetmem-charts" type="application\/json">([\s\S]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]);
}

/** The page without the inlined ECharts library. */
function withoutLibrary(html: string): string {
  return html.replace(echartsLibrary().replace(/<\/(script)/gi, '<\\/$1'), '');
}

describe('renderReportHtml', () => {
  const results = buildFixture();
  const html = renderReportHtml(results);

  it('is one self-contained page: ECharts inlined, no external URL, no src/href', () => {
    expect(html.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(html).toContain(echartsLibrary());
    expect(echartsLibrary().length).toBeGreaterThan(500_000);
    const rest = withoutLibrary(html);
    expect(rest.length).toBeLessThan(html.length - 500_000);
    expect(rest).not.toMatch(/https?:\/\//);
    expect(rest).not.toMatch(/\s(src|href)=/i);
    expect(rest).not.toMatch(/<link\b/i);
    expect(rest).toContain('<meta charset="utf-8">');
  });

  it('has a chart div with id chart-NAME and data-chart for every chart, in order', () => {
    const divs = [...html.matchAll(/<div id="chart-([^"]+)" data-chart="([^"]+)"/g)].map((m) => [m[1], m[2]]);
    expect(divs).toEqual(CHART_NAMES.map((n) => [n, n]));
    expect(embeddedSpecs(html).map((s) => s.name)).toEqual([...CHART_NAMES]);
    expect(html).toContain('window.__hetmemChartsReady = charts.length;');
  });

  it('embeds exactly the chart options computed in Node', () => {
    expect(embeddedSpecs(html)).toEqual(JSON.parse(JSON.stringify(chartSpecs(results).map((s) => ({ name: s.name, option: s.option })))));
  });

  it('has device and link summary tables', () => {
    expect(html).toContain('<h2>Devices</h2>');
    expect(html).toContain('<td>gpu0</td><td>a100-80g</td><td>hmm-mirror</td>');
    expect(html).toContain('<td>gpu0-&gt;gpu1</td><td>peer0</td><td>other</td><td class="num">unlimited</td>');
    expect(html).toContain('<td class="num">26.4 GB/s</td>');
  });

  it('has batches.csv\'s content as a sortable table, one row per batch, capped with a note', () => {
    const table = /<table id="batches" class="sortable">([\s\S]*?)<\/table>/.exec(html)![1];
    const heads = [...table.matchAll(/<button type="button">([^<]*)<\/button>/g)].map((m) => m[1]);
    expect(heads).toEqual([...BATCH_FIELDS]);
    const rows = [...table.matchAll(/<tr>(.*?)<\/tr>/g)].slice(1).map((m) => [...m[1].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => c[1]));
    expect(rows.length).toBe(results.batches.length);
    // The cells are the CSV's values, field for field.
    expect(rows.map((r) => r.join(','))).toEqual(batchesCsv(results).trimEnd().split('\n').slice(1));
    expect(html).not.toContain('Showing ');
    const many = buildFixture(3, { devices: 2, batches: MAX_BATCH_ROWS + 5, buckets: 10, latencies: 10 });
    const big = renderReportHtml(many);
    expect(big).toContain(`Showing 2,000 of 2,005 batches; batches.csv has all.`);
    // A run whose results kept fewer records than it had batches (maxBatchRecords) says so too.
    const kept = { ...results, batchSummary: { ...results.batchSummary, count: results.batchSummary.count + 7 } };
    expect(renderReportHtml(kept)).toContain(`Showing ${results.batches.length} of ${results.batches.length + 7} batches; batches.csv has all.`);
    expect(/<table id="batches"[\s\S]*?<\/table>/.exec(big)![0].match(/<tr>/g)!.length).toBe(MAX_BATCH_ROWS + 1);
    expect(renderReportHtml(tinyResults())).toContain('<h2>Fault batches</h2>\n<p class="none">no fault batches</p>');
  });

  it('is deterministic: identical results give identical bytes', () => {
    expect(renderReportHtml(buildFixture())).toBe(html);
  });

  it('escapes names in markup and cannot be broken out of by </script> in data', () => {
    const evil = '</script><script>alert(1)</script><!--';
    const r: RunResults = {
      ...results,
      name: evil,
      timeline: { ...results.timeline, residency: { ...results.timeline.residency, [evil]: [1, 2, 3] } },
    };
    const page = renderReportHtml(r);
    // Only the three scripts of the page close a script element.
    expect(withoutLibrary(page).match(/<\/script/gi)!.length).toBe(3);
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain(`<title>hetmem report: ${escapeHtml(evil)}</title>`);
    const residency = embeddedSpecs(page)[0].option.series as { name: string }[];
    expect(residency.map((s) => s.name)).toContain(evil);
  });

  it('still renders every chart (with a note) for an empty run', () => {
    const empty = tinyResults({ devices: [], links: [], faultLatency: EMPTY_LATENCY, timeline: { bucketPs: 1000, residency: {}, faults: {}, linkBytes: {} } });
    const specs = chartSpecs(empty);
    expect(specs.map((s) => s.name)).toEqual([...CHART_NAMES]);
    for (const s of specs) expect(s.option.graphic).toBeDefined();
    expect(renderReportHtml(empty)).toContain('<p class="none">no devices</p>');
  });
});

describe('jsonForScript / escapeHtml', () => {
  it('round-trips through JSON.parse with no "<" left', () => {
    const v = { a: '</script><!-- <b>', b: [1, '\u2028'] };
    const s = jsonForScript(v);
    expect(s).not.toContain('<');
    expect(JSON.parse(s)).toEqual(v);
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('the inlined ECharts bundle contains nothing that could end its script element early', () => {
    expect(echartsLibrary()).not.toMatch(/<\/script/i);
    expect(echartsLibrary()).not.toContain('<!--');
  });
});

describe('chart data', () => {
  const results = tinyResults();
  const specs = Object.fromEntries(chartSpecs(results).map((s) => [s.name, s.option]));
  type Series = { name: string; data: number[][] | number[]; yAxisIndex?: number; stack?: string }[];

  it('residency: MiB at the end of each bucket, stacked per node', () => {
    const series = specs.residency.series as Series;
    expect(series.map((s) => s.name)).toEqual(['cpu', 'gpu0']);
    expect(series.every((s) => s.stack === 'resident')).toBe(true);
    // 50 µs buckets over 250 µs: µs axis; 10 pages = 40 KiB = 0.0390625 MiB.
    expect(series[0].data[0]).toEqual([50, 0.0390625]);
    expect(series[1].data[4]).toEqual([250, 0.0390625]);
  });

  it('faults: one stacked bar series per device at bucket midpoints', () => {
    const series = specs.faults.series as Series;
    expect(series.map((s) => s.name)).toEqual(['gpu0']);
    expect(series[0].data).toEqual([[25, 3], [75, 2], [125, 0], [175, 0], [225, 1]]);
  });

  it('link utilisation: one panel per link direction, all on the same axes', () => {
    let opt = specs['link-utilisation'];
    let series = opt.series as (Series[number] & { xAxisIndex: number })[];
    // 8192 B in 50 µs at 32 GB/s (1.6 MB per bucket) = 0.512 %.
    expect(series[0]).toMatchObject({ name: 'cpu->gpu0', xAxisIndex: 0, yAxisIndex: 0 });
    expect(series[0].data.map((p) => (p as number[])[1])).toEqual([0, 0.256, 0.512, 0, 0]);
    // The shared maximum: the busiest bucket, rounded up to 1, 2 or 5 x 10^k.
    expect((opt.yAxis as { max: number }[])[0].max).toBe(1);
    const mixed = tinyResults({
      links: [...results.links, { id: 'gpu0->gpu1', link: 'p', kind: 'other', from: 'gpu0', to: 'gpu1', bandwidth: null, bytes: 0, copyBytes: 0, transfers: 0, remoteBytes: 0 },
        { id: 'gpu0->cpu', link: 'pcie0', kind: 'pcie', from: 'gpu0', to: 'cpu', bandwidth: 32e9, bytes: 0, copyBytes: 0, transfers: 0, remoteBytes: 0 }],
      timeline: { ...results.timeline, linkBytes: { ...results.timeline.linkBytes, 'gpu0->gpu1': [0, 1048576 * 3, 0, 0, 0], 'gpu0->cpu': [0, 0, 0, 40_000, 0] } },
    });
    const spec = chartSpecs(mixed)[2];
    opt = spec.option;
    series = opt.series as (Series[number] & { xAxisIndex: number })[];
    expect(series.map((x) => [x.name, x.xAxisIndex, x.yAxisIndex])).toEqual([['cpu->gpu0', 0, 0], ['gpu0->gpu1', 1, 1], ['gpu0->cpu', 2, 2]]);
    expect(series[1].data[1]).toEqual([75, 3]); // MiB per bucket on the unlimited direction
    const yAxes = opt.yAxis as { max: number; name: string }[];
    // % panels share one maximum (40 KB in 50 µs at 32 GB/s = 2.5 % -> 5), MiB panels theirs (3 -> 5).
    expect(yAxes.map((a) => [a.name, a.max])).toEqual([['%', 5], ['MiB', 5], ['%', 5]]);
    const xAxes = opt.xAxis as { min: number; max: number }[];
    expect(new Set(xAxes.map((a) => `${a.min}-${a.max}`))).toEqual(new Set(['0-250']));
    expect((opt.dataZoom as { xAxisIndex: number[] }[])[0].xAxisIndex).toEqual([0, 1, 2]);
    expect((opt.title as { text: string }[]).slice(1).map((t) => t.text)).toEqual([
      'cpu->gpu0 (32 GB/s): % of bandwidth', 'gpu0->gpu1 (unlimited): MiB per bucket', 'gpu0->cpu (32 GB/s): % of bandwidth',
    ]);
    // The container grows with the panels; the grids do not overlap.
    expect(spec.height).toBe(76 + 3 * LINK_PANEL_PX + 64);
    const grids = opt.grid as { top: number; height: number }[];
    for (let k = 1; k < grids.length; k++) expect(grids[k].top).toBeGreaterThanOrEqual(grids[k - 1].top + grids[k - 1].height);
  });

  it('link utilisation of a long run: 10^6 buckets per link (past a spread call\'s argument limit)', () => {
    const n = 1_000_000;
    const bytes = new Array<number>(n).fill(0);
    bytes[n - 1] = 1_600_000; // 1.6 MB in one 50 µs bucket at 32 GB/s = 100 %
    const long = tinyResults({ timeline: { ...results.timeline, linkBytes: { ...results.timeline.linkBytes, 'cpu->gpu0': bytes } } });
    const opt = chartSpecs(long)[2].option;
    expect((opt.yAxis as { max: number }[])[0].max).toBe(100);
  });

  it('rounds a shared axis maximum up to 1, 2 or 5 x 10^k', () => {
    expect([0.512, 1, 1.01, 2.5, 7, 42, 0.0003].map(niceCeil)).toEqual([1, 1, 2, 5, 10, 50, 0.0005]);
  });

  it('time breakdown: one labelled bar per field on log axes, driver left, lanes right', () => {
    const opt = specs['time-breakdown'];
    const series = opt.series as (Series[number] & { xAxisIndex: number; data: ({ value: number; label: { formatter: string } } | string)[] })[];
    expect(series.map((s) => s.name)).toEqual(['fault service', 'pinning (registration)', 'copy', 'map', 'invalidation', 'lane stall (lane-seconds)', 'lane busy (lane-seconds)']);
    expect(series.map((s) => s.stack)).toEqual(new Array(7).fill(undefined)); // not stacked: a log axis cannot stack
    expect(series.map((s) => s.xAxisIndex)).toEqual([0, 0, 0, 0, 0, 1, 1]);
    expect((opt.xAxis as { type: string }[]).map((a) => a.type)).toEqual(['log', 'log']);
    // Driver's largest is 160 µs -> µs; lanes 9 ms -> ms. Pinning is 0: no bar.
    expect(series[0].data).toEqual([{ value: 40, label: { formatter: '40 us' } }]);
    expect(series[1].data).toEqual(['-']);
    expect(series[5].data).toEqual([{ value: 2.5, label: { formatter: '2.5 ms' } }]);
    expect(series[6].data).toEqual([{ value: 9, label: { formatter: '9 ms' } }]);
  });

  it('picks the time unit and counts buckets', () => {
    expect([0, 999, 1000, 2e6, 3e9, 5e12].map((p) => timeUnit(p).label)).toEqual(['ps', 'ps', 'ns', 'µs', 'ms', 's']);
    expect(bucketCount(results)).toBe(5);
  });
});

describe('latencyHistogram', () => {
  const of = (values: number[]) => LogHistogram.of(values).toJSON();

  it('bins on log-spaced edges in µs and counts every latency once', () => {
    const lat = buildFixture().faultLatency;
    const h = latencyHistogram(lat);
    expect(lat.count).toBe(500);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(lat.count);
    expect(h.edgesUs.length).toBe(h.counts.length + 1);
    for (let i = 1; i < h.edgesUs.length; i++) expect(h.edgesUs[i] / h.edgesUs[i - 1]).toBeCloseTo(10 ** 0.1, 4);
    expect(h.edgesUs[0]).toBeLessThanOrEqual(lat.min / 1e6);
    expect(h.edgesUs.at(-1)).toBeGreaterThanOrEqual(lat.max / 1e6);
  });

  it('handles exact decades, a single value, zeros and no values', () => {
    expect(latencyHistogram(of([1e6, 10e6, 100e6]), 1)).toEqual({ edgesUs: [1, 10, 100], counts: [1, 2] }); // the top edge falls in the last bin
    expect(latencyHistogram(of([5e6]), 1)).toEqual({ edgesUs: [1, 10], counts: [1] });
    expect(latencyHistogram(of([0, 0]))).toEqual({ edgesUs: [0, 1], counts: [2] });
    expect(latencyHistogram(of([0, 1e6]), 1)).toEqual({ edgesUs: [1, 10], counts: [2] });
    expect(latencyHistogram(of([]))).toEqual({ edgesUs: [], counts: [] });
  });
});

describe('cross-device facts in report.html', () => {
  it('lists peer access per path and owner groups when a run has them, and not otherwise', () => {
    const plain = withoutLibrary(renderReportHtml(tinyResults()));
    expect(plain).not.toContain('peer access');
    const r = tinyResults({
      devices: [{ ...tinyResults().devices[0], peerPaths: { 'p2p-host-bridge': { accesses: 16, bytes: 4096 } } }],
      crossDevice: { owners: 'interconnect', peerPages: 'owner', migrateLock: 'serial', invalidation: 'one-pass', sourcePeerMigrates: true, timeslicePs: 0, groups: [['gpu0', 'gpu1']], advice: [] },
    });
    const page = withoutLibrary(renderReportHtml(r));
    expect(page).toContain('gpu0 16 accesses (4 KiB) over PCIe P2P through the root complex');
    expect(page).toContain('gpu0 + gpu1 (owners: interconnect)');
  });
});
