// The text tables, CSV files and HTML page of a faultbench run, on hand-made results.
import { describe, it, expect } from 'vitest';
import { faultbenchText, formatValue, measureText } from '../../src/faultbench/table.ts';
import { faultbenchCsvFiles, measureCsv } from '../../src/faultbench/csv.ts';
import { FAULTBENCH_CHART_NAMES, faultbenchCharts, renderFaultbenchHtml } from '../../src/faultbench/html.ts';
import { echartsLibrary } from '../../src/report/html.ts';
import type { FaultbenchResults, MeasureTable } from '../../src/faultbench/types.ts';

const latency: MeasureTable = {
  id: 'latency', title: 'Single-fault latency', meaning: 'µs', rows: [
    { key: 'latency.zero-fill', label: 'zero fill', unit: 'us', params: { case: 'zero-fill' }, cells: { a: { value: 45.07 }, b: { value: null, note: 'no faults, "pinned"' } } },
    { key: 'latency.system', label: 'system page', unit: 'us', params: { case: 'system' }, cells: { a: { value: 46.96, note: 'took 2 faults' }, b: { value: null, note: 'no faults, "pinned"' } } },
  ],
};
const bandwidth: MeasureTable = {
  id: 'bandwidth', title: 'Bandwidth', meaning: 'GB/s', rows: [4096, 65536].map((bytes) => ({
    key: `bandwidth.h2d.${bytes}`, label: `h2d ${bytes}`, unit: 'GB/s', params: { path: 'h2d', bytes }, cells: { a: { value: bytes / 6000 }, b: { value: null, note: 'none' } },
  })),
};
const throughput: MeasureTable = {
  id: 'throughput', title: 'Throughput', meaning: 'faults/s', rows: [1, 256].map((batch) => ({
    key: `throughput.batch.${batch}`, label: `batch ${batch}`, unit: 'faults/s', params: { sweep: 'batch', batch, lanes: 256 }, cells: { a: { value: batch * 1000 }, b: { value: 1234567 } },
  })),
  histograms: [
    { profile: 'a', label: '256 lanes, batch 256, zero fill', edgesUs: [39.8107, 50.1187, 63.0957], counts: [3, 1], samples: 4, p50Us: 45, p99Us: 60 },
    { profile: 'b', label: '256 lanes, batch 32, zero fill', edgesUs: [50.1187, 63.0957], counts: [2], samples: 2, p50Us: 55, p99Us: 55 },
  ],
};
const results: FaultbenchResults = {
  schema: 1, seed: 5, quick: true, profiles: ['a', 'b'],
  profileInfo: { a: { driver: 'hmm-mirror', link: 'pcie gen3 x16 14.4 GB/s', peer: null, memory: 16 * 2 ** 30 }, b: { driver: 'pinning', link: 'pcie gen4 x16 28.81 GB/s', peer: 'network 25 GB/s', memory: 0 } },
  measures: [latency, throughput, bandwidth],
};

describe('text tables', () => {
  it('formats numbers without locale: separators from 1,000, else 4 significant digits', () => {
    expect(formatValue(1234567)).toBe('1,234,567');
    expect(formatValue(45.0712)).toBe('45.07');
    expect(formatValue(0.083984)).toBe('0.08398');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(-1500)).toBe('-1,500');
  });

  it('puts profiles in columns and numbers footnotes per table, in order of first use', () => {
    const t = measureText(latency, ['a', 'b']);
    expect(t).toBe([
      '1. Single-fault latency',
      '   µs',
      '',
      '   case         unit          a        b',
      '   zero fill    us        45.07  n/a [1]',
      '   system page  us    46.96 [2]  n/a [1]',
      '',
      '   [1] no faults, "pinned"',
      '   [2] took 2 faults',
    ].join('\n'));
  });

  it('numbers each measure as in the issue even when only some ran', () => {
    const text = faultbenchText(results);
    expect(text.startsWith('hetmem faultbench: 2 profiles, seed 5, quick run\n')).toBe(true);
    expect(text).toMatch(/^1\. Single-fault latency$/m);
    expect(text).toMatch(/^2\. Throughput$/m);
    expect(text).toMatch(/^3\. Bandwidth$/m);
    expect(text).toMatch(/^ {3}b {2}pinning {5}pcie gen4 x16 28\.81 GB\/s {2}peer network 25 GB\/s$/m);
  });
});

