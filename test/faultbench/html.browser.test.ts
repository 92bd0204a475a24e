// Opens faultbench.html in headless Chromium (playwright-core, file://) and checks that
// every chart draws, that n/a cells are marked (an "n/a" label per n/a bar, the reason in its
// tooltip, notes under line charts), that no legend overlaps its plot and that no text leaves
// its chart. The browser is Debian's or the npm package's (test/chromium-setup.ts).
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, type PageElement } from '../browser.ts';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runFaultbench, type FaultbenchConfig } from '../../src/faultbench/run.ts';
import { FAULTBENCH_CHART_NAMES, faultbenchCharts, renderFaultbenchHtml, type FaultbenchChart } from '../../src/faultbench/html.ts';
import { NOTES } from '../../src/faultbench/harness.ts';
import { profile } from './helpers.ts';

const ARGS = CHROMIUM_ARGS;

declare const document: { querySelectorAll(selector: string): Iterable<PageElement> };
declare function requestAnimationFrame(callback: () => void): number;

// What the layout checks read of ECharts and zrender in the page (internal but stable in the
// pinned echarts 6: component views, the grid's rect, the display list).
interface ZrRect { x: number; y: number; width: number; height: number; clone(): ZrRect; applyTransform(m: number[] | null): void }
interface ZrElement { type: string; style?: { text?: string }; transform: number[] | null; getBoundingRect(): ZrRect }
interface ChartInstance {
  getWidth(): number;
  getHeight(): number;
  getModel(): { getComponent(type: string, index?: number): { coordinateSystem?: { getRect(): ZrRect } } | undefined };
  getViewOfComponentModel(model: object): { group: ZrElement };
  getZr(): { storage: { getDisplayList(update: boolean): ZrElement[] } };
  dispatchAction(action: object): void;
}
declare const echarts: { getInstanceByDom(el: unknown): ChartInstance | undefined };
declare const window: { __hetmemChartsReady?: number };

/** What one chart looks like once drawn. */
interface Layout {
  name: string;
  /** Texts drawn ("n/a" labels included), with their boxes in chart pixels. */
  texts: { text: string; x: number; y: number; width: number; height: number }[];
  width: number;
  height: number;
  legend: { x: number; y: number; width: number; height: number } | null;
  grid: { x: number; y: number; width: number; height: number } | null;
}

const TINY: FaultbenchConfig = {
  throughput: { batchSizes: [1, 64], lanes: 32, laneCounts: [1, 32], pagesPerLane: 1, share: 4, windowPs: 20_000_000_000 },
  bandwidthSizes: [4096, 65536, 2 << 20],
  oversubscription: { factors: [0.5, 2], policies: ['evict-lru-chunk'], chunks: 2, lanes: 8, passes: 1, randomPerPage: 0.25 },
  drivers: { pages: 64, lanes: 8 },
  peers: { pages: 32, migrateSizes: [65536], contenders: [2], contentionPages: 32 },
};

/** The drawn layout of every chart on the page. */
async function layoutsOf(page: Page): Promise<Layout[]> {
  return page.evaluate(() => [...document.querySelectorAll('[data-chart]')].map((div) => {
    const chart = echarts.getInstanceByDom(div)!;
    const box = (r: ZrRect) => ({ x: r.x, y: r.y, width: r.width, height: r.height });
    const global = (el: ZrElement) => {
      const r = el.getBoundingRect().clone();
      r.applyTransform(el.transform);
      return r;
    };
    const model = chart.getModel();
    const legend = model.getComponent('legend');
    const grid = model.getComponent('grid');
    return {
      name: div.dataset.chart ?? '',
      width: chart.getWidth(),
      height: chart.getHeight(),
      texts: chart.getZr().storage.getDisplayList(true)
        .filter((el) => (el.type === 'tspan' || el.type === 'text') && (el.style?.text ?? '') !== '')
        .map((el) => ({ text: el.style!.text!, ...box(global(el)) })),
      legend: legend ? box(global(chart.getViewOfComponentModel(legend).group)) : null,
      grid: grid?.coordinateSystem ? box(grid.coordinateSystem.getRect()) : null,
    };
  }));
}

