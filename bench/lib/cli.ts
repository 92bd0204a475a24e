// Running the `hetmem` CLI as a user does (bin/hetmem.mjs in a fresh node) and reading what the
// child cost: wall time, and its own CPU time (user + system, written to fd 3 by a preload as it
// exits). Used by bench:startup (startup.ts) and by the examples measure.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './child.ts';
import { nowNs } from './timing.ts';

export const BIN = join(ROOT, 'bin', 'hetmem.mjs');
/** What the bin runs when it is fresh: the bundled CLI (tools/bundle-cli.mjs). */
const COMPILED = join(ROOT, 'dist', 'bundle', 'hetmem.cjs');

/** The preload that writes the child's CPU time (µs) to fd 3 as it exits. */
const CPU_PRELOAD = `data:text/javascript,${encodeURIComponent("import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeSync(3, String(u.user + u.system)); });")}`;

/**
 * Whether bin/hetmem.mjs runs the bundled CLI (at least as new as every file under src/, the
 * bin's own rule) rather than the sources through tsx.
 */
export function compiledIsFresh(): boolean {
  if (!existsSync(COMPILED)) return false;
  const newestSource = Math.max(statSync(join(ROOT, 'src')).mtimeMs, ...readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
  return statSync(COMPILED).mtimeMs >= newestSource;
}

/**
 * One CLI run: wall and CPU seconds of the child, and its stdout. `entry` is the script node
 * runs (default the bin; bench/startup.ts also times other entry points).
 * @throws Error if it exits non-zero
 */
export function runCli(args: readonly string[], env: Record<string, string> = {}, entry: string = BIN): { wallS: number; cpuS: number; stdout: string } {
  const t0 = nowNs();
  const r = spawnSync(process.execPath, ['--import', CPU_PRELOAD, entry, ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28,
  });
  const wallS = Number(nowNs() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${entry} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wallS, cpuS: Number((r.output[3] as string | null) ?? NaN) / 1e6, stdout: r.stdout };
}
