// Profiles one throughput measure after warm-up (the V8 sampling profiler through node:inspector,
// so set-up and JIT warm-up are not in the profile) and prints the hottest functions, by self
// time and by inclusive time.
//   node --expose-gc --import tsx bench/profile.ts migrate --pages 1048576 --runs 5 [--save FILE.cpuprofile]
import { Command } from 'commander';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { throughput } from './measures/index.ts';
import type { Mode } from './measures/types.ts';
import { fullGc, nowNs } from './lib/timing.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const o = new Command()
  .argument('<measure>', 'measure id (migrate, mirror, cow-fork)')
  .option('--pages <n>', 'pages', (v) => Number(v), 2 ** 20)
  .option('--mode <mode>', 'data | no-data', 'no-data')
  .option('--runs <n>', 'profiled runs', (v) => Number(v), 5)
  .option('--warmup <n>', 'unprofiled runs first', (v) => Number(v), 2)
  .option('--top <n>', 'functions to list', (v) => Number(v), 25)
  .option('--save <file>', 'also write the .cpuprofile (Chrome DevTools can open it)')
  .parse();
const id = o.args[0];
const opts = o.opts<{ pages: number; mode: Mode; runs: number; warmup: number; top: number; save?: string }>();
const m = throughput.find((x) => x.id === id);
if (!m || m.kind === 'missing') throw new Error(`no runnable measure '${id}'`);

const prep = m.prepare(opts.pages, opts.mode);
// No forced GC between profiled runs: the garbage collector's share is then the model's own.
/** Page-events of the last run (what the measure reports, not its nominal count). */
let done = 0;
const once = (): number => {
  prep.before?.();
  const t = nowNs();
  done = prep.run();
  const ns = Number(nowNs() - t);
  prep.after?.();
  return ns;
};
for (let i = 0; i < opts.warmup; i++) once();
fullGc();
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
let ns = 0;
for (let i = 0; i < opts.runs; i++) ns += once();
const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
session.disconnect();
if (opts.save) writeFileSync(opts.save, JSON.stringify(profile));

const events = done * opts.runs;
console.log(`${id} ${opts.mode} ${opts.pages} pages: ${(events / (ns / 1e9) / 1e6).toFixed(2)} M page-events/s over ${opts.runs} profiled runs (${(ns / events).toFixed(0)} ns each)`);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const ticks = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) ticks.set(profile.samples[i], (ticks.get(profile.samples[i]) ?? 0) + profile.timeDeltas[i]);
const total = [...ticks.values()].reduce((a, b) => a + b, 0);
const name = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(src|bench)\//, '$1/')}`;
const self = new Map<string, number>(), incl = new Map<string, number>();
for (const [nid, t] of ticks) {
  const k = name(byId.get(nid)!);
  self.set(k, (self.get(k) ?? 0) + t);
  const seen = new Set<string>();
  for (let cur: number | undefined = nid; cur !== undefined; cur = parent.get(cur)) {
    const kk = name(byId.get(cur)!);
    if (seen.has(kk)) continue;
    seen.add(kk);
    incl.set(kk, (incl.get(kk) ?? 0) + t);
  }
}
const show = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, t] of [...map].filter(([k]) => !k.startsWith('(root)')).sort((a, b) => b[1] - a[1]).slice(0, opts.top)) {
    console.log(`${((100 * t) / total).toFixed(1).padStart(6)}%  ${((t * 1000) / events).toFixed(1).padStart(7)} ns/event  ${k}`);
  }
};
show('self time', self);
show('inclusive time', incl);
