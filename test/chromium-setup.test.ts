// The browser the Chromium tests drive: Debian's where installed, else the npm package's, which
// must launch under playwright-core with nothing outside npm (a fresh machine's `npm ci && npm test`).
import { describe, it, expect } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { DEBIAN_CHROMIUM, findChromium } from './chromium-setup.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './browser.ts';
import { ROOT } from './paths.ts';

describe('the Chromium of the browser tests', () => {
  it('is Debian\'s when installed, an explicit path when HETMEM_CHROMIUM names one', async () => {
    if (existsSync(DEBIAN_CHROMIUM)) expect(await findChromium({})).toBe(DEBIAN_CHROMIUM);
    expect(await findChromium({ HETMEM_CHROMIUM: '/nonexistent/chromium' })).toBe('/nonexistent/chromium');
    // The workers were handed what the setup found for this run's environment.
    expect(CHROMIUM).toBe(await findChromium(process.env));
  });

  it('falls back to the npm package @sparticuz/chromium, which launches and renders a page', async () => {
    const exe = await findChromium({ HETMEM_CHROMIUM: 'npm' });
    expect(exe.startsWith(join(ROOT, 'node_modules', '.cache', 'hetmem-chromium'))).toBe(true);
    expect(statSync(exe).mode & 0o111).not.toBe(0);
    // A second call reuses the unpacked copy.
    expect(await findChromium({ HETMEM_CHROMIUM: 'npm' })).toBe(exe);
    const browser = await chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.setContent('<p id="x">hetmem</p>');
      expect(await page.textContent('#x')).toBe('hetmem');
      expect(browser.version()).toMatch(/^147\./);
    } finally {
      await browser.close();
    }
  });
});
