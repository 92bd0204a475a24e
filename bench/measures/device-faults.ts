// N device faults through batching: a kernel of 256 lanes touches N untouched pages once each on
// a GPU (gpu-pcie4 profile, prefetching off so every page is its own fault). Each fault goes
// through the fault buffer, a batch, migrate_vma (zero-fill on the device) and hmm_range_fault.
// N page-events per run, each one page faulted (and populated) through the timed model.
import { SimMachine } from '../../src/sim/machine.ts';
import { loadProfile, PROFILES_DIR } from '../../src/devices/profile/load.ts';
import { encodeAccess } from '../../src/sim/program.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import type { ThroughputMeasure } from './types.ts';

const LANES = 256;

export function benchGpu(capacityPages: number): Profile {
  const p = loadProfile(`${PROFILES_DIR}gpu-pcie4.yaml`);
  const capacity = Math.ceil(capacityPages / 512) * 512 * 4096;
  return { ...p, memory: { ...p.memory, capacity: capacity as Profile['memory']['capacity'] } };
}

/** Lanes streaming contiguous slices of [base, base+pages), each page once. */
export function sliceLanes(base: number, pages: number, lanes: number) {
  const per = Math.ceil(pages / lanes);
  return Array.from({ length: lanes }, (_, i) => {
    let v = base + i * per;
    const end = Math.min(base + pages, v + per);
    return { next: () => (v < end ? encodeAccess(v++, false) : -1) };
  });
}

export const deviceFaults: ThroughputMeasure = {
  kind: 'throughput',
  id: 'device-faults',
  title: 'N device faults through batching',
  event: 'one device fault serviced (buffer, batch, migrate_vma zero-fill, hmm_range_fault, replay)',
  modes: ['no-data'],
  maxPages: 2 ** 18,
  eventsPerRun: (n) => n,
  prepare(n, mode) {
    let m: SimMachine;
    let base = 0;
    return {
      before() {
        m = new SimMachine({ seed: 1, data: mode === 'data', devices: [{ name: 'gpu0', profile: benchGpu(n), policies: { prefetch: { policy: 'prefetch-none' } } }], maxSpans: 0, bucketPs: 1e12 });
        const p = m.spawn();
        base = p.mmap(n, 'anon', 'rw');
        m.launch('gpu0', p, { name: 'touch', lanes: sliceLanes(base, n, LANES), computePs: 1000, accessBytes: 64 });
      },
      run() {
        m.run();
        return m.devices[0].metrics.faults.serviced;
      },
      facts: () => ({ batches: m.devices[0].metrics.batches, simulatedUs: Math.round(m.endPs() / 1e6) }),
    };
  },
};
