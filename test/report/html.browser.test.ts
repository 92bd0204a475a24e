// Opens report.html in headless Chromium (playwright-core, file://) and checks that every
// chart really draws. The browser is Debian's or the npm package's (test/chromium-setup.ts): a
// missing browser FAILS this test; never `npx playwright install`.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, type PageElement } from '../browser.ts';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHART_NAMES } from '../../src/report/charts.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { buildFixture } from './fixture.ts';
import { BATCH_FIELDS } from '../../src/sim/results.ts';
import { tinyResults, EMPTY_LATENCY } from './tiny.ts';

const ARGS = CHROMIUM_ARGS;

// The callbacks passed to page.evaluate run in Chromium. tsconfig has no DOM lib, so declare
// (module-locally) the few browser names they use.
declare const window: { __hetmemChartsReady?: number };
declare const document: { querySelectorAll(selector: string): Iterable<PageElement> };
declare function requestAnimationFrame(callback: () => void): number;

interface Opened {
  page: Page;
  errors: string[];
  /** Requests for anything but file: and data: URLs. */
  external: string[];
}

interface ChartPixels {
  name: string;
  canvases: number;
  width: number;
  height: number;
  /** Pixels that are neither transparent nor (near) white. */
  inked: number;
  /** Strongly coloured pixels (series colours; axes, grid and text are grey). */
  coloured: number;
}

