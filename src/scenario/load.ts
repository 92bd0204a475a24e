// Loading a scenario: YAML → schema (schema.ts) → profiles → topology → cross-references, with
// every problem reported as `FILE:LINE:COL: what was expected` (locate.ts). The result is a
// Scenario that run.ts can execute: profiles loaded, topology filled in, steps normalised.
import { MPOL_MODE_NAMES, type Mempolicy, type MpolMode } from '../mm/mempolicy.ts';
import type { KernelVersion } from '../mm/kernel.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile, PROFILES_DIR, ProfileError } from '../devices/profile/load.ts';
import type { SchedPolicy } from '../policy/scheduler.ts';
import type { Profile } from '../devices/profile/schema.ts';
import { TopologySpecSchema, type TopologySpecInput } from '../topology/spec.ts';
import { defaultTopology } from '../sim/machine.ts';
import { oversubscribedPages } from '../workloads/oversubscribe.ts';
import { formatBytes } from '../units/bytes.ts';
import { isModuleRef, PLUGGABLE_ROLES, type PluggableRole } from '../policy/plugin.ts';
import { quoteShort } from '../units/yaml-located.ts';
import { SCENARIO_STYLE, ScenarioError, YamlSource, formatPath, type Path, type PathIssue } from './locate.ts';
import {
  ScenarioSchema,
  type AllocationInput, type CpuActivityInput, type KernelActivityInput, type MoveActivityInput, type MigrateActivityInput, type AdviseActivityInput, type CrossDeviceInput, type PipelineInput, type ProcessInput,
  type ForkActivityInput, type ExitActivityInput, type ExecActivityInput, type MunmapActivityInput, type MprotectActivityInput, type MadviseActivityInput, type ActivityInput,
  type ScenarioInput, type ScenarioTopologyInput, type WorkloadInput,
} from './schema.ts';

export { ScenarioError } from './locate.ts';

/** The examples shipped with hetmem (the repository's examples/ folder). */
export const EXAMPLES_DIR: string = fileURLToPath(new URL('../../examples/', import.meta.url));
/** The scenario `hetmem run` runs without an argument (and `npm start`). */
export const DEFAULT_SCENARIO: string = join(EXAMPLES_DIR, 'default.yaml');

/** A device of a loaded scenario. */
export interface ScenarioDevice {
  readonly name: string;
  /** The profile, with the scenario's `memory` override applied. */
  readonly profile: Profile;
  /** Where the profile came from: a shipped name or a file path. */
  readonly profileSource: string;
  /** Policy choices by role (only the roles the scenario sets). */
  readonly policies: Readonly<Record<string, unknown>>;
  /** How kernels share the device (src/policy/scheduler.ts); undefined = concurrent. */
  readonly scheduler?: SchedPolicy;
}

/** A device kernel to launch. `path` locates it in the file ("steps[2][0].kernel"). */
export interface KernelPlan {
  readonly kind: 'kernel';
  readonly device: string;
  readonly process: string;
  readonly workload: WorkloadInput;
  readonly path: string;
  /** Run-queue priority (device scheduler priority). */
  readonly priority?: number;
  /** Gang name and how many kernels of the step and process share it (device scheduler gang). */
  readonly gang?: { readonly name: string; readonly size: number };
}


/** A CPU phase to run. */
export interface CpuPlan {
  readonly kind: 'cpu';
  readonly process: string;
  readonly workload: WorkloadInput;
  readonly path: string;
}

/** A pipeline: stage s works on chunk c in wave c + s (a stage is one or more activities). */
export interface PipelinePlan {
  readonly kind: 'pipeline';
  readonly chunks: number;
  readonly stages: readonly (readonly (KernelPlan | CpuPlan)[])[];
  readonly path: string;
}

/** move_pages(2) of pages [offset, offset + pages) of a buffer to NUMA node `node`. */
export interface MovePlan {
  readonly kind: 'move';
  readonly process: string;
  readonly buffer: string;
  /** Socket id the pages go to, and its NUMA node number (its index among the sockets). */
  readonly to: string;
  readonly node: number;
  /** First page and page count before scaling; `pages` undefined = the rest of the buffer. */
  readonly offset: number;
  readonly pages?: number;
  readonly path: string;
}

/** drm_pagemap_populate_mm of pages [offset, offset + pages) of a buffer into device `to`'s memory. */
export interface MigratePlan {
  readonly kind: 'migrate';
  readonly process: string;
  readonly buffer: string;
  readonly to: string;
  readonly offset: number;
  readonly pages?: number;
  readonly path: string;
}

/** A preferred location for pages [offset, offset + pages) of a buffer when `device` faults on them. */
export interface AdvisePlan {
  readonly kind: 'advise';
  readonly process: string;
  readonly device: string;
  readonly buffer: string;
  readonly offset: number;
  readonly pages?: number;
  /** A device name, or 'system'. */
  readonly preferredLocation: string;
  readonly path: string;
}

/** fork(2) of `process`; the child is known as `child` from the next step on. */
export interface ForkPlan {
  readonly kind: 'fork';
  readonly process: string;
  readonly child: string;
  readonly path: string;
}

/** exit(2) or execve(2) of `process`. */
export interface ExitPlan {
  readonly kind: 'exit' | 'exec';
  readonly process: string;
  readonly path: string;
}

