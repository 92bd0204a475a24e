// Opens faultbench.html in headless Debian Chromium (playwright-core, file://) and checks that
// every chart draws. Needs /usr/bin/chromium, as test/report/html.browser.test.ts does.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS, type PageElement } from '../browser.ts';
import { chromium, type Browser } from 'playwright-core';
import { runFaultbench, type FaultbenchConfig } from '../../src/faultbench/run.ts';
import { FAULTBENCH_CHART_NAMES, renderFaultbenchHtml } from '../../src/faultbench/html.ts';
import { profile } from './helpers.ts';

const ARGS = CHROMIUM_ARGS;

declare const window: { __hetmemChartsReady?: number };
declare const document: { querySelectorAll(selector: string): Iterable<PageElement> };
declare function requestAnimationFrame(callback: () => void): number;

const TINY: FaultbenchConfig = {
  throughput: { batchSizes: [1, 64], lanes: 32, laneCounts: [1, 32], pagesPerLane: 1, share: 4, windowPs: 20_000_000_000 },
  bandwidthSizes: [4096, 65536, 2 << 20],
  oversubscription: { factors: [0.5, 2], policies: ['evict-lru-chunk'], chunks: 2, lanes: 8, passes: 1, randomPerPage: 0.25 },
  drivers: { pages: 64, lanes: 8 },
};

describe('faultbench.html in headless Chromium', () => {
  let browser: Browser | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'hetmem-faultbench-'));
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws every chart of a tiny run without errors or network access', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y --no-install-recommends chromium)`).toBe(true);
    const results = runFaultbench({ profiles: [profile('pascal-pcie3'), profile('mi250x-xnack'), profile('sva-accelerator')], seed: 1, config: TINY });
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
    expect(await page.locator('table').count()).toBe(7);
    await page.close();
  });
});
