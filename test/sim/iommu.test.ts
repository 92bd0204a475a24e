// The IOMMU capabilities of an SVA device (profile `iommu`): PASID is required, PRI decides
// whether the device can fault (without it the driver pins the regions up front and anything
// else is a fatal translation fault), ATS whether the device caches translations.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { parseProfile, PROFILES_DIR } from '../../src/devices/profile/load.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import { profile, streamLanes, sequence } from './helpers.ts';

const SVA_TEXT = readFileSync(`${PROFILES_DIR}sva-accelerator.yaml`, 'utf8');

/** The shipped SVA accelerator with other IOMMU flags (priCost dropped without PRI). */
function sva(iommu: Partial<NonNullable<Profile['iommu']>>): Profile {
  const p = profile('sva-accelerator');
  const flags = { pasid: true, pri: true, ats: true, ...iommu };
  // Without PRI the device never faults, so it has no fault section at all.
  return { ...p, iommu: flags, fault: flags.pri ? p.fault : undefined };
}

/** The CPU writes the first half of a 64-page buffer, then the device writes all of it `passes` times. */
function run(prof: Profile, opts: { passes?: number; regionPages?: number } = {}) {
  const m = new SimMachine({ seed: 1, devices: [{ name: 'acc0', profile: prof }] });
  const p = m.spawn();
  const base = p.mmap(64, 'anon', 'rw');
  const pinsSeen: number[] = [];
  sequence(m, [
    () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 32, 1, true), computePs: 0, accessBytes: 4096 }),
    () => {
      const k = m.launch('acc0', p, { name: 'k', lanes: streamLanes(base, 64, 4, true, opts.passes ?? 1), computePs: 1000, accessBytes: 64, regions: [{ base, pages: opts.regionPages ?? 64 }] });
      m.at(m.engine.now + 1, () => pinsSeen.push(m.results('x').devices[0].pinnedPages));
      return k;
    },
  ]);
  m.run();
  return { d: m.results('iommu').devices[0], m, p, base, pinsSeen };
}

describe('iommu flags of an SVA device', () => {
  it('iommu.pasid false: driver sva is refused at load with one line', () => {
    const text = SVA_TEXT.replace('iommu: { pasid: true,', 'iommu: { pasid: false,');
    expect(() => parseProfile(text, 'sva.yaml')).toThrow(/^sva\.yaml:\d+:\d+: iommu\.pasid: driver sva shares the process address space through a PASID \(iommu_sva_bind_device fails without one\); use driver pinning for a device without PASID$/);
  });

  it('iommu.pri false: no page requests; the driver pins the regions before the kernel and unpins after; a fault section is refused', () => {
    const withPri = run(sva({}));
    expect(withPri.d.faults.pri).toBe(32);
    expect(withPri.pinsSeen).toEqual([0]);
    const noPri = run(sva({ pri: false }));
    expect(noPri.d.faults.pri).toBe(0);
    expect(noPri.d.faults.raised).toBe(0);
    expect(noPri.pinsSeen).toEqual([64]);
    expect(noPri.d.pinnedPages).toBe(0);
    expect(noPri.d.accesses.remote).toBe(64);
    for (let v = noPri.base; v < noPri.base + 64; v++) expect(noPri.m.sys.pages.pincount[noPri.p.access(v, false) as number]).toBe(0);
    const text = SVA_TEXT.replace('pri: true', 'pri: false');
    expect(() => parseProfile(text, 'sva.yaml')).toThrow(/^sva\.yaml:\d+:\d+: fault: an sva device without PRI \(iommu\.pri false\) pins its regions up front and never faults: remove the fault section$/);
    // Without the fault section (and its sources) the profile loads.
    const noFault = text.replace(/\nfault:\n( {2}.*\n)+/, '\n').replace(/\n {2}fault\.\w+: .*(?=\n)/g, '');
    expect(parseProfile(noFault, 'sva.yaml').iommu?.pri).toBe(false);
  });

  it('iommu.pri false: an access outside the pinned regions is a fatal translation fault, not a page request', () => {
    const noPri = run(sva({ pri: false }), { regionPages: 32 });
    expect(noPri.d.faults.fatal).toBeGreaterThan(0);
    expect(noPri.d.faults.pri).toBe(0);
    const withPri = run(sva({}), { regionPages: 32 });
    expect(withPri.d.faults.fatal).toBe(0);
  });

  it('iommu.ats false: no ATC, every access pays an IOMMU translation, and invalidations cost the device nothing', () => {
    const len = (d: { kernels: readonly { startPs: number; endPs: number }[] }) => d.kernels[0].endPs - d.kernels[0].startPs;
    const ats = run(sva({}), { passes: 4 });
    const noAts = run(sva({ ats: false }), { passes: 4 });
    expect(ats.d.tlb.hits).toBeGreaterThan(0);
    expect(noAts.d.tlb.hits).toBe(0);
    expect(noAts.d.tlb.misses).toBe(4 * 64);
    expect(len(noAts.d)).toBeGreaterThan(len(ats.d));
    ats.p.munmap(ats.base, 64);
    noAts.p.munmap(noAts.base, 64);
    expect(ats.m.results('x').devices[0].time.invalidation).toBeGreaterThan(0);
    expect(noAts.m.results('x').devices[0].time.invalidation).toBe(0);
  });

  it('iommu applies only to driver sva', () => {
    const text = readFileSync(`${PROFILES_DIR}gpu-pcie4.yaml`, 'utf8').replace('\nfault:', '\niommu: { pasid: true, pri: true, ats: true }\nfault:');
    expect(() => parseProfile(text, 'g.yaml')).toThrow(/^g\.yaml:\d+:\d+: iommu: iommu applies only to driver sva, not hmm-mirror$/);
  });
});
