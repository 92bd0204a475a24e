// The policy interface plug-ins and built-ins share, and the table both are registered in.
//
// A policy is a named, versioned object with pure decision functions, one role each: placement,
// prefetch, thrashing, access counters, eviction, path selection. hetmem's own policies are
// registered here through `registerPolicy` exactly as a user's module is (scenario/plugins.ts
// imports the module and registers its default export under the module's absolute path;
// registry.ts registers the built-ins), and the drivers ask `placementPolicy()`,
// `prefetchPolicy()`, `thrashingPolicy()`, `accessCounterPolicy()`, `evictionPolicy()` and
// `pathPolicy()` by name either way.
//
// A user's policy runs behind `checked*` wrappers: each decision is made twice on frozen copies
// of its input (a replay) and compared, and checked for shape, so a plug-in that throws, answers
// something invalid or answers differently on replay stops the run with PolicyPluginError before
// the decision is carried out (the model's pages and data stay as they were).

import type { TimePs } from '../units/time.ts';
import type { PathCandidate } from './path.ts';
import type { MigrationRecord } from './thrashing.ts';
import { BLOCK_PAGES, CPU, blockOf, type AccessEvent, type AccessibilityFn, type Decision, type ProcessorId } from './types.ts';

/** Version of this interface; a plug-in declares the one it was written against. */
export const POLICY_API_VERSION = 1;

/** The roles a plug-in can fill: every role a device has (the keys of a scenario's `policies:`). */
export const PLUGGABLE_ROLES = ['placement', 'prefetch', 'thrashing', 'accessCounters', 'eviction', 'path'] as const;
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
  /**
   * The same candidates as `order()` without building the list: `count` of them and the i-th
   * (0 ≤ i < count), in O(log) per call — what a policy that picks one at random should use.
   * `at` may be called detached from the object (`const { count, at } = v.candidates()`).
   */
  candidates(): { readonly count: number; at(i: number): number };
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

/**
 * A fault as the placement policy sees it: which device faulted on which page, and where the page
 * is now. VPNs are 4 KiB page numbers; time in integer ps.
 */
export interface PlacementDecisionInput extends AccessEvent {
  /** Where the page is resident now: a device id, CPU (−1) for system memory, null if nowhere. */
  readonly residency: ProcessorId | null;
}

/**
 * A placement policy: what a device fault does with its page (HMM mirror driver). `place` must be
 * pure and answer one of (types.ts `Decision`):
 * - `none`: only when the page is already resident on the faulting device (map it there);
 * - `migrate` with `target` = the faulting device and `vpns` = [the vpn]: bring it here;
 * - `map-remote` with `processor` = the faulting device, `residency` = where the page is (system
 *   memory, −1, for a page not populated yet: it is populated there) and `vpns` = [the vpn],
 *   only where `canAccess(device, residency)`: map it where it lies (zero copy).
 */
export interface PlacementPolicy {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly role: 'placement';
  readonly name: string;
  place(input: PlacementDecisionInput, canAccess: AccessibilityFn, params: PolicyParams): Decision;
}

/** What a thrashing hint knows about the faulted page besides the fault. */
export interface ThrashingHintContext {
  /** Where the page is resident now (device id, CPU −1), null if nowhere. */
  readonly residency: ProcessorId | null;
  /** Whether a processor can map memory resident at a location directly (the topology's answer). */
  readonly canAccess: AccessibilityFn;
}

/** A thrashing hint: the policy's new state and `none`, `throttle` or `pin`. */
export interface ThrashingHintResult<S = unknown> {
  readonly state: S;
  readonly decision: Decision;
}

/**
 * A thrashing policy (UVM's thrashing detection is the built-in `thrashing-uvm`, thrashing.ts).
 * It keeps a state of its own per address space: `init` makes it, `migrated` records each
 * migration to this device, `hint` is asked on every fault (device or CPU) and `isThrashing` on
 * the pages the prefetcher would bring in. Each must be a pure function of its arguments: `hint`
 * asked twice with the same state and fault answers the same decision (a plug-in is replayed), so
 * a state must not be changed in a way that changes the next answer to the same question.
 * Decisions: `none` (service normally); `throttle` with `processor` = the faulting processor and
 * `until` > the fault's time (ps): do not service before then; `pin` with a `residency` the
 * faulting device can map (`canAccess`): keep the page there and map it.
 * `stealGuard` (optional): the lapse and pin time of the mirror driver's guard against two
 * devices without a direct link taking a page from each other (mirror.ts `remotelyPinned`), ps;
 * leave it out (or answer null) for no guard.
 */
