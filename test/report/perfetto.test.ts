import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { chromeTrace, laneSpans, laneName, trackGroup, validateChromeTrace, type TraceEvent } from '../../src/report/perfetto.ts';
import { RESULTS_SCHEMA_VERSION, type RunResults, type Span } from '../../src/sim/results.ts';
import { buildFixture } from './fixture.ts';
import { SimMachine } from '../../src/sim/machine.ts';
import { encodeAccess } from '../../src/sim/program.ts';
import { loadProfile, PROFILES_DIR } from '../../src/devices/profile/load.ts';

const span = (track: string, startPs: number, durPs: number, name = 's'): Span => ({ track, name, startPs, durPs });

/** Whether the spans of one lane nest (each pair disjoint or one inside the other). */
function nests(spans: Span[]): boolean {
  for (const a of spans) {
    for (const b of spans) {
      if (a === b) continue;
      const [ae, be] = [a.startPs + a.durPs, b.startPs + b.durPs];
      const disjoint = ae <= b.startPs || be <= a.startPs;
      const aInB = b.startPs <= a.startPs && ae <= be;
      const bInA = a.startPs <= b.startPs && be <= ae;
      if (!disjoint && !aInB && !bInA) return false;
    }
  }
  return true;
}

function threadNames(events: TraceEvent[]): Map<number, string> {
  return new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, String(e.args!.name)]));
}

describe('laneSpans (overflow tracks)', () => {
  it('keeps nested and disjoint spans on the track and moves a partial overlap to "TRACK #2"', () => {
    const spans = [
      span('gpu0', 0, 100, 'parent'),
      span('gpu0', 10, 20, 'child'),
      span('gpu0', 30, 70, 'child ending with parent'),
      span('gpu0', 100, 10, 'after'),
      span('gpu0', 50, 100, 'straddles parent end'),
    ];
    const out = laneSpans(spans);
    const lane = (name: string): string => out.find((l) => l.span.name === name)!.thread;
    expect(lane('parent')).toBe('gpu0');
    expect(lane('child')).toBe('gpu0');
    expect(lane('child ending with parent')).toBe('gpu0');
    expect(lane('after')).toBe('gpu0');
    expect(lane('straddles parent end')).toBe('gpu0 #2');
    expect(out.length).toBe(spans.length);
  });

  it('opens as many overflow lanes as a staircase of overlaps needs, and reuses freed lanes', () => {
    const out = laneSpans([span('l', 0, 10), span('l', 5, 10), span('l', 8, 10), span('l', 30, 10), span('l', 35, 10)]);
    expect(out.map((l) => l.thread)).toEqual(['l', 'l #2', 'l #3', 'l', 'l #2']);
  });

  it('treats touching ends as disjoint, equal spans as nested and zero-length spans as points', () => {
    const out = laneSpans([span('t', 0, 10), span('t', 10, 10), span('t', 10, 10), span('t', 20, 0), span('t', 15, 0)]);
    expect(out.every((l) => l.lane === 0)).toBe(true);
  });

  it('keeps tracks apart: overlapping spans on different tracks need no overflow', () => {
    const out = laneSpans([span('a', 0, 10), span('b', 5, 10)]);
    expect(out.map((l) => l.thread)).toEqual(['a', 'b']);
  });

  it('rejects negative or non-finite times', () => {
    expect(() => laneSpans([span('a', 0, -1)])).toThrow(/span 's' on track 'a'.*expected finite, non-negative/);
    expect(() => laneSpans([span('a', NaN, 1)])).toThrow(RangeError);
  });

  it('always yields lanes that nest, never more lanes than needed for a chain', () => {
    const arb = fc.array(fc.record({ track: fc.constantFrom('x', 'y'), startPs: fc.integer({ min: 0, max: 200 }), durPs: fc.integer({ min: 0, max: 80 }) }), { maxLength: 60 });
    fc.assert(fc.property(arb, (raw) => {
      const spans = raw.map((r, i) => span(r.track, r.startPs, r.durPs, `s${i}`));
      const out = laneSpans(spans);
      expect(out.length).toBe(spans.length);
      expect(new Set(out.map((l) => l.span)).size).toBe(spans.length);
      const byThread = new Map<string, Span[]>();
      for (const l of out) {
        expect(l.thread).toBe(laneName(l.span.track, l.lane));
        byThread.set(l.thread, [...(byThread.get(l.thread) ?? []), l.span]);
      }
      for (const list of byThread.values()) expect(nests(list)).toBe(true);
      // Every lane k > 0 exists only because lane k-1 did.
      for (const l of out) if (l.lane > 0) expect(out.some((o) => o.span.track === l.span.track && o.lane === l.lane - 1)).toBe(true);
    }));
  });
});

