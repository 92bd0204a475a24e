// Registry of the named policies: a zod schema per policy for what a scenario may write (e.g.
// `{ policy: 'prefetch-density', threshold: 0.6 }`), the defaults with their sources, and
// converters from a parsed choice to the parameters the policy functions take.
//
// Policies are chosen per scenario and per device, one per role: placement (what a fault does),
// prefetch, thrashing mitigation, access counters, eviction, and the DMA path of a multi-path
// device. `DevicePoliciesSchema` fills every
// omitted role and parameter with the NVIDIA UVM defaults (anchors-uvm.md §b).

import { z } from 'zod';
import { PS_PER_US, us, type TimePs } from '../units/time.ts';
import { ACCESS_COUNTER_DEFAULTS, type AccessCounterParams } from './access-counters.ts';
import { EVICTION_DEFAULTS, type EvictionParams } from './eviction.ts';
import { MAP_REMOTE_DEFAULTS, type MapRemoteParams } from './map-remote.ts';
import { PREFETCH_DEFAULTS, type PrefetchParams } from './prefetch.ts';
import { THRASHING_DEFAULTS, type ThrashingParams } from './thrashing.ts';
import { BLOCK_PAGES } from './types.ts';
import { computePrefetch } from './prefetch.ts';
import {
  isModuleRef, registerPolicy, type PolicyParams, type PrefetchPolicy, type EvictionPolicy, type PlacementPolicy, type ThrashingPolicy,
  type AccessCounterPolicy, type PathPolicy,
} from './plugin.ts';
import { firstTouchDecision } from './first-touch.ts';
import { mapRemoteDecision } from './map-remote.ts';
import { readDuplicationDecision } from './read-duplication.ts';
import { isThrashing, mutableThrashingState, pageThrashing, recordMigration, thrashingHint, type ThrashingState } from './thrashing.ts';
import { EMPTY_ACCESS_COUNTERS, recordAccess, type AccessCounterState } from './access-counters.ts';
import { choosePath } from './path.ts';
import { NO_DECISION } from './types.ts';

const POW2_PAGES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] as const;
const Pow2Pages = z.literal(POW2_PAGES);

/** Lapse of the thrashing defaults in µs (500), the unit scenarios use. */
const DEFAULT_LAPSE_US = THRASHING_DEFAULTS.lapse / PS_PER_US;

/** Placement: migrate the faulting page to the faulting processor (first-touch.ts). */
export const FirstTouchSchema = z.strictObject({ policy: z.literal('first-touch') });

/** Placement: zero-copy, map where resident (map-remote.ts). */
export const MapRemoteSchema = z.strictObject({
  policy: z.literal('map-remote'),
  populateOn: z.enum(['system', 'requester']).default(MAP_REMOTE_DEFAULTS.populateOn),
});

/** Placement: read-only copies on readers, collapsed by a write (read-duplication.ts). */
export const ReadDuplicationSchema = z.strictObject({ policy: z.literal('read-duplication') });

/** Prefetch: UVM density tree (prefetch.ts). `threshold` is a fraction in (0, 1]. */
export const PrefetchDensitySchema = z.strictObject({
  policy: z.literal('prefetch-density'),
  threshold: z.number().gt(0).lte(1).default(PREFETCH_DEFAULTS.threshold),
  bigPagePages: Pow2Pages.default(PREFETCH_DEFAULTS.bigPagePages as 16),
  minFaults: z.int().min(1).max(20).default(PREFETCH_DEFAULTS.minFaults),
});

/** Prefetch: none (fault-driven migration only). */
export const PrefetchNoneSchema = z.strictObject({ policy: z.literal('prefetch-none') });

/**
 * Thrashing: UVM detection, throttling and pinning (thrashing.ts). Times in UVM's units: the
 * lapse in µs, nap and pin as multiples of the lapse.
 */
