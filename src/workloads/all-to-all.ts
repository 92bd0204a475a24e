// The all-to-all exchange across devices (the transpose step of distributed FFTs and the
// shuffle of expert-parallel layers): every device sends a distinct chunk to every other device.
// Modelled as device kernels that pull peers' chunks through the shared address space, which is
// how HMM/UVM-based collectives move data without explicit copies.

import type { KernelSpec, LaneProgram } from '../sim/program.ts';
import { PAGE_ACCESS_BYTES } from './defaults.ts';
import { badOption, costs, nonNegativeInt, optionsObject, pageRange, positiveInt, type CostOptions } from './options.ts';
import { partLength, partStart } from './split.ts';

/** One device's exchange buffer: pages [base, base + pages). */
export interface DeviceBuffer {
  readonly base: number;
  readonly pages: number;
}

/** Options of `allToAll`. */
export interface AllToAllOptions extends CostOptions {
  /** Buffer of each device, indexed by device number; at least 2, pairwise disjoint. */
  readonly buffers: readonly DeviceBuffer[];
  /** The device this kernel runs on: an index into `buffers`. */
  readonly device: number;
  /** Lanes sharing each chunk copy, ≥ 1. Default 1 (one sequential copy loop). */
  readonly lanes?: number;
}

/**
 * The kernel device d runs in an all-to-all among D = buffers.length devices. Each buffer is
 * both send and receive buffer, split contiguously into D slices (split.ts): slice j of buffer
 * x is pages [x.base + partStart(x.pages, D, j), x.base + partStart(x.pages, D, j + 1)). Slice j
 * of buffer x is the chunk device x exchanges with device j.
 *
 * Device d visits its peers in ring order j = d+1, d+2, ..., D−1, 0, ..., d−1 (so that the
 * devices start on different peers instead of all pulling from device 0 first). For peer j it
 * reads slice d of buffer j (the chunk j holds for d) and writes slice j of buffer d (where
 * that chunk lands), page by page: step k reads page k of the source slice, then writes page k of
 * the destination slice, each only if the slice is that long (slices differ by at most one page
 * when buffers are equal; unequal buffers give unequal slices). Steps 0..K−1 of a chunk
 * (K = the longer slice) are split contiguously among the lanes, and every lane moves on to the
 * next peer when its share is done. Slice d of buffer d (the chunk a device keeps) is not
 * touched. O(1) memory per lane.
 *
 * Defaults: name 'allToAll<d>', lanes 1, accessBytes 4096 (PAGE_ACCESS_BYTES: whole chunks are
 * copied), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function allToAll(o: AllToAllOptions): KernelSpec {
  const fn = 'allToAll';
  optionsObject(fn, o);
  const bufs = o.buffers;
  if (!Array.isArray(bufs) || bufs.length < 2) badOption(fn, 'buffers', 'an array of at least 2 buffers', bufs);
  bufs.forEach((b: DeviceBuffer, i: number) => {
    if (typeof b !== 'object' || b === null) badOption(fn, `buffers[${i}]`, 'a {base, pages} object', b);
    pageRange(fn, `buffers[${i}].base`, b.base, `buffers[${i}].pages`, b.pages);
  });
  const byBase = bufs.map((b, i) => i).sort((x, y) => bufs[x].base - bufs[y].base);
  for (let k = 1; k < byBase.length; k++) {
    const p = bufs[byBase[k - 1]], q = bufs[byBase[k]];
    if (p.base + p.pages > q.base) {
      badOption(fn, `buffers[${byBase[k]}]`, `disjoint from buffers[${byBase[k - 1]}]`, `[${q.base}, ${q.base + q.pages})`);
    }
  }
  const device = nonNegativeInt(fn, 'device', o.device);
  if (device >= bufs.length) badOption(fn, 'device', `an index below buffers.length (${bufs.length})`, device);
  const lanes = positiveInt(fn, 'lanes', o.lanes ?? 1);
  const c = costs(fn, o, `allToAll${device}`, PAGE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let l = 0; l < lanes; l++) programs.push(exchangeLane(bufs, device, lanes, l));
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

function exchangeLane(bufs: readonly DeviceBuffer[], d: number, lanes: number, lane: number): LaneProgram {
  const n = bufs.length;
  const mine = bufs[d];
  let peerStep = 0; // peers done so far; the current peer is (d + peerStep + 1) mod n
  let readStart = 0, readLen = 0, writeStart = 0, writeLen = 0;
  let k = 0, kEnd = 0;
  let writeDue = false;
  const openPeer = (): void => {
    const j = (d + peerStep + 1) % n;
    const src = bufs[j];
    readStart = src.base + partStart(src.pages, n, d);
    readLen = partLength(src.pages, n, d);
    writeStart = mine.base + partStart(mine.pages, n, j);
    writeLen = partLength(mine.pages, n, j);
    const steps = Math.max(readLen, writeLen);
    k = partStart(steps, lanes, lane);
    kEnd = k + partLength(steps, lanes, lane);
  };
  openPeer();
  return {
    next(): number {
      while (true) {
        if (peerStep >= n - 1) return -1;
        if (k >= kEnd) {
          if (++peerStep < n - 1) openPeer();
          continue;
        }
        if (!writeDue) {
          writeDue = true;
          if (k < readLen) return (readStart + k) * 2;
        }
        writeDue = false;
        const step = k++;
        if (step < writeLen) return (writeStart + step) * 2 + 1;
      }
    },
  };
}
