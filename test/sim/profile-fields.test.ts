// One test per device-profile field that no behaviour test elsewhere varies: each changes the
// field on a shipped profile and checks the effect the schema documents (test/schema/fields.ts
// maps every profile field to the test that exercises it).
import { describe, it, expect } from 'vitest';
import { SimMachine, defaultTopology } from '../../src/sim/machine.ts';
import { effectiveBandwidth, transferTime } from '../../src/devices/profile/load.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import { profilesCommand } from '../../src/cli/profiles.ts';
import { Topology } from '../../src/topology/routing.ts';
import { parseTopologySpec } from '../../src/topology/spec.ts';
import { profile, streamLanes, pageLanes, sequence } from './helpers.ts';

const KiB = 1024, MiB = 1024 * KiB;
type Edit = (p: Profile) => Profile;
const edit = (name: string, f: Edit): Profile => f(profile(name));
const ps = (n: number) => n as NonNullable<Profile['fault']>['serviceLatency'];
const bytes = (n: number) => n as Profile['memory']['capacity'];

/** The CPU fills `pages` pages, then device `d` streams them `passes` times with `lanes` lanes. */
function stream(prof: Profile, pages = 256, o: { passes?: number; lanes?: number; write?: boolean; after?: (m: SimMachine, p: ReturnType<SimMachine['spawn']>, base: number) => void } = {}) {
  const m = new SimMachine({ seed: 1, data: false, devices: [{ name: 'd', profile: prof }] });
  const p = m.spawn();
  const raw = p.mmap(pages + 512, 'anon', 'rw');
  const base = raw + ((512 - (raw % 512)) % 512);
  sequence(m, [
    () => m.cpuPhase(p, { name: 'fill', threads: streamLanes(base, pages, 1, true), computePs: 0, accessBytes: 4096 }),
    () => m.launch('d', p, { name: 'k', lanes: streamLanes(base, pages, o.lanes ?? 4, o.write ?? false, o.passes ?? 1), computePs: 1000, accessBytes: 4096, regions: [{ base, pages }] }),
  ]);
  m.run();
  o.after?.(m, p, base);
  const r = m.results('f');
  const d = r.devices[0];
  return { r, d, len: d.kernels[0].endPs - d.kernels[0].startPs };
}

/** Kernel length of `stream`. */
const len = (prof: Profile, pages?: number, o?: Parameters<typeof stream>[2]) => stream(prof, pages, o).len;

/** `hetmem profiles` output for the shipped profiles. */
async function listing(): Promise<string> {
  let out = '';
  const io = { out: { write: (s: string) => (out += s) }, err: { write: () => true }, env: {} } as unknown as Parameters<typeof profilesCommand>[2];
  await profilesCommand([], {}, io);
  return out;
}

describe('profile fields: identity and description', () => {
  it('description and kind are what hetmem profiles lists for each profile; kind sva-accelerator requires driver sva', async () => {
    const text = await listing();
    for (const p of ['gpu-pcie4', 'rdma-nic', 'sva-accelerator'].map((n) => profile(n))) {
      const row = text.split('\n').find((l) => l.startsWith(`${p.name} `))!;
      expect(row).toContain(p.description);
      expect(row).toMatch(new RegExp(`^${p.name} +${p.kind} +${p.driver} `));
    }
  });
});

describe('profile fields: memory', () => {
  it('memory.capacity: a device with less memory than the kernel streams evicts; with enough it does not', () => {
    const small = stream(edit('gpu-pcie4', (p) => ({ ...p, memory: { ...p.memory, capacity: bytes(2 * MiB) } })), 1024);
    const big = stream(edit('gpu-pcie4', (p) => ({ ...p, memory: { ...p.memory, capacity: bytes(64 * MiB) } })), 1024);
    expect(small.d.evictions.pages).toBeGreaterThan(0);
    expect(big.d.evictions.pages).toBe(0);
  });

  it('memory.chunkSize: device memory is allocated in root chunks of that size', () => {
    const chunks = (chunkSize: number) => {
      const r = stream(edit('gpu-pcie4', (p) => ({ ...p, memory: { ...p.memory, chunkSize: bytes(chunkSize), capacity: bytes(8 * MiB) } })), 512).r;
      return Math.max(...r.batches.map((b) => b.root_chunk_allocs));
    };
    expect(chunks(2 * MiB)).toBe(1);
    expect(chunks(64 * KiB)).toBe(32);
  });
});

