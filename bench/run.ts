// `npm run bench` (node --expose-gc --import tsx bench/run.ts): page-event throughput against a
// raw typed-array loop, metadata bytes per tracked page, the largest footprint that runs, and
// how each figure grows from 2^16 to 2^24 pages. Writes bench/results.json (--quick:
// bench/results-quick.json, git-ignored; or --out FILE,
// validated against bench/schema.ts) and prints a table. See bench/README.md.
import { Command } from 'commander';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { baselines, throughput, memoryMeasure, scaleMeasure, sweepPoolMeasure, viewOpenMeasure, faultbenchMeasure, examplesMeasure, manyFaultsMeasure } from './measures/index.ts';
import { MANY_FAULTS, MANY_FAULTS_RSS_TARGET_BYTES } from './measures/many-faults.ts';
import { VIEW_OPEN_TARGET_S } from './measures/view-open.ts';
import type { BenchConfig, Mode, ThroughputMeasure } from './measures/types.ts';
import {
  resultsSchema, type Results, type Timing, type ThroughputResult, type BaselineResult, type GrowthResult, type Target,
} from './schema.ts';
import { nowNs, fullGc, hasGc, median, logLogSlope } from './lib/timing.ts';
import { defaultResultsFile } from './lib/results-file.ts';
import { printTable } from './lib/table.ts';
import { fmt } from './measures/scale.ts';

const opts = new Command()
  .name('bench')
  .description('hetmem benchmarks: throughput, memory, scale, growth')
  .option('--quick', 'small sizes and few repetitions (the smoke test; well under 30 s)', false)
  .option('--out <file>', 'where to write the results (default: bench/results.json, with --quick bench/results-quick.json)')
  .option('--reps <n>', 'timed repetitions per figure (median reported)', (v) => Number(v))
  .option('--warmup <n>', 'untimed warm-up runs per figure', (v) => Number(v))
  .parse()
  .opts<{ quick: boolean; out?: string; reps?: number; warmup?: number }>();
const outFile = resolve(opts.out ?? defaultResultsFile(opts.quick));

if (!hasGc()) {
  console.error('bench: run with node --expose-gc (npm run bench does)');
  process.exit(2);
}

const P = (k: number) => 2 ** k;
const config: BenchConfig = opts.quick
  ? {
    quick: true, reps: 3, warmup: 1, warmupMs: 100, minSampleMs: 5, pages: P(13), dataPages: P(11), growthPages: [P(11), P(13)], memoryPages: [P(13)],
    scaleFootprints: [P(34)],
  }
  : {
    quick: false, reps: 5, warmup: 1, warmupMs: 500, minSampleMs: 50, pages: P(20), dataPages: P(16), growthPages: [P(16), P(18), P(20), P(22), P(24)],
    memoryPages: [P(20), P(24)], scaleFootprints: [P(36), P(37), P(38), P(39), P(40), P(41), P(42), P(43), P(44), P(45), P(46)],
  };
if (opts.reps !== undefined) config.reps = opts.reps;
if (opts.warmup !== undefined) config.warmup = opts.warmup;
if (!(config.reps >= 1) || !(config.warmup >= 0)) throw new Error('--reps must be >= 1 and --warmup >= 0');
/** Runs over 2^22 pages or more take seconds each: at most 3 repetitions there. */
const repsFor = (n: number) => (n >= P(22) ? Math.min(config.reps, 3) : config.reps);

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const t0 = nowNs();

/**
 * Times one measure over n pages: warm-up, then the median of the timed samples. A measure
 * without per-run set-up (no before/after) runs several times per sample when one run is
 * shorter than minSampleMs, so short runs are not at the mercy of timer and scheduler noise;
 * samples are reported per run.
 */
