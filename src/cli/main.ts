import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { DEFAULT_KERNEL, KERNEL_VERSIONS, isKernelVersion } from '../mm/kernel.ts';
import { existsSync, readFileSync } from 'node:fs';
import { traceCommand } from './trace.ts';
import { registerFaultbench } from '../faultbench/cli.ts';
import { registerValidate } from '../validate/cli.ts';
import { registerView } from '../view/cli.ts';
import { registerOracle } from '../oracle/cli.ts';
import { registerSweep } from './sweep.ts';
import { TraceSyntaxError, validateTraceFile } from '../hmmtrace/validate.ts';
import { compareCommand, expectedErrorLine, profilesCommand, reportCommand, runCommand, schemaCommand, type Io } from './run.ts';

/** Whether NAME.out beside a script records bad_op / no_such_region / open_err results. */
function recordShowsToolErrors(file: string): boolean {
  const out = file.replace(/\.trace$/, '') + '.out';
  if (!existsSync(out)) return false;
  return /=> (.* )?(bad_op|err=no_such_region|open_err=)/.test(readFileSync(out, 'utf8'));
}

function scaleArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !(n > 0)) throw new InvalidArgumentError('expected a number > 0, e.g. 0.1');
  return n;
}

function seedArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/**
 * The `hetmem` command line. Returns the process exit code: 0 success, 1 a check failed,
 * 2 bad input (one line naming the file, line and what was expected).
 */
export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr, env: process.env }): Promise<number> {
  let code = 0;
  /** Runs a command body; expected problems become one line on stderr and exit code 2. */
  const guard = (body: () => number) => {
    try {
      code = body();
    } catch (e) {
      const line = expectedErrorLine(e);
      if (line === undefined) throw e;
      io.err.write(`${line}\n`);
      code = 2;
    }
  };
  /** guard for a command that awaits (plug-in imports, worker pools, Redis). */
  const guardAsync = async (body: () => Promise<number>) => {
    try {
      code = await body();
    } catch (e) {
      const line = expectedErrorLine(e);
      if (line === undefined) throw e;
      io.err.write(`${line}\n`);
      code = 2;
    }
  };
  const program = new Command();
  program.name('hetmem').description('An executable, timed model of Linux mm + HMM').exitOverride();
  program.configureOutput({
    writeOut: (s) => io.out.write(s),
    writeErr: (s) => io.err.write(s),
    // Usage errors are one line (commander puts "(Did you mean ...?)" on a line of its own).
    outputError: (s, write) => write(`${s.trim().replace(/\s*\n\s*/g, ' ')}\n`),
  });

  program
    .command('trace')
    .description('replay hmmtrace op scripts on a fresh model each and print what Linux 6.12 (or --kernel 6.1) would')
    .argument('<files...>', 'op scripts (NAME.trace)')
    .option('--check', 'compare each with NAME.out beside it; exit 1 if any differs')
    .option('--nodes <n>', 'NUMA nodes of the replayed machine, 1..64 (traces of tools/oracle-numa need 2)', '1')
    .option('--kernel <version>', `the Linux version to reproduce: ${KERNEL_VERSIONS.join(' or ')}`, DEFAULT_KERNEL)
    .action((files: string[], opts: { check?: boolean; nodes: string; kernel: string }) => {
      const nodes = Number(opts.nodes);
      if (!/^[0-9]+$/.test(opts.nodes) || nodes < 1 || nodes > 64) {
        io.err.write(`hetmem trace: --nodes: expected an integer 1..64, got '${opts.nodes}'\n`);
        code = 2;
        return;
      }
      const kernel = opts.kernel;
      if (!isKernelVersion(kernel)) {
        io.err.write(`hetmem trace: --kernel: expected ${KERNEL_VERSIONS.join(' or ')}, got '${kernel}'\n`);
        code = 2;
        return;
      }
      try {
        // Under --check the recorded output is the specification: a script whose record shows
        // the kernel tool's own handling of malformed ops is replayed the same way.
        for (const f of files) if (!(opts.check && recordShowsToolErrors(f))) validateTraceFile(f, { nodes, kernel });
      } catch (e) {
        if (e instanceof TraceSyntaxError) {
          io.err.write(`${e.message}\n`);
          code = 2;
          return;
        }
        throw e;
      }
      const r = traceCommand(files, !!opts.check, nodes, kernel);
      io.out.write(r.output);
      if (opts.check && r.matched !== r.total) code = 1;
    });

  program
    .command('run')
    .description('run a scenario (default: examples/default.yaml) and print a summary table')
    .argument('[scenario]', 'scenario YAML file')
    .option('--json', 'print the full results as JSON instead of the summary')
    .option('--out <dir>', 'write results.json, batches.csv, trace.json and report.html into DIR')
    .option('--scale <factor>', 'multiply sizes (buffers, structures, device memory, per-lane counts) by FACTOR, e.g. 0.1 for a quick run', scaleArg)
    .option('--seed <n>', "override the scenario's seed", seedArg)
    .option('--no-progress', 'no progress bar (there is none anyway when stderr is not a terminal or CI is set)')
    .option('--force', 'run even when the input-size estimate says the model state passes 8 GiB or the events would take over an hour')
    .action(async (file: string | undefined, opts: { json?: boolean; out?: string; scale?: number; seed?: number; progress?: boolean; force?: boolean }) => {
      await guardAsync(() => runCommand(file, opts, io));
    });

  program
    .command('report')
    .description('regenerate report.html from a results.json')
    .argument('<results>', 'results.json written by hetmem run --out')
    .option('--out <dir>', 'directory for report.html (default: beside the results)')
    .action((file: string, opts: { out?: string }) => {
      guard(() => reportCommand(file, opts, io));
    });

  program
    .command('compare')
    .description('print two runs side by side')
    .argument('<a>', 'results.json of run A')
    .argument('<b>', 'results.json of run B')
    .action((a: string, b: string) => {
      guard(() => compareCommand(a, b, io));
    });

  program
    .command('profiles')
    .description('list the shipped device profiles and where their numbers come from')
    .argument('[names...]', 'only these profiles')
    .option('--sources', 'print the source of every number')
    .action((names: string[], opts: { sources?: boolean }) => {
      guard(() => profilesCommand(names, opts, io));
    });

  program
    .command('schema')
    .description('print the JSON Schema of scenario files (hetmem schema > hetmem.schema.json)')
    .action(() => {
      guard(() => schemaCommand(io));
    });

  registerFaultbench(program, { stdout: (s) => void io.out.write(s) });
  registerValidate(program, (s) => void io.out.write(s), (c) => (code = c));
  registerView(program, (s) => void io.out.write(s), (line) => {
    io.err.write(`${line}\n`);
    code = 2;
  });
  registerSweep(program, io, guardAsync);
  registerOracle(program, { out: (s) => void io.out.write(s), err: (s) => void io.err.write(s), exit: (c) => (code = c) });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}
