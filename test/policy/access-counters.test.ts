import { describe, it, expect } from 'vitest';
import {
  ACCESS_COUNTER_DEFAULTS,
  EMPTY_ACCESS_COUNTERS,
  recordAccess,
  regionCounter,
  type AccessCounterState,
} from '../../src/policy/access-counters.ts';
import { BLOCK_PAGES, CPU, type Decision } from '../../src/policy/types.ts';
import { us } from '../../src/units/time.ts';

const REGION = 3;
const BASE = REGION * BLOCK_PAGES;
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

function access(s: AccessCounterState, vpn: number, dev = 0, residency: number | null = CPU, params = ACCESS_COUNTER_DEFAULTS) {
  return recordAccess(s, { vpn, deviceId: dev, write: false, time: us(1) }, residency, params);
}

function repeat(s: AccessCounterState, n: number, vpnOf: (i: number) => number, dev = 0) {
  const decisions: Decision[] = [];
  for (let i = 0; i < n; i++) {
    const r = access(s, vpnOf(i), dev);
    s = r.state;
    decisions.push(r.decision);
  }
  return { s, decisions };
}

describe('access-counter migration', () => {
  it('has the UVM defaults: 256 accesses per 2 MiB region, 32 sub-regions', () => {
    expect(ACCESS_COUNTER_DEFAULTS).toEqual({ threshold: 256, regionPages: 512, subRegions: 32 });
  });

  it('does nothing for 255 remote accesses, migrates on the 256th, then resets the counter', () => {
    const { s, decisions } = repeat(EMPTY_ACCESS_COUNTERS, 255, () => BASE + 50);
    expect(decisions.every((d) => d.kind === 'none')).toBe(true);
    expect(regionCounter(s, 0, BASE)).toEqual({ count: 255, subRegions: [3] });
    const r = access(s, BASE + 50);
    // Page 50 is in 64 KiB sub-region 3 (pages 48..63).
    expect(r.decision).toEqual({ kind: 'migrate', target: 0, vpns: range(BASE + 48, BASE + 64) });
    expect(regionCounter(r.state, 0, BASE)).toBeUndefined();
    const again = access(r.state, BASE + 50);
    expect(again.decision).toEqual({ kind: 'none' });
    expect(regionCounter(again.state, 0, BASE)).toEqual({ count: 1, subRegions: [3] });
  });

  it('migrates every accessed sub-region of the region', () => {
    const { s } = repeat(EMPTY_ACCESS_COUNTERS, 255, (i) => (i % 2 === 0 ? BASE : BASE + 511));
    const r = access(s, BASE + 20);
    expect(r.decision).toEqual({
      kind: 'migrate',
      target: 0,
      vpns: [...range(BASE, BASE + 32), ...range(BASE + 496, BASE + 512)],
    });
  });

  it('does not count local, CPU or unpopulated accesses', () => {
    let s = EMPTY_ACCESS_COUNTERS;
    for (let i = 0; i < 300; i++) {
      s = access(s, BASE, 0, 0).state; // resident on the accessing GPU
      s = access(s, BASE, CPU, 0).state; // CPU has no access counters
      s = access(s, BASE, 0, null).state; // unpopulated: faults instead
    }
    expect(s).toBe(EMPTY_ACCESS_COUNTERS);
  });

  it('counts per device and per region', () => {
    let s = repeat(EMPTY_ACCESS_COUNTERS, 200, () => BASE, 0).s;
    s = repeat(s, 100, () => BASE, 1).s;
    s = repeat(s, 100, () => BASE + BLOCK_PAGES, 0).s;
    expect(regionCounter(s, 0, BASE)!.count).toBe(200);
    expect(regionCounter(s, 1, BASE)!.count).toBe(100);
    expect(regionCounter(s, 0, BASE + BLOCK_PAGES)!.count).toBe(100);
    // Accesses from a peer GPU's memory count too (remote = not local).
    const r = access(s, BASE, 1, 0);
    expect(regionCounter(r.state, 1, BASE)!.count).toBe(101);
  });

  it('does not mutate the input state', () => {
    const a = access(EMPTY_ACCESS_COUNTERS, BASE).state;
    access(a, BASE);
    expect(regionCounter(a, 0, BASE)!.count).toBe(1);
    expect(EMPTY_ACCESS_COUNTERS.devices.size).toBe(0);
  });

  it('honours a custom threshold and rejects invalid ones', () => {
    const p = { ...ACCESS_COUNTER_DEFAULTS, threshold: 1 };
    expect(access(EMPTY_ACCESS_COUNTERS, BASE + 1, 2, CPU, p).decision).toEqual({
      kind: 'migrate', target: 2, vpns: range(BASE, BASE + 16),
    });
    expect(() => access(EMPTY_ACCESS_COUNTERS, BASE, 0, CPU, { ...p, threshold: 0 })).toThrow(RangeError);
    expect(() => access(EMPTY_ACCESS_COUNTERS, BASE, 0, CPU, { ...p, subRegions: 3 })).toThrow(RangeError);
  });
});
