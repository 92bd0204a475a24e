// The with-data limit: a plain loop copying 4 KiB pages (Uint8Array.set between preallocated
// page buffers, as the model stores one Uint8Array per page). Migration with page contents
// copies one page per page-event, so this bounds what the data-mode migrate figure can reach.
import { PAGE_SIZE } from '../../src/mm/constants.ts';
import type { ThroughputMeasure } from './types.ts';

export const copyLoop: ThroughputMeasure = {
  kind: 'baseline',
  id: 'copy-loop',
  title: 'plain 4 KiB page copy loop',
  event: 'one 4 KiB page copied',
  modes: ['data'],
  eventsPerRun: (n) => n,
  prepare(n) {
    const src: Uint8Array[] = [], dst: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      src.push(new Uint8Array(PAGE_SIZE).fill(i & 0xff));
      dst.push(new Uint8Array(PAGE_SIZE));
    }
    let flip = false;
    return {
      run() {
        // Alternate directions so every run copies pages that are not hot in cache.
        const a = flip ? dst : src, b = flip ? src : dst;
        flip = !flip;
        for (let i = 0; i < n; i++) b[i].set(a[i]);
        return n;
      },
    };
  },
};
