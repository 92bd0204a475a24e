// Option checking shared by the generators. Options usually come from scenario files, so a bad
// value is reported as a RangeError that names the generator and the option, rather than
// surfacing later as a NaN page number deep inside a run.

import { Rng } from '../engine/rng.ts';
import { DEFAULT_COMPUTE_PS, VPN_LIMIT } from './defaults.ts';

/**
 * How a pattern writes: `false` every access reads, `true` every access writes, `'rw'` each
 * visited page is read and then written (two accesses, read first).
 */
export type WriteMode = boolean | 'rw';

/** Name and per-access costs every generator accepts; defaults are per generator. */
export interface CostOptions {
  /** Kernel or phase name (reports, traces). */
  readonly name?: string;
  /** Compute time per access, integer ps ≥ 0. */
  readonly computePs?: number;
  /** Bytes one access moves, integer in [1, 4096]. */
  readonly accessBytes?: number;
}

/** Resolved CostOptions. */
export interface Costs {
  readonly name: string;
  readonly computePs: number;
  readonly accessBytes: number;
}

/** Throws the RangeError every check uses: `fn: option 'opt' must be <want>, got <value>`. */
export function badOption(fn: string, option: string, want: string, got: unknown): never {
  throw new RangeError(`${fn}: option '${option}' must be ${want}, got ${describe(got)}`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

/** `v` if it is a safe integer ≥ 1. */
export function positiveInt(fn: string, option: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) badOption(fn, option, 'a positive integer', v);
  return v;
}

/** `v` if it is a safe integer ≥ 0. */
export function nonNegativeInt(fn: string, option: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) badOption(fn, option, 'a non-negative integer', v);
  return v;
}

/** `v` if it is a finite number in [0, 1]. */
export function fraction(fn: string, option: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) badOption(fn, option, 'a number in [0, 1]', v);
  return v;
}

/** `v` if it is an Rng (engine/rng.ts). */
export function rngOption(fn: string, option: string, v: unknown): Rng {
  if (!(v instanceof Rng)) badOption(fn, option, 'an Rng from engine/rng', v);
  return v;
}

/** `v` if it is a WriteMode. */
export function writeMode(fn: string, option: string, v: unknown): WriteMode {
  if (v !== true && v !== false && v !== 'rw') badOption(fn, option, "false, true or 'rw'", v);
  return v;
}

/**
 * Checks a page range [base, base + pages): base a non-negative integer, pages ≥ 1, and the
 * range below VPN_LIMIT so every access encodes exactly.
 */
export function pageRange(fn: string, baseOption: string, base: unknown, pagesOption: string, pages: unknown): void {
  const b = nonNegativeInt(fn, baseOption, base);
  const p = positiveInt(fn, pagesOption, pages);
  if (b + p > VPN_LIMIT) badOption(fn, pagesOption, `such that ${baseOption} + ${pagesOption} ≤ 2^51`, p);
}

/**
 * Resolves name and costs; `accessBytes` falls back to the generator's documented default.
 * `prefix` qualifies option names in messages when the costs are nested (e.g. 'build.').
 */
export function costs(fn: string, o: CostOptions, defaultName: string, defaultAccessBytes: number, prefix = ''): Costs {
  const name = o.name ?? defaultName;
  if (typeof name !== 'string' || name.length === 0) badOption(fn, `${prefix}name`, 'a non-empty string', name);
  const computePs = nonNegativeInt(fn, `${prefix}computePs`, o.computePs ?? DEFAULT_COMPUTE_PS);
  const accessBytes = o.accessBytes ?? defaultAccessBytes;
  if (typeof accessBytes !== 'number' || !Number.isSafeInteger(accessBytes) || accessBytes < 1 || accessBytes > 4096) {
    badOption(fn, `${prefix}accessBytes`, 'an integer in [1, 4096]', accessBytes);
  }
  return { name, computePs, accessBytes };
}

/** Throws unless `o` is a plain options object (a JS caller may pass nothing at all). */
export function optionsObject(fn: string, o: unknown): void {
  if (typeof o !== 'object' || o === null) throw new RangeError(`${fn}: expected an options object, got ${describe(o)}`);
}
