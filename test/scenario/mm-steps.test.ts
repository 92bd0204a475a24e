// The scenario steps that reach the rest of the mm: fork, exit, exec, munmap, mprotect, madvise
// (and an activity's delay), each run on a small scenario and checked where its effect shows:
// page tables, page contents, the devices' invalidations, the page allocator.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { parseScenario, loadScenario, ScenarioError, EXAMPLES_DIR } from '../../src/scenario/load.ts';
import { HmmMirrorDevice } from '../../src/sim/drivers/mirror.ts';
import { PinningDevice } from '../../src/sim/drivers/pinning.ts';
import { runScenario, ScenarioRunError } from '../../src/scenario/run.ts';
import type { Process } from '../../src/api/machine.ts';
import type { SimMachine } from '../../src/sim/machine.ts';
import type { RunResults } from '../../src/sim/results.ts';
import { PteType, pteType, ptePfn } from '../../src/mm/pte.ts';
import { VM_WRITE } from '../../src/mm/constants.ts';

interface Ran {
  r: RunResults;
  m: SimMachine;
  /** The process (address space) now known by each name. */
  procs: Map<string, Process>;
  /** Every address space a name has had, in order. */
  images: Map<string, Process[]>;
  /** First page of buffer `name` in the process's latest image. */
  base: (proc: string, buffer: string) => number;
}

function run(text: string): Ran {
  let m: SimMachine | undefined;
  const procs = new Map<string, Process>();
  const images = new Map<string, Process[]>();
  const bufs = new Map<string, ReadonlyMap<string, { base: number }>>();
  const r = runScenario(parseScenario(text, 'mm.yaml'), {
    onMachine: (x) => (m = x),
    onProcess: (name, p, buffers) => {
      procs.set(name, p);
      bufs.set(name, buffers);
      images.set(name, [...(images.get(name) ?? []), p]);
    },
  });
  return { r, m: m!, procs, images, base: (proc, buffer) => bufs.get(proc)!.get(buffer)!.base };
}

/** A GPU, an SVA device and a process p with anon buffer a (16 pages) and b; data on. */
function scenario(steps: string, allocations = '      - { name: a, pages: 16 }\n      - { name: b, pages: 16 }'): string {
  return `name: mm
devices:
  - { name: g0, profile: gpu-pcie4 }
  - { name: s0, profile: sva-accelerator }
processes:
  - name: p
    allocations:
${allocations}
steps:
${steps}
`;
}

/** The pfn page `vpn` of `p` maps, or -1. */
function pfnOf(p: Process, vpn: number): number {
  const e = p.mm.pt.pte(vpn);
  return pteType(e) === PteType.PRESENT ? ptePfn(e) : -1;
}
/** The first 32-bit word that differs between two pages' bytes, or -1. */
const word = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

