// What the headless-Chromium tests share: Debian's Chromium and its flags (never
// `npx playwright install`; .ci/run installs the package), and the few DOM shapes the
// page.evaluate callbacks use (tsconfig has no DOM lib).

/** Debian's Chromium; HETMEM_CHROMIUM overrides it (e.g. to check the missing-browser failure). */
export const CHROMIUM = process.env.HETMEM_CHROMIUM ?? '/usr/bin/chromium';
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
