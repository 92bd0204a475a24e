// The printed summary of a results file.
import type { Results } from '../schema.ts';
import { fmt } from '../measures/scale.ts';

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
const rate = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`);
const pages = (n: number) => (n >= 2 ** 10 && Number.isInteger(Math.log2(n)) ? `2^${Math.log2(n)}` : String(n));
const x = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)}x`);

export function printTable(r: Results): void {
  const out: string[] = [];
  out.push(`hetmem bench${r.quick ? ' (--quick)' : ''}: node ${r.machine.node}, ${r.machine.cpuModel}, ${r.machine.cpus} CPUs, ${fmt(r.machine.totalMemBytes)}`);
  out.push(`median of ${r.config.reps} timed runs (at most 3 from 2^22 pages) after ${r.config.warmup} warm-up\n`);

  out.push('Page-event throughput (slower-than ratios: baseline rate / measured rate, same run, same pages)');
  out.push(table(['measure', 'mode', 'pages', 'page-events/s', 'vs raw loop', 'vs 4K copy', 'target'],
    r.throughput.map((t) => [t.id, t.mode, pages(t.pages), rate(t.eventsPerSec), x(t.slowdownVsRaw), x(t.slowdownVsCopy),
      t.targetEventsPerSec ? `${rate(t.targetEventsPerSec)} ${t.eventsPerSec >= t.targetEventsPerSec ? 'met' : 'not met'}` : '-'])));
  out.push('');
  out.push(table(['baseline', 'pages', 'rate'], r.baselines.map((b) => [b.id, pages(b.pages), rate(b.eventsPerSec)])));
  if (r.missing.length > 0) {
    out.push('\nNot measured yet:');
    for (const m of r.missing) out.push(`  ${m.id}: ${m.reason}`);
  }

  if (r.growth.length > 0) {
    out.push('\nGrowth, no-data mode (page-events/s at each size; exponent = slope of log time vs log pages)');
    const sizes = r.growth[0].points.map((p) => p.pages);
    out.push(table(['measure', ...sizes.map(pages), 'exponent'],
      r.growth.map((g) => [g.id, ...sizes.map((s) => { const p = g.points.find((q) => q.pages === s); return p ? rate(p.eventsPerSec) : '-'; }), g.timeExponent.toFixed(2)])));
  }

  out.push('\nMemory: model metadata per tracked page (heapUsed + arrayBuffers growth minus contents)');
  out.push(table(['pages', 'mode', 'bytes/page', 'page store', 'page tables', 'heap', 'contents'],
    r.memory.points.map((p) => [pages(p.pages), p.mode, p.bytesPerPage.toFixed(1), fmt(p.pageStoreBytes), fmt(p.pageTableBytes), fmt(Math.max(0, p.heapBytes)), fmt(p.contentBytes)])));
  for (const s of r.memory.skipped) out.push(`  ${pages(s.pages)} ${s.mode}: skipped, ${s.reason}`);
  out.push(`  growth exponent ${r.memory.growthExponent.toFixed(2)}`);

  out.push(`\nScale: ${r.scale.description}`);
  out.push(table(['footprint', 'ok', 'seconds', 'peak RSS', 'touched pages', 'migrated', 'pfns'],
    r.scale.attempts.map((a) => [fmt(a.footprintBytes), a.ok ? 'yes' : 'no', a.seconds.toFixed(1), a.ok ? fmt(a.peakRssBytes) : '-', String(a.touchedPages), String(a.migratedPages), String(a.pfnsReserved)])));
  out.push(`  largest: ${r.scale.largest ? fmt(r.scale.largest.footprintBytes) : 'none'}; stopped: ${r.scale.stoppedBecause}`);

  out.push(`\nSweep: ${r.sweep.description}`);
  out.push(table(['run', 'processes', 'seconds', 'points/min'], [
    ['one process in turn', '1', r.sweep.oneProcessSeconds.toFixed(1), r.sweep.oneProcessPointsPerMin.toFixed(1)],
    ['local pool', String(r.sweep.jobs), r.sweep.poolSeconds.toFixed(1), r.sweep.poolPointsPerMin.toFixed(1)],
  ]));
  out.push(`  speedup ${r.sweep.speedup.toFixed(2)}x with ${r.sweep.jobs} processes`);
  if (r.view) {
    const v = r.view;
    out.push(`\nView: ${v.description}`);
    out.push(`  ${v.deviceFaults} device faults, ${v.batches} batches, ${v.events} events (events.bin ${fmt(v.eventBytes)}, index ${fmt(v.indexBytes)}), generated in ${v.genSeconds.toFixed(1)} s`);
    out.push(table(['step', 'seconds'], [
      ['read files, start server', v.loadSeconds.toFixed(3)], ['first page (overview inline)', v.pageSeconds.toFixed(3)], ['whole-run grid', v.overviewSeconds.toFixed(3)],
      ['zoomed grid', v.zoomSeconds.toFixed(3)], ['page history', v.historySeconds.toFixed(3)], ['open (all of the above)', v.openSeconds.toFixed(3)],
      ['zoomed grid by full scan (no index)', v.scanZoomSeconds.toFixed(3)], ['module imports (apart)', v.importSeconds.toFixed(3)],
    ]));
  }
  if (r.faultbench) {
    const f = r.faultbench;
    out.push(`\nfaultbench: ${f.description}`);
    out.push(table(['run', 'processes', 'seconds'], [['one process in turn', '1', f.oneProcessSeconds.toFixed(1)], ['local pool', String(f.jobs), f.poolSeconds.toFixed(1)]]));
    out.push(`  speedup ${f.speedup.toFixed(2)}x with ${f.jobs} processes`);
  }
  if (r.examples) {
    out.push(`\nExamples against real time: ${r.examples.description}`);
    out.push(table(['example', 'simulated s', 'wall s', 'CPU s', 'sim/wall', 'sim/CPU', 'fault-bound'], r.examples.runs.map((e) => [
      e.example, e.simulatedS.toExponential(3), e.wallS.toFixed(2), e.cpuS.toFixed(2), e.simPerWall.toFixed(4), e.simPerCpu.toFixed(4), e.faultBound ? 'yes' : 'no',
    ])));
  }
  if (r.manyFaults) {
    const m = r.manyFaults;
    out.push(`\nMany faults: ${m.description}`);
    out.push(table(['faults', 'batches', 'wall s', 'CPU s', 'simulated s / wall s', 'peak RSS', 'heap after', 'records kept', 'results.json'],
      m.points.map((p) => [String(p.faultsServiced), String(p.batches), p.wallSeconds.toFixed(1), p.cpuSeconds.toFixed(1), (p.simulatedSeconds / p.wallSeconds).toFixed(3),
        fmt(p.peakRssBytes), fmt(p.heapBytesAfter), String(p.batchRecordsKept), fmt(p.resultsJsonBytes)])));
    out.push(`  peak RSS exponent ${m.rssExponent.toFixed(2)} (0: nothing kept per fault)`);
  }
  out.push('\nTargets');
  out.push(table(['target', 'value', 'goal', 'met'], r.targets.map((t) => [t.id, t.unit === 'bytes' ? fmt(t.value) : `${t.value >= 1e5 ? rate(t.value) : Math.abs(t.value) < 0.1 && t.value !== 0 ? t.value.toPrecision(2) : t.value.toFixed(2)}`, t.unit === 'bytes' ? fmt(t.target) : t.unit === 'page-events/s' ? `>= ${rate(t.target)}` : t.unit === 'x faster' || t.unit === 'simulated s / wall s' ? `>= ${t.target}` : `<= ${t.target}`, t.met ? 'yes' : 'NO'])));
  console.log(out.join('\n'));
}
