// `hetmem faultbench`: the command's options, for the CLI layer to register on its program.
// The implementation (cli.ts: the profiles, the timed model, tables, CSV, HTML) is loaded only
// when the command runs, so that every other command starts without it.
import type { Command } from 'commander';
import type { FaultbenchIo, RawOptions } from './cli.ts';

/**
 * Adds `faultbench` to `program`. Option values are optional to commander and checked here, so
 * every bad flag ends the same way: one line `hetmem faultbench: ...` on the program's error
 * output and exit code 2.
 */
export function registerFaultbench(program: Command, io: Partial<FaultbenchIo> = {}): void {
  const stdout = io.stdout ?? ((s: string) => void process.stdout.write(s));
  program
    .command('faultbench')
    .description('page-fault benchmark: every measure for every device profile, profiles side by side')
    .option('--profiles [list]', 'comma-separated profile names (default: every profile in profiles/)')
    .option('--quick', 'reduced run: fewer sizes, lanes and policies (well under 20 s for all profiles)')
    .option('--seed [n]', 'seed of the simulated machines (default 1); results are deterministic for a seed')
    .option('--jobs [n]', 'processes to run the (measure, profile) pairs on (default: every core); the output is the same for any number')
    .option('--csv [dir]', 'also write faultbench-<measure>.csv files (long form) into DIR')
    .option('--out [dir]', 'also write faultbench.html (tables and charts) and faultbench.json into DIR')
    .option('--json', 'print the results as JSON instead of tables')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async function (this: Command) {
      const { parseInvocation, executeFaultbench, FaultbenchUsageError } = await import('./cli.ts');
      try {
        const inv = parseInvocation(this.opts<RawOptions>(), this.args, io.profilesDir);
        await executeFaultbench(inv, stdout, io.pool);
      } catch (e) {
        if (e instanceof FaultbenchUsageError) this.error(`hetmem faultbench: ${e.message}`, { exitCode: 2, code: 'hetmem.faultbench.usage' });
        throw e;
      }
    });
}
