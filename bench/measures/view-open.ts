// Opening a large run in `hetmem view` (issue 14: "a 10^6-fault run opens in under 3 s"). A child
// generates the run (bench/view-child.ts --step gen: 2^20 pages streamed once with prefetching
// off, so 2^20 device faults and more; --quick: 2^13), untimed; a fresh child then opens it as
// `hetmem view DIR` does and times reading the files and starting the server, then HTTP requests
// for the first page, the whole-run grid, one zoomed grid and one page's history. The same zoomed
// grid by a full scan of the log (no index) is timed too, for comparison; the child checks both
// answers agree. The run directory is a temporary one, removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild } from '../lib/child.ts';
import type { ChildMeasure } from './types.ts';
import type { ViewOpenResult } from '../schema.ts';

/** The target: seconds to open a 10^6-fault run. */
export const VIEW_OPEN_TARGET_S = 3;

type Gen = Pick<ViewOpenResult, 'deviceFaults' | 'batches' | 'events' | 'eventBytes' | 'indexBytes' | 'genSeconds'>;
type Open = Omit<ViewOpenResult, keyof Gen | 'description' | 'pages'>;

export const viewOpen: ChildMeasure<ViewOpenResult> = {
  kind: 'view',
  id: 'view-open',
  title: 'hetmem view: seconds to open a run of N device faults (files, server, first page, whole-run grid, a zoomed grid, a page history)',
  async run(ctx) {
    const pages = ctx.config.quick ? 2 ** 13 : 2 ** 20;
    const dir = mkdtempSync(join(tmpdir(), 'hetmem-view-bench-'));
    try {
      const args = ['--pages', String(pages), '--dir', join(dir, 'run')];
      const gen = await runChild<Gen>('view-child.ts', ['--step', 'gen', ...args], { timeoutMs: 30 * 60_000 });
      if (!gen.ok) throw new Error(`view-open: generating the run failed: ${gen.error}`);
      ctx.log(`view-open: ${gen.value.deviceFaults} device faults, ${gen.value.events} events (${(gen.value.eventBytes / 2 ** 20).toFixed(0)} MiB) generated in ${gen.value.genSeconds.toFixed(1)} s`);
      const open = await runChild<Open>('view-child.ts', ['--step', 'open', ...args], { timeoutMs: 5 * 60_000 });
      if (!open.ok) throw new Error(`view-open: opening the run failed: ${open.error}`);
      const o = open.value;
      ctx.log(`view-open: opened in ${o.openSeconds.toFixed(2)} s (files and server ${o.loadSeconds.toFixed(2)}, page ${o.pageSeconds.toFixed(2)}, whole run ${o.overviewSeconds.toFixed(3)}, zoomed ${o.zoomSeconds.toFixed(3)} (full scan ${o.scanZoomSeconds.toFixed(3)}), history ${o.historySeconds.toFixed(3)}); imports ${o.importSeconds.toFixed(2)} s apart`);
      return {
        description: `a run of one GPU streaming ${pages} untouched pages once with prefetching off, at twice its memory; opened in a fresh process after its modules load`,
        pages,
        ...gen.value,
        ...o,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
