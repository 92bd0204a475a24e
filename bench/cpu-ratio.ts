// CPU-time figures for a few throughput measures against the raw loop, in one process:
//   node --expose-gc --import tsx bench/cpu-ratio.ts --pages 1048576 --reps 5 migrate cow-fork
// On a shared machine the bench's wall-clock samples swing with the load; process CPU time
// (user + system) of each run swings far less. Median of --reps runs after warm-up.
import { Command } from 'commander';
import { throughput, baselines } from './measures/index.ts';
import { fullGc } from './lib/timing.ts';

const o = new Command()
  .argument('<measures...>', 'measure ids')
  .option('--pages <n>', 'pages', (v) => Number(v), 2 ** 20)
  .option('--reps <n>', 'timed runs (median)', (v) => Number(v), 5)
  .option('--warmup <n>', 'untimed runs first', (v) => Number(v), 2)
  .parse();
const opts = o.opts<{ pages: number; reps: number; warmup: number }>();

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function measure(id: string): { perEventNs: number; eventsPerSec: number } {
  const m = id === 'raw-loop' ? baselines.rawLoop : throughput.find((x) => x.id === id);
  if (!m || m.kind === 'missing') throw new Error(`no runnable measure '${id}'`);
  const prep = m.prepare(opts.pages, 'no-data');
  const samples: number[] = [];
  let events = 0;
  for (let i = 0; i < opts.warmup + opts.reps; i++) {
    prep.before?.();
    fullGc();
    // A measure without per-run set-up repeats inside one sample until it lasts 50 ms of CPU,
    // as the bench does, so the sub-millisecond raw loop is not at the mercy of the timer.
    const t = cpuNs();
    events = 0;
    do {
      events += prep.run();
    } while (!prep.before && cpuNs() - t < 50e6);
    const ns = cpuNs() - t;
    prep.after?.();
    if (i >= opts.warmup) samples.push(ns);
  }
  samples.sort((a, b) => a - b);
  const med = samples[samples.length >> 1];
  return { perEventNs: med / events, eventsPerSec: events / (med / 1e9) };
}

const raw = measure('raw-loop');
console.log(`raw-loop  ${raw.perEventNs.toFixed(1)} ns/event  ${(raw.eventsPerSec / 1e6).toFixed(1)} M/s`);
for (const id of o.args) {
  const r = measure(id);
  console.log(`${id.padEnd(9)} ${r.perEventNs.toFixed(1)} ns/event  ${(r.eventsPerSec / 1e6).toFixed(2)} M/s  ${(r.perEventNs / raw.perEventNs).toFixed(1)}x raw`);
}
