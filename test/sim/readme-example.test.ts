import { describe, it, expect } from 'vitest';
import { SimMachine, loadProfile, PROFILES_DIR, encodeAccess } from '../../src/index.ts';

// The README's timed-model example, with its claims asserted.
describe('README timed-model example', () => {
  it('runs as documented', () => {
    const gpu = loadProfile(`${PROFILES_DIR}pascal-pcie3.yaml`);
    const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: gpu }] });
    const p = m.spawn();
    const base = p.mmap(2048, 'anon', 'rw');
    const lane = (from: number, n: number, write: boolean) => {
      let i = 0;
      return { next: () => (i < n ? encodeAccess(from + i++, write) : -1) };
    };
    m.cpuPhase(p, { name: 'init', threads: [lane(base, 2048, true)], computePs: 0, accessBytes: 4096 })
      .onDone(() => m.launch('gpu0', p, {
        name: 'stream', computePs: 10_000, accessBytes: 4096,
        lanes: Array.from({ length: 32 }, (_, i) => lane(base + i * 64, 64, false)),
      }));
    m.run();
    const r = m.results('example');
    expect(r.devices[0].faults.serviced).toBeGreaterThan(0);
    expect(r.devices[0].faults.serviced).toBeLessThan(2048 / 4);
    expect(r.devices[0].pagesIn).toBe(2048);
    expect(r.batches[0].device).toBe('gpu0');
    expect(r.batches[0].cached_faults).toBeGreaterThan(0);
  });
});