describe('profile fields: link', () => {
  it('link.kind: a PCIe device hangs off a root port; an nvlink-c2c one gets a private link to the socket', () => {
    const c2c = profile('gh200-c2c');
    const pcie = profile('gpu-pcie4');
    const t = defaultTopology([{ name: 'a', profile: c2c }, { name: 'b', profile: pcie }]);
    expect(t.links!.find((l) => l.id === 'a-host')).toMatchObject({ kind: 'nvlink-c2c', a: 'cpu0', b: 'a' });
    expect(t.endpoints!.find((e) => e.id === 'b')!.parent).toBe('rp-b');
    expect(t.endpoints!.find((e) => e.id === 'a')!.parent).toBeUndefined();
  });

  it('link.pcie.gen and link.pcie.width set the PCIe bandwidth a transfer and the default topology get', () => {
    const bw = (gen: 3 | 4 | 5, width: 8 | 16) => {
      // Without the measured per-direction bandwidths the PCIe payload rate is the peak.
      const p = edit('gpu-pcie4', (x) => ({ ...x, link: { ...x.link, pcie: { gen, width }, hostToDevice: undefined, deviceToHost: undefined } }));
      const route = new Topology(parseTopologySpec(defaultTopology([{ name: 'g', profile: p }]))).route('cpu0', 'g')!;
      return { curve: effectiveBandwidth(p, 2 * MiB), route: route.bandwidth };
    };
    expect(bw(5, 16).curve).toBeGreaterThan(bw(4, 16).curve);
    expect(bw(4, 8).curve).toBeLessThan(bw(4, 16).curve);
    expect(bw(5, 16).route).toBeGreaterThan(bw(4, 16).route);
    expect(bw(4, 8).route).toBeLessThan(bw(4, 16).route);
  });

  it('link.hostToDevice and link.deviceToHost set each direction of a non-PCIe link', () => {
    const p = profile('gh200-c2c');
    const q = { ...p, link: { ...p.link, hostToDevice: p.link.hostToDevice! / 2, deviceToHost: p.link.deviceToHost! * 2 } } as Profile;
    expect(transferTime(q, 2 * MiB, 'h2d')).toBeGreaterThan(transferTime(p, 2 * MiB, 'h2d'));
    expect(transferTime(q, 2 * MiB, 'd2h')).toBeLessThan(transferTime(p, 2 * MiB, 'd2h'));
    const link = defaultTopology([{ name: 'g', profile: q }]).links!.find((l) => l.id === 'g-host')!;
    expect([link.bandwidth, link.reverseBandwidth]).toEqual([q.link.hostToDevice, q.link.deviceToHost]);
  });

  it('link.latency is the latency of the PCIe link above the device in the default topology', () => {
    const lat = (latency: number) => {
      const p = edit('gpu-pcie4', (x) => ({ ...x, link: { ...x.link, latency: ps(latency) } }));
      return new Topology(parseTopologySpec(defaultTopology([{ name: 'g', profile: p }]))).route('cpu0', 'g')!.latencyPs;
    };
    expect(lat(5_000_000) - lat(1_000_000)).toBe(4_000_000);
  });

  it('link.coherent: coherent device memory stays on the device when the CPU reads it; private memory migrates back', () => {
    const back = (coherent: boolean) => stream(edit('gpu-pcie4', (p) => ({ ...p, link: { ...p.link, coherent } })), 64, {
      after: (m, p, base) => {
        for (let v = base; v < base + 64; v++) p.access(v, false);
      },
    }).r.devices[0].pagesOut;
    expect(back(false)).toBe(64);
    expect(back(true)).toBe(0);
  });

  it('link.peer.kind, link.peer.bandwidth and link.peer.latency: the default topology joins peers with that link; nvlink and xgmi share an address-space group, cxl does not', () => {
    const peer = (kind: 'nvlink' | 'xgmi' | 'cxl', bandwidth: number, latency: number) => {
      const p = profile('mi250x-xnack');
      const prof = { ...p, link: { ...p.link, peer: { ...p.link.peer!, kind, bandwidth, latency: ps(latency) } } } as Profile;
      const devices = [{ name: 'a', profile: prof }, { name: 'b', profile: prof }];
      const m = new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, devices });
      return { link: defaultTopology(devices).links!.find((l) => l.id === 'a-b')!, grouped: m.groups.groupOf('a') === m.groups.groupOf('b') };
    };
    expect(peer('xgmi', 100e9, 700_000)).toMatchObject({ link: { kind: 'xgmi', bandwidth: 100e9, latencyPs: 700_000 }, grouped: true });
    expect(peer('nvlink', 300e9, 500_000)).toMatchObject({ link: { kind: 'nvlink', bandwidth: 300e9 }, grouped: true });
    expect(peer('cxl', 64e9, 500_000)).toMatchObject({ link: { kind: 'cxl' }, grouped: false });
  });
});

