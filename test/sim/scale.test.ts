// Runs at the scale of real working sets. First, results of runs with more per-fault records
// than a spread can put on the call stack: a GPU streaming over 512 MiB the CPU wrote,
// prefetching off, raises 131,072 faults (a spread `push(...latencies)` threw RangeError from
// about 125,000 elements on). Then the memory claim of issue 17 without timing anything: the
// same pages streamed 1 and 4 times (N and 4N faults) leave the machine holding the same state,
// counted as elements of every array, typed array, Map and Set reachable from it, and results
// of the same size: nothing is kept per fault or per batch beyond the stated caps.
import { describe, expect, it } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { appendAll } from '../../src/units/append.ts';
import { bytes } from '../../src/units/bytes.ts';
import { encodeAccess, type LaneProgram } from '../../src/sim/program.ts';
import { profile, streamLanes } from './helpers.ts';

/** Elements held by every array, typed array, Map and Set reachable from `root` (each counted once). */
function retainedElements(root: object): number {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  let total = 0;
  while (stack.length > 0) {
    const o = stack.pop();
    if (o === null || typeof o !== 'object' || seen.has(o)) continue;
    seen.add(o);
    if (ArrayBuffer.isView(o)) total += (o as unknown as ArrayLike<unknown>).length ?? 0;
    else if (Array.isArray(o)) {
      total += o.length;
      for (const x of o) stack.push(x);
    } else if (o instanceof Map) {
      total += o.size;
      for (const [k, v] of o) stack.push(k, v);
    } else if (o instanceof Set) {
      total += o.size;
      for (const v of o) stack.push(v);
    } else for (const v of Object.values(o)) stack.push(v);
  }
  return total;
}

/** Longest array anywhere in a JSON value. */
function longestArray(v: unknown): number {
  if (Array.isArray(v)) return Math.max(v.length, ...v.map(longestArray));
  if (v !== null && typeof v === 'object') return Math.max(0, ...Object.values(v).map(longestArray));
  return 0;
}

const PAGES = 8192;
const CAP = 32;

/** One GPU with room for half of PAGES untouched pages, 4 lanes streaming them `passes` times. */
function streamed(passes: number) {
  const m = new SimMachine({
    seed: 1, data: false, bucketPs: 1e12, maxSpans: CAP, maxBatchRecords: CAP,
    devices: [{ name: 'g', profile: { ...profile('gpu-pcie4'), memory: { ...profile('gpu-pcie4').memory, capacity: bytes((PAGES / 2) * 4096) } }, policies: { prefetch: { policy: 'prefetch-none' } } }],
  });
  const p = m.spawn();
  const base = Math.ceil(p.mmap(PAGES + 512, 'anon', 'rw') / 512) * 512;
  const per = PAGES / 4;
  const lanes: LaneProgram[] = Array.from({ length: 4 }, (_, i) => {
    const lo = base + i * per;
    let v = lo, pass = 0;
    return {
      next: () => {
        if (v === lo + per) {
          if (++pass === passes) return -1;
          v = lo;
        }
        return encodeAccess(v++, false);
      },
    };
  });
  m.launch('g', p, { name: 'stream', lanes, computePs: 1000, accessBytes: 4096 });
  m.run();
  return { m, r: m.results('scale') };
}

describe('runs at the scale of real working sets', () => {
  it('appendAll appends more elements than a call can take as arguments', () => {
    const dst = [1];
    appendAll(dst, new Array(500_000).fill(2));
    expect(dst.length).toBe(500_001);
    expect(dst[500_000]).toBe(2);
  });

  it('a kernel raising 131,072 faults collects its results', () => {
    const m = new SimMachine({ seed: 1, data: false, devices: [{ name: 'g', profile: profile('gpu-pcie4'), policies: { prefetch: { policy: 'prefetch-none' } } }] });
    const p = m.spawn();
    const pages = 131_072;
    const base = p.mmap(pages, 'anon', 'rw');
    m.cpuPhase(p, { name: 'init', threads: streamLanes(base, pages, 1, true), computePs: 0, accessBytes: 4096 })
      .onDone(() => m.launch('g', p, { name: 'k', lanes: streamLanes(base, pages, 256, false), computePs: 0, accessBytes: 64 }));
    m.run();
    const r = m.results('scale');
    expect(r.devices[0].faults.raised).toBeGreaterThanOrEqual(pages);
    expect(r.devices[0].pagesIn).toBe(pages);
    expect(r.faultLatency.count).toBeGreaterThanOrEqual(pages);
  });

  it('4x the faults over the same pages: the machine and its results hold no more state', () => {
    const once = streamed(1), four = streamed(4);
    // Every pass faults every page in again (half of them evicted meanwhile): 4x the faults.
    expect(once.r.faultLatency.count).toBe(PAGES);
    expect(four.r.faultLatency.count).toBe(4 * PAGES);
    expect(four.r.batchSummary.count).toBeGreaterThanOrEqual(4 * once.r.batchSummary.count - 4);
    expect(four.r.devices[0].evictions.pages).toBeGreaterThan(3 * PAGES);
    // Retained model state: growth bounded by the pages (free lists), not by the faults.
    const [a, b] = [retainedElements(once.m), retainedElements(four.m)];
    expect(a).toBeGreaterThan(PAGES);
    expect(b - a).toBeLessThanOrEqual(PAGES / 2);
    // Results: the caps hold and nothing else grows with the faults.
    expect(four.r.batches.length).toBe(CAP);
    expect(four.r.spans.length).toBe(CAP);
    expect(longestArray(four.r)).toBe(longestArray(once.r));
    expect(JSON.stringify(four.r).length).toBeLessThan(1.1 * JSON.stringify(once.r).length);
  });
});
