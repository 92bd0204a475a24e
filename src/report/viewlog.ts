// The viewer's event log of a run (`hetmem view`): where every page lives over time, every
// device and CPU fault, every batch's faults and every MMU notifier invalidation, recorded while
// the run goes and written beside results.json as view/meta.json + view/events.bin, with a
// pre-aggregated residency overview (view/overview.json) so a large run opens without a scan,
// and an index (view/index.*, view-index.ts) so a zoomed query reads only the events it needs.
//
// Residency is observed the way a kernel tracer would: an MMU interval notifier over each
// address space marks the invalidated range dirty, and before the next engine event the dirty
// pages are read back from the page tables (the change happens whole inside one event). Pages
// populated without an invalidation (a CPU first touch, hmm_range_fault populating for a
// device) are marked dirty by the CPU-fault and batch notifications of SimContext.observer.
// Not seen: pages the pinning driver's pin_user_pages populates up front (no fault, no
// invalidation) until something invalidates them.
import type { SimMachine } from '../sim/machine.ts';
import type { RunObserver } from '../sim/context.ts';
import type { FaultEntry } from '../devices/fault-buffer.ts';
import type { Mm } from '../mm/mm.ts';
import { PteType, ptePfn, pteType } from '../mm/pte.ts';
import { EV, encodeLog, residencyGrid, VIEW_FORMAT, type ResidencyGrid, type ViewLog, type ViewMeta, type ViewSpace } from './view-format.ts';
import { buildViewIndex, encodeViewIndex } from './view-index.ts';
import { grown } from '../units/typed-array.ts';

export { EV };

/** Events kept by default; later ones are counted in ViewMeta.dropped, and the log says where it stops. */
export const DEFAULT_MAX_EVENTS = 8_000_000;
/** Overview grid: at most this many address rows and exactly this many time columns. */
export const OVERVIEW_ROWS = 256;
export const OVERVIEW_COLS = 256;

/** Growable event columns (struct of arrays). */
class Columns {
  n = 0;
  t = new Float64Array(1024);
  vpn = new Float64Array(1024);
  space = new Uint32Array(1024);
  count = new Uint32Array(1024);
  a = new Int32Array(1024);
  b = new Int32Array(1024);
  dev = new Int32Array(1024);
  label = new Int32Array(1024);
  kind = new Uint8Array(1024);

  push(t: number, kind: number, space: number, vpn: number, count: number, a: number, b: number, dev: number, label: number): void {
    if (this.n === this.t.length) this.grow();
    const i = this.n++;
    this.t[i] = t; this.kind[i] = kind; this.space[i] = space; this.vpn[i] = vpn; this.count[i] = count;
    this.a[i] = a; this.b[i] = b; this.dev[i] = dev; this.label[i] = label;
  }

  private grow(): void {
    const cap = this.t.length * 2;
    this.t = grown(this.t, cap);
    this.vpn = grown(this.vpn, cap);
    this.space = grown(this.space, cap);
    this.count = grown(this.count, cap);
    this.a = grown(this.a, cap);
    this.b = grown(this.b, cap);
    this.dev = grown(this.dev, cap);
    this.label = grown(this.label, cap);
    this.kind = grown(this.kind, cap);
  }
}

interface Dirty {
  space: number;
  start: number;
  end: number;
}

/**
 * Records a run for the viewer. Attach it to a machine before any process is spawned
 * (`runScenario(s, { onMachine: (m) => rec = new ViewRecorder(m) })`), call `finish()` after
 * the run, then `log()`. Observing never changes the run: results are identical with or
 * without a recorder (test/report/viewlog.test.ts).
 */
export class ViewRecorder implements RunObserver {
  private readonly ev = new Columns();
  private readonly mms = new Map<number, Mm>();
  /** Per space, per 512-page block: location index of each page (0 = nowhere). */
  private readonly state = new Map<number, Map<number, Uint8Array>>();
  private readonly locations: string[] = ['none'];
  private readonly locIndex = new Map<string, number>([['none', 0]]);
  private readonly labels: string[] = [];
  private readonly labelIndex = new Map<string, number>();
  private dirty: Dirty[] = [];
  private dirtyT = 0;
  private curT = 0;
  private curLabel = -1;
  private curBatch = -1;
  private curDev = -1;
  private dropped = 0;
  private truncatedAtPs: number | null = null;
  private readonly extent = new Map<number, { lo: number; hi: number }>();

  /** @param maxEvents events kept (default DEFAULT_MAX_EVENTS); the log stops at the first one over */
  constructor(private readonly m: SimMachine, private readonly maxEvents = DEFAULT_MAX_EVENTS) {
    for (const d of m.devices) this.loc(d.name);
    m.observer = this;
    m.core.spawnHooks.push((p) => this.watch(p.mm));
    m.engine.onEvent((t, label) => {
      if (this.dirty.length > 0) this.flush();
      this.curT = t;
      this.curLabel = this.labelOf(label);
      this.curBatch = -1;
      this.curDev = -1;
    });
  }

