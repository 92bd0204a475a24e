// The viewer's index (view-index.ts): a query that reads only the indexed events answers exactly
// what the full scan of the log answers, on recorded runs and on a random log built to hit the
// edges (residency runs over several blocks, wide invalidations, zero-count events, blocks with
// many snapshots).
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { loadScenario, EXAMPLES_DIR } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { ViewRecorder, viewFiles, viewOverview } from '../../src/report/viewlog.ts';
import { batchDetail, EV, pageHistory, residencyGrid, VIEW_FORMAT, type ViewLog } from '../../src/report/view-format.ts';
import { batchPlan, BLOCK_PAGES, buildViewIndex, CHECKPOINT_EVERY, decodeViewIndex, encodeViewIndex, gridPlan, pageEvents, type ViewIndex } from '../../src/report/view-index.ts';
import { answer } from '../../src/view/server.ts';
import type { LoadedRun } from '../../src/view/load.ts';
import type { RunResults } from '../../src/sim/results.ts';

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function recorded(name: string): ViewLog {
  let rec: ViewRecorder | undefined;
  const results = runScenario(loadScenario(join(EXAMPLES_DIR, `${name}.yaml`)), { scale: 0.05, onMachine: (x) => void (rec = new ViewRecorder(x)) });
  rec!.finish();
  return rec!.log(results.endPs);
}

/**
 * A random log in time order: two spaces, two devices, three locations; residency runs of 1 to
 * 1500 pages (up to 4 blocks), faults, batch faults, narrow and whole-space invalidations, and a
 * few zero-count invalidations; one hot block gets most residency events (many snapshots).
 */
function randomLog(seed: number, n: number): ViewLog {
  const r = rng(seed);
  const t = new Float64Array(n), vpn = new Float64Array(n), count = new Uint32Array(n), space = new Uint32Array(n);
  const a = new Int32Array(n), b = new Int32Array(n), dev = new Int32Array(n), label = new Int32Array(n), kind = new Uint8Array(n);
  const bases = [0x10000, 0x7fff0000];
  const span = 6 * BLOCK_PAGES;
  let now = 0;
  for (let i = 0; i < n; i++) {
    if (r() < 0.7) now += Math.floor(r() * 1000);
    t[i] = now;
    const sp = r() < 0.8 ? 1 : 2;
    space[i] = sp;
    const hot = r() < 0.4;
    const v = bases[sp - 1] + (hot ? 2 * BLOCK_PAGES + Math.floor(r() * 40) : Math.floor(r() * span));
    vpn[i] = v;
    label[i] = r() < 0.5 ? 0 : -1;
    const x = r();
    const d = Math.floor(r() * 2);
    if (x < 0.45) {
      kind[i] = EV.RESIDE;
      count[i] = hot ? 1 + Math.floor(r() * 8) : 1 + Math.floor(r() * 1500);
      a[i] = Math.floor(r() * 4);
      const inBatch = r() < 0.6;
      b[i] = inBatch ? Math.floor(r() * 20) : -1;
      dev[i] = inBatch ? d : -1;
    } else if (x < 0.65) {
      kind[i] = EV.DEVICE_FAULT;
      count[i] = 1;
      a[i] = d;
      b[i] = r() < 0.5 ? 1 : 0;
      dev[i] = -1;
    } else if (x < 0.85) {
      kind[i] = EV.BATCH_FAULT;
      count[i] = 1;
      a[i] = r() < 0.5 ? 1 : 0;
      b[i] = Math.floor(r() * 20);
      dev[i] = d;
    } else if (x < 0.9) {
      kind[i] = EV.CPU_FAULT;
      count[i] = 1;
      a[i] = -1;
      b[i] = 1;
      dev[i] = -1;
    } else {
      kind[i] = EV.INVAL;
      const y = r();
      if (y < 0.1) {
        vpn[i] = 0;
        count[i] = 2 ** 32 - 1;
      } else count[i] = y < 0.2 ? 0 : 1 + Math.floor(r() * 9000);
      a[i] = Math.floor(r() * 8);
      b[i] = -1;
      dev[i] = y < 0.5 ? d : -1;
    }
  }
  const spaces = [1, 2].map((id) => ({ id, lo: bases[id - 1], hi: bases[id - 1] + span + 1500 }));
  return {
    meta: { format: VIEW_FORMAT, endPs: now + 1, events: n, dropped: 0, truncatedAtPs: null, locations: ['none', 'cpu0', 'gpu0', 'gpu1'], labels: ['x'], devices: ['gpu0', 'gpu1'], spaces },
    n, t, vpn, space, count, a, b, dev, label, kind,
  };
}