/** munmap, mprotect or madvise of pages [offset, offset + pages) of a buffer. */
export interface MmRangePlan {
  readonly kind: 'munmap' | 'mprotect' | 'madvise';
  readonly process: string;
  readonly buffer: string;
  readonly offset: number;
  readonly pages?: number;
  /** mprotect's protection ('none' or rwx letters). */
  readonly prot?: string;
  /** madvise's advice. */
  readonly advice?: MadviseActivityInput['advice'];
  readonly path: string;
}

/**
 * What a step runs. `delayPs` (ps, default 0): the activity starts that long after its step
 * starts; the step still ends when every activity of it has ended.
 */
export type ActivityPlan = (KernelPlan | CpuPlan | PipelinePlan | MovePlan | MigratePlan | AdvisePlan | ForkPlan | ExitPlan | MmRangePlan) & { readonly delayPs?: number };

/** A validated scenario, ready for runScenario. Times in ps, sizes in bytes. */
export interface Scenario {
  /** The file it came from (used in messages). */
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly seed: number;
  readonly data: boolean;
  /** The kernel the mm core reproduces; undefined = DEFAULT_KERNEL (src/mm/kernel.ts). */
  readonly kernel?: KernelVersion;
  readonly quantumPs: number;
  readonly bucketPs: number;
  /** Simulated-time cap, or undefined to run every step to the end. */
  readonly durationPs?: number;
  readonly maxSpans?: number;
  /** Batch records each device keeps in the results (SimOptions.maxBatchRecords). */
  readonly maxBatchRecords?: number;
  readonly devices: readonly ScenarioDevice[];
  /** The interconnect; undefined = SimMachine's default topology for the devices. */
  readonly topology?: TopologySpecInput;
  /** Cross-device design (fields left out take the design as landed in 7.0). */
  readonly crossDevice?: CrossDeviceInput;
  readonly processes: readonly ProcessInput[];
  /**
   * Where each process runs and allocates, by process name: its NUMA node (socket index) and,
   * if it sets one, its memory policy with node numbers.
   */
  readonly processNuma: ReadonlyMap<string, { node: number; policy?: Mempolicy }>;
  /**
   * The declared process each process name descends from: itself for `processes:` entries, the
   * parent's root for a fork's child (whose buffers are the parent's).
   */
  readonly processRoot: ReadonlyMap<string, string>;
  /** Steps in order; the activities of a step start together. */
  readonly steps: readonly (readonly ActivityPlan[])[];
  /** Plug-in policy modules the devices name (scenario/plugins.ts loads them before a run). */
  readonly plugins?: readonly PluginRef[];
  /**
   * `FILE:LINE:COL` of the node at `path` (or the nearest that exists), for problems found
   * after loading; absent for scenarios not read from YAML.
   */
  readonly at?: (path: Path) => string;
}

/** A plug-in policy module named by a scenario: absolute path, role, and `FILE:LINE:COL` of its `policy:`. */
export interface PluginRef {
  readonly key: string;
  readonly role: PluggableRole;
  readonly at: string;
}

const DEFAULT_QUANTUM_PS = 1_000_000;
const DEFAULT_BUCKET_PS = 10_000_000;

/** Names of the shipped profiles (profiles/*.yaml), sorted. */
export function shippedProfileNames(): string[] {
  return readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

/**
 * Reads and validates a scenario file.
 * @throws ScenarioError (`FILE:LINE:COL: ...`, or `FILE: ...` when the file cannot be read)
 */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioError([`${path}: cannot read the scenario: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`]);
  }
  return parseScenario(text, path);
}

/**
 * Parses and validates scenario YAML. Profile paths are relative to `baseDir` (default: the
 * directory of `file`).
 * @throws ScenarioError with one `FILE:LINE:COL: ...` line per problem (message = the first)
 */
