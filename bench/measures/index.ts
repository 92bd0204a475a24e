// The registry of measures, in the order run.ts runs them. To add one: write a file in this
// folder exporting a ThroughputMeasure (the runner times it, at every growth size and in each
// of its modes, and reports it against the raw loop) and list it here; a measure that cannot
// run yet is a MissingMeasure and lands in results.json under `missing`.
import type { ThroughputMeasure, MissingMeasure, ChildMeasure } from './types.ts';
import type { ExamplesBenchResult, FaultbenchPoolResult, ManyFaultsResult, MemoryResult, ScaleResult, SweepBenchResult, ViewOpenResult } from '../schema.ts';
import { rawLoop } from './raw-loop.ts';
import { copyLoop } from './copy-loop.ts';
import { migrate } from './migrate.ts';
import { mirror } from './mirror.ts';
import { cow } from './cow.ts';
import { deviceFaults } from './device-faults.ts';
import { streaming, streamingLruPage, streamingRandom } from './streaming.ts';
import { memory } from './memory.ts';
import { scale } from './scale.ts';
import { sweepMeasure as sweep } from './sweep.ts';
import { viewOpen } from './view-open.ts';
import { faultbenchPoolMeasure as faultbenchPool } from './faultbench-pool.ts';
import { examplesMeasure as examples } from './examples.ts';
import { manyFaults } from './many-faults.ts';

export const baselines = { rawLoop, copyLoop };

/** Page-event throughput, section 1 of the issue (plus the two that wait for the timed model). */
export const throughput: Array<ThroughputMeasure | MissingMeasure> = [migrate, mirror, deviceFaults, cow, streaming, streamingLruPage, streamingRandom];

export const memoryMeasure: ChildMeasure<MemoryResult> = memory;
export const scaleMeasure: ChildMeasure<ScaleResult> = scale;
export const sweepPoolMeasure: ChildMeasure<SweepBenchResult> = sweep;
export const viewOpenMeasure: ChildMeasure<ViewOpenResult> = viewOpen;
export const faultbenchMeasure: ChildMeasure<FaultbenchPoolResult> = faultbenchPool;
export const examplesMeasure: ChildMeasure<ExamplesBenchResult> = examples;
export const manyFaultsMeasure: ChildMeasure<ManyFaultsResult> = manyFaults;