const flat = (g: ReturnType<typeof residencyGrid>) => ({ ...g, cells: Buffer.from(g.cells).toString('base64') });

/** Compares indexed and full-scan answers to `queries` random queries of each kind. */
function checkSame(log: ViewLog, ix: ViewIndex, seed: number, queries: number): number {
  const r = rng(seed);
  const end = log.meta.endPs;
  let nonEmpty = 0;
  for (let q = 0; q < queries; q++) {
    const s = log.meta.spaces[Math.floor(r() * log.meta.spaces.length)];
    const width = s.hi - s.lo;
    // Ranges from one page to the whole space (and a little past its ends), times from a point to the whole run.
    const v0 = s.lo - 8 + Math.floor(r() * (width + 16));
    const v1 = v0 + 1 + Math.floor(r() ** 3 * (width + 16));
    const t0 = Math.floor(r() * end);
    const t1 = t0 + 1 + Math.floor(r() ** 2 * (end - t0 + 10));
    const rows = 1 + Math.floor(r() * 300), cols = 1 + Math.floor(r() * 300);
    const full = residencyGrid(log, s.id, v0, v1, t0, t1, rows, cols);
    const fast = residencyGrid(log, s.id, v0, v1, t0, t1, rows, cols, gridPlan(log, ix, s.id));
    // Cells as base64 (as the server sends them): a deep compare of 10^5 typed-array elements is slow.
    expect(flat(fast), `grid ${JSON.stringify({ space: s.id, v0, v1, t0, t1, rows, cols })}`).toEqual(flat(full));
    if (full.cells.some((c) => c !== 0)) nonEmpty++;
    const h0 = Math.floor(v0 + r() * (v1 - v0)), h1 = h0 + 1 + Math.floor(r() ** 4 * (v1 - h0));
    const limit = r() < 0.5 ? 500 : 20;
    const hFull = pageHistory(log, s.id, h0, h1, limit);
    expect(pageHistory(log, s.id, h0, h1, limit, pageEvents(ix, s.id, h0, h1)), `history ${s.id} ${h0}-${h1}`).toEqual(hFull);
  }
  return nonEmpty;
}

