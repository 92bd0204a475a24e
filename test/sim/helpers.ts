// Small builders shared by the timed-model tests.
import { loadProfile, PROFILES_DIR } from '../../src/devices/profile/load.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import { encodeAccess, type LaneProgram } from '../../src/sim/program.ts';
import type { SimMachine } from '../../src/sim/machine.ts';
import type { Mm } from '../../src/mm/mm.ts';

/** A shipped profile, optionally with a smaller device memory (bytes). */
export function profile(name: string, capacity?: number): Profile {
  const p = loadProfile(`${PROFILES_DIR}${name}.yaml`);
  return capacity === undefined ? p : { ...p, memory: { ...p.memory, capacity: capacity as Profile['memory']['capacity'] } };
}

/** Lanes that each walk a contiguous slice of [base, base+pages) `passes` times. */
export function streamLanes(base: number, pages: number, lanes: number, write: boolean, passes = 1): LaneProgram[] {
  const per = Math.ceil(pages / lanes);
  return Array.from({ length: lanes }, (_, i) => {
    const lo = base + i * per, hi = Math.min(base + pages, lo + per);
    let pass = 0, v = lo;
    return {
      next: () => {
        if (v >= hi) {
          if (++pass >= passes || lo >= hi) return -1;
          v = lo;
        }
        return encodeAccess(v++, write);
      },
    };
  });
}

/** One lane per listed page, each touching its page once. */
export function pageLanes(vpns: number[], write: boolean): LaneProgram[] {
  return vpns.map((v) => {
    let done = false;
    return { next: () => (done ? -1 : ((done = true), encodeAccess(v, write))) };
  });
}

/** Runs `steps` one after another (each starts when the previous activity ends). */
export function sequence(m: SimMachine, steps: (() => { onDone(cb: (t: number) => void): void })[]): void {
  const go = (i: number) => {
    if (i < steps.length) steps[i]().onDone(() => go(i + 1));
  };
  m.at(m.engine.now, () => go(0));
}

/**
 * The flat reference: every word any lane stored, by (address space, vpn, offset), in the order
 * the model applied them. Compare against what the CPU reads back at the end.
 */
export class FlatReference {
  readonly words = new Map<string, number>();
  readonly pages = new Map<string, Map<number, number>>();
  attach(m: SimMachine): this {
    m.storeObservers.push((_who, mm: Mm, vpn, offset, value) => {
      const k = `${mm.id}:${vpn}`;
      let pg = this.pages.get(k);
      if (!pg) this.pages.set(k, (pg = new Map()));
      pg.set(offset, value);
    });
    return this;
  }
  /** fork(): every page of `parent` starts out in `child` with the parent's words (private mappings). */
  fork(parent: Mm, child: Mm): void {
    for (const [k, pg] of [...this.pages]) {
      const [id, vpn] = k.split(':');
      if (Number(id) === parent.id) this.pages.set(`${child.id}:${vpn}`, new Map(pg));
    }
  }
}