describe('mm steps', () => {
  it('steps[].fork: process and child: the child runs its own phases in a copy-on-write copy; a write after the fork copies the page, and the child keeps the old bytes', () => {
    const steps = (fork: boolean) => `  - cpu: { workload: { type: streaming, buffer: a, write: true } }
  - kernel: { device: g0, workload: { type: streaming, buffer: a } }
${fork ? '  - fork: { process: p, child: c }\n  - kernel: { device: g0, process: c, workload: { type: streaming, buffer: a } }\n' : ''}  - cpu: { process: p, workload: { type: streaming, buffer: a, write: true } }
${fork ? '  - cpu: { process: c, workload: { type: streaming, buffer: a } }\n' : ''}`;
    const x = run(scenario(steps(true)));
    const p = x.procs.get('p')!, c = x.procs.get('c')!;
    expect(c).not.toBe(p);
    const a = x.base('p', 'a');
    // The parent's write broke COW on every page: each side now maps its own page.
    for (let v = a; v < a + 16; v++) {
      expect(pfnOf(p, v)).toBeGreaterThan(0);
      expect(pfnOf(c, v)).toBeGreaterThan(0);
      expect(pfnOf(p, v)).not.toBe(pfnOf(c, v));
    }
    expect(x.r.cpu.cow).toBeGreaterThanOrEqual(16);
    // The child reads what the parent wrote before the fork; the parent its own later store.
    const before = run(scenario(steps(false).split('\n').slice(0, 2).join('\n')));
    const pb = before.procs.get('p')!;
    let same = 0, differs = 0;
    for (let v = a; v < a + 16; v++) {
      const old = pb.read(v), child = c.read(v), parent = p.read(v);
      for (let off = 0; off < 4096; off += 4) {
        expect(word(child, off)).toBe(word(old, off));
        if (word(parent, off) !== word(old, off)) differs++;
        else same++;
      }
    }
    expect(differs).toBeGreaterThan(0);
    expect(same).toBeGreaterThan(0);
    // The child's own kernel ran in the child's address space.
    expect(x.r.devices.find((d) => d.id === 'g0')!.kernels.length).toBe(2);
  });

  it('steps[].exit.process: exit_mmap notifies the mirroring devices (MMU_NOTIFY_RELEASE) and frees every page of the process', () => {
    const steps = (exit: boolean) => `  - cpu: { workload: { type: streaming, buffer: a, write: true } }
  - fork: { child: c }
  - cpu: { process: c, workload: { type: streaming, buffer: b, write: true } }
  - kernel: { device: g0, process: c, workload: { type: streaming, buffer: a } }
${exit ? '  - exit: { process: c }\n' : ''}`;
    const kept = run(scenario(steps(false))), gone = run(scenario(steps(true)));
    expect(gone.procs.get('c')!.mm.alive).toBe(false);
    expect(kept.procs.get('c')!.mm.alive).toBe(true);
    // The child's 16 own pages of b went back to the allocator (or the device's): fewer in use.
    const used = (x: Ran) => x.m.sys.pages.nodeInUse.reduce((n, k) => n + k, 0);
    expect(used(kept) - used(gone)).toBeGreaterThanOrEqual(16);
    const inval = (x: Ran) => x.r.devices.find((d) => d.id === 'g0')!.tlb.invalidations;
    expect(inval(gone)).toBeGreaterThan(inval(kept));
    // Naming it later is refused where it is named.
    expect(() => parseScenario(scenario(`${steps(true)}  - cpu: { process: c, workload: { type: streaming, buffer: a } }`), 'x.yaml'))
      .toThrow(/^x\.yaml:16:\d+: steps\[5\]\.cpu\.process: process 'c' has exited \(exit at steps\[4\]\.exit\)/);
  });

  it('steps[].exec.process: the old image goes as at exit; the new one maps the buffers again, empty', () => {
    const steps = `  - cpu: { workload: { type: streaming, buffer: a, write: true } }
  - kernel: { device: g0, workload: { type: streaming, buffer: a } }
  - exec: { process: p }
  - kernel: { device: g0, workload: { type: streaming, buffer: a } }
`;
    const x = run(scenario(steps));
    const [old, now] = x.images.get('p')!;
    expect(old.mm.alive).toBe(false);
    expect(now.mm.alive).toBe(true);
    const a = x.base('p', 'a');
    for (let v = a; v < a + 16; v++) expect(now.read(v).every((b) => b === 0)).toBe(true);
    // The GPU faulted the new image's pages in afresh.
    const g = x.r.devices.find((d) => d.id === 'g0')!;
    expect(g.kernels[1].faults).toBeGreaterThan(0);
  });

  it('an exec keeps the process\'s NUMA node and policy, a forked child\'s included', () => {
    const x = run(`name: n
devices: [{ name: g0, profile: gpu-pcie4 }]
topology:
  sockets:
    - { id: cpu0, memoryBytes: 1 GiB, memoryBandwidth: 300 GB/s, memoryLatencyPs: 100 ns }
    - { id: cpu1, memoryBytes: 1 GiB, memoryBandwidth: 300 GB/s, memoryLatencyPs: 100 ns }
  links: [{ id: upi0, kind: upi, a: cpu0, b: cpu1, bandwidth: 96 GB/s, latencyPs: 60 ns }]
processes:
  - { name: p, node: cpu1, allocations: [{ name: a, pages: 4 }] }
steps:
  - fork: { child: c }
  - [ { exec: { process: p } }, { exec: { process: c } } ]
  - [ { cpu: { process: p, workload: { type: streaming, buffer: a, write: true } } }, { cpu: { process: c, workload: { type: streaming, buffer: a, write: true } } } ]
`);
    for (const name of ['p', 'c']) {
      const [, now] = x.images.get(name)!;
      expect(now.mm.node).toBe(1);
      expect(now.movePages(x.base(name, 'a'), 4, null).status).toEqual([1, 1, 1, 1]);
    }
  });

  it('steps[].munmap: process, buffer, offset and pages unmap that range of the buffer, and devices drop their mappings of it', () => {
    const steps = (m: string) => `  - [ { kernel: { device: g0, workload: { type: streaming, buffer: a } } }, { kernel: { device: s0, workload: { type: streaming, buffer: b } } } ]
  - munmap: { ${m} }
`;
    const holes = (m: string) => {
      const x = run(scenario(steps(m)));
      const p = x.procs.get('p')!;
      const mapped = (buffer: string, page: number) => p.mm.findVma(x.base('p', buffer) + page) !== undefined;
      return { x, mapped };
    };
    const one = holes('process: p, buffer: a, offset: 4, pages: 8');
    expect([3, 4, 11, 12].map((i) => one.mapped('a', i))).toEqual([true, false, false, true]);
    expect([0, 15].map((i) => one.mapped('b', i))).toEqual([true, true]);
    const rest = holes('buffer: a, offset: 10');
    expect([9, 10, 15].map((i) => rest.mapped('a', i))).toEqual([true, false, false]);
    expect([0, 15].map((i) => holes('buffer: b').mapped('b', i))).toEqual([false, false]);
    // g0 mirrored a: unmapping a drops its entries; unmapping b (which it never touched) does not.
    const g = (x: Ran) => x.r.devices.find((d) => d.id === 'g0')!.tlb.invalidations;
    expect(g(one.x)).toBeGreaterThan(g(holes('buffer: b').x));
    // A later access to the hole is a run error that names the step.
    expect(() => run(scenario(`${steps('buffer: a, offset: 4, pages: 8')}  - cpu: { workload: { type: streaming, buffer: a } }`)))
      .toThrow(ScenarioRunError);
  });

  it('steps[].mprotect: process, buffer, offset, pages and prot: the range becomes read-only (a CPU store there is refused) and devices lose write access', () => {
    const steps = (prot: string) => `  - kernel: { device: g0, workload: { type: streaming, buffer: a, write: true } }
  - mprotect: { buffer: a, offset: 0, pages: 16, prot: ${prot} }
`;
    const ro = run(scenario(steps('r'))), rw = run(scenario(steps('rw')));
    // process, buffer, offset and pages pick the range: only its pages lose VM_WRITE.
    const part = run(scenario(steps('r').replace('buffer: a, offset: 0, pages: 16', 'process: p, buffer: a, offset: 4, pages: 4')));
    const writable = (x: Ran, buffer: string, page: number) => (x.procs.get('p')!.mm.findVma(x.base('p', buffer) + page)!.flags & VM_WRITE) !== 0;
    expect([3, 4, 7, 8].map((i) => writable(part, 'a', i))).toEqual([true, false, false, true]);
    const other = run(scenario(steps('r').replace('buffer: a, offset', 'buffer: b, offset')));
    expect([writable(other, 'a', 0), writable(other, 'b', 0)]).toEqual([true, false]);
    const flags = (x: Ran) => x.procs.get('p')!.mm.findVma(x.base('p', 'a'))!.flags & VM_WRITE;
    expect(flags(ro)).toBe(0);
    expect(flags(rw)).not.toBe(0);
    const inval = (x: Ran) => x.r.devices.find((d) => d.id === 'g0')!.tlb.invalidations;
    expect(inval(ro)).toBeGreaterThan(inval(rw));
    expect(() => run(scenario(`${steps('r')}  - cpu: { workload: { type: streaming, buffer: a, write: true } }`))).toThrow(/SIGSEGV/);
    expect(() => parseScenario(scenario(steps('rwz')), 'x.yaml')).toThrow(/^x\.yaml:12:\d+: steps\[1\]\.mprotect\.prot: expected 'none' or letters of rwx/);
  });

  it('steps[].madvise: process, buffer, offset, pages and advice: dontneed zaps the range (the next touch reads zeroes); cold keeps the contents', () => {
    const steps = (advice: string) => `  - cpu: { workload: { type: streaming, buffer: a, write: true } }
  - kernel: { device: g0, workload: { type: streaming, buffer: a } }
  - madvise: { buffer: a, advice: ${advice} }
`;
    const nonzero = (x: Ran) => {
      const p = x.procs.get('p')!;
      const a = x.base('p', 'a');
      let n = 0;
      for (let v = a; v < a + 16; v++) if (p.read(v).some((b) => b !== 0)) n++;
      return n;
    };
    expect(nonzero(run(scenario(steps('dontneed'))))).toBe(0);
    expect(nonzero(run(scenario(steps('cold'))))).toBe(16);
    expect(nonzero(run(scenario(steps('dontneed, process: p, offset: 4, pages: 8'))))).toBe(8);
    expect(nonzero(run(scenario(steps('dontneed, buffer: b').replace('buffer: a, advice', 'advice'))))).toBe(16);
  });

  it('steps[].delay starts an activity that long after its step starts: a fork lands while the step\'s kernel runs', () => {
    const steps = (delay: string) => `  - cpu: { workload: { type: streaming, buffer: a, write: true } }
  - [ { kernel: { device: g0, workload: { type: random, buffer: a, accesses: 400, lanes: 4 } } }, { delay: ${delay}, fork: { child: c } } ]
`;
    const at = (delay: string) => {
      const x = run(scenario(steps(delay)));
      const k = x.r.devices.find((d) => d.id === 'g0')!.kernels[0];
      const f = x.r.spans.find((s) => s.name.startsWith('fork'))!;
      return { rel: f.startPs - k.startPs, k };
    };
    expect(at('0 us').rel).toBe(0);
    const late = at('20 us');
    expect(late.rel).toBe(20_000_000);
    expect(late.k.endPs).toBeGreaterThan(late.k.startPs + 20_000_000);
  });

  it('refuses a hugetlb buffer aligned past its 2 MiB pages, where the align is written', () => {
    expect(() => parseScenario(scenario('  - cpu: { workload: { type: streaming, buffer: a } }', '      - { name: a, pages: 16, kind: hugetlb, align: 4 MiB }'), 'x.yaml'))
      .toThrow(/^x\.yaml:8:53: processes\[0\]\.allocations\[0\]\.align: a hugetlb buffer is aligned to its 2 MiB pages/);
  });

  it('refuses a child named before its fork, a taken name, and a traversal of structures an exec dropped, each where it is written', () => {
    const at = (text: string) => {
      try {
        parseScenario(text, 'x.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(at(scenario(`  - cpu: { process: c, workload: { type: streaming, buffer: a } }\n  - fork: { child: c }`)))
      .toMatch(/^x\.yaml:11:\d+: steps\[0\]\.cpu\.process: process 'c' does not exist yet: the fork at steps\[1\]\.fork creates it/);
    expect(at(scenario(`  - fork: { child: p }`))).toMatch(/^x\.yaml:11:\d+: .*process name 'p' is taken/);
    expect(at(scenario(`  - [ { fork: { child: c } }, { cpu: { process: c, workload: { type: streaming, buffer: a } } } ]`)))
      .toMatch(/does not exist yet/);
    expect(at(`name: s
devices: [{ name: g0, profile: gpu-pcie4 }]
processes:
  - { name: p, structures: [{ name: l, type: list, nodes: 10 }] }
steps:
  - cpu: { workload: { type: build, structure: l } }
  - exec: {}
  - kernel: { device: g0, workload: { type: chaseList, structure: l } }
`)).toMatch(/^x\.yaml:8:\d+: .*process 'p' replaced its image \(exec at steps\[1\]\.exec\)/);
  });

  it('copy-on-write after fork (examples/cow-after-fork-odp.yaml): the ODP NIC and the mirror GPU re-sync to the parent\'s new pages while they run; the child keeps the old pages and their bytes', () => {
    let m: SimMachine | undefined;
    const procs = new Map<string, Process>();
    let base = 0, pages = 0;
    /** Each page's bytes in the parent at the fork, read from the frames without touching the page tables. */
    const atFork: Uint8Array[] = [];
    // While the devices still read after the parent's writes, every page the ODP NIC's MTT or
    // the GPU's mirror maps is the parent's current page (never the child's, never a stale one).
    const seen = { nic: 0, gpu: 0, stale: 0 };
    const probe = () => {
      const app = procs.get('app')!, child = procs.get('child');
      if (!child) return;
      const nic = m!.device('nic0') as PinningDevice, gpu = m!.device('gpu0') as HmmMirrorDevice;
      for (let v = base; v < base + pages; v++) {
        const want = pfnOf(app, v);
        const n = nic.mttPfn(app.mm, v), g = gpu.spaces.get(app.mm.id)?.pt.get(v);
        if (n >= 0) {
          if (n === want) seen.nic++;
          else seen.stale++;
        }
        if (g !== undefined) {
          if (Math.floor(g / 2) === want) seen.gpu++;
          else seen.stale++;
        }
      }
    };
    runScenario(loadScenario(join(EXAMPLES_DIR, 'cow-after-fork-odp.yaml')), {
      scale: 0.125,
      onMachine: (x) => {
        m = x;
        for (const t of [1.3e9, 1.5e9, 1.8e9]) x.at(t, probe);
      },
      onProcess: (name, p, buffers) => {
        procs.set(name, p);
        if (name === 'app') ({ base, pages } = buffers.get('buf')!);
        if (name === 'child') for (let v = base; v < base + pages; v++) atFork.push(new Uint8Array(m!.sys.pages.bytes(pfnOf(procs.get('app')!, v))));
      },
    });
    const app = procs.get('app')!, child = procs.get('child')!;
    const gpu = m!.device('gpu0') as HmmMirrorDevice;
    const mirror = gpu.spaces.get(app.mm.id)!.pt;
    let mirrored = 0;
    for (let i = 0; i < pages; i++) {
      const v = base + i;
      expect(pfnOf(app, v)).not.toBe(pfnOf(child, v));
      // The GPU maps the parent's current page, never the child's.
      const e = mirror.get(v);
      if (e !== undefined) {
        mirrored++;
        expect(Math.floor(e / 2)).toBe(pfnOf(app, v));
      }
      expect(gpu.spaces.get(child.mm.id)).toBeUndefined();
      // The child's page holds what the parent's held at the fork; the parent's has moved on.
      expect(child.read(v)).toEqual(atFork[i]);
      expect(app.read(v)).not.toEqual(atFork[i]);
    }
    expect(mirrored).toBeGreaterThan(0);
    expect(seen.nic).toBeGreaterThan(0);
    expect(seen.gpu).toBeGreaterThan(0);
    expect(seen.stale).toBe(0);
  });
});
