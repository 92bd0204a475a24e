// Drives `hetmem view` in headless Chromium (playwright-core, Debian's chromium): the served
// viewer of one run and of two, and the --static page. Interactions: zoom the heatmap down to
// single pages, click a fault batch, click a heatmap cell for its page history, compare two runs.
// Every test checks there were no console errors and no request beyond 127.0.0.1 (file: for
// the static page).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../browser.ts';
import { main } from '../../src/cli/main.ts';
import { EXAMPLES_DIR } from '../../src/scenario/load.ts';
import { loadDir, type LoadedRun } from '../../src/view/load.ts';
import { startViewer, type Viewer } from '../../src/view/server.ts';
import type { ResidencyGrid, PageHistory, BatchDetail } from '../../src/report/view-format.ts';

interface Chart {
  convertToPixel(finder: { gridIndex: number } | { seriesIndex: number }, value: unknown[]): number[];
}
interface HvState {
  ready: boolean;
  errors: number;
  grids: (Omit<ResidencyGrid, 'cells'> & { cells: number[] })[];
  history: PageHistory | null;
  batch: (BatchDetail & { record: Record<string, unknown> | null }) | null;
  cursorPs: number | null;
  window: [number, number];
  heat: Chart[];
  timelines: Chart[];
  charts: number;
}
declare const window: { __hetmemView: HvState };
interface Rect { left: number; top: number }
declare const document: { getElementById(id: string): { getBoundingClientRect(): Rect } | null };

const silent = { out: { write: () => true }, err: { write: () => true }, env: {} } as unknown as Parameters<typeof main>[1];