describe('chromeTrace', () => {
  const results = buildFixture();
  const trace = chromeTrace(results);
  const ev = trace.traceEvents;

  it('passes validateChromeTrace and is deterministic', () => {
    expect(validateChromeTrace(trace)).toEqual([]);
    expect(validateChromeTrace(JSON.parse(JSON.stringify(trace)))).toEqual([]);
    expect(JSON.stringify(chromeTrace(buildFixture()))).toBe(JSON.stringify(trace));
    expect(trace.displayTimeUnit).toBe('ns');
    expect(trace.otherData).toEqual({ name: 'fixture-2gpu', seed: 7, schema: RESULTS_SCHEMA_VERSION });
  });

  it('has one process per group with names, and one named thread per track', () => {
    const procs = ev.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => [e.pid, e.args!.name]);
    expect(procs).toEqual([[1, 'devices'], [2, 'links'], [3, 'cpu']]);
    const names = [...threadNames(ev).values()];
    // Declared order: devices (gpu0 before gpu1, each with its driver), links in links[] order, cpu.
    expect(names.filter((n) => !n.includes('#'))).toEqual(['gpu0', 'gpu0/driver', 'gpu1', 'gpu1/driver', 'cpu->gpu0', 'gpu0->cpu', 'gpu0->gpu1', 'cpu']);
    const tids = ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.tid);
    expect(new Set(tids).size).toBe(tids.length);
  });

  it('moves the fixture\'s partially overlapping copies to overflow threads in the links process', () => {
    // Without the split, one thread per track would be broken.
    const tidOf = new Map([...new Set(results.spans.map((s) => s.track))].map((t, i) => [t, i + 1]));
    const naive = results.spans.map((s) => ({ ph: 'X', name: s.name, pid: 1, tid: tidOf.get(s.track), ts: s.startPs / 1e6, dur: s.durPs / 1e6 }));
    expect(validateChromeTrace(naive).length).toBeGreaterThan(0);
    const names = threadNames(ev);
    const overflow = [...names.entries()].filter(([, n]) => n.includes(' #'));
    expect(overflow.length).toBeGreaterThan(0);
    for (const [tid, n] of overflow) {
      expect(n).toMatch(/^(cpu->gpu0|gpu0->cpu) #\d+$/);
      expect(ev.find((e) => e.ph === 'M' && e.tid === tid)!.pid).toBe(2);
      expect(ev.some((e) => e.ph === 'X' && e.tid === tid)).toBe(true);
    }
  });

  it('emits one X event per span with µs times and the span args', () => {
    const xs = ev.filter((e) => e.ph === 'X');
    expect(xs.length).toBe(results.spans.length);
    const s = results.spans.find((sp) => sp.name === 'fault batch')!;
    const x = xs.find((e) => e.name === 'fault batch' && e.ts === s.startPs / 1e6)!;
    expect(x.dur).toBe(s.durPs / 1e6);
    expect(x.cat).toBe('devices');
    expect(x.args).toEqual(s.args);
    expect(threadNames(ev).get(x.tid)).toBe('gpu0/driver');
  });

  it('emits one counter per series, a sample only where its value changes', () => {
    const tl = results.timeline;
    const changes = (v: number[]): number => v.filter((x, i) => i === 0 || x !== v[i - 1]).length;
    for (const [node, values] of Object.entries(tl.residency)) {
      const res = ev.filter((e) => e.ph === 'C' && e.name === `${node} resident`);
      expect(res.length).toBe(changes(values));
      expect(res.every((e) => e.pid === (node === 'cpu' ? 3 : 1))).toBe(true);
      expect(res[0]).toMatchObject({ ts: tl.bucketPs / 1e6, args: { pages: values[0] } }); // the end of bucket 0
    }
    // gpu1 holds nothing until it first migrates, then stops moving at 70 % of the run.
    expect(changes(tl.residency.gpu1)).toBeLessThan(tl.residency.gpu1.length);
    const lb = ev.filter((e) => e.ph === 'C' && e.name === 'gpu0->cpu');
    // No bytes for the first half: one zero sample, then the changes, then a closing zero.
    expect(lb[0]).toEqual({ ph: 'C', name: 'gpu0->cpu', pid: 2, tid: 0, ts: 0, args: { 'GB/s': 0 } });
    expect(lb.length).toBe(changes(tl.linkBytes['gpu0->cpu']) + (tl.linkBytes['gpu0->cpu'].at(-1) === 0 ? 0 : 1));
    const i = tl.linkBytes['cpu->gpu0'].findIndex((b) => b > 0);
    const up = ev.find((e) => e.ph === 'C' && e.name === 'cpu->gpu0' && e.ts === (i * tl.bucketPs) / 1e6)!;
    // Bytes per bucket as an average rate: bytes / 50 µs in GB/s.
    expect(up.args!['GB/s']).toBeCloseTo(tl.linkBytes['cpu->gpu0'][i] / (tl.bucketPs / 1e12) / 1e9, 3);
    const faults = ev.filter((e) => e.ph === 'C' && e.name === 'gpu0 faults');
    expect(Object.keys(faults[0].args!)).toEqual(['per 50 us']);
    expect(faults.at(-1)!.ts).toBe((40 * tl.bucketPs) / 1e6); // closed at the end of the last bucket
  });

  it('writes far fewer counter events than one per bucket per series when values hold still', () => {
    const flat = buildFixture(7, { devices: 2, batches: 4, buckets: 2000, latencies: 10 });
    const still = { ...flat, timeline: { ...flat.timeline, linkBytes: Object.fromEntries(Object.entries(flat.timeline.linkBytes).map(([k, v]) => [k, v.map((b, j) => (j < 1000 ? 4096 : b * 0))])) } };
    const counters = chromeTrace(still).traceEvents.filter((e) => e.ph === 'C' && e.pid === 2);
    // Per segment: 4096 from bucket 0, 0 from bucket 1000; nothing more (the last value is 0 already).
    expect(counters.map((e) => [e.name, e.ts])).toEqual(Object.keys(still.timeline.linkBytes).flatMap((k) => [[k, 0], [k, (1000 * still.timeline.bucketPs) / 1e6]]));
  });

  it('puts tracks it cannot place in an "other" process, and handles an empty run', () => {
    const r: RunResults = { ...results, spans: [span('mystery', 0, 5)], timeline: { bucketPs: 1, residency: {}, faults: {}, linkBytes: {} } };
    const t = chromeTrace(r);
    expect(validateChromeTrace(t)).toEqual([]);
    expect(t.traceEvents.filter((e) => e.name === 'process_name').map((e) => e.args!.name)).toEqual(['other']);
    const empty = chromeTrace({ ...r, spans: [] });
    expect(empty.traceEvents).toEqual([]);
    expect(validateChromeTrace(empty)).toEqual([]);
  });

  it('files a device\'s tracks under the device even when a link has its name', () => {
    // A device's own PCIe link is often named after the device ("gpu0"): its kernels must not
    // end up in the links process.
    const r: RunResults = { ...results, links: results.links.map((l, i) => (i === 0 ? { ...l, link: 'gpu0' } : l)) };
    expect(trackGroup('gpu0', r)).toBe('devices');
    const t = chromeTrace(r);
    const kernel = t.traceEvents.find((e) => e.ph === 'X' && e.name === 'stream' && threadNames(t.traceEvents).get(e.tid) === 'gpu0')!;
    expect(kernel.pid).toBe(1);
    expect(kernel.cat).toBe('devices');
  });

  it('classifies tracks into groups', () => {
    expect(trackGroup('gpu0', results)).toBe('devices');
    expect(trackGroup('gpu1/driver', results)).toBe('devices');
    expect(trackGroup('cpu->gpu0', results)).toBe('links');
    expect(trackGroup('pcie0', results)).toBe('links');
    expect(trackGroup('nic0->gpu0', results)).toBe('links');
    expect(trackGroup('cpu', results)).toBe('cpu');
    expect(trackGroup('cpu/reclaim', results)).toBe('cpu');
    expect(trackGroup('gpu9', results)).toBe('other');
  });
});

