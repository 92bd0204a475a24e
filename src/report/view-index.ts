// An index of the viewer's event log (view/index.json + view/index.bin), written with the log, so
// that a zoomed query of `hetmem view`'s server reads only the events it needs instead of the
// whole log (a 10^6-fault run logs several million events).
//
// The address space is cut into blocks of BLOCK_PAGES pages (2 MiB). Per block (sparse: only
// blocks some event touched), in log order:
//  - its residency events (each RESIDE lists in every block it covers; their extent is where
//    pages lived, so that is bounded by the pages moved), with a snapshot of the block's 512
//    locations after every CHECKPOINT_EVERY of them: residency at any time is a snapshot plus at
//    most CHECKPOINT_EVERY - 1 events, not a replay from the start of the run;
//  - its other events (faults, invalidations) no wider than WIDE_PAGES.
// Per space, the wider other events (an invalidation of the whole address space at exit) in one
// list every page query reads. Per device, the residency and batch-fault events of each batch.
//
// The queries themselves are view-format.ts's (the static page runs them over the whole log);
// this file only chooses the events they look at, a superset of the ones that matter, in log
// order, so an indexed answer is the full scan's answer (test/report/view-index.test.ts).
import { EV, type ViewLog } from './view-format.ts';

/** Version of view/index.*; a mismatch makes the loader rebuild the index from the log. */
export const INDEX_FORMAT = 1;
export const BLOCK_SHIFT = 9;
export const BLOCK_PAGES = 1 << BLOCK_SHIFT;
/**
 * Residency events per block between snapshots. 64 keeps snapshots at 8 bytes per indexed
 * residency event (512 / 64) and a block's replay under 64 events.
 */
export const CHECKPOINT_EVERY = 64;
/** Non-residency events wider than this (8 blocks) go to the space's wide list instead of every block. */
export const WIDE_PAGES = 8 * BLOCK_PAGES;

/** view/index.json: the sizes of index.bin's columns and the ranges of each space and device. */
export interface ViewIndexHeader {
  format: number;
  /** Events of the log it indexes (meta.json's `events`). */
  events: number;
  blockPages: number;
  checkpointEvery: number;
  /** Per space: its blocks [b0, b1) and wide events [w0, w1). */
  spaces: { id: number; b0: number; b1: number; w0: number; w1: number }[];
  /** Per device (by index): its batch entries [e0, e1). */
  devices: { e0: number; e1: number }[];
  blocks: number;
  resEntries: number;
  otherEntries: number;
  wideEntries: number;
  checkpoints: number;
  batchEntries: number;
}

/** The index in memory: index.bin's columns. */
export interface ViewIndex {
  header: ViewIndexHeader;
  /** Block number (vpn >> BLOCK_SHIFT) of each block, ascending within a space. */
  blockNo: Float64Array;
  /** Residency events of block k: resIdx[resOff[k] .. resOff[k + 1]) (event numbers, ascending). */
  resOff: Uint32Array;
  resIdx: Uint32Array;
  /** Other narrow events of block k: othIdx[othOff[k] .. othOff[k + 1]). */
  othOff: Uint32Array;
  othIdx: Uint32Array;
  /** Snapshots of block k: ckOff[k] .. ckOff[k + 1); snapshot j (512 bytes in ckData) is after its first (j + 1) * CHECKPOINT_EVERY residency events. */
  ckOff: Uint32Array;
  ckData: Uint8Array;
  wideIdx: Uint32Array;
  /** Batch entries sorted by (device, batch, event): the batch number and the event. */
  batchNo: Int32Array;
  batchIdx: Uint32Array;
  /** Space id → its position in header.spaces. */
  spaceAt: Map<number, number>;
}

/** Key of a (space, block) pair; spaces are small process ids and blocks below 2^27. */
const blockKey = (space: number, block: number) => space * 2 ** 28 + block;

