// Counters that add up: each test pins one accounting rule a new user found broken (bytes on the
// wrong link direction, migrations missing on one side, totals whose parts were not shown).
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { summaryTable } from '../../src/report/summary.ts';
import { profile, streamLanes, sequence } from './helpers.ts';

describe('remote accesses are booked on the direction the data moves', () => {
  it('an RDMA NIC storing into pinned host memory loads the NIC->host direction only', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'nic0', profile: profile('rdma-nic') }] });
    const p = m.spawn();
    const base = p.mmap(32, 'anon', 'rw');
    m.launch('nic0', p, { name: 'rx', lanes: streamLanes(base, 32, 4, true), computePs: 1000, accessBytes: 256, regions: [{ base, pages: 32 }] });
    m.run();
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
    const m = new SimMachine({ seed: 1, devices: [{ name: 'a', profile: profile('xgmi-pair') }, { name: 'b', profile: profile('xgmi-pair') }] });
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
    const m = new SimMachine({ seed: 1, devices: [{ name: 'g0', profile: profile('gpu-pcie4'), policies }, { name: 'g1', profile: profile('gpu-pcie4'), policies }] });
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