describe('validateChromeTrace', () => {
  const M = (o: object): object => ({ ph: 'M', name: 'thread_name', pid: 1, tid: 1, args: { name: 't' }, ...o });
  const X = (ts: number, dur: number, o: object = {}): object => ({ ph: 'X', name: 'x', pid: 1, tid: 1, ts, dur, ...o });

  it('accepts the array form and nested or disjoint slices', () => {
    expect(validateChromeTrace([M({}), X(0, 10), X(2, 3), X(5, 5), X(10, 1)])).toEqual([]);
  });

  it('reports a slice that overlaps another on the same thread without nesting', () => {
    expect(validateChromeTrace({ traceEvents: [X(0, 10), X(5, 10)] })).toEqual([
      'traceEvents[1]: X slice [5, 15] µs on pid/tid 1/1 overlaps traceEvents[0] (ends 10) without nesting',
    ]);
    expect(validateChromeTrace({ traceEvents: [X(0, 10), X(5, 10, { tid: 2 })] })).toEqual([]);
  });

  it('reports flow arrows without an id, without both ends, or with nothing to bind to', () => {
    const flow = (ph: string, id: unknown, ts: number, tid = 1): object => ({ ph, name: 'f', cat: 'flow', id, pid: 1, tid, ts, ...(ph === 'f' ? { bp: 'e' } : {}) });
    expect(validateChromeTrace([X(0, 10), X(20, 5, { tid: 2 }), flow('s', 1, 0), flow('f', 1, 20, 2)])).toEqual([]);
    expect(validateChromeTrace([X(0, 10), flow('s', undefined, 0), flow('s', 2, 1), flow('f', 3, 50)])).toEqual([
      'traceEvents[1]: s event: expected a flow id',
      'traceEvents[2]: flow flow/2: expected one "s" and one "f", got 1 and 0',
      'traceEvents[3]: flow flow/3: expected one "s" and one "f", got 0 and 1',
      'traceEvents[3]: flow event at 50 µs on pid/tid 1/1 has no X slice to bind to',
    ]);
  });

  it('tolerates floating-point noise far below a picosecond', () => {
    expect(validateChromeTrace([X(0.1 + 0.2, 0.3), X(0.3, 0.3 + 1e-12)])).toEqual([]);
  });

  it('reports missing fields, bad phases, negative durations and bad counters', () => {
    expect(validateChromeTrace({ traceEvents: [
      { ph: 'X', name: 'a', pid: 1, tid: 1, dur: 1 },
      X(0, -1),
      { ph: 'M', pid: 1, tid: 1, name: 'process_name' },
      { ph: 'M', pid: 1, name: 'thread_name', args: {} },
      { ph: 'Q', ts: 0, pid: 1, tid: 1 },
      { ph: 'C', name: 'c', ts: 0, pid: 1, tid: 0, args: { v: 'x' } },
      { ph: 'E', ts: 0, pid: 1, tid: 3 },
      { ph: 'B', name: 'b', ts: 0, pid: 1, tid: 4 },
      7,
    ], displayTimeUnit: 'us' })).toEqual([
      'displayTimeUnit: expected "ms" or "ns", got "us"',
      'traceEvents[0]: X event: expected numeric ts',
      'traceEvents[1]: X event: expected dur >= 0, got -1',
      'traceEvents[2]: M event: expected an args object',
      'traceEvents[3]: M event: expected numeric tid',
      'traceEvents[4]: ph: expected an event phase, got "Q"',
      'traceEvents[5]: C event: expected args of finite numbers',
      'traceEvents[6]: E event without a matching B on pid/tid 1/3',
      'traceEvents[8]: expected an object',
      'traceEvents[7]: B event never ended on pid/tid 1/4',
    ]);
    expect(validateChromeTrace({})).toEqual(['traceEvents: expected an array']);
    expect(validateChromeTrace('x')).toEqual(['expected an object with traceEvents or an array of events']);
  });
});

