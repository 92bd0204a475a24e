// N device faults through batching: needs the timed model (device fault buffers, batching,
// src/sim and new drivers under src/devices), which is being built. Registered as missing so
// results.json says so; replace with a ThroughputMeasure when it lands.
import type { MissingMeasure } from './types.ts';

export const deviceFaults: MissingMeasure = {
  kind: 'missing',
  id: 'device-faults',
  title: 'N device faults through batching',
  reason: 'needs the timed model (device fault batching in src/sim and src/devices), which is not built yet',
};
