// CPU phases that write an arbitrary, index-addressed list of pages: how the pointer-structure
// builders express "the CPU initialised every node" without materialising the page list.

import type { CpuPhaseSpec, LaneProgram } from '../sim/program.ts';
import { LINE_ACCESS_BYTES } from './defaults.ts';
import { badOption, costs, positiveInt, type CostOptions, type Costs } from './options.ts';
import { partLength, partStart } from './split.ts';

/**
 * A CPU phase whose threads write pages pageAt(0), ..., pageAt(total − 1), one write each. The
 * indices are split contiguously (split.ts): thread i writes indices [partStart(total, threads,
 * i), partStart(total, threads, i + 1)) in ascending order. `pageAt` must be a pure function
 * returning valid VPNs; each thread keeps O(1) state. With `fields`, the write of index k stores
 * fields(k) (flat [byteOffset, u32 value] pairs, LaneData.store) in data mode, or the machine's
 * counter word where fields(k) is undefined.
 */
export function writePagesPhase(c: Costs, total: number, threads: number, pageAt: (k: number) => number, fields?: (k: number) => readonly number[] | undefined): CpuPhaseSpec {
  const programs: LaneProgram[] = [];
  for (let t = 0; t < threads; t++) {
    let k = partStart(total, threads, t);
    const end = k + partLength(total, threads, t);
    if (fields === undefined) {
      programs.push({ next: () => (k < end ? pageAt(k++) * 2 + 1 : -1) });
      continue;
    }
    // With fields, each write stores index k's fields (a node's pointers) in data mode: the
    // store belongs to the access next() just returned (a CPU access is never retried).
    let last = -1;
    programs.push({
      next: () => {
        if (k >= end) return -1;
        last = k;
        return pageAt(k++) * 2 + 1;
      },
      data: { store: () => fields(last) },
    });
  }
  return { name: c.name, threads: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

/** A pointer to page `vpn` (its first byte) as the two little-endian words of a 64-bit address: [low, high]. */
export function pointerWords(vpn: number): [number, number] {
  return [pointerLow(vpn), pointerHigh(vpn)];
}
/** The low word of pointerWords(vpn), without the pair. */
export function pointerLow(vpn: number): number {
  return ((vpn % 2 ** 20) * 4096) >>> 0;
}
/** The high word of pointerWords(vpn), without the pair. */
export function pointerHigh(vpn: number): number {
  return Math.floor(vpn / 2 ** 20);
}
/** The page a 64-bit address given as [low, high] words points into, or 0 for a null pointer. */
export function pointerVpn(low: number, high: number): number {
  return high * 2 ** 20 + Math.floor(low / 4096);
}

/**
 * The pageAt of writePagesPhase for every page of a list of objects: index k is page
 * k mod objectPages of object ⌊k / objectPages⌋, whose first page is objectVpn[object].
 */
export function objectPageAt(objectVpn: Float64Array, objectPages: number): (k: number) => number {
  return (k) => {
    const node = Math.floor(k / objectPages);
    return objectVpn[node] + (k - node * objectPages);
  };
}

/** How a pointer-structure builder prices the CPU phase that builds the structure. */
export interface BuildOptions extends CostOptions {
  /** CPU threads building, ≥ 1. Default 1: structures are usually built by one thread. */
  readonly threads?: number;
}

/**
 * Resolves a builder's `build` options. Defaults: name `<structure>.build`, threads 1,
 * accessBytes 64 (LINE_ACCESS_BYTES: initialising a node writes its fields, a line, not a
 * page), computePs 1000.
 */
export function buildOptions(fn: string, structure: string, o: BuildOptions | undefined): { costs: Costs; threads: number } {
  const b = o ?? {};
  if (typeof b !== 'object' || b === null) badOption(fn, 'build', 'an options object', b);
  return {
    costs: costs(fn, b, `${structure}.build`, LINE_ACCESS_BYTES, 'build.'),
    threads: positiveInt(fn, 'build.threads', b.threads ?? 1),
  };
}
