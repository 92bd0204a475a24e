import { describe, it, expect } from 'vitest';
import { Transfers, CopyEngines, type TransferRequest, type SpanSink } from '../../src/devices/transfers.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { SharedSegment } from '../../src/topology/sharing.ts';
import type { TimePs } from '../../src/units/time.ts';

const t = (n: number) => n as TimePs;
const MB = 1e6;
const GBps = 1e9; // bytes/s
const seg = (id: string, bandwidth: number): SharedSegment => ({ id, bandwidth });
// Two directions of one full-duplex link: separate segments.
const H2D = seg('pcie:h2d', GBps);
const D2H = seg('pcie:d2h', GBps);

function setup() {
  const engine = new Engine({ seed: 1 });
  const transfers = new Transfers(engine);
  return { engine, transfers };
}

/** A request that records its completion time under `name` in `done`. */
function req(done: Map<string, number>, name: string, bytes: number, path: readonly SharedSegment[], overheadPs = 0): TransferRequest {
  return { bytes, path, overheadPs, label: name, onDone: (at) => done.set(name, at) };
}

describe('Transfers', () => {
  it('a lone 1 MB flow over 1e9 B/s completes at exactly 1e9 ps', () => {
    // 1e6 B / 1e9 B/s = 1e-3 s = 1e9 ps.
    const { engine, transfers } = setup();
    const done: number[] = [];
    transfers.startFlow(MB, [H2D], (at) => done.push(at));
    expect(engine.pending).toBe(1);
    expect(engine.nextEventTime()).toBe(1e9);
    engine.run();
    expect(done).toEqual([1e9]);
    expect(engine.now).toBe(1e9);
    expect(transfers.transfersPerSegment.get('pcie:h2d')).toBe(1);
    expect(transfers.carriedAt(engine.now).get('pcie:h2d')).toBe(MB);
    expect(transfers.sharing.activeIds()).toEqual([]);
  });

  it('two concurrent flows on one segment each get half: both complete at 2e9 ps', () => {
    // 2 x 1e6 B at 5e8 B/s each = 2e-3 s = 2e9 ps.
    const { engine, transfers } = setup();
    const done: [string, number][] = [];
    transfers.startFlow(MB, [H2D], (at) => done.push(['a', at]));
    transfers.startFlow(MB, [H2D], (at) => done.push(['b', at]));
    expect(engine.pending).toBe(1); // one completion event for all flows
    engine.run();
    expect(done).toEqual([['a', 2e9], ['b', 2e9]]);
    expect(transfers.transfersPerSegment.get('pcie:h2d')).toBe(2);
    expect(transfers.carriedAt(engine.now).get('pcie:h2d')).toBe(2 * MB);
  });

  it('opposite directions (different segments) do not slow each other', () => {
    const { engine, transfers } = setup();
    const done: [string, number][] = [];
    transfers.startFlow(MB, [H2D], (at) => done.push(['h2d', at]));
    transfers.startFlow(MB, [D2H], (at) => done.push(['d2h', at]));
    engine.run();
    expect(done).toEqual([['h2d', 1e9], ['d2h', 1e9]]);
    expect(transfers.transfersPerSegment.get('pcie:h2d')).toBe(1);
    expect(transfers.transfersPerSegment.get('pcie:d2h')).toBe(1);
  });

  it('a flow started mid-way reschedules the pending completion', () => {
    // a: 1 MB from 0; b: 1 MB from 5e8 ps.
    // 0..5e8: a alone at 1e9 B/s sends 5e5 B. Then both at 5e8 B/s: a's last 5e5 B take 1e9 ps,
    // so a completes at 1.5e9; b has sent 5e5 B by then and finishes alone at 1e9 B/s in 5e8 ps:
    // b completes at 2e9.
    const { engine, transfers } = setup();
    const done: [string, number][] = [];
    transfers.startFlow(MB, [H2D], (at) => done.push(['a', at]));
    engine.schedule(t(5e8), () => {
      transfers.startFlow(MB, [H2D], (at) => done.push(['b', at]));
      expect(engine.pending).toBe(1); // the 1e9 event was replaced, not added to
      expect(engine.nextEventTime()).toBe(1.5e9);
    });
    engine.run();
    expect(done).toEqual([['a', 1.5e9], ['b', 2e9]]);
  });

  it('carriedAt reports bytes sent so far, mid-flight', () => {
    const { engine, transfers } = setup();
    transfers.startFlow(MB, [H2D], () => {});
    let mid = -1;
    engine.schedule(t(4e8), (now) => {
      mid = transfers.carriedAt(now).get('pcie:h2d')!; // 1e9 B/s x 4e-4 s = 4e5 B
    });
    engine.run();
    expect(mid).toBe(4e5);
    expect(transfers.carriedAt(engine.now).get('pcie:h2d')).toBe(MB);
  });

  it('the bottleneck of a multi-segment path sets the rate; every segment counts the flow', () => {
    // 1 MB over pcie (1e9) then an NVLink-ish hop (4e9): 1e9 B/s -> 1e9 ps.
    const { engine, transfers } = setup();
    const fast = seg('nvl:a->b', 4 * GBps);
    const done: number[] = [];
    transfers.startFlow(MB, [H2D, fast], (at) => done.push(at));
    engine.run();
    expect(done).toEqual([1e9]);
    expect(transfers.transfersPerSegment.get('pcie:h2d')).toBe(1);
    expect(transfers.transfersPerSegment.get('nvl:a->b')).toBe(1);
  });

  it('a zero-byte flow completes at the current time', () => {
    const { engine, transfers } = setup();
    const done: number[] = [];
    engine.schedule(t(123), () => transfers.startFlow(0, [H2D], (at) => done.push(at)));
    engine.run();
    expect(done).toEqual([123]);
  });
});

