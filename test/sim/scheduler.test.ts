// Off-CPU run queues on the timed machine (src/sim/scheduler.ts): how kernels share a device
// under each scheduling policy, the profile's scheduler costs and properties, and the per-task
// metrics. The default (concurrent) keeps the old behaviour: every kernel runs at once.
import { describe, it, expect } from 'vitest';
import { SimMachine, type DeviceConfig } from '../../src/sim/machine.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import type { SchedPolicy } from '../../src/policy/scheduler.ts';
import type { KernelSpec } from '../../src/sim/program.ts';
import { profile, streamLanes, sequence } from './helpers.ts';

const US = 1_000_000;

function sched(s: Partial<NonNullable<Profile['scheduler']>>, base = profile('h100-pcie5')): Profile {
  return { ...base, scheduler: { faultMode: 'stall', preemptible: true, holdsMmUsers: true, ...s } as Profile['scheduler'] };
}

/** A compute-bound kernel over `pages` pages of `base`, `passes` times (faults only on the first pass). */
function kernel(name: string, base: number, pages: number, passes: number, extra: Partial<KernelSpec> = {}): KernelSpec {
  return { name, lanes: streamLanes(base, pages, 4, true, passes), computePs: 100_000, accessBytes: 64, ...extra };
}

/** Two processes' kernels launched together on gpu0 (a first). */
function twoProcs(policy: SchedPolicy | undefined, prof: Profile, ka: (b: number) => KernelSpec, kb: (b: number) => KernelSpec, devices?: DeviceConfig[]) {
  const m = new SimMachine({ seed: 1, devices: devices ?? [{ name: 'gpu0', profile: prof, scheduler: policy }] });
  const a = m.spawn(), b = m.spawn();
  const ba = a.mmap(64, 'anon', 'rw'), bb = b.mmap(64, 'anon', 'rw');
  m.at(0, () => {
    m.launch('gpu0', a, ka(ba));
    m.launch('gpu0', b, kb(bb));
  });
  m.run();
  const r = m.results('sched');
  const k = (n: string) => r.devices[0].kernels.find((x) => x.name === n)!;
  return { r, a: k('a'), b: k('b'), spans: r.spans.filter((s) => s.track === 'gpu0:run-queue') };
}

