// A socket's memoryBytes bounds its NUMA node: a full node sends allocations down its zonelist
// (the next node first), a bind policy only within its nodes (else OutOfMemory), move_pages to a
// full node leaves the page where it is, and a scenario whose buffers cannot fit in the sockets
// is refused before it runs.
import { describe, it, expect } from 'vitest';
import { Machine } from '../../src/api/machine.ts';
import { OutOfMemory } from '../../src/mm/errors.ts';
import { MpolMode, setMempolicy } from '../../src/mm/mempolicy.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { runScenario, ScenarioRunError } from '../../src/scenario/run.ts';
import { cpuEntry } from '../invariants.ts';

const PAGE = 4096;

/** Where each of pages [base, base + n) of `p` landed. */
function nodesOf(m: Machine, p: ReturnType<Machine['spawn']>, base: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => m.sys.pages.nodeOf(cpuEntry(p.mm, base + i).pfn));
}

describe('socket memoryBytes bounds its NUMA node (mm System nodeBytes)', () => {
  it('a full node falls back to the next node along its zonelist; unbounded nodes never do', () => {
    const m = new Machine({ nodes: 3, nodeBytes: [40 * PAGE, 1e9, 1e9] });
    const p = m.spawn();
    const base = p.mmap(64, 'anon', 'rw');
    for (let i = 0; i < 64; i++) p.write(base + i, 1);
    const nodes = nodesOf(m, p, base, 64);
    expect(nodes.slice(0, 40).every((n) => n === 0)).toBe(true);
    expect(nodes.slice(40).every((n) => n === 1)).toBe(true); // the next node, not node 2
    expect([0, 1, 2].map((n) => m.sys.pages.nodeInUse[n] ?? 0)).toEqual([40, 24, 0]);
    // Node 2's zonelist wraps: 0 before 1.
    expect(m.sys.fallbackNode(2, 1)).toBe(2);
    expect(new Machine({ nodes: 3, nodeBytes: [1e9, 1e9, 0] }).sys.fallbackNode(2, 1)).toBe(0);
    const unbounded = new Machine({ nodes: 2 });
    const q = unbounded.spawn();
    const b2 = q.mmap(64, 'anon', 'rw');
    for (let i = 0; i < 64; i++) q.write(b2 + i, 1);
    expect(nodesOf(unbounded, q, b2, 64).every((n) => n === 0)).toBe(true);
  });

  it('under MPOL_BIND the fallback stays in the bound nodes, and a full bind set is OutOfMemory', () => {
    const m = new Machine({ nodes: 2, nodeBytes: [1e9, 16 * PAGE] });
    const p = m.spawn();
    expect(setMempolicy(p.mm, MpolMode.BIND, [1])).toBe(0);
    const base = p.mmap(32, 'anon', 'rw');
    expect(() => {
      for (let i = 0; i < 32; i++) p.write(base + i, 1);
    }).toThrow(OutOfMemory);
    expect(m.sys.pages.nodeInUse[1]).toBe(16);
  });

  it('move_pages to a full node leaves the page where it is', () => {
    const m = new Machine({ nodes: 2, nodeBytes: [1e9, 4 * PAGE] });
    const p = m.spawn();
    const base = p.mmap(8, 'anon', 'rw');
    for (let i = 0; i < 8; i++) p.write(base + i, 1);
    const r = p.movePages(base, 8, 1);
    expect(r.ret).not.toBe(0);
    expect(nodesOf(m, p, base, 8).filter((n) => n === 1)).toHaveLength(4);
    expect(m.sys.pages.nodeInUse[1]).toBe(4);
  });
});

describe('socket memoryBytes in a scenario', () => {
  const yaml = (cpu0: string, pages = 256) => `name: mem
devices: [{ name: acc, profile: sva-accelerator }]
topology:
  sockets:
    - { id: cpu0, memoryBytes: ${cpu0}, memoryBandwidth: 300 GB/s, memoryLatencyPs: 100 ns }
    - { id: cpu1, memoryBytes: 1 GiB, memoryBandwidth: 300 GB/s, memoryLatencyPs: 100 ns }
  links: [{ id: upi0, kind: upi, a: cpu0, b: cpu1, bandwidth: 96 GB/s, latencyPs: 60 ns }]
processes:
  - name: app
    node: cpu0
    allocations: [{ name: t, pages: ${pages} }]
steps:
  - cpu: { workload: { type: streaming, buffer: t, write: true } }
  - kernel: { device: acc, workload: { type: streaming, buffer: t, lanes: 4 } }
`;
  const upi = (cpu0: string) => runScenario(parseScenario(yaml(cpu0), 'mem.yaml')).links.filter((l) => l.kind === 'upi').reduce((a, l) => a + l.bytes, 0);

  it('memoryBytes: a small cpu0 spills the buffer onto cpu1, so the device reaches part of it over the inter-socket link', () => {
    expect(upi('1 GiB')).toBe(0);
    const spilled = upi('512 KiB');
    expect(spilled).toBeGreaterThan(0);
    expect(spilled).toBeLessThan(256 * PAGE);
  });

  it('buffers that cannot fit in all the sockets are refused before the run, with the estimate and the sizes', () => {
    const s = parseScenario(yaml('1 MiB', 300_000), 'mem.yaml');
    let err: unknown;
    try {
      runScenario(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioRunError);
    expect((err as Error).message).toBe('mem.yaml: topology.sockets: the processes map 1.14 GiB (buffers and structures, all touched), more than the sockets hold (cpu0 1 MiB, cpu1 1 GiB)');
  });
});
