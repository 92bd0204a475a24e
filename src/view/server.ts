// `hetmem view`'s local server: the page at /, the log queries at /api/grid, /api/page and
// /api/batch. Bound to 127.0.0.1 only; every answer is computed from the loaded runs (nothing
// is read from disk after start-up, nothing is fetched from elsewhere).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { batchDetail, pageHistory, residencyGrid } from '../report/view-format.ts';
import { OVERVIEW_COLS, OVERVIEW_ROWS } from '../report/viewlog.ts';
import { batchPlan, gridPlan, pageEvents } from '../report/view-index.ts';
import type { LoadedRun } from './load.ts';
import { renderViewerPage } from './page.ts';

/** Largest grid side a query may ask for (cells are one byte each). */
export const MAX_GRID_SIDE = 2048;

/** A running viewer: its URL and how to stop it. */
export interface Viewer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** Answers one /api query, or throws an Error whose message is the 400 answer. */
export function answer(runs: readonly LoadedRun[], path: string, q: URLSearchParams): unknown {
  const num = (k: string, min = -Infinity, max = Infinity): number => {
    const v = Number(q.get(k));
    if (q.get(k) === null || !Number.isFinite(v) || v < min || v > max) throw new Error(`${k}: expected a number${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}, got '${q.get(k)}'`);
    return v;
  };
  const ri = num('run', 0, runs.length - 1);
  const run = runs[Math.floor(ri)];
  if (!run.log) throw new Error(`run ${ri} (${run.label}) has no view/ files`);
  const log = run.log;
  // With an index (always, for a loaded log), queries read only the events they need
  // (view-index.ts); the answers are the full scan's.
  const ix = run.index;
  if (path === '/api/grid') {
    const space = num('space', 0), v0 = num('v0', 0), v1 = num('v1', 0), t0 = num('t0', 0), t1 = num('t1', 0);
    const rows = num('rows', 1, MAX_GRID_SIDE), cols = num('cols', 1, MAX_GRID_SIDE);
    // The whole run at the overview's size (the page's "whole run"): the grid written with the
    // log (residencyGrid with these arguments).
    const o = run.overview?.grids.find((x) => x.space === space && x.v0 === v0 && x.v1 === v1 && x.t0 === t0 && x.t1 === t1 && cols === OVERVIEW_COLS && rows === OVERVIEW_ROWS);
    if (o) return o;
    const g = residencyGrid(log, space, v0, v1, t0, t1, rows, cols, ix ? gridPlan(log, ix, space) : undefined);
    return { ...g, cells: Buffer.from(g.cells).toString('base64') };
  }
  if (path === '/api/page') {
    const space = num('space', 0), v0 = num('v0', 0), v1 = num('v1', v0 + 1);
    return pageHistory(log, space, v0, v1, 500, ix ? pageEvents(ix, space, v0, v1) : undefined);
  }
  if (path === '/api/batch') {
    const device = q.get('device') ?? '';
    if (!log.meta.devices.includes(device)) throw new Error(`device: expected one of ${log.meta.devices.join(', ')}, got '${device}'`);
    const no = num('batch', 0);
    const record = run.results.batches.find((b) => b.device === device && b.batch === no) ?? null;
    return { ...batchDetail(log, device, no, ix ? batchPlan(ix) : undefined), record };
  }
  throw new Error(`no such query ${path}`);
}

/**
 * Serves `runs` on 127.0.0.1:`port` (0: a free port). Resolves once listening; rejects with
 * the listen error (a port in use) instead of throwing later.
 */
export function startViewer(runs: readonly LoadedRun[], port = 0): Promise<Viewer> {
  const page = renderViewerPage(runs);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'only GET');
    if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', page);
    if (url.pathname.startsWith('/api/')) {
      try {
        return send(res, 200, 'application/json', JSON.stringify(answer(runs, url.pathname, url.searchParams)));
      } catch (e) {
        return send(res, 400, 'text/plain', (e as Error).message);
      }
    }
    return send(res, 404, 'text/plain', 'not found');
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const p = (server.address() as AddressInfo).port;
      resolvePromise({
        url: `http://127.0.0.1:${p}/`,
        port: p,
        server,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
