// reuseHmmRange (src/hmm/range-fault.ts): a driver's one hmm_range, re-aimed call after call,
// must give hmm_range_fault exactly what a fresh newHmmRange gives, whatever the earlier calls
// left in its arrays (outputs past the new range's end, request bits, orders of a huge PMD).
import { describe, it, expect } from 'vitest';
import { Machine } from '../../src/api/machine.ts';
import { PMD_NR } from '../../src/mm/constants.ts';
import { hmmRangeFault, newHmmRange, reuseHmmRange, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, type HmmRange } from '../../src/hmm/range-fault.ts';
import { Rng } from '../../src/engine/rng.ts';

describe('reuseHmmRange', () => {
  it('gives hmm_range_fault the same outputs as a new range, over random ranges, requests and page states', () => {
    const m = new Machine();
    const p = m.spawn();
    const raw = p.mmap(4 * PMD_NR, 'anon', 'rw');
    const base = Math.ceil(raw / PMD_NR) * PMD_NR;
    const thp = p.mmap(3 * PMD_NR, 'thp', 'rw');
    const rng = new Rng(11);
    for (let i = 0; i < 200; i++) p.write(base + Math.floor(rng.nextFloat() * 2 * PMD_NR), 7);
    p.write(Math.ceil(thp / PMD_NR) * PMD_NR, 1);
    const mm = p.mm;
    const notifier = mm.notifiers.insert(0, Number.MAX_SAFE_INTEGER, () => true);
    let reused: HmmRange | null = null;
    for (let round = 0; round < 300; round++) {
      const inThp = round % 4 === 0;
      const lo = inThp ? thp : base;
      const span = inThp ? 3 * PMD_NR : 3 * PMD_NR;
      const start = lo + Math.floor(rng.nextFloat() * span);
      const end = Math.min(start + 1 + Math.floor(rng.nextFloat() * (round % 3 === 0 ? 700 : 40)), lo + span);
      const defaultFlags = round % 5 === 0 ? HMM_PFN_REQ_FAULT : 0;
      const reqs = Array.from({ length: end - start }, () => (rng.nextFloat() < 0.3 ? HMM_PFN_REQ_FAULT | (rng.nextFloat() < 0.5 ? HMM_PFN_REQ_WRITE : 0) : 0));
      const fresh = newHmmRange(notifier, start, end, defaultFlags, null);
      reused = reuseHmmRange(reused, notifier, start, end, defaultFlags, null);
      expect(reused.pfns.length).toBeGreaterThanOrEqual(end - start);
      for (const r of [fresh, reused]) {
        r.pfnFlagsMask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
        for (let i = 0; i < end - start; i++) r.flags[i] = reqs[i];
      }
      // The fresh range first: its faults populate pages, so the reused one reads the same state.
      fresh.notifierSeq = notifier.readBegin();
      const a = hmmRangeFault(mm, fresh);
      reused.notifierSeq = notifier.readBegin();
      const b = hmmRangeFault(mm, reused);
      const again = newHmmRange(notifier, start, end, defaultFlags, null);
      again.pfnFlagsMask = fresh.pfnFlagsMask;
      for (let i = 0; i < end - start; i++) again.flags[i] = reqs[i];
      again.notifierSeq = notifier.readBegin();
      const c = hmmRangeFault(mm, again);
      expect(b).toBe(c);
      expect(a === 0 || a < 0).toBe(true);
      const n = end - start;
      expect(Array.from(reused.pfns.subarray(0, n))).toEqual(Array.from(again.pfns));
      expect(Array.from(reused.flags.subarray(0, n))).toEqual(Array.from(again.flags));
      expect(Array.from(reused.order.subarray(0, n))).toEqual(Array.from(again.order));
    }
    // It grew once at most past a block, and otherwise kept its arrays.
    expect(reused!.pfns.length).toBeGreaterThanOrEqual(PMD_NR);
  });

  it('makes a new range when given none or one too short, and clears allowP2p', () => {
    const m = new Machine();
    const mm = m.spawn().mm;
    const notifier = mm.notifiers.insert(0, Number.MAX_SAFE_INTEGER, () => true);
    const r = reuseHmmRange(null, notifier, 10, 12, 0, null);
    expect(r.pfns.length).toBe(PMD_NR);
    r.allowP2p = () => true;
    r.pfns[5] = 99;
    const same = reuseHmmRange(r, notifier, 20, 30, HMM_PFN_REQ_FAULT, 'owner');
    expect(same).toBe(r);
    expect([same.start, same.end, same.defaultFlags, same.devPrivateOwner, same.allowP2p, same.pfns[5]]).toEqual([20, 30, HMM_PFN_REQ_FAULT, 'owner', undefined, 0]);
    const bigger = reuseHmmRange(r, notifier, 0, PMD_NR + 1, 0, null);
    expect(bigger).not.toBe(r);
    expect(bigger.pfns.length).toBe(PMD_NR + 1);
  });
});
