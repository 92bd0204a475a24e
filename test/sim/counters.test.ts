// Counters that add up: each test pins one accounting rule a new user found broken (bytes on the
// wrong link direction, migrations missing on one side, totals whose parts were not shown).
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { SimConfigError, SimMachine } from '../../src/sim/machine.ts';
import { encodeAccess } from '../../src/sim/program.ts';
import type { DeviceMetrics, RunResults } from '../../src/sim/results.ts';
import { EXAMPLES_DIR, loadScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { summaryTable } from '../../src/report/summary.ts';
import { KERNEL_NOTE, renderReportHtml } from '../../src/report/html.ts';
import { loadProfile } from '../../src/devices/profile/load.ts';
import { PIN_PAGE_PS } from '../../src/sim/drivers/pinning.ts';
import { formatTime } from '../../src/units/time.ts';
import { profile, streamLanes, sequence } from './helpers.ts';

/**
 * A machine whose NIC, in pin mode (ibv_reg_mr pins at registration; ODP would fault instead),
 * has stored into 32 pages of pinned host memory with 4 lanes of 256-byte writes.
 */
function pinnedNicWrites(): SimMachine {
  const nic = { ...profile('rdma-nic'), registration: { mode: 'pin' as const } };
  const m = new SimMachine({ seed: 1, devices: [{ name: 'nic0', profile: nic }] });
  const p = m.spawn();
  const base = p.mmap(32, 'anon', 'rw');
  m.launch('nic0', p, { name: 'rx', lanes: streamLanes(base, 32, 4, true), computePs: 1000, accessBytes: 256, regions: [{ base, pages: 32 }] });
  m.run();
  return m;
}

/** Two or more endpoints under one PCIe switch (PCIe P2P through the switch, no link of their own). */
function underSwitch(ids: string[]) {
  return {
    sockets: [{ id: 'cpu0', memoryBytes: 2 ** 40, memoryBandwidth: 486e9, memoryLatencyPs: 100_000 }],
    rootComplexes: [{ id: 'rc0', socket: 'cpu0', vendorId: 0x8086, deviceId: 0x09a2, rootPorts: [{ id: 'rp0' }] }],
    switches: [{ id: 'sw0', parent: 'rp0', gen: 5 as const, width: 16 as const, upstreamPort: { id: 'sw0-up' }, downstreamPorts: ids.map((id) => ({ id: `dp-${id}` })) }],
    endpoints: ids.map((id) => ({ id, parent: `dp-${id}`, gen: 5 as const, width: 16 as const })),
  };
}

describe('remote accesses are booked on the direction the data moves', () => {
  it('an RDMA NIC storing into pinned host memory loads the NIC->host direction only', () => {
    const m = pinnedNicWrites();
    const links = m.results('nic-write').links;
    const bytes = (id: string) => links.find((l) => l.id === id)?.bytes ?? 0;
    expect(bytes('nic0->rc0')).toBe(32 * 256);
    expect(bytes('rc0->nic0')).toBe(0);
  });

  it('an SVA device reading then writing host memory books the loads inbound and the stores outbound', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'acc0', profile: profile('sva-accelerator') }] });
    const p = m.spawn();
    const base = p.mmap(16, 'anon', 'rw');
    sequence(m, [
      () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 16, 1, true), computePs: 0, accessBytes: 4096 }),
      () => m.launch('acc0', p, { name: 'read', lanes: streamLanes(base, 16, 2, false), computePs: 1000, accessBytes: 64 }),
      () => m.launch('acc0', p, { name: 'write', lanes: streamLanes(base, 8, 2, true), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const links = m.results('sva-rw').links;
    const bytes = (id: string) => links.find((l) => l.id === id)?.bytes ?? 0;
    expect(bytes('rc0->acc0')).toBe(16 * 64);
    expect(bytes('acc0->rc0')).toBe(8 * 64);
  });

  it('an HMM mirror GPU storing to host memory it maps remotely loads the GPU->host direction', () => {
    const m = new SimMachine({
      seed: 1,
      devices: [{ name: 'gpu0', profile: profile('gpu-pcie4'), policies: { placement: { policy: 'map-remote', populateOn: 'system' } } }],
    });
    const p = m.spawn();
    const base = p.mmap(16, 'anon', 'rw');
    sequence(m, [
      () => m.cpuPhase(p, { name: 'init', threads: streamLanes(base, 16, 1, true), computePs: 0, accessBytes: 4096 }),
      () => m.launch('gpu0', p, { name: 'store', lanes: streamLanes(base, 16, 2, true), computePs: 1000, accessBytes: 128 }),
    ]);
    m.run();
    const r = m.results('mirror-write');
    expect(r.devices[0].accesses.remote).toBe(16);
    const bytes = (id: string) => r.links.find((l) => l.id === id)?.bytes ?? 0;
    expect(bytes('gpu0->rc0')).toBe(16 * 128);
    expect(bytes('rc0->gpu0')).toBe(0);
  });
});

