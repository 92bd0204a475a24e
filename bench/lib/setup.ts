// Shared setup for the throughput measures: a machine, a process with one anonymous region of
// n pages, every page written once by the CPU (so each is a present, exclusive anon page).
import { Machine, type Process } from '../../src/api/machine.ts';
import type { Mode } from '../measures/types.ts';

export interface Populated {
  machine: Machine;
  proc: Process;
  /** First page of the region. */
  start: number;
  n: number;
}

/** The byte page `i` is filled with in data mode (never 0, so contents really exist). */
export function fillByte(i: number): number {
  return 1 + (i % 251);
}

/** A process with n anonymous pages, each faulted in by a CPU write (with contents in data mode). */
export function populated(n: number, mode: Mode): Populated {
  const machine = new Machine({ keepData: mode === 'data' });
  const proc = machine.spawn();
  const start = proc.mmap(n, 'anon', 'rw');
  for (let i = 0; i < n; i++) {
    if (mode === 'data') proc.write(start + i, fillByte(i));
    else if (typeof proc.access(start + i, true) !== 'number') throw new Error('populate: CPU write faulted');
  }
  return { machine, proc, start, n };
}

/** In data mode, checks that every `step`-th page still holds its bytes; returns pages checked. */
export function verifyContents(s: Populated, mode: Mode, step: number): number {
  if (mode !== 'data') return 0;
  let checked = 0;
  for (let i = 0; i < s.n; i += step) {
    const b = s.proc.read(s.start + i);
    if (b[0] !== fillByte(i) || b[4095] !== fillByte(i)) throw new Error(`page ${i} lost its contents`);
    checked++;
  }
  return checked;
}
