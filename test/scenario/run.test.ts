// Running scenarios: steps start together and in order, pipelines overlap their stages, every
// workload type runs, --scale shrinks the sizes, duration caps the run, runs are deterministic,
// and what only the model can refuse becomes one ScenarioRunError line.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario, EXAMPLES_DIR } from '../../src/scenario/load.ts';
import { runScenario, ScenarioRunError } from '../../src/scenario/run.ts';
import type { RunResults } from '../../src/sim/results.ts';

function run(text: string, scale?: number): RunResults {
  return runScenario(parseScenario(text, 'test.yaml'), scale === undefined ? {} : { scale });
}

function kernels(r: RunResults, device: string) {
  return r.devices.find((d) => d.id === device)!.kernels;
}

describe('steps', () => {
  const text = `
name: steps
devices:
  - { name: g0, profile: gpu-pcie4 }
  - { name: g1, profile: gpu-pcie4 }
processes:
  - name: p
    allocations:
      - { name: a, size: 2 MiB }
      - { name: b, size: 4 MiB }
steps:
  - cpu: { workload: { type: streaming, buffer: a, write: true, name: init } }
  - - kernel: { device: g0, workload: { type: streaming, buffer: a, name: k0 } }
    - kernel: { device: g1, workload: { type: streaming, buffer: b, write: true, name: k1 } }
  - kernel: { device: g0, workload: { type: streaming, buffer: b, name: k2 } }
`;
  const r = run(text);
  it('activities of a step start together; the next step starts when all of them are done', () => {
    const [k0, k2] = kernels(r, 'g0');
    const [k1] = kernels(r, 'g1');
    expect(k0.name).toBe('k0');
    expect(k1.name).toBe('k1');
    expect(k2.name).toBe('k2');
    expect(k0.startPs).toBe(k1.startPs);
    expect(k0.startPs).toBeGreaterThan(0); // after the CPU init
    expect(k2.startPs).toBe(Math.max(k0.endPs, k1.endPs));
  });
  it('buffers are aligned to 2 MiB and the devices touch exactly them', () => {
    const g1 = r.devices.find((d) => d.id === 'g1')!;
    expect(g1.touched).toHaveLength(1);
    expect(g1.touched[0].start % 512).toBe(0);
    expect(g1.touched[0].end - g1.touched[0].start).toBe(1024);
  });
  it('is deterministic', () => {
    expect(JSON.stringify(run(text))).toBe(JSON.stringify(r));
  });
  it('--scale shrinks buffers', () => {
    const small = run(text, 0.25);
    const g1 = small.devices.find((d) => d.id === 'g1')!;
    expect(g1.pagesTouched).toBe(256);
  });
  it('reports progress up to the last step', () => {
    const calls: number[][] = [];
    runScenario(parseScenario(text, 'test.yaml'), { onProgress: (t, e, done, n) => calls.push([t, e, done, n]), progressEvents: 100 });
    expect(calls.length).toBeGreaterThan(2);
    expect(calls[0]).toEqual([0, 0, 0, 3]);
    expect(calls.at(-1)!.slice(2)).toEqual([3, 3]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][1]).toBeGreaterThanOrEqual(calls[i - 1][1]);
  });
});

describe('pipelines', () => {
  const text = `
name: pipe
devices:
  - { name: nic0, profile: rdma-nic }
  - { name: acc0, profile: sva-accelerator }
  - { name: g0, profile: gpu-pcie4 }
processes:
  - name: p
    allocations:
      - { name: rx, pages: 40 }
      - { name: out, pages: 8 }
steps:
  - pipeline:
      chunks: 4
      stages:
        - kernel: { device: nic0, workload: { type: streaming, buffer: rx, write: true, name: rx } }
        - kernel: { device: acc0, workload: { type: streaming, buffer: rx, write: rw, name: dec } }
        - - kernel: { device: g0, workload: { type: streaming, buffer: rx, name: use } }
          - cpu: { workload: { type: streaming, buffer: out, write: true, name: log } }
`;
  const r = run(text);
  it('stage s runs chunk c in wave c + s, each wave after the previous one', () => {
    const nic = kernels(r, 'nic0'), acc = kernels(r, 'acc0'), g = kernels(r, 'g0');
    expect(nic.map((k) => k.name)).toEqual(['rx #0', 'rx #1', 'rx #2', 'rx #3']);
    expect(acc.map((k) => k.name)).toEqual(['dec #0', 'dec #1', 'dec #2', 'dec #3']);
    expect(g.map((k) => k.name)).toEqual(['use #0', 'use #1', 'use #2', 'use #3']);
    // Wave 1 starts the NIC's chunk 1 and the decryption of chunk 0 together.
    expect(acc[0].startPs).toBe(nic[1].startPs);
    expect(g[0].startPs).toBe(acc[1].startPs);
    expect(g[0].startPs).toBe(nic[2].startPs);
    expect(acc[0].startPs).toBeGreaterThanOrEqual(nic[0].endPs);
  });
  it('the chunks cover the buffer', () => {
    const g0 = r.devices.find((d) => d.id === 'g0')!;
    expect(g0.pagesTouched).toBe(40);
    // The SVA device reads and writes every page in place, after the NIC wrote it.
    const acc = r.devices.find((d) => d.id === 'acc0')!;
    expect(acc.pagesIn).toBe(0);
    expect(acc.accesses.remote).toBe(80);
  });
  it('a scaled-down buffer keeps one page per chunk', () => {
    const tiny = run(text, 0.01);
    expect(tiny.devices.find((d) => d.id === 'g0')!.pagesTouched).toBe(4);
    expect(kernels(tiny, 'g0')).toHaveLength(4);
  });
});

