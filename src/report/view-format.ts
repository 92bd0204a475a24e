// The viewer's event-log format (view/meta.json + view/events.bin) and the queries over it.
// The query and decode functions run in Node (the `hetmem view` server) and in the browser
// (a `--static` page inlines their source with Function.prototype.toString), so each is
// self-contained: no imports, no module constants, only its arguments and the functions
// listed in VIEW_FUNCTIONS.

/** Version of the view files; bump on any incompatible change. */
export const VIEW_FORMAT = 1;

/**
 * Event kinds (`ViewLog.kind`). Fields per kind (a, b, dev):
 * RESIDE: pages [vpn, vpn+count) now live at location `a` (0: nowhere); `b` the batch whose
 *   service moved them, or -1; `dev` that batch's device, or -1.
 * DEVICE_FAULT: device `a` faulted on `vpn` (`b` 1: a write), at the lane's time.
 * CPU_FAULT: a CPU thread faulted on `vpn` (`b` 1: a write).
 * BATCH_FAULT: batch `b` of device `dev` fetched a fault on `vpn` (`a` 1: a write), at the batch start.
 * INVAL: an MMU notifier invalidation of [vpn, vpn+count), event `a` (MMU_NOTIFY_*).
 */
export const EV = { RESIDE: 0, DEVICE_FAULT: 1, CPU_FAULT: 2, BATCH_FAULT: 3, INVAL: 4 } as const;

/** Names of MMU_NOTIFY_* events by number (mm/constants.ts NotifyEvent). */
export const NOTIFY_NAMES = ['UNMAP', 'CLEAR', 'PROTECTION_VMA', 'PROTECTION_PAGE', 'SOFT_DIRTY', 'RELEASE', 'MIGRATE', 'EXCLUSIVE'];

/** An address space that had pages: [lo, hi) the page numbers any page of it ever lived at. */
export interface ViewSpace {
  id: number;
  lo: number;
  hi: number;
}

/** view/meta.json. Times are integer ps. */
export interface ViewMeta {
  format: number;
  endPs: number;
  /** Events in events.bin. */
  events: number;
  /** Events not kept because the log was full (DEFAULT_MAX_EVENTS); 0 normally. */
  dropped: number;
  /** When the log stopped (the first dropped event), or null: residency after it is not shown. */
  truncatedAtPs: number | null;
  /** Location names by index: 'none' (not populated), sockets ('cpu0'), devices. */
  locations: string[];
  /** Engine event labels by index (what ran when an event was logged). */
  labels: string[];
  devices: string[];
  spaces: ViewSpace[];
}

/** The event log: columns of `n` events in time order. */
export interface ViewLog {
  meta: ViewMeta;
  n: number;
  t: Float64Array;
  vpn: Float64Array;
  space: Uint32Array;
  count: Uint32Array;
  a: Int32Array;
  b: Int32Array;
  dev: Int32Array;
  label: Int32Array;
  kind: Uint8Array;
}

/** events.bin: the columns back to back (little-endian), each 8-byte aligned. */
export function encodeLog(log: ViewLog): Uint8Array {
  const n = log.n;
  const out = new Uint8Array(n * 41 + 64);
  let off = 0;
  for (const col of [log.t, log.vpn, log.space, log.count, log.a, log.b, log.dev, log.label, log.kind]) {
    out.set(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), off);
    off += Math.ceil(col.byteLength / 8) * 8;
  }
  return out.subarray(0, off);
}