export const ThrashingUvmSchema = z.strictObject({
  policy: z.literal('thrashing-uvm'),
  threshold: z.int().min(1).max(7).default(THRASHING_DEFAULTS.threshold),
  lapseUs: z.number().positive().finite().default(DEFAULT_LAPSE_US),
  napLapses: z.int().min(1).max(100).default(THRASHING_DEFAULTS.nap / THRASHING_DEFAULTS.lapse),
  pinThreshold: z.int().min(1).max(255).default(THRASHING_DEFAULTS.pinThreshold),
  pinLapses: z.int().min(0).default(THRASHING_DEFAULTS.pinDuration / THRASHING_DEFAULTS.lapse),
});

/** Thrashing mitigation off. */
export const ThrashingOffSchema = z.strictObject({ policy: z.literal('thrashing-off') });

/** Access counters: migrate hot remote regions to the device (access-counters.ts). */
export const AccessCountersSchema = z.strictObject({
  policy: z.literal('access-counters'),
  threshold: z.int().min(1).max(65535).default(ACCESS_COUNTER_DEFAULTS.threshold),
  subRegions: z.literal([1, 2, 4, 8, 16, 32]).default(ACCESS_COUNTER_DEFAULTS.subRegions as 32),
});

/** Access-counter migration off (UVM's default on non-ATS systems). */
export const AccessCountersOffSchema = z.strictObject({ policy: z.literal('access-counters-off') });

/** Eviction: LRU of 2 MiB root chunks (eviction.ts). */
export const EvictLruChunkSchema = z.strictObject({ policy: z.literal('evict-lru-chunk') });
/** Eviction: LRU of 4 KiB pages. */
export const EvictLruPageSchema = z.strictObject({ policy: z.literal('evict-lru-page') });
/** Eviction: uniformly random unit (4 KiB page by default, or 2 MiB chunk). */
export const EvictRandomSchema = z.strictObject({
  policy: z.literal('evict-random'),
  unitPages: z.literal([1, BLOCK_PAGES]).default(1),
});

/** Path selection: the nearest path (fewest hops, lowest latency, most bandwidth; path.ts). */
export const PathNearestSchema = z.strictObject({ policy: z.literal('nearest') });
/** Path selection: the path whose bottleneck segment has the fewest bytes in flight, then nearest. */
export const PathLeastLoadedSchema = z.strictObject({ policy: z.literal('least-loaded') });
/** Path selection: the nearest path without IOMMU translation, else the nearest. */
export const PathAvoidIommuSchema = z.strictObject({ policy: z.literal('avoid-iommu') });
/**
 * A policy from a JS/TS module (policy/plugin.ts): `policy` is its path (relative to the
 * scenario file; the loader makes it absolute), `params` is handed to its decision function.
 */
function pluginChoice(builtins: readonly string[]) {
  return z.strictObject({
    policy: z.string().refine(isModuleRef, {
      error: (iss) => `expected one of ${builtins.join(', ')}, or a plug-in module path (./my-policy.ts); got ${JSON.stringify(iss.input)}`,
    }).meta({ description: 'path of a JS/TS module whose default export is a policy (policy/plugin.ts), relative to the scenario file' }),
    params: z.record(z.string(), z.unknown()).default({}).meta({ description: 'parameters handed to the plug-in\'s decision function' }),
  });
}
export const PluginChoiceSchema = pluginChoice(['a built-in policy name']);
/** A plug-in policy choice. */
export type PluginChoice = z.output<typeof PluginChoiceSchema>;

/** Whether a role's choice names a plug-in module rather than a built-in. */
export function isPluginChoice<C extends { policy: string }>(c: C | PluginChoice): c is PluginChoice {
  return isModuleRef(c.policy);
}

/** Any single policy choice, discriminated by `policy`. */
export const PolicyChoiceSchema = z.discriminatedUnion('policy', [
  FirstTouchSchema,
  MapRemoteSchema,
  ReadDuplicationSchema,
  PrefetchDensitySchema,
  PrefetchNoneSchema,
  ThrashingUvmSchema,
  ThrashingOffSchema,
  AccessCountersSchema,
  AccessCountersOffSchema,
  EvictLruChunkSchema,
  EvictLruPageSchema,
  EvictRandomSchema,
  PathNearestSchema,
  PathLeastLoadedSchema,
  PathAvoidIommuSchema,
]);