describe('a peer migration inside an address-space group counts on both devices', () => {
  it('pages gpu1 takes from gpu0 over XGMI in one migrate_vma are migrated out of gpu0', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'a', profile: profile('mi250x-xnack') }, { name: 'b', profile: profile('mi250x-xnack') }] });
    const p = m.spawn();
    const raw = p.mmap(1024, 'anon', 'rw');
    const base = Math.ceil(raw / 512) * 512;
    sequence(m, [
      () => m.launch('a', p, { name: 'fill', lanes: streamLanes(base, 512, 4, true), computePs: 1000, accessBytes: 64 }),
      () => m.launch('b', p, { name: 'pull', lanes: streamLanes(base, 512, 4, true), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const r = m.results('peer-migration');
    const [a, b] = r.devices;
    expect(r.cpu.migrateToRam).toBe(0);
    expect(a.pagesIn).toBe(512);
    expect(b.pagesIn).toBe(512);
    expect(a.pagesOut).toBe(512);
    expect(a.bytesOut).toBe(512 * 4096);
    expect(b.pagesOut).toBe(0);
    expect(r.links.find((l) => l.id === 'a->b')?.bytes).toBe(512 * 4096);
  });
});

describe('migrations to RAM say who caused them', () => {
  it('pages a GPU outside the group pulls through migrate_to_ram are device pulls, a CPU read-back is a CPU migration', () => {
    const policies = { prefetch: { policy: 'prefetch-none' } };
    const m = new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, devices: [{ name: 'g0', profile: profile('gpu-pcie4'), policies }, { name: 'g1', profile: profile('gpu-pcie4'), policies }] });
    const p = m.spawn();
    const base = p.mmap(32, 'anon', 'rw');
    sequence(m, [
      () => m.launch('g0', p, { name: 'fill', lanes: streamLanes(base, 32, 1, true), computePs: 1000, accessBytes: 256 }),
      // g1 is in another group: each page comes back to RAM through g0's migrate_to_ram first.
      () => m.launch('g1', p, { name: 'read', lanes: streamLanes(base, 16, 1, false), computePs: 1000, accessBytes: 256 }),
      // The CPU reads the other half, still on g0: CPU page faults.
      () => m.cpuPhase(p, { name: 'back', threads: streamLanes(base + 16, 16, 1, false), computePs: 0, accessBytes: 4096 }),
    ]);
    m.run();
    const r = m.results('pulls');
    expect(r.cpu.migrateToRam).toBe(32);
    expect(r.cpu.deviceMigrateToRam).toBe(16);
    const out = summaryTable(r);
    expect(out).toMatch(/\n {2}cpu +\d+ faults, 16 migrations to RAM,/);
    expect(out).toContain("\n  device pulls    16 pages migrated to RAM for another device's fault (migrate_to_ram)\n");
  });
});

