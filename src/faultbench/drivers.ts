// Measure 6: SVA/PRI vs HMM mirror vs pinning: the same kernel on each driver kind a profile can
// run as. The CPU writes a buffer; a kernel reads and writes it (dense: every page; sparse: one
// page in 16); then the CPU reads the whole buffer back. Each profile runs its own driver and,
// where the profile holds every number the other kind needs, the others:
// - pinning: any profile (pin_user_pages up front; a device with memory copies the buffer in and
//   the written pages back, one without works on the pinned pages over its link);
// - hmm-mirror: only profiles with copy engines and device memory;
// - sva: only profiles with a PRI cost (fault.priCost).
// The numbers are the kernel's time (launch to end, pinning and copies included) and the time
// from launch until the CPU has read the whole buffer back, µs.
import type { Profile } from '../devices/profile/schema.ts';
import type { DriverKind } from '../devices/profile/schema.ts';
import type { KernelSpec } from '../sim/program.ts';
import { streaming } from '../workloads/streaming.ts';
import { strided } from '../workloads/strided.ts';
import { DEV, NOTES, alignedRegion, cpuWrite, hasMemory, kernelStep, listLane, machine, na, runScript, usOf, type KernelTiming } from './harness.ts';
import type { Cell, MeasureTable, Row } from './types.ts';

export const DRIVER_KINDS_COMPARED: readonly DriverKind[] = ['hmm-mirror', 'sva', 'pinning'];
export const DRIVER_KERNELS = ['dense', 'sparse'] as const;
export type DriverKernel = (typeof DRIVER_KERNELS)[number];

/** Sizes of the driver comparison. */
export interface DriversConfig {
  /** Buffer size, pages. */
  readonly pages: number;
  readonly lanes: number;
}

/** Page stride of the sparse kernel. */
const SPARSE_STRIDE = 16;
const LIMIT_PS = 20_000_000_000_000; // 20 s

/** `profile` run as driver `kind`, or the reason it cannot be. */
export function asDriver(profile: Profile, kind: DriverKind): Profile | string {
  if (profile.driver === kind) return profile;
  // Pinning as ibv_reg_mr / cudaHostRegister does it: pinned up front, so no fault section.
  if (kind === 'pinning') return { ...profile, driver: 'pinning', fault: undefined, iommu: undefined, registration: { mode: 'pin' } };
  if (kind === 'hmm-mirror') return profile.copyEngines && hasMemory(profile) && profile.fault ? { ...profile, driver: 'hmm-mirror', fault: { ...profile.fault, priCost: undefined } } : NOTES.noCopyEngines;
  return profile.fault?.priCost !== undefined ? { ...profile, driver: 'sva' } : NOTES.noPri;
}

/** One kernel on one driver kind. */
export interface DriverRun {
  /** Launch → end of the kernel, ps (pinning, copy-in and copy-back included). */
  kernelPs: number;
  /** Launch → the CPU has read the whole buffer back, ps. */
  endToEndPs: number;
  /** Device faults raised (PRI requests for SVA). */
  faults: number;
  /** Pages the CPU read back that had to come back from the device (migrate_to_ram). */
  migratedBack: number;
}

/** Runs `kernel` on `profile` as driver `kind` (throws if it cannot be). */
export function driverRun(profile: Profile, kind: DriverKind, kernel: DriverKernel, cfg: DriversConfig, seed: number): DriverRun {
  const prof = asDriver(profile, kind);
  if (typeof prof === 'string') throw new RangeError(`${profile.name} cannot run as ${kind}: ${prof}`);
  const m = machine(prof, seed);
  const p = m.spawn();
  const base = alignedRegion(p, cfg.pages);
  const regions = [{ base, pages: cfg.pages }];
  const spec: KernelSpec = kernel === 'dense'
    ? { ...streaming({ base, pages: cfg.pages, lanes: cfg.lanes, write: 'rw', name: 'dense', computePs: 1000 }), regions }
    : { ...strided({ base, pages: cfg.pages, stride: SPARSE_STRIDE, lanes: cfg.lanes, write: 'rw', name: 'sparse', computePs: 1000 }), regions };
  const k: KernelTiming = { startPs: 0, endPs: -1 };
  let endToEnd = 0, out0 = 0;
  const all = Array.from({ length: cfg.pages }, (_, i) => base + i);
  const ok = runScript(m, [
    () => cpuWrite(m, p, base, cfg.pages),
    kernelStep(m, DEV, p, spec, k),
    () => {
      out0 = m.device(DEV).metrics.pagesOut;
      return m.cpuPhase(p, { name: 'read-back', threads: [listLane(all, false)], computePs: 0, accessBytes: 4096 });
    },
    () => {
      endToEnd = m.engine.now - k.startPs;
    },
  ], LIMIT_PS);
  if (!ok) throw new Error(`${profile.name} as ${kind}: ${kernel} kernel did not finish`);
  return { kernelPs: k.endPs - k.startPs, endToEndPs: endToEnd, faults: m.device(DEV).metrics.faults.raised, migratedBack: m.device(DEV).metrics.pagesOut - out0 };
}

/** Measure 6 over `profiles`: per kernel and driver kind, the kernel time and the end-to-end time. */
export function driversMeasure(profiles: readonly Profile[], cfg: DriversConfig, seed: number): MeasureTable {
  const rows: Row[] = [];
  for (const kernel of DRIVER_KERNELS) {
    const runs = new Map<string, DriverRun | string>();
    for (const kind of DRIVER_KINDS_COMPARED) {
      for (const p of profiles) {
        const as = asDriver(p, kind);
        runs.set(`${kind}|${p.name}`, typeof as === 'string' ? as : driverRun(p, kind, kernel, cfg, seed));
      }
    }
    for (const metric of ['kernel', 'end-to-end'] as const) {
      for (const kind of DRIVER_KINDS_COMPARED) {
        rows.push({
          key: `drivers.${kernel}.${kind}.${metric}`,
          label: `${kernel} kernel on ${kind}: ${metric === 'kernel' ? 'kernel time' : 'until the CPU has read it back'}`,
          unit: 'us',
          params: { kernel, driver: kind, metric },
          cells: Object.fromEntries(profiles.map((p): [string, Cell] => {
            const r = runs.get(`${kind}|${p.name}`)!;
            if (typeof r === 'string') return [p.name, na(r)];
            return [p.name, { value: usOf(metric === 'kernel' ? r.kernelPs : r.endToEndPs) }];
          })),
        });
      }
    }
  }
  return {
    id: 'drivers',
    title: `SVA/PRI vs HMM mirror vs pinning (${cfg.pages} pages, ${cfg.lanes} lanes)`,
    meaning: 'time of the same read-write kernel on each driver kind, and until the CPU has read the buffer back, µs (lower is better)',
    rows,
  };
}