export interface ThrashingPolicy<S = unknown> {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly role: 'thrashing';
  readonly name: string;
  init(params: PolicyParams): S;
  migrated(state: S, m: MigrationRecord, params: PolicyParams): S;
  hint(state: S, ev: AccessEvent, ctx: ThrashingHintContext, params: PolicyParams): ThrashingHintResult<S>;
  isThrashing(state: S, vpn: number, params: PolicyParams): boolean;
  stealGuard?(params: PolicyParams): { readonly lapse: TimePs; readonly pinDuration: TimePs } | null;
}

/** What counting one remote access gives: the new state and `none` or `migrate`. */
export interface AccessCounterResult<S = unknown> {
  readonly state: S;
  readonly decision: Decision;
}

/**
 * An access-counter policy: a device counts its remote accesses (to memory not resident on it) and
 * may ask for pages to migrate to it (UVM's access-counter notifications are the built-in
 * `access-counters`, access-counters.ts). One state per device, made by `init`. `count` must be
 * pure (asked twice with the same state and access it answers the same) and answer `none` or
 * `migrate` with `target` = the counting device and `vpns` ascending, without duplicates, non-empty.
 */
export interface AccessCounterPolicy<S = unknown> {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly role: 'accessCounters';
  readonly name: string;
  init(params: PolicyParams): S;
  count(state: S, ev: AccessEvent, residency: ProcessorId | null, params: PolicyParams): AccessCounterResult<S>;
}

/**
 * A path-selection policy for a multi-path device (path.ts): which DMA path a mapping uses.
 * `choose` must be pure and answer an index into `candidates` (never empty). `readsLoad: false`
 * says `choose` never reads `inFlightBytes`, so the machine need not measure it (it is then 0);
 * left out, it is measured.
 */
export interface PathPolicy {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly role: 'path';
  readonly name: string;
  readonly readsLoad?: boolean;
  choose(candidates: readonly PathCandidate[], params: PolicyParams): number;
}

/** Any registrable policy. */
export type Policy = PlacementPolicy | PrefetchPolicy | ThrashingPolicy | AccessCounterPolicy | EvictionPolicy | PathPolicy;

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
  const fns: Record<PluggableRole, readonly string[]> = {
    placement: ['place'],
    prefetch: ['prefetch'],
    thrashing: ['init', 'migrated', 'hint', 'isThrashing'],
    accessCounters: ['init', 'count'],
    eviction: ['pick', 'unitPages'],
    path: ['choose'],
  };
  const role = o.role as PluggableRole;
  if (!Object.hasOwn(fns, role ?? '')) throw new PolicyPluginError(`${key}: expected role ${PLUGGABLE_ROLES.join(', ')}, got ${JSON.stringify(o.role)}`);
  const missing = fns[role].filter((f) => typeof (o as Record<string, unknown>)[f] !== 'function');
  if (missing.length > 0) throw new PolicyPluginError(`${key}: a ${role} policy needs the functions ${fns[role].join(', ')} (missing ${missing.join(', ')})`);
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

/** JSON of a decision for messages and replay comparison (numbers, strings, arrays, null). */
function shown(v: unknown): string {
  const t = JSON.stringify(v);
  return t === undefined ? String(v) : t.length > 160 ? `${t.slice(0, 157)}...` : t;
}

function sameVpn(d: { vpns?: unknown }, vpn: number): boolean {
  return Array.isArray(d.vpns) && d.vpns.length === 1 && d.vpns[0] === vpn;
}

const isProcessor = (p: unknown): p is number => typeof p === 'number' && Number.isSafeInteger(p) && p >= CPU;

/** A placement decision function bound to its parameters. */
export type PlacementFn = (input: PlacementDecisionInput, canAccess: AccessibilityFn) => Decision;

/**
 * The placement function for `key` with `params`. A module's runs checked: replayed on a frozen
 * copy of the fault, and its decision must be one the mirror driver can carry out
 * (PlacementPolicy).
 */
