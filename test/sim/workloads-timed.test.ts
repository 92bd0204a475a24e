// Workload generators driving the timed machine: thrashing under CPU/GPU ping-pong, and a BFS
// over a graph the CPU builds with ordinary allocations, traversed by two GPUs.
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { Rng } from '../../src/engine/rng.ts';
import { randomGraph } from '../../src/workloads/graph.ts';
import { bfs } from '../../src/workloads/bfs.ts';
import { streaming } from '../../src/workloads/streaming.ts';
import { cpuTouch } from '../../src/workloads/cpu-touch.ts';
import { profile, sequence } from './helpers.ts';

describe('thrashing mitigation in the timed model', () => {
  function pingPong(thrashing: object) {
    const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: profile('gpu-pcie4'), policies: { prefetch: { policy: 'prefetch-none' }, thrashing } }] });
    const p = m.spawn();
    const base = p.mmap(4, 'anon', 'rw');
    const steps: (() => { onDone(cb: (t: number) => void): void })[] = [];
    for (let i = 0; i < 30; i++) {
      steps.push(() => m.launch('gpu0', p, streaming({ base, pages: 4, lanes: 1, write: true })));
      steps.push(() => m.cpuPhase(p, cpuTouch({ base, pages: 4, threads: 1, write: true })));
    }
    sequence(m, steps);
    m.run();
    return m.results('thrash');
  }
  it('pages bounced between CPU and GPU within the lapse are detected and the GPU is throttled', () => {
    const on = pingPong({ policy: 'thrashing-uvm' });
    const off = pingPong({ policy: 'thrashing-off' });
    expect(on.devices[0].thrashing.events).toBeGreaterThan(0);
    expect(on.devices[0].thrashing.throttles).toBeGreaterThan(0);
    expect(off.devices[0].thrashing).toEqual({ events: 0, throttles: 0, pins: 0 });
    // Throttling spaces the bounces out (the GPU naps): the same work takes longer.
    expect(on.endPs).toBeGreaterThan(off.endPs);
    expect(on.devices[0].pagesIn).toBe(off.devices[0].pagesIn);
  });
});

describe('BFS on a CPU-built graph', () => {
  function run(devices: { name: string; profile: ReturnType<typeof profile> }[]) {
    const m = new SimMachine({ seed: 5, crossDevice: { owners: 'links' }, devices });
    const p = m.spawn();
    const g = randomGraph(p, { vertices: 400, degree: 4, rng: new Rng(9) });
    const steps: (() => { onDone(cb: (t: number) => void): void })[] = [() => m.cpuPhase(p, g.build)];
    for (const d of devices) steps.push(() => m.launch(d.name, p, bfs(g, { lanes: 16 })));
    sequence(m, steps);
    m.run();
    return m.results('bfs');
  }
  it('two GPUs over XGMI share pages peer to peer; over PCIe the second pulls them back through RAM', () => {
    const xgmi = run([{ name: 'a', profile: profile('mi250x-xnack') }, { name: 'b', profile: profile('mi250x-xnack') }]);
    const pcie = run([{ name: 'a', profile: profile('gpu-pcie4') }, { name: 'b', profile: profile('gpu-pcie4') }]);
    for (const r of [xgmi, pcie]) {
      expect(r.devices[0].pagesTouched).toBeGreaterThan(100);
      expect(r.devices[1].pagesTouched).toBe(r.devices[0].pagesTouched);
    }
    // Over XGMI the second device migrates directly from its peer (out of a, into b): nothing
    // goes back to RAM.
    expect(xgmi.cpu.migrateToRam).toBe(0);
    expect(xgmi.devices[0].pagesOut).toBeGreaterThan(0);
    expect(xgmi.links.some((l) => l.kind === 'xgmi' && l.bytes > 0)).toBe(true);
    // Over PCIe (different groups) the pages come back through RAM first, pulled by b's faults.
    expect(pcie.devices[0].pagesOut).toBeGreaterThan(0);
    expect(pcie.cpu.deviceMigrateToRam).toBeGreaterThan(0);
  });
});
