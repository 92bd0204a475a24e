// The limit: a plain typed-array loop over the same number of page records, with the model's
// own record layout (a PTE as pfn * 256 + flags * 8 + type in a Float64Array; flags,
// refcount, mapcount and index in struct-of-arrays by pfn). Per page it decodes the PTE, updates
// the page's record and writes a new PTE: the least any page-event has to do. Every other
// figure is reported as a ratio to this one, measured in the same run over the same n.
import type { ThroughputMeasure } from './types.ts';

/**
 * One pass over n records. A top-level function with nothing after its loop, so V8 optimises
 * it whole (an OSR'd closure with code after the loop it never ran deoptimises on every exit).
 */
function pass(
  n: number, gen: number, pte: Float64Array, flags: Uint16Array, refcount: Int32Array, mapcount: Int32Array, index: Float64Array,
): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const e = pte[i];
    // The model's decoding (src/mm/pte.ts), written out.
    const type = e - Math.trunc(e / 8) * 8;
    const q = Math.floor(e / 8);
    const f = q - Math.trunc(q / 32) * 32;
    const pfn = Math.floor(e / 256);
    if (type === 1) {
      flags[pfn] = (flags[pfn] & ~4) | (f & 2 ? 4 : 0) | 1;
      const r = refcount[pfn] + 1;
      refcount[pfn] = r;
      mapcount[pfn] = r - gen;
      index[pfn] = i;
      pte[i] = pfn * 256 + (f ^ (gen & 1 ? 2 : 0)) * 8 + type;
      acc += r;
    }
  }
  return acc;
}

export const rawLoop: ThroughputMeasure = {
  kind: 'baseline',
  id: 'raw-loop',
  title: 'raw typed-array loop over page records',
  event: 'one page record read and updated, one PTE decoded and rewritten',
  modes: ['no-data'],
  eventsPerRun: (n) => n,
  prepare(n) {
    const pte = new Float64Array(n);
    const flags = new Uint16Array(n + 1), refcount = new Int32Array(n + 1), mapcount = new Int32Array(n + 1);
    const index = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) pte[i] = (i + 1) * 256 + 3 * 8 + 1;
    let gen = 0;
    let sink = 0;
    return {
      run() {
        gen++;
        sink = (sink + pass(n, gen, pte, flags, refcount, mapcount, index)) % 1e9;
        return n;
      },
      facts: () => ({ sink }),
    };
  },
};
