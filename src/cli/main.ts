import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { traceCommand } from './trace.ts';
import { TraceSyntaxError, validateTraceFile } from '../hmmtrace/validate.ts';

/** Whether NAME.out beside a script records bad_op / no_such_region / open_err results. */
function recordShowsToolErrors(file: string): boolean {
  const out = file.replace(/\.trace$/, '') + '.out';
  if (!existsSync(out)) return false;
  return /=> (.* )?(bad_op|err=no_such_region|open_err=)/.test(readFileSync(out, 'utf8'));
}

/**
 * The `hetmem` command line. Returns the process exit code: 0 success, 1 a check failed,
 * 2 bad input (one line naming the file, line and what was expected).
 */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command();
  program.name('hetmem').description('An executable, timed model of Linux mm + HMM').exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('trace')
    .description('replay hmmtrace op scripts on a fresh model each and print what Linux 6.1 would')
    .argument('<files...>', 'op scripts (NAME.trace)')
    .option('--check', 'compare each with NAME.out beside it; exit 1 if any differs')
    .action((files: string[], opts: { check?: boolean }) => {
      try {
        // Under --check the recorded output is the specification: a script whose record shows
        // the kernel tool's own handling of malformed ops is replayed the same way.
        for (const f of files) if (!(opts.check && recordShowsToolErrors(f))) validateTraceFile(f);
      } catch (e) {
        if (e instanceof TraceSyntaxError) {
          process.stderr.write(`${e.message}\n`);
          code = 2;
          return;
        }
        throw e;
      }
      const r = traceCommand(files, !!opts.check);
      process.stdout.write(r.output);
      if (opts.check && r.matched !== r.total) code = 1;
    });

  program
    .command('run')
    .description('run a scenario (default: a short demo of the byte-exact core)')
    .action(async () => {
      const { demo } = await import('./demo.ts');
      process.stdout.write(demo());
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}