/** A parsed policy choice with every parameter filled in. */
export type PolicyChoice = z.output<typeof PolicyChoiceSchema>;
/** Names of all policies. */
export type PolicyName = PolicyChoice['policy'];

// The roles a device fills, each with the policies allowed in it.
/** Placement role: what a fault does (first-touch, map-remote, read-duplication) or a plug-in module. */
export const PlacementSchema = z.union([z.discriminatedUnion('policy', [FirstTouchSchema, MapRemoteSchema, ReadDuplicationSchema]), pluginChoice(['first-touch', 'map-remote', 'read-duplication'])]);
/** Prefetch role: prefetch-density, prefetch-none or a plug-in module. */
export const PrefetchSchema = z.union([z.discriminatedUnion('policy', [PrefetchDensitySchema, PrefetchNoneSchema]), pluginChoice(['prefetch-density', 'prefetch-none'])]);
/** Thrashing role: thrashing-uvm, thrashing-off or a plug-in module. */
export const ThrashingSchema = z.union([z.discriminatedUnion('policy', [ThrashingUvmSchema, ThrashingOffSchema]), pluginChoice(['thrashing-uvm', 'thrashing-off'])]);
/** Access-counter role: access-counters, access-counters-off or a plug-in module. */
export const AccessCounterChoiceSchema = z.union([z.discriminatedUnion('policy', [AccessCountersSchema, AccessCountersOffSchema]), pluginChoice(['access-counters', 'access-counters-off'])]);
/** Eviction role: evict-lru-chunk, evict-lru-page, evict-random or a plug-in module. */
export const EvictionSchema = z.union([z.discriminatedUnion('policy', [EvictLruChunkSchema, EvictLruPageSchema, EvictRandomSchema]), pluginChoice(['evict-lru-chunk', 'evict-lru-page', 'evict-random'])]);

/** Path role (multi-path devices): nearest, least-loaded, avoid-iommu or a plug-in module. */
export const PathSchema = z.union([z.discriminatedUnion('policy', [PathNearestSchema, PathLeastLoadedSchema, PathAvoidIommuSchema]), pluginChoice(['nearest', 'least-loaded', 'avoid-iommu'])]);

/**
 * Policies of one device. Omitted roles get the NVIDIA UVM profile (anchors-uvm.md "Suggested
 * anchors" 1): first touch, density prefetch at 51 %, UVM thrashing mitigation, access-counter
 * migration off (non-ATS default, §b.4), LRU of 2 MiB root chunks; a multi-path device takes
 * its nearest path (no kernel has path selection: the default is the choice a single-path
 * driver makes implicitly).
 */
export const DevicePoliciesSchema = z.strictObject({
  placement: PlacementSchema.prefault({ policy: 'first-touch' }),
  prefetch: PrefetchSchema.prefault({ policy: 'prefetch-density' }),
  thrashing: ThrashingSchema.prefault({ policy: 'thrashing-uvm' }),
  accessCounters: AccessCounterChoiceSchema.prefault({ policy: 'access-counters-off' }),
  eviction: EvictionSchema.prefault({ policy: 'evict-lru-chunk' }),
  path: PathSchema.prefault({ policy: 'nearest' }),
});

/** Parsed policies of one device. */
export type DevicePolicies = z.output<typeof DevicePoliciesSchema>;

/**
 * Parses one policy choice, filling defaults.
 * @throws ZodError naming the offending field on invalid input.
 */
export function parsePolicyChoice(input: unknown): PolicyChoice {
  return PolicyChoiceSchema.parse(input);
}

/**
 * Parses a device's policy set (omitted roles and parameters get defaults).
 * @throws ZodError naming the offending field on invalid input.
 */
export function parseDevicePolicies(input: unknown): DevicePolicies {
  return DevicePoliciesSchema.parse(input ?? {});
}

/** Parameters of the density prefetcher from a parsed choice. */
export function prefetchParamsOf(c: z.output<typeof PrefetchDensitySchema>): PrefetchParams {
  return { threshold: c.threshold, bigPagePages: c.bigPagePages, minFaults: c.minFaults };
}