export function parseScenario(text: string, file: string, baseDir: string = dirname(file)): Scenario {
  const src: YamlSource = YamlSource.parse(text, file, SCENARIO_STYLE);
  const raw = src.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    src.fail([src.locate({ path: [], message: `expected a mapping of scenario fields at the top level (name, devices, processes, steps, ...), got ${raw === null || raw === undefined ? 'nothing' : Array.isArray(raw) ? 'a list' : typeof raw === 'string' ? quoteShort(raw) : String(raw)}` })]);
  }
  const r = ScenarioSchema.safeParse(raw);
  if (!r.success) {
    const located = src.zodIssues(ScenarioSchema, raw, r.error.issues);
    src.fail(located.length > 0 ? located : [{ line: 1, col: 1, message: r.error.issues[0]?.message ?? 'invalid scenario' }]);
  }
  const input = r.data;

  // Devices and their profiles.
  const issues: PathIssue[] = [];
  const devices: ScenarioDevice[] = [];
  const plugins: PluginRef[] = [];
  input.devices.forEach((d, i) => {
    const at = ['devices', i];
    const loaded = resolveProfile(d.profile, baseDir);
    if (typeof loaded === 'string') {
      issues.push({ path: [...at, 'profile'], message: loaded });
      return;
    }
    let profile = loaded.profile;
    if (d.memory !== undefined) {
      if (profile.driver === 'sva') issues.push({ path: [...at, 'memory'], message: `profile ${profile.name} uses driver sva, which works on host memory and has no device memory to size` });
      else if (profile.registration?.mode === 'odp') issues.push({ path: [...at, 'memory'], message: `profile ${profile.name} registers memory with odp, which works in place on host memory and has no device memory to size` });
      else if (d.memory < profile.memory.chunkSize) issues.push({ path: [...at, 'memory'], message: `expected at least one ${formatBytes(profile.memory.chunkSize)} chunk of device memory, got ${formatBytes(d.memory)}` });
      profile = { ...profile, memory: { ...profile.memory, capacity: d.memory } };
    }
    const policies = { ...(d.policies ?? {}) } as Record<string, unknown>;
    for (const role of PLUGGABLE_ROLES) {
      const c = policies[role] as { policy: string; params: Record<string, unknown> } | undefined;
      if (c === undefined || !isModuleRef(c.policy)) continue;
      const key = isAbsolute(c.policy) ? c.policy : resolve(baseDir, c.policy);
      const where = src.locate({ path: [...at, 'policies', role, 'policy'], message: '' });
      if (!existsSync(key)) issues.push({ path: [...at, 'policies', role, 'policy'], message: `no such plug-in module ${key}` });
      policies[role] = { ...c, policy: key };
      plugins.push({ key, role, at: `${file}:${where.line}:${where.col}` });
    }
    // The path role applies to the drivers that pick a DMA path per mapping (pinning now; the
    // mirror through SimContext.pathRoute); every other role to hmm-mirror devices only.
    for (const role of Object.keys(policies)) {
      if (profile.driver === 'hmm-mirror' || (role === 'path' && profile.driver === 'pinning')) continue;
      issues.push({ path: [...at, 'policies', role], at: 'key', message: role === 'path'
        ? `policies.path applies to pinning and hmm-mirror devices; profile ${profile.name} uses driver ${profile.driver}, which DMAs through one PCI function`
        : `policies.${role} applies to hmm-mirror devices; profile ${profile.name} uses driver ${profile.driver}` });
    }
    const placement = policies.placement as { policy?: string } | undefined;
    if (placement?.policy === 'read-duplication' && profile.driver === 'hmm-mirror') {
      issues.push({ path: [...at, 'policies', 'placement', 'policy'], message: 'read-duplication is not available for HMM-managed memory (a CPU store through a writable PTE raises no notifier, so a device copy would go stale)' });
    }
    devices.push({ name: d.name, profile, profileSource: loaded.source, policies, ...(d.scheduler !== undefined ? { scheduler: d.scheduler } : {}) });
  });
  if (issues.length > 0) src.fail(issues.map((i) => src.locate(i)));

  const topology = input.topology === undefined ? undefined : resolveTopology(input.topology, devices, issues);
  // Socket i is NUMA node i; the default topology has one socket.
  const socketIds = (topology?.sockets ?? [{ id: 'cpu0' }]).map((s) => s.id);
  checkReferences(input, devices, socketIds, issues);
  if (issues.length > 0) src.fail(issues.map((i) => src.locate(i)));

  return {
    file,
    name: input.name,
    ...(input.description !== undefined ? { description: input.description } : {}),
    seed: input.seed,
    data: input.data,
    ...(input.kernel !== undefined ? { kernel: input.kernel } : {}),
    quantumPs: input.quantum ?? DEFAULT_QUANTUM_PS,
    bucketPs: input.bucket ?? DEFAULT_BUCKET_PS,
    ...(input.duration !== undefined ? { durationPs: input.duration } : {}),
    ...(input.maxSpans !== undefined ? { maxSpans: input.maxSpans } : {}),
    ...(input.maxBatchRecords !== undefined ? { maxBatchRecords: input.maxBatchRecords } : {}),
    devices,
    ...(topology !== undefined ? { topology } : {}),
    ...(input.crossDevice !== undefined ? { crossDevice: input.crossDevice } : {}),
    processes: input.processes,
    processNuma: new Map(input.processes.map((p) => [p.name, {
      node: Math.max(0, socketIds.indexOf(p.node ?? socketIds[0])),
      ...(p.policy ? { policy: { mode: MPOL_MODE_NAMES.indexOf(p.policy.mode) as MpolMode, nodes: (p.policy.nodes ?? []).map((n) => socketIds.indexOf(n)) } } : {}),
    }])),
    processRoot: processRoots(input),
    steps: normaliseSteps(input, soleProcess(input), socketIds),
    ...(plugins.length > 0 ? { plugins } : {}),
    at: (path: Path) => {
      const l = src.locate({ path, message: '' });
      return `${file}:${l.line}:${l.col}`;
    },
  };
}

/** A profile by shipped name or path; a string is the error message. */
function resolveProfile(ref: string, baseDir: string): { profile: Profile; source: string } | string {
  const looksLikePath = ref.includes('/') || ref.includes('\\') || ref.endsWith('.yaml') || ref.endsWith('.yml');
  if (!looksLikePath) {
    const shipped = shippedProfileNames();
    if (!shipped.includes(ref)) return `unknown profile "${ref}" (shipped profiles: ${shipped.join(', ')}; or give a path to a .yaml file)`;
    return { profile: loadProfile(join(PROFILES_DIR, `${ref}.yaml`)), source: ref };
  }
  const path = isAbsolute(ref) ? ref : resolve(baseDir, ref);
  if (!existsSync(path)) return `no profile file ${JSON.stringify(ref)} (looked for ${path})`;
  if (!statSync(path).isFile()) return `expected a profile file, but ${JSON.stringify(ref)} is a directory (${path})`;
  try {
    return { profile: loadProfile(path), source: ref };
  } catch (e) {
    // The profile's own FILE:LINE:COL line is the most precise place to point at.
    if (e instanceof ProfileError) throw new ScenarioError(e.issues);
    throw e;
  }
}

/**
 * The topology of a scenario that declares one: omitted sections come from the default
 * topology, endpoints of devices take gen/width from their profiles, root complexes get the
 * default host bridge ids. Problems are reported under `topology`.
 */