  private loc(name: string): number {
    let i = this.locIndex.get(name);
    if (i === undefined) {
      i = this.locations.length;
      if (i > 255) throw new RangeError('viewer: more than 255 memory locations');
      this.locations.push(name);
      this.locIndex.set(name, i);
    }
    return i;
  }

  private labelOf(label: string): number {
    let i = this.labelIndex.get(label);
    if (i === undefined) {
      i = this.labels.length;
      this.labels.push(label);
      this.labelIndex.set(label, i);
    }
    return i;
  }

  /** An interval notifier over the whole address space: every invalidation marks its range dirty. */
  private watch(mm: Mm): void {
    this.mms.set(mm.id, mm);
    this.state.set(mm.id, new Map());
    mm.notifiers.insert(0, 2 ** 36, (_sub, range) => {
      this.push(EV.INVAL, mm.id, range.start, Math.min(range.end, 2 ** 36) - range.start, range.event, -1);
      this.markDirty(mm.id, range.start, range.end);
      return true;
    });
  }

  private markDirty(space: number, start: number, end: number): void {
    if (this.dirty.length === 0) this.dirtyT = this.m.engine.now;
    const last = this.dirty[this.dirty.length - 1];
    if (last && last.space === space && start <= last.end && end >= last.start) {
      last.start = Math.min(last.start, start);
      last.end = Math.max(last.end, end);
    } else this.dirty.push({ space, start, end });
  }

  private push(kind: number, space: number, vpn: number, count: number, a: number, b: number, t: number = this.m.engine.now): void {
    if (this.truncatedAtPs !== null) {
      this.dropped++;
      return;
    }
    if (this.ev.n >= this.maxEvents) {
      this.truncatedAtPs = this.m.engine.now;
      this.dropped++;
      return;
    }
    this.ev.push(t, kind, space, vpn, count, a, b, this.curDev, this.curLabel);
  }

  // ---- RunObserver ----

  deviceFault(device: number, e: FaultEntry): void {
    this.push(EV.DEVICE_FAULT, e.space, e.vpn, 1, device, e.write ? 1 : 0, e.time);
  }

  batch(device: number, no: number, t0: number, entries: readonly FaultEntry[]): void {
    this.curBatch = no;
    this.curDev = device;
    for (const e of entries) {
      this.push(EV.BATCH_FAULT, e.space, e.vpn, 1, e.write ? 1 : 0, no, t0);
      this.markDirty(e.space, e.vpn, e.vpn + 1);
    }
  }

  cpuFault(space: number, vpn: number, write: boolean, t: number): void {
    this.push(EV.CPU_FAULT, space, vpn, 1, -1, write ? 1 : 0, t);
    this.markDirty(space, vpn, vpn + 1);
  }

  // ---- residency ----

  /** Location index of `vpn` now, or -1 when it is in transit (a migration entry: unchanged). */
  private residency(mm: Mm, vpn: number): number {
    const sys = this.m.sys;
    const pmd = mm.pt.pmd(vpn);
    if (pmd && pmd.huge !== 0) {
      const pfn = ptePfn(pmd.huge);
      return sys.isHugeZero(pfn) ? 0 : this.loc(this.m.homeNodeOf(pfn));
    }
    const e = mm.pt.pte(vpn);
    if (e === 0) return 0;
    const type = pteType(e);
    if (type === PteType.PRESENT) return sys.isZeroPfn(ptePfn(e)) ? 0 : this.loc(this.m.homeNodeOf(ptePfn(e)));
    if (type === PteType.DEVICE_PRIVATE || type === PteType.DEVICE_EXCLUSIVE) return this.loc(this.m.homeNodeOf(ptePfn(e)));
    return -1;
  }

