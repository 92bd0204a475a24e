// Child processes for the memory and scale figures: each runs in a fresh node (with
// --expose-gc, through tsx) so that one figure's heap cannot contaminate another's. A child
// prints one line `RESULT <json>` on stdout; anything else it prints is ignored.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The bench/ directory and the repository root. */
export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = join(BENCH_DIR, '..');

export type ChildOutcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** Prints a child's result line (the child's side of the protocol). */
export function emitResult(value: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(value)}\n`);
}

/** Runs bench/<script> with `args` in a fresh node; resolves with its RESULT or why it failed. */
export function runChild<T>(
  script: string, args: string[], opts: { timeoutMs?: number; maxOldSpaceMb?: number; nodeFlags?: string[] } = {},
): Promise<ChildOutcome<T>> {
  const nodeArgs = ['--expose-gc', ...(opts.nodeFlags ?? [])];
  if (opts.maxOldSpaceMb) nodeArgs.push(`--max-old-space-size=${opts.maxOldSpaceMb}`);
  nodeArgs.push('--import', 'tsx', join(BENCH_DIR, script), ...args);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let timedOut = false;
    const timer = opts.timeoutMs ? setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs) : null;
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) {
        try {
          resolve({ ok: true, value: JSON.parse(line.slice(7)) as T });
        } catch (e) {
          resolve({ ok: false, error: `unreadable result: ${(e as Error).message}` });
        }
        return;
      }
      const why = timedOut ? `timed out after ${opts.timeoutMs} ms`
        : signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}`
        : `exit code ${code}`;
      const lastErr = err.trim().split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ');
      resolve({ ok: false, error: lastErr ? `${why}: ${lastErr}` : why });
    });
  });
}
