// `hetmem view DIR [DIR2] [--port N] [--static FILE]`.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderFaultbenchHtml } from '../faultbench/html.ts';
import { loadDir, ViewError, type LoadedRun } from './load.ts';
import { renderStaticViewer } from './page.ts';
import { startViewer, type Viewer } from './server.ts';

/** Largest event log a static page inlines (base64 grows it by a third). */
export const MAX_STATIC_EVENT_BYTES = 96 * 2 ** 20;


/** Options of `hetmem view`. */
export interface ViewOptions {
  port?: number;
  static?: string;
}

/**
 * Runs `hetmem view`: writes the static page, or starts the server and resolves with it
 * (it keeps the process alive until stopped). Throws ViewError for bad input.
 */
export async function viewCommand(dirs: readonly string[], o: ViewOptions, out: (s: string) => void): Promise<Viewer | null> {
  if (dirs.length > 2) throw new ViewError(`hetmem view: expected one or two directories, got ${dirs.length}`);
  const loaded = dirs.map(loadDir);
  let html: string | null = null;
  if (loaded.some((l) => l.kind === 'faultbench')) {
    if (loaded.length !== 1) throw new ViewError(`hetmem view: faultbench results open alone, not beside ${loaded.length - 1} other director${loaded.length === 2 ? 'y' : 'ies'}`);
    const fb = loaded[0];
    if (fb.kind === 'faultbench') {
      try {
        html = renderFaultbenchHtml(fb.results);
      } catch (e) {
        throw new ViewError(`${dirs[0]}/faultbench.json: expected the file hetmem faultbench --out writes: ${(e as Error).message}`);
      }
    }
  }
  const runs: LoadedRun[] = loaded.flatMap((l) => (l.kind === 'run' ? [l.run] : []));
  if (o.static !== undefined) {
    for (const r of runs) {
      if (r.eventBytes && r.eventBytes.byteLength > MAX_STATIC_EVENT_BYTES) {
        throw new ViewError(`${r.dir}/view/events.bin: ${Math.round(r.eventBytes.byteLength / 2 ** 20)} MiB is too large for one static page (at most ${MAX_STATIC_EVENT_BYTES / 2 ** 20} MiB); use the server (hetmem view without --static)`);
      }
    }
    const page = html ?? renderStaticViewer(runs);
    try {
      writeFileSync(o.static, page);
    } catch (e) {
      throw new ViewError(`${o.static}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    out(`wrote ${o.static}\n`);
    return null;
  }
  let viewer: Viewer;
  try {
    viewer = html !== null ? await startStatic(html, o.port ?? 0) : await startViewer(runs, o.port ?? 0);
  } catch (e) {
    throw new ViewError(`hetmem view: --port ${o.port ?? 0}: cannot listen on 127.0.0.1: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  out(`hetmem view: ${viewer.url} (Ctrl-C stops it)\n`);
  return viewer;
}

/** Serves one finished page (faultbench results) at / on 127.0.0.1. */
function startStatic(html: string, port: number): Promise<Viewer> {
  const server = createServer((req, res) => {
    const ok = (req.url ?? '/') === '/';
    res.writeHead(ok ? 200 : 404, { 'content-type': ok ? 'text/html; charset=utf-8' : 'text/plain' });
    res.end(ok ? html : 'not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const p = (server.address() as AddressInfo).port;
      resolve({ url: `http://127.0.0.1:${p}/`, port: p, server, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
    });
  });
}
