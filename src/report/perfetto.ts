// The Perfetto / chrome://tracing view of a run, in the Chrome Trace Event Format (JSON object
// form). Layout: one process per group of tracks — "devices", "links", "cpu" (and "other" for
// tracks that belong to none) — and one thread per Span.track. Spans become complete ("X")
// events; timeline series become counter ("C") events of their group, one counter per series,
// written only when its value changes; a fault batch's slices are joined by flow arrows (fault →
// batch → copies → map → replay). Times are µs (ps / 1e6).
//
// Trace viewers draw the slices of one thread as a stack, so slices on a thread must nest: a
// span that starts inside another and ends after it would be drawn wrong or dropped. Such spans
// are moved to overflow threads named "TRACK #2", "TRACK #3", ... (see laneSpans).
import type { RunResults, Span } from '../sim/results.ts';
import { formatTime } from '../units/time.ts';

/** One event of the Chrome Trace Event Format (only the fields this module writes). */
export interface TraceEvent {
  ph: 'X' | 'C' | 'M' | 's' | 'f';
  name: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  /** Flow events: the arrow's id, shared by its start ("s") and end ("f"). */
  id?: number;
  /** Flow end: "e" binds it to the slice enclosing its ts (not the next slice to start). */
  bp?: 'e';
  args?: Record<string, number | string>;
}

/** The JSON object form of a trace. */
export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns';
  otherData: { name: string; seed: number; schema: number };
}

/** Process groups, in display order; the pid of a group is its index + 1. */
export const TRACK_GROUPS = ['devices', 'links', 'cpu', 'other'] as const;
export type TrackGroup = (typeof TRACK_GROUPS)[number];

/** ps → trace µs. */
function us(psValue: number): number {
  return psValue / 1e6;
}

/** Average rate of `bytes` over `ps` picoseconds, GB/s (10^9 B/s), to 6 significant digits. */
function gbPerS(bytes: number, ps: number): number {
  return Number(((bytes / ps) * 1e3).toPrecision(6));
}

/**
 * The group a track belongs to: a device id or "DEVICE/…" → devices; "cpu" or "cpu/…" → cpu;
 * a link segment id or link name, or anything else with "->" → links; else other. Devices come
 * first: a device's PCIe link is often named like the device, and its kernels belong to it.
 */
export function trackGroup(track: string, results: Pick<RunResults, 'devices' | 'links'>): TrackGroup {
  const head = track.split('/')[0];
  if (results.devices.some((d) => d.id === head)) return 'devices';
  if (track === 'cpu' || track.startsWith('cpu/')) return 'cpu';
  if (results.links.some((l) => l.id === track || l.link === track)) return 'links';
  if (track.includes('->')) return 'links';
  return 'other';
}

/** A span placed on a lane of its track. */
export interface LanedSpan {
  span: Span;
  /** 0 for the track itself, k for the overflow track "TRACK #(k+1)". */
  lane: number;
  /** The thread name the span is drawn on: the track, or "TRACK #(lane+1)". */
  thread: string;
}

/** Name of lane `lane` of `track`. */
export function laneName(track: string, lane: number): string {
  return lane === 0 ? track : `${track} #${lane + 1}`;
}

/** Spans ordered for stacking: by start, longer first (a parent before its children), then input order. */
function stackOrder(spans: readonly Span[]): Span[] {
  return spans
    .map((s, i) => ({ s, i }))
    .sort((x, y) => x.s.startPs - y.s.startPs || y.s.durPs - x.s.durPs || x.i - y.i)
    .map((e) => e.s);
}

/**
 * Places every span on a lane of its own track so that the spans of each lane nest properly
 * (each pair is either disjoint — touching ends count as disjoint — or one contains the other).
 * Greedy first fit in (start, longest first) order: a span goes to the lowest lane whose
 * innermost open span contains it or where nothing is open. Deterministic; the result is in
 * (track first seen, start, longest first, input order) order.
 * @throws RangeError on a span with a negative or non-finite start or duration.
 */
