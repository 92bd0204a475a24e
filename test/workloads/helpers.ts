// Shared test helpers: draining lane programs and spelling accesses.
import type { LaneProgram } from '../../src/sim/program.ts';

/** Encoded read of page v. */
export const R = (v: number): number => v * 2;
/** Encoded write of page v. */
export const W = (v: number): number => v * 2 + 1;

/** Every access of a program, in order; fails loudly instead of looping forever. */
export function drain(p: LaneProgram, max = 5_000_000): number[] {
  const out: number[] = [];
  for (let a = p.next(); a !== -1; a = p.next()) {
    out.push(a);
    if (out.length > max) throw new Error(`program did not finish within ${max} accesses`);
  }
  // A finished program stays finished.
  if (p.next() !== -1) throw new Error('program resumed after returning -1');
  return out;
}

/** drain() of each lane. */
export function drainAll(lanes: readonly LaneProgram[]): number[][] {
  return lanes.map((l) => drain(l));
}

/** Occurrences of each value. */
export function counts(values: Iterable<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** Ascending copy (for comparing access multisets). */
export function sorted(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Pages [a, b). */
export function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

/**
 * Every access of each lane of a kernel whose lanes wait at LANE_BARRIER (-2): runs each lane
 * up to its barrier or its end, in lane order, and lets them all past once every lane still
 * running waits there, as the device does. `barriers` counts the barriers passed.
 */
export function drainKernel(lanes: readonly LaneProgram[], max = 5_000_000): { accesses: number[][]; barriers: number } {
  const accesses = lanes.map((): number[] => []);
  const done = lanes.map(() => false);
  let barriers = 0, total = 0;
  while (!done.every(Boolean)) {
    let waiting = 0;
    lanes.forEach((p, i) => {
      if (done[i]) return;
      for (let a = p.next(); ; a = p.next()) {
        if (a === -2) {
          waiting++;
          return;
        }
        if (a < 0) {
          done[i] = true;
          return;
        }
        accesses[i].push(a);
        if (++total > max) throw new Error(`kernel did not finish within ${max} accesses`);
      }
    });
    if (waiting > 0) barriers++;
  }
  // A finished program stays finished.
  if (lanes.some((p) => p.next() !== -1)) throw new Error('program resumed after returning -1');
  return { accesses, barriers };
}
