// Fidelity tests of the timed model against published anchors (anchors-uvm.md).
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { profile, pageLanes, streamLanes, sequence } from './helpers.ts';
import type { RunResults } from '../../src/sim/results.ts';

/** One kernel whose lanes each fault one page of `pages` contiguous ones, all in one batch. */
function migrateOnce(pages: number): RunResults {
  // A batch of 512 faults so the 2 MiB point is one copy (the profile fetches 256 per batch).
  const base0 = profile('pascal-pcie3');
  const prof = { ...base0, fault: { ...base0.fault!, batchSize: 512 } };
  const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: prof, policies: { prefetch: { policy: 'prefetch-none' } } }] });
  const p = m.spawn();
  const base = p.mmap(pages + 512, 'anon', 'rw');
  const start = Math.ceil(base / 512) * 512; // one 2 MiB block
  sequence(m, [
    () => m.cpuPhase(p, { name: 'init', threads: streamLanes(start, pages, 1, true), computePs: 0, accessBytes: 4096 }),
    () => m.launch('gpu0', p, { name: 'touch', lanes: pageLanes(Array.from({ length: pages }, (_, i) => start + i), false), computePs: 0, accessBytes: 64 }),
  ]);
  m.run();
  return m.results('curve');
}

describe('PCIe 3 transfer curve (anchors-uvm.md c.3: UVMSmart fit on a GTX 1080 Ti)', () => {
  // Published points: 4 KiB 2.17 GB/s, 64 KiB 10.4 GB/s, 2 MiB 11.95 GB/s.
  for (const [pages, gbps] of [[1, 2.17], [16, 10.4], [512, 11.95]] as const) {
    it(`a fault-driven migration of ${pages * 4} KiB moves at ${gbps} GB/s within 10 %`, () => {
      const r = migrateOnce(pages);
      const b = r.batches.filter((x) => x.device === 'gpu0');
      expect(b).toHaveLength(1);
      expect(b[0].transfer_size).toBe(pages * 4096);
      expect(b[0].num_transfers).toBe(1);
      const seconds = b[0].batch_transfer * 1e-9;
      const measured = (pages * 4096) / seconds / 1e9;
      expect(Math.abs(measured - gbps) / gbps).toBeLessThan(0.1);
    });
  }
});

/** A streaming kernel over `factor` × device memory, `passes` times, one lane, after a CPU init. */
function streamOversubscribed(factor: number, passes: number, eviction: object = { policy: 'evict-lru-chunk' }): RunResults {
  const chunks = 4;
  const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: profile('pascal-pcie3', chunks * 2 * 1024 * 1024), policies: { eviction } }] });
  const p = m.spawn();
  const pages = Math.round(factor * chunks * 512);
  const raw = p.mmap(pages + 512, 'anon', 'rw');
  const base = Math.ceil(raw / 512) * 512;
  sequence(m, [
    () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, pages, 1, true), computePs: 0, accessBytes: 4096 }),
    () => m.launch('gpu0', p, { name: 'stream', lanes: streamLanes(base, pages, 1, false, passes), computePs: 50_000, accessBytes: 4096 }),
  ]);
  m.run();
  return m.results(`oversub-${factor}`);
}

describe('oversubscription', () => {
  const passes = 3;
  const half = streamOversubscribed(0.5, passes);
  const over = streamOversubscribed(1.5, passes);
  const kernelTime = (r: RunResults) => r.devices[0].kernels.find((k) => k.name === 'stream')!.endPs - r.devices[0].kernels.find((k) => k.name === 'stream')!.startPs;

  it('a streaming kernel at 1.5× device memory is slower per page than at 0.5×', () => {
    const perPageHalf = kernelTime(half) / (0.5 * 4 * 512);
    const perPageOver = kernelTime(over) / (1.5 * 4 * 512);
    expect(perPageOver).toBeGreaterThan(perPageHalf * 1.5);
  });

  it('evicts nothing when the working set fits', () => {
    expect(half.devices[0].evictions).toEqual({ pages: 0, units: 0 });
  });

  it('LRU root-chunk eviction matches the working-set arithmetic', () => {
    // W = 6 blocks, C = 4 chunks, P passes of a sequential scan under LRU: the first pass
    // evicts W − C chunks; every later pass misses on every block (LRU's streaming pathology),
    // so it evicts W chunks. Each eviction moves a whole 2 MiB chunk (512 pages).
    const W = 6, C = 4;
    const units = (W - C) + (passes - 1) * W;
    expect(over.devices[0].evictions.units).toBe(units);
    expect(over.devices[0].evictions.pages).toBe(units * 512);
    expect(over.batches.reduce((a, b) => a + b.num_evict, 0)).toBe(units * 512);
    // Every page migrated in was evicted or is still resident (C full chunks).
    expect(over.devices[0].pagesIn).toBe(units * 512 + C * 512);
  });
});

describe('prefetching', () => {
  function run(prefetch: object): RunResults {
    const m = new SimMachine({ seed: 3, devices: [{ name: 'gpu0', profile: profile('pascal-pcie3'), policies: { prefetch } }] });
    const p = m.spawn();
    const pages = 4 * 512;
    const base = p.mmap(pages, 'anon', 'rw');
    sequence(m, [
      () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, pages, 2, true), computePs: 0, accessBytes: 4096 }),
      () => m.launch('gpu0', p, { name: 'stream', lanes: streamLanes(base, pages, 8, false), computePs: 50_000, accessBytes: 4096 }),
    ]);
    m.run();
    return m.results('prefetch');
  }
  it('the density prefetcher cuts the faults of a streaming kernel', () => {
    const on = run({ policy: 'prefetch-density' });
    const off = run({ policy: 'prefetch-none' });
    expect(off.devices[0].faults.serviced).toBe(4 * 512);
    expect(on.devices[0].faults.serviced).toBeLessThan(off.devices[0].faults.serviced / 4);
    expect(on.devices[0].prefetched).toBeGreaterThan(0);
    expect(off.devices[0].prefetched).toBe(0);
    // Both end with every page on the device.
    expect(on.devices[0].pagesIn).toBe(4 * 512);
    expect(off.devices[0].pagesIn).toBe(4 * 512);
    const kt = (r: RunResults) => r.devices[0].kernels[0].endPs - r.devices[0].kernels[0].startPs;
    expect(kt(on)).toBeLessThan(kt(off));
  });
});