export function placementPolicy(key: string, params: PolicyParams): PlacementFn {
  const p = lookup(key, 'placement');
  const frozen = Object.freeze({ ...params });
  if (!isModuleRef(key)) return (input, canAccess) => p.place(input, canAccess, frozen);
  return (input, canAccess) => {
    const what = `placement decision for vpn ${input.vpn} on processor ${input.deviceId} (resident on ${input.residency ?? 'none'})`;
    const a = call(key, what, () => p.place(Object.freeze({ ...input }), canAccess, frozen));
    const b = call(key, what, () => p.place(Object.freeze({ ...input }), canAccess, frozen));
    if (shown(a) !== shown(b)) throw new PolicyPluginError(`${key}: ${what}: not deterministic on replay (${shown(a)} then ${shown(b)})`);
    const where = input.residency ?? CPU;
    const d = (a ?? {}) as Partial<Decision> & Record<string, unknown>;
    const bad = d.kind === 'none' ? (input.residency === input.deviceId ? undefined : 'none, but the page is not resident on the faulting device')
      : d.kind === 'migrate' ? (d.target === input.deviceId && sameVpn(d, input.vpn) ? undefined : `expected migrate with target ${input.deviceId} and vpns [${input.vpn}]`)
        : d.kind === 'map-remote' ? (d.processor !== input.deviceId || !sameVpn(d, input.vpn) || d.residency !== where
          ? `expected map-remote with processor ${input.deviceId}, residency ${where} and vpns [${input.vpn}]`
          : canAccess(input.deviceId, where) ? undefined : `map-remote, but processor ${input.deviceId} cannot map memory on ${where}`)
          : 'expected kind none, migrate or map-remote';
    if (bad !== undefined) throw new PolicyPluginError(`${key}: ${what}: invalid decision ${shown(a)}: ${bad}`);
    return a;
  };
}

/** A thrashing policy bound to its parameters (the driver keeps the state it returns). */
export interface ThrashingFn {
  init(): unknown;
  migrated(state: unknown, m: MigrationRecord): unknown;
  hint(state: unknown, ev: AccessEvent, ctx: ThrashingHintContext): ThrashingHintResult;
  isThrashing(state: unknown, vpn: number): boolean;
  /** The steal guard's lapse and pin time (ps), or null for none. */
  readonly stealGuard: { readonly lapse: TimePs; readonly pinDuration: TimePs } | null;
}

/**
 * The thrashing policy for `key` with `params`. A module's runs checked: every call is guarded
 * (a throw names the call), `hint` is replayed on the same state and its decision checked
 * (ThrashingPolicy), `isThrashing` must answer a boolean.
 */
export function thrashingPolicy(key: string, params: PolicyParams): ThrashingFn {
  const p = lookup(key, 'thrashing');
  const frozen = Object.freeze({ ...params });
  const plugin = isModuleRef(key);
  const guard = p.stealGuard === undefined ? null : plugin ? call(key, 'stealGuard', () => p.stealGuard!(frozen)) : p.stealGuard(frozen);
  if (guard !== null && (typeof guard !== 'object' || !Number.isSafeInteger(guard.lapse) || guard.lapse < 1 || !Number.isSafeInteger(guard.pinDuration) || guard.pinDuration < 0)) {
    throw new PolicyPluginError(`${key}: stealGuard: invalid decision ${shown(guard)}: expected null or { lapse: ps >= 1, pinDuration: ps >= 0 }, integers`);
  }
  if (!plugin) {
    return {
      init: () => p.init(frozen),
      migrated: (s, m) => p.migrated(s, m, frozen),
      hint: (s, ev, ctx) => p.hint(s, ev, ctx, frozen),
      isThrashing: (s, vpn) => p.isThrashing(s, vpn, frozen),
      stealGuard: guard,
    };
  }
  return {
    init: () => call(key, 'init', () => p.init(frozen)),
    migrated: (s, m) => call(key, `migration record of ${m.vpns.length} pages to processor ${m.target} at ${m.time} ps`, () => p.migrated(s, Object.freeze({ ...m, vpns: Object.freeze([...m.vpns]) }), frozen)),
    isThrashing(s, vpn) {
      const what = `isThrashing for vpn ${vpn}`;
      const r = call(key, what, () => p.isThrashing(s, vpn, frozen));
      if (typeof r !== 'boolean') throw new PolicyPluginError(`${key}: ${what}: invalid decision ${shown(r)}: expected true or false`);
      return r;
    },
    hint(s, ev, ctx) {
      const what = `thrashing hint for vpn ${ev.vpn} on processor ${ev.deviceId} at ${ev.time} ps`;
      const a = call(key, what, () => p.hint(s, Object.freeze({ ...ev }), ctx, frozen));
      const b = call(key, what, () => p.hint(s, Object.freeze({ ...ev }), ctx, frozen));
      const da = (a as Partial<ThrashingHintResult> | null)?.decision;
      if (shown(da) !== shown((b as Partial<ThrashingHintResult> | null)?.decision)) {
        throw new PolicyPluginError(`${key}: ${what}: not deterministic on replay (${shown(da)} then ${shown(b?.decision)})`);
      }
      const d = (da ?? {}) as Partial<Decision> & Record<string, unknown>;
      const bad = d.kind === 'none' ? undefined
        : d.kind === 'throttle' ? (d.processor === ev.deviceId && Number.isSafeInteger(d.until) && (d.until as number) > ev.time ? undefined : `expected throttle with processor ${ev.deviceId} and until > ${ev.time} (ps, an integer)`)
          : d.kind === 'pin' ? (!isProcessor(d.residency) ? 'expected pin with a residency (a device id or -1)'
            : ev.deviceId !== CPU && !ctx.canAccess(ev.deviceId, d.residency) ? `pin on ${d.residency}, which processor ${ev.deviceId} cannot map` : undefined)
            : 'expected { state, decision } with decision kind none, throttle or pin';
      if (bad !== undefined) throw new PolicyPluginError(`${key}: ${what}: invalid decision ${shown(da)}: ${bad}`);
      return a;
    },
    stealGuard: guard,
  };
}

