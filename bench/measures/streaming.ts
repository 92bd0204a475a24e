// A timed streaming kernel with eviction: one lane streams N untouched pages on a GPU whose
// memory holds N/2 (gpu-pcie4 profile, density prefetcher), under each eviction policy: LRU of
// 2 MiB root chunks (UVM's default), LRU of 4 KiB pages and random 4 KiB pages. Every page is
// faulted in and, once the memory is full, units are evicted until a chunk is free, so a run
// does N pages in + N/2 pages evicted = 1.5 N page-events under the LRU policies (the
// arithmetic test/sim/fidelity.test.ts checks); random 4 KiB eviction evicts more (a chunk
// frees only when its last page is picked), and the count is what the run did. Run from 2^16 to 2^22 pages, so the growth exponent shows
// whether victim selection stays O(1) or O(log n) per eviction as residency grows.
import { SimMachine } from '../../src/sim/machine.ts';
import { benchGpu, sliceLanes } from './device-faults.ts';
import type { ThroughputMeasure } from './types.ts';

/** The scenario-level names of the eviction policies, by measure id suffix. */
const POLICIES = {
  'lru-chunk': 'evict-lru-chunk',
  'lru-page': 'evict-lru-page',
  random: 'evict-random',
} as const;

/** Growth target of the streaming-with-eviction measures (issue 17): near-linear in pages. */
export const STREAMING_GROWTH_TARGET = 1.05;

function streamingWith(kind: keyof typeof POLICIES): ThroughputMeasure {
  return {
    kind: 'throughput',
    // The LRU-chunk measure keeps the id it had before the other policies joined it.
    id: kind === 'lru-chunk' ? 'streaming-eviction' : `streaming-eviction-${kind}`,
    title: `timed streaming kernel with eviction (${kind})`,
    event: `one page migrated in or evicted by a streaming kernel at 2x oversubscription (${POLICIES[kind]})`,
    modes: ['no-data'],
    maxPages: 2 ** 22,
    growthTarget: STREAMING_GROWTH_TARGET,
    eventsPerRun: (n) => n + n / 2,
    // Random 4 KiB eviction empties a chunk page by page at random, so it evicts more than N/2.
    eventsFromRun: kind === 'random',
    prepare(n, mode) {
      let m: SimMachine;
      return {
        before() {
          m = new SimMachine({
            seed: 1, data: mode === 'data', maxSpans: 0, bucketPs: 1e12,
            devices: [{ name: 'gpu0', profile: benchGpu(n / 2), policies: { eviction: { policy: POLICIES[kind] } } }],
          });
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
        facts: () => ({ evictedUnits: m.devices[0].metrics.evictions.units, simulatedUs: Math.round(m.endPs() / 1e6) }),
      };
    },
  };
}

export const streaming = streamingWith('lru-chunk');
export const streamingLruPage = streamingWith('lru-page');
export const streamingRandom = streamingWith('random');