/** Builds the index of `log` (one pass to count, one to fill, one per block for snapshots). */
export function buildViewIndex(log: ViewLog): ViewIndex {
  const n = log.n;
  // Pass 1: which blocks exist and how many entries each gets.
  const resCount = new Map<number, number>();
  const othCount = new Map<number, number>();
  const wideCount = new Map<number, number>();
  const blocksOf = (i: number): [number, number] => {
    const s = log.vpn[i], e = s + log.count[i];
    // A zero-count event still belongs to the block of its vpn (a query's overlap test can match it).
    return [Math.floor(s / BLOCK_PAGES), Math.floor(Math.max(s, e - 1) / BLOCK_PAGES)];
  };
  const isWide = (i: number) => log.kind[i] !== EV.RESIDE && log.count[i] > WIDE_PAGES;
  for (let i = 0; i < n; i++) {
    const sp = log.space[i];
    if (isWide(i)) {
      wideCount.set(sp, (wideCount.get(sp) ?? 0) + 1);
      continue;
    }
    const [b0, b1] = blocksOf(i);
    const counts = log.kind[i] === EV.RESIDE ? resCount : othCount;
    for (let b = b0; b <= b1; b++) {
      const k = blockKey(sp, b);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      if (!resCount.has(k)) resCount.set(k, 0);
      if (!othCount.has(k)) othCount.set(k, 0);
    }
  }
  const keys = [...resCount.keys()].sort((x, y) => x - y);
  const nb = keys.length;
  const slot = new Map<number, number>();
  const blockNo = new Float64Array(nb);
  const resOff = new Uint32Array(nb + 1), othOff = new Uint32Array(nb + 1), ckOff = new Uint32Array(nb + 1);
  for (let k = 0; k < nb; k++) {
    const key = keys[k], sp = Math.floor(key / 2 ** 28);
    slot.set(key, k);
    blockNo[k] = key - sp * 2 ** 28;
    const rc = resCount.get(key) ?? 0;
    resOff[k + 1] = resOff[k] + rc;
    othOff[k + 1] = othOff[k] + (othCount.get(key) ?? 0);
    ckOff[k + 1] = ckOff[k] + Math.floor(rc / CHECKPOINT_EVERY);
  }
  // Spaces with blocks or wide events (keys sort by space, then block).
  const ids = [...new Set([...keys.map((k) => Math.floor(k / 2 ** 28)), ...wideCount.keys()])].sort((x, y) => x - y);
  const wideIdx = new Uint32Array([...wideCount.values()].reduce((a, b) => a + b, 0));
  const wideAt = new Map<number, number>();
  const spaces: ViewIndexHeader['spaces'] = [];
  let w = 0;
  for (const id of ids) {
    const b0 = lowerBound(0, nb, blockKey(id, 0), (p) => keys[p]);
    const s = { id, b0, b1: lowerBound(b0, nb, blockKey(id + 1, 0), (p) => keys[p]), w0: w, w1: w + (wideCount.get(id) ?? 0) };
    spaces.push(s);
    wideAt.set(id, w);
    w = s.w1;
  }
  // Pass 2: fill, in event order (so every list is ascending).
  const resIdx = new Uint32Array(resOff[nb]), othIdx = new Uint32Array(othOff[nb]);
  const resFill = resOff.slice(0, nb), othFill = othOff.slice(0, nb);
  for (let i = 0; i < n; i++) {
    const sp = log.space[i];
    if (isWide(i)) {
      const at = wideAt.get(sp)!;
      wideIdx[at] = i;
      wideAt.set(sp, at + 1);
      continue;
    }
    const [b0, b1] = blocksOf(i);
    const res = log.kind[i] === EV.RESIDE;
    for (let b = b0; b <= b1; b++) {
      const k = slot.get(blockKey(sp, b))!;
      if (res) resIdx[resFill[k]++] = i;
      else othIdx[othFill[k]++] = i;
    }
  }
  // Snapshots: replay each block's residency events.
  const ckData = new Uint8Array(ckOff[nb] * BLOCK_PAGES);
  const state = new Uint8Array(BLOCK_PAGES);
  for (let k = 0; k < nb; k++) {
    if (ckOff[k + 1] === ckOff[k]) continue;
    state.fill(0);
    const base = blockNo[k] * BLOCK_PAGES;
    let ck = ckOff[k];
    for (let p = resOff[k]; p < resOff[k + 1]; p++) {
      applyReside(log, resIdx[p], base, state);
      if ((p - resOff[k] + 1) % CHECKPOINT_EVERY === 0) ckData.set(state, BLOCK_PAGES * ck++);
    }
  }
  // Batches: residency and batch-fault events with a device and a batch number, by (device, batch, event).
  const devs = log.meta.devices.length;
  const byDev: number[][] = Array.from({ length: devs }, () => []);
  for (let i = 0; i < n; i++) {
    const k = log.kind[i];
    if ((k === EV.RESIDE || k === EV.BATCH_FAULT) && log.dev[i] >= 0 && log.dev[i] < devs && log.b[i] >= 0) byDev[log.dev[i]].push(i);
  }
  const total = byDev.reduce((a, l) => a + l.length, 0);
  const batchNo = new Int32Array(total), batchIdx = new Uint32Array(total);
  const devices: ViewIndexHeader['devices'] = [];
  let e = 0;
  for (const l of byDev) {
    l.sort((x, y) => log.b[x] - log.b[y] || x - y);
    devices.push({ e0: e, e1: e + l.length });
    for (const i of l) {
      batchNo[e] = log.b[i];
      batchIdx[e++] = i;
    }
  }
  const header: ViewIndexHeader = {
    format: INDEX_FORMAT, events: n, blockPages: BLOCK_PAGES, checkpointEvery: CHECKPOINT_EVERY, spaces, devices,
    blocks: nb, resEntries: resIdx.length, otherEntries: othIdx.length, wideEntries: wideIdx.length, checkpoints: ckOff[nb], batchEntries: total,
  };
  return { header, blockNo, resOff, resIdx, othOff, othIdx, ckOff, ckData, wideIdx, batchNo, batchIdx, spaceAt: spaceMap(header) };
}

