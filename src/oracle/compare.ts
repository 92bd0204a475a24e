/**
 * Comparing what the real kernel printed for an op script with what the model prints: the
 * check behind `hetmem oracle fuzz` and the corpora of test/.
 */
import { runTrace } from '../hmmtrace/runner.ts';
import type { KernelVersion } from '../mm/kernel.ts';

/** How the model replays a script: the kernel it reproduces and the NUMA nodes of the machine. */
export interface ModelOptions {
  readonly kernel: KernelVersion;
  readonly nodes?: number;
}

/** The model's output for `script`, as hmmtrace prints it (lines, each ending in a newline). */
export function modelOutput(script: string, o: ModelOptions): string {
  return runTrace(script, { kernel: o.kernel, nodes: o.nodes ?? 1 }).lines.join('\n') + '\n';
}

/** What kind of difference: the kernel oopsed or hung where the model did not, or the other way, or the outputs differ. */
export type DifferenceKind = 'kernel-crash' | 'kernel-hang' | 'model-crash' | 'model-hang' | 'output';

/** One script on which the kernel and the model disagree. */
export interface Difference {
  readonly name: string;
  readonly script: string;
  readonly kernelOut: string;
  readonly modelOut: string;
  readonly kind: DifferenceKind;
  /** 1-based number of the first output line that differs. */
  readonly line: number;
}

const CRASH = /=> KERNEL_CRASH$/m;
const HANG = /=> KERNEL_HANG$/m;

/** 1-based number of the first line where `a` and `b` differ (0 when they are equal). */
export function firstDifferingLine(a: string, b: string): number {
  if (a === b) return 0;
  const x = a.split('\n'), y = b.split('\n');
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return i + 1;
}

/**
 * Compares the kernel's output for a script with the model's. A crash or hang on one side only
 * is named as such (the oracle's run-batch.sh writes `OP => KERNEL_CRASH` for an oops and
 * `KERNEL_HANG` for a trace that stopped printing; the model prints the same for the test_hmm
 * bugs it reproduces), since those are the differences a kernel developer looks at first.
 */
export function compareOutputs(name: string, script: string, kernelOut: string, modelOut: string): Difference | undefined {
  const line = firstDifferingLine(kernelOut, modelOut);
  if (line === 0) return undefined;
  const kc = CRASH.test(kernelOut), mc = CRASH.test(modelOut), kh = HANG.test(kernelOut), mh = HANG.test(modelOut);
  const kind: DifferenceKind = kc && !mc ? 'kernel-crash' : kh && !mh ? 'kernel-hang' : mc && !kc ? 'model-crash' : mh && !kh ? 'model-hang' : 'output';
  return { name, script, kernelOut, modelOut, kind, line };
}

/** One line describing a difference: NAME: KIND at output line N: kernel 'X' / model 'Y'. */
export function describeDifference(d: Difference): string {
  const k = d.kernelOut.split('\n')[d.line - 1] ?? '', m = d.modelOut.split('\n')[d.line - 1] ?? '';
  const what = { 'kernel-crash': 'the kernel crashed, the model did not', 'kernel-hang': 'the kernel hung, the model did not', 'model-crash': 'the model crashed, the kernel did not', 'model-hang': 'the model hung, the kernel did not', output: 'outputs differ' }[d.kind];
  return `${d.name}: ${what}; first at output line ${d.line}: kernel '${k}', model '${m}'`;
}
