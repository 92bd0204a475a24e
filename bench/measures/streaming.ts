// A timed streaming kernel with eviction: one lane streams N untouched pages on a GPU whose
// memory holds N/2 (gpu-pcie4 profile, LRU of 2 MiB root chunks, density prefetcher). Every page
// is faulted in and, once the memory is full, a root chunk is evicted per block, so a run does
// N pages in + N/2 pages evicted = 1.5 N page-events (the arithmetic test/sim/fidelity.test.ts
// checks).
import { SimMachine } from '../../src/sim/machine.ts';
import { benchGpu, sliceLanes } from './device-faults.ts';
import type { ThroughputMeasure } from './types.ts';

export const streaming: ThroughputMeasure = {
  kind: 'throughput',
  id: 'streaming-eviction',
  title: 'timed streaming kernel with eviction',
  event: 'one page migrated in or evicted by a streaming kernel at 2x oversubscription',
  modes: ['no-data'],
  maxPages: 2 ** 18,
  eventsPerRun: (n) => n + n / 2,
  prepare(n, mode) {
    let m: SimMachine;
    return {
      before() {
        m = new SimMachine({ seed: 1, data: mode === 'data', devices: [{ name: 'gpu0', profile: benchGpu(n / 2) }], maxSpans: 0, bucketPs: 1e12 });
        const p = m.spawn();
        const raw = p.mmap(n + 512, 'anon', 'rw');
        const base = Math.ceil(raw / 512) * 512;
        m.launch('gpu0', p, { name: 'stream', lanes: sliceLanes(base, n, 1), computePs: 1000, accessBytes: 4096 });
      },
      run() {
        m.run();
        const d = m.devices[0].metrics;
        return d.pagesIn + d.evictions.pages;
      },
      facts: () => ({ evictedChunks: m.devices[0].metrics.evictions.units, simulatedUs: Math.round(m.endPs() / 1e6) }),
    };
  },
};
