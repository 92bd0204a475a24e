// Reading what `hetmem view DIR` shows: a run directory (results.json + the view/ files that
// `hetmem run --out` writes) or a faultbench directory (faultbench.json). Problems are one line
// naming the file and what was expected (ViewError).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseResults, ResultsFileError } from '../report/results-schema.ts';
import type { RunResults } from '../sim/results.ts';
import { decodeLog, VIEW_FORMAT, type ViewLog, type ViewMeta } from '../report/view-format.ts';
import type { ViewOverview } from '../report/viewlog.ts';
import { buildViewIndex, decodeViewIndex, type ViewIndex, type ViewIndexHeader } from '../report/view-index.ts';
import type { FaultbenchResults } from '../faultbench/types.ts';

/** Bad input to `hetmem view`: one line, exit code 2. */
export class ViewError extends Error {}

/** One run as the viewer holds it. */
export interface LoadedRun {
  /** The directory's name. */
  label: string;
  dir: string;
  results: RunResults;
  /** The event log, or null when the directory has no view/ files (the page says so). */
  log: ViewLog | null;
  overview: ViewOverview | null;
  /** The log's index (view/index.*, or built at load for a directory written without one). */
  index: ViewIndex | null;
  /** events.bin as read (the static page embeds it). */
  eventBytes: Uint8Array | null;
}

/** What a directory holds. */
export type Loaded = { kind: 'run'; run: LoadedRun } | { kind: 'faultbench'; label: string; results: FaultbenchResults };

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ViewError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function readJson(path: string, what: string): unknown {
  const text = readText(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ViewError(`${path}: expected ${what} (JSON): ${(e as Error).message}`);
  }
}

/**
 * `raw` on an ArrayBuffer of its own starting at its first byte, as decodeLog needs: a large
 * file's Buffer already is one (copying 10^8 bytes costs a third of a second); Node's pooled
 * small Buffers need not start 8-byte aligned, so those are copied.
 */
function aligned(raw: Buffer): Uint8Array<ArrayBuffer> {
  if (raw.byteOffset === 0 && raw.buffer.byteLength === raw.byteLength && raw.buffer instanceof ArrayBuffer) return new Uint8Array(raw.buffer);
  const bytes = new Uint8Array(raw.byteLength);
  bytes.set(raw);
  return bytes;
}

/** Loads `dir`: a run (results.json, view/ files if there) or faultbench results. */
export function loadDir(dir: string): Loaded {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new ViewError(`${dir}: no such directory (expected the --out directory of hetmem run or hetmem faultbench)`);
  }
  if (!isDir) throw new ViewError(`${dir}: expected a directory (the --out directory of hetmem run or hetmem faultbench), got a file`);
  const label = basename(resolve(dir));
  const resultsPath = join(dir, 'results.json');
  if (!existsSync(resultsPath)) {
    const fb = join(dir, 'faultbench.json');
    if (existsSync(fb)) {
      const v = readJson(fb, 'faultbench results') as FaultbenchResults;
      if (typeof v !== 'object' || v === null || !Array.isArray((v as { profiles?: unknown }).profiles)) {
        throw new ViewError(`${fb}: expected the faultbench.json of hetmem faultbench --out (an object with "profiles")`);
      }
      return { kind: 'faultbench', label, results: v };
    }
    throw new ViewError(`${dir}: expected results.json (hetmem run --out DIR) or faultbench.json (hetmem faultbench --out DIR) in it`);
  }
  let results: RunResults;
  try {
    results = parseResults(readText(resultsPath), resultsPath);
  } catch (e) {
    if (e instanceof ResultsFileError) throw new ViewError(e.message);
    throw e;
  }
  const metaPath = join(dir, 'view', 'meta.json');
  if (!existsSync(metaPath)) return { kind: 'run', run: { label, dir, results, log: null, overview: null, index: null, eventBytes: null } };
  const meta = readJson(metaPath, 'the viewer meta file') as ViewMeta;
  if (typeof meta !== 'object' || meta === null || meta.format !== VIEW_FORMAT || !Number.isInteger(meta.events) || !Array.isArray(meta.locations)) {
    throw new ViewError(`${metaPath}: expected view format ${VIEW_FORMAT} (written by hetmem run --out); run the scenario again`);
  }
  const binPath = join(dir, 'view', 'events.bin');
  let raw: Buffer;
  try {
    raw = readFileSync(binPath);
  } catch (e) {
    throw new ViewError(`${binPath}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const bytes = aligned(raw);
  let log: ViewLog;
  try {
    log = decodeLog(meta, bytes.buffer);
  } catch (e) {
    throw new ViewError(`${binPath}: ${(e as Error).message.replace(/^events\.bin: /, '')}`);
  }
  const overview = readJson(join(dir, 'view', 'overview.json'), 'the viewer overview') as ViewOverview;
  if (!Array.isArray(overview?.grids)) throw new ViewError(`${join(dir, 'view', 'overview.json')}: expected an object with "grids"`);
  return { kind: 'run', run: { label, dir, results, log, overview, index: loadIndex(dir, log), eventBytes: bytes } };
}

/** view/index.*, checked against the log; built from the log when absent (older directories). */
function loadIndex(dir: string, log: ViewLog): ViewIndex {
  const headerPath = join(dir, 'view', 'index.json'), binPath = join(dir, 'view', 'index.bin');
  if (!existsSync(headerPath) || !existsSync(binPath)) return buildViewIndex(log);
  const header = readJson(headerPath, 'the viewer index header') as ViewIndexHeader;
  let raw: Buffer;
  try {
    raw = readFileSync(binPath);
  } catch (e) {
    throw new ViewError(`${binPath}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const bytes = aligned(raw);
  try {
    if (typeof header !== 'object' || header === null || !Array.isArray(header.spaces) || !Array.isArray(header.devices)) throw new Error('expected an object with "spaces" and "devices"');
    return decodeViewIndex(header, bytes.buffer, log.n);
  } catch (e) {
    throw new ViewError(`${binPath}: ${(e as Error).message} (written by hetmem run --out; run the scenario again)`);
  }
}
