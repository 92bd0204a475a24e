// What the headless-Chromium tests share: the browser and its flags (never
// `npx playwright install`), and the few DOM shapes the page.evaluate callbacks use (tsconfig
// has no DOM lib).
import { inject } from 'vitest';

/**
 * The Chromium that test/chromium-setup.ts chose for this run: Debian's /usr/bin/chromium, or
 * the binary of the npm package @sparticuz/chromium where Debian's is absent.
 * HETMEM_CHROMIUM=PATH overrides it (e.g. to check the missing-browser failure); HETMEM_CHROMIUM=npm
 * forces the npm package's.
 */
export const CHROMIUM: string = inject('chromium');
/** What a browser test says when CHROMIUM is not there. */
export const CHROMIUM_MISSING = `${CHROMIUM} is missing: unset HETMEM_CHROMIUM to use /usr/bin/chromium or the binary of the npm package @sparticuz/chromium (npm ci installs it)`;
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
export interface PageElement {
  dataset: Record<string, string | undefined>;
  querySelectorAll(selector: 'canvas'): Iterable<PageCanvas>;
}
