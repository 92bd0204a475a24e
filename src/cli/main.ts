// Each command's module is imported when the command runs, not up front: `hetmem --version` or
// `hetmem trace` should not pay for zod, yaml, the timed model and the report code at start-up
// (bench/README.md, CLI start-up).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { DEFAULT_KERNEL, KERNEL_VERSIONS, isKernelVersion, listVersions } from '../mm/kernel.ts';
import { existsSync, readFileSync } from 'node:fs';
import { registerFaultbench } from '../faultbench/command.ts';
import { registerValidate } from '../validate/command.ts';
import { registerView } from '../view/command.ts';
import { registerOracle } from '../oracle/cli.ts';
import { registerSweep } from './sweep.ts';
import type { Io } from './run.ts';

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

/** The package's version (package.json sits two folders up from src/cli and from dist/cli). */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Exit codes of every command (README: Exit codes). Anything else, e.g. an uncaught exception, is a bug. */
export const EXIT = { ok: 0, differences: 1, badInput: 2 } as const;

/**
 * Commander's own messages ("error: unknown option '--x'") in the one error style of every
 * command: `hetmem SUBCOMMAND: message` (`hetmem: message` before a subcommand is known).
 * Messages that already carry a `hetmem ` prefix (faultbench's and validate's) pass unchanged.
 */
export function commanderLine(command: string, message: string): string {
  const one = message.trim().replace(/\s*\n\s*/g, ' ');
  return one.startsWith('hetmem ') ? one : `${command}: ${one.replace(/^error: /, '')}`;
}

/**
 * The `hetmem` command line. Returns the process exit code: 0 success, 1 a check found
 * differences, 2 bad input: one line `hetmem SUBCOMMAND: message` on stderr, the message
 * naming the file, line and what was expected.
 */