export function laneSpans(spans: readonly Span[]): LanedSpan[] {
  const byTrack = new Map<string, Span[]>();
  for (const s of spans) {
    if (!Number.isFinite(s.startPs) || !Number.isFinite(s.durPs) || s.durPs < 0 || s.startPs < 0) {
      throw new RangeError(`span '${s.name}' on track '${s.track}': start ${s.startPs} ps, duration ${s.durPs} ps; expected finite, non-negative values`);
    }
    let list = byTrack.get(s.track);
    if (list === undefined) byTrack.set(s.track, (list = []));
    list.push(s);
  }
  const out: LanedSpan[] = [];
  for (const [track, list] of byTrack) {
    // Per lane: the end times of the open (enclosing) spans, innermost last.
    const lanes: number[][] = [];
    for (const span of stackOrder(list)) {
      const end = span.startPs + span.durPs;
      let lane = 0;
      for (; lane < lanes.length; lane++) {
        const open = lanes[lane];
        // Sorted by start, so spans that ended by now end before every later span too.
        while (open.length > 0 && open[open.length - 1] <= span.startPs) open.pop();
        if (open.length === 0 || end <= open[open.length - 1]) break;
      }
      if (lane === lanes.length) lanes.push([]);
      lanes[lane].push(end);
      out.push({ span, lane, thread: laneName(track, lane) });
    }
  }
  return out;
}

interface Thread {
  group: TrackGroup;
  track: string;
  lane: number;
  tid: number;
}