function resolveTopology(t: ScenarioTopologyInput, devices: readonly ScenarioDevice[], issues: PathIssue[]): TopologySpecInput {
  const def = defaultTopology(devices.map((d) => ({ name: d.name, profile: d.profile })));
  const byName = new Map(devices.map((d) => [d.name, d]));
  // A device's further paths are its own PCI functions: they default to its PCIe link.
  for (const e of t.endpoints ?? []) {
    const d = byName.get(e.id);
    if (d !== undefined) for (const p of e.paths ?? []) if (!byName.has(p)) byName.set(p, d);
  }
  const endpoints = (t.endpoints ?? def.endpoints ?? []).map((e, i) => {
    const d = byName.get(e.id);
    const pcie = d?.profile.link.pcie ?? { gen: 4 as const, width: 16 as const };
    const gen = e.gen ?? (d ? pcie.gen : undefined);
    const width = e.width ?? (d ? pcie.width : undefined);
    if (gen === undefined || width === undefined) {
      issues.push({ path: ['topology', 'endpoints', i, 'id'], message: `endpoint '${e.id}' is not a device of the scenario: give its gen and width` });
    }
    return { ...e, gen: gen ?? 4, width: width ?? 16 };
  });
  const spec: TopologySpecInput = {
    sockets: t.sockets ?? def.sockets,
    rootComplexes: (t.rootComplexes ?? def.rootComplexes ?? []).map((rc) => ({ vendorId: 0x8086, deviceId: 0x09a2, ...rc })),
    switches: t.switches ?? def.switches ?? [],
    endpoints,
    links: t.links ?? def.links ?? [],
  };
  const r = TopologySpecSchema.safeParse(spec);
  if (!r.success) for (const i of r.error.issues) issues.push({ path: ['topology', ...(i.path as Path)], message: i.message });
  const ids = new Set(endpoints.map((e) => e.id));
  const pathOwner = new Map<string, string>();
  for (const e of endpoints) for (const p of e.paths ?? []) pathOwner.set(p, e.id);
  devices.forEach((d, i) => {
    const owner = pathOwner.get(d.name);
    if (owner !== undefined) issues.push({ path: ['devices', i, 'name'], message: `device '${d.name}' is a path of device '${owner}' (topology endpoint paths); a DMA initiator belongs to one device` });
    if (owner === undefined && d.profile.driver === 'sva') {
      const e = endpoints.findIndex((x) => x.id === d.name);
      if (e >= 0 && (endpoints[e].paths ?? []).length > 0) issues.push({ path: ['topology', 'endpoints', e, 'paths'], message: `device '${d.name}' uses driver sva, which binds one PCI function (its PASID) to the address space; give it one path` });
    }
    if (!ids.has(d.name)) issues.push({ path: ['devices', i, 'name'], message: `device '${d.name}' is not an endpoint of the topology (endpoints: ${[...ids].join(', ') || 'none'})` });
  });
  return spec;
}

/** The process an activity without `process:` runs in: the only one, if there is only one. */
function soleProcess(input: ScenarioInput): string | undefined {
  return input.processes.length === 1 ? input.processes[0].name : undefined;
}

type Found =
  | { path: Path; kind: 'kernel'; a: KernelActivityInput }
  | { path: Path; kind: 'cpu'; a: CpuActivityInput }
  | { path: Path; kind: 'pipeline'; a: PipelineInput }
  | { path: Path; kind: 'move'; a: MoveActivityInput }
  | { path: Path; kind: 'migrate'; a: MigrateActivityInput }
  | { path: Path; kind: 'advise'; a: AdviseActivityInput }
  | { path: Path; kind: 'fork'; a: ForkActivityInput }
  | { path: Path; kind: 'exit' | 'exec'; a: ExitActivityInput | ExecActivityInput }
  | { path: Path; kind: 'munmap' | 'mprotect' | 'madvise'; a: MunmapActivityInput | MprotectActivityInput | MadviseActivityInput };

/** Every activity of the scenario with its path in the file. */
function activities(input: ScenarioInput): Found[] {
  const out: Found[] = [];
  input.steps.forEach((step, i) => {
    const list = Array.isArray(step) ? step.map((a, j) => ({ a, path: ['steps', i, j] as Path })) : [{ a: step, path: ['steps', i] as Path }];
    for (const { a, path } of list) {
      if (a.kernel) out.push({ path: [...path, 'kernel'], kind: 'kernel', a: a.kernel });
      else if (a.cpu) out.push({ path: [...path, 'cpu'], kind: 'cpu', a: a.cpu });
      else if (a.pipeline) out.push({ path: [...path, 'pipeline'], kind: 'pipeline', a: a.pipeline });
      else if (a.move) out.push({ path: [...path, 'move'], kind: 'move', a: a.move });
      else if (a.migrate) out.push({ path: [...path, 'migrate'], kind: 'migrate', a: a.migrate });
      else if (a.advise) out.push({ path: [...path, 'advise'], kind: 'advise', a: a.advise });
      else if (a.fork) out.push({ path: [...path, 'fork'], kind: 'fork', a: a.fork });
      else if (a.exit) out.push({ path: [...path, 'exit'], kind: 'exit', a: a.exit });
      else if (a.exec) out.push({ path: [...path, 'exec'], kind: 'exec', a: a.exec });
      else if (a.munmap) out.push({ path: [...path, 'munmap'], kind: 'munmap', a: a.munmap });
      else if (a.mprotect) out.push({ path: [...path, 'mprotect'], kind: 'mprotect', a: a.mprotect });
      else if (a.madvise) out.push({ path: [...path, 'madvise'], kind: 'madvise', a: a.madvise });
    }
  });
  return out;
}

