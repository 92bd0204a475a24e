// One many-faults run in a fresh process (measures/many-faults.ts): the scenario below through
// runScenario, as `hetmem run` runs it, then its results collected and serialised as
// results.json would be. Prints the faults serviced, wall and CPU seconds, simulated seconds,
// peak RSS (VmHWM) and what the results hold, on one RESULT line.
//   node --expose-gc --import tsx bench/faults-child.ts --faults N [--pages P]
import { Command } from 'commander';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';
import { resultsJson } from '../src/report/results-schema.ts';
import { emitResult } from './lib/child.ts';
import { fullGc, nowNs, peakRssBytes, usedBytes } from './lib/timing.ts';

const opts = new Command()
  .requiredOption('--faults <n>', 'device faults to service, at least', (v) => Number(v))
  .option('--pages <n>', 'pages of the buffer streamed over and over', (v) => Number(v), 2 ** 18)
  .parse()
  .opts<{ faults: number; pages: number }>();

/**
 * One gpu-pcie4 GPU with memory for half of `pages` untouched pages, one lane streaming them
 * `passes` times with prefetching off: every access of every pass is a device fault (LRU of
 * root chunks evicts what the next pass needs first), so faults = passes × pages and half as
 * many pages are evicted per pass. No page data. The timeline bucket keeps the run under the
 * scenario timeline's bucket limit at 10^7 faults.
 */
function scenarioYaml(pages: number, passes: number): string {
  return `name: many-faults-bench
description: one GPU streams ${pages} untouched pages ${passes} times with prefetching off, at twice its memory
seed: 1
data: false
bucket: 1 ms
devices:
  - name: gpu0
    profile: gpu-pcie4
    memory: ${Math.max(2, Math.ceil(pages / 2 / 512) * 2)} MiB
    policies: { prefetch: { policy: prefetch-none }, eviction: { policy: evict-lru-chunk } }
processes:
  - name: p
    allocations: [{ name: data, pages: ${pages} }]
steps:
  - kernel: { device: gpu0, workload: { type: streaming, buffer: data, passes: ${passes}, lanes: 1, compute: 50 ns } }
`;
}

const passes = Math.ceil(opts.faults / opts.pages);
const t0 = nowNs();
const c0 = process.cpuUsage();
const results = runScenario(parseScenario(scenarioYaml(opts.pages, passes), 'many-faults-bench.yaml'), { force: true });
const json = resultsJson(results);
const cpu = process.cpuUsage(c0);
const wallSeconds = Number(nowNs() - t0) / 1e9;
fullGc();
const d = results.devices[0];
emitResult({
  pages: opts.pages,
  passes,
  faultsServiced: d.faults.serviced,
  faultsRaised: d.faults.raised,
  evictedPages: d.evictions.pages,
  batches: results.batchSummary.count,
  batchRecordsKept: results.batchSummary.kept,
  latencyBuckets: results.faultLatency.buckets.length,
  spansKept: results.spans.length,
  resultsJsonBytes: Buffer.byteLength(json),
  simulatedSeconds: results.endPs / 1e12,
  wallSeconds,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  heapBytesAfter: usedBytes().total,
  peakRssBytes: peakRssBytes(),
});