describe('view index', () => {
  const runs = ['oversubscribed-eviction', 'sva-vs-hmm'].map((name) => ({ name, log: recorded(name) }));

  it.each([0, 1])('answers as the full scan on a recorded run (%i)', (k) => {
    const { log } = runs[k];
    const ix = buildViewIndex(log);
    expect(checkSame(log, ix, 7 + k, 100)).toBeGreaterThan(20);
    // Every batch of every device, as the full scan tells it.
    let batches = 0;
    for (const [d, device] of log.meta.devices.entries()) {
      const nos = new Set<number>();
      for (let i = 0; i < log.n; i++) if (log.kind[i] === EV.BATCH_FAULT && log.dev[i] === d) nos.add(log.b[i]);
      for (const no of [...nos].slice(0, 60)) {
        expect(batchDetail(log, device, no, batchPlan(ix)), `${device}#${no}`).toEqual(batchDetail(log, device, no));
        batches++;
      }
    }
    expect(batches).toBeGreaterThan(0);
  }, 60_000);

  it('answers as the full scan on a random log with wide, multi-block and zero-count events', () => {
    for (const seed of [1, 2, 3]) {
      const log = randomLog(seed, 6000);
      const ix = buildViewIndex(log);
      expect(ix.header.checkpoints, 'the hot block has snapshots').toBeGreaterThan(2);
      expect(ix.header.wideEntries).toBeGreaterThan(0);
      expect(ix.header.resEntries).toBeGreaterThan(log.kind.filter((k) => k === EV.RESIDE).length);
      expect(checkSame(log, ix, seed * 11, 120)).toBeGreaterThan(30);
      for (const device of log.meta.devices) {
        for (const no of [0, 3, 19, 25]) expect(batchDetail(log, device, no, batchPlan(ix)), `${device}#${no}`).toEqual(batchDetail(log, device, no));
      }
      // Degenerate page ranges the history query accepts (end at or before start, fractions).
      for (const [v0, v1] of [[0x10000 + 700, 0x10000 + 700], [0x10000 + 900.5, 0x10000 + 1800.25], [0x10000 + 2000, 0x10000 + 1000]]) {
        expect(pageHistory(log, 1, v0, v1, 50, pageEvents(ix, 1, v0, v1)), `${v0}-${v1}`).toEqual(pageHistory(log, 1, v0, v1, 50));
      }
      // A block's snapshot is its pages' locations after that many of its residency events: the
      // full scan's one-column grid of the block ending at the next event's time, where that
      // event is later than the snapshot's last one.
      let snapshots = 0;
      for (let k = 0; k + 1 < ix.resOff.length; k++) {
        for (let j = ix.ckOff[k]; j < ix.ckOff[k + 1]; j++) {
          const at = ix.resIdx[ix.resOff[k] + (j - ix.ckOff[k] + 1) * CHECKPOINT_EVERY - 1];
          if (at + 1 >= log.n || log.t[at + 1] === log.t[at]) continue;
          const base = ix.blockNo[k] * BLOCK_PAGES;
          const g = residencyGrid(log, log.space[at], base, base + BLOCK_PAGES, 0, log.t[at + 1], BLOCK_PAGES, 1);
          expect(Buffer.from(ix.ckData.subarray(j * BLOCK_PAGES, (j + 1) * BLOCK_PAGES)).toString('hex'), `block ${k} snapshot ${j}`).toBe(Buffer.from(g.cells).toString('hex'));
          snapshots++;
        }
      }
      expect(snapshots).toBeGreaterThan(0);
    }
  });

  it('round-trips through index.json and index.bin, and refuses an index of another log', () => {
    const log = randomLog(5, 3000);
    const ix = buildViewIndex(log);
    const { header, bytes } = encodeViewIndex(ix);
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const back = decodeViewIndex(JSON.parse(header), copy.buffer, log.n);
    for (const k of ['blockNo', 'resOff', 'resIdx', 'othOff', 'othIdx', 'ckOff', 'ckData', 'wideIdx', 'batchNo', 'batchIdx'] as const) {
      expect(Array.from(back[k]), k).toEqual(Array.from(ix[k]));
    }
    expect(checkSame(log, back, 3, 40)).toBeGreaterThan(5);
    expect(() => decodeViewIndex(JSON.parse(header), copy.buffer, log.n + 1)).toThrow(/indexes 3000 events, the log has 3001/);
    expect(() => decodeViewIndex(JSON.parse(header), copy.buffer.slice(0, 64), log.n)).toThrow(/expected at least \d+ bytes/);
    // viewFiles writes it, byte for byte what encodeViewIndex gives.
    const files = viewFiles(log);
    expect(files['view/index.json']).toBe(header);
    expect(Buffer.from(files['view/index.bin'] as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
  });

  it("the server's answers are the full scan's (the overview grid included)", () => {
    const log = runs[0].log;
    const overview = viewOverview(log);
    const run = { label: 'x', dir: 'x', results: { batches: [] } as unknown as RunResults, log, overview, index: buildViewIndex(log), eventBytes: null } as LoadedRun;
    const s = log.meta.spaces[0];
    const whole = `run=0&space=${s.id}&v0=${s.lo}&v1=${s.hi}&t0=0&t1=${log.meta.endPs}&rows=256&cols=256`;
    const g = residencyGrid(log, s.id, s.lo, s.hi, 0, log.meta.endPs, 256, 256);
    expect(answer([run], '/api/grid', new URLSearchParams(whole))).toEqual({ ...g, cells: Buffer.from(g.cells).toString('base64') });
    const mid = Math.floor((s.lo + s.hi) / 2), tm = Math.floor(log.meta.endPs / 3);
    const z = residencyGrid(log, s.id, mid, mid + 300, tm, 2 * tm, 256, 256);
    expect(answer([run], '/api/grid', new URLSearchParams(`run=0&space=${s.id}&v0=${mid}&v1=${mid + 300}&t0=${tm}&t1=${2 * tm}&rows=256&cols=256`))).toEqual({ ...z, cells: Buffer.from(z.cells).toString('base64') });
    expect(answer([run], '/api/page', new URLSearchParams(`run=0&space=${s.id}&v0=${mid}&v1=${mid + 1}`))).toEqual(pageHistory(log, s.id, mid, mid + 1, 500));
  });
});
