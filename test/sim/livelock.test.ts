// Two GPUs without a direct link and with thrashing mitigation off can take the same pages from
// each other forever. The machine notices and stops with one clear error instead of running
// for hours; with mitigation on the same run finishes.
import { describe, it, expect } from 'vitest';
import { SimMachine, SimRunError, LIVELOCK_WINDOW_PS } from '../../src/sim/machine.ts';
import { random } from '../../src/workloads/random.ts';
import { Rng } from '../../src/engine/rng.ts';
import { cpuWrite } from '../../src/faultbench/harness.ts';
import { profile } from '../faultbench/helpers.ts';

function contend(thrashing: 'thrashing-off' | 'thrashing-uvm'): SimMachine {
  const policies = { thrashing: { policy: thrashing } };
  const m = new SimMachine({ seed: 1, data: false, crossDevice: { owners: 'links' }, devices: [
    { name: 'gpu0', profile: profile('gpu-pcie4'), policies },
    { name: 'gpu1', profile: profile('gpu-pcie4'), policies },
  ] });
  const p = m.spawn();
  const base = p.mmap(16, 'anon', 'rw');
  const k = (name: string) => random({ base, pages: 16, lanes: 8, accessesPerLane: 2000, writeFraction: 1, rng: new Rng(name.length), name, computePs: 1000, accessBytes: 64 });
  cpuWrite(m, p, base, 16).onDone(() => {
    m.launch('gpu0', p, k('a'));
    m.launch('gpu1', p, k('bb'));
  });
  return m;
}

describe('livelock watchdog', () => {
  it('stops a run where two devices only take pages from each other', () => {
    const m = contend('thrashing-off');
    let err: unknown;
    try {
      m.run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimRunError);
    expect((err as Error).message).toMatch(/^livelock: no access completed in 1 s of simulated time while \d+ pages went back to RAM to be taken again \(devices faulting: gpu0, gpu1\); turn thrashing mitigation on/);
    expect(m.engine.now).toBeGreaterThanOrEqual(LIVELOCK_WINDOW_PS);
    expect(m.engine.now).toBeLessThan(2 * LIVELOCK_WINDOW_PS);
  });

  it('lets the same run finish with thrashing mitigation on', () => {
    const m = contend('thrashing-uvm');
    m.run();
    const r = m.results('x');
    for (const d of r.devices) expect(d.accesses.local + d.accesses.remote + d.accesses.peer).toBe(8 * 2000);
  });
});
