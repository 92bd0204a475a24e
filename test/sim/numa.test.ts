// NUMA in the timed model: sockets are nodes, a page's node decides its route, and move_pages
// between kernels shows up in what a device pays.
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { streaming } from '../../src/workloads/streaming.ts';
import { cpuWrite, kernelStep, runScript, type KernelTiming } from '../../src/faultbench/harness.ts';
import { profile } from '../faultbench/helpers.ts';
import { profile as sizedProfile } from './helpers.ts';
import { PteType } from '../../src/mm/pte.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { cpuEntry } from '../invariants.ts';
import { MOVE_PAGE_PS, MOVE_PAGES_CALL_PS } from '../../src/sim/move-pages.ts';

const PAGES = 512;

/** An SVA device reads a CPU-written range twice; `between` runs between the two kernels. */
function twoReads(between: (m: SimMachine, base: number) => void): { first: number; second: number; m: SimMachine; base: number } {
  const m = new SimMachine({ seed: 1, data: false, devices: [{ name: 'acc', profile: profile('sva-accelerator') }], numaNodes: 2 });
  const p = m.spawn();
  const base = p.mmap(PAGES, 'anon', 'rw');
  const read = (name: string) => streaming({ base, pages: PAGES, lanes: 8, name, computePs: 1000, accessBytes: 4096 });
  const t1: KernelTiming = { startPs: 0, endPs: -1 }, t2: KernelTiming = { startPs: 0, endPs: -1 };
  const ok = runScript(m, [
    () => cpuWrite(m, p, base, PAGES),
    kernelStep(m, 'acc', p, read('first'), t1),
    () => between(m, base),
    kernelStep(m, 'acc', p, read('second'), t2),
  ], 1e12);
  expect(ok).toBe(true);
  return { first: t1.endPs - t1.startPs, second: t2.endPs - t2.startPs, m, base };
}

describe('NUMA nodes in the timed model', () => {
  it('numaNodes adds sockets on an inter-socket link, and the core gets one node per socket', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: profile('pascal-pcie3') }], numaNodes: 3 });
    expect(m.sys.nrNodes).toBe(3);
    const r = m.route('cpu2', 'gpu0')!;
    expect(r).not.toBeNull();
    expect(r.segments.some((s) => s.kind === 'upi')).toBe(true);
    expect(m.route('cpu0', 'gpu0')!.segments.some((s) => s.kind === 'upi')).toBe(false);
  });

  it('pages moved to the far socket are reached over the inter-socket link: the same kernel takes longer', () => {
    const base = twoReads(() => {});
    const moved = twoReads((m, b) => {
      const p = m.processOf([...m.sys.mms][0].id);
      const r = p.movePages(b, PAGES, 1);
      expect(r.ret).toBe(0);
      expect(r.status.every((s) => s === 1)).toBe(true);
    });
    expect(base.second).toBeLessThan(base.first); // the first kernel also fills the IOTLB
    expect(moved.second).toBeGreaterThan(base.second);
    const p = moved.m.processOf([...moved.m.sys.mms][0].id);
    expect(moved.m.homeNodeOf(cpuEntry(p.mm, moved.base).pfn)).toBe('cpu1');
    expect(base.m.homeNodeOf(cpuEntry(p.mm, base.base).pfn)).toBe('cpu0');
  });

  it('a move_pages activity lasts its CPU cost plus the copy over the inter-socket link, and counts the pages', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: profile('pascal-pcie3') }], numaNodes: 2 });
    const p = m.spawn();
    const a = p.mmap(64, 'anon', 'rw');
    for (let i = 0; i < 64; i++) p.write(a + i, i);
    let end = -1;
    const run = m.movePages(p, a, 64, 1);
    run.onDone((t) => (end = t));
    m.run();
    expect(run.result.ret).toBe(0);
    expect(run.moved).toBe(64);
    const copyPs = (64 * 4096 / 96e9) * 1e12;
    expect(end).toBeGreaterThanOrEqual(MOVE_PAGES_CALL_PS + 64 * MOVE_PAGE_PS + Math.floor(copyPs));
    expect(end).toBeLessThan(MOVE_PAGES_CALL_PS + 64 * MOVE_PAGE_PS + copyPs + 1_000_000);
    const r = m.results('move');
    expect(r.cpu.numaMigrated).toBe(64);
    expect(r.links.find((l) => l.id === 'cpu0->cpu1')?.bytes).toBe(64 * 4096);
    for (let i = 0; i < 64; i++) expect(p.read(a + i)[0]).toBe(i);
    expect(() => m.movePages(p, a, 1, 0).result).not.toThrow();
    expect(() => m.socketOf(2)).toThrow(/no NUMA node 2/);
  });

  it('a process on node 1 gets its evicted pages back on node 1, over the inter-socket link', () => {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: sizedProfile('pascal-pcie3', 2 * 1024 * 1024) }], numaNodes: 2 });
    const p = m.spawn();
    p.mm.node = 1;
    const base = p.mmap(1024, 'anon', 'rw');
    const ok = runScript(m, [
      () => cpuWrite(m, p, base, 1024),
      kernelStep(m, 'gpu0', p, streaming({ base, pages: 1024, lanes: 4, name: 'stream', computePs: 1000, accessBytes: 4096 })),
    ], 1e12);
    expect(ok).toBe(true);
    const r = m.results('evict');
    expect(r.devices[0].evictions.pages).toBeGreaterThan(0);
    let onNode1 = 0;
    for (let v = base; v < base + 1024; v++) {
      const e = cpuEntry(p.mm, v);
      if (e.type === PteType.PRESENT) {
        expect(m.sys.pages.nodeOf(e.pfn)).toBe(1);
        onNode1++;
      }
    }
    expect(onNode1).toBeGreaterThan(0);
    expect(r.links.find((l) => l.id === 'cpu0->cpu1')!.bytes).toBeGreaterThanOrEqual(r.devices[0].evictions.pages * 4096);
  });

  it('a scenario process with an interleave policy spreads its pages over both sockets', () => {
    const yaml = (policy: string) => `name: il
devices: [{ name: acc, profile: sva-accelerator }]
topology:
  sockets:
    - { id: cpu0, memoryBytes: 1 GiB, memoryBandwidth: 300 GB/s, memoryLatencyPs: 100 ns }
    - { id: cpu1, memoryBytes: 1 GiB, memoryBandwidth: 300 GB/s, memoryLatencyPs: 100 ns }
  links: [{ id: upi0, kind: upi, a: cpu0, b: cpu1, bandwidth: 96 GB/s, latencyPs: 60 ns }]
processes:
  - name: app
    ${policy}
    allocations: [{ name: t, pages: 256 }]
steps:
  - cpu: { workload: { type: streaming, buffer: t, write: true } }
  - kernel: { device: acc, workload: { type: streaming, buffer: t, lanes: 4 } }
`;
    const upi = (policy: string) => {
      const r = runScenario(parseScenario(yaml(policy), 'il.yaml'));
      return r.links.filter((l) => l.kind === 'upi').reduce((a, l) => a + l.bytes, 0);
    };
    const local = upi('node: cpu0'), far = upi('node: cpu1'), spread = upi('policy: { mode: interleave, nodes: [cpu0, cpu1] }');
    expect(local).toBe(0);
    expect(far).toBe(256 * 4096);
    expect(spread).toBe(128 * 4096);
    expect(upi('policy: { mode: bind, nodes: [cpu1] }')).toBe(far);
  });
});
