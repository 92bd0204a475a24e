// RDMA memory registration modes of the pinning driver (profile `registration.mode`): `pin`
// pins every page at registration and never faults; `odp` (mlx5 On-Demand Paging) pins nothing,
// faults pages in on first access through the profile's `fault` section, and loses its MTT
// entries to CPU-side invalidations, so pages stay movable.
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import type { TimePs } from '../../src/units/time.ts';
import { profile, streamLanes, pageLanes, sequence } from './helpers.ts';

const PAGES = 64;

/** The shipped NIC with its registration mode and fault section edited. */
function nic(mode: 'pin' | 'odp', fault: Partial<Profile['fault']> = {}): Profile {
  const p = profile('rdma-nic');
  return { ...p, registration: { mode }, fault: { ...p.fault!, ...fault } };
}

/** One NIC kernel writing a CPU-populated buffer of PAGES pages; `during(m, p, base)` runs mid-kernel. */
function run(prof: Profile, opts: { nodes?: number; passes?: number; during?: (m: SimMachine, p: ReturnType<SimMachine['spawn']>, base: number) => void; at?: number } = {}) {
  const m = new SimMachine({ seed: 1, devices: [{ name: 'nic0', profile: prof }], numaNodes: opts.nodes ?? 1 });
  const p = m.spawn();
  const base = p.mmap(PAGES, 'anon', 'rw');
  const pinsSeen: number[] = [];
  sequence(m, [
    () => m.cpuPhase(p, { name: 'fill', threads: streamLanes(base, PAGES, 1, true), computePs: 0, accessBytes: 4096 }),
    () => {
      const k = m.launch('nic0', p, { name: 'rx', lanes: streamLanes(base, PAGES, 4, true, opts.passes ?? 1), computePs: 1_000_000, accessBytes: 4096, regions: [{ base, pages: PAGES }] });
      // What the registration holds while the kernel runs.
      m.at(m.engine.now + 1, () => {
        let pinned = 0;
        for (let v = base; v < base + PAGES; v++) {
          const pfn = p.access(v, false) as number;
          if (m.sys.pages.pincount[pfn] > 0) pinned++;
        }
        pinsSeen.push(pinned);
      });
      if (opts.during) m.at(m.engine.now + (opts.at ?? 20_000_000), () => opts.during!(m, p, base));
      return k;
    },
  ]);
  m.run();
  const r = m.results('reg');
  return { d: r.devices[0], r, m, p, base, pinsSeen };
}