function time(m: ThroughputMeasure, n: number, mode: Mode): Timing & { facts: Record<string, number> } {
  const prep = m.prepare(n, mode);
  let expected = m.eventsFromRun ? NaN : m.eventsPerRun(n);
  const sample = (runs: number, timed: boolean): number => {
    prep.before?.();
    // A full GC before each timed sample, so none pays for the garbage of the one before.
    if (timed) fullGc();
    const s = nowNs();
    for (let i = 0; i < runs; i++) {
      const events = prep.run();
      if (Number.isNaN(expected) && events >= m.eventsPerRun(n)) expected = events;
      if (events !== expected) throw new Error(`${m.id} (${mode}, ${n} pages) did ${events} page-events, expected ${Number.isNaN(expected) ? `at least ${m.eventsPerRun(n)}` : expected}`);
    }
    const ns = Number(nowNs() - s);
    prep.after?.();
    return Math.max(ns, 1);
  };
  // Warm-up: at least `warmup` runs, and more (up to 1000) until warmupMs have gone by, so
  // that small sizes are not timed before the JIT has settled.
  let warm = 0, fastest = Infinity;
  for (const w0 = nowNs(); warm < config.warmup || (warm < 1000 && Number(nowNs() - w0) < config.warmupMs * 1e6); warm++) {
    fastest = Math.min(fastest, sample(1, false));
  }
  const batchable = !prep.before && !prep.after;
  const runsPerSample = batchable ? Math.max(1, Math.ceil((config.minSampleMs * 1e6) / fastest)) : 1;
  const samplesNs: number[] = [];
  for (let i = 0; i < repsFor(n); i++) samplesNs.push(sample(runsPerSample, true) / runsPerSample);
  const medianNs = median(samplesNs);
  const facts = prep.facts?.() ?? {};
  return { pages: n, eventsPerRun: expected, warmup: warm, runsPerSample, samplesNs, medianNs, eventsPerSec: expected / (medianNs / 1e9), facts };
}

// ---- baselines ----
const raw = new Map<number, BaselineResult>();
const baselineResults: BaselineResult[] = [];
const rawSizes = [...new Set([...config.growthPages, config.pages, config.dataPages])].sort((a, b) => a - b);
for (const n of rawSizes) {
  const { facts: _f, ...t } = time(baselines.rawLoop, n, 'no-data');
  const b: BaselineResult = { id: baselines.rawLoop.id, title: baselines.rawLoop.title, event: baselines.rawLoop.event, mode: 'no-data', ...t };
  raw.set(n, b);
  baselineResults.push(b);
  log(`raw loop ${n} pages: ${(b.eventsPerSec / 1e6).toFixed(1)} M/s`);
}
const { facts: _cf, ...copyT } = time(baselines.copyLoop, config.dataPages, 'data');
const copy: BaselineResult = { id: baselines.copyLoop.id, title: baselines.copyLoop.title, event: baselines.copyLoop.event, mode: 'data', ...copyT };
baselineResults.push(copy);
log(`copy loop ${config.dataPages} pages: ${(copy.eventsPerSec / 1e6).toFixed(2)} M pages/s`);

