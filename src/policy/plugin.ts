// The policy interface plug-ins and built-ins share, and the table both are registered in.
//
// A policy is a named, versioned object with one pure decision function. hetmem's own prefetch
// and eviction policies are registered here through `registerPolicy` exactly as a user's module
// is (scenario/plugins.ts imports the module and registers its default export under the module's
// absolute path), and the driver asks `prefetchPolicy()` / `evictionPolicy()` by name either way.
//
// A user's policy runs behind `checked*` wrappers: each decision is made twice on frozen copies
// of its input (a replay) and compared, and checked for shape, so a plug-in that throws, answers
// something invalid or answers differently on replay stops the run with PolicyPluginError before
// the decision is carried out (the model's pages and data stay as they were).

import type { TimePs } from '../units/time.ts';
import { BLOCK_PAGES, blockOf } from './types.ts';

/** Version of this interface; a plug-in declares the one it was written against. */
export const POLICY_API_VERSION = 1;

/** The roles a plug-in can fill today. */
export const PLUGGABLE_ROLES = ['prefetch', 'eviction'] as const;
export type PluggableRole = (typeof PLUGGABLE_ROLES)[number];

/** Parameters a scenario passes to a policy (`params:` beside `policy:`), frozen. */
export type PolicyParams = Readonly<Record<string, unknown>>;

/**
 * One prefetch decision's input: the faulted pages of one 2 MiB VA block migrating to one
 * device, what already resides there, and the block's history. VPNs are 4 KiB page numbers.
 */
export interface PrefetchDecisionInput {
  /** First VPN of the block (a multiple of 512). */
  readonly blockStart: number;
  /** Faulted pages of this batch, ascending, all in the block, non-empty. */
  readonly faulted: readonly number[];
  /** Pages of the block already resident on the device, ascending. */
  readonly resident: readonly number[];
  /** Pages of the block flagged as thrashing, ascending (never prefetch them). */
  readonly thrashing: readonly number[];
  /** Earlier fault migrations of this block to the device. */
  readonly priorFaultMigrations: number;
}

/**
 * A prefetch policy: which other pages of the block to migrate with the faulted ones.
 * `prefetch` must be pure (same input → same output) and return VPNs ascending, without
 * duplicates, inside the block, none faulted, resident or thrashing.
 */
export interface PrefetchPolicy {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly role: 'prefetch';
  readonly name: string;
  prefetch(input: PrefetchDecisionInput, params: PolicyParams): readonly number[];
}

/**
 * What an eviction policy sees: the device memory's resident units (a unit is `unitPages`
 * device pages: 1, or 512 = one 2 MiB root chunk), leaving out units that may not go now.
 */
export interface EvictionView {
  readonly unitPages: number;
  /** Candidate units, least recently used first (lazy: stop early when you can). */
  lru(): Iterable<number>;
  /** Candidate units in residency order (insertion, swap-with-last on removal), for random picks. */
  order(): readonly number[];
  /** Last use of a resident unit, ps. */
  lastUse(unit: number): TimePs;
  /** Resident device pages of a unit, ascending. */
  pages(unit: number): readonly number[];
}

/**
 * An eviction policy: which unit to evict next. `pick` must be pure given the view and the
 * numbers `random()` returns (a seeded stream in [0, 1)); it returns a candidate unit, or null
 * when none of them should go. `unitPages(params)` is the unit size it works in.
 */
export interface EvictionPolicy {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly role: 'eviction';
  readonly name: string;
  unitPages(params: PolicyParams, chunkPages: number): number;
  pick(view: EvictionView, random: () => number, params: PolicyParams): number | null;
}

/** Any registrable policy. */
export type Policy = PrefetchPolicy | EvictionPolicy;

/** A plug-in broke its contract: one line naming the module and the decision. */
export class PolicyPluginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyPluginError';
  }
}

const table = new Map<string, Policy>();