/** Sort key of a base track within its group: declared order of its device / link, then name. */
function trackRank(track: string, group: TrackGroup, results: RunResults): number {
  if (group === 'devices') {
    const i = results.devices.findIndex((d) => d.id === track.split('/')[0]);
    return i < 0 ? results.devices.length : i;
  }
  if (group === 'links') {
    const i = results.links.findIndex((l) => l.id === track || l.link === track);
    return i < 0 ? results.links.length : i;
  }
  return 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Events of one counter: `values[i]` at `tsOf(i)`, written only where the value changes (the
 * first always), plus a closing `closeWith` at `closeAt` when the last value differs from it.
 * A viewer holds a counter's value until its next sample, so nothing is lost; a 40-bucket-per-ms
 * run no longer writes one event per bucket per series.
 */
function counterEvents(
  name: string,
  arg: string,
  pid: number,
  values: readonly number[],
  tsOf: (i: number) => number,
  close: { at: number; value: number } | null,
): TraceEvent[] {
  const out: TraceEvent[] = [];
  let last: number | undefined;
  values.forEach((v, i) => {
    if (v === last) return;
    last = v;
    out.push({ ph: 'C', name, pid, tid: 0, ts: us(tsOf(i)), args: { [arg]: v } });
  });
  if (close !== null && last !== undefined && last !== close.value) out.push({ ph: 'C', name, pid, tid: 0, ts: us(close.at), args: { [arg]: close.value } });
  return out;
}

/** A fault batch's stages in the order its flow arrows follow; copies may be many. */
const FLOW_STAGES = ['faults', 'batch', 'copy', 'map', 'replay'] as const;

/**
 * Which stage of a fault batch of `device` a span is, or null: the wait in the fault buffer
 * (`DEVICE/faults`), the driver's "fault batch", a copy-engine chunk (`DEVICE/ceN`), the "map"
 * and the "replay"; only spans that carry a numeric `batch` arg.
 */
function flowStage(span: Span, device: string): (typeof FLOW_STAGES)[number] | null {
  if (typeof span.args?.batch !== 'number') return null;
  const sub = span.track.slice(device.length + 1);
  if (sub === 'faults') return 'faults';
  if (/^ce\d+$/.test(sub)) return 'copy';
  if (sub === 'driver' && span.name === 'fault batch') return 'batch';
  if (sub === 'driver' && span.name === 'map') return 'map';
  if (sub === 'driver' && span.name === 'replay') return 'replay';
  return null;
}

/**
 * Flow arrows of every fault batch: from its faults' wait to the batch, from the batch to its
 * first copy on each copy-engine thread (the others follow on the same thread: an arrow each
 * would double an eviction-heavy trace), from the copy that ends last to the map, from the map
 * to the replay. A stage a batch lacks, or whose slice has no length, is skipped. Each arrow is
 * an "s" event at the source slice's start and an "f" (bp "e") at the target slice's start, so
 * each binds to the slice enclosing it. Ids count from 1.
 */
function flowEvents(results: RunResults, placed: readonly { span: Span; pid: number; tid: number }[]): TraceEvent[] {
  const batches = new Map<string, Map<string, { span: Span; pid: number; tid: number }[]>>();
  const deviceOf = (track: string): string | undefined => {
    const head = track.split('/')[0];
    return results.devices.some((d) => d.id === head) && track !== head ? head : undefined;
  };
  for (const p of placed) {
    const device = deviceOf(p.span.track);
    if (device === undefined) continue;
    const stage = flowStage(p.span, device);
    // A zero-length slice is closed at the instant it opens: a viewer may find nothing to bind to.
    if (stage === null || p.span.durPs === 0) continue;
    const key = `${device}\u0000${p.span.args!.batch as number}`;
    let stages = batches.get(key);
    if (stages === undefined) batches.set(key, (stages = new Map()));
    let list = stages.get(stage);
    if (list === undefined) stages.set(stage, (list = []));
    list.push(p);
  }
  const out: TraceEvent[] = [];
  let id = 0;
  const arrow = (from: { span: Span; pid: number; tid: number }, to: { span: Span; pid: number; tid: number }): void => {
    id++;
    out.push({ ph: 's', name: 'fault batch', cat: 'flow', id, pid: from.pid, tid: from.tid, ts: us(from.span.startPs) });
    out.push({ ph: 'f', bp: 'e', name: 'fault batch', cat: 'flow', id, pid: to.pid, tid: to.tid, ts: us(to.span.startPs) });
  };
  for (const stages of batches.values()) {
    let prev: { span: Span; pid: number; tid: number } | undefined;
    for (const stage of FLOW_STAGES) {
      const list = stages.get(stage);
      if (list === undefined) continue;
      if (prev !== undefined) {
        const first = new Map<number, { span: Span; pid: number; tid: number }>();
        for (const p of list) if (!first.has(p.tid)) first.set(p.tid, p); // placed is in start order
        for (const p of first.values()) arrow(prev, p);
      }
      // The stage after the copies waits for all of them: its arrow comes from the last to end.
      prev = list.reduce((a, b) => (b.span.startPs + b.span.durPs > a.span.startPs + a.span.durPs ? b : a));
    }
  }
  return out;
}

/**
 * The run as a Chrome Trace Event Format object (load it in ui.perfetto.dev or chrome://tracing).
 *
 * - pid 1 "devices", 2 "links", 3 "cpu", 4 "other" (a process only appears if it has events);
 *   process_name / process_sort_index metadata for each.
 * - one tid per track (and per overflow lane "TRACK #k"), numbered from 1 across the trace in
 *   display order (group, declared device/link order, track name, lane); thread_name /
 *   thread_sort_index metadata for each.
 * - an "X" event per span (cat = group, ts/dur in µs, args = span args).
 * - "C" events: "resident pages" per memory node at the end of each bucket (the cpu node in
 *   the cpu process, the others in devices), "faults per bucket" per device and "bytes per
 *   bucket" per link segment at the start of each bucket, closed with zeroes at the end of the
 *   last bucket.
 *
 * Deterministic: identical results give an identical object.
 * @throws RangeError if a span has a negative or non-finite start or duration.
 */
export function chromeTrace(results: RunResults): ChromeTrace {
  const pidOf = (g: TrackGroup): number => TRACK_GROUPS.indexOf(g) + 1;
  const laned = laneSpans(results.spans);

  // Threads in display order.
  const lanesOf = new Map<string, number>();
  for (const l of laned) lanesOf.set(l.span.track, Math.max(lanesOf.get(l.span.track) ?? 0, l.lane + 1));
  const tracks = [...lanesOf.keys()].map((track) => {
    const group = trackGroup(track, results);
    return { track, group, rank: trackRank(track, group, results) };
  });
  tracks.sort((a, b) => TRACK_GROUPS.indexOf(a.group) - TRACK_GROUPS.indexOf(b.group) || a.rank - b.rank || compareStrings(a.track, b.track));
  const threads = new Map<string, Thread>();
  let nextTid = 1;
  for (const t of tracks) {
    for (let lane = 0; lane < lanesOf.get(t.track)!; lane++) {
      threads.set(laneName(t.track, lane), { group: t.group, track: t.track, lane, tid: nextTid++ });
    }
  }

  // Counters: one per series, named "SERIES WHAT" with the unit as its one arg, so Perfetto
  // shows "gpu0 resident pages" and chrome://tracing a counter per series (it zeroes series
  // missing from a sample of a multi-series counter, which change-only samples would be).
  const tl = results.timeline;
  const bucketCount = Math.max(0, ...[tl.residency, tl.faults, tl.linkBytes].flatMap((r) => Object.values(r).map((v) => v.length)));
  const end = bucketCount * tl.bucketPs;
  const isCpuNode = (node: string): boolean => node === 'cpu' || node.startsWith('cpu/') || node.startsWith('cpu:');
  const startOf = (i: number): number => i * tl.bucketPs;
  const perBucket = `per ${formatTime(tl.bucketPs)}`;
  const counters: TraceEvent[] = [
    ...Object.entries(tl.residency).flatMap(([node, v]) =>
      counterEvents(`${node} resident`, 'pages', pidOf(isCpuNode(node) ? 'cpu' : 'devices'), v, (i) => (i + 1) * tl.bucketPs, null)),
    ...Object.entries(tl.faults).flatMap(([dev, v]) => counterEvents(`${dev} faults`, perBucket, pidOf('devices'), v, startOf, { at: end, value: 0 })),
    ...Object.entries(tl.linkBytes).flatMap(([seg, v]) =>
      counterEvents(seg, 'GB/s', pidOf('links'), v.map((b) => gbPerS(b, tl.bucketPs)), startOf, { at: end, value: 0 })),
  ];

  // Metadata for every process and thread that has events.
  const usedPids = new Set<number>([...[...threads.values()].map((t) => pidOf(t.group)), ...counters.map((c) => c.pid)]);
  const meta: TraceEvent[] = [];
  for (const g of TRACK_GROUPS) {
    const pid = pidOf(g);
    if (!usedPids.has(pid)) continue;
    meta.push({ ph: 'M', name: 'process_name', pid, tid: 0, args: { name: g } });
    meta.push({ ph: 'M', name: 'process_sort_index', pid, tid: 0, args: { sort_index: pid } });
  }
  for (const [name, t] of threads) {
    const pid = pidOf(t.group);
    meta.push({ ph: 'M', name: 'thread_name', pid, tid: t.tid, args: { name } });
    meta.push({ ph: 'M', name: 'thread_sort_index', pid, tid: t.tid, args: { sort_index: t.tid } });
  }

  const ordered = laned
    .map((l) => ({ l, th: threads.get(l.thread)! }))
    .sort((x, y) => x.l.span.startPs - y.l.span.startPs || y.l.span.durPs - x.l.span.durPs || x.th.tid - y.th.tid);
  const slices = ordered.map(({ l, th }): TraceEvent => {
    const e: TraceEvent = { ph: 'X', name: l.span.name, cat: th.group, pid: pidOf(th.group), tid: th.tid, ts: us(l.span.startPs), dur: us(l.span.durPs) };
    if (l.span.args !== undefined) e.args = { ...l.span.args };
    return e;
  });
  const flows = flowEvents(results, ordered.map(({ l, th }) => ({ span: l.span, pid: pidOf(th.group), tid: th.tid })));

  return {
    traceEvents: [...meta, ...slices, ...flows, ...counters],
    displayTimeUnit: 'ns',
    otherData: { name: results.name, seed: results.seed, schema: results.schema },
  };
}

const KNOWN_PHASES = new Set(['B', 'E', 'X', 'I', 'i', 'C', 'b', 'n', 'e', 's', 't', 'f', 'P', 'N', 'O', 'D', 'M', 'V', 'v', 'R', 'c', '(', ')']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Problems that would make a trace load wrongly; [] if none. Accepts the object form
 * ({traceEvents: [...]}) or the bare array form. Checks:
 * - every event is an object with a known `ph`; "M" events have numeric pid and tid, a string
 *   name and an args object; every other event has numeric ts, pid and tid;
 * - "X" events have a string name and a finite dur ≥ 0; "C" events have an args object of
 *   finite numbers;
 * - "X" slices on each (pid, tid) nest: none starts inside another and ends after it
 *   (tolerance 1e-7 µs, well below the 1 ps = 1e-6 µs resolution of hetmem times);
 * - "B"/"E" pairs on each (pid, tid) balance;
 * - flow events ("s", "t", "f") have an id; each flow (cat, id) has one "s" and one "f"; each
 *   binds to an "X" slice of its (pid, tid) enclosing its ts (an arrow with nothing to bind to
 *   is not drawn).
 * Each problem is one line naming the event index (`traceEvents[i]: ...`).
 */
export function validateChromeTrace(obj: unknown): string[] {
  const problems: string[] = [];
  let events: unknown;
  if (Array.isArray(obj)) events = obj;
  else if (isRecord(obj)) {
    events = obj.traceEvents;
    if (!Array.isArray(events)) return ['traceEvents: expected an array'];
    if (obj.displayTimeUnit !== undefined && obj.displayTimeUnit !== 'ms' && obj.displayTimeUnit !== 'ns') {
      problems.push(`displayTimeUnit: expected "ms" or "ns", got ${JSON.stringify(obj.displayTimeUnit)}`);
    }
  } else return ['expected an object with traceEvents or an array of events'];

  const slices = new Map<string, { i: number; ts: number; end: number }[]>();
  const open = new Map<string, number[]>();
  const flows = new Map<string, { s: number[]; f: number[] }>();
  const flowPoints: { i: number; key: string; ts: number }[] = [];
  (events as unknown[]).forEach((e, i) => {
    const at = `traceEvents[${i}]`;
    if (!isRecord(e)) {
      problems.push(`${at}: expected an object`);
      return;
    }
    if (typeof e.ph !== 'string' || !KNOWN_PHASES.has(e.ph)) {
      problems.push(`${at}: ph: expected an event phase, got ${JSON.stringify(e.ph)}`);
      return;
    }
    const need = e.ph === 'M' ? ['pid', 'tid'] : ['ts', 'pid', 'tid'];
    const missing = need.filter((k) => !isNum(e[k]));
    if (missing.length > 0) problems.push(`${at}: ${e.ph} event: expected numeric ${missing.join(', ')}`);
    if (e.ph === 'M') {
      if (typeof e.name !== 'string') problems.push(`${at}: M event: expected a string name`);
      if (!isRecord(e.args)) problems.push(`${at}: M event: expected an args object`);
      return;
    }
    if (missing.length > 0) return;
    const key = `${e.pid as number}/${e.tid as number}`;
    const ts = e.ts as number;
    if (e.ph === 'X') {
      if (typeof e.name !== 'string') problems.push(`${at}: X event: expected a string name`);
      if (!isNum(e.dur) || e.dur < 0) {
        problems.push(`${at}: X event: expected dur >= 0, got ${JSON.stringify(e.dur)}`);
        return;
      }
      let list = slices.get(key);
      if (list === undefined) slices.set(key, (list = []));
      list.push({ i, ts, end: ts + e.dur });
    } else if (e.ph === 'C') {
      if (!isRecord(e.args) || !Object.values(e.args).every(isNum)) problems.push(`${at}: C event: expected args of finite numbers`);
    } else if (e.ph === 's' || e.ph === 't' || e.ph === 'f') {
      if (typeof e.id !== 'number' && typeof e.id !== 'string') {
        problems.push(`${at}: ${e.ph} event: expected a flow id`);
        return;
      }
      const fk = `${String(e.cat)}/${String(e.id)}`;
      let fl = flows.get(fk);
      if (fl === undefined) flows.set(fk, (fl = { s: [], f: [] }));
      if (e.ph !== 't') fl[e.ph].push(i);
      flowPoints.push({ i, key, ts });
    } else if (e.ph === 'B') {
      let stack = open.get(key);
      if (stack === undefined) open.set(key, (stack = []));
      stack.push(i);
    } else if (e.ph === 'E') {
      const stack = open.get(key);
      if (stack === undefined || stack.length === 0) problems.push(`${at}: E event without a matching B on pid/tid ${key}`);
      else stack.pop();
    }
  });
  for (const [key, stack] of open) for (const i of stack) problems.push(`traceEvents[${i}]: B event never ended on pid/tid ${key}`);

  for (const [fk, fl] of flows) {
    if (fl.s.length !== 1 || fl.f.length !== 1) problems.push(`traceEvents[${[...fl.s, ...fl.f][0]}]: flow ${fk}: expected one "s" and one "f", got ${fl.s.length} and ${fl.f.length}`);
  }
  for (const p of flowPoints) {
    const eps = 1e-7 + Math.abs(p.ts) * 1e-14;
    if (!(slices.get(p.key) ?? []).some((sl) => sl.ts <= p.ts + eps && p.ts <= sl.end + eps)) {
      problems.push(`traceEvents[${p.i}]: flow event at ${p.ts} µs on pid/tid ${p.key} has no X slice to bind to`);
    }
  }
  for (const [key, list] of slices) {
    list.sort((a, b) => a.ts - b.ts || b.end - a.end || a.i - b.i);
    const stack: { i: number; end: number }[] = [];
    for (const s of list) {
      const eps = 1e-7 + Math.abs(s.end) * 1e-14;
      while (stack.length > 0 && stack[stack.length - 1].end <= s.ts + eps) stack.pop();
      const top = stack[stack.length - 1];
      if (top !== undefined && s.end > top.end + eps) {
        problems.push(`traceEvents[${s.i}]: X slice [${s.ts}, ${s.end}] µs on pid/tid ${key} overlaps traceEvents[${top.i}] (ends ${top.end}) without nesting`);
        continue;
      }
      stack.push(s);
    }
  }
  return problems;
}