// ---- throughput and growth ----
const throughputResults: ThroughputResult[] = [];
const growth: GrowthResult[] = [];
const missing: Results['missing'] = [];
for (const m of throughput) {
  if (m.kind === 'missing') {
    missing.push({ id: m.id, title: m.title, reason: m.reason });
    continue;
  }
  const entry = (t: ReturnType<typeof time>, mode: Mode): ThroughputResult => {
    const r = raw.get(t.pages)!;
    const e: ThroughputResult = {
      id: m.id, title: m.title, event: m.event, mode, ...t,
      rawLoopEventsPerSec: r.eventsPerSec, slowdownVsRaw: r.eventsPerSec / t.eventsPerSec,
    };
    if (mode === 'data') {
      e.copyLoopEventsPerSec = copy.eventsPerSec;
      e.slowdownVsCopy = copy.eventsPerSec / t.eventsPerSec;
    }
    if (m.targetEventsPerSec !== undefined && mode === 'no-data') e.targetEventsPerSec = m.targetEventsPerSec;
    return e;
  };
  if (m.modes.includes('no-data')) {
    const points: GrowthResult['points'] = [];
    // The timed-model measures stop at their maxPages; their main figure is the largest size run.
    const sizes = config.growthPages.filter((n) => n <= (m.maxPages ?? Infinity));
    const main = sizes.includes(config.pages) ? config.pages : sizes[sizes.length - 1];
    for (const n of sizes) {
      const t = time(m, n, 'no-data');
      const e = entry(t, 'no-data');
      points.push({ pages: n, medianNs: t.medianNs, eventsPerSec: t.eventsPerSec, slowdownVsRaw: e.slowdownVsRaw });
      if (n === main) throughputResults.push(e);
      log(`${m.id} no-data ${n} pages: ${(t.eventsPerSec / 1e6).toFixed(2)} M page-events/s (${e.slowdownVsRaw.toFixed(1)}x raw)`);
    }
    const timeExponent = logLogSlope(points.map((p) => ({ x: p.pages, y: p.medianNs })));
    growth.push({ id: m.id, mode: 'no-data', points, timeExponent, linearOrBetter: timeExponent <= (m.growthTarget ?? 1.1) });
  }
  if (m.modes.includes('data')) {
    const t = time(m, config.dataPages, 'data');
    const e = entry(t, 'data');
    throughputResults.push(e);
    log(`${m.id} data ${config.dataPages} pages: ${(t.eventsPerSec / 1e6).toFixed(2)} M page-events/s (${e.slowdownVsCopy!.toFixed(1)}x copy loop)`);
  }
  fullGc();
}

// ---- memory and scale, in child processes ----
const ctx = { config, log };
const memory = await memoryMeasure.run(ctx);
const scale = await scaleMeasure.run(ctx);
const sweep = await sweepPoolMeasure.run(ctx);
const view = await viewOpenMeasure.run(ctx);
const faultbench = await faultbenchMeasure.run(ctx);
const examples = await examplesMeasure.run(ctx);
const manyFaults = await manyFaultsMeasure.run(ctx);

