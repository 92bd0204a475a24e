import { describe, it, expect } from 'vitest';
import {
  EMPTY_THRASHING_STATE,
  THRASHING_DEFAULTS,
  expirePins,
  isThrashing,
  nextPinDeadline,
  pageThrashing,
  recordMigration,
  thrashingHint,
  thrashingVpns,
  type ThrashingParams,
  type ThrashingState,
} from '../../src/policy/thrashing.ts';
import { CPU, type AccessibilityFn, type Decision } from '../../src/policy/types.ts';
import { ms, us, type TimePs } from '../../src/units/time.ts';

const P = THRASHING_DEFAULTS;
const VPN = 1000;

function migrations(times: number[], targets: number[], vpn = VPN, params: ThrashingParams = P): ThrashingState {
  let s = EMPTY_THRASHING_STATE;
  times.forEach((t, i) => {
    s = recordMigration(s, params, { vpns: [vpn], target: targets[i % targets.length], time: us(t) });
  });
  return s;
}

const fault = (state: ThrashingState, deviceId: number, tUs: number, ctx = {}, params = P) =>
  thrashingHint(state, params, { vpn: VPN, deviceId, write: false, time: us(tUs) }, ctx);

describe('thrashing detection', () => {
  it('has the UVM defaults: 3 events, 500 µs lapse and nap, pin after 10, pin 150 ms', () => {
    expect(P).toEqual({ threshold: 3, lapse: us(500), nap: us(500), pinThreshold: 10, pinDuration: ms(150) });
  });

  it('2 thrashing events (3 migrations within the lapse) are not thrashing', () => {
    const s = migrations([0, 100, 200], [0, CPU]);
    expect(pageThrashing(s, VPN)!.events).toBe(2);
    expect(isThrashing(s, P, VPN)).toBe(false);
    expect(fault(s, 0, 250).decision).toEqual({ kind: 'none' });
    expect(fault(s, CPU, 250).decision).toEqual({ kind: 'none' });
  });

  it('3 thrashing events (a 4th migration within the lapse) are thrashing and lead to throttling', () => {
    const s = migrations([0, 100, 200, 300], [0, CPU]); // page now in system memory
    expect(pageThrashing(s, VPN)!.events).toBe(3);
    expect(isThrashing(s, P, VPN)).toBe(true);
    expect(thrashingVpns(s, P)).toEqual([VPN]);
    // The first processor to fault in a throttling period keeps servicing faults...
    const a = fault(s, 0, 400);
    expect(a.decision).toEqual({ kind: 'none' });
    expect(pageThrashing(a.state, VPN)!.doNotThrottle).toBe(0);
    const s2 = recordMigration(a.state, P, { vpns: [VPN], target: 0, time: us(400) });
    // ...the other one is throttled until the period (nap = 500 µs) ends.
    const b = fault(s2, CPU, 450);
    expect(b.decision).toEqual({ kind: 'throttle', processor: CPU, until: us(900), vpns: [VPN] });
    expect(pageThrashing(b.state, VPN)!.throttlingCount).toBe(1);
    // Re-faulting during the period stays throttled without counting again.
    const c = fault(b.state, CPU, 800);
    expect(c.decision).toEqual({ kind: 'throttle', processor: CPU, until: us(900), vpns: [VPN] });
    expect(pageThrashing(c.state, VPN)!.throttlingCount).toBe(1);
  });

  it('counts a gap of exactly the lapse, but not one past it', () => {
    expect(pageThrashing(migrations([0, 500, 1000, 1500], [0, CPU]), VPN)!.events).toBe(3);
    const s = migrations([0, 500, 1000, 1500.000001], [0, CPU]);
    expect(pageThrashing(s, VPN)!.events).toBe(0);
  });

  it('migrations spread over more than the lapse never thrash', () => {
    const s = migrations([0, 600, 1200, 1800, 2400, 3000, 3600], [0, CPU]);
    expect(pageThrashing(s, VPN)!.events).toBe(0);
    expect(isThrashing(s, P, VPN)).toBe(false);
    expect(fault(s, 0, 3700).decision).toEqual({ kind: 'none' });
  });

  it('ends thrashing after a quiet lapse: hints stop, and the next migration resets the page', () => {
    const s = migrations([0, 100, 200, 300], [0, CPU]);
    expect(fault(s, 0, 900).decision).toEqual({ kind: 'none' }); // 600 µs since the last migration
    const r = recordMigration(s, P, { vpns: [VPN], target: 0, time: us(1000) });
    expect(pageThrashing(r, VPN)).toBeUndefined();
    expect(isThrashing(r, P, VPN)).toBe(false);
  });

  it('tracks pages independently and leaves the input state unchanged', () => {
    const s = migrations([0, 100, 200, 300], [0, CPU]);
    const before = JSON.stringify([...s.blocks].map(([b, m]) => [b, [...m]]));
    const other = recordMigration(s, P, { vpns: [VPN + 1], target: 0, time: us(350) });
    expect(isThrashing(other, P, VPN + 1)).toBe(false);
    fault(s, 0, 400);
    expect(JSON.stringify([...s.blocks].map(([b, m]) => [b, [...m]]))).toBe(before);
  });

  it('rejects time going backwards and bad parameters', () => {
    const s = migrations([100], [0]);
    expect(() => recordMigration(s, P, { vpns: [VPN], target: 0, time: us(50) })).toThrow(RangeError);
    expect(() => recordMigration(s, { ...P, threshold: 8 }, { vpns: [VPN], target: 0, time: us(200) })).toThrow(RangeError);
  });
});

