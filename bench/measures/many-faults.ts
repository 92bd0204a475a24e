// Many faults (issue 17: "a 10^7-fault scenario runs within the machine's memory, with its
// peak RSS in the bench results"). Each size runs in a fresh child (bench/faults-child.ts): one
// GPU streams 2^18 untouched pages (1 GiB; --quick 2^12) again and again with prefetching off at
// twice its memory, one lane, so every access is a device fault and a batch of its own and half
// the pages are evicted each pass; the scenario runs through runScenario and its results are
// serialised as results.json is. Two sizes, 10^6 and 10^7 faults (--quick 2^12 and 2^14): peak
// RSS must not grow with the faults, since latencies are a histogram and batch records, spans,
// timeline buckets and view events are capped (README "Scale of a run").
import { runChild } from '../lib/child.ts';
import { logLogSlope } from '../lib/timing.ts';
import type { ManyFaultsPoint, ManyFaultsResult } from '../schema.ts';
import type { ChildMeasure } from './types.ts';

/** The size. */
export const MANY_FAULTS = 10_000_000;
/** Peak RSS the 10^7-fault run must stay under: far below 10^7 records of any kind. */
export const MANY_FAULTS_RSS_TARGET_BYTES = 2 ** 30;

export const manyFaults: ChildMeasure<ManyFaultsResult> = {
  kind: 'many-faults',
  id: 'many-faults',
  title: 'a scenario of 10^7 device faults: wall and CPU seconds, peak RSS',
  async run(ctx) {
    const quick = ctx.config.quick;
    const pages = quick ? 2 ** 12 : 2 ** 18;
    const sizes = quick ? [2 ** 12, 2 ** 14] : [MANY_FAULTS / 10, MANY_FAULTS];
    const points: ManyFaultsPoint[] = [];
    for (const faults of sizes) {
      const r = await runChild<ManyFaultsPoint>('faults-child.ts', ['--faults', String(faults), '--pages', String(pages)], { timeoutMs: 2 * 60 * 60_000 });
      if (!r.ok) throw new Error(`many-faults child (${faults} faults) failed: ${r.error}`);
      const p = r.value;
      points.push(p);
      ctx.log(`many-faults ${p.faultsServiced} faults: ${p.wallSeconds.toFixed(1)} s wall, ${p.cpuSeconds.toFixed(1)} s CPU, peak RSS ${(p.peakRssBytes / 2 ** 20).toFixed(0)} MiB, ${(p.simulatedSeconds / p.wallSeconds).toFixed(3)} simulated s per wall s`);
    }
    const rssExponent = logLogSlope(points.map((p) => ({ x: p.faultsServiced, y: p.peakRssBytes })));
    return {
      description: `one gpu-pcie4 GPU streams ${pages} untouched pages with prefetching off at twice its memory, one lane, pass after pass until the faults are reached (every access a device fault and a batch); runScenario, then results.json's text; no page data`,
      points,
      rssExponent,
    };
  },
};
