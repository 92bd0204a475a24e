import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { chromeTrace, laneSpans, laneName, trackGroup, validateChromeTrace, type TraceEvent } from '../../src/report/perfetto.ts';
import type { RunResults, Span } from '../../src/sim/results.ts';
import { buildFixture } from './fixture.ts';

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
    expect(trace.otherData).toEqual({ name: 'fixture-2gpu', seed: 7, schema: 1 });
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

  it('emits residency, fault and link-byte counters per bucket', () => {
    const tl = results.timeline;
    const res = ev.filter((e) => e.ph === 'C' && e.name === 'resident pages');
    expect(res.filter((e) => e.pid === 1).length).toBe(40);
    expect(res.filter((e) => e.pid === 3).length).toBe(40);
    const dev0 = res.find((e) => e.pid === 1)!;
    expect(dev0.ts).toBe(tl.bucketPs / 1e6); // sampled at the end of bucket 0
    expect(dev0.args).toEqual({ gpu0: tl.residency.gpu0[0], gpu1: tl.residency.gpu1[0] });
    expect(res.find((e) => e.pid === 3)!.args).toEqual({ cpu: tl.residency.cpu[0] });
    const lb = ev.filter((e) => e.ph === 'C' && e.name === 'bytes per bucket');
    expect(lb.length).toBe(41); // 40 buckets + a closing zero
    expect(lb.every((e) => e.pid === 2)).toBe(true);
    expect(lb[5].ts).toBe((5 * tl.bucketPs) / 1e6);
    expect(lb[5].args).toEqual({ 'cpu->gpu0': tl.linkBytes['cpu->gpu0'][5], 'gpu0->cpu': tl.linkBytes['gpu0->cpu'][5], 'gpu0->gpu1': tl.linkBytes['gpu0->gpu1'][5] });
    expect(lb[40]).toMatchObject({ ts: (40 * tl.bucketPs) / 1e6, args: { 'cpu->gpu0': 0, 'gpu0->cpu': 0, 'gpu0->gpu1': 0 } });
    expect(ev.filter((e) => e.ph === 'C' && e.name === 'faults per bucket').length).toBe(41);
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
