// Every example against real time (issue 17): each examples/*.yaml through the CLI as a user
// runs it, `hetmem run FILE --json` in a fresh node (bin/hetmem.mjs: the compiled dist/ when it
// is fresh), the whole command timed: start-up, loading, the simulation and results.json's text
// on stdout, from which the simulated seconds (endPs) are read. Not `--out DIR`: the report files
// are presentation, not the run. The target is for fault-bound
// examples: at least one simulated second per wall second on one core (a run is one process on
// one core). Fault-bound: the run raised device faults and its device lanes spent more
// lane-seconds stalled (waiting for faults and shootdowns) than busy.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/child.ts';
import { compiledIsFresh, runCli } from '../lib/cli.ts';
import type { ChildMeasure } from './types.ts';
import type { ExampleRun, ExamplesBenchResult } from '../schema.ts';

/** The examples --quick runs (small, and the default scenario), at QUICK_SCALE. */
const QUICK_EXAMPLES = ['default.yaml', 'p2p-under-switch.yaml'];
const QUICK_SCALE = 0.125;

/** What the measure reads from a run's results.json. */
interface RunFacts {
  endPs: number;
  devices: Array<{ faults: { raised: number }; time: { stall: number; busy: number } }>;
}

/** Runs one example through the CLI and reads its results. */
export function runExample(file: string, scale: number): ExampleRun {
  const r = runCli(['run', join(ROOT, 'examples', file), '--json', ...(scale !== 1 ? ['--scale', String(scale)] : [])]);
  const facts = JSON.parse(r.stdout) as RunFacts;
  const simulatedS = facts.endPs / 1e12;
  const deviceFaults = facts.devices.reduce((s, d) => s + d.faults.raised, 0);
  const stallLaneS = facts.devices.reduce((s, d) => s + d.time.stall, 0) / 1e12;
  const busyLaneS = facts.devices.reduce((s, d) => s + d.time.busy, 0) / 1e12;
  return {
    example: file, scale, simulatedS, wallS: r.wallS, cpuS: r.cpuS, simPerWall: simulatedS / r.wallS, simPerCpu: simulatedS / r.cpuS,
    deviceFaults, stallLaneS, busyLaneS, faultBound: deviceFaults > 0 && stallLaneS > busyLaneS,
  };
}

export const examplesMeasure: ChildMeasure<ExamplesBenchResult> = {
  kind: 'examples',
  id: 'examples-real-time',
  title: 'every example through the CLI: simulated seconds per wall second, whole command included',
  async run(ctx) {
    const files = ctx.config.quick ? QUICK_EXAMPLES : readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).sort();
    const scale = ctx.config.quick ? QUICK_SCALE : 1;
    const cli = compiledIsFresh() ? 'compiled' : 'tsx';
    if (cli === 'tsx') ctx.log('examples: dist/ is missing or older than src/, so the CLI runs the sources through tsx (npm run build first for the compiled figures)');
    const runs: ExampleRun[] = [];
    for (const f of files) {
      const r = runExample(f, scale);
      ctx.log(`examples: ${f}: ${r.simulatedS.toExponential(3)} simulated s in ${r.wallS.toFixed(2)} s wall, ${r.cpuS.toFixed(2)} s CPU (${r.simPerWall.toFixed(4)} per wall s)${r.faultBound ? ', fault-bound' : ''}`);
      runs.push(r);
    }
    return {
      description: `${runs.length} examples at scale ${scale}, each \`hetmem run FILE --json\` in a fresh node through bin/hetmem.mjs (${cli}); wall and CPU time of the whole child`,
      cli, runs,
    };
  },
};