function spaceMap(h: ViewIndexHeader): Map<number, number> {
  return new Map(h.spaces.map((s, i) => [s.id, i]));
}

/** Applies residency event i to the block whose first page is `base`. */
function applyReside(log: ViewLog, i: number, base: number, state: Uint8Array): void {
  const lo = Math.max(log.vpn[i], base), hi = Math.min(log.vpn[i] + log.count[i], base + BLOCK_PAGES);
  for (let v = lo; v < hi; v++) state[v - base] = log.a[i];
}

/** index.bin's columns in order (each starts 8-byte aligned). */
function columns(ix: Omit<ViewIndex, 'header' | 'spaceAt'>): ArrayBufferView[] {
  return [ix.blockNo, ix.resOff, ix.resIdx, ix.othOff, ix.othIdx, ix.ckOff, ix.wideIdx, ix.batchNo, ix.batchIdx, ix.ckData];
}

/** view/index.json and view/index.bin of an index. */
export function encodeViewIndex(ix: ViewIndex): { header: string; bytes: Uint8Array } {
  const cols = columns(ix);
  const size = cols.reduce((a, c) => a + Math.ceil(c.byteLength / 8) * 8, 0);
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of cols) {
    out.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), off);
    off += Math.ceil(c.byteLength / 8) * 8;
  }
  return { header: JSON.stringify(ix.header) + '\n', bytes: out };
}

/**
 * The index from index.json's header and index.bin (`bytes` starting 8-byte aligned), checked
 * against the log's event count. Throws an Error saying what does not fit.
 */