describe('CopyEngines', () => {
  it('runs thousands of queued transfers on one engine one after another, in submission order', () => {
    // 5000 copies of 1 MB at 1e9 B/s queued at once: the i-th ends at (i + 1) * 1e9 ps. Enough to
    // pass the queue's compaction point several times.
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 1, undefined);
    const ends: number[] = [];
    for (let i = 0; i < 5000; i++) ce.submit({ bytes: MB, path: [H2D], overheadPs: 0, label: `c${i}`, onDone: (at) => ends.push(at) });
    engine.run();
    expect(ends).toEqual(Array.from({ length: 5000 }, (_, i) => (i + 1) * 1e9));
    expect(ce.transfers).toBe(5000);
    expect(ce.idle).toBe(true);
  });

  it('rejects an engine count that is not a positive integer', () => {
    const { transfers } = setup();
    expect(() => new CopyEngines(transfers, 'gpu', 0, undefined)).toThrow(RangeError);
    expect(() => new CopyEngines(transfers, 'gpu', 1.5, undefined)).toThrow(RangeError);
  });

  it('one engine serialises two transfers: 1e9 then 2e9 ps', () => {
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 1, undefined);
    const done = new Map<string, number>();
    expect(ce.idle).toBe(true);
    ce.submit(req(done, 'a', MB, [H2D]));
    ce.submit(req(done, 'b', MB, [H2D]));
    expect(ce.idle).toBe(false);
    engine.run();
    expect(done.get('a')).toBe(1e9);
    expect(done.get('b')).toBe(2e9); // starts when a finishes, then has the link to itself
    expect(ce.idle).toBe(true);
    expect(ce.transfers).toBe(2);
    expect(ce.bytes).toBe(2 * MB);
    expect(ce.busyPs).toBe(2e9); // 1e9 + 1e9
  });

  it('two engines overlap on a shared link: both complete at 2e9 ps', () => {
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 2, undefined);
    const done = new Map<string, number>();
    ce.submit(req(done, 'a', MB, [H2D]));
    ce.submit(req(done, 'b', MB, [H2D]));
    engine.run();
    expect(done.get('a')).toBe(2e9);
    expect(done.get('b')).toBe(2e9);
    expect(ce.busyPs).toBe(4e9); // two engines busy 2e9 each
    expect(ce.transfers).toBe(2);
    expect(ce.bytes).toBe(2 * MB);
  });

  it('two engines on opposite directions finish in 1e9 ps each', () => {
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 2, undefined);
    const done = new Map<string, number>();
    ce.submit(req(done, 'h2d', MB, [H2D]));
    ce.submit(req(done, 'd2h', MB, [D2H]));
    engine.run();
    expect([done.get('h2d'), done.get('d2h')]).toEqual([1e9, 1e9]);
  });

  it('assigns to the least loaded engine, lowest index on ties', () => {
    const { engine, transfers } = setup();
    const spans: [string, string, number, number][] = [];
    const sink: SpanSink = (track, name, start, dur) => spans.push([track, name, start, dur]);
    const ce = new CopyEngines(transfers, 'gpu', 2, undefined, sink);
    const done = new Map<string, number>();
    // a -> ce0, b -> ce1 (ce0 has load 1), c -> ce0 (tie 1/1 -> lowest index), queued behind a.
    ce.submit(req(done, 'a', MB, [H2D]));
    ce.submit(req(done, 'b', MB, [H2D]));
    ce.submit(req(done, 'c', MB, [H2D]));
    engine.run();
    // a and b share the link until 2e9; c then runs alone: 2e9 + 1e9.
    expect(Object.fromEntries(done)).toEqual({ a: 2e9, b: 2e9, c: 3e9 });
    expect(spans).toEqual([
      ['gpu/ce0', 'a', 0, 2e9],
      ['gpu/ce1', 'b', 0, 2e9],
      ['gpu/ce0', 'c', 2e9, 1e9],
    ]);
    expect(ce.busyPs).toBe(5e9);
  });

  it('a per-engine bandwidth caps a transfer on a faster link', () => {
    // Engine at 2.5e8 B/s on a 1e9 B/s link: 1e6 B / 2.5e8 B/s = 4e-3 s = 4e9 ps.
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 1, 2.5e8);
    const done = new Map<string, number>();
    ce.submit(req(done, 'a', MB, [H2D]));
    engine.run();
    expect(done.get('a')).toBe(4e9);
    // The engine's private segment is part of the path.
    expect(transfers.transfersPerSegment.get('ce:gpu:0')).toBe(1);
    expect(transfers.transfersPerSegment.get('pcie:h2d')).toBe(1);
    expect(transfers.carriedAt(engine.now).get('ce:gpu:0')).toBe(MB);
  });

  it('capped engines add up on a link with spare bandwidth', () => {
    // Two engines at 5e8 B/s each on a 1e9 link: each gets its full 5e8 -> 2e9 ps, in parallel.
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 2, 5e8);
    const done = new Map<string, number>();
    ce.submit(req(done, 'a', MB, [H2D]));
    ce.submit(req(done, 'b', MB, [H2D]));
    engine.run();
    expect(Object.fromEntries(done)).toEqual({ a: 2e9, b: 2e9 });
    expect(transfers.transfersPerSegment.get('ce:gpu:0')).toBe(1);
    expect(transfers.transfersPerSegment.get('ce:gpu:1')).toBe(1);
    expect(transfers.transfersPerSegment.get('pcie:h2d')).toBe(2);
  });

  it('a slower link still limits a capped engine', () => {
    // Engine at 4e9, link at 1e9: the link is the bottleneck -> 1e9 ps.
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 1, 4e9);
    const done = new Map<string, number>();
    ce.submit(req(done, 'a', MB, [H2D]));
    engine.run();
    expect(done.get('a')).toBe(1e9);
  });

  it('overheadPs delays completion by exactly that amount, and counts as busy time', () => {
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 1, undefined);
    const done = new Map<string, number>();
    ce.submit(req(done, 'a', MB, [H2D], 7_000));
    ce.submit(req(done, 'b', MB, [H2D], 7_000));
    engine.run();
    // a: 7e3 setup + 1e9 copy. b starts when a finishes: + 7e3 + 1e9.
    expect(done.get('a')).toBe(1e9 + 7_000);
    expect(done.get('b')).toBe(2e9 + 14_000);
    expect(ce.busyPs).toBe(2e9 + 14_000);
    // The link carried nothing during the setup: its flow started at 7e3.
    expect(transfers.transfersPerSegment.get('pcie:h2d')).toBe(2);
  });

  it('a transfer in its setup phase does not take link bandwidth yet', () => {
    // ce0: a with 1e6 ps setup; ce1: b without. b runs alone at 1e9 B/s for 1e6 ps (1e3 B), then
    // both share at 5e8: b's remaining 999e3 B take 1.998e9 ps -> b done at 1.999e9. By then a
    // has sent 999e3 B of 1e6 and finishes its last 1e3 B alone at 1e9 B/s in 1e6 ps -> 2e9.
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 2, undefined);
    const done = new Map<string, number>();
    ce.submit(req(done, 'a', MB, [H2D], 1e6));
    ce.submit(req(done, 'b', MB, [H2D]));
    engine.run();
    expect(Object.fromEntries(done)).toEqual({ a: 2e9, b: 1.999e9 });
  });

  it('counters follow completed transfers only', () => {
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 1, undefined);
    const done = new Map<string, number>();
    ce.submit(req(done, 'a', MB, [H2D]));
    ce.submit(req(done, 'b', 3 * MB, [H2D]));
    engine.runUntil(t(1e9 + 1)); // a done; b in flight
    expect(ce.transfers).toBe(1);
    expect(ce.bytes).toBe(MB);
    expect(ce.busyPs).toBe(1e9);
    expect(ce.idle).toBe(false);
    engine.run();
    expect(done.get('b')).toBe(4e9); // 3e6 B at 1e9 B/s from 1e9
    expect(ce.transfers).toBe(2);
    expect(ce.bytes).toBe(4 * MB);
    expect(ce.busyPs).toBe(4e9);
    expect(ce.idle).toBe(true);
  });

  it('a transfer submitted from a completion callback runs next on the freed engine', () => {
    const { engine, transfers } = setup();
    const ce = new CopyEngines(transfers, 'gpu', 1, undefined);
    const done = new Map<string, number>();
    ce.submit({
      bytes: MB, path: [H2D], overheadPs: 0, label: 'a',
      onDone: (at) => {
        done.set('a', at);
        ce.submit(req(done, 'b', MB, [D2H]));
      },
    });
    engine.run();
    expect(Object.fromEntries(done)).toEqual({ a: 1e9, b: 2e9 });
    expect(ce.idle).toBe(true);
  });

  it('copy engines of two devices share the machine-wide link fairly', () => {
    const { engine, transfers } = setup();
    const g0 = new CopyEngines(transfers, 'gpu0', 1, undefined);
    const g1 = new CopyEngines(transfers, 'gpu1', 1, undefined);
    const done = new Map<string, number>();
    const host = seg('host-mem', GBps);
    g0.submit(req(done, 'a', MB, [host, seg('pcie0:h2d', 2 * GBps)]));
    g1.submit(req(done, 'b', MB, [host, seg('pcie1:h2d', 2 * GBps)]));
    engine.run();
    // The shared 1e9 host segment is the bottleneck: 5e8 each -> 2e9 ps.
    expect(Object.fromEntries(done)).toEqual({ a: 2e9, b: 2e9 });
    expect(transfers.transfersPerSegment.get('host-mem')).toBe(2);
    expect(g0.transfers + g1.transfers).toBe(2);
  });
});
