// Registers `hetmem view`; the viewer (page, server, loaders) loads only when the command runs, so
// other commands do not pay for it at start-up.
import { InvalidArgumentError, type Command } from 'commander';

function portArg(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535 (0: any free port)');
  return n;
}

/** Adds `view` to the program. `fail` reports a ViewError's line and sets exit code 2. */
export function registerView(program: Command, out: (s: string) => void, fail: (line: string) => void): void {
  program
    .command('view')
    .description('open an interactive viewer of one run or two (or of faultbench results) on 127.0.0.1, or write it as one HTML file')
    .argument('<dirs...>', 'the --out directory of hetmem run (one, or two to compare) or of hetmem faultbench')
    .option('--port <n>', 'port on 127.0.0.1 (default: any free port)', portArg)
    .option('--static <file>', 'write one self-contained HTML file instead of serving')
    .action(async (dirs: string[], opts: { port?: number; static?: string }) => {
      const { viewCommand } = await import('./cli.ts');
      const { ViewError } = await import('./load.ts');
      try {
        await viewCommand(dirs, opts, out);
      } catch (e) {
        if (e instanceof ViewError) fail(e.message.split('\n')[0]);
        else throw e;
      }
    });
}
