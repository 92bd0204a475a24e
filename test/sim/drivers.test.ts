// Driver-kind behaviour: SVA page requests, the pinning driver's copies and pins, peer access
// inside an address-space group, read duplication refused for HMM, shootdowns on CPU changes.
import { describe, it, expect } from 'vitest';
import { SimMachine, SimConfigError, defaultTopology } from '../../src/sim/machine.ts';
import { profile, streamLanes, sequence } from './helpers.ts';
import { encodeAccess } from '../../src/sim/program.ts';

describe('SVA driver', () => {
  it('faults each untouched page once through PRI, migrates nothing, and reads what the CPU wrote', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'acc0', profile: profile('sva-accelerator') }] });
    const p = m.spawn();
    const base = p.mmap(64, 'anon', 'rw');
    sequence(m, [
      () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 32, 1, true), computePs: 0, accessBytes: 4096 }),
      () => m.launch('acc0', p, { name: 'k', lanes: streamLanes(base, 64, 4, true), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const d = m.results('sva').devices[0];
    // Pages 0..31 are present and writable after the CPU wrote them; 32..63 need a page request.
    expect(d.faults.pri).toBe(32);
    expect(d.faults.serviced).toBe(32);
    expect(d.pagesIn).toBe(0);
    expect(d.accesses.remote).toBe(64);
    // Per-device access tracking: which pages, as runs.
    expect(d.pagesTouched).toBe(64);
    expect(d.touched).toEqual([{ space: p.mm.id, start: base, end: base + 64 }]);
    // An munmap shoots the IOTLB down.
    p.munmap(base, 64);
    expect(m.results('sva').devices[0].tlb.invalidations).toBeGreaterThan(0);
  });
});

describe('per-device access tracking', () => {
  it('reports touched pages as runs in (space, vpn) order, across 2 MiB block boundaries and spaces', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'acc0', profile: profile('sva-accelerator') }] });
    const [p, q] = [m.spawn(), m.spawn()];
    const base = p.mmap(2048, 'anon', 'rw'), other = q.mmap(16, 'anon', 'rw');
    // Pages 500..539 of p (crossing a block boundary), then 1030 and 1031 twice, one page of q.
    const pages = [...Array.from({ length: 40 }, (_, i) => base + 500 + i), base + 1031, base + 1030, base + 1031];
    let i = 0, j = 0;
    sequence(m, [
      () => m.launch('acc0', p, { name: 'k', lanes: [{ next: () => (i < pages.length ? encodeAccess(pages[i++], false) : -1) }], computePs: 1000, accessBytes: 64 }),
      () => m.launch('acc0', q, { name: 'k2', lanes: [{ next: () => (j++ < 1 ? encodeAccess(other + 3, false) : -1) }], computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const d = m.results('touch').devices[0];
    expect(d.pagesTouched).toBe(43);
    const runs = [{ space: p.mm.id, start: base + 500, end: base + 540 }, { space: p.mm.id, start: base + 1030, end: base + 1032 }, { space: q.mm.id, start: other + 3, end: other + 4 }];
    expect(d.touched).toEqual(runs.sort((a, b) => a.space - b.space || a.start - b.start));
  });
});

describe('pinning driver', () => {
  it('copies in, runs on the copy, copies written pages back, unpins', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: { ...profile('pascal-pcie3'), driver: 'pinning' as const } }] });
    const p = m.spawn();
    const base = p.mmap(32, 'anon', 'rw');
    let written = 0;
    m.storeObservers.push((who) => {
      if (who === 'gpu0') written++;
    });
    sequence(m, [
      () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 32, 1, true), computePs: 0, accessBytes: 4096 }),
      () => m.launch('gpu0', p, { name: 'k', lanes: streamLanes(base, 16, 2, true), computePs: 1000, accessBytes: 64, regions: [{ base, pages: 32 }] }),
    ]);
    m.run();
    const d = m.results('pin').devices[0];
    expect(d.faults.raised).toBe(0);
    expect(d.pagesIn).toBe(32);
    expect(d.pagesOut).toBe(16);
    expect(d.accesses.local).toBe(16);
    expect(d.pinnedPages).toBe(0);
    expect(written).toBe(16);
    // Pins are gone: every page can be pinned-counted zero again.
    for (let v = base; v < base + 32; v++) {
      const pfn = p.access(v, false) as number;
      expect(m.sys.pages.pincount[pfn]).toBe(0);
    }
  });

  it('refuses a kernel without regions with one clear message', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'nic0', profile: profile('rdma-nic') }] });
    const p = m.spawn();
    expect(() => m.launch('nic0', p, { name: 'k', lanes: [], computePs: 0, accessBytes: 64 })).toThrow(/needs the kernel's regions/);
  });
});