/**
 * Ping-pong between two processors: every 100 µs the processor that does not hold the page
 * faults (taking turns when both lack it); `none` → migrate, `throttle` → wait, `pin` → stop.
 */
function pingPong(params: ThrashingParams, a: number, b: number, canAccess: AccessibilityFn, maxSteps = 2000) {
  let s = EMPTY_THRASHING_STATE;
  let residency = a;
  let t = 0;
  let throttles = 0;
  let maxCountBeforePin = 0;
  for (let step = 0; step < maxSteps; step++) {
    t += 100;
    const req = residency === a ? b : a;
    const before = pageThrashing(s, VPN);
    const { state, decision } = thrashingHint(s, params, { vpn: VPN, deviceId: req, write: true, time: us(t) }, { canAccess });
    s = state;
    if (decision.kind === 'pin') {
      return { s, decision, req, t, throttles, countAtPin: before!.throttlingCount, maxCountBeforePin };
    }
    const now = pageThrashing(s, VPN);
    if (now) maxCountBeforePin = Math.max(maxCountBeforePin, now.throttlingCount);
    if (decision.kind === 'throttle') {
      throttles++;
      continue;
    }
    s = recordMigration(s, params, { vpns: [VPN], target: req, time: us(t) });
    residency = req;
  }
  throw new Error('no pin');
}