/**
 * Registers `p` under `key` (a built-in's name, or a plug-in module's absolute path).
 * Re-registering the same object is a no-op; another object under a taken key is refused.
 * @throws PolicyPluginError if the object is not a policy of a known role and this version
 */
export function registerPolicy(key: string, p: unknown): Policy {
  const policy = checkShape(key, p);
  const had = table.get(key);
  if (had !== undefined && had !== policy) throw new PolicyPluginError(`${key}: a different policy is already registered under this name`);
  table.set(key, policy);
  return policy;
}

/** The policy registered under `key`, if any. */
export function registeredPolicy(key: string): Policy | undefined {
  return table.get(key);
}

/** Whether a `policy:` value names a module (a path or a .js/.ts file) rather than a built-in. */
export function isModuleRef(name: string): boolean {
  return /^(\.{1,2}\/|\/)/.test(name) || /\.(m?[jt]s|c?js)$/.test(name);
}

function checkShape(key: string, p: unknown): Policy {
  const o = p as Partial<Policy> | null;
  if (o === null || typeof o !== 'object') throw new PolicyPluginError(`${key}: expected a policy object (default export), got ${o === null ? 'null' : typeof o}`);
  if (o.apiVersion !== POLICY_API_VERSION) throw new PolicyPluginError(`${key}: expected apiVersion ${POLICY_API_VERSION}, got ${JSON.stringify(o.apiVersion)}`);
  if (typeof o.name !== 'string' || o.name === '') throw new PolicyPluginError(`${key}: expected a non-empty name`);
  if (o.role === 'prefetch') {
    if (typeof (o as PrefetchPolicy).prefetch !== 'function') throw new PolicyPluginError(`${key}: a prefetch policy needs a prefetch(input, params) function`);
  } else if (o.role === 'eviction') {
    const e = o as EvictionPolicy;
    if (typeof e.pick !== 'function' || typeof e.unitPages !== 'function') throw new PolicyPluginError(`${key}: an eviction policy needs pick(view, random, params) and unitPages(params, chunkPages) functions`);
  } else {
    throw new PolicyPluginError(`${key}: expected role ${PLUGGABLE_ROLES.join(' or ')}, got ${JSON.stringify(o.role)}`);
  }
  return o as Policy;
}

function lookup<R extends Policy['role']>(key: string, role: R): Extract<Policy, { role: R }> {
  const p = table.get(key);
  if (p === undefined) throw new PolicyPluginError(`${key}: no ${role} policy registered under this name (a plug-in module must be loaded before the run)`);
  if (p.role !== role) throw new PolicyPluginError(`${key}: is a ${p.role} policy, not a ${role} policy`);
  return p as Extract<Policy, { role: R }>;
}

/** A prefetch decision function bound to its parameters. */
export type PrefetchFn = (input: PrefetchDecisionInput) => readonly number[];

/**
 * The prefetch function for `key` with `params`. Built-ins run as they are; a module's runs
 * checked (shape and replay), naming the module and the block in any error.
 */
export function prefetchPolicy(key: string, params: PolicyParams): PrefetchFn {
  const p = lookup(key, 'prefetch');
  const frozen = Object.freeze({ ...params });
  if (!isModuleRef(key)) return (input) => p.prefetch(input, frozen);
  return (input) => checkedPrefetch(key, p, input, frozen);
}

function freezeInput(i: PrefetchDecisionInput): PrefetchDecisionInput {
  return Object.freeze({
    blockStart: i.blockStart,
    faulted: Object.freeze([...i.faulted]),
    resident: Object.freeze([...i.resident]),
    thrashing: Object.freeze([...i.thrashing]),
    priorFaultMigrations: i.priorFaultMigrations,
  });
}

function call<T>(key: string, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new PolicyPluginError(`${key}: ${what}: threw ${e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e)}`);
  }
}