/** The log from meta.json and events.bin (`bytes` must start 8-byte aligned: a fresh ArrayBuffer). */
export function decodeLog(meta: ViewMeta, bytes: ArrayBuffer): ViewLog {
  const n = meta.events;
  let off = 0;
  const col = function <T>(make: (buf: ArrayBuffer, off: number, n: number) => T, size: number): T {
    const c = make(bytes, off, n);
    off += Math.ceil((n * size) / 8) * 8;
    return c;
  };
  const need = n * 16 + Math.ceil((n * 4) / 8) * 8 * 6 + Math.ceil(n / 8) * 8;
  if (bytes.byteLength < need) throw new Error(`events.bin: expected ${need} bytes for ${n} events, got ${bytes.byteLength}`);
  return {
    meta,
    n,
    t: col((b, o, k) => new Float64Array(b, o, k), 8),
    vpn: col((b, o, k) => new Float64Array(b, o, k), 8),
    space: col((b, o, k) => new Uint32Array(b, o, k), 4),
    count: col((b, o, k) => new Uint32Array(b, o, k), 4),
    a: col((b, o, k) => new Int32Array(b, o, k), 4),
    b: col((b, o, k) => new Int32Array(b, o, k), 4),
    dev: col((b, o, k) => new Int32Array(b, o, k), 4),
    label: col((b, o, k) => new Int32Array(b, o, k), 4),
    kind: col((b, o, k) => new Uint8Array(b, o, k), 1),
  };
}

/** A residency heatmap: `rows` address cells × `cols` time bins, row-major location indices. */
export interface ResidencyGrid {
  space: number;
  v0: number;
  v1: number;
  t0: number;
  t1: number;
  rows: number;
  cols: number;
  /** Pages per row (the last row may hold fewer). */
  pagesPerRow: number;
  /** cells[r * cols + c]: the location holding most of row r's pages at the end of bin c (0: none of them populated). */
  cells: Uint8Array;
}

/**
 * Where the pages [v0, v1) of `space` live over [t0, t1): rows of `pagesPerRow` pages
 * (a power of two, so cells line up at every zoom; 1 = single pages), `cols` equal time bins,
 * each cell the location holding most of its row's pages at the end of its bin (ties: the
 * lower index). One pass over the log; or, with `plan` (the server's index, view-index.ts), over
 * the events it returns: it fills `page` with where pages [v0, v1) live before `t0` (v0, v1
 * normalised as here) and returns, in log order, at least every residency event of those pages
 * at or after `t0` and before `tEnd` (the last bin's end), so the answer is the same.
 */
export function residencyGrid(
  log: ViewLog, space: number, v0: number, v1: number, t0: number, t1: number, rows: number, cols: number,
  plan?: (v0: number, v1: number, t0: number, tEnd: number, page: Uint8Array) => ArrayLike<number>,
): ResidencyGrid {
  v0 = Math.floor(v0);
  v1 = Math.max(v0 + 1, Math.ceil(v1));
  t1 = Math.max(t0 + 1, t1);
  cols = Math.max(1, Math.floor(cols));
  let per = 1;
  while (Math.ceil((v1 - v0) / per) > Math.max(1, rows)) per *= 2;
  rows = Math.ceil((v1 - v0) / per);
  const L = log.meta.locations.length;
  const page = new Uint8Array(v1 - v0);
  const only = plan ? plan(v0, v1, t0, t0 + ((t1 - t0) * cols) / cols, page) : null;
  const counts = new Uint32Array(rows * L);
  for (let v = 0; v < v1 - v0; v++) counts[Math.floor(v / per) * L + page[v]]++;
  const cells = new Uint8Array(rows * cols);
  let c = 0;
  const emit = function () {
    for (let r = 0; r < rows; r++) {
      let best = 0, bestN = 0;
      for (let l = 1; l < L; l++) {
        const k = counts[r * L + l];
        if (k > bestN) {
          best = l;
          bestN = k;
        }
      }
      cells[r * cols + c] = best;
    }
    c++;
  };
  const binEnd = function (i: number) {
    return t0 + ((t1 - t0) * (i + 1)) / cols;
  };
  const m = only ? only.length : log.n;
  for (let j = 0; j < m && c < cols; j++) {
    const i = only ? only[j] : j;
    if (log.kind[i] !== 0 || log.space[i] !== space) continue;
    const s = log.vpn[i], e = s + log.count[i];
    if (e <= v0 || s >= v1) continue;
    while (c < cols && log.t[i] >= binEnd(c)) emit();
    if (c >= cols) break;
    const to = log.a[i];
    for (let v = Math.max(s, v0); v < Math.min(e, v1); v++) {
      const r = Math.floor((v - v0) / per);
      const from = page[v - v0];
      counts[r * L + from]--;
      counts[r * L + to]++;
      page[v - v0] = to;
    }
  }
  while (c < cols) emit();
  return { space, v0, v1, t0, t1, rows, cols, pagesPerRow: per, cells };
}

