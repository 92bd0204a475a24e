// Vitest global setup: finds the Chromium the browser tests drive, once per run, and hands its
// path to the workers (`inject('chromium')`, read by test/browser.ts). Debian's /usr/bin/chromium
// when it is there (.ci/run installs it); otherwise the binary that the npm package
// @sparticuz/chromium ships, so `npm ci && npm test` needs nothing outside npm.
//
// HETMEM_CHROMIUM=PATH   use PATH (e.g. a missing one, to see the browser tests fail)
// HETMEM_CHROMIUM=npm    use the npm package's binary even where Debian's is installed
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from './paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Absolute path of the Chromium executable the browser tests launch. */
    chromium: string;
  }
}

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * The npm package's Chromium, unpacked once into node_modules/.cache (about 2 s, 200 MB) and
 * reused by later runs. @sparticuz/chromium unpacks into os.tmpdir() and trusts any `chromium`
 * already there, so it is pointed at a fresh directory that is renamed into place only when
 * complete: a run cut short, or two runs at once, never leave a half-written binary in use.
 */
export async function npmChromium(): Promise<string> {
  // The package's exports hide its package.json, so it is read from where npm put it.
  const meta = join(ROOT, 'node_modules', '@sparticuz', 'chromium', 'package.json');
  const { version } = JSON.parse(readFileSync(meta, 'utf8')) as { version: string };
  const cache = join(ROOT, 'node_modules', '.cache', 'hetmem-chromium');
  const dir = join(cache, version);
  const exe = join(dir, 'chromium');
  if (existsSync(exe)) return exe;
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, `.${version}-`));
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = work;
  try {
    const { default: Chromium } = await import('@sparticuz/chromium');
    const unpacked = await Chromium.executablePath();
    if (unpacked !== join(work, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, expected ${work}`);
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
  try {
    renameSync(work, dir);
  } catch (e) {
    // Another run got there first: its copy is complete, so this one goes.
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(exe)) throw e;
  }
  return exe;
}

/** Which Chromium this run uses (see the header for the override). */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const wanted = env.HETMEM_CHROMIUM;
  if (wanted === 'npm') return npmChromium();
  if (wanted !== undefined && wanted !== '') return wanted;
  return existsSync(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : npmChromium();
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('chromium', await findChromium());
}