/** An access-counter policy bound to its parameters (the device keeps the state it returns). */
export interface AccessCounterFn {
  init(): unknown;
  count(state: unknown, ev: AccessEvent, residency: ProcessorId | null): AccessCounterResult;
}

/**
 * The access-counter policy for `key` with `params`. A module's `count` runs checked: replayed on
 * the same state, and its decision must be `none` or a migration to the counting device.
 */
export function accessCounterPolicy(key: string, params: PolicyParams): AccessCounterFn {
  const p = lookup(key, 'accessCounters');
  const frozen = Object.freeze({ ...params });
  if (!isModuleRef(key)) return { init: () => p.init(frozen), count: (s, ev, r) => p.count(s, ev, r, frozen) };
  return {
    init: () => call(key, 'init', () => p.init(frozen)),
    count(s, ev, residency) {
      const what = `access-counter decision for vpn ${ev.vpn} by processor ${ev.deviceId} (resident on ${residency ?? 'none'})`;
      const a = call(key, what, () => p.count(s, Object.freeze({ ...ev }), residency, frozen));
      const b = call(key, what, () => p.count(s, Object.freeze({ ...ev }), residency, frozen));
      const da = (a as Partial<AccessCounterResult> | null)?.decision;
      if (shown(da) !== shown((b as Partial<AccessCounterResult> | null)?.decision)) {
        throw new PolicyPluginError(`${key}: ${what}: not deterministic on replay (${shown(da)} then ${shown(b?.decision)})`);
      }
      const d = (da ?? {}) as Partial<Decision> & Record<string, unknown>;
      let bad: string | undefined;
      if (d.kind === 'migrate') {
        const v = d.vpns as unknown;
        if (d.target !== ev.deviceId) bad = `expected migrate with target ${ev.deviceId}`;
        else if (!Array.isArray(v) || v.length === 0) bad = 'expected a non-empty array of vpns';
        else {
          const i = v.findIndex((x: unknown, j) => typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0 || (j > 0 && x <= (v[j - 1] as number)));
          if (i >= 0) bad = `vpn ${shown(v[i])} at [${i}] is not a vpn in ascending order without duplicates`;
        }
      } else if (d.kind !== 'none') bad = 'expected { state, decision } with decision kind none or migrate';
      if (bad !== undefined) throw new PolicyPluginError(`${key}: ${what}: invalid decision ${shown(da)}: ${bad}`);
      return a;
    },
  };
}

/** A path-selection function bound to its parameters. */
export interface PathFn {
  /** Whether the candidates' `inFlightBytes` must be measured. */
  readonly readsLoad: boolean;
  choose(candidates: readonly PathCandidate[]): number;
}

/**
 * The path-selection function for `key` with `params`. A module's runs checked: replayed on
 * frozen candidates, and its answer must be an index into them.
 */
export function pathPolicy(key: string, params: PolicyParams): PathFn {
  const p = lookup(key, 'path');
  const frozen = Object.freeze({ ...params });
  const readsLoad = p.readsLoad !== false;
  if (!isModuleRef(key)) return { readsLoad, choose: (c) => p.choose(c, frozen) };
  return {
    readsLoad,
    choose(candidates) {
      const what = `path decision among ${candidates.length} paths (${candidates.map((c) => c.index).join(',')})`;
      const copy = () => Object.freeze(candidates.map((c) => Object.freeze({ ...c })));
      const a = call(key, what, () => p.choose(copy(), frozen));
      const b = call(key, what, () => p.choose(copy(), frozen));
      if (!Object.is(a, b)) throw new PolicyPluginError(`${key}: ${what}: not deterministic on replay (${shown(a)} then ${shown(b)})`);
      if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= candidates.length) {
        throw new PolicyPluginError(`${key}: ${what}: invalid decision ${shown(a)}: expected an index into the candidates, 0 to ${candidates.length - 1}`);
      }
      return a;
    },
  };
}
