// The viewer's event log: recording never changes a run, the log is deterministic, and what it
// says about residency matches the page tables and the batch records.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { loadScenario, EXAMPLES_DIR } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import type { SimMachine } from '../../src/sim/machine.ts';
import { ViewRecorder, viewFiles, OVERVIEW_COLS } from '../../src/report/viewlog.ts';
import { batchDetail, decodeLog, encodeLog, EV, pageHistory, residencyGrid, type ViewLog } from '../../src/report/view-format.ts';

function recorded(name: string, maxEvents?: number): { results: ReturnType<typeof runScenario>; log: ViewLog; m: SimMachine } {
  let rec: ViewRecorder | undefined;
  let m: SimMachine | undefined;
  const results = runScenario(loadScenario(join(EXAMPLES_DIR, `${name}.yaml`)), {
    scale: 0.05,
    onMachine: (x) => {
      m = x;
      rec = new ViewRecorder(x, maxEvents);
    },
  });
  rec!.finish();
  return { results, log: rec!.log(results.endPs), m: m! };
}

describe('ViewRecorder', () => {
  const ev = recorded('oversubscribed-eviction');

  it('changes nothing in the run it records', () => {
    const plain = runScenario(loadScenario(join(EXAMPLES_DIR, 'oversubscribed-eviction.yaml')), { scale: 0.05 });
    expect(JSON.stringify(ev.results)).toBe(JSON.stringify(plain));
  });

  it('writes byte-identical files for the same scenario and seed', () => {
    const again = recorded('oversubscribed-eviction');
    const f1 = viewFiles(ev.log), f2 = viewFiles(again.log);
    for (const k of Object.keys(f1) as (keyof typeof f1)[]) {
      expect(Buffer.from(f1[k] as Uint8Array).equals(Buffer.from(f2[k] as Uint8Array)), k).toBe(true);
    }
  });

  it('ends with every page where the page tables say it is', () => {
    const { log, m } = ev;
    let checked = 0;
    for (const s of log.meta.spaces) {
      const g = residencyGrid(log, s.id, s.lo, s.hi, 0, log.meta.endPs + 1, s.hi - s.lo, 1);
      expect(g.pagesPerRow).toBe(1);
      const mm = m.processOf(s.id).mm;
      for (let v = s.lo; v < s.hi; v++) {
        const e = mm.pt.pte(v);
        const want = e === 0 ? 'none' : m.homeNodeOf(Math.floor(e / 256));
        expect(log.meta.locations[g.cells[v - s.lo]], `space ${s.id} page ${v}`).toBe(want);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it("tells each batch's faults, migrations and evictions as its record counts them", () => {
    const { log, results } = ev;
    expect(results.batches.some((b) => b.num_evict > 0)).toBe(true);
    for (const b of results.batches) {
      const d = batchDetail(log, b.device, b.batch);
      expect(d.faults.length, `${b.device}#${b.batch}`).toBe(b.cached_faults);
      expect(d.pagesOut, `${b.device}#${b.batch}`).toBe(b.num_evict);
      expect(d.pagesIn, `${b.device}#${b.batch}`).toBe(b.not_already_resident);
    }
  });

  it("gives a page's history in time order with the devices that touched it", () => {
    const { log } = ev;
    const i = log.kind.findIndex((k, j) => k === EV.RESIDE && log.dev[j] >= 0);
    const h = pageHistory(log, log.space[i], log.vpn[i], log.vpn[i] + 1, 1000);
    expect(h.events.map((e) => e.t)).toEqual([...h.events.map((e) => e.t)].sort((x, y) => x - y));
    expect(h.devices).toContain(log.meta.devices[log.dev[i]]);
    expect(h.events.some((e) => e.kind === 'batch fault')).toBe(true);
    expect(h.events.some((e) => e.kind === 'invalidate' && e.what === 'MIGRATE')).toBe(true);
  });

  it('round-trips through events.bin and refuses a short file', () => {
    const bytes = encodeLog(ev.log);
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const back = decodeLog(ev.log.meta, copy.buffer);
    expect(Array.from(back.t)).toEqual(Array.from(ev.log.t));
    expect(Array.from(back.kind)).toEqual(Array.from(ev.log.kind));
    expect(Array.from(back.a)).toEqual(Array.from(ev.log.a));
    expect(() => decodeLog(ev.log.meta, copy.buffer.slice(0, 100))).toThrow(/events\.bin: expected \d+ bytes/);
  });

  it('stops at maxEvents and says where', () => {
    const small = recorded('oversubscribed-eviction', 500);
    expect(small.log.n).toBe(500);
    expect(small.log.meta.dropped).toBeGreaterThan(0);
    expect(small.log.meta.truncatedAtPs).not.toBeNull();
  });

  it('pre-aggregates an overview per space', () => {
    const f = viewFiles(ev.log);
    const o = JSON.parse(f['view/overview.json'] as string) as { grids: { cols: number; cells: string }[] };
    expect(o.grids.length).toBe(ev.log.meta.spaces.length);
    expect(o.grids[0].cols).toBe(OVERVIEW_COLS);
    expect(Buffer.from(o.grids[0].cells, 'base64').some((c) => c !== 0)).toBe(true);
  });
});