describe('thrashing prevention: pinning', () => {
  const all: AccessibilityFn = () => true;

  it('pins the page after 10 throttlings, at the requester, for 150 ms', () => {
    const r = pingPong(P, 0, CPU, all);
    expect(r.countAtPin).toBe(10);
    expect(r.maxCountBeforePin).toBe(10);
    const d = r.decision as Extract<Decision, { kind: 'pin' }>;
    expect(d.residency).toBe(r.req);
    expect(d.processors).toEqual([CPU, 0]);
    expect(d.until).toBe(us(r.t) + ms(150));
    const page = pageThrashing(r.s, VPN)!;
    expect(page.pin).toEqual({ residency: r.req, deadline: us(r.t) + ms(150) });
    expect(page.throttlingCount).toBe(0);
    expect(nextPinDeadline(r.s)).toBe(us(r.t) + ms(150));
  });

  it('honours a different pin threshold', () => {
    expect(pingPong({ ...P, pinThreshold: 2 }, 0, CPU, all).countAtPin).toBe(2);
  });

  it('maps the other processor remotely on the pinned residency while pinned', () => {
    const r = pingPong(P, 0, CPU, all);
    const other = r.req === 0 ? CPU : 0;
    const h = thrashingHint(r.s, P, { vpn: VPN, deviceId: other, write: false, time: us(r.t + 100) }, { canAccess: all });
    expect(h.decision).toMatchObject({ kind: 'pin', residency: r.req });
  });

  it('throttles a processor that cannot reach the pinned residency', () => {
    // GPU 0 and GPU 1 without peer access: GPU memory is reachable only from its own GPU.
    const none: AccessibilityFn = (p, res) => p === res || res === CPU;
    const r = pingPong(P, 0, 1, none);
    const other = r.req === 0 ? 1 : 0;
    const h = thrashingHint(r.s, P, { vpn: VPN, deviceId: other, write: false, time: us(r.t + 100) }, { canAccess: none });
    expect(h.decision.kind).toBe('throttle');
  });

  it('expires the pin after 150 ms and forgets the history', () => {
    const r = pingPong(P, 0, CPU, all);
    const deadline = (us(r.t) + ms(150)) as TimePs;
    expect(expirePins(r.s, (deadline - 1) as TimePs).unpinned).toEqual([]);
    const e = expirePins(r.s, deadline);
    expect(e.unpinned).toEqual([VPN]);
    expect(pageThrashing(e.state, VPN)).toBeUndefined();
    expect(nextPinDeadline(e.state)).toBeNull();
    // A fault after the deadline also expires it lazily and is serviced normally.
    const h = thrashingHint(r.s, P, { vpn: VPN, deviceId: 0, write: false, time: deadline });
    expect(h.decision).toEqual({ kind: 'none' });
    expect(pageThrashing(h.state, VPN)).toBeUndefined();
    // Just before the deadline the page is still pinned.
    const still = thrashingHint(r.s, P, { vpn: VPN, deviceId: r.req, write: false, time: (deadline - 1) as TimePs }, { canAccess: all });
    expect(still.decision.kind).toBe('pin');
  });

  it('pins forever when pinDuration is 0', () => {
    const r = pingPong({ ...P, pinDuration: us(0) }, 0, CPU, all);
    expect(pageThrashing(r.s, VPN)!.pin!.deadline).toBeNull();
    expect(expirePins(r.s, ms(100_000)).unpinned).toEqual([]);
  });

  it('pins at a preferred location every thrashing processor can access', () => {
    const s = migrations([0, 100, 200, 300], [0, 1]);
    const h = fault(s, 0, 400, { canAccess: (_p: number, res: number) => res === CPU || res === _p, preferredLocation: CPU });
    expect(h.decision).toMatchObject({ kind: 'pin', residency: CPU, processors: [0, 1] });
  });

  it('pins at the current residency when all thrashing processors have fast access to it', () => {
    const s = migrations([0, 100, 200, 300], [0, 1]); // resident on GPU 1
    const nvlink: AccessibilityFn = (p, res) => p >= 0 && res >= 0;
    const h = fault(s, 0, 400, { residency: 1, fastAccess: nvlink });
    expect(h.decision).toMatchObject({ kind: 'pin', residency: 1 });
  });
});

describe('mutable thrashing state', () => {
  it('gives the same decisions as immutable states while updating in place', async () => {
    const { mutableThrashingState, recordMigration: rec, thrashingHint: hint, EMPTY_THRASHING_STATE: EMPTY, THRASHING_DEFAULTS: P } = await import('../../src/policy/thrashing.ts');
    let a = EMPTY;
    const b = mutableThrashingState();
    const decisions: string[][] = [[], []];
    for (let i = 0; i < 40; i++) {
      const t = (i * 100_000_000) as never;
      const target = i % 2 === 0 ? 0 : -1;
      a = rec(a, P, { vpns: [7, 8], target, time: t });
      const b2 = rec(b, P, { vpns: [7, 8], target, time: t });
      expect(b2).toBe(b);
      const ha = hint(a, P, { vpn: 7, deviceId: target, write: true, time: t });
      const hb = hint(b, P, { vpn: 7, deviceId: target, write: true, time: t });
      a = ha.state;
      expect(hb.state).toBe(b);
      decisions[0].push(ha.decision.kind);
      decisions[1].push(hb.decision.kind);
    }
    expect(decisions[1]).toEqual(decisions[0]);
    expect(decisions[0]).toContain('throttle');
  });
});
