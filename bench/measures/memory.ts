// Memory: bytes of model metadata per tracked page, each point in a fresh child process
// (bench/mem-child.ts). No-data points at every growth size; data-mode points at the memory
// sizes, skipped (with the reason) when the page contents would not fit in this machine.
import { totalmem } from 'node:os';
import { runChild } from '../lib/child.ts';
import { logLogSlope } from '../lib/timing.ts';
import type { MemoryPoint, MemoryResult } from '../schema.ts';
import type { ChildMeasure, Mode } from './types.ts';

/**
 * V8 flags of a memory child: no bytecode flushing and no background recompilation, so the
 * engine's own heap (bytecode dropped by a GC, optimised code landing whenever a background job
 * ends) does not move between the two readings. Without them a 2^11-page figure swings by
 * ±200 B/page; the model's allocations are the same either way.
 */
export const MEM_CHILD_FLAGS = ['--no-flush-bytecode', '--no-concurrent-recompilation'];

/** Data mode holds 4 KiB per page plus ~0.3 KiB of wrappers; stay under 60% of the machine. */
function fits(pages: number, mode: Mode): boolean {
  return mode === 'no-data' || pages * 4500 < 0.6 * totalmem();
}

export const memory: ChildMeasure<MemoryResult> = {
  kind: 'memory',
  id: 'memory',
  title: 'model metadata per tracked page',
  async run(ctx) {
    const { config } = ctx;
    const jobs: Array<{ pages: number; mode: Mode }> = [];
    for (const pages of [...new Set([...config.growthPages, ...config.memoryPages])].sort((a, b) => a - b)) jobs.push({ pages, mode: 'no-data' });
    for (const pages of config.memoryPages) jobs.push({ pages, mode: 'data' });
    const points: MemoryPoint[] = [];
    const skipped: MemoryResult['skipped'] = [];
    for (const j of jobs) {
      if (!fits(j.pages, j.mode)) {
        const gib = (j.pages * 4096) / 2 ** 30;
        skipped.push({ ...j, reason: `page contents alone need ${gib} GiB; this machine has ${(totalmem() / 2 ** 30).toFixed(1)} GiB` });
        ctx.log(`memory ${j.mode} ${j.pages} pages: skipped (contents do not fit)`);
        continue;
      }
      const r = await runChild<MemoryPoint>('mem-child.ts', ['--pages', String(j.pages), '--mode', j.mode], { timeoutMs: 30 * 60_000, nodeFlags: MEM_CHILD_FLAGS });
      if (!r.ok) throw new Error(`memory child (${j.mode}, ${j.pages} pages) failed: ${r.error}`);
      points.push(r.value);
      ctx.log(`memory ${j.mode} ${j.pages} pages: ${r.value.bytesPerPage.toFixed(1)} B/page`);
    }
    const nd = points.filter((p) => p.mode === 'no-data');
    const growthExponent = logLogSlope(nd.map((p) => ({ x: p.pages, y: p.metadataBytes })));
    return { points, skipped, growthExponent, linearOrBetter: growthExponent <= 1.1 };
  },
};