describe('chromeTrace of a timed run', () => {
  // gpu0 writes 256 pages the CPU filled, gpu1 (one pagemap owner per device: another group)
  // reads them, which takes them back to RAM through gpu0's migrate_to_ram, then the CPU reads
  // them back from gpu1: CPU faults with migrate_to_ram inside.
  const gpu = loadProfile(`${PROFILES_DIR}h100-pcie5.yaml`); // a bind and a replay cost: every stage of a batch
  const m = new SimMachine({ seed: 3, crossDevice: { owners: 'device' }, devices: [{ name: 'gpu0', profile: gpu }, { name: 'gpu1', profile: gpu }] });
  const p = m.spawn();
  const base = p.mmap(256, 'anon', 'rw');
  const lane = (from: number, n: number, write: boolean) => {
    let i = 0;
    return { next: () => (i < n ? encodeAccess(from + i++, write) : -1) };
  };
  const kernel = (name: string, write: boolean) => ({ name, computePs: 10_000, accessBytes: 4096, lanes: Array.from({ length: 8 }, (_, i) => lane(base + i * 32, 32, write)) });
  m.cpuPhase(p, { name: 'init', threads: [lane(base, 256, true)], computePs: 0, accessBytes: 4096 })
    .onDone(() => m.launch('gpu0', p, kernel('write', true)).onDone(() => m.launch('gpu1', p, kernel('read', false)).onDone(() =>
      m.cpuPhase(p, { name: 'readback', threads: [lane(base, 128, false), lane(base + 128, 128, false)], computePs: 0, accessBytes: 4096 }))));
  m.run();
  const r = m.results('trace-run');
  const t = chromeTrace(r);
  const ev = t.traceEvents;
  const names = threadNames(ev);
  const on = (track: string | RegExp): TraceEvent[] => ev.filter((e) => {
    const n = names.get(e.tid)?.replace(/ #\d+$/, '');
    return e.ph === 'X' && n !== undefined && (typeof track === 'string' ? n === track : track.test(n));
  });
  const cpuFaults = /^cpu\/[^/]+\/t\d+$/;

  it('validates, with every flow bound to a slice at both ends', () => {
    expect(validateChromeTrace(t)).toEqual([]);
    expect(ev.some((e) => e.ph === 's')).toBe(true);
    // Batches that waited for their faults have the arrow from the wait.
    expect(on('gpu0/faults').some((w) => w.dur! > 0)).toBe(true);
  });

  it('draws the first-touch faults of a thread as one slice with their count and range', () => {
    const init = on(cpuFaults).filter((e) => e.args!.phase === 'init');
    expect(init.reduce((a, e) => a + (e.args!.faults as number), 0)).toBe(256);
    expect(init[0].args!.range).toBe(`0x${(base * 4096).toString(16)}-0x${((base + 256) * 4096).toString(16)}`);
    expect(init[0].pid).toBe(3);
  });

  it('nests each CPU migrate_to_ram inside the fault that caused it, with range, source, destination and bytes', () => {
    const faults = on(cpuFaults).filter((e) => e.args!.phase === 'readback' && (e.args!.migrate_to_ram as number) > 0);
    const m2r = on(cpuFaults).filter((e) => e.name === 'migrate_to_ram');
    expect(faults.length).toBeGreaterThan(0);
    expect(m2r.length).toBe(faults.reduce((a, e) => a + (e.args!.migrate_to_ram as number), 0));
    for (const x of m2r) {
      const parent = faults.find((f) => f.tid === x.tid && f.ts! <= x.ts! && x.ts! + x.dur! <= f.ts! + f.dur! + 1e-9);
      expect(parent).toBeDefined();
      expect(x.args).toMatchObject({ from: 'gpu1', to: 'cpu0' });
      expect(x.args!.bytes).toBe((x.args!.pages as number) * 4096);
      expect(String(x.args!.range)).toMatch(/^0x[0-9a-f]+-0x[0-9a-f]+$/);
    }
  });

  it('draws migrate_to_ram a device\'s fault caused on the driver of the device the pages leave', () => {
    const m2r = on('gpu0/driver').filter((e) => e.name === 'migrate_to_ram');
    expect(m2r.length).toBe(r.cpu.deviceMigrateToRam);
    expect(m2r.length).toBeGreaterThan(0);
    for (const x of m2r) expect(x.args).toMatchObject({ from: 'gpu0', for: 'gpu1' });
  });

  it('joins each fault batch by arrows: faults waiting -> batch -> every copy -> map -> replay', () => {
    const byId = new Map<number, TraceEvent[]>();
    for (const e of ev) if (e.ph === 's' || e.ph === 'f') byId.set(e.id!, [...(byId.get(e.id!) ?? []), e]);
    const slice = (e: TraceEvent): TraceEvent => ev.find((x) => x.ph === 'X' && x.tid === e.tid && x.ts === e.ts && (e.ph === 's' || x.args?.batch !== undefined))!;
    const edges = [...byId.values()].map(([s, f]) => [slice(s), slice(f)]);
    for (const b of on('gpu0/driver').filter((e) => e.name === 'fault batch')) {
      const batch = b.args!.batch;
      const mine = edges.filter(([s, f]) => s.args?.batch === batch && f.args?.batch === batch && names.get(s.tid)!.startsWith('gpu0/'));
      const kinds = mine.map(([s, f]) => `${s.name}>${names.get(f.tid)!.startsWith('gpu0/ce') ? 'copy' : f.name}`);
      // A batch fetched the instant its first fault arrived waited 0: no slice length to bind to.
      const waited = on('gpu0/faults').find((w) => w.args!.batch === batch)!;
      if (waited.dur! > 0) expect(kinds).toContain('faults waiting>fault batch');
      else expect(kinds).not.toContain('faults waiting>fault batch');
      const copies = on('gpu0/ce0').concat(on('gpu0/ce1')).filter((c) => c.args!.batch === batch);
      // One arrow to the first copy on each copy engine the batch used; the rest follow on that thread.
      const firsts = new Set(['gpu0/ce0', 'gpu0/ce1'].map((ce) => copies.filter((c) => names.get(c.tid)!.replace(/ #\d+$/, '') === ce)[0]).filter((c) => c !== undefined));
      expect(kinds.filter((k) => k === 'fault batch>copy').length).toBe(firsts.size);
      for (const [, f] of mine.filter(([s]) => s.name === 'fault batch')) if (f.name !== 'map' && f.name !== 'replay') expect(firsts.has(f)).toBe(true);
      expect(copies.length).toBeGreaterThan(0);
      expect(copies[0].args).toMatchObject({ from: 'cpu0', to: 'gpu0' });
      expect(String(copies[0].args!.range)).toMatch(/^0x[0-9a-f]+-0x[0-9a-f]+$/);
      // The map waits for every copy: one arrow from the copy that ends last, then on to the replay.
      const last = Math.max(...copies.map((c) => c.ts! + c.dur!));
      const toMap = mine.filter(([, f]) => f.name === 'map');
      expect(toMap.length).toBe(1);
      expect(toMap[0][0].ts! + toMap[0][0].dur!).toBe(last);
      expect(kinds).toContain('map>replay');
      expect(b.args!.range).toMatch(/^0x[0-9a-f]+-0x[0-9a-f]+$/);
    }
  });
});