function checkedPrefetch(key: string, p: PrefetchPolicy, input: PrefetchDecisionInput, params: PolicyParams): readonly number[] {
  const what = `prefetch decision for block at vpn ${input.blockStart} (faulted ${input.faulted.length > 4 ? `${input.faulted.slice(0, 4).join(',')},…` : input.faulted.join(',')})`;
  const a = call(key, what, () => p.prefetch(freezeInput(input), params));
  const b = call(key, what, () => p.prefetch(freezeInput(input), params));
  if (!Array.isArray(a)) throw new PolicyPluginError(`${key}: ${what}: expected an array of vpns, got ${a === null ? 'null' : typeof a}`);
  if (!Array.isArray(b) || a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) {
    throw new PolicyPluginError(`${key}: ${what}: not deterministic on replay (${JSON.stringify(a.slice(0, 8))} then ${JSON.stringify(Array.isArray(b) ? b.slice(0, 8) : b)})`);
  }
  const excluded = new Set([...input.faulted, ...input.resident, ...input.thrashing]);
  const block = blockOf(input.blockStart);
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as unknown;
    const bad = typeof v !== 'number' || !Number.isSafeInteger(v) ? 'not an integer vpn'
      : blockOf(v) !== block ? `outside the block [${input.blockStart}, ${input.blockStart + BLOCK_PAGES})`
        : i > 0 && v <= (a[i - 1] as number) ? 'not ascending or a duplicate'
          : excluded.has(v) ? 'already faulted, resident or thrashing' : undefined;
    if (bad !== undefined) throw new PolicyPluginError(`${key}: ${what}: invalid decision: vpn ${JSON.stringify(v)} at [${i}] is ${bad}`);
  }
  return a;
}

/** An eviction decision function bound to its parameters and unit size. */
export interface EvictionFn {
  readonly key: string;
  readonly unitPages: number;
  pick(view: EvictionView, random: () => number): number | null;
}

/**
 * The eviction function for `key` with `params` on a memory of `chunkPages`-page root chunks.
 * A module's `pick` runs checked: replayed with the same random numbers, and its answer must be
 * null or one of the candidates.
 */
export function evictionPolicy(key: string, params: PolicyParams, chunkPages: number): EvictionFn {
  const p = lookup(key, 'eviction');
  const frozen = Object.freeze({ ...params });
  const plugin = isModuleRef(key);
  const unitPages = plugin ? call(key, 'unitPages', () => p.unitPages(frozen, chunkPages)) : p.unitPages(frozen, chunkPages);
  if (!Number.isSafeInteger(unitPages) || unitPages < 1 || chunkPages % unitPages !== 0 || (unitPages !== 1 && unitPages !== chunkPages)) {
    throw new PolicyPluginError(`${key}: unitPages: invalid decision: expected 1 or ${chunkPages} (a page or a root chunk), got ${JSON.stringify(unitPages)}`);
  }
  if (!plugin) return { key, unitPages, pick: (view, random) => p.pick(view, random, frozen) };
  return {
    key,
    unitPages,
    pick(view, random) {
      const drawn: number[] = [];
      const what = `eviction decision among ${view.order().length} candidate units`;
      const a = call(key, what, () => p.pick(view, () => {
        const r = random();
        drawn.push(r);
        return r;
      }, frozen));
      let k = 0;
      // The replay gets the same numbers; asking for more than the first call did is itself a difference.
      const b = call(key, what, () => p.pick(view, () => (k < drawn.length ? drawn[k++] : NaN), frozen));
      if (!Object.is(a, b) || k !== drawn.length) throw new PolicyPluginError(`${key}: ${what}: not deterministic on replay (${JSON.stringify(a)} then ${JSON.stringify(b)})`);
      if (a !== null && (typeof a !== 'number' || !view.order().includes(a))) {
        throw new PolicyPluginError(`${key}: ${what}: invalid decision: ${JSON.stringify(a)} is not a candidate unit (expected one of the view's units or null)`);
      }
      return a;
    },
  };
}