/** Pages of an allocation before scaling. */
export function allocationPages(a: AllocationInput, capacityOf: (device: string) => number | undefined): number {
  if (a.pages !== undefined) return a.pages;
  if (a.size !== undefined) return Math.ceil(a.size / 4096);
  const cap = capacityOf(a.oversubscribe!.device) ?? 0;
  return cap > 0 ? oversubscribedPages(cap, a.oversubscribe!.factor) : 1;
}

const STRUCTURE_OF: Partial<Record<WorkloadInput['type'], 'graph' | 'list' | 'tree'>> = { bfs: 'graph', chaseList: 'list', searchTree: 'tree' };
const SLICEABLE = new Set<WorkloadInput['type']>(['streaming', 'strided', 'random', 'readMostly']);

function checkReferences(input: ScenarioInput, devices: readonly ScenarioDevice[], socketIds: readonly string[], issues: PathIssue[]): void {
  const issue = (path: Path, message: string, at?: 'key') => issues.push(at ? { path, message, at } : { path, message });
  const deviceByName = new Map<string, ScenarioDevice>();
  devices.forEach((d, i) => {
    if (deviceByName.has(d.name)) issue(['devices', i, 'name'], `device name '${d.name}' is used twice`);
    else deviceByName.set(d.name, d);
  });
  const capacityOf = (name: string) => deviceByName.get(name)?.profile.memory.capacity;

  const procs = new Map<string, { p: ProcessInput; pages: Map<string, number> }>();
  input.processes.forEach((p, i) => {
    if (procs.has(p.name)) issue(['processes', i, 'name'], `process name '${p.name}' is used twice`);
    const names = new Set<string>();
    const pages = new Map<string, number>();
    p.allocations.forEach((a, j) => {
      const at = ['processes', i, 'allocations', j];
      if (names.has(a.name)) issue([...at, 'name'], `name '${a.name}' is used twice in process '${p.name}'`);
      names.add(a.name);
      if (a.oversubscribe) {
        const d = deviceByName.get(a.oversubscribe.device);
        if (!d) issue([...at, 'oversubscribe', 'device'], `unknown device '${a.oversubscribe.device}' (devices: ${[...deviceByName.keys()].join(', ')})`);
        else if (d.profile.memory.capacity < d.profile.memory.chunkSize) issue([...at, 'oversubscribe', 'device'], `device '${d.name}' has no device memory to oversubscribe`);
      }
      pages.set(a.name, allocationPages(a, capacityOf));
      // mmap places MAP_HUGETLB on a huge-page boundary and cannot trim it finer.
      if (a.kind === 'hugetlb' && a.align !== undefined && a.align > 2 * 1024 * 1024) issue([...at, 'align'], `a hugetlb buffer is aligned to its 2 MiB pages; expected an align of at most 2 MiB, got ${formatBytes(a.align)}`);
    });
    p.structures.forEach((s, j) => {
      if (names.has(s.name)) issue(['processes', i, 'structures', j, 'name'], `name '${s.name}' is used twice in process '${p.name}'`);
      names.add(s.name);
    });
    if (!procs.has(p.name)) procs.set(p.name, { p, pages });
    if (p.node !== undefined && !socketIds.includes(p.node)) issue(['processes', i, 'node'], `unknown socket '${p.node}' (sockets: ${socketIds.join(', ')})`);
    if (p.policy) {
      const nodes = p.policy.nodes ?? [];
      nodes.forEach((n, k) => {
        if (!socketIds.includes(n)) issue(['processes', i, 'policy', 'nodes', k], `unknown socket '${n}' (sockets: ${socketIds.join(', ')})`);
      });
      const local = p.policy.mode === 'default' || p.policy.mode === 'local';
      if (local && nodes.length > 0) issue(['processes', i, 'policy', 'nodes'], `a ${p.policy.mode} policy takes no nodes (it allocates on the process's own node)`);
      if (!local && nodes.length === 0) issue(['processes', i, 'policy'], `a ${p.policy.mode} policy needs nodes`, 'key');
    }
  });

  const sole = soleProcess(input);
  const built = new Set<string>();
  // Which processes exist when a step starts: the declared ones from the first step; a fork's
  // child from the step after its fork; none after its exit. An exec keeps the name but not the
  // structures. Activities are checked against the step they run in.
  const live = new Map<string, { p: ProcessInput; pages: Map<string, number> }>(procs);
  const gone = new Map<string, string>();
  const execed = new Map<string, string>();
  const forkAt = new Map<string, string>();
  for (const f of activities(input)) if (f.kind === 'fork' && !forkAt.has((f.a as ForkActivityInput).child)) forkAt.set((f.a as ForkActivityInput).child, formatPath(f.path));
  /** The process an activity at `path` runs in, or undefined after reporting why there is none. */
  const processOf = (path: Path, named: string | undefined): { name: string; proc: { p: ProcessInput; pages: Map<string, number> } } | undefined => {
    const name = named ?? sole;
    if (name === undefined) {
      issue(path, `missing "process": there are ${input.processes.length} processes (${input.processes.map((p) => p.name).join(', ')})`, 'key');
      return undefined;
    }
    const proc = live.get(name);
    if (!proc) {
      const at = named === undefined ? path : [...path, 'process'];
      if (gone.has(name)) issue(at, `process '${name}' has exited (${gone.get(name)}); later steps cannot run in it`);
      else if (forkAt.has(name)) issue(at, `process '${name}' does not exist yet: the fork at ${forkAt.get(name)} creates it, for the steps after that one`);
      else issue(at, `unknown process '${name}' (processes: ${[...live.keys()].join(', ')})`);
    }
    return proc ? { name, proc } : undefined;
  };
  /**
   * Pages of buffer `name` of process `procName`, or undefined after reporting it at `at` (a
   * workload is also told when the name is one of the process's structures).
   */
  const bufferPages = (procName: string, proc: { p: ProcessInput; pages: Map<string, number> }, name: string, at: Path, workload: boolean): number | undefined => {
    const pages = proc.pages.get(name);
    if (pages === undefined) {
      const allocations = proc.p.allocations.map((x) => x.name).join(', ') || 'none';
      issue(at, workload && proc.p.structures.some((s) => s.name === name)
        ? `'${name}' is a structure; this workload needs a buffer (allocations of '${procName}': ${allocations})`
        : `unknown buffer '${name}' (allocations of '${procName}': ${allocations})`);
    }
    return pages;
  };
  const checkActivity = (path: Path, kind: 'kernel' | 'cpu', a: KernelActivityInput | CpuActivityInput, sliced?: number) => {
    if (kind === 'kernel') {
      const dev = (a as KernelActivityInput).device;
      if (!deviceByName.has(dev)) issue([...path, 'device'], `unknown device '${dev}' (devices: ${[...deviceByName.keys()].join(', ')})`);
    }
    const found = processOf(path, a.process);
    if (!found) return;
    const { name: procName, proc } = found;
    const w = a.workload;
    const wp = [...path, 'workload'];
    const buffer = (name: string, at: Path): number | undefined => bufferPages(procName, proc, name, at, true);
    if (sliced !== undefined && !SLICEABLE.has(w.type)) {
      issue([...wp, 'type'], `a pipeline stage must be streaming, strided, random or readMostly (its buffers are cut into chunks), not ${w.type}`);
      return;
    }
    if ('buffer' in w) {
      const pages = buffer(w.buffer, [...wp, 'buffer']);
      if (pages !== undefined && sliced !== undefined && pages < sliced) issue([...wp, 'buffer'], `buffer '${w.buffer}' has ${pages} pages, fewer than the pipeline's ${sliced} chunks`);
      if (w.type === 'stencil' && pages !== undefined) {
        if (w.cols > pages) issue([...wp, 'cols'], `a row of ${w.cols} pages does not fit in buffer '${w.buffer}' (${pages} pages)`);
        else {
          const rows = w.rows ?? Math.floor(pages / w.cols);
          if (rows * w.cols > pages) issue([...wp, 'rows'], `${rows} rows × ${w.cols} pages = ${rows * w.cols} pages do not fit in buffer '${w.buffer}' (${pages} pages)`);
          if (w.out !== undefined) {
            const outPages = buffer(w.out, [...wp, 'out']);
            if (outPages !== undefined && outPages < rows * w.cols) issue([...wp, 'out'], `buffer '${w.out}' (${outPages} pages) is smaller than the grid (${rows * w.cols} pages)`);
            if (w.out === w.buffer) issue([...wp, 'out'], 'out must be a different buffer (leave it out to update in place)');
          }
        }
      }
    }
    if (w.type === 'allToAll') {
      w.buffers.forEach((b, k) => buffer(b, [...wp, 'buffers', k]));
      const dup = w.buffers.find((b, k) => w.buffers.indexOf(b) !== k);
      if (dup !== undefined) issue([...wp, 'buffers'], `buffer '${dup}' is listed twice; each participant needs its own buffer`);
      if (w.index >= w.buffers.length) issue([...wp, 'index'], `expected an index below ${w.buffers.length} (one per buffer), got ${w.index}`);
    }
    if ('structure' in w) {
      if (execed.has(procName)) {
        issue([...wp, 'structure'], `process '${procName}' replaced its image (${execed.get(procName)}); its structures went with the old address space`);
        return;
      }
      const s = proc.p.structures.find((x) => x.name === w.structure);
      if (!s) {
        issue([...wp, 'structure'], `unknown structure '${w.structure}' (structures of '${procName}': ${proc.p.structures.map((x) => x.name).join(', ') || 'none'})`);
        return;
      }
      const want = STRUCTURE_OF[w.type];
      if (want !== undefined && s.type !== want) issue([...wp, 'structure'], `${w.type} needs a ${want}; '${s.name}' is a ${s.type}`);
      if (w.type === 'bfs' && s.type === 'graph' && (w.source ?? 0) >= s.vertices) issue([...wp, 'source'], `expected a vertex below ${s.vertices}, got ${w.source}`);
      if (w.type === 'build') {
        if (kind === 'kernel') issue([...wp, 'type'], 'build is a CPU phase: run it as cpu: { workload: { type: build, ... } }');
        const key = `${procName}/${s.name}`;
        if (built.has(key)) issue([...wp, 'structure'], `structure '${s.name}' is built twice (a structure is built once)`);
        built.add(key);
      }
    }
  };
  // Pages [offset, offset + pages) of a buffer of the step's process (move, migrate, advise, munmap, mprotect, madvise).
  const checkBufferRange = (path: Path, a: { process?: string; buffer: string; offset?: number; pages?: number }) => {
    const found = processOf(path, a.process);
    if (!found) return;
    const pages = bufferPages(found.name, found.proc, a.buffer, [...path, 'buffer'], false);
    if (pages === undefined) return;
    const offset = a.offset ?? 0;
    if (offset >= pages) issue([...path, 'offset'], `buffer '${a.buffer}' has ${pages} pages; expected an offset below that, got ${offset}`);
    else if (a.pages !== undefined && offset + a.pages > pages) issue([...path, 'pages'], `${offset} + ${a.pages} pages run past the end of buffer '${a.buffer}' (${pages} pages)`);
  };
  const checkMove = (path: Path, a: MoveActivityInput) => {
    if (!socketIds.includes(a.to)) issue([...path, 'to'], `unknown socket '${a.to}' (sockets: ${socketIds.join(', ')}); a scenario with one socket has one NUMA node`);
    checkBufferRange(path, a);
  };
  // A range of a buffer on an HMM-mirror device: migrate (into its memory) and advise.
  const checkRange = (path: Path, a: MigrateActivityInput | AdviseActivityInput, deviceKey: 'to' | 'device') => {
    const name = deviceKey === 'to' ? (a as MigrateActivityInput).to : (a as AdviseActivityInput).device;
    const d = deviceByName.get(name);
    if (!d) issue([...path, deviceKey], `unknown device '${name}' (devices: ${devices.map((x) => x.name).join(', ')})`);
    else if (d.profile.driver !== 'hmm-mirror') issue([...path, deviceKey], `device '${name}' uses driver ${d.profile.driver}; only hmm-mirror devices migrate into device memory and take placement advice`);
    else if (deviceKey === 'to' && d.profile.memory.capacity < d.profile.memory.chunkSize) issue([...path, deviceKey], `device '${name}' has no device memory to migrate into`);
    checkBufferRange(path, a);
    if (deviceKey === 'device') {
      const loc = (a as AdviseActivityInput).preferredLocation;
      if (loc !== 'system' && !deviceByName.has(loc)) issue([...path, 'preferredLocation'], `expected a device name or 'system', got '${loc}' (devices: ${devices.map((x) => x.name).join(', ')})`);
    }
  };
  // munmap, mprotect, madvise: a range of a buffer.
  const checkMmRange = (path: Path, a: MunmapActivityInput) => checkBufferRange(path, a);
  // What a step's forks, exits and execs change, applied once the whole step is checked (its
  // activities start together, so they all see the processes as the step began).
  let effects: (() => void)[] = [];
  let stepIndex = -1;
  const endStep = () => {
    for (const e of effects) e();
    effects = [];
  };
  const ended = new Map<string, string>();
  const gangDevices = new Map<string, Set<string>>();
  for (const f of activities(input)) {
    if (f.path[1] !== stepIndex) {
      endStep();
      stepIndex = f.path[1] as number;
      ended.clear();
    }
    const where = formatPath(f.path);
    if (f.kind === 'fork') {
      const a = f.a as ForkActivityInput;
      const found = processOf(f.path, a.process);
      const taken = procs.has(a.child) || gone.has(a.child) || live.has(a.child) || forkAt.get(a.child) !== where;
      if (taken) issue([...f.path, 'child'], `process name '${a.child}' is taken (${procs.has(a.child) ? 'a declared process' : 'another fork\'s child'}); a child needs a name of its own`);
      else if (found) {
        const parent = found.proc;
        effects.push(() => live.set(a.child, parent));
        if (execed.has(found.name)) effects.push(() => execed.set(a.child, execed.get(found.name)!));
      }
      continue;
    }
    if (f.kind === 'exit' || f.kind === 'exec') {
      const found = processOf(f.path, f.a.process);
      if (!found) continue;
      if (ended.has(found.name)) {
        issue(f.path, `process '${found.name}' already ${ended.get(found.name)} in this step`, 'key');
        continue;
      }
      ended.set(found.name, f.kind === 'exit' ? `exits (${where})` : `execs (${where})`);
      if (f.kind === 'exit') effects.push(() => { live.delete(found.name); gone.set(found.name, `exit at ${where}`); });
      else effects.push(() => execed.set(found.name, `exec at ${where}`));
      continue;
    }
    if (f.kind === 'munmap' || f.kind === 'mprotect' || f.kind === 'madvise') {
      checkMmRange(f.path, f.a);
      continue;
    }
    if (f.kind === 'move') checkMove(f.path, f.a);
    else if (f.kind === 'migrate') checkRange(f.path, f.a, 'to');
    else if (f.kind === 'advise') checkRange(f.path, f.a, 'device');
    else if (f.kind === 'pipeline') {
      f.a.stages.forEach((stage, k) => {
        const list = Array.isArray(stage) ? stage.map((s, l) => ({ s, at: [...f.path, 'stages', k, l] })) : [{ s: stage, at: [...f.path, 'stages', k] }];
        for (const { s, at } of list) {
          if (s.kernel?.gang !== undefined) issue([...at, 'kernel', 'gang'], 'a pipeline stage kernel cannot be part of a gang (its chunks run in separate waves); put gang kernels in one step');
          if (s.kernel) checkActivity([...at, 'kernel'], 'kernel', s.kernel, f.a.chunks);
          else if (s.cpu) checkActivity([...at, 'cpu'], 'cpu', s.cpu, f.a.chunks);
        }
      });
    } else if (f.kind === 'kernel' || f.kind === 'cpu') {
      if (f.kind === 'kernel' && f.a.gang !== undefined) {
        // Kernels of one gang sit on distinct devices scheduled as gang.
        const d = deviceByName.get(f.a.device);
        if (d && d.scheduler !== 'gang') issue([...f.path, 'gang'], `device '${f.a.device}' does not schedule gangs; give it scheduler: gang`);
        const key = `${f.path[1]}/${f.a.process ?? soleProcess(input)}/${f.a.gang}`;
        const set = gangDevices.get(key) ?? new Set<string>();
        if (set.has(f.a.device)) issue([...f.path, 'gang'], `gang '${f.a.gang}' has two kernels on device '${f.a.device}'; a gang runs one kernel per device`);
        set.add(f.a.device);
        gangDevices.set(key, set);
      }
      checkActivity(f.path, f.kind, f.a);
    }
  }
  endStep();
}