describe('RDMA registration: pin vs odp (registration.mode)', () => {
  it('registration.mode: pin pins every page at registration and never faults; odp pins nothing and faults each page once', () => {
    const pin = run(nic('pin'));
    expect(pin.pinsSeen).toEqual([PAGES]);
    expect(pin.d.faults.raised).toBe(0);
    expect(pin.d.batches).toBe(0);
    expect(pin.d.time.pinning).toBeGreaterThan(0); // the per-page pin cost, booked as pinning
    expect(pin.d.time.faultService).toBe(0);
    const odp = run(nic('odp'));
    expect(odp.pinsSeen).toEqual([0]);
    expect(odp.d.faults.raised).toBe(PAGES);
    expect(odp.d.faults.serviced).toBe(PAGES);
    expect(odp.d.pinnedPages).toBe(0);
    expect(odp.r.batches.filter((b) => b.device === 'nic0').length).toBe(odp.d.batches);
    // Both wrote every page in place.
    expect(odp.d.accesses.remote).toBe(PAGES);
    expect(pin.d.accesses.remote).toBe(PAGES);
  });

  it('a CPU move_pages during the kernel: pinned pages refuse to move; ODP pages move, the MTT is invalidated and the NIC faults again', () => {
    const move = (out: { status: (number | null)[] }) => (_m: SimMachine, p: ReturnType<SimMachine['spawn']>, base: number) => {
      out.status = p.movePages(base, PAGES, 1).status;
    };
    const pinOut = { status: [] as (number | null)[] }, odpOut = { status: [] as (number | null)[] };
    const pin = run(nic('pin'), { nodes: 2, passes: 2, during: move(pinOut) });
    const odp = run(nic('odp'), { nodes: 2, passes: 2, during: move(odpOut) });
    // Pinned (FOLL_LONGTERM) pages hold an extra reference: the move fails for every page.
    expect(pinOut.status.filter((s) => s === 1)).toHaveLength(0);
    expect(pin.d.faults.raised).toBe(0);
    // ODP pages are not pinned: they all move, and the NIC re-faults what it touches again.
    expect(odpOut.status.every((s) => s === 1)).toBe(true);
    expect(odp.d.tlb.invalidations).toBeGreaterThan(0);
    expect(odp.d.faults.raised).toBeGreaterThan(PAGES);
  });

  it('an ODP kernel over a region the CPU unmapped takes fatal faults instead of writing freed memory', () => {
    const odp = run(nic('odp'), { passes: 2, during: (_m, p, base) => p.munmap(base, PAGES) });
    expect(odp.d.faults.fatal).toBeGreaterThan(0);
    expect(odp.d.kernels).toHaveLength(1);
  });

  it('fault.serviceLatency and fault.perFaultCost time ODP faults: doubling them lengthens the kernel; pin mode ignores them', () => {
    const len = (d: { kernels: readonly { startPs: number; endPs: number }[] }) => d.kernels[0].endPs - d.kernels[0].startPs;
    const base = nic('odp');
    const slow = nic('odp', { serviceLatency: (2 * base.fault!.serviceLatency) as TimePs });
    const slower = nic('odp', { perFaultCost: (base.fault!.perFaultCost! * 4) as TimePs, batchSize: 8, bufferCapacity: 64 });
    const fast8 = nic('odp', { batchSize: 8, bufferCapacity: 64 });
    expect(len(run(slow).d)).toBeGreaterThan(len(run(base).d));
    expect(len(run(slower).d)).toBeGreaterThan(len(run(fast8).d));
    expect(run(slow).d.time.faultService).toBeGreaterThan(run(base).d.time.faultService);
    expect(len(run(nic('pin', { serviceLatency: (10 * base.fault!.serviceLatency) as TimePs })).d)).toBe(len(run(nic('pin')).d));
  });

  it('fault.batchSize bounds the faults one ODP batch resolves, and fault.bufferCapacity drops faults past it', () => {
    const lanes = (prof: Profile) => {
      const m = new SimMachine({ seed: 1, devices: [{ name: 'nic0', profile: prof }] });
      const p = m.spawn();
      const base = p.mmap(16, 'anon', 'rw');
      const vpns = Array.from({ length: 16 }, (_, i) => base + i);
      sequence(m, [() => m.launch('nic0', p, { name: 'k', lanes: pageLanes(vpns, true), computePs: 1000, accessBytes: 64, regions: [{ base, pages: 16 }] })]);
      m.run();
      return m.results('b').devices[0];
    };
    const one = lanes(nic('odp', { batchSize: 1, bufferCapacity: 64 }));
    const many = lanes(nic('odp', { batchSize: 16, bufferCapacity: 64 }));
    expect(one.batches).toBe(16);
    expect(many.batches).toBeLessThan(one.batches);
    const small = lanes(nic('odp', { batchSize: 1, bufferCapacity: 4 }));
    expect(small.faults.overflows).toBeGreaterThan(0);
    expect(small.faults.serviced).toBe(16);
  });

  it('an ODP batch-flush counts the entries it drops, so raised faults still add up', () => {
    const r = run(nic('odp', { batchSize: 1, bufferCapacity: 64, replayPolicy: 'batch-flush' }));
    const f = r.d.faults;
    expect(f.flushed).toBeGreaterThan(0);
    expect(f.serviced + f.duplicates + f.coalesced + f.throttled + f.flushed + f.overflows + f.fatal + f.pending + f.busy).toBe(f.raised);
  });

  it('fault.replayPolicy: block resumes only the QPs a batch served, batch resumes every stalled QP (which fault again)', () => {
    const lanes = (replayPolicy: NonNullable<Profile['fault']>['replayPolicy']) => {
      const m = new SimMachine({ seed: 1, devices: [{ name: 'nic0', profile: nic('odp', { batchSize: 1, bufferCapacity: 64, replayPolicy }) }] });
      const p = m.spawn();
      const base = p.mmap(8, 'anon', 'rw');
      const vpns = Array.from({ length: 8 }, (_, i) => base + i);
      sequence(m, [() => m.launch('nic0', p, { name: 'k', lanes: pageLanes(vpns, true), computePs: 1000, accessBytes: 64, regions: [{ base, pages: 8 }] })]);
      m.run();
      return m.results('b').devices[0];
    };
    const block = lanes('block'), batch = lanes('batch'), once = lanes('once');
    expect(block.faults.raised).toBe(8);
    // Woken before their page was mapped, the other QPs raise their fault again.
    expect(batch.faults.raised).toBeGreaterThan(8);
    // once: one resume after the queue is drained.
    expect(once.replays).toBe(1);
    expect(block.replays).toBe(8);
  });
});
