/**
 * Replays an hmmtrace script through the real TraceRunner and runs a callback after every op,
 * including the op a `child` runs inside the child (before it exits).
 *
 * TraceRunner only exposes `run(text)`; its per-op dispatcher `runOp(proc, tokens)` is private
 * to TypeScript but an ordinary method at run time, and every op (a child's too) goes through
 * `this.runOp`. Shadowing it on the instance therefore sees every op with the exact process it
 * runs in, without copying the runner's logic. `opsSeen` lets callers verify the hook ran.
 */
import { TraceRunner, type TraceResult } from '../../src/hmmtrace/runner.ts';
import { Machine } from '../../src/api/machine.ts';
import type { KernelVersion } from '../../src/mm/kernel.ts';
import { KernelCrash, KernelHang } from '../../src/devices/dmirror/errors.ts';
import type { Process } from '../../src/api/machine.ts';
import type { Dmirror } from '../../src/devices/dmirror/dmirror.ts';

/** The runner's per-process record (class Proc in runner.ts), as far as the hook needs it. */
interface RunnerProc {
  proc: Process;
  regs: Array<{ name: string; fd: { dmirror?: Dmirror } | null }>;
}

export interface OpContext {
  runner: TraceRunner;
  /** The op's tokens, and whether it ran inside a child. */
  tokens: string[];
  nested: boolean;
  /** Live processes (the main one, and the child while a child op runs). */
  procs: Process[];
  /** Mirrors held by region fds (devN mappings' dup'ed fds). */
  regionMirrors: Dmirror[];
}

export interface DrivenTrace {
  result: TraceResult;
  runner: TraceRunner;
  /** Top-level ops after which the callback ran. */
  opsSeen: number;
  /** Ops (top-level and in children) after which the callback ran. */
  callbacks: number;
}

export function driveTrace(text: string, afterOp: (ctx: OpContext) => void, kernel: KernelVersion = '6.1'): DrivenTrace {
  // 6.1 by default: the golden traces it drives were recorded on 6.1.
  const runner = new TraceRunner(false, '<trace>', new Machine({ kernel }));
  const hook = runner as unknown as { runOp(p: RunnerProc, t: string[]): string };
  const orig = hook.runOp;
  if (typeof orig !== 'function') throw new Error('TraceRunner.runOp is gone: update test/model/trace-driver.ts');
  const stack: RunnerProc[] = [];
  let opsSeen = 0, callbacks = 0;
  const after = (t: string[]) => {
    callbacks++;
    if (stack.length === 1) opsSeen++;
    afterOp({
      runner,
      tokens: t,
      nested: stack.length > 1,
      procs: stack.map((s) => s.proc).filter((p) => !p.exited),
      regionMirrors: stack.flatMap((s) => s.regs.flatMap((r) => (r.fd?.dmirror ? [r.fd.dmirror] : []))),
    });
  };
  hook.runOp = function (this: unknown, p: RunnerProc, t: string[]): string {
    stack.push(p);
    try {
      const out = orig.call(this, p, t);
      after(t);
      return out;
    } catch (e) {
      // A malformed op (bad_op) must leave a consistent state too; a crash or hang stops the
      // trace in the middle of an op, where nothing is promised.
      if (!(e instanceof KernelCrash) && !(e instanceof KernelHang)) after(t);
      throw e;
    } finally {
      stack.pop();
    }
  };
  const result = runner.run(text);
  return { result, runner, opsSeen, callbacks };
}