/** Thrashing parameters from a parsed choice: lapse = lapseUs µs; nap, pin = multiples of it. */
export function thrashingParamsOf(c: z.output<typeof ThrashingUvmSchema>): ThrashingParams {
  const lapse = us(c.lapseUs);
  if (lapse < 1) throw new RangeError(`thrashing: lapseUs ${c.lapseUs} rounds to 0 ps`);
  return {
    threshold: c.threshold,
    lapse,
    nap: (lapse * c.napLapses) as TimePs,
    pinThreshold: c.pinThreshold,
    pinDuration: (lapse * c.pinLapses) as TimePs,
  };
}

/** Access-counter parameters from a parsed choice (2 MiB regions). */
export function accessCounterParamsOf(c: z.output<typeof AccessCountersSchema>): AccessCounterParams {
  return { threshold: c.threshold, regionPages: ACCESS_COUNTER_DEFAULTS.regionPages, subRegions: c.subRegions };
}

/** Map-remote parameters from a parsed choice. */
export function mapRemoteParamsOf(c: z.output<typeof MapRemoteSchema>): MapRemoteParams {
  return { populateOn: c.populateOn };
}

/**
 * Eviction parameters from a parsed choice, with the registered policy that decides (built-in
 * or plug-in alike: device-memory.ts picks victims through it).
 */
export function evictionParamsOf(c: z.output<typeof EvictionSchema>): EvictionParams {
  if (isPluginChoice(c)) return { kind: 'lru-chunk', unitPages: BLOCK_PAGES, policy: { key: c.policy, params: c.params } };
  switch (c.policy) {
    case 'evict-lru-chunk':
      return { ...EVICTION_DEFAULTS['lru-chunk'], policy: { key: c.policy, params: {} } };
    case 'evict-lru-page':
      return { ...EVICTION_DEFAULTS['lru-page'], policy: { key: c.policy, params: {} } };
    case 'evict-random':
      return { kind: 'random', unitPages: c.unitPages, policy: { key: c.policy, params: { unitPages: c.unitPages } } };
  }
}

/**
 * The registered prefetch policy a choice names and the parameters it gets, or null for
 * prefetch-none (nothing to ask).
 */
export function prefetchChoiceOf(c: z.output<typeof PrefetchSchema>): { key: string; params: PolicyParams } | null {
  if (isPluginChoice(c)) return { key: c.policy, params: c.params };
  if (c.policy === 'prefetch-none') return null;
  return { key: c.policy, params: { ...prefetchParamsOf(c) } };
}

/** A registered policy and the parameters it is asked with (policy/plugin.ts). */
export interface RegisteredChoice {
  readonly key: string;
  readonly params: PolicyParams;
}

/** The registered placement policy a choice names and its parameters. */
export function placementChoiceOf(c: z.output<typeof PlacementSchema>): RegisteredChoice {
  if (isPluginChoice(c)) return { key: c.policy, params: c.params };
  return { key: c.policy, params: c.policy === 'map-remote' ? { ...mapRemoteParamsOf(c) } : {} };
}

/**
 * The registered thrashing policy a choice names and its parameters (times in ps), or null for
 * thrashing-off (nothing to ask: no hint, no state).
 */
export function thrashingChoiceOf(c: z.output<typeof ThrashingSchema>): RegisteredChoice | null {
  if (isPluginChoice(c)) return { key: c.policy, params: c.params };
  if (c.policy === 'thrashing-off') return null;
  return { key: c.policy, params: { ...thrashingParamsOf(c) } };
}

/** The registered access-counter policy a choice names and its parameters, or null when off. */
export function accessCounterChoiceOf(c: z.output<typeof AccessCounterChoiceSchema>): RegisteredChoice | null {
  if (isPluginChoice(c)) return { key: c.policy, params: c.params };
  if (c.policy === 'access-counters-off') return null;
  return { key: c.policy, params: { ...accessCounterParamsOf(c) } };
}

/** The registered path policy a choice names and its parameters. */
export function pathChoiceOf(c: z.output<typeof PathSchema>): RegisteredChoice {
  return { key: c.policy, params: isPluginChoice(c) ? c.params : {} };
}

