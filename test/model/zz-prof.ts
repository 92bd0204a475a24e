import fc from 'fast-check';
import { runArb, replay, newStats } from './fuzz-harness.ts';
const stats = newStats();
const t0 = performance.now();
const [runs, seed, len] = process.argv.slice(2).map(Number);
try {
  fc.assert(fc.property(runArb(len || 60), (ops) => { replay(ops, stats); }), { numRuns: runs, seed });
} catch (e) { console.log(String(e).slice(0, 3000), "\nCAUSE:", String((e as Error).cause).slice(0, 3000)); }
console.log(JSON.stringify(stats), (performance.now() - t0) / stats.ops, 'ms/op');