describe('report.html in headless Chromium', () => {
  let browser: Browser | undefined;
  let dir = '';

  /** The shared browser, launched on first use. A missing Chromium fails the calling test. */
  async function launched(): Promise<Browser> {
    if (!existsSync(CHROMIUM)) {
      throw new Error(CHROMIUM_MISSING);
    }
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    return browser;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hetmem-report-'));
  });

  afterAll(async () => {
    await browser?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('has Chromium at the expected path', () => {
    expect(existsSync(CHROMIUM), CHROMIUM_MISSING).toBe(true);
  });

  async function open(file: string, html: string): Promise<Opened> {
    const path = join(dir, file);
    writeFileSync(path, html);
    const page = await (await launched()).newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const external: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!/^(file|data):/.test(r.url())) external.push(r.url());
    });
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.__hetmemChartsReady === 'number', undefined, { timeout: 30_000 });
    // Let ECharts paint the frame it scheduled.
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    return { page, errors, external };
  }

  /** Per chart div: its canvases, their size and how many pixels carry ink. */
  function chartPixels(page: Page): Promise<ChartPixels[]> {
    return page.evaluate(() =>
      [...document.querySelectorAll('[data-chart]')].map((div) => {
        const canvases = [...div.querySelectorAll('canvas')];
        let inked = 0;
        let coloured = 0;
        let width = 0;
        let height = 0;
        for (const c of canvases) {
          width = Math.max(width, c.width);
          height = Math.max(height, c.height);
          if (c.width === 0 || c.height === 0) continue;
          const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < px.length; i += 4) {
            if (px[i + 3] === 0) continue;
            if (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240) inked++;
            if (Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) coloured++;
          }
        }
        return { name: div.dataset.chart ?? '', canvases: canvases.length, width, height, inked, coloured };
      }),
    );
  }

  it('renders every chart of a realistic run without errors or network access', async () => {
    const { page, errors, external } = await open('report.html', renderReportHtml(buildFixture()));
    try {
      expect(errors).toEqual([]);
      expect(external).toEqual([]);
      expect(await page.evaluate(() => window.__hetmemChartsReady)).toBe(CHART_NAMES.length);
      const charts = await chartPixels(page);
      expect(charts.map((c) => c.name)).toEqual([...CHART_NAMES]);
      for (const c of charts) {
        expect(c.canvases, c.name).toBeGreaterThan(0);
        expect(c.width, c.name).toBeGreaterThan(300);
        expect(c.height, c.name).toBeGreaterThan(200);
        // Axes, labels and data: thousands of inked pixels, and series drawn in colour.
        expect(c.inked, c.name).toBeGreaterThan(5_000);
        expect(c.coloured, c.name).toBeGreaterThan(5_000);
      }
      // The summary tables made it too: devices, kernels (two per device), links, batches.
      expect(await page.locator('table').count()).toBe(4);
      expect(await page.locator('table').first().locator('tbody tr').count()).toBe(2);
      expect(await page.locator('table').nth(1).locator('tbody tr').count()).toBe(4);
    } finally {
      await page.close();
    }
  });

  it('draws the data, not just axes: a data-rich run has far more colour than an empty one', async () => {
    const full = await open('full.html', renderReportHtml(buildFixture()));
    const empty = await open('empty.html', renderReportHtml(tinyResults({
      devices: [], links: [], faultLatency: EMPTY_LATENCY, timeline: { bucketPs: 1000, residency: {}, faults: {}, linkBytes: {} },
    })));
    try {
      expect(empty.errors).toEqual([]);
      expect(await empty.page.evaluate(() => window.__hetmemChartsReady)).toBe(CHART_NAMES.length);
      const [f, e] = [await chartPixels(full.page), await chartPixels(empty.page)];
      for (let i = 0; i < CHART_NAMES.length; i++) {
        expect(e[i].inked, `${CHART_NAMES[i]} (an empty run still shows axes and a note)`).toBeGreaterThan(1_000);
        expect(f[i].coloured, CHART_NAMES[i]).toBeGreaterThan(e[i].coloured * 3);
      }
    } finally {
      await full.page.close();
      await empty.page.close();
    }
  });

  it('renders a long run (2,000 buckets, 20,000 latencies, 3 devices) as well', async () => {
    const long = buildFixture(11, { devices: 3, batches: 600, buckets: 2000, latencies: 20_000 });
    const { page, errors } = await open('long.html', renderReportHtml(long));
    try {
      expect(errors).toEqual([]);
      expect(await page.evaluate(() => window.__hetmemChartsReady)).toBe(CHART_NAMES.length);
      for (const c of await chartPixels(page)) expect(c.coloured, c.name).toBeGreaterThan(5_000);
    } finally {
      await page.close();
    }
  });

  it('draws the link chart as one panel per link direction, one above the other', async () => {
    const r = buildFixture();
    const { page, errors } = await open('links.html', renderReportHtml(r));
    try {
      expect(errors).toEqual([]);
      // Each panel's line, found through ECharts: grid k holds segment k, all grids share the time range.
      const panels = await page.evaluate(() => {
        const w = window as unknown as { echarts: { getInstanceByDom(el: unknown): { convertToPixel(finder: object, value: number[]): number[] } } };
        const el = (document as unknown as { getElementById(id: string): unknown }).getElementById('chart-link-utilisation');
        const chart = w.echarts.getInstanceByDom(el);
        return [0, 1, 2].map((k) => [chart.convertToPixel({ gridIndex: k }, [0, 0]), chart.convertToPixel({ gridIndex: k }, [1000, 0])]);
      });
      expect(panels.length).toBe(r.links.length);
      for (let k = 1; k < panels.length; k++) {
        expect(panels[k][0][0]).toBe(panels[0][0][0]); // same left edge and x scale
        expect(panels[k][1][0]).toBe(panels[0][1][0]);
        expect(panels[k][0][1]).toBeGreaterThan(panels[k - 1][0][1] + 50); // each panel below the last
      }
      const charts = await chartPixels(page);
      expect(charts.find((c) => c.name === 'link-utilisation')!.height).toBeGreaterThan(charts.find((c) => c.name === 'residency')!.height);
    } finally {
      await page.close();
    }
  });

  it('shows lane busy time beside a stall a thousand times longer', async () => {
    const r = tinyResults();
    const dev = { ...r.devices[0], time: { ...r.devices[0].time, stall: 9_000_000_000_000, busy: 9_000_000_000 } };
    const { page, errors } = await open('breakdown.html', renderReportHtml({ ...r, devices: [dev] }));
    try {
      expect(errors).toEqual([]);
      // Bar lengths in px on the lane grid (index 1): from where the axis starts to each value
      // (lane time is in s here: 9 and 0.009).
      const px = await page.evaluate(() => {
        type Chart = { convertToPixel(finder: object, value: number): number; getModel(): { getComponent(kind: string, i: number): { axis: { getExtent(): number[] } } } };
        const w = window as unknown as { echarts: { getInstanceByDom(el: unknown): Chart } };
        const el = (document as unknown as { getElementById(id: string): unknown }).getElementById('chart-time-breakdown');
        const chart = w.echarts.getInstanceByDom(el);
        const start = chart.getModel().getComponent('xAxis', 1).axis.getExtent()[0];
        const at = (v: number): number => chart.convertToPixel({ xAxisIndex: 1 }, v) - start;
        return { stall: at(9), busy: at(0.009) };
      });
      // On a linear axis the busy bar would be 1/1000 of the stall bar: under a pixel.
      expect(px.stall).toBeGreaterThan(200);
      expect(px.busy).toBeGreaterThan(20);
      expect(px.busy).toBeGreaterThan(px.stall / 10);
    } finally {
      await page.close();
    }
  });

  it('sorts the batch table by a column, ascending then descending', async () => {
    const r = buildFixture();
    const { page, errors } = await open('batches.html', renderReportHtml(r));
    try {
      expect(errors).toEqual([]);
      const table = page.locator('table#batches');
      const column = async (i: number): Promise<number[]> => (await table.locator(`tbody tr td:nth-child(${i + 1})`).allTextContents()).map(Number);
      const t = BATCH_FIELDS.indexOf('time');
      const times = r.batches.map((b) => b.time);
      expect(await column(t)).toEqual(times);
      await table.locator('th button', { hasText: /^time$/ }).click();
      expect(await column(t)).toEqual([...times].sort((a, b) => a - b));
      expect(await table.locator('th').nth(t).getAttribute('aria-sort')).toBe('ascending');
      await table.locator('th button', { hasText: /^time$/ }).click();
      expect(await column(t)).toEqual([...times].sort((a, b) => b - a));
      // Rows move whole: the top row is the longest batch, every field of it.
      const longest = r.batches.reduce((a, x) => (x.time > a.time ? x : a));
      expect(await table.locator('tbody tr').first().locator('td').allTextContents()).toEqual(BATCH_FIELDS.map((f) => String(longest[f])));
      // Text columns sort as text.
      await table.locator('th button', { hasText: /^device$/ }).click();
      const devices = await table.locator('tbody tr td:nth-child(1)').allTextContents();
      expect(devices).toEqual([...devices].sort());
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('reports a chart that cannot be set up instead of hiding it', async () => {
    const html = renderReportHtml(buildFixture()).replace('id="chart-fault-latency"', 'id="chart-renamed"');
    const { page, errors } = await open('broken.html', html);
    try {
      expect(await page.evaluate(() => window.__hetmemChartsReady)).toBe(CHART_NAMES.length - 1);
      expect(errors.length).toBe(1);
      expect(errors[0]).toContain('hetmem report: chart "fault-latency" failed: Error: no element #chart-fault-latency');
    } finally {
      await page.close();
    }
  });
});