// ---- targets ----
const targets: Target[] = [];
for (const id of ['migrate', 'mirror']) {
  const r = throughputResults.find((t) => t.id === id && t.mode === 'no-data');
  if (r) targets.push({ id: `${id}-throughput`, description: `${id}: page-events/s, no-data mode, ${r.pages} pages`, target: 10e6, value: r.eventsPerSec, unit: 'page-events/s', met: r.eventsPerSec >= 10e6 });
}
for (const r of throughputResults.filter((t) => t.mode === 'no-data')) {
  targets.push({ id: `${r.id}-vs-raw`, description: `${r.id}: within 10x of the raw loop`, target: 10, value: r.slowdownVsRaw, unit: 'x slower', met: r.slowdownVsRaw <= 10 });
}
for (const p of memory.points.filter((p) => p.mode === 'no-data' && config.memoryPages.includes(p.pages))) {
  targets.push({ id: `metadata-${p.pages}`, description: `metadata per tracked page, no-data mode, ${p.pages} pages`, target: 32, value: p.bytesPerPage, unit: 'bytes/page', met: p.bytesPerPage <= 32 });
}
targets.push({
  id: 'footprint', description: 'largest simulated footprint that runs on this machine', target: scale.targetFootprintBytes,
  value: scale.largest?.footprintBytes ?? 0, unit: 'bytes', met: (scale.largest?.footprintBytes ?? 0) >= scale.targetFootprintBytes,
});
for (const g of growth) {
  const target = throughput.find((m): m is ThroughputMeasure => m.kind !== 'missing' && m.id === g.id)?.growthTarget ?? 1.1;
  targets.push({ id: `${g.id}-growth`, description: `${g.id}: time grows linearly or better in pages`, target, value: g.timeExponent, unit: 'log-log slope', met: g.linearOrBetter });
}
// Half of linear scaling: the points are independent, so the pool should come within 2x of one
// process per core (process start-up and a loaded machine take the rest).
targets.push({
  id: 'sweep-pool-speedup', description: `sweep: the local pool of ${sweep.jobs} runs points at least ${sweep.jobs / 2}x as fast as one process in turn`,
  target: sweep.jobs / 2, value: sweep.speedup, unit: 'x faster', met: sweep.speedup >= sweep.jobs / 2,
});
targets.push({
  id: 'view-open', description: `hetmem view opens a run of ${view.deviceFaults} device faults (${view.events} events): files, server, first page, whole-run and zoomed grids, a page history`,
  target: VIEW_OPEN_TARGET_S, value: view.openSeconds, unit: 's', met: view.openSeconds <= VIEW_OPEN_TARGET_S,
});
// The same rule as the sweep's: the jobs are independent.
targets.push({
  id: 'faultbench-pool-speedup', description: `faultbench: the pool of ${faultbench.jobs} runs its ${faultbench.tasks} (measure, profile) jobs at least ${faultbench.jobs / 2}x as fast as one process in turn`,
  target: faultbench.jobs / 2, value: faultbench.speedup, unit: 'x faster', met: faultbench.speedup >= faultbench.jobs / 2,
});
// Faster than real time, whole CLI command included, for every fault-bound example and for the
// default scenario whether or not it is fault-bound (issue 17).
for (const r of examples.runs.filter((r) => r.faultBound || r.example === 'default.yaml')) {
  targets.push({
    id: `example-${r.example.replace(/\.yaml$/, '')}-real-time`,
    description: `hetmem run examples/${r.example}${r.scale !== 1 ? ` --scale ${r.scale}` : ''} (${examples.cli}, ${r.faultBound ? 'fault-bound' : 'not fault-bound'}): simulated seconds per wall second, whole command`,
    target: 1, value: r.simPerWall, unit: 'simulated s / wall s', met: r.simPerWall >= 1,
  });
}
{
  const big = manyFaults.points.at(-1)!;
  targets.push({
    id: 'many-faults-rss', description: `a scenario of ${big.faultsServiced} device faults (${config.quick ? 'quick size' : `the issue's ${MANY_FAULTS}`}) runs within ${MANY_FAULTS_RSS_TARGET_BYTES / 2 ** 30} GiB peak RSS`,
    target: MANY_FAULTS_RSS_TARGET_BYTES, value: big.peakRssBytes, unit: 'bytes', met: big.peakRssBytes <= MANY_FAULTS_RSS_TARGET_BYTES,
  });
}
targets.push({ id: 'memory-growth', description: 'metadata grows linearly or better in pages', target: 1.1, value: memory.growthExponent, unit: 'log-log slope', met: memory.linearOrBetter });

const cpuList = cpus();
const results: Results = {
  schema: 'hetmem-bench/1',
  createdAt: new Date().toISOString(),
  quick: config.quick,
  machine: {
    node: process.version, platform: process.platform, arch: process.arch, cpuModel: cpuList[0]?.model ?? 'unknown',
    cpus: Math.max(1, cpuList.length), totalMemBytes: totalmem(),
  },
  config: { reps: config.reps, warmup: config.warmup, minSampleMs: config.minSampleMs, pages: config.pages, dataPages: config.dataPages, growthPages: config.growthPages, memoryPages: config.memoryPages },
  baselines: baselineResults,
  throughput: throughputResults,
  growth,
  memory,
  scale,
  sweep,
  view,
  faultbench,
  examples,
  manyFaults,
  targets,
  missing,
  seconds: Number(nowNs() - t0) / 1e9,
};
const checked = resultsSchema.parse(results);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(checked, null, 2) + '\n');
printTable(checked);
console.log(`\nwrote ${outFile} in ${checked.seconds.toFixed(1)} s (largest footprint: ${scale.largest ? fmt(scale.largest.footprintBytes) : 'none'})`);
