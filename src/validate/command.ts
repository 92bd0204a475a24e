// `hetmem validate`: the command's options, for the CLI layer to register on its program. The
// checks (the timed model, every profile) are loaded only when the command runs, so that every
// other command starts without them.
import type { Command } from 'commander';

/** Adds `validate` to `program`; `setCode` receives the exit code (0 pass, 1 fail). */
export function registerValidate(program: Command, stdout: (s: string) => void, setCode: (code: number) => void): void {
  program
    .command('validate')
    .description('reproduce published measurements that set no profile parameter (held-out validation)')
    .option('--only [ids]', 'comma-separated check ids (default: every check)')
    .option('--json', 'print the results as JSON')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async function (this: Command) {
      const { parseOnly, validateText, ValidateUsageError } = await import('./cli.ts');
      const { runChecks, verdict } = await import('./checks.ts');
      try {
        if (this.args.length > 0) {
          const a = this.args[0];
          throw new ValidateUsageError(a.startsWith('-') ? `unknown option '${a}' (options: --only, --json)` : `unexpected argument '${a}'`);
        }
        const opts = this.opts<{ only?: string | true; json?: boolean }>();
        const results = runChecks(parseOnly(opts.only));
        stdout(opts.json ? `${JSON.stringify({ results, verdict: verdict(results) }, null, 2)}\n` : validateText(results));
        setCode(verdict(results).ok ? 0 : 1);
      } catch (e) {
        if (e instanceof ValidateUsageError) this.error(`hetmem validate: ${e.message}`, { exitCode: 2, code: 'hetmem.validate.usage' });
        throw e;
      }
    });
}
