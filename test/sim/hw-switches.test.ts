// Hardware requirements of the HMM cover letter as profile switches with consequences:
// the device's mirroring granularity (false sharing) and device dirty-bit tracking. (Preemptible
// jobs are in scheduler.test.ts; replayable faults in fault-cost.test.ts; ATS/PRI/PASID in
// iommu.test.ts; page sizes in page-sizes.test.ts; coherent links in profile-fields.test.ts.)
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import { profile, pageLanes, sequence, streamLanes } from './helpers.ts';
import { ptePfn } from '../../src/mm/pte.ts';
import { PG_DIRTY } from '../../src/mm/page.ts';

describe('hardware switches', () => {
  it('memory.granularity: a 64 KiB device migrates the 16-page unit around one faulting page, and a CPU read of one page brings all 16 back (false sharing)', () => {
    const run = (granularity?: number) => {
      const base0 = profile('gpu-pcie4');
      const prof: Profile = { ...base0, memory: { ...base0.memory, ...(granularity ? { granularity: granularity as never } : {}) } };
      const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: prof, policies: { prefetch: { policy: 'prefetch-none' } } }] });
      const p = m.spawn();
      const base = p.mmap(512, 'anon', 'rw');
      // Start on a 64 KiB boundary so the unit is 16 whole pages of the buffer.
      const at = Math.ceil(base / 16) * 16;
      sequence(m, [
        () => m.cpuPhase(p, { name: 'init', threads: streamLanes(at, 16, 1, true), computePs: 0, accessBytes: 4096 }),
        () => m.launch('gpu0', p, { name: 'k', lanes: pageLanes([at + 3], true), computePs: 0, accessBytes: 64 }),
        () => m.cpuPhase(p, { name: 'touch', threads: pageLanes([at + 9], false), computePs: 0, accessBytes: 64 }),
      ]);
      m.run();
      return m.results('g').devices[0];
    };
    const fine = run(), coarse = run(64 * 1024);
    expect(fine.pagesIn).toBe(1);
    expect(fine.pagesOut).toBe(0); // page 9 never left the CPU
    expect(coarse.pagesIn).toBe(16);
    expect(coarse.pagesOut).toBe(16);
  });

  it('memory.readOnlyProtection false: the device maps untouched pages for write (real pages instead of the zero page), and cannot map a read-only VMA at all (fatal)', () => {
    const run = (readOnlyProtection: boolean, prot: string) => {
      const base0 = profile('gpu-pcie4');
      const prof: Profile = { ...base0, memory: { ...base0.memory, readOnlyProtection } };
      const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: prof, policies: { placement: { policy: 'map-remote' }, prefetch: { policy: 'prefetch-none' } } }] });
      const p = m.spawn();
      const base = p.mmap(16, 'anon', prot);
      const before = m.sys.pages.systemInUse;
      m.at(0, () => m.launch('gpu0', p, { name: 'read', lanes: streamLanes(base, 16, 4, false), computePs: 0, accessBytes: 64 }));
      m.run();
      return { d: m.results('ro').devices[0], grew: m.sys.pages.systemInUse - before };
    };
    const ro = run(true, 'rw'), noRo = run(false, 'rw');
    expect(ro.grew).toBe(0); // reads map the shared zero page read-only
    expect(noRo.grew).toBe(16); // each page faulted in for write
    expect(ro.d.faults.fatal).toBe(0);
    expect(run(true, 'r').d.faults.fatal).toBe(0);
    expect(run(false, 'r').d.faults.fatal).toBeGreaterThan(0);
  });

  it('memory.dirtyTracking false: the pinning driver copies every page back after the kernel, not only those the device wrote', () => {
    const run = (dirtyTracking: boolean) => {
      const base0 = profile('pascal-pcie3');
      const prof: Profile = { ...base0, driver: 'pinning', memory: { ...base0.memory, dirtyTracking } };
      const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: prof }] });
      const p = m.spawn();
      const base = p.mmap(32, 'anon', 'rw');
      sequence(m, [
        () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 32, 1, true), computePs: 0, accessBytes: 4096 }),
        () => m.launch('gpu0', p, { name: 'k', lanes: streamLanes(base, 4, 1, true), computePs: 1000, accessBytes: 64, regions: [{ base, pages: 32 }] }),
      ]);
      m.run();
      return m.results('d');
    };
    const tracked = run(true), untracked = run(false);
    expect(tracked.devices[0].pagesOut).toBe(4);
    expect(untracked.devices[0].pagesOut).toBe(32);
    expect(untracked.endPs).toBeGreaterThan(tracked.endPs);
  });

  it('memory.dirtyTracking false: the HMM mirror takes every system page it maps writable as written (dirty), not only those it wrote', () => {
    const dirty = (dirtyTracking: boolean) => {
      const base0 = profile('gpu-pcie4');
      const prof: Profile = { ...base0, memory: { ...base0.memory, dirtyTracking } };
      const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: prof, policies: { placement: { policy: 'map-remote', populateOn: 'system' }, prefetch: { policy: 'prefetch-none' } } }] });
      const p = m.spawn();
      const base = p.mmap(32, 'anon', 'rw');
      sequence(m, [
        () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 32, 1, true), computePs: 0, accessBytes: 4096 }),
        // Clean the CPU's dirty bits' mark on the pages, then let the GPU write 4 of them and map them all writable.
        () => {
          for (let v = base; v < base + 32; v++) m.sys.pages.clearFlag(ptePfn(p.mm.pt.pte(v)), PG_DIRTY);
          return m.launch('gpu0', p, { name: 'k', lanes: [...streamLanes(base, 4, 1, true), ...streamLanes(base + 4, 28, 1, false)], computePs: 1000, accessBytes: 64 });
        },
      ]);
      m.run();
      let n = 0;
      for (let v = base; v < base + 32; v++) if (m.sys.pages.hasFlag(ptePfn(p.mm.pt.pte(v)), PG_DIRTY)) n++;
      return n;
    };
    expect(dirty(true)).toBe(4);
    expect(dirty(false)).toBeGreaterThan(4);
  });
});