describe('every workload type', () => {
  const r = run(`
name: all
data: false
devices:
  - { name: g0, profile: gpu-pcie4 }
  - { name: g1, profile: gpu-pcie4 }
processes:
  - name: p
    allocations:
      - { name: a, pages: 64 }
      - { name: b, pages: 64 }
      - { name: c, pages: 64 }
    structures:
      - { name: graph, type: graph, vertices: 200, degree: 4 }
      - { name: list, type: list, nodes: 100, nodePages: 2 }
      - { name: tree, type: tree, nodes: 127, shape: balanced }
steps:
  - - cpu: { workload: { type: build, structure: graph, lanes: 2 } }
    - cpu: { workload: { type: build, structure: list } }
    - cpu: { workload: { type: build, structure: tree } }
  - - kernel: { device: g0, workload: { type: streaming, buffer: a, passes: 2, write: rw } }
    - kernel: { device: g1, workload: { type: strided, buffer: b, stride: 8, passes: 8, shiftPerPass: 1 } }
  - - kernel: { device: g0, workload: { type: random, buffer: c, accesses: 50, writeFraction: 0.5, lanes: 4 } }
    - kernel: { device: g1, workload: { type: readMostly, buffer: b, lookups: 50, writeEvery: never, lanes: 4 } }
  - kernel: { device: g0, workload: { type: stencil, buffer: a, out: b, cols: 8, iterations: 2, lanes: 4 } }
  - - kernel: { device: g0, workload: { type: allToAll, buffers: [a, b], index: 0, lanes: 2 } }
    - kernel: { device: g1, workload: { type: allToAll, buffers: [a, b], index: 1, lanes: 2 } }
  - kernel: { device: g0, workload: { type: bfs, structure: graph, source: 3 } }
  - kernel: { device: g1, workload: { type: chaseList, structure: list, lanes: 4 } }
  - kernel: { device: g0, workload: { type: searchTree, structure: tree, lookups: 10, miss: true, lanes: 4, compute: 10 ns, accessBytes: 128 } }
`);
  it('runs every kernel with its default name', () => {
    expect(kernels(r, 'g0').map((k) => k.name)).toEqual(['streaming a', 'random c', 'stencil a', 'allToAll a', 'bfs graph', 'searchTree tree']);
    expect(kernels(r, 'g1').map((k) => k.name)).toEqual(['strided b', 'readMostly b', 'allToAll b', 'chaseList list']);
  });
  it('touches what the generators say', () => {
    const g1 = r.devices.find((d) => d.id === 'g1')!;
    // strided with shiftPerPass 1 and passes = stride covers b; the list is 100 nodes × 2 pages.
    expect(g1.pagesTouched).toBeGreaterThanOrEqual(64 + 200);
    expect(r.cpu.faults).toBeGreaterThan(200 + 200 + 127);
    expect(r.devices.every((d) => d.faults.raised > 0)).toBe(true);
  });
});

describe('duration and run-time errors', () => {
  const text = `
name: capped
duration: 200 us
devices: [{ name: g0, profile: gpu-pcie4 }]
processes: [{ name: p, allocations: [{ name: a, size: 64 MiB }] }]
steps:
  - kernel: { device: g0, workload: { type: streaming, buffer: a, lanes: 4 } }
`;
  it('duration stops the run at that simulated time', () => {
    const r = run(text);
    expect(r.endPs).toBe(200_000_000);
    expect(r.devices[0].kernels).toHaveLength(0);
  });
  it('without a cap the same run goes on to the end', () => {
    const r = run(text.replace('duration: 200 us\n', ''), 0.05);
    expect(r.endPs).toBeGreaterThan(200_000_000);
    expect(r.devices[0].kernels).toHaveLength(1);
  });
  it('a pinning device without room for its buffers is one ScenarioRunError line', () => {
    // A pinning device with copy engines and 2 MiB of memory copies a kernel's buffers in.
    const dir = mkdtempSync(join(tmpdir(), 'hetmem-pin-'));
    // The mirror driver's fault parts do not apply to a pinning device: drop them and their sources.
    const profile = readFileSync(join(EXAMPLES_DIR, 'profiles', 'ai-engine.yaml'), 'utf8').replace('driver: hmm-mirror', 'driver: pinning').replace('capacity: 16 GiB', 'capacity: 2 MiB')
      .replace(/^fault:\n( {2}.*\n)+/m, '').replace(/^ {2}fault\.\w+:.*\n/gm, '');
    writeFileSync(join(dir, 'pin-engine.yaml'), profile);
    const s = parseScenario(`
name: pin
devices: [{ name: acc0, profile: pin-engine.yaml }]
processes: [{ name: p, allocations: [{ name: a, size: 4 MiB }] }]
steps:
  - kernel: { device: acc0, workload: { type: streaming, buffer: a } }
`, join(dir, 'pin.yaml'));
    expect(() => runScenario(s)).toThrow(ScenarioRunError);
    expect(() => runScenario(s)).toThrow(`${join(dir, 'pin.yaml')}: steps[0].kernel: acc0: kernel streaming a needs 1024 pages of device memory, 512 free (the pinning driver cannot oversubscribe)`);
  });
  it('rejects a scale that is not a positive number', () => {
    expect(() => runScenario(parseScenario(text, 't.yaml'), { scale: 0 })).toThrow(RangeError);
  });
});
