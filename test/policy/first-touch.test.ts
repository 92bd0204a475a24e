import { describe, it, expect } from 'vitest';
import { firstTouchDecision } from '../../src/policy/first-touch.ts';
import { CPU, type AccessEvent } from '../../src/policy/types.ts';
import { us } from '../../src/units/time.ts';

const ev = (vpn: number, deviceId: number, write = false): AccessEvent => ({ vpn, deviceId, write, time: us(1) });

describe('first-touch', () => {
  it('populates an untouched page at the faulting device', () => {
    expect(firstTouchDecision(ev(7, 0), null)).toEqual({ kind: 'migrate', target: 0, vpns: [7] });
  });

  it('migrates a page resident elsewhere to the faulting device', () => {
    expect(firstTouchDecision(ev(9, 1, true), CPU)).toEqual({ kind: 'migrate', target: 1, vpns: [9] });
    expect(firstTouchDecision(ev(9, 1), 0)).toEqual({ kind: 'migrate', target: 1, vpns: [9] });
  });

  it('migrates back to system memory on a CPU fault', () => {
    expect(firstTouchDecision(ev(3, CPU), 2)).toEqual({ kind: 'migrate', target: CPU, vpns: [3] });
  });

  it('does nothing when the page is already local', () => {
    expect(firstTouchDecision(ev(5, 2, true), 2)).toEqual({ kind: 'none' });
    expect(firstTouchDecision(ev(5, CPU), CPU)).toEqual({ kind: 'none' });
  });

  it('rejects invalid ids', () => {
    expect(() => firstTouchDecision(ev(-1, 0), null)).toThrow(RangeError);
    expect(() => firstTouchDecision(ev(1, -2), null)).toThrow(RangeError);
    expect(() => firstTouchDecision(ev(1, 0), 1.5)).toThrow(RangeError);
  });
});
