// The viewer-open figure, one step per fresh process (measures/view-open.ts runs both):
//   --step gen:  runs a scenario with N device faults (one GPU streams N untouched pages once,
//                prefetching off, with half of them fitting in device memory so it evicts too)
//                recording the viewer's log, and writes DIR/results.json and DIR/view/ as
//                `hetmem run --out` does (trace and report, which the viewer does not read, are
//                left out). Untimed for the figure; its seconds are reported.
//   --step open: opens DIR as `hetmem view DIR` does (read the files, start the server) and asks
//                the server, over HTTP, for the first page (which carries the overview), the
//                whole-run grid (the "whole run" button), one zoomed grid, and one page's history.
//                Timed from before reading the files to the last answer. The viewer's modules are
//                imported first and timed apart (the engine's start-up, not the run's size).
// Usage: node --expose-gc --import tsx bench/view-child.ts --step gen|open --pages N --dir DIR
import { Command } from 'commander';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emitResult } from './lib/child.ts';
import { nowNs } from './lib/timing.ts';

const opts = new Command()
  .requiredOption('--step <step>', 'gen | open')
  .requiredOption('--pages <n>', 'pages streamed (device faults)', (v) => Number(v))
  .requiredOption('--dir <dir>', 'the run directory')
  .parse()
  .opts<{ step: string; pages: number; dir: string }>();
const secs = (from: bigint) => Number(nowNs() - from) / 1e9;

/** The scenario: one gpu-pcie4 GPU with memory for half the buffer, 256 lanes, one pass, no prefetching. */
function scenarioYaml(pages: number): string {
  const gpuMiB = Math.max(2, Math.ceil(pages / 2 / 512) * 2);
  return `name: view-open-bench
description: one GPU streams ${pages} untouched pages once with prefetching off (every page a device fault), at twice its memory
seed: 1
data: false
devices:
  - name: gpu0
    profile: gpu-pcie4
    memory: ${gpuMiB} MiB
    policies: { prefetch: { policy: prefetch-none }, eviction: { policy: evict-lru-chunk } }
processes:
  - name: p
    allocations: [{ name: data, pages: ${pages} }]
steps:
  - kernel: { device: gpu0, workload: { type: streaming, buffer: data, passes: 1, lanes: 256, compute: 50 ns } }
`;
}

async function gen(): Promise<void> {
  const { parseScenario } = await import('../src/scenario/load.ts');
  const { runScenario } = await import('../src/scenario/run.ts');
  const { ViewRecorder } = await import('../src/report/viewlog.ts');
  const { resultsJson } = await import('../src/report/results-schema.ts');
  const { writeViewFiles } = await import('../src/cli/run.ts');
  const t0 = nowNs();
  mkdirSync(opts.dir, { recursive: true });
  const file = join(opts.dir, 'scenario.yaml');
  writeFileSync(file, scenarioYaml(opts.pages));
  let rec: InstanceType<typeof ViewRecorder> | undefined;
  const results = runScenario(parseScenario(scenarioYaml(opts.pages), file), { onMachine: (m) => void (rec = new ViewRecorder(m)) });
  writeFileSync(join(opts.dir, 'results.json'), resultsJson(results));
  writeViewFiles(opts.dir, rec!, results.endPs);
  const bytes = (f: string) => statSync(join(opts.dir, 'view', f)).size;
  const meta = JSON.parse((await import('node:fs')).readFileSync(join(opts.dir, 'view', 'meta.json'), 'utf8')) as { events: number; dropped: number };
  if (meta.dropped > 0) throw new Error(`the view log dropped ${meta.dropped} events: raise DEFAULT_MAX_EVENTS or shrink the run`);
  emitResult({
    deviceFaults: results.devices.reduce((a, d) => a + d.faults.raised, 0),
    batches: results.batches.length,
    events: meta.events,
    eventBytes: bytes('events.bin'),
    indexBytes: bytes('index.bin') + bytes('index.json'),
    genSeconds: secs(t0),
  });
}

async function open(): Promise<void> {
  const ti = nowNs();
  const { loadDir } = await import('../src/view/load.ts');
  const { startViewer } = await import('../src/view/server.ts');
  const { residencyGrid } = await import('../src/report/view-format.ts');
  const importSeconds = secs(ti);

  const t0 = nowNs();
  const loaded = loadDir(opts.dir);
  if (loaded.kind !== 'run' || !loaded.run.log) throw new Error(`${opts.dir}: expected a run with view/ files`);
  const run = loaded.run, log = run.log!;
  const viewer = await startViewer([run], 0);
  const loadSeconds = secs(t0);
  const get = async (path: string): Promise<string> => {
    const r = await fetch(viewer.url + path.replace(/^\//, ''));
    const text = await r.text();
    if (!r.ok) throw new Error(`${path}: ${r.status} ${text}`);
    return text;
  };
  try {
    let t = nowNs();
    const page = await get('/');
    const pageSeconds = secs(t);
    if (!page.includes('hetmem-view-boot')) throw new Error('the first page has no boot data');
    const s = log.meta.spaces[0], end = log.meta.endPs;
    t = nowNs();
    await get(`/api/grid?run=0&space=${s.id}&v0=${s.lo}&v1=${s.hi}&t0=0&t1=${end}&rows=256&cols=256`);
    const overviewSeconds = secs(t);
    // Zoomed: 1/64 of the pages, in the middle of the buffer, over the middle tenth of the run.
    const w = Math.max(1, Math.floor((s.hi - s.lo) / 64)), v0 = s.lo + Math.floor((s.hi - s.lo) / 2);
    const z0 = Math.floor(end * 0.45), z1 = Math.ceil(end * 0.55);
    t = nowNs();
    const zoomed = JSON.parse(await get(`/api/grid?run=0&space=${s.id}&v0=${v0}&v1=${v0 + w}&t0=${z0}&t1=${z1}&rows=256&cols=256`)) as { cells: string };
    const zoomSeconds = secs(t);
    t = nowNs();
    const hist = JSON.parse(await get(`/api/page?run=0&space=${s.id}&v0=${v0 + 7}&v1=${v0 + 8}`)) as { events: unknown[] };
    const historySeconds = secs(t);
    const openSeconds = secs(t0);
    // The same zoomed grid by a scan of the whole log (no index), for comparison, and as a check.
    t = nowNs();
    const scan = residencyGrid(log, s.id, v0, v0 + w, z0, z1, 256, 256);
    const scanZoomSeconds = secs(t);
    if (Buffer.from(scan.cells).toString('base64') !== zoomed.cells) throw new Error('the indexed zoomed grid differs from the full scan');
    if (hist.events.length === 0) throw new Error('the page history is empty');
    emitResult({ importSeconds, loadSeconds, pageSeconds, pageBytes: page.length, overviewSeconds, zoomSeconds, historySeconds, openSeconds, scanZoomSeconds });
  } finally {
    await viewer.close();
  }
}

if (opts.step === 'gen') await gen();
else if (opts.step === 'open') await open();
else throw new Error(`bad --step ${opts.step}`);