describe('default topology: link.peer.peers sets the size of a fully connected peer set', () => {
  it('peers 1 joins XGMI devices in pairs; peers 3 joins four into one hive with a link per pair', () => {
    const xgmi = (peers: number) => {
      const p = profile('mi250x-xnack');
      const prof = { ...p, link: { ...p.link, peer: { ...p.link.peer!, peers } } };
      const devices = ['a', 'b', 'c', 'd'].map((name) => ({ name, profile: prof }));
      return { links: (defaultTopology(devices).links ?? []).map((l) => l.id), m: new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, devices }) };
    };
    const pairs = xgmi(1), hive = xgmi(3);
    expect(pairs.links).toEqual(['a-b', 'c-d']);
    expect(pairs.m.groups.groupOf('a')).not.toBe(pairs.m.groups.groupOf('c'));
    expect(hive.links).toEqual(['a-b', 'a-c', 'a-d', 'b-c', 'b-d', 'c-d']);
    expect(new Set(['a', 'b', 'c', 'd'].map((n) => hive.m.groups.groupOf(n))).size).toBe(1);
  });
});

describe('address-space groups (XGMI pair)', () => {
  it('a peer in the same group maps a page resident on its partner instead of bouncing through RAM', () => {
    const m = new SimMachine({
      seed: 1,
      devices: [
        { name: 'a', profile: profile('mi250x-xnack'), policies: { placement: { policy: 'map-remote', populateOn: 'requester' } } },
        { name: 'b', profile: profile('mi250x-xnack'), policies: { placement: { policy: 'map-remote', populateOn: 'requester' } } },
      ],
    });
    expect(m.groups.sameGroup('a', 'b')).toBe(true);
    const p = m.spawn();
    const base = p.mmap(512, 'anon', 'rw');
    sequence(m, [
      () => m.launch('a', p, { name: 'fill', lanes: streamLanes(base, 512, 8, true), computePs: 1000, accessBytes: 256 }),
      () => m.launch('b', p, { name: 'read', lanes: streamLanes(base, 512, 8, false), computePs: 1000, accessBytes: 256 }),
    ]);
    m.run();
    const r = m.results('xgmi');
    const [a, b] = r.devices;
    expect(a.pagesIn).toBe(512);
    expect(b.pagesIn).toBe(0);
    expect(b.accesses.peer).toBe(512);
    expect(r.cpu.migrateToRam).toBe(0);
    expect(r.links.some((l) => l.kind === 'xgmi' && l.bytes > 0)).toBe(true);
  });

  it('devices in different groups bounce a page through system memory', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g0', profile: profile('gpu-pcie4') }, { name: 'g1', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(16, 'anon', 'rw');
    sequence(m, [
      () => m.launch('g0', p, { name: 'fill', lanes: streamLanes(base, 16, 1, true), computePs: 1000, accessBytes: 256 }),
      () => m.launch('g1', p, { name: 'read', lanes: streamLanes(base, 16, 1, false), computePs: 1000, accessBytes: 256 }),
    ]);
    m.run();
    const r = m.results('bounce');
    expect(r.devices[0].pagesOut).toBeGreaterThan(0);
    expect(r.devices[1].pagesIn).toBe(r.devices[0].pagesOut);
  });
});