/** Each process name's declared ancestor: declared processes map to themselves, children to their parent's. */
function processRoots(input: ScenarioInput): Map<string, string> {
  const roots = new Map(input.processes.map((p) => [p.name, p.name]));
  const sole = soleProcess(input);
  for (const f of activities(input)) {
    if (f.kind !== 'fork') continue;
    const a = f.a as ForkActivityInput;
    const root = roots.get(a.process ?? sole ?? '');
    if (root !== undefined && !roots.has(a.child)) roots.set(a.child, root);
  }
  return roots;
}

function normaliseSteps(input: ScenarioInput, sole: string | undefined, socketIds: readonly string[]): ActivityPlan[][] {
  const plan = (a: { kernel?: KernelActivityInput; cpu?: CpuActivityInput }, path: Path, gangSize?: (k: KernelActivityInput) => number): KernelPlan | CpuPlan => {
    if (a.kernel) {
      const k = a.kernel;
      return {
        kind: 'kernel', device: k.device, process: k.process ?? sole!, workload: k.workload, path: formatPath([...path, 'kernel']),
        ...(k.priority !== undefined ? { priority: k.priority } : {}),
        ...(k.gang !== undefined && gangSize ? { gang: { name: k.gang, size: gangSize(k) } } : {}),
      };
    }
    return { kind: 'cpu', process: a.cpu!.process ?? sole!, workload: a.cpu!.workload, path: formatPath([...path, 'cpu']) };
  };
  return input.steps.map((step, i) => {
    const list = Array.isArray(step) ? step.map((a, j) => ({ a, path: ['steps', i, j] as Path })) : [{ a: step, path: ['steps', i] as Path }];
    // Kernels of this step in one process with one gang name form one job.
    const gangSize = (k: KernelActivityInput) => list.filter(({ a }) => a.kernel?.gang === k.gang && (a.kernel?.process ?? sole) === (k.process ?? sole)).length;
    return list.map(({ a, path }): ActivityPlan => {
      const p = planOf(a, path, gangSize);
      return a.delay === undefined ? p : { ...p, delayPs: a.delay };
    });
  });

  function planOf(a: ActivityInput, path: Path, gangSize: (k: KernelActivityInput) => number): ActivityPlan {
    {
      if (a.fork) return { kind: 'fork', process: a.fork.process ?? sole!, child: a.fork.child, path: formatPath([...path, 'fork']) };
      if (a.exit) return { kind: 'exit', process: a.exit.process ?? sole!, path: formatPath([...path, 'exit']) };
      if (a.exec) return { kind: 'exec', process: a.exec.process ?? sole!, path: formatPath([...path, 'exec']) };
      const range = a.munmap ?? a.mprotect ?? a.madvise;
      if (range) {
        const kind = a.munmap ? 'munmap' : a.mprotect ? 'mprotect' : 'madvise';
        return {
          kind, process: range.process ?? sole!, buffer: range.buffer, offset: range.offset ?? 0,
          ...(range.pages !== undefined ? { pages: range.pages } : {}),
          ...(a.mprotect ? { prot: a.mprotect.prot } : {}),
          ...(a.madvise ? { advice: a.madvise.advice } : {}),
          path: formatPath([...path, kind]),
        };
      }
      if (a.move) {
        const mv = a.move;
        return {
          kind: 'move', process: mv.process ?? sole!, buffer: mv.buffer, to: mv.to, node: socketIds.indexOf(mv.to),
          offset: mv.offset ?? 0, ...(mv.pages !== undefined ? { pages: mv.pages } : {}), path: formatPath([...path, 'move']),
        };
      }
      if (a.migrate) {
        const mg = a.migrate;
        return {
          kind: 'migrate', process: mg.process ?? sole!, buffer: mg.buffer, to: mg.to,
          offset: mg.offset ?? 0, ...(mg.pages !== undefined ? { pages: mg.pages } : {}), path: formatPath([...path, 'migrate']),
        };
      }
      if (a.advise) {
        const ad = a.advise;
        return {
          kind: 'advise', process: ad.process ?? sole!, device: ad.device, buffer: ad.buffer, preferredLocation: ad.preferredLocation,
          offset: ad.offset ?? 0, ...(ad.pages !== undefined ? { pages: ad.pages } : {}), path: formatPath([...path, 'advise']),
        };
      }
      if (a.pipeline) {
        return {
          kind: 'pipeline', chunks: a.pipeline.chunks, path: formatPath([...path, 'pipeline']),
          stages: a.pipeline.stages.map((stage, k) => Array.isArray(stage)
            ? stage.map((s, l) => plan(s, [...path, 'pipeline', 'stages', k, l]))
            : [plan(stage, [...path, 'pipeline', 'stages', k])]),
        };
      }
      return plan(a, path, gangSize);
    }
  }
}
