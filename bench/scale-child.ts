// One scale attempt in a fresh process, no page data: a machine with G GPUs of S pages of
// device-private memory each (registered on demand in chunks, as test_hmm's driver does) and a
// process whose one anonymous mapping spans host + GPU memory (H + G*S pages). The process
// writes one 2 MiB run (512 pages) in every K runs of the mapping (sparse touch); runs in
// GPU g's slice of the mapping are then migrated to GPU g, and every 8th of them back.
//   node --expose-gc --import tsx bench/scale-child.ts --gpus 8 --gpu-pages N --host-pages N --run-every K
import { Command } from 'commander';
import { Machine } from '../src/api/machine.ts';
import { PMD_NR } from '../src/mm/constants.ts';
import { BenchDevice } from './lib/device.ts';
import { fullGc, usedBytes, peakRssBytes, nowNs } from './lib/timing.ts';
import { emitResult } from './lib/child.ts';

const num = (v: string) => Number(v);
const o = new Command()
  .requiredOption('--gpus <n>', 'devices', num)
  .requiredOption('--gpu-pages <n>', 'device memory per GPU, pages', num)
  .requiredOption('--host-pages <n>', 'host part of the mapping, pages', num)
  .option('--run-every <k>', 'touch one 512-page run in every k', num, 128)
  .option('--chunk-pages <n>', 'device memory registered per memremap_pages', num, 65536)
  .option('--rss-limit <bytes>', 'give up above this resident size', num, 0)
  .parse()
  .opts<{ gpus: number; gpuPages: number; hostPages: number; runEvery: number; chunkPages: number; rssLimit: number }>();

const t0 = nowNs();
const total = o.hostPages + o.gpus * o.gpuPages;
const machine = new Machine({ keepData: false });
const proc = machine.spawn();
const mm = proc.mm;
const start = proc.mmap(total, 'anon', 'rw');
const end = start + total;
const devs = Array.from({ length: o.gpus }, () => new BenchDevice(machine.sys, { pages: o.gpuPages, chunkPages: o.chunkPages }));

function checkRss(): void {
  if (o.rssLimit > 0 && process.memoryUsage.rss() > o.rssLimit) throw new Error(`resident size above the limit of ${o.rssLimit} bytes`);
}

// Touch: runs aligned to 2 MiB, one in every `runEvery`.
const first = Math.ceil(start / PMD_NR) * PMD_NR;
const runs: number[] = [];
let touched = 0;
for (let base = first; base + PMD_NR <= end; base += o.runEvery * PMD_NR) {
  for (let v = base; v < base + PMD_NR; v++) {
    if (typeof proc.access(v, true) !== 'number') throw new Error(`write to ${v} faulted`);
  }
  touched += PMD_NR;
  runs.push(base);
  if (runs.length % 256 === 0) checkRss();
}

// Runs in GPU g's slice move to GPU g; every 8th of those comes back.
const gpuBase = start + o.hostPages;
let migrated = 0, back = 0, k = 0;
for (const base of runs) {
  if (base < gpuBase) continue;
  const g = Math.floor((base - gpuBase) / o.gpuPages);
  if (g >= o.gpus) continue;
  migrated += devs[g].migrateToDevice(mm, base, base + PMD_NR);
  if (k++ % 8 === 7) back += devs[g].migrateToSystem(mm, base, base + PMD_NR);
  if (k % 256 === 0) checkRss();
}
checkRss();
fullGc();
const used = usedBytes();
emitResult({
  touchedPages: touched,
  migratedPages: migrated,
  migratedBackPages: back,
  deviceRegisteredPages: devs.reduce((s, d) => s + d.registered, 0),
  pfnsReserved: machine.sys.pages.top,
  heapBytes: used.heap,
  arrayBufferBytes: used.arrayBuffers,
  peakRssBytes: peakRssBytes(),
  seconds: Number(nowNs() - t0) / 1e9,
});