/** The density prefetcher's choice, or null when the role holds another policy. */
export function densityChoiceOf(c: z.output<typeof PrefetchSchema>): z.output<typeof PrefetchDensitySchema> | null {
  return !isPluginChoice(c) && c.policy === 'prefetch-density' ? c : null;
}

// The built-in prefetch and eviction policies, registered through the same interface and table
// as a plug-in module (policy/plugin.ts).
const BUILTIN_PREFETCH: readonly PrefetchPolicy[] = [
  {
    apiVersion: 1, role: 'prefetch', name: 'prefetch-density',
    prefetch: (i, p) => computePrefetch(i, p as unknown as PrefetchParams),
  },
  { apiVersion: 1, role: 'prefetch', name: 'prefetch-none', prefetch: () => [] },
];

function firstOf(units: Iterable<number>): number | null {
  for (const u of units) return u;
  return null;
}

const BUILTIN_EVICTION: readonly EvictionPolicy[] = [
  { apiVersion: 1, role: 'eviction', name: 'evict-lru-chunk', unitPages: (_p, chunk) => chunk, pick: (v) => firstOf(v.lru()) },
  { apiVersion: 1, role: 'eviction', name: 'evict-lru-page', unitPages: () => 1, pick: (v) => firstOf(v.lru()) },
  {
    apiVersion: 1, role: 'eviction', name: 'evict-random',
    unitPages: (p, chunk) => ((p.unitPages as number | undefined) ?? 1) > 1 ? chunk : 1,
    pick(v, random) {
      // One draw over the candidates without listing them: O(log) per victim (issue 17).
      const units = v.candidates();
      if (units.count === 0) return null;
      const r = random();
      if (!(r >= 0 && r < 1)) throw new RangeError(`eviction: rng returned ${r}, expected [0, 1)`);
      return units.at(Math.floor(r * units.count));
    },
  },
];

// Placement: the pure decision functions of first-touch.ts, map-remote.ts, read-duplication.ts.
const BUILTIN_PLACEMENT: readonly PlacementPolicy[] = [
  { apiVersion: 1, role: 'placement', name: 'first-touch', place: (i) => firstTouchDecision(i, i.residency) },
  {
    apiVersion: 1, role: 'placement', name: 'map-remote',
    place: (i, canAccess, p) => mapRemoteDecision(i, i.residency, canAccess, p as unknown as MapRemoteParams),
  },
  // Refused on hmm-mirror devices (scenario/load.ts), the only driver asking placement; a page's
  // copies are its residency here.
  { apiVersion: 1, role: 'placement', name: 'read-duplication', place: (i) => readDuplicationDecision(i, i.residency === null ? [] : [i.residency]) },
];

/**
 * UVM thrashing detection's state in an address space: per-page history (thrashing.ts, updated
 * in place: the driver never looks at an old state again) and, per VA block, the last
 * migration's time and target for UVM's phase 0.
 */
interface UvmThrashingState {
  pages: ThrashingState;
  readonly blockLast: Map<number, { t: number; target: number }>;
}

const uvmParams = (p: PolicyParams) => p as unknown as ThrashingParams;

const BUILTIN_THRASHING: readonly ThrashingPolicy<UvmThrashingState | null>[] = [
  {
    apiVersion: 1, role: 'thrashing', name: 'thrashing-uvm',
    init: () => ({ pages: mutableThrashingState(), blockLast: new Map() }),
    // UVM's phase 0: per block first, per page only once the block has seen migrations to
    // different processors within a lapse (or already tracks pages). Streaming never pays for
    // per-page history.
    migrated(s, m, p) {
      if (s === null || m.vpns.length === 0) return s;
      const params = uvmParams(p);
      const block = Math.floor(m.vpns[0] / BLOCK_PAGES);
      const last = s.blockLast.get(block);
      s.blockLast.set(block, { t: m.time, target: m.target });
      const tracked = s.pages.blocks.has(block);
      if (!tracked && (!last || last.target === m.target || m.time - last.t > params.lapse)) return s;
      s.pages = recordMigration(s.pages, params, m);
      return s;
    },
    hint(s, ev, ctx, p) {
      if (s === null) return { state: s, decision: NO_DECISION };
      const h = thrashingHint(s.pages, uvmParams(p), ev, ctx);
      s.pages = h.state;
      return { state: s, decision: h.decision };
    },
    isThrashing: (s, vpn, p) => s !== null && pageThrashing(s.pages, vpn) !== undefined && isThrashing(s.pages, uvmParams(p), vpn),
    stealGuard: (p) => ({ lapse: uvmParams(p).lapse, pinDuration: uvmParams(p).pinDuration }),
  },
  {
    apiVersion: 1, role: 'thrashing', name: 'thrashing-off',
    init: () => null, migrated: (s) => s, hint: (s) => ({ state: s, decision: NO_DECISION }), isThrashing: () => false,
  },
];

