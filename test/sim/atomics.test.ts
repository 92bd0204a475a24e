// Device atomics through device-exclusive entries (nouveau's atomic fault on a PCIe GPU): an
// HMM mirror device whose link is not coherent takes each system page of its atomics
// device-exclusive (make_device_exclusive_range); a CPU touch restores the CPU's entry and drops
// the device's mapping; a coherent device does its atomics in place. And the small object CPU
// and GPU share as a synchronization channel stays in system memory without slowing either.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { parseScenario, loadScenario, EXAMPLES_DIR } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import type { Process } from '../../src/api/machine.ts';
import type { SimMachine } from '../../src/sim/machine.ts';
import { HmmMirrorDevice } from '../../src/sim/drivers/mirror.ts';
import { PteType, pteType } from '../../src/mm/pte.ts';
import type { RunResults } from '../../src/sim/results.ts';

function run(profile: string, steps: string): { r: RunResults; m: SimMachine; p: Process; base: number } {
  let m: SimMachine | undefined, p: Process | undefined, base = 0;
  const r = runScenario(parseScenario(`name: at
devices:
  - name: g0
    profile: ${profile}
    policies: { placement: { policy: map-remote }, prefetch: { policy: prefetch-none } }
processes:
  - { name: app, allocations: [{ name: c, pages: 8 }] }
steps:
  - cpu: { workload: { type: streaming, buffer: c, write: true } }
${steps}
`, 'at.yaml'), { onMachine: (x) => (m = x), onProcess: (_n, x, b) => ([p, base] = [x, b.get('c')!.base]) });
  return { r, m: m!, p: p!, base };
}
const kinds = (x: { p: Process; base: number }) => Array.from({ length: 8 }, (_, i) => pteType(x.p.mm.pt.pte(x.base + i)));
const atomics = '  - kernel: { device: g0, workload: { type: atomics, buffer: c, accesses: 64, lanes: 4 } }';

describe('device atomics (make_device_exclusive_range)', () => {
  it('a PCIe HMM mirror takes every system page of its atomics device-exclusive; plain writes leave the CPU\'s PTEs present', () => {
    const a = run('gpu-pcie4', atomics);
    expect(kinds(a)).toEqual(Array(8).fill(PteType.DEVICE_EXCLUSIVE));
    expect((a.m.device('g0') as HmmMirrorDevice).exclusive.grants).toBe(8);
    const w = run('gpu-pcie4', atomics.replace('type: atomics', 'type: random, writeFraction: 1'));
    expect(kinds(w)).toEqual(Array(8).fill(PteType.PRESENT));
    expect((w.m.device('g0') as HmmMirrorDevice).exclusive.grants).toBe(0);
  });

  it('a CPU touch restores the PTE and drops the device\'s atomic mapping; the next atomic faults and takes the page again', () => {
    const once = run('gpu-pcie4', `${atomics}\n  - cpu: { workload: { type: streaming, buffer: c } }`);
    expect(kinds(once)).toEqual(Array(8).fill(PteType.PRESENT));
    const g = once.m.device('g0') as HmmMirrorDevice;
    expect(g.exclusive.revoked).toBe(8);
    expect(g.spaces.get(once.p.mm.id)!.atomic.size).toBe(0);
    const twice = run('gpu-pcie4', `${atomics}\n  - cpu: { workload: { type: streaming, buffer: c } }\n${atomics}`);
    expect((twice.m.device('g0') as HmmMirrorDevice).exclusive.grants).toBe(16);
    expect(twice.r.devices[0].kernels[1].faults).toBeGreaterThanOrEqual(8);
    expect(kinds(twice)).toEqual(Array(8).fill(PteType.DEVICE_EXCLUSIVE));
  });

  it('every atomic store lands: the CPU reads the last value each device or CPU store wrote (data mode)', () => {
    let m: SimMachine | undefined;
    const last = new Map<string, number>();
    let p: Process | undefined, base = 0;
    runScenario(parseScenario(`name: at
devices:
  - { name: g0, profile: gpu-pcie4, policies: { placement: { policy: map-remote } } }
processes:
  - { name: app, allocations: [{ name: c, pages: 8 }] }
steps:
  - cpu: { workload: { type: streaming, buffer: c, write: true } }
  - - kernel: { device: g0, workload: { type: atomics, buffer: c, accesses: 200, lanes: 4, compute: 100 ns } }
    - cpu: { workload: { type: random, buffer: c, accesses: 100, writeFraction: 0.5, compute: 500 ns } }
`, 'at.yaml'), {
      onMachine: (x) => {
        m = x;
        x.storeObservers.push((_who, _mm, vpn, off, value) => last.set(`${vpn}:${off}`, value));
      },
      onProcess: (_n, x, b) => ([p, base] = [x, b.get('c')!.base]),
    });
    expect((m!.device('g0') as HmmMirrorDevice).exclusive.revoked).toBeGreaterThan(0);
    let checked = 0;
    for (let v = base; v < base + 8; v++) {
      const bytes = p!.read(v);
      const dv = new DataView(bytes.buffer, bytes.byteOffset);
      for (let off = 0; off < 4096; off += 4) {
        expect(dv.getUint32(off, true)).toBe(last.get(`${v}:${off}`) ?? 0);
        if (last.has(`${v}:${off}`)) checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('a device on a coherent link (C2C) does its atomics in place: no device-exclusive entries', () => {
    const c = run('gh200-c2c', atomics);
    expect(kinds(c)).toEqual(Array(8).fill(PteType.PRESENT));
    expect((c.m.device('g0') as HmmMirrorDevice).exclusive.grants).toBe(0);
  });

  it('a flag CPU and GPU poll together stays in system memory and slows neither (examples/atomics-exclusive.yaml)', () => {
    let p: Process | undefined, flag = 0;
    const r = runScenario(loadScenario(join(EXAMPLES_DIR, 'atomics-exclusive.yaml')), {
      scale: 0.125,
      onProcess: (_n, x, b) => ([p, flag] = [x, b.get('flag')!.base]),
    });
    const e = p!.mm.pt.pte(flag);
    expect(pteType(e)).toBe(PteType.PRESENT);
    expect(r.cpu.migrateToRam).toBe(0);
    expect(r.devices[0].pagesIn).toBe(0);
    const k = (name: string) => r.devices[0].kernels.find((x) => x.name === name)!;
    const span = (x: { startPs: number; endPs: number }) => x.endPs - x.startPs;
    expect(span(k('work'))).toBeLessThan(1.05 * span(k('work alone')));
    // The CPU thread polls at its compute pace: 2000 passes of a read and a write at 200 ns, plus
    // the first touch's faults (zero page, then its copy) and nothing per poll.
    const poll = r.spans.find((s) => s.name === 'cpu polls flag')!;
    expect(poll.durPs).toBeLessThanOrEqual(2000 * 2 * 200_000 + 5 * 1_000_000);
    expect(k('gpu polls flag').faults).toBeLessThanOrEqual(2);
  });
});
