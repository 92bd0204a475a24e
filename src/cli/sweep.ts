// `hetmem sweep SWEEP.yaml`, `hetmem sweep report DB`, `hetmem worker --redis URL`: the commands
// around src/sweep. Each returns the exit code; expected problems are one line (exit 2).
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { Io } from './run.ts';

function intArg(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1) throw new Error(`expected a positive integer, got '${v}'`);
  return n;
}

/** Registers `sweep`, `sweep report` and `worker`. */
export function registerSweep(program: Command, io: Io, guard: (command: string, body: () => Promise<number>) => Promise<void>): void {
  const sweep = program
    .command('sweep')
    .description('run a parameter sweep (grid, list or random sample over scenario fields) into a DuckDB file; rerun to resume')
    .argument('[sweep]', 'sweep YAML file')
    .option('--db <file>', 'DuckDB file (default: SWEEP.duckdb beside the sweep file)')
    .option('--jobs <n>', 'points run at once on this machine (default: every core)')
    .option('--redis <url>', 'enqueue the points on BullMQ in this Redis (redis://host:port) for hetmem worker processes')
    .option('--queue <name>', 'BullMQ queue name', 'hetmem-sweep')
    .option('--parquet <file>', 'also export the points table to a Parquet file')
    .option('--schema', 'print the JSON Schema of sweep files and exit')
    .option('--no-progress', 'no progress bar or progress lines')
    .action(async (file: string | undefined, opts: { db?: string; jobs?: string; redis?: string; queue: string; parquet?: string; schema?: boolean; progress?: boolean }) => {
      await guard('sweep', async () => {
        // The sweep engine (DuckDB, BullMQ) loads only when a sweep runs: start-up stays small.
        const { sweepJsonSchema } = await import('../sweep/schema.ts');
        const { loadSweep } = await import('../sweep/load.ts');
        const { runSweep } = await import('../sweep/run.ts');
        if (opts.schema) {
          io.out.write(JSON.stringify(sweepJsonSchema(), null, 2) + '\n');
          return 0;
        }
        if (file === undefined) {
          io.err.write('hetmem sweep: expected a sweep file (or --schema)\n');
          return 2;
        }
        let jobs: number | undefined;
        if (opts.jobs !== undefined) {
          try {
            jobs = intArg(opts.jobs);
          } catch (e) {
            io.err.write(`hetmem sweep: --jobs: ${(e as Error).message}\n`);
            return 2;
          }
        }
        const s = loadSweep(file);
        const db = opts.db ?? join(dirname(file), `${basename(file).replace(/\.ya?ml$/, '')}.duckdb`);
        const r = await runSweep(s, {
          db, queue: opts.queue,
          ...(jobs !== undefined ? { jobs } : {}),
          ...(opts.redis !== undefined ? { redis: opts.redis } : {}),
          ...(opts.parquet !== undefined ? { parquet: opts.parquet } : {}),
          ...(io.env.HETMEM_PROGRESS_MS ? { progressMs: Number(io.env.HETMEM_PROGRESS_MS) } : {}),
          progress: opts.progress !== false,
        }, io);
        io.out.write(`sweep ${s.name}: ${r.total} points, ${r.ran} run now, ${r.skipped} already in ${db}${opts.parquet !== undefined ? `; wrote ${opts.parquet}` : ''}\n`);
        return 0;
      });
    });

  sweep
    .command('report')
    .description('write sweep.html from a sweep database: heatmap over two axes, per-axis lines with seed error bars, a Pareto view, point reports')
    .argument('<db>', 'DuckDB file written by hetmem sweep')
    .option('--out <dir>', 'output directory (default: beside the database)')
    .option('--metric <name>', 'metric of the heatmap and the lines', 'sim_time_ps')
    .option('--pareto <a,b>', 'two metrics for the Pareto view (both minimised)', 'sim_time_ps,bytes_in')
    .action(async (db: string, opts: { out?: string; metric: string; pareto: string }) => {
      await guard('sweep', async () => {
        const { writeSweepReport } = await import('../sweep/report.ts');
        const out = opts.out ?? dirname(db);
        const path = await writeSweepReport(db, out, { metric: opts.metric, pareto: opts.pareto.split(',') as [string, string] });
        io.out.write(`wrote ${path}\n`);
        return 0;
      });
    });

  program
    .command('worker')
    .description('run sweep points from a BullMQ queue in Redis until interrupted (Ctrl-C)')
    .requiredOption('--redis <url>', 'Redis URL (redis://host:port); keep Redis on the cluster network only')
    .option('--queue <name>', 'BullMQ queue name', 'hetmem-sweep')
    .option('--jobs <n>', 'points run at once (default: every core)')
    .option('--lock-ms <ms>', 'job lock; a worker silent this long is taken for dead and its point rerun elsewhere', '30000')
    .action(async (opts: { redis: string; queue: string; jobs?: string; lockMs: string }) => {
      await guard('worker', async () => {
        const stop = new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        const { runWorker } = await import('../sweep/queue.ts');
        io.err.write(`worker: pulling points from ${opts.queue}\n`);
        await runWorker(opts.redis, {
          queue: opts.queue, lockMs: Number(opts.lockMs),
          ...(opts.jobs !== undefined ? { jobs: intArg(opts.jobs) } : {}),
          log: (l) => void io.err.write(`worker: ${l}\n`),
        }, stop);
        return 0;
      });
    });
}