describe('hetmem view in headless Chromium', () => {
  let browser: Browser | undefined;
  let dir = '';
  let a: LoadedRun, b: LoadedRun;
  const viewers: Viewer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hetmem-view-'));
    expect(await main(['run', join(EXAMPLES_DIR, 'oversubscribed-eviction.yaml'), '--scale', '0.05', '--out', join(dir, 'evict')], silent)).toBe(0);
    expect(await main(['run', join(EXAMPLES_DIR, 'sva-vs-hmm.yaml'), '--scale', '0.05', '--out', join(dir, 'sva')], silent)).toBe(0);
    const la = loadDir(join(dir, 'evict')), lb = loadDir(join(dir, 'sva'));
    if (la.kind !== 'run' || lb.kind !== 'run') throw new Error('expected runs');
    a = la.run;
    b = lb.run;
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 120_000);

  afterAll(async () => {
    for (const v of viewers) await v.close();
    await browser?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  async function open(url: string, allowed: RegExp): Promise<{ page: Page; errors: string[]; outside: string[] }> {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [], outside: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => { if (!allowed.test(r.url())) outside.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__hetmemView?.ready === true, undefined, { timeout: 30_000 });
    return { page, errors, outside };
  }

  async function serve(runs: LoadedRun[]): Promise<Viewer> {
    const v = await startViewer(runs);
    viewers.push(v);
    return v;
  }

  const LOCAL = /^(http:\/\/127\.0\.0\.1:\d+\/|data:)/;

  /** Clicks the point `value` of chart `which` (heat or timelines) of run `ri`. */
  async function clickChart(page: Page, which: 'heat' | 'timeline', ri: number, value: unknown[]): Promise<void> {
    const at = await page.evaluate(([w, r, v]) => {
      const hv = window.__hetmemView;
      const chart = w === 'heat' ? hv.heat[r as number] : hv.timelines[r as number];
      const px = chart.convertToPixel({ seriesIndex: 0 }, v as unknown[]);
      const box = document.getElementById(`${w}-${r}`)!.getBoundingClientRect();
      return [box.left + px[0], box.top + px[1]];
    }, [which, ri, value] as const);
    await page.mouse.click(at[0], at[1]);
  }

  it('opens one run, zooms the heatmap down to single pages and shows a page history', async () => {
    const v = await serve([a]);
    expect(v.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const { page, errors, outside } = await open(v.url, LOCAL);
    try {
      const g0 = await page.evaluate(() => window.__hetmemView.grids[0]);
      expect(g0.pagesPerRow).toBeGreaterThan(1);
      // Pages live on the CPU and on the device: at least two locations appear in the overview.
      expect(new Set(g0.cells.filter((c) => c !== 0)).size).toBeGreaterThanOrEqual(2);
      const lo = g0.v0;
      await page.fill('#v0-0', lo.toString(16));
      await page.fill('#v1-0', (lo + 64).toString(16));
      await page.click('#go-0');
      await page.waitForFunction(() => window.__hetmemView.grids[0].pagesPerRow === 1);
      const g1 = await page.evaluate(() => window.__hetmemView.grids[0]);
      expect([g1.v0, g1.v1, g1.rows]).toEqual([lo, lo + 64, 64]);
      // Click a populated single-page cell: its history opens with that page's events.
      const idx = g1.cells.findIndex((c) => c !== 0);
      expect(idx).toBeGreaterThanOrEqual(0);
      const row = Math.floor(idx / g1.cols), col = idx % g1.cols;
      await clickChart(page, 'heat', 0, [col, row]);
      await page.waitForFunction(() => window.__hetmemView.history !== null);
      const h = await page.evaluate(() => window.__hetmemView.history!);
      expect([h.v0, h.v1]).toEqual([lo + row, lo + row + 1]);
      expect(h.events.some((e) => e.kind === 'reside')).toBe(true);
      expect(h.devices.length).toBeGreaterThan(0);
      expect(await page.locator('#history-0 table[data-history] tr').count()).toBe(h.events.length + 1);
      expect(await page.evaluate(() => window.__hetmemView.cursorPs)).not.toBeNull();
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('clicking a fault batch shows its faults, the pages it moved and its record', async () => {
    const v = await serve([a]);
    const { page, errors, outside } = await open(v.url, LOCAL);
    try {
      // The batch with evictions: its rectangle's middle on the device's batch row.
      const rec = a.results.batches.find((x) => x.num_evict > 0)!;
      expect(rec).toBeDefined();
      const row = a.results.devices.findIndex((d) => d.id === rec.device) * 2 + 1;
      const mid = (rec.start_time * 1000 + Math.max(1, rec.time) * 500) / 1e6;
      // Zoom the time window onto the batch so its rectangle is wide enough to hit.
      await page.evaluate(([t0, t1]) => window.__hetmemView.timelines[0] && (window.__hetmemView as unknown as { zoom(r: number, a: null, b: null, t0: number, t1: number): Promise<void> }).zoom(0, null, null, t0, t1), [rec.start_time * 1000 - 1000, (rec.start_time + Math.max(1, rec.time)) * 1000 + 1000] as const);
      expect(await page.evaluate(() => window.__hetmemView.window)).toEqual([rec.start_time * 1000 - 1000, (rec.start_time + Math.max(1, rec.time)) * 1000 + 1000]);
      await clickChart(page, 'timeline', 0, [mid, row]);
      await page.waitForFunction(() => window.__hetmemView.batch !== null);
      const d = await page.evaluate(() => window.__hetmemView.batch!);
      expect([d.device, d.batch]).toEqual([rec.device, rec.batch]);
      expect(d.faults.length).toBe(rec.cached_faults);
      expect(d.pagesOut).toBe(rec.num_evict);
      expect(d.record).toMatchObject({ num_evict: rec.num_evict, transfer_size: rec.transfer_size });
      expect(await page.locator('#batch-0 table[data-batch-faults] tr').count()).toBe(rec.cached_faults + 1);
      expect(await page.locator('#batch-0 table[data-batch-moves] tr').count()).toBeGreaterThan(1);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('compares two runs side by side with their differences as charts', async () => {
    const v = await serve([a, b]);
    const { page, errors, outside } = await open(v.url, LOCAL);
    try {
      expect(await page.locator('[data-run]').count()).toBe(2);
      expect(await page.locator('[data-view-chart="compare"]').count()).toBeGreaterThanOrEqual(7);
      expect(await page.locator('#compare-text').textContent()).toContain('evict');
      // One time window for both runs: zooming one run's heatmap reloads the other's at that window.
      const end = Math.max(a.results.endPs, b.results.endPs);
      await page.evaluate(([t1]) => (window.__hetmemView as unknown as { zoom(r: number, a: null, b: null, t0: number, t1: number): Promise<void> }).zoom(0, null, null, 0, t1), [Math.floor(end / 2)] as const);
      const gs = await page.evaluate(() => window.__hetmemView.grids.map((g) => [g.t0, g.t1]));
      expect(gs).toEqual([[0, Math.floor(end / 2)], [0, Math.floor(end / 2)]]);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('--static writes one page that works from file:// with nothing fetched', async () => {
    const file = join(dir, 'static.html');
    expect(await main(['view', join(dir, 'evict'), join(dir, 'sva'), '--static', file], silent)).toBe(0);
    const { page, errors, outside } = await open(pathToFileURL(file).href, /^(file|data):/);
    try {
      const g0 = await page.evaluate(() => window.__hetmemView.grids[0]);
      await page.fill('#v0-0', g0.v0.toString(16));
      await page.fill('#v1-0', (g0.v0 + 8).toString(16));
      await page.click('#go-0');
      await page.waitForFunction(() => window.__hetmemView.grids[0].pagesPerRow === 1);
      await page.click('#hist-0');
      await page.waitForFunction(() => window.__hetmemView.history !== null);
      expect((await page.evaluate(() => window.__hetmemView.history!)).events.length).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