describe('CSV', () => {
  it('is long form with the parameters as columns and RFC 4180 quoting', () => {
    expect(measureCsv(latency, ['a', 'b'])).toBe([
      'row,label,unit,case,profile,value,note',
      'latency.zero-fill,zero fill,us,zero-fill,a,45.07,',
      'latency.zero-fill,zero fill,us,zero-fill,b,,"no faults, ""pinned"""',
      'latency.system,system page,us,system,a,46.96,took 2 faults',
      'latency.system,system page,us,system,b,,"no faults, ""pinned"""',
      '',
    ].join('\n'));
    expect([...faultbenchCsvFiles(results).keys()]).toEqual(['faultbench-latency.csv', 'faultbench-throughput.csv', 'faultbench-bandwidth.csv']);
    expect(faultbenchCsvFiles(results).get('faultbench-throughput.csv')!.split('\n')[0]).toBe('row,label,unit,sweep,batch,lanes,profile,value,note');
  });
});

describe('HTML page', () => {
  const html = renderFaultbenchHtml(results);
  const specs = JSON.parse(/<script id="hetmem-charts" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]) as { name: string; option: Record<string, unknown> }[];

  it('is self-contained: ECharts inlined, nothing fetched', () => {
    expect(html.startsWith('<!DOCTYPE html>\n')).toBe(true);
    const rest = html.replace(echartsLibrary().replace(/<\/(script)/gi, '<\\/$1'), '');
    expect(rest.length).toBeLessThan(html.length - 500_000);
    expect(rest).not.toMatch(/https?:\/\//);
    expect(rest).not.toMatch(/\s(src|href)=/i);
    expect(rest).toContain('window.__hetmemChartsReady = charts.length;');
  });

  it('has a div per chart of the measures that ran, in order, with the same specs embedded', () => {
    const names = ['latency', 'latency-histogram', 'bandwidth', 'throughput-batch', 'throughput-lanes'];
    expect(FAULTBENCH_CHART_NAMES.filter((n) => names.includes(n))).toEqual(names);
    const divs = [...html.matchAll(/<div id="chart-([^"]+)" data-chart="([^"]+)"/g)].map((m) => m[1]);
    expect(divs).toEqual(names);
    expect(specs.map((s) => s.name)).toEqual(names);
    expect(faultbenchCharts(results).map((c) => c.name)).toEqual(names);
  });

  it('aligns latency histograms of different profiles on one bin grid', () => {
    const h = specs.find((s) => s.name === 'latency-histogram')!.option as { xAxis: { data: string[] }; series: { name: string; data: number[] }[] };
    expect(h.xAxis.data).toEqual(['39.8', '50.1']);
    expect(h.series.map((s) => s.data)).toEqual([[3, 1], [0, 2]]);
    expect(h.series[0].name).toBe('a (p50 45 µs, p99 60 µs)');
  });

  it('draws the bandwidth curve of a profile with numbers, none for n/a', () => {
    const b = specs.find((s) => s.name === 'bandwidth')!.option as { series: { name: string; data: [number, number][] }[] };
    expect(b.series).toEqual([expect.objectContaining({ name: 'a h2d', data: [[4, 4096 / 6000], [64, 65536 / 6000]] })]);
  });

  it('escapes table text and is deterministic', () => {
    expect(html).toContain('no faults, &quot;pinned&quot;');
    expect(renderFaultbenchHtml(results)).toBe(html);
  });
});
