// A plug-in eviction policy: evict the MOST recently used unit. On a cyclic scan larger than
// device memory LRU evicts exactly the block that is needed next and misses on every block of
// every pass; MRU keeps the start of the buffer resident for the next pass. Works in whole root
// chunks unless `params: { unitPages: 1 }`. Name it in a scenario as
//   policies: { eviction: { policy: ./plugins/evict-mru.ts } }
import type { EvictionPolicy } from '../../src/index.ts';

const policy: EvictionPolicy = {
  apiVersion: 1,
  role: 'eviction',
  name: 'evict-mru',
  unitPages: (params, chunkPages) => (params.unitPages === 1 ? 1 : chunkPages),
  pick(view) {
    let last: number | null = null;
    for (const u of view.lru()) last = u;
    return last;
  },
};
export default policy;
