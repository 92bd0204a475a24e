// The growth of one streaming-with-eviction measure from 2^16 to 2^22 pages, in CPU time, one
// process per policy (issue 17: the exponent ≤ 1.05 for every eviction policy):
//   node --expose-gc --import tsx bench/streaming-growth.ts streaming-eviction-random [--sizes 16,18,20,22] [--warmup 2]
// After --warmup untimed runs at 2^16 pages, one run at each size, smallest first; a full GC
// before each. Prints one JSON line: per size the CPU ns of the run (user + system, which on a
// shared machine swings far less than wall time), the page-events it did and ns per event, and
// the least-squares exponent of CPU time per run against pages (the bench's growth figure).
import { Command } from 'commander';
import { throughput } from './measures/index.ts';
import { fullGc, hasGc, logLogSlope } from './lib/timing.ts';
import type { ThroughputMeasure } from './measures/types.ts';

const o = new Command()
  .argument('<measure>', 'streaming-eviction, streaming-eviction-lru-page or streaming-eviction-random')
  .option('--sizes <list>', 'log2 of the page counts, ascending', '16,18,20,22')
  .option('--warmup <n>', 'untimed runs at 2^16 pages first', (v) => Number(v), 2)
  .parse();
const opts = o.opts<{ sizes: string; warmup: number }>();
const id = o.args[0];
const found = throughput.find((x) => x.id === id);
if (!found || found.kind === 'missing' || !id.startsWith('streaming-eviction')) {
  console.error(`streaming-growth: '${id}' is not a streaming-eviction measure`);
  process.exit(2);
}
const m: ThroughputMeasure = found;
if (!hasGc()) {
  console.error('streaming-growth: run with node --expose-gc');
  process.exit(2);
}
const sizes = opts.sizes.split(',').map((s) => 2 ** Number(s));
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1024) || !(opts.warmup >= 0)) {
  console.error('streaming-growth: --sizes takes log2 page counts of 10 or more, --warmup a count ≥ 0');
  process.exit(2);
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** One run of the measure at `pages`: its CPU time and the page-events it did. */
function once(pages: number): { cpuNs: number; events: number } {
  const prep = m.prepare(pages, 'no-data');
  prep.before?.();
  fullGc();
  const t = cpuNs();
  const events = prep.run();
  const ns = cpuNs() - t;
  prep.after?.();
  return { cpuNs: ns, events };
}

for (let i = 0; i < opts.warmup; i++) once(2 ** 16);
const points: { pages: number; cpuNs: number; events: number; nsPerEvent: number }[] = [];
for (const pages of sizes) {
  const r = once(pages);
  points.push({ pages, ...r, nsPerEvent: Math.round(r.cpuNs / r.events) });
  process.stderr.write(`streaming-growth: ${id} ${pages} pages: ${(r.cpuNs / 1e9).toFixed(2)} s CPU, ${r.events} page-events, ${(r.cpuNs / r.events / 1000).toFixed(2)} µs/event\n`);
}
const exponent = logLogSlope(points.map((p) => ({ x: p.pages, y: p.cpuNs })));
console.log(JSON.stringify({ id, warmup: opts.warmup, points, exponent: Number(exponent.toFixed(3)) }));
