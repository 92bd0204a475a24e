// Results of runs with more per-fault records than a spread can put on the call stack: a GPU
// streaming over 512 MiB the CPU wrote, prefetching off, raises 131,072 faults (a spread
// `push(...latencies)` threw RangeError from about 125,000 elements on).
import { describe, expect, it } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { appendAll } from '../../src/units/append.ts';
import { profile, streamLanes } from './helpers.ts';

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
});