const BUILTIN_ACCESS_COUNTERS: readonly AccessCounterPolicy<AccessCounterState>[] = [
  {
    apiVersion: 1, role: 'accessCounters', name: 'access-counters',
    init: () => EMPTY_ACCESS_COUNTERS,
    count: (s, ev, residency, p) => recordAccess(s, ev, residency, p as unknown as AccessCounterParams),
  },
  {
    apiVersion: 1, role: 'accessCounters', name: 'access-counters-off',
    init: () => EMPTY_ACCESS_COUNTERS, count: (s) => ({ state: s, decision: NO_DECISION }),
  },
];

const BUILTIN_PATH: readonly PathPolicy[] = [
  { apiVersion: 1, role: 'path', name: 'nearest', readsLoad: false, choose: (c) => choosePath('nearest', c) },
  { apiVersion: 1, role: 'path', name: 'least-loaded', readsLoad: true, choose: (c) => choosePath('least-loaded', c) },
  { apiVersion: 1, role: 'path', name: 'avoid-iommu', readsLoad: false, choose: (c) => choosePath('avoid-iommu', c) },
];

for (const p of [...BUILTIN_PLACEMENT, ...BUILTIN_PREFETCH, ...BUILTIN_THRASHING, ...BUILTIN_ACCESS_COUNTERS, ...BUILTIN_EVICTION, ...BUILTIN_PATH]) registerPolicy(p.name, p);

/** One policy's defaults: the parsed default choice and, per parameter, where its value comes from. */
export interface PolicyDefaultsEntry {
  readonly description: string;
  readonly params: PolicyChoice;
  readonly sources: Readonly<Record<string, string>>;
}

const SRC_PREFETCH = 'anchors-uvm.md §b.2 (uvm_perf_prefetch.c)';
const SRC_THRASH = 'anchors-uvm.md §b.3 (uvm_perf_thrashing.c)';
const SRC_AC = 'anchors-uvm.md §b.4 (uvm_gpu_access_counters.c)';

/**
 * Every policy with its default parameters and their sources. Parameters without a sourced value
 * are marked [estimate].
 */