export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr, env: process.env }): Promise<number> {
  let code = 0;
  /** Runs a command body; expected problems become one line on stderr and exit code 2. */
  const guardAsync = async (command: string, body: (cmds: typeof import('./run.ts')) => Promise<number>) => {
    const cmds = await import('./run.ts');
    try {
      code = await body(cmds);
    } catch (e) {
      const line = cmds.expectedErrorLine(e);
      if (line === undefined) throw e;
      io.err.write(`hetmem ${command}: ${line}\n`);
      code = EXIT.badInput;
    }
  };
  const program = new Command();
  program.name('hetmem').description('An executable, timed model of Linux mm + HMM').exitOverride();
  program.version(VERSION, '-V, --version', 'print the version and exit');
  /** Output settings for `command`: usage errors are one line in the common style. */
  const output = (command: string) => ({
    writeOut: (s: string) => void io.out.write(s),
    writeErr: (s: string) => void io.err.write(s),
    outputError: (s: string, write: (s: string) => void) => write(`${commanderLine(command, s)}\n`),
  });
  program.configureOutput(output('hetmem'));

  program
    .command('trace')
    .description('replay hmmtrace op scripts on a fresh model each and print what Linux 6.12 (or --kernel 6.1, or 7.x modelled from source) would')
    .argument('<files...>', 'op scripts (NAME.trace)')
    .option('--check', 'compare each with NAME.out beside it; exit 1 if any differs')
    .option('--nodes <n>', 'NUMA nodes of the replayed machine, 1..64 (traces of tools/oracle-numa need 2)', '1')
    .option('--kernel <version>', `the Linux version to reproduce: ${listVersions(KERNEL_VERSIONS)}`, DEFAULT_KERNEL)
    .action(async (files: string[], opts: { check?: boolean; nodes: string; kernel: string }) => {
      const nodes = Number(opts.nodes);
      if (!/^[0-9]+$/.test(opts.nodes) || nodes < 1 || nodes > 64) {
        io.err.write(`hetmem trace: --nodes: expected an integer 1..64, got '${opts.nodes}'\n`);
        code = EXIT.badInput;
        return;
      }
      const kernel = opts.kernel;
      if (!isKernelVersion(kernel)) {
        io.err.write(`hetmem trace: --kernel: expected ${listVersions(KERNEL_VERSIONS)}, got '${kernel}'\n`);
        code = EXIT.badInput;
        return;
      }
      const { TraceSyntaxError, validateTraceFile } = await import('../hmmtrace/validate.ts');
      const { traceCommand } = await import('./trace.ts');
      try {
        // Under --check the recorded output is the specification: a script whose record shows
        // the kernel tool's own handling of malformed ops is replayed the same way.
        for (const f of files) if (!(opts.check && recordShowsToolErrors(f))) validateTraceFile(f, { nodes, kernel });
      } catch (e) {
        if (e instanceof TraceSyntaxError) {
          io.err.write(`hetmem trace: ${e.message}\n`);
          code = EXIT.badInput;
          return;
        }
        throw e;
      }
      const r = traceCommand(files, !!opts.check, nodes, kernel);
      io.out.write(r.output);
      if (opts.check && r.matched !== r.total) code = EXIT.differences;
    });

  program
    .command('run')
    .description('run a scenario (default: examples/default.yaml) and print a summary table')
    .argument('[scenario]', 'scenario YAML file')
    .option('--json', 'print the full results as JSON instead of the summary')
    .option('--out <dir>', 'write results.json, stats.txt, batches.csv, trace.json, report.html and view/ (for hetmem view) into DIR')
    .option('--scale <factor>', 'multiply sizes (buffers, structures, device memory, per-lane counts) by FACTOR, e.g. 0.1 for a quick run', scaleArg)
    .option('--seed <n>', "override the scenario's seed", seedArg)
    .option('--no-progress', 'no progress bar (there is none anyway when stderr is not a terminal or CI is set)')
    .option('--force', 'run even when the input-size estimate says the model state passes 8 GiB or the events would take over an hour')
    .action(async (file: string | undefined, opts: { json?: boolean; out?: string; scale?: number; seed?: number; progress?: boolean; force?: boolean }) => {
      await guardAsync('run', (c) => c.runCommand(file, opts, io));
    });

  program
    .command('report')
    .description('regenerate report.html from a results.json')
    .argument('<results>', 'results.json written by hetmem run --out')
    .option('--out <dir>', 'directory for report.html (default: beside the results)')
    .action(async (file: string, opts: { out?: string }) => {
      await guardAsync('report', (c) => c.reportCommand(file, opts, io));
    });

  program
    .command('compare')
    .description('print two runs side by side')
    .argument('<a>', 'results.json of run A')
    .argument('<b>', 'results.json of run B')
    .action(async (a: string, b: string) => {
      await guardAsync('compare', (c) => c.compareCommand(a, b, io));
    });

  program
    .command('profiles')
    .description('list the shipped device profiles and where their numbers come from')
    .argument('[names...]', 'only these profiles')
    .option('--sources', 'print the source of every number')
    .action(async (names: string[], opts: { sources?: boolean }) => {
      // Not through guardAsync: that loads run.ts (the timed model and the report code), which
      // listing profiles does not need; profiles.ts reports its own bad input.
      const { profilesCommand } = await import('./profiles.ts');
      code = await profilesCommand(names, opts, io);
    });

  program
    .command('schema')
    .description('print the JSON Schema of scenario files (hetmem schema > hetmem.schema.json)')
    .action(async () => {
      await guardAsync('schema', (c) => c.schemaCommand(io));
    });

  registerFaultbench(program, {
    stdout: (s) => void io.out.write(s),
    // Sweep's child-process pool, loaded only when faultbench runs more than one job at once.
    pool: async (jobs, size) => (await import('../sweep/pool.ts')).runFaultbenchJobs(jobs, size),
  });
  registerValidate(program, (s) => void io.out.write(s), (c) => (code = c));
  registerView(program, (s) => void io.out.write(s), (line) => {
    io.err.write(`hetmem view: ${line}\n`);
    code = EXIT.badInput;
  });
  registerSweep(program, io, (command, body) => guardAsync(command, () => body()));
  registerOracle(program, { out: (s) => void io.out.write(s), err: (s) => void io.err.write(s.startsWith('hetmem ') ? s : `hetmem oracle: ${s}`), exit: (c) => (code = c) });
  for (const c of program.commands) c.configureOutput(output(`hetmem ${c.name()}`));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    throw e;
  }
  return code;
}
