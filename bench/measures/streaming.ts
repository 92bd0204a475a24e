// A timed streaming kernel with eviction: needs the timed model (kernels on src/sim, device
// memory pressure and eviction policy), which is being built. Registered as missing so
// results.json says so; replace with a ThroughputMeasure when it lands.
import type { MissingMeasure } from './types.ts';

export const streaming: MissingMeasure = {
  kind: 'missing',
  id: 'streaming-eviction',
  title: 'timed streaming kernel with eviction',
  reason: 'needs the timed model (kernels run by src/sim with device eviction), which is not built yet',
};
