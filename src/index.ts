/**
 * hetmem's public API. The op-script runner, the tests and (later) scenarios all use these.
 */
export { Machine, Process, DeviceFile, ErrnoError, SignalError, parseProt, type MapKind, type RegionFd } from './api/machine.ts';
export { System, type SystemOptions } from './mm/system.ts';
export { KERNELS, KERNEL_VERSIONS, ORACLE_KERNELS, isKernelVersion, type KernelVersion, type KernelSwitches } from './mm/kernel.ts';
export { Mm } from './mm/mm.ts';
export { PAGE_SIZE, PMD_NR, errnoName } from './mm/constants.ts';
export { hmmRangeFault, newHmmRange, HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_ERROR, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, type HmmRange } from './hmm/range-fault.ts';
export { migrateVmaSetup, migrateVmaPages, migrateVmaFinalize, newMigrateVma, reuseMigrateVma, migrateDeviceRange, migrateDevicePages, migrateDeviceFinalize } from './mm/migrate-device.ts';
export { makeDeviceExclusiveRange } from './mm/exclusive.ts';
export { movePages, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, type MovePagesResult } from './mm/migrate.ts';
export { setMempolicy, policyNode, MpolMode, MPOL_MODE_NAMES, type Mempolicy } from './mm/mempolicy.ts';
export { runTrace, validateTrace, type TraceResult } from './hmmtrace/runner.ts';
export type { CmdResult } from './devices/dmirror/dmirror.ts';
export { KernelCrash, KernelHang } from './mm/errors.ts';
export { SimMachine, SimConfigError, defaultTopology, LIVELOCK_WINDOW_PS, type SimOptions, type DeviceConfig, type Activity } from './sim/machine.ts';
export { MoveRun, MOVE_PAGE_PS, MOVE_PAGES_CALL_PS } from './sim/move-pages.ts';
export { encodeAccess, listProgram, type LaneProgram, type KernelSpec, type CpuPhaseSpec } from './sim/program.ts';
export type { RunResults, BatchRecord, DeviceMetrics, LinkMetrics, Timeline, Span } from './sim/results.ts';
export { loadProfile, listProfiles, PROFILES_DIR } from './devices/profile/load.ts';
export type { Profile } from './devices/profile/schema.ts';
export { loadScenario, parseScenario, ScenarioError, DEFAULT_SCENARIO, EXAMPLES_DIR, type Scenario, type ScenarioDevice, type ActivityPlan } from './scenario/load.ts';
export { runScenario, ScenarioRunError, type RunScenarioOptions } from './scenario/run.ts';
export { ScenarioSchema, scenarioJsonSchema } from './scenario/schema.ts';
// Plug-in policies: the interface hetmem's own policies (every role) are registered through, and
// the pure decision functions of the built-ins, for plug-ins that build on them.
export {
  POLICY_API_VERSION, PLUGGABLE_ROLES, PolicyPluginError, registerPolicy,
  type PrefetchPolicy, type PrefetchDecisionInput, type EvictionPolicy, type EvictionView, type Policy, type PolicyParams, type PluggableRole,
  type PlacementPolicy, type PlacementDecisionInput, type ThrashingPolicy, type ThrashingHintContext, type ThrashingHintResult,
  type AccessCounterPolicy, type AccessCounterResult, type PathPolicy,
} from './policy/plugin.ts';
export { CPU, NO_DECISION, type AccessEvent, type AccessibilityFn, type Decision, type ProcessorId } from './policy/types.ts';
export type { PathCandidate } from './policy/path.ts';
export type { MigrationRecord } from './policy/thrashing.ts';