export function decodeViewIndex(header: ViewIndexHeader, bytes: ArrayBuffer, events: number): ViewIndex {
  const h = header;
  if (h.format !== INDEX_FORMAT || h.blockPages !== BLOCK_PAGES || h.checkpointEvery !== CHECKPOINT_EVERY) {
    throw new Error(`expected index format ${INDEX_FORMAT} with ${BLOCK_PAGES}-page blocks`);
  }
  if (h.events !== events) throw new Error(`indexes ${h.events} events, the log has ${events}`);
  let off = 0;
  const take = <T>(make: (b: ArrayBuffer, o: number, k: number) => T, k: number, size: number): T => {
    const need = off + k * size;
    if (need > bytes.byteLength) throw new Error(`expected at least ${need} bytes, got ${bytes.byteLength}`);
    const c = make(bytes, off, k);
    off += Math.ceil((k * size) / 8) * 8;
    return c;
  };
  const nb = h.blocks;
  const blockNo = take((b, o, k) => new Float64Array(b, o, k), nb, 8);
  const resOff = take((b, o, k) => new Uint32Array(b, o, k), nb + 1, 4);
  const resIdx = take((b, o, k) => new Uint32Array(b, o, k), h.resEntries, 4);
  const othOff = take((b, o, k) => new Uint32Array(b, o, k), nb + 1, 4);
  const othIdx = take((b, o, k) => new Uint32Array(b, o, k), h.otherEntries, 4);
  const ckOff = take((b, o, k) => new Uint32Array(b, o, k), nb + 1, 4);
  const wideIdx = take((b, o, k) => new Uint32Array(b, o, k), h.wideEntries, 4);
  const batchNo = take((b, o, k) => new Int32Array(b, o, k), h.batchEntries, 4);
  const batchIdx = take((b, o, k) => new Uint32Array(b, o, k), h.batchEntries, 4);
  const ckData = take((b, o, k) => new Uint8Array(b, o, k), h.checkpoints * BLOCK_PAGES, 1);
  if (resOff[nb] !== h.resEntries || othOff[nb] !== h.otherEntries || ckOff[nb] !== h.checkpoints) throw new Error('block offsets do not match the header');
  return { header: h, blockNo, resOff, resIdx, othOff, othIdx, ckOff, ckData, wideIdx, batchNo, batchIdx, spaceAt: spaceMap(h) };
}

// ---- choosing the events a query reads ----