describe('profile fields: fault', () => {
  it('fault.coalesceDuplicates: faults of several lanes on one page become one serviced fault only when on', () => {
    const same = (coalesceDuplicates: boolean) => {
      const prof = edit('gpu-pcie4', (p) => ({ ...p, fault: { ...p.fault!, coalesceDuplicates } }));
      const m = new SimMachine({ seed: 1, data: false, devices: [{ name: 'd', profile: prof }] });
      const p = m.spawn();
      const base = p.mmap(1, 'anon', 'rw');
      sequence(m, [() => m.launch('d', p, { name: 'k', lanes: pageLanes([base, base, base, base], false), computePs: 1000, accessBytes: 64 })]);
      m.run();
      return m.results('c').devices[0].faults;
    };
    expect(same(true)).toMatchObject({ coalesced: 3, serviced: 1 });
    expect(same(false)).toMatchObject({ coalesced: 0, serviced: 4 });
  });

  it('fault.priCost: each PCIe page request of an SVA device costs it, so a dearer round trip adds the difference per request', () => {
    // Pages the CPU never touched fault through PRI.
    const cold = (cost: number) => {
      const prof = edit('sva-accelerator', (p) => ({ ...p, fault: { ...p.fault!, priCost: ps(cost) } }));
      const m = new SimMachine({ seed: 1, data: false, devices: [{ name: 'd', profile: prof }] });
      const p = m.spawn();
      const base = p.mmap(32, 'anon', 'rw');
      sequence(m, [() => m.launch('d', p, { name: 'k', lanes: streamLanes(base, 32, 4, true), computePs: 1000, accessBytes: 64 })]);
      m.run();
      return m.results('p').devices[0];
    };
    const cheap = cold(1_000_000), dear = cold(20_000_000);
    expect(dear.faults.pri).toBe(cheap.faults.pri);
    expect(dear.time.faultService - cheap.time.faultService).toBe(cheap.faults.pri * 19_000_000);
  });
});

describe('profile fields: copy engines and transfer curve', () => {
  /** A Pascal profile without its curve, with 64 KiB copies, so copies spread over the engines. */
  const engines = (count: number, bandwidth: number | undefined, chunkSize = 64 * KiB) => edit('pascal-pcie3', (p) => {
    const { transferCurve: _, ...rest } = p;
    return { ...rest, copyEngines: { ...p.copyEngines!, count, bandwidth, chunkSize: bytes(chunkSize) } } as Profile;
  });

  it('copyEngines.count and copyEngines.bandwidth: engines capped below the link copy faster in parallel', () => {
    expect(len(engines(4, 1e9), 1024)).toBeLessThan(len(engines(1, 1e9), 1024));
    expect(len(engines(2, 0.5e9), 1024)).toBeGreaterThan(len(engines(2, 4e9), 1024));
  });

  it('copyEngines.chunkSize: a migration is split into copies of at most that size', () => {
    const transfers = (chunkSize: number) => stream(engines(2, undefined, chunkSize), 512).r.batches.reduce((a, b) => a + b.num_transfers, 0);
    expect(transfers(64 * KiB)).toBeGreaterThan(transfers(2 * MiB));
  });

  it('copyEngines.setupLatency: without a transfer curve every copy pays it, so small copies get slower', () => {
    const p = engines(2, undefined);
    const q = { ...p, copyEngines: { ...p.copyEngines!, setupLatency: ps(20_000_000) } } as Profile;
    expect(transferTime(q, 4 * KiB)).toBeGreaterThan(transferTime(p, 4 * KiB) + 15_000_000);
  });

  it('transferCurve[].size and transferCurve[].bandwidth: the curve sets the bandwidth a transfer of each size gets', () => {
    const p = profile('pascal-pcie3');
    const curve = p.transferCurve!;
    const halved = { ...p, transferCurve: curve.map((pt) => ({ ...pt, bandwidth: pt.bandwidth / 2 })) } as Profile;
    const shifted = { ...p, transferCurve: curve.map((pt) => ({ ...pt, size: pt.size * 2 })) } as Profile;
    expect(effectiveBandwidth(halved, 64 * KiB)).toBeCloseTo(effectiveBandwidth(p, 64 * KiB) / 2, 0);
    expect(effectiveBandwidth(shifted, 64 * KiB)).toBeLessThan(effectiveBandwidth(p, 64 * KiB));
  });
});

describe('profile fields: tlb', () => {
  const tlb = (t: Partial<Profile['tlb']>) => edit('sva-accelerator', (p) => ({ ...p, tlb: { ...p.tlb, ...t } }));

  it('tlb.entries: a smaller TLB misses more on the same kernel', () => {
    expect(stream(tlb({ entries: 16 }), 64, { passes: 3 }).d.tlb.misses).toBeGreaterThan(stream(tlb({ entries: 512 }), 64, { passes: 3 }).d.tlb.misses);
  });

  it('tlb.missCost: every miss costs it, so a dearer walk lengthens the kernel', () => {
    const a = stream(tlb({ missCost: ps(100_000) }), 64), b = stream(tlb({ missCost: ps(1_100_000) }), 64);
    expect(b.d.tlb.misses).toBe(a.d.tlb.misses);
    expect(b.len).toBeGreaterThan(a.len);
  });

  it('tlb.invalidationCost: a CPU munmap charges each shootdown at that cost', () => {
    const inv = (cost: number) => stream(tlb({ invalidationCost: ps(cost) }), 64, { after: (_m, p, base) => p.munmap(base, 64) }).d.time.invalidation;
    expect(inv(3_000_000)).toBe(3 * inv(1_000_000));
    expect(inv(1_000_000)).toBeGreaterThan(0);
  });
});
