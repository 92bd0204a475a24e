// `npm run bench:startup`: how long `hetmem` takes to start. Each command runs three ways: the
// bundled CLI with its code cache (what bin/hetmem.mjs runs after `npm run build`,
// tools/bundle-cli.mjs), the unbundled tsc output dist/cli/main.js (what the bin ran before the
// bundle, through bench/lib/unbundled-cli.mjs) and the TypeScript sources through tsx (what it
// still runs with HETMEM_FROM_SOURCE=1); `node -e 0` gives node's own floor. Each runs --runs
// times (default 9, after one untimed run), the variants interleaved so that they share the
// machine's load; the medians of wall time and of the child's own CPU time (user + system,
// read at its exit through a preload) go to bench/startup.json (or --out FILE) and a table.
// CPU time is the figure to compare on a shared machine: wall time there includes waiting for
// a core. Target: under 0.3 s.
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ROOT } from './lib/child.ts';
import { median } from './lib/timing.ts';
import { BIN, compiledIsFresh, runCli } from './lib/cli.ts';

/** The start-up target, seconds. */
export const STARTUP_TARGET_S = 0.3;

const opts = new Command()
  .name('bench:startup')
  .option('--runs <n>', 'timed runs per command (median reported)', (v) => Number(v), 9)
  .option('--out <file>', 'where to write the results', resolve(ROOT, 'bench', 'startup.json'))
  .parse()
  .opts<{ runs: number; out: string }>();
if (!Number.isInteger(opts.runs) || opts.runs < 1) {
  process.stderr.write(`bench:startup: --runs: expected an integer >= 1, got ${opts.runs}\n`);
  process.exit(2);
}

// The bin runs tsx when src/ is newer than the bundle; the "bundle" rows would then measure tsx.
if (!compiledIsFresh()) {
  process.stderr.write('bench:startup: dist/bundle/hetmem.cjs is missing or older than src/: run npm run build first (npm run bench:startup does)\n');
  process.exit(2);
}

const COMMANDS: Array<{ id: string; args: string[] }> = [
  { id: '--version', args: ['--version'] },
  { id: 'profiles', args: ['profiles'] },
  { id: 'trace (one op)', args: ['trace', join(ROOT, 'bench', 'startup.trace')] },
  // run's fixed cost: the model, the scenario and its profile loaded, the machine built and the
  // summary printed around a simulation of one device fault (startup.yaml).
  { id: 'run (one fault)', args: ['run', join(ROOT, 'bench', 'startup.yaml')] },
];
const BUILDS = [
  { id: 'bundle', env: {}, entry: BIN },
  { id: 'unbundled', env: {}, entry: join(ROOT, 'bench', 'lib', 'unbundled-cli.mjs') },
  { id: 'tsx', env: { HETMEM_FROM_SOURCE: '1' }, entry: BIN },
] as const;
/** Node's own start-up: a script that does nothing, through the same CPU-time preload. */
const FLOOR = { build: 'node', command: 'node -e 0' } as const;

const rowSchema = z.object({ build: z.enum(['bundle', 'unbundled', 'tsx', 'node']), command: z.string(), wallS: z.number().positive(), cpuS: z.number().positive() });
const resultsSchema = z.object({
  node: z.string(), cpus: z.number().int().positive(), cpuModel: z.string(), loadAvg1mStart: z.number().nonnegative(), loadAvg1m: z.number().nonnegative(),
  runs: z.number().int().positive(), targetS: z.number().positive(), rows: z.array(rowSchema),
});

/** One run: wall seconds, CPU seconds. */
function once(args: readonly string[], env: Record<string, string>, entry: string): [number, number] {
  const r = runCli(args, env, entry);
  return [r.wallS, r.cpuS];
}

interface Variant { build: z.infer<typeof rowSchema>['build']; command: string; args: readonly string[]; env: Record<string, string>; entry: string; walls: number[]; cpus: number[] }
// The floor's "entry" is node's -e, its argument the script.
const variants: Variant[] = [{ ...FLOOR, args: ['0'], env: {}, entry: '-e', walls: [], cpus: [] }];
for (const c of COMMANDS) for (const b of BUILDS) variants.push({ build: b.id, command: c.id, args: c.args, env: b.env, entry: b.entry, walls: [], cpus: [] });
const loadAvg1mStart = loadavg()[0];
for (const v of variants) once(v.args, v.env, v.entry);
for (let i = 0; i < opts.runs; i++) {
  for (const v of variants) {
    const [w, u] = once(v.args, v.env, v.entry);
    v.walls.push(w);
    v.cpus.push(u);
  }
}
const rows = variants.map((v) => ({ build: v.build, command: v.command, wallS: median(v.walls), cpuS: median(v.cpus) }));
const results = resultsSchema.parse({
  node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadAvg1mStart, loadAvg1m: loadavg()[0],
  runs: opts.runs, targetS: STARTUP_TARGET_S, rows,
});
writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
const w = Math.max(...COMMANDS.map((c) => c.id.length));
console.log(`hetmem start-up: node ${results.node}, ${results.cpus} CPUs, load ${results.loadAvg1mStart.toFixed(1)} to ${results.loadAvg1m.toFixed(1)}; median of ${results.runs} runs`);
console.log(`${'build'.padEnd(9)}  ${'command'.padEnd(w)}  wall s  CPU s  target ${STARTUP_TARGET_S} s`);
for (const r of rows) {
  const met = r.build === 'node' ? '' : r.cpuS < STARTUP_TARGET_S ? 'met (CPU)' : 'not met';
  console.log(`${r.build.padEnd(9)}  ${r.command.padEnd(w)}  ${r.wallS.toFixed(3)}   ${r.cpuS.toFixed(3)}  ${met}`);
}
console.log(`wrote ${resolve(opts.out)}`);