/** One event of a page history or batch, with names resolved. */
export interface HistoryEvent {
  t: number;
  kind: 'reside' | 'device fault' | 'cpu fault' | 'batch fault' | 'invalidate';
  vpn: number;
  count: number;
  /** reside: where the pages went; faults: the device ('cpu' for CPU faults); invalidate: MMU_NOTIFY_ event. */
  what: string;
  /** reside: where the first page was before (single-page and batch queries), else ''. */
  from: string;
  /** reside: `device#batch` that moved them; faults: 'write' or 'read'; batch fault: 'device#batch'. */
  detail: string;
  /** What the engine was running (its event label). */
  during: string;
}

/** Formats event `i` of `log` (`from`: the previous location name, if known). */
export function historyEvent(log: ViewLog, i: number, from: string): HistoryEvent {
  const m = log.meta, k = log.kind[i];
  const notify = ['UNMAP', 'CLEAR', 'PROTECTION_VMA', 'PROTECTION_PAGE', 'SOFT_DIRTY', 'RELEASE', 'MIGRATE', 'EXCLUSIVE'];
  const batchOf = log.dev[i] >= 0 && log.b[i] >= 0 ? m.devices[log.dev[i]] + '#' + log.b[i] : '';
  const base = { t: log.t[i], vpn: log.vpn[i], count: log.count[i], during: log.label[i] >= 0 ? m.labels[log.label[i]] : '', from: '' };
  if (k === 0) return { ...base, kind: 'reside', what: m.locations[log.a[i]], from, detail: batchOf };
  if (k === 1) return { ...base, kind: 'device fault', what: m.devices[log.a[i]], detail: log.b[i] === 1 ? 'write' : 'read' };
  if (k === 2) return { ...base, kind: 'cpu fault', what: 'cpu', detail: log.b[i] === 1 ? 'write' : 'read' };
  if (k === 3) return { ...base, kind: 'batch fault', what: m.devices[log.dev[i]], detail: batchOf + (log.a[i] === 1 ? ' write' : ' read') };
  return { ...base, kind: 'invalidate', what: notify[log.a[i]] ?? String(log.a[i]), detail: '' };
}

/** Everything that happened to pages [v0, v1) of `space`. */
export interface PageHistory {
  space: number;
  v0: number;
  v1: number;
  /** Events in time order, at most `limit`. */
  events: HistoryEvent[];
  /** Events that matched beyond `limit`. */
  more: number;
  /** Devices that faulted on these pages or held them, in device order. */
  devices: string[];
  /** Where each location held the pages at the end, by name (pages). */
  final: Record<string, number>;
}

/**
 * Every fault, residency change and invalidation of pages [v0, v1) of `space`, and which devices
 * touched them. `only` (the server's index): the events to look at, in log order, at least every
 * one of `space` that overlaps [v0, v1); without it, the whole log.
 */
export function pageHistory(log: ViewLog, space: number, v0: number, v1: number, limit: number, only?: ArrayLike<number>): PageHistory {
  const m = log.meta;
  const page = new Uint8Array(Math.max(1, v1 - v0));
  const touched = new Uint8Array(m.devices.length);
  const events: HistoryEvent[] = [];
  let more = 0;
  const n = only ? only.length : log.n;
  for (let j = 0; j < n; j++) {
    const i = only ? only[j] : j;
    if (log.space[i] !== space) continue;
    const s = log.vpn[i], e = s + log.count[i];
    if (e <= v0 || s >= v1) continue;
    const k = log.kind[i];
    let from = '';
    if (k === 0) {
      const lo = Math.max(s, v0);
      from = m.locations[page[lo - v0]];
      for (let v = lo; v < Math.min(e, v1); v++) page[v - v0] = log.a[i];
      const d = m.devices.indexOf(m.locations[log.a[i]]);
      if (d >= 0) touched[d] = 1;
    } else if (k === 1) touched[log.a[i]] = 1;
    else if (k === 3 && log.dev[i] >= 0) touched[log.dev[i]] = 1;
    if (events.length < limit) events.push(historyEvent(log, i, from));
    else more++;
  }
  const final: Record<string, number> = {};
  for (let v = 0; v < v1 - v0; v++) {
    const name = m.locations[page[v]];
    final[name] = (final[name] ?? 0) + 1;
  }
  return { space, v0, v1, events, more, devices: m.devices.filter((_, d) => touched[d] === 1), final };
}