  /** Reads the dirty ranges back from the page tables and logs what moved, as runs. */
  private flush(): void {
    const dirty = this.dirty;
    this.dirty = [];
    const saveT = this.m.engine.now;
    for (const d of dirty) {
      const mm = this.mms.get(d.space);
      const blocks = this.state.get(d.space);
      if (!mm || !blocks) continue;
      const b0 = Math.floor(d.start / 512), b1 = Math.floor((d.end - 1) / 512);
      let candidates: number[];
      if (b1 - b0 <= 64) {
        candidates = [];
        for (let b = b0; b <= b1; b++) candidates.push(b);
      } else {
        const set = new Set<number>();
        for (const b of blocks.keys()) if (b >= b0 && b <= b1) set.add(b);
        for (const v of mm.vmasIn(d.start, d.end)) {
          for (let b = Math.floor(Math.max(v.start, d.start) / 512); b * 512 < Math.min(v.end, d.end); b++) set.add(b);
        }
        candidates = [...set].sort((x, y) => x - y);
      }
      let runStart = -1, runLen = 0, runLoc = -1;
      const close = () => {
        if (runLen > 0) this.logMove(d.space, runStart, runLen, runLoc, saveT);
        runLen = 0;
      };
      for (const b of candidates) {
        let block = blocks.get(b);
        const lo = Math.max(d.start, b * 512), hi = Math.min(d.end, b * 512 + 512);
        if (!block && mm.vmasIn(lo, hi).length === 0) continue;
        for (let v = lo; v < hi; v++) {
          const now = this.residency(mm, v);
          const was = block ? block[v - b * 512] : 0;
          if (now < 0 || now === was) {
            close();
            continue;
          }
          if (!block) blocks.set(b, (block = new Uint8Array(512)));
          block[v - b * 512] = now;
          if (runLen > 0 && runLoc === now && runStart + runLen === v) runLen++;
          else {
            close();
            runStart = v;
            runLen = 1;
            runLoc = now;
          }
        }
      }
      close();
    }
  }

  private logMove(space: number, vpn: number, count: number, loc: number, _now: number): void {
    const ext = this.extent.get(space);
    if (!ext) this.extent.set(space, { lo: vpn, hi: vpn + count });
    else {
      ext.lo = Math.min(ext.lo, vpn);
      ext.hi = Math.max(ext.hi, vpn + count);
    }
    this.push(EV.RESIDE, space, vpn, count, loc, this.curBatch, this.dirtyT);
  }

  /** Reads back what the last event changed. Call once the run is over. */
  finish(): void {
    if (this.dirty.length > 0) this.flush();
  }

  /** The log, sorted by time (events of one time keep the order they happened in). */
  log(endPs: number): ViewLog {
    const ev = this.ev, n = ev.n;
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => ev.t[x] - ev.t[y] || x - y);
    const take = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(src: T, make: (n: number) => T): T => {
      const out = make(n);
      for (let i = 0; i < n; i++) out[i] = src[order[i]];
      return out;
    };
    const spaces: ViewSpace[] = [...this.extent.entries()].sort((x, y) => x[0] - y[0]).map(([id, e]) => ({ id, lo: e.lo, hi: e.hi }));
    const meta: ViewMeta = {
      format: VIEW_FORMAT, endPs, events: n, dropped: this.dropped, truncatedAtPs: this.truncatedAtPs,
      locations: [...this.locations], labels: [...this.labels], devices: this.m.devices.map((d) => d.name), spaces,
    };
    return {
      meta,
      n,
      t: take(ev.t, (k) => new Float64Array(k)),
      vpn: take(ev.vpn, (k) => new Float64Array(k)),
      space: take(ev.space, (k) => new Uint32Array(k)),
      count: take(ev.count, (k) => new Uint32Array(k)),
      a: take(ev.a, (k) => new Int32Array(k)),
      b: take(ev.b, (k) => new Int32Array(k)),
      dev: take(ev.dev, (k) => new Int32Array(k)),
      label: take(ev.label, (k) => new Int32Array(k)),
      kind: take(ev.kind, (k) => new Uint8Array(k)),
    };
  }
}

/** view/overview.json: one pre-aggregated grid per space, cells base64-encoded. */
export interface ViewOverview {
  grids: (Omit<ResidencyGrid, 'cells'> & { cells: string })[];
}

/** The overview of every space of `log`: residencyGrid over the whole run at OVERVIEW_ROWS × OVERVIEW_COLS. */
export function viewOverview(log: ViewLog): ViewOverview {
  return {
    grids: log.meta.spaces.map((s) => {
      const g = residencyGrid(log, s.id, s.lo, s.hi, 0, Math.max(1, log.meta.endPs), OVERVIEW_ROWS, OVERVIEW_COLS);
      return { ...g, cells: Buffer.from(g.cells).toString('base64') };
    }),
  };
}

/**
 * The files of the viewer, relative to a run's output directory. index.json/index.bin
 * (view-index.ts) let the server answer zoomed queries without reading the whole log; a
 * directory without them (written before them) still opens: the loader builds the index.
 */
export const VIEW_FILES = ['view/meta.json', 'view/events.bin', 'view/overview.json', 'view/index.json', 'view/index.bin'] as const;

/** The view files' contents for `log`, by VIEW_FILES name. */
export function viewFiles(log: ViewLog): Record<(typeof VIEW_FILES)[number], string | Uint8Array> {
  const index = encodeViewIndex(buildViewIndex(log));
  return {
    'view/meta.json': JSON.stringify(log.meta) + '\n',
    'view/events.bin': encodeLog(log),
    'view/overview.json': JSON.stringify(viewOverview(log)) + '\n',
    'view/index.json': index.header,
    'view/index.bin': index.bytes,
  };
}