describe('configuration errors', () => {
  it('read duplication on an HMM mirror device is refused with its reason', () => {
    expect(() => new SimMachine({ devices: [{ name: 'g', profile: profile('gpu-pcie4'), policies: { placement: { policy: 'read-duplication' } } }] }))
      .toThrow(SimConfigError);
  });
  it('an unknown policy name names the device', () => {
    expect(() => new SimMachine({ devices: [{ name: 'g', profile: profile('gpu-pcie4'), policies: { prefetch: { policy: 'nope' } } }] }))
      .toThrow(/device 'g': bad policies/);
  });
});

describe('CPU-side changes reach the device', () => {
  it('mprotect of a mirrored range shoots the device TLB down and the next write faults again', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g', profile: profile('gpu-pcie4'), policies: { placement: { policy: 'map-remote' } } }] });
    const p = m.spawn();
    const base = p.mmap(8, 'anon', 'rw');
    sequence(m, [
      () => m.launch('g', p, { name: 'w1', lanes: streamLanes(base, 8, 1, true), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const before = m.results('x').devices[0];
    const raised = before.faults.raised;
    expect(p.mprotect(base, 8, 'r')).toBe(0);
    expect(p.mprotect(base, 8, 'rw')).toBe(0);
    expect(m.results('x').devices[0].tlb.invalidations).toBeGreaterThan(0);
    sequence(m, [() => m.launch('g', p, { name: 'w2', lanes: streamLanes(base, 8, 1, true), computePs: 1000, accessBytes: 64 })]);
    m.run();
    expect(m.results('x').devices[0].faults.raised).toBeGreaterThan(raised);
  });
});

describe('access counters', () => {
  it('remote accesses to a hot region trigger a notification that migrates it to the device', () => {
    const m = new SimMachine({
      seed: 1,
      devices: [{ name: 'gh', profile: profile('gh200-c2c'), policies: { placement: { policy: 'map-remote' }, accessCounters: { policy: 'access-counters', threshold: 64 } } }],
    });
    const p = m.spawn();
    const base = p.mmap(512, 'anon', 'rw');
    sequence(m, [
      () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 512, 1, true), computePs: 0, accessBytes: 4096 }),
      () => m.launch('gh', p, { name: 'hot', lanes: streamLanes(base, 32, 4, false, 8), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const d = m.results('ac').devices[0];
    expect(d.accesses.remote).toBeGreaterThanOrEqual(64);
    expect(d.accessCounterNotifications).toBeGreaterThan(0);
    expect(d.pagesIn).toBeGreaterThan(0);
    expect(d.accesses.local).toBeGreaterThan(0);
  });
});

describe('corner cases the fault benchmark found', () => {
  it('a device write to its own read-only (COW after fork) page completes and keeps both copies right', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g', profile: profile('gpu-pcie4'), policies: { prefetch: { policy: 'prefetch-none' } } }] });
    const ref: string[] = [];
    m.storeObservers.push((who, mm, vpn) => ref.push(`${who}:${mm.id}:${vpn}`));
    const p = m.spawn();
    const base = p.mmap(4, 'anon', 'rw');
    let child: ReturnType<typeof m.spawn> | null = null;
    sequence(m, [
      () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 4, 1, true), computePs: 0, accessBytes: 4096 }),
      () => m.launch('g', p, { name: 'read', lanes: streamLanes(base, 4, 1, false), computePs: 1000, accessBytes: 64 }),
      () => {
        child = p.fork();
        return m.launch('g', p, { name: 'write', lanes: streamLanes(base, 4, 1, true), computePs: 1000, accessBytes: 64 });
      },
    ]);
    m.run(1_000_000_000_000);
    const d = m.results('cow').devices[0];
    expect(d.kernels.map((k) => k.name)).toEqual(['read', 'write']);
    expect(d.faults.fatal).toBe(0);
    // The parent sees the device's writes, the child still sees what the CPU wrote at init.
    const initWord = (v: number) => new DataView(child!.read(v).buffer).getUint32(((ref.indexOf(`cpu:${p.mm.id}:${v}`) + 1) % 1024) * 4, true);
    for (let v = base; v < base + 4; v++) {
      expect(initWord(v)).toBe(ref.indexOf(`cpu:${p.mm.id}:${v}`) + 1);
      const devSeq = ref.indexOf(`g:${p.mm.id}:${v}`) + 1;
      expect(new DataView(p.read(v).buffer).getUint32((devSeq % 1024) * 4, true)).toBe(devSeq);
    }
  });

  it('SVA page requests refused by a full queue are retried, so every lane finishes', () => {
    const sva = profile('sva-accelerator');
    const m = new SimMachine({ seed: 1, devices: [{ name: 'acc', profile: { ...sva, fault: { ...sva.fault!, bufferCapacity: 4, batchSize: 4 } } }] });
    const p = m.spawn();
    const base = p.mmap(64, 'anon', 'rw');
    m.launch('acc', p, { name: 'k', lanes: streamLanes(base, 64, 64, true), computePs: 1000, accessBytes: 64 });
    m.run(1_000_000_000_000);
    const d = m.results('prq').devices[0];
    expect(d.faults.overflows).toBeGreaterThan(0);
    expect(d.kernels).toHaveLength(1);
    expect(d.faults.serviced).toBe(64);
  });

  it('a peer migration over XGMI runs at the peer link, not at the host curve', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'a', profile: profile('mi250x-xnack') }, { name: 'b', profile: profile('mi250x-xnack') }] });
    const p = m.spawn();
    const raw = p.mmap(1024, 'anon', 'rw');
    const base = Math.ceil(raw / 512) * 512;
    sequence(m, [
      () => m.launch('a', p, { name: 'fill', lanes: streamLanes(base, 512, 1, true), computePs: 1000, accessBytes: 64 }),
      () => m.launch('b', p, { name: 'pull', lanes: streamLanes(base, 512, 1, true), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const r = m.results('p2p');
    const pulls = r.batches.filter((b) => b.device === 'b' && b.transfer_size >= 1024 * 1024);
    expect(pulls.length).toBeGreaterThan(0);
    const gbps = pulls[0].transfer_size / (pulls[0].batch_transfer * 1e-9) / 1e9;
    const xgmi = r.links.find((l) => l.kind === 'xgmi')!;
    expect(gbps).toBeGreaterThan(28.81 * 1.5); // well above the PCIe 4 host link
    expect(gbps).toBeLessThanOrEqual(xgmi.bandwidth! / 1e9);
  });
});