/** No text leaves its chart, every legend sits above its plot, and every n/a bar has its "n/a" label. */
function checkLayouts(layouts: readonly Layout[], expected: readonly FaultbenchChart[]): void {
  for (const l of layouts) {
    const spec = expected.find((c) => c.name === l.name)!;
    // No text (title, legend, axis labels and names, n/a labels, notes) reaches past the chart's edges.
    for (const t of l.texts) {
      const where = `${l.name}: "${t.text}" at ${Math.round(t.x)},${Math.round(t.y)} ${Math.round(t.width)}×${Math.round(t.height)} in ${l.width}×${l.height}`;
      expect(t.x >= -0.5 && t.y >= -0.5 && t.x + t.width <= l.width + 0.5 && t.y + t.height <= l.height + 0.5, where).toBe(true);
    }
    // The legend sits above the plot, in its own space.
    expect(l.legend, l.name).not.toBeNull();
    expect(l.grid, l.name).not.toBeNull();
    expect(l.legend!.y + l.legend!.height, `${l.name} (${l.width} px): legend bottom against plot top`).toBeLessThanOrEqual(l.grid!.y);
    // One "n/a" label per n/a bar.
    const naBars = JSON.stringify(spec.option).split('"formatter":"n/a"').length - 1;
    expect(l.texts.filter((t) => t.text === 'n/a').length, l.name).toBe(naBars);
  }
}

describe('faultbench.html in headless Chromium', () => {
  let browser: Browser | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'hetmem-faultbench-'));
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws every chart of a tiny run without errors or network access', async () => {
    expect(existsSync(CHROMIUM), CHROMIUM_MISSING).toBe(true);
    // rdma-nic (pinning) and sva-accelerator (no device memory) have n/a cells in every measure.
    const results = runFaultbench({ profiles: [profile('pascal-pcie3'), profile('mi250x-xnack'), profile('sva-accelerator'), profile('rdma-nic')], seed: 1, config: TINY });
    const path = join(dir, 'faultbench.html');
    writeFileSync(path, renderFaultbenchHtml(results));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [], external: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!/^(file|data):/.test(r.url())) external.push(r.url());
    });
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.__hetmemChartsReady === 'number', undefined, { timeout: 30_000 });
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    expect(await page.evaluate(() => window.__hetmemChartsReady)).toBe(FAULTBENCH_CHART_NAMES.length);
    const charts = await page.evaluate(() => [...document.querySelectorAll('[data-chart]')].map((div) => {
      let coloured = 0;
      for (const c of div.querySelectorAll('canvas')) {
        if (c.width === 0 || c.height === 0) continue;
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3] !== 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) coloured++;
        }
      }
      return { name: div.dataset.chart ?? '', coloured };
    }));
    expect(charts.map((c) => c.name)).toEqual([...FAULTBENCH_CHART_NAMES]);
    for (const c of charts) expect(c.coloured, c.name).toBeGreaterThan(1_000);
    // One table per measure plus the profile table.
    expect(await page.locator('table').count()).toBe(8);

    const expected = faultbenchCharts(results);
    // The wide window, then one close to the charts' minimum width (820 px), where legends wrap.
    const wide = await layoutsOf(page);
    checkLayouts(wide, expected);
    await page.setViewportSize({ width: 880, height: 900 });
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    const narrow = await layoutsOf(page);
    expect(narrow.find((l) => l.name === 'bandwidth')!.width).toBeLessThan(860);
    checkLayouts(narrow, expected);
    const layouts = wide;
    const texts = (name: string) => layouts.find((l) => l.name === name)!.texts.map((t) => t.text);
    // rdma-nic and sva-accelerator have no single-fault number on several rows; rdma-nic has
    // no mirror, so every SVM pain point is n/a for it; line charts name the missing profiles.
    expect(texts('latency').filter((t) => t === 'n/a').length).toBeGreaterThanOrEqual(4);
    expect(texts('svm-pain-points').filter((t) => t === 'n/a')).toHaveLength(4);
    expect(texts('oversubscription-random').join(' ')).toContain('n/a: sva-accelerator, rdma-nic: ');
    expect(texts('bandwidth').join(' ')).toMatch(/n\/a: .*rdma-nic/);
    // An n/a bar's tooltip gives the reason.
    const tip = await page.evaluate(() => {
      const div = [...document.querySelectorAll('[data-chart="svm-pain-points"]')][0];
      // rdma-nic is series 3; the first category is fork.
      echarts.getInstanceByDom(div)!.dispatchAction({ type: 'showTip', seriesIndex: 3, dataIndex: 0 });
      return (div as unknown as { textContent: string }).textContent;
    });
    expect(tip).toContain(`rdma-nic, fork: n/a. ${NOTES.noMirror}`);
    await page.close();
  });
});
