import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { applyReadDuplication, readDuplicationDecision } from '../../src/policy/read-duplication.ts';
import { CPU, type AccessEvent } from '../../src/policy/types.ts';
import { us } from '../../src/units/time.ts';

const read = (deviceId: number): AccessEvent => ({ vpn: 42, deviceId, write: false, time: us(1) });
const write = (deviceId: number): AccessEvent => ({ ...read(deviceId), write: true });

describe('read duplication', () => {
  it('duplicates on reads from two devices, then a write collapses to the writer', () => {
    let copies = [CPU];
    const d0 = readDuplicationDecision(read(0), copies);
    expect(d0).toEqual({ kind: 'duplicate', target: 0, source: CPU, vpns: [42] });
    copies = applyReadDuplication(copies, d0);
    const d1 = readDuplicationDecision(read(1), copies);
    expect(d1).toEqual({ kind: 'duplicate', target: 1, source: CPU, vpns: [42] });
    copies = applyReadDuplication(copies, d1);
    expect(copies).toEqual([CPU, 0, 1]);
    const w = readDuplicationDecision(write(1), copies);
    expect(w).toEqual({ kind: 'collapse', target: 1, source: null, invalidate: [CPU, 0], vpns: [42] });
    expect(applyReadDuplication(copies, w)).toEqual([1]);
  });

  it('a write by a processor without a copy copies from one and invalidates all others', () => {
    expect(readDuplicationDecision(write(2), [1, 0])).toEqual({
      kind: 'collapse', target: 2, source: 0, invalidate: [0, 1], vpns: [42],
    });
    expect(readDuplicationDecision(write(CPU), [0, 1])).toMatchObject({ target: CPU, invalidate: [0, 1] });
  });

  it('does nothing for a read by a holder or a write by the sole holder', () => {
    expect(readDuplicationDecision(read(0), [CPU, 0])).toEqual({ kind: 'none' });
    expect(readDuplicationDecision(write(0), [0])).toEqual({ kind: 'none' });
  });

  it('populates at the accessor when there is no copy', () => {
    expect(readDuplicationDecision(read(3), [])).toEqual({ kind: 'migrate', target: 3, vpns: [42] });
    expect(readDuplicationDecision(write(3), [])).toEqual({ kind: 'migrate', target: 3, vpns: [42] });
  });

  it('after any access sequence: the accessor holds a copy, and a write leaves exactly one copy', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dev: fc.integer({ min: -1, max: 3 }), w: fc.boolean() }), { maxLength: 40 }),
        (accesses) => {
          let copies: number[] = [];
          for (const a of accesses) {
            const ev = a.w ? write(a.dev) : read(a.dev);
            copies = applyReadDuplication(copies, readDuplicationDecision(ev, copies));
            expect(copies).toContain(a.dev);
            if (a.w) expect(copies).toEqual([a.dev]);
          }
        },
      ),
    );
  });
});