describe('two GPUs without a direct link fighting over pages', () => {
  it('make progress: stolen pages end up mapped where they are instead of bouncing forever', () => {
    const m = new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, devices: [{ name: 'g0', profile: profile('gpu-pcie4') }, { name: 'g1', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(64, 'anon', 'rw');
    const rnd = (seed: number, write: boolean) => Array.from({ length: 4 }, (_, i) => {
      let x = seed * 7919 + i * 104729, n = 0;
      return { next: () => (n++ < 50 ? ((x = (x * 1103515245 + 12345) % 2147483648), encodeAccess(base + (x % 64), write && n % 2 === 0)) : -1) };
    });
    m.launch('g0', p, { name: 'a', lanes: rnd(1, true), computePs: 1000, accessBytes: 64 });
    m.launch('g1', p, { name: 'b', lanes: rnd(2, false), computePs: 1000, accessBytes: 64 });
    m.run(2_000_000_000_000); // 2 s of simulated time at most
    const r = m.results('pingpong');
    expect(r.devices.map((d) => d.kernels.length)).toEqual([1, 1]);
    expect(r.devices[0].thrashing.pins + r.devices[1].thrashing.pins).toBeGreaterThan(0);
  });
});

describe('run-time refusals', () => {
  it('a CPU phase touching unmapped memory stops the run with one clear SimRunError', async () => {
    const { SimRunError } = await import('../../src/sim/errors.ts');
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(4, 'anon', 'r');
    m.cpuPhase(p, { name: 'bad', threads: streamLanes(base, 4, 1, true), computePs: 0, accessBytes: 64 });
    expect(() => m.run()).toThrow(SimRunError);
    expect(() => m.run()).not.toThrow();
  });
});