/** First position p in [lo, hi) with key(p) >= x (keys ascending), or hi. */
function lowerBound(lo: number, hi: number, x: number, key: (p: number) => number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(mid) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The blocks [k0, k1) of `space` whose numbers are in [first, last]. */
function blockSpan(ix: ViewIndex, space: number, first: number, last: number): [number, number] {
  const at = ix.spaceAt.get(space);
  if (at === undefined) return [0, 0];
  const s = ix.header.spaces[at];
  const k0 = lowerBound(s.b0, s.b1, first, (p) => ix.blockNo[p]);
  return [k0, lowerBound(k0, s.b1, last + 1, (p) => ix.blockNo[p])];
}

/** Event numbers from several ascending lists, merged ascending without repeats. */
function merged(parts: Uint32Array[]): Uint32Array {
  if (parts.length === 1) return parts[0];
  const all = new Uint32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  all.sort();
  let w = 0;
  for (let r = 0; r < all.length; r++) if (r === 0 || all[r] !== all[r - 1]) all[w++] = all[r];
  return all.subarray(0, w);
}

/**
 * residencyGrid's plan: for pages [v0, v1) of `space`, fills `page` with their locations before
 * `t0` (each block's last snapshot before t0 plus its residency events since) and returns the
 * residency events of those blocks in [t0, tEnd).
 */
export function gridPlan(log: ViewLog, ix: ViewIndex, space: number) {
  return (v0: number, v1: number, t0: number, tEnd: number, page: Uint8Array): Uint32Array => {
    const [k0, k1] = blockSpan(ix, space, Math.floor(v0 / BLOCK_PAGES), Math.floor((v1 - 1) / BLOCK_PAGES));
    const parts: Uint32Array[] = [];
    const state = new Uint8Array(BLOCK_PAGES);
    const tAt = (p: number) => log.t[ix.resIdx[p]];
    for (let k = k0; k < k1; k++) {
      const off = ix.resOff[k], end = ix.resOff[k + 1];
      const p = lowerBound(off, end, t0, tAt);
      const q = lowerBound(p, end, tEnd, tAt);
      const base = ix.blockNo[k] * BLOCK_PAGES;
      const snaps = Math.floor((p - off) / CHECKPOINT_EVERY);
      if (snaps > 0) {
        const at = (ix.ckOff[k] + snaps - 1) * BLOCK_PAGES;
        state.set(ix.ckData.subarray(at, at + BLOCK_PAGES));
      } else state.fill(0);
      for (let r = off + snaps * CHECKPOINT_EVERY; r < p; r++) applyReside(log, ix.resIdx[r], base, state);
      for (let v = Math.max(v0, base); v < Math.min(v1, base + BLOCK_PAGES); v++) page[v - v0] = state[v - base];
      if (q > p) parts.push(ix.resIdx.subarray(p, q));
    }
    return merged(parts.length === 0 ? [new Uint32Array(0)] : parts);
  };
}

/** pageHistory's events: everything indexed in the blocks of pages [v0, v1) of `space`, and the space's wide events. */
export function pageEvents(ix: ViewIndex, space: number, v0: number, v1: number): Uint32Array {
  // Every event that overlaps [v0, v1) holds a page in [floor(min), ceil(max)] (also for the
  // degenerate ranges pageHistory accepts), so those blocks hold it or it is wide.
  const first = Math.floor(Math.min(v0, v1)), last = Math.ceil(Math.max(v0, v1));
  const [k0, k1] = blockSpan(ix, space, Math.floor(first / BLOCK_PAGES), Math.floor(last / BLOCK_PAGES));
  const parts: Uint32Array[] = [];
  for (let k = k0; k < k1; k++) {
    parts.push(ix.resIdx.subarray(ix.resOff[k], ix.resOff[k + 1]), ix.othIdx.subarray(ix.othOff[k], ix.othOff[k + 1]));
  }
  const at = ix.spaceAt.get(space);
  if (at !== undefined) parts.push(ix.wideIdx.subarray(ix.header.spaces[at].w0, ix.header.spaces[at].w1));
  return merged(parts.length === 0 ? [new Uint32Array(0)] : parts);
}

/** batchDetail's plan: the batch's events from the batch index, and the residency events of the blocks of its pages. */
export function batchPlan(ix: ViewIndex) {
  return {
    batch: (d: number, no: number): Uint32Array => {
      const r = ix.header.devices[d];
      if (!r) return new Uint32Array(0);
      const a = lowerBound(r.e0, r.e1, no, (p) => ix.batchNo[p]);
      return ix.batchIdx.subarray(a, lowerBound(a, r.e1, no + 1, (p) => ix.batchNo[p]));
    },
    resides: (pages: Map<number, number>): Uint32Array => {
      const blocks = new Set<number>();
      for (const key of pages.keys()) {
        const space = Math.floor(key / 68719476736);
        blocks.add(blockKey(space, Math.floor((key - space * 68719476736) / BLOCK_PAGES)));
      }
      const parts: Uint32Array[] = [];
      for (const b of blocks) {
        const space = Math.floor(b / 2 ** 28);
        const no = b - space * 2 ** 28;
        const [k0, k1] = blockSpan(ix, space, no, no);
        for (let k = k0; k < k1; k++) parts.push(ix.resIdx.subarray(ix.resOff[k], ix.resOff[k + 1]));
      }
      return merged(parts.length === 0 ? [new Uint32Array(0)] : parts);
    },
  };
}