describe('run-queue policies', () => {
  it('concurrent (the default) runs both kernels at once and records no run-queue metrics, as before', () => {
    const { a, b, spans } = twoProcs(undefined, profile('h100-pcie5'), (x) => kernel('a', x, 64, 20), (x) => kernel('b', x, 64, 20));
    expect(a.startPs).toBe(0);
    expect(b.startPs).toBe(0);
    expect(a.sched).toBeUndefined();
    expect(spans).toEqual([]);
    // They overlap: each ends after the other started, long before the sum of both.
    expect(Math.max(a.endPs, b.endPs)).toBeLessThan(a.endPs + b.endPs - 1);
  });

  it('fifo runs one kernel at a time in arrival order: the second queues for the whole of the first', () => {
    const { a, b, spans } = twoProcs('fifo', profile('h100-pcie5'), (x) => kernel('a', x, 64, 20), (x) => kernel('b', x, 64, 20));
    expect(a.sched!.preemptions + b.sched!.preemptions).toBe(0);
    expect(spans.map((s) => s.name)).toEqual(['a', 'b']);
    expect(spans[1].startPs).toBeGreaterThanOrEqual(spans[0].startPs + spans[0].durPs);
    expect(b.sched!.queuedPs).toBeGreaterThanOrEqual(a.sched!.runningPs);
  });

  it('priority runs the higher-priority kernel first even though it came second', () => {
    const { spans } = twoProcs('priority', profile('h100-pcie5'), (x) => kernel('a', x, 64, 20), (x) => kernel('b', x, 64, 20, { sched: { priority: 2 } }));
    expect(spans[0].name).toBe('b');
  });

  it('fair share takes turns by timeslice between processes: both are preempted, turns alternate', () => {
    const { a, b, spans } = twoProcs('fair', sched({ timeslice: 50 * US as never }), (x) => kernel('a', x, 64, 60), (x) => kernel('b', x, 64, 60));
    expect(a.sched!.preemptions).toBeGreaterThan(0);
    expect(b.sched!.preemptions).toBeGreaterThan(0);
    for (let i = 1; i < Math.min(6, spans.length); i++) expect(spans[i].name).not.toBe(spans[i - 1].name);
  });

  it('scheduler.timeslice: a shorter slice preempts more often under fair share', () => {
    const p = (t: number) => twoProcs('fair', sched({ timeslice: t as never }), (x) => kernel('a', x, 64, 60), (x) => kernel('b', x, 64, 60)).a.sched!.preemptions;
    expect(p(25 * US)).toBeGreaterThan(p(100 * US));
  });

  it('scheduler.contextSwitchCost: each context load delays the task by exactly its cost', () => {
    const q = (c: number) => twoProcs('fifo', sched({ contextSwitchCost: c as never }), (x) => kernel('a', x, 64, 20), (x) => kernel('b', x, 64, 20));
    const cheap = q(10 * US), dear = q(30 * US);
    // a waits one load, b two (a's and its own).
    expect(dear.a.sched!.queuedPs - cheap.a.sched!.queuedPs).toBe(20 * US);
    expect(dear.b.sched!.queuedPs - cheap.b.sched!.queuedPs).toBe(40 * US);
  });

  it('scheduler.preemptionCost: every preemption saves state for that long, so a dearer save lengthens the run', () => {
    const q = (c: number) => twoProcs('fair', sched({ timeslice: 50 * US as never, preemptionCost: c as never }), (x) => kernel('a', x, 64, 60), (x) => kernel('b', x, 64, 60));
    const cheap = q(1 * US), dear = q(200 * US);
    expect(dear.r.endPs).toBeGreaterThan(cheap.r.endPs + 200 * US);
  });

  it('scheduler.preemptible false: slices never preempt (jobs run to completion), and a CPU write to a page the running job mirrors waits for the job to end', () => {
    const q = (preemptible: boolean) => {
      const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: sched({ timeslice: 50 * US as never, preemptible }), scheduler: 'fair' }] });
      const a = m.spawn();
      const ba = a.mmap(64, 'anon', 'rw');
      let cpuEnd = 0;
      m.at(0, () => m.launch('gpu0', a, kernel('a', ba, 64, 60)));
      // Once the kernel has its pages (first pass done), the CPU writes one of them back.
      m.at(150 * US, () => m.cpuPhase(a, { name: 'poke', threads: streamLanes(ba, 1, 1, true), computePs: 0, accessBytes: 64 }).onDone((t) => (cpuEnd = t)));
      m.run();
      const r = m.results('np');
      return { r, cpuEnd, k: r.devices[0].kernels[0] };
    };
    const yes = q(true), no = q(false);
    expect(yes.r.cpu.jobWaitPs).toBeUndefined();
    expect(yes.cpuEnd).toBeLessThan(yes.k.endPs);
    expect(no.r.cpu.jobWaitPs).toBeGreaterThan(0);
    expect(no.cpuEnd).toBeGreaterThanOrEqual(no.k.endPs);
  });

  it('gang: the kernels of one gang start and stop on both devices together, while a one-device job takes turns with them', () => {
    const prof = sched({ timeslice: 50 * US as never });
    const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: prof, scheduler: 'gang' }, { name: 'gpu1', profile: prof, scheduler: 'gang' }] });
    const a = m.spawn(), b = m.spawn();
    // The members' pages 1024 pages apart: never in one 2 MiB VA block the two devices would pass back and forth.
    const ba = a.mmap(2048, 'anon', 'rw'), bb = b.mmap(64, 'anon', 'rw');
    m.at(0, () => {
      m.launch('gpu0', b, kernel('solo', bb, 64, 60));
      m.launch('gpu0', a, kernel('g0', ba, 64, 60, { sched: { gang: 'job', gangSize: 2 } }));
      m.launch('gpu1', a, kernel('g1', ba + 1024, 64, 60, { sched: { gang: 'job', gangSize: 2 } }));
    });
    m.run();
    const spans = m.results('gang').spans;
    const turns = (track: string, name: string) => spans.filter((s) => s.track === track && s.name === name).map((s) => s.startPs);
    const g0 = turns('gpu0:run-queue', 'g0'), g1 = turns('gpu1:run-queue', 'g1');
    expect(g0.length).toBeGreaterThan(1);
    // Every turn of one member starts when a turn of the other does.
    const shared = g0.filter((t) => g1.includes(t));
    expect(shared.length).toBe(Math.min(g0.length, g1.length));
    expect(turns('gpu0:run-queue', 'solo').length).toBeGreaterThan(1);
  });
});

describe('fault-and-stall vs fault-and-switch', () => {
  /** A faulting streamer (a fresh buffer) beside a compute-bound kernel on resident pages. */
  function mixed(faultMode: 'stall' | 'switch') {
    // Fair share with short slices and cheap switches: the faulting task gets the device back
    // soon after its replay.
    const prof = sched({ faultMode, timeslice: 20 * US as never, contextSwitchCost: 2 * US as never, preemptionCost: 5 * US as never });
    const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: prof, scheduler: 'fair' }] });
    const a = m.spawn(), b = m.spawn();
    const ba = a.mmap(512, 'anon', 'rw'), bb = b.mmap(16, 'anon', 'rw');
    sequence(m, [
      () => m.launch('gpu0', b, kernel('warm', bb, 16, 1)),
      () => {
        const x = m.launch('gpu0', a, { name: 'faulty', lanes: streamLanes(ba, 512, 4, true), computePs: 1000, accessBytes: 64 });
        const y = m.launch('gpu0', b, { name: 'compute', lanes: streamLanes(bb, 16, 4, false, 400), computePs: 200_000, accessBytes: 64 });
        return { onDone: (cb: (t: number) => void) => x.onDone(() => y.onDone(cb)) };
      },
    ]);
    m.run();
    const r = m.results(faultMode);
    return { r, k: (n: string) => r.devices[0].kernels.find((x) => x.name === n)! };
  }

  it('scheduler.faultMode switch: the faulting task gives the device to the compute kernel while it waits, so the mix finishes sooner', () => {
    const stall = mixed('stall'), sw = mixed('switch');
    expect(stall.k('faulty').sched!.faultSwitches).toBe(0);
    expect(stall.k('faulty').sched!.stalledPs).toBeGreaterThan(0);
    expect(sw.k('faulty').sched!.faultSwitches).toBeGreaterThan(0);
    expect(sw.r.endPs).toBeLessThan(stall.r.endPs);
    // The compute kernel no longer waits out the whole faulting one.
    expect(sw.k('compute').sched!.queuedPs).toBeLessThan(stall.k('compute').sched!.queuedPs);
  });
});