export const policyDefaults: Readonly<Record<PolicyName, PolicyDefaultsEntry>> = Object.freeze({
  'first-touch': {
    description: 'migrate the faulting page to the faulting processor (populate on first touch)',
    params: parsePolicyChoice({ policy: 'first-touch' }),
    sources: { policy: 'anchors-uvm.md §b.5 residency choice, steps 5 and 9' },
  },
  'map-remote': {
    description: 'zero-copy: map the page where it is resident when the accessor can reach it',
    params: parsePolicyChoice({ policy: 'map-remote' }),
    sources: {
      policy: 'anchors-uvm.md §b.5 step 6 (AccessedBy); §a uvm_oversubs zero_copy mode',
      populateOn: '[estimate] zero-copy buffers are host allocations',
    },
  },
  'read-duplication': {
    description: 'read-only copy per reader; a write collapses the copies to the writer',
    params: parsePolicyChoice({ policy: 'read-duplication' }),
    sources: { policy: 'anchors-uvm.md §b.5 read duplication (break_read_duplication_in_region)' },
  },
  'prefetch-density': {
    description: 'UVM density-tree prefetch over each 2 MiB block',
    params: parsePolicyChoice({ policy: 'prefetch-density' }),
    sources: {
      threshold: `${SRC_PREFETCH}: uvm_perf_prefetch_threshold = 51 %`,
      bigPagePages: 'anchors-uvm.md §a, §b.2: UVM_BIG_PAGE_SIZE = 64 KB',
      minFaults: `${SRC_PREFETCH}: uvm_perf_prefetch_min_faults = 1`,
    },
  },
  'prefetch-none': {
    description: 'no prefetch: only faulted pages migrate',
    params: parsePolicyChoice({ policy: 'prefetch-none' }),
    sources: { policy: 'anchors-uvm.md §b.8 UVMSmart on-demand (comparison baseline)' },
  },
  'thrashing-uvm': {
    description: 'UVM thrashing detection with throttling and pinning',
    params: parsePolicyChoice({ policy: 'thrashing-uvm' }),
    sources: {
      threshold: `${SRC_THRASH}: uvm_perf_thrashing_threshold = 3`,
      lapseUs: `${SRC_THRASH}: uvm_perf_thrashing_lapse_usec = 500`,
      napLapses: `${SRC_THRASH}: uvm_perf_thrashing_nap = 1 × lapse`,
      pinThreshold: `${SRC_THRASH}: uvm_perf_thrashing_pin_threshold = 10`,
      pinLapses: `${SRC_THRASH}: uvm_perf_thrashing_pin = 300 × lapse (150 ms [derived])`,
    },
  },
  'thrashing-off': {
    description: 'no thrashing mitigation',
    params: parsePolicyChoice({ policy: 'thrashing-off' }),
    sources: { policy: `${SRC_THRASH}: uvm_perf_thrashing_enable = 0` },
  },
  'access-counters': {
    description: 'migrate 2 MiB regions (accessed 64 KiB sub-regions) after N remote accesses',
    params: parsePolicyChoice({ policy: 'access-counters' }),
    sources: {
      threshold: `${SRC_AC}: uvm_perf_access_counter_threshold = 256`,
      subRegions: `${SRC_AC}: 2 MB regions split into 32 sub-regions`,
    },
  },
  'access-counters-off': {
    description: 'access-counter migration off',
    params: parsePolicyChoice({ policy: 'access-counters-off' }),
    sources: { policy: `${SRC_AC}: uvm_perf_access_counter_migration_enable = -1 (off on non-ATS)` },
  },
  'evict-lru-chunk': {
    description: 'evict the least recently used 2 MiB root chunk',
    params: parsePolicyChoice({ policy: 'evict-lru-chunk' }),
    sources: { policy: 'anchors-uvm.md §b.5 eviction (uvm_pmm_gpu.c, 2 MB root chunks); §b.8 -eviction_policy 0' },
  },
  'evict-lru-page': {
    description: 'evict the least recently used 4 KiB page',
    params: parsePolicyChoice({ policy: 'evict-lru-page' }),
    sources: { policy: 'anchors-uvm.md §a UVMSmart eviction LRU 4 KB (comparison)' },
  },
  'evict-random': {
    description: 'evict a uniformly random resident unit (seeded)',
    params: parsePolicyChoice({ policy: 'evict-random' }),
    sources: { policy: 'anchors-uvm.md §a UVMSmart eviction random 4 KB (comparison)', unitPages: 'ibid.: 4 KB' },
  },
  'nearest': {
    description: 'multi-path device: the path with the fewest hops, then the lowest latency, then the most bandwidth',
    params: parsePolicyChoice({ policy: 'nearest' }),
    sources: { policy: '[estimate] proposed on the cross-device HMM thread (issue 12, multi-path devices); no kernel selects paths' },
  },
  'least-loaded': {
    description: 'multi-path device: the path with the fewest bytes in flight on its bottleneck segment, then the nearest',
    params: parsePolicyChoice({ policy: 'least-loaded' }),
    sources: { policy: '[estimate] proposed on the cross-device HMM thread (issue 12, multi-path devices); no kernel selects paths' },
  },
  'avoid-iommu': {
    description: 'multi-path device: the nearest path without IOMMU translation, else the nearest',
    params: parsePolicyChoice({ policy: 'avoid-iommu' }),
    sources: { policy: '[estimate] proposed on the cross-device HMM thread (issue 12, multi-path devices); no kernel selects paths' },
  },
});