/** What one fault batch did: its faults, and the pages it moved (in, out to make room). */
export interface BatchDetail {
  device: string;
  batch: number;
  faults: HistoryEvent[];
  /** Residency changes the batch's service made: migrations to the device, evictions, bounces. */
  moves: HistoryEvent[];
  /** Pages that came to the device / left it (evictions, migrations to a peer). */
  pagesIn: number;
  pagesOut: number;
}

/**
 * The faults and residency changes of batch `no` of device `device` (its name). `plan` (the
 * server's index): `batch` gives, in log order, at least the events of that batch; `resides`,
 * given the batch's pages (keys space * 2^36 + vpn), at least every residency event that
 * touches one of them, in log order. Without it, the whole log, twice.
 */
export function batchDetail(
  log: ViewLog, device: string, no: number,
  plan?: { batch: (d: number, no: number) => ArrayLike<number>; resides: (pages: Map<number, number>) => ArrayLike<number> },
): BatchDetail {
  const m = log.meta;
  const d = m.devices.indexOf(device);
  const here = m.locations.indexOf(device);
  const faults: HistoryEvent[] = [];
  const moveIdx: number[] = [];
  const pages = new Map<number, number>();
  const mine = plan ? plan.batch(d, no) : null;
  const nb = mine ? mine.length : log.n;
  for (let j = 0; j < nb; j++) {
    const i = mine ? mine[j] : j;
    if (log.dev[i] !== d || log.b[i] !== no) continue;
    if (log.kind[i] === 3) faults.push(historyEvent(log, i, ''));
    else if (log.kind[i] === 0) {
      moveIdx.push(i);
      for (let v = log.vpn[i]; v < log.vpn[i] + log.count[i]; v++) pages.set(log.space[i] * 68719476736 + v, 0);
    }
  }
  // The location before each move: replay residency of just those pages up to the move.
  const moves: HistoryEvent[] = [];
  let pagesIn = 0, pagesOut = 0, next = 0;
  const touching = plan && moveIdx.length > 0 ? plan.resides(pages) : null;
  const nr = touching ? touching.length : log.n;
  for (let j = 0; j < nr && next < moveIdx.length; j++) {
    const i = touching ? touching[j] : j;
    if (log.kind[i] !== 0) continue;
    const base = log.space[i] * 68719476736;
    if (i === moveIdx[next]) {
      const before = pages.get(base + log.vpn[i]) ?? 0;
      moves.push(historyEvent(log, i, m.locations[before]));
      for (let v = log.vpn[i]; v < log.vpn[i] + log.count[i]; v++) {
        const was = pages.get(base + v) ?? 0;
        if (log.a[i] === here && was !== here) pagesIn++;
        if (was === here && log.a[i] !== here) pagesOut++;
      }
      next++;
    }
    for (let v = log.vpn[i]; v < log.vpn[i] + log.count[i]; v++) if (pages.has(base + v)) pages.set(base + v, log.a[i]);
  }
  return { device, batch: no, faults, moves, pagesIn, pagesOut };
}

/** The functions a static page inlines (their source), in dependency order. */
export const VIEW_FUNCTIONS: readonly ((...args: never[]) => unknown)[] = [decodeLog, residencyGrid, historyEvent, pageHistory, batchDetail];