describe('a device\'s raised faults add up to where they went', () => {
  type Faults = DeviceMetrics['faults'];
  const outcomes = (f: Faults) => f.serviced + f.duplicates + f.coalesced + f.throttled + f.flushed + f.overflows + f.fatal + f.pending + f.busy;
  const seen: Faults[] = [];
  const check = (r: RunResults) => {
    for (const d of r.devices) {
      expect(outcomes(d.faults), `${r.name}/${d.id}: ${JSON.stringify(d.faults)}`).toBe(d.faults.raised);
      seen.push(d.faults);
    }
  };

  it('holds on the examples (mirror, SVA and pinning devices; batch-flush GPUs, eviction, prefetch)', () => {
    for (const name of ['default', 'graph-bfs-pcie', 'oversubscribed-eviction', 'nic-crypto-ai-pipeline', 'sva-vs-hmm']) {
      check(runScenario(loadScenario(join(EXAMPLES_DIR, `${name}.yaml`)), { scale: 0.125 }));
    }
  });

  it('holds when two GPUs without a link throttle each other, and on a run cut short', () => {
    const m = new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, devices: [{ name: 'g0', profile: profile('gpu-pcie4') }, { name: 'g1', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(64, 'anon', 'rw');
    const rnd = (seed: number, write: boolean) => Array.from({ length: 8 }, (_, i) => {
      let x = seed * 7919 + i * 104729, n = 0;
      return { next: () => (n++ < 200 ? ((x = (x * 1103515245 + 12345) % 2147483648), encodeAccess(base + (x % 64), write && n % 2 === 0)) : -1) };
    });
    m.launch('g0', p, { name: 'a', lanes: rnd(1, true), computePs: 1000, accessBytes: 64 });
    m.launch('g1', p, { name: 'b', lanes: rnd(2, false), computePs: 1000, accessBytes: 64 });
    m.run(2_000_000_000);
    check(m.results('cut'));
    m.run();
    check(m.results('pingpong'));
  });

  it('holds when the fault buffer overflows and when a fault is fatal', () => {
    const small = { ...profile('gpu-pcie4') };
    small.fault = { ...small.fault!, bufferCapacity: 4 };
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g0', profile: small }] });
    const p = m.spawn();
    const base = p.mmap(256, 'anon', 'rw');
    const ro = p.mmap(4, 'anon', 'r');
    sequence(m, [
      () => m.launch('g0', p, { name: 'storm', lanes: streamLanes(base, 256, 32, true), computePs: 1000, accessBytes: 64 }),
      () => m.launch('g0', p, { name: 'bad', lanes: streamLanes(ro, 4, 2, true), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    check(m.results('overflow'));
  });

  it('holds when the faults of one page span two batches', () => {
    // Four lanes fault on each page at once; batches of two entries: the first batch services
    // the page (two entries, one coalesced), the second finds it mapped (a duplicate).
    const xgmi = profile('mi250x-xnack');
    const m = new SimMachine({ seed: 1, devices: [{ name: 'a', profile: { ...xgmi, fault: { ...xgmi.fault!, batchSize: 2 } } }] });
    const p = m.spawn();
    const base = p.mmap(16, 'anon', 'rw');
    m.launch('a', p, { name: 'shared', lanes: [0, 1, 2, 3].flatMap(() => streamLanes(base, 16, 1, false)), computePs: 1000, accessBytes: 64 });
    m.run();
    const f = m.results('shared').devices[0].faults;
    expect([f.raised, f.serviced, f.duplicates, f.coalesced]).toEqual([4, 1, 1, 2]);
    check(m.results('shared'));
  });

  it('holds when thrashing mitigation throttles a GPU fighting the CPU over pages', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g0', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(8, 'anon', 'rw');
    m.launch('g0', p, { name: 'gpu', lanes: streamLanes(base, 8, 2, true, 400), computePs: 2_000_000, accessBytes: 64 });
    m.cpuPhase(p, { name: 'cpu', threads: streamLanes(base, 8, 1, true, 400), computePs: 2_000_000, accessBytes: 64 });
    m.run();
    const r = m.results('fight');
    expect(r.devices[0].faults.throttled).toBeGreaterThan(0);
    check(r);
  });

  it('holds on a run cut short while faults wait in the buffer', () => {
    // Addresses as on 6.1 (6.12's larger vDSO moves every mapping a page): the second kernel's
    // four faults land in a batch of their own.
    const m = new SimMachine({ seed: 1, kernel: '6.1', devices: [{ name: 'g0', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(64, 'anon', 'rw');
    m.launch('g0', p, { name: 'first', lanes: streamLanes(base, 32, 4, true), computePs: 1000, accessBytes: 64 });
    // Faults raised 1 us in, while the first batch is being serviced, wait for the next batch.
    m.at(1_000_000, () => m.launch('g0', p, { name: 'second', lanes: streamLanes(base + 32, 32, 4, true), computePs: 1000, accessBytes: 64 }));
    m.run(5_000_000);
    const r = m.results('cut');
    expect(r.devices[0].faults.pending).toBe(4);
    check(r);
  });

  it('holds when two Xe devices meet each other\'s migrations (-EBUSY), with and without the rwsem', () => {
    for (const migrateLock of ['none', 'rwsem'] as const) {
      const devices = ['g0', 'g1'].map((name) => ({ name, profile: profile('xe2-bmg') }));
      const m = new SimMachine({ seed: 1, crossDevice: { migrateLock }, topology: underSwitch(['g0', 'g1']), devices });
      const p = m.spawn();
      const base = p.mmap(1024, 'anon', 'rw');
      m.launch('g0', p, { name: 'a', lanes: streamLanes(base, 1024, 16, true, 2), computePs: 1000, accessBytes: 64 });
      m.launch('g1', p, { name: 'b', lanes: streamLanes(base, 1024, 16, true, 2), computePs: 1000, accessBytes: 64 });
      m.run(20_000_000_000);
      const r = m.results('contend');
      expect(r.devices.some((d) => d.faults.busy > 0)).toBe(true);
      check(r);
    }
  });

  it('covered every outcome', () => {
    for (const k of ['serviced', 'duplicates', 'coalesced', 'throttled', 'flushed', 'overflows', 'fatal', 'pending', 'busy'] as const) {
      expect(seen.some((f) => f[k] > 0), k).toBe(true);
    }
  });
});

describe('lane time says it is summed over lanes', () => {
  it('stall and busy are lane-seconds, labelled so, with their per-lane averages beside them', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g0', profile: profile('gpu-pcie4') }] });
    const p = m.spawn();
    const base = p.mmap(512, 'anon', 'rw');
    sequence(m, [
      () => m.launch('g0', p, { name: 'a', lanes: streamLanes(base, 512, 32, true), computePs: 1000, accessBytes: 64 }),
      () => m.launch('g0', p, { name: 'b', lanes: streamLanes(base, 512, 16, false), computePs: 1000, accessBytes: 64 }),
      () => m.cpuPhase(p, { name: 'c', threads: streamLanes(base, 512, 4, false), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const r = m.results('lanes');
    const d = r.devices[0];
    expect(d.lanes).toBe(48);
    expect(r.cpu.threads).toBe(4);
    // 32 lanes wait for the same batches at once: their summed stall is longer than the kernel.
    expect(d.time.stall).toBeGreaterThan(d.kernels[0].endPs - d.kernels[0].startPs);
    const out = summaryTable(r);
    const [head, row] = out.split('\n').filter((l) => l.startsWith('  device  profile') || l.startsWith('  g0      gpu-pcie4'));
    const cells = (l: string) => l.trim().split(/ {2,}/);
    const cols = cells(head);
    expect(cols.slice(-5)).toEqual(['lanes', 'stall, lane-seconds', 'per lane', 'busy, lane-seconds', 'per lane']);
    expect(cells(row).slice(-5)).toEqual(['48', formatTime(d.time.stall), formatTime(Math.round(d.time.stall / 48)), formatTime(d.time.busy), formatTime(Math.round(d.time.busy / 48))]);
    expect(out).toContain('lane time       device stall and busy are lane-seconds');
    expect(out).toContain(`busy ${formatTime(r.cpu.busyPs)} summed over 4 threads (${formatTime(Math.round(r.cpu.busyPs / 4))} per thread)`);
  });
});

describe('the pinning driver\'s time is its own', () => {
  it('pin_user_pages time is booked as pinning, not as fault service, and shows under that name', () => {
    const m = pinnedNicWrites();
    const r = m.results('pin');
    const d = r.devices[0];
    expect(d.faults.raised).toBe(0);
    expect(d.time.faultService).toBe(0);
    expect(d.time.pinning).toBe(32 * PIN_PAGE_PS);
    const html = renderReportHtml(r);
    expect(html).toContain('<th class="num">pinning</th>');
    expect(html).toContain(`<td class="num">${formatTime(32 * PIN_PAGE_PS)}</td>`);
  });
});

describe('links tell copies from remote accesses', () => {
  it('zero-copy accesses are remote-access bytes with no transfer; migrations and migrate_to_ram are copies with transfers', () => {
    // Prefetching off: UVM's migrate_to_ram would otherwise bring back growing regions per fault.
    const m = new SimMachine({ seed: 1, devices: [{ name: 'nic0', profile: profile('rdma-nic') }, { name: 'gpu0', profile: profile('gpu-pcie4'), policies: { prefetch: { policy: 'prefetch-none' } } }] });
    const p = m.spawn();
    const rx = p.mmap(32, 'anon', 'rw');
    const buf = p.mmap(16, 'anon', 'rw');
    sequence(m, [
      () => m.launch('nic0', p, { name: 'rx', lanes: streamLanes(rx, 32, 4, true), computePs: 1000, accessBytes: 256, regions: [{ base: rx, pages: 32 }] }),
      () => m.launch('gpu0', p, { name: 'fill', lanes: streamLanes(buf, 16, 1, true), computePs: 1000, accessBytes: 64 }),
      // The CPU reads the GPU's pages back: one migrate_to_ram copy per page.
      () => m.cpuPhase(p, { name: 'back', threads: streamLanes(buf, 16, 1, false), computePs: 0, accessBytes: 4096 }),
    ]);
    m.run();
    const r = m.results('links');
    const link = (id: string) => r.links.find((l) => l.id === id)!;
    expect(link('nic0->rc0')).toMatchObject({ copyBytes: 0, transfers: 0, remoteBytes: 32 * 256, bytes: 32 * 256 });
    expect(r.cpu.migrateToRam).toBe(16);
    expect(link('gpu0->rc0')).toMatchObject({ copyBytes: 16 * 4096, transfers: 16, remoteBytes: 0 });
    for (const l of r.links) expect(l.bytes, l.id).toBe(l.copyBytes! + l.remoteBytes!);
    const out = summaryTable(r);
    expect(out).toMatch(/\n {2}link +kind +bandwidth +copied +transfers +remote access +total +avg util\n/);
    expect(out).toMatch(/\n {2}nic0->rc0 +pcie +\S+ GB\/s +0 B +0 +8 KiB +8 KiB /);
  });
});

describe('a kernel far shorter than its siblings (pipeline example, "results #3")', () => {
  it('raised no faults: the prefetcher brought its chunk in with the previous chunk\'s batch', () => {
    // The example's `out` buffer: 4 chunks of 128 pages per 2 MiB block, written one chunk per
    // kernel. After chunks 0-2 the block is 3/4 resident, over the density threshold, so the
    // batch of chunk 2 prefetches chunk 3 too.
    const m = new SimMachine({ seed: 1, devices: [{ name: 'ai0', profile: loadProfile(join(EXAMPLES_DIR, 'profiles', 'ai-engine.yaml')) }] });
    const p = m.spawn();
    const raw = p.mmap(1024, 'anon', 'rw');
    const out = Math.ceil(raw / 512) * 512;
    sequence(m, [0, 1, 2, 3].map((c) => () => m.launch('ai0', p, {
      name: `results #${c}`, lanes: streamLanes(out + c * 128, 128, 8, true), computePs: 1000, accessBytes: 64,
    })));
    m.run();
    const r = m.results('chunks');
    const k = r.devices[0].kernels;
    expect(k.map((x) => x.faults)).toEqual([8, 8, 8, 0]);
    expect(k.map((x) => x.lanes)).toEqual([8, 8, 8, 8]);
    // 16 pages per lane at 1 ns each: no fault, no stall.
    expect(k[3].endPs - k[3].startPs).toBe(16 * 1000);
    expect(k[2].endPs - k[2].startPs).toBeGreaterThan(30_000_000);
    expect(r.devices[0].prefetched).toBeGreaterThanOrEqual(128);
    // The trace's kernel slice carries the count, and report.html says what 0 faults means.
    expect(r.spans.find((s) => s.name === 'results #3')?.args).toEqual({ lanes: 8, faults: 0 });
    expect(renderReportHtml(r)).toContain(KERNEL_NOTE.replace(/'/g, '&#39;'));
  });

  it('is what happens to results #3 and #7 of examples/nic-crypto-ai-pipeline.yaml', () => {
    const r = runScenario(loadScenario(join(EXAMPLES_DIR, 'nic-crypto-ai-pipeline.yaml')));
    const ai = r.devices.find((d) => d.id === 'ai0')!;
    const results = ai.kernels.filter((k) => k.name.startsWith('results #'));
    const quiet = results.filter((k) => k.faults === 0).map((k) => k.name).sort();
    expect(quiet).toEqual(['results #3', 'results #7']);
    for (const k of results) {
      if (k.faults === 0) expect(k.endPs - k.startPs).toBeLessThan(1_000_000);
      else expect(k.endPs - k.startPs).toBeGreaterThan(50_000_000);
    }
  });
});

describe('GPUs at the ends of an NVLink chain (gpu0–gpu1–gpu2)', () => {
  const chain = (underSwitch: boolean) => {
    const gpus = ['gpu0', 'gpu1', 'gpu2'];
    return {
      sockets: [{ id: 'cpu0', memoryBytes: 2 ** 40, memoryBandwidth: 486e9, memoryLatencyPs: 100_000 }],
      rootComplexes: [{
        id: 'rc0', socket: 'cpu0', vendorId: underSwitch ? 0x8086 : 0x1234, deviceId: underSwitch ? 0x09a2 : 0x0001,
        rootPorts: underSwitch ? [{ id: 'rp0' }] : gpus.map((g) => ({ id: `rp-${g}` })),
      }],
      switches: underSwitch
        ? [{ id: 'sw0', parent: 'rp0', gen: 4 as const, width: 16 as const, upstreamPort: { id: 'usp0' }, downstreamPorts: gpus.map((g) => ({ id: `dsp-${g}` })) }]
        : [],
      endpoints: gpus.map((g) => ({ id: g, gen: 4 as const, width: 16 as const, parent: underSwitch ? `dsp-${g}` : `rp-${g}` })),
      links: [
        { id: 'nv01', kind: 'nvlink' as const, a: 'gpu0', b: 'gpu1', bandwidth: 50e9, latencyPs: 1000 },
        { id: 'nv12', kind: 'nvlink' as const, a: 'gpu1', b: 'gpu2', bandwidth: 50e9, latencyPs: 1000 },
      ],
    };
  };
  const devices = ['gpu0', 'gpu1', 'gpu2'].map((name) => ({ name, profile: profile('gpu-pcie4') }));

  it('take pages from each other over PCIe P2P through the switch, labelled p2p-pcie, never over NVLink', () => {
    const m = new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, topology: chain(true), devices });
    expect(m.groups.sameGroup('gpu0', 'gpu2')).toBe(true);
    const p = m.spawn();
    const base = p.mmap(512, 'anon', 'rw');
    sequence(m, [
      () => m.launch('gpu0', p, { name: 'fill', lanes: streamLanes(base, 512, 8, true), computePs: 1000, accessBytes: 64 }),
      () => m.launch('gpu2', p, { name: 'pull', lanes: streamLanes(base, 512, 8, true), computePs: 1000, accessBytes: 64 }),
    ]);
    m.run();
    const r = m.results('chain');
    expect(r.cpu.migrateToRam).toBe(0);
    expect(r.devices.map((d) => [d.pagesIn, d.pagesOut])).toEqual([[512, 512], [0, 0], [512, 0]]);
    const bytes = (id: string) => r.links.find((l) => l.id === id)?.copyBytes ?? 0;
    expect(bytes('gpu0->sw0')).toBe(512 * 4096);
    expect(bytes('sw0->gpu2')).toBe(512 * 4096);
    expect(r.links.filter((l) => l.kind === 'nvlink')).toEqual([]);
    // source_peer_migrates (the default): the source's copy engine pushes the pages.
    const copies = r.spans.filter((s) => s.track.startsWith('gpu0/ce'));
    expect(copies.length).toBeGreaterThan(0);
    expect(new Set(copies.map((s) => s.name))).toEqual(new Set(['p2p-pcie']));
  });

  it('are refused with one line where PCIe P2P between them does not work either', () => {
    expect(() => new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, topology: chain(false), devices })).toThrow(SimConfigError);
    expect(() => new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, topology: chain(false), devices })).toThrow(
      /^devices 'gpu0' and 'gpu2' are in one address-space group .* cannot reach each other's memory: a link does not forward to the next link, and p2pdma refuses PCIe P2P between them; link them directly, put them under one PCIe switch, or remove a link so they are in separate groups$/,
    );
    // drm_pagemap_acquire_owner (7.0, the default) never groups a pair without an interconnect:
    // gpu2 has none with gpu0, so it gets an owner of its own and nothing is refused.
    const landed = new SimMachine({ seed: 1, topology: chain(false), devices });
    expect(landed.groups.groups.map((g) => g.members)).toEqual([['gpu0', 'gpu1'], ['gpu2']]);
    // Only the linked neighbours on this machine: nothing to refuse.
    expect(() => new SimMachine({ seed: 1, crossDevice: { owners: 'links' }, topology: chain(false), devices: devices.slice(0, 2) })).not.toThrow();
  });
});
