/**
 * `hetmem oracle fuzz`: random op scripts run on the real kernel and on the model; each script
 * where they disagree is written out with both outputs and a delta-debugged minimal script
 * (re-run on both at every step, so the minimal script is one the kernel really disagrees on).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Oracle } from './kernel.ts';
import { compareOutputs, describeDifference, modelOutput, type Difference } from './compare.ts';
import { ddmin, scriptOps } from './minimize.ts';
import { generateTraces, type GenerateOptions } from './generate.ts';

export interface FuzzOptions {
  readonly oracle: Oracle;
  readonly count: number;
  readonly seed: number;
  readonly gen?: GenerateOptions;
  /** NUMA nodes of the model (2 for a two-node oracle). */
  readonly nodes?: number;
  /** Where the differences go. */
  readonly outDir: string;
  /** Minimize each difference (default true). */
  readonly minimize?: boolean;
  readonly log?: (line: string) => void;
}

/** One difference and its minimized script. */
export interface FuzzFinding {
  readonly difference: Difference;
  readonly minimal?: { script: string; kernelOut: string; modelOut: string; rounds: number; tests: number };
}

export interface FuzzReport {
  readonly total: number;
  readonly findings: FuzzFinding[];
}

/** Writes the files of one finding: NAME.trace, NAME.kernel.out, NAME.model.out, NAME.min.*. */
export function writeFinding(dir: string, f: FuzzFinding): void {
  const d = f.difference;
  writeFileSync(join(dir, `${d.name}.trace`), d.script);
  writeFileSync(join(dir, `${d.name}.kernel.out`), d.kernelOut);
  writeFileSync(join(dir, `${d.name}.model.out`), d.modelOut);
  if (f.minimal) {
    writeFileSync(join(dir, `${d.name}.min.trace`), f.minimal.script);
    writeFileSync(join(dir, `${d.name}.min.kernel.out`), f.minimal.kernelOut);
    writeFileSync(join(dir, `${d.name}.min.model.out`), f.minimal.modelOut);
  }
}

/** Minimizes one difference: ddmin over its ops, every candidate run on the kernel and the model. */
export async function minimizeDifference(d: Difference, oracle: Oracle, nodes = 1): Promise<NonNullable<FuzzFinding['minimal']>> {
  const model = (script: string) => modelOutput(script, { kernel: oracle.kernel, nodes });
  let batch = 0;
  const last = new Map<string, { kernelOut: string; modelOut: string }>();
  const m = await ddmin(scriptOps(d.script), async (cands) => {
    const scripts = cands.map((ops, i) => ({ name: `${d.name}-dd${batch}-${i}`, text: ops.join('\n') + '\n' }));
    batch++;
    const outs = await oracle.run(scripts);
    return scripts.map((s) => {
      const kernelOut = outs.get(s.name)!, modelOut = model(s.text);
      last.set(s.text, { kernelOut, modelOut });
      return kernelOut !== modelOut;
    });
  });
  const script = m.ops.join('\n') + '\n';
  const seen = last.get(script) ?? { kernelOut: d.kernelOut, modelOut: d.modelOut };
  return { script, ...seen, rounds: m.rounds, tests: m.tests };
}

/** Generates, runs on both, compares, minimizes and writes every difference. */
export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => {});
  const scripts = generateTraces(o.seed, o.count, o.gen ?? {});
  log(`generated ${scripts.length} scripts (seed ${o.seed}); running them on Linux ${o.oracle.kernel}`);
  const outs = await o.oracle.run(scripts);
  const findings: FuzzFinding[] = [];
  for (const s of scripts) {
    const d = compareOutputs(s.name, s.text, outs.get(s.name)!, modelOutput(s.text, { kernel: o.oracle.kernel, nodes: o.nodes ?? 1 }));
    if (d) findings.push({ difference: d });
  }
  log(`${scripts.length - findings.length}/${scripts.length} scripts agree`);
  mkdirSync(o.outDir, { recursive: true });
  for (let i = 0; i < findings.length; i++) {
    const d = findings[i].difference;
    log(describeDifference(d));
    if (o.minimize ?? true) {
      const minimal = await minimizeDifference(d, o.oracle, o.nodes ?? 1);
      findings[i] = { difference: d, minimal };
      log(`  minimized to ${scriptOps(minimal.script).length} of ${scriptOps(d.script).length} ops in ${minimal.rounds} rounds (${minimal.tests} kernel runs): ${join(o.outDir, `${d.name}.min.trace`)}`);
    }
    writeFinding(o.outDir, findings[i]);
  }
  return { total: scripts.length, findings };
}
