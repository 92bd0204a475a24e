// A plug-in prefetcher: after a fault, bring in the next `ahead` pages of the 2 MiB block (a
// read-ahead window, as the page cache does for files), skipping what is already resident,
// faulted or thrashing. Name it in a scenario as
//   policies: { prefetch: { policy: ./plugins/prefetch-sequential.ts, params: { ahead: 32 } } }
import type { PrefetchPolicy } from '../../src/index.ts';

const policy: PrefetchPolicy = {
  apiVersion: 1,
  role: 'prefetch',
  name: 'prefetch-sequential',
  prefetch(input, params) {
    const ahead = typeof params.ahead === 'number' ? params.ahead : 16;
    const skip = new Set([...input.faulted, ...input.resident, ...input.thrashing]);
    const end = input.blockStart + 512;
    const out = new Set<number>();
    for (const v of input.faulted) {
      for (let w = v + 1; w <= v + ahead && w < end; w++) if (!skip.has(w)) out.add(w);
    }
    return [...out].sort((a, b) => a - b);
  },
};
export default policy;
