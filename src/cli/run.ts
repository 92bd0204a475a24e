// `hetmem run`, `hetmem report`, `hetmem compare`, `hetmem schema`: the
// commands around scenarios and their results. Each returns the process exit code; output goes
// to the streams passed in (stdout for results, stderr for progress and problems).
// First, so that zod is configured before any module below parses with it.
import './zod-jitless.ts';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { RunResults } from '../sim/results.ts';
import { formatBytes } from '../units/bytes.ts';
import { formatTime } from '../units/time.ts';
import { DEFAULT_SCENARIO, loadScenario, type Scenario } from '../scenario/load.ts';
import { checkEstimate, runScenario, ScenarioRunError } from '../scenario/run.ts';
import { EVENTS_PER_SECOND } from '../scenario/estimate.ts';
import { loadPolicyPlugins } from '../scenario/plugins.ts';
import { SweepRunError } from '../sweep/errors.ts';
import { formatCount } from '../report/format.ts';
import { BatchCsvStream } from '../report/csv.ts';
import { ViewRecorder, viewFiles, VIEW_FILES } from '../report/viewlog.ts';
import { YamlFileError } from '../units/yaml-located.ts';

// The report writers (summary, stats, CSV, trace, HTML, the results schema), the sweep loader
// and the scenario JSON Schema are imported where they are used, after the simulation or by
// their own commands: `hetmem run`'s fixed cost before it starts simulating is part of the
// CLI start-up target (bench/README.md, CLI start-up).

/** Where a command writes. */
export interface Io {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

/** The files `hetmem run --out DIR` writes, in order. */
export const OUTPUT_FILES = ['results.json', 'stats.txt', 'batches.csv', 'trace.json', 'report.html'] as const;

/** A problem worth one line and exit code 2 (bad input), not a stack trace. */
export class UsageError extends Error {}

/** One line for an error we expect (bad scenario, bad results file, unwritable directory), or undefined. */
export function expectedErrorLine(e: unknown): string | undefined {
  // YamlFileError: a scenario, sweep or profile file (ScenarioError, SweepError, ProfileError).
  if (e instanceof YamlFileError || e instanceof SweepRunError || e instanceof ScenarioRunError || e instanceof UsageError) return e.message.split('\n')[0];
  return undefined;
}

/**
 * Creates `dir` and its missing parents one at a time. Node's recursive mkdirSync loops forever
 * where a parent cannot hold directories but says ENOENT for them (`/proc/x`); one mkdir per
 * level fails once, with that level's error.
 * @throws UsageError naming the directory and why
 */
export function makeOutputDir(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(d).isDirectory();
    } catch {
      isDir = undefined;
    }
    if (isDir === false) throw new UsageError(`${dir}: cannot create the output directory: ${d} is not a directory`);
    if (isDir === true) break;
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`${dir}: cannot create the output directory: ${code === 'ENOENT' ? `${dirname(d)} does not take new directories` : (e as Error).message}`);
    }
  }
}

/**
 * Writes the output files of a run into `dir` (created if needed). Returns their paths.
 * `streamedBatches`: batches.csv was written during the run (BatchCsvStream, closed); it is kept
 * when results.json could not hold every batch record, else rewritten from the results (sorted).
 */
export async function writeOutputs(dir: string, results: RunResults, streamedBatches?: BatchCsvStream): Promise<string[]> {
  makeOutputDir(dir);
  const keepStream = streamedBatches !== undefined && results.batchSummary.kept < results.batchSummary.count;
  const [{ resultsJson }, { statsTxt }, { batchesCsv }, { chromeTrace }, { renderReportHtml }] = await Promise.all([
    import('../report/results-schema.ts'), import('../report/stats.ts'), import('../report/csv.ts'), import('../report/perfetto.ts'), import('../report/html.ts'),
  ]);
  const contents: Record<(typeof OUTPUT_FILES)[number], () => string> = {
    'results.json': () => resultsJson(results),
    'stats.txt': () => statsTxt(results),
    'batches.csv': () => batchesCsv(results),
    'trace.json': () => JSON.stringify(chromeTrace(results)) + '\n',
    'report.html': () => renderReportHtml(results),
  };
  return OUTPUT_FILES.map((f) => {
    const path = join(dir, f);
    if (f === 'batches.csv' && keepStream) return path;
    try {
      writeFileSync(path, contents[f]());
    } catch (e) {
      throw new UsageError(`${path}: cannot write: ${(e as Error).message}`);
    }
    return path;
  });
}

/** Writes the viewer's files (VIEW_FILES) of a finished run into `dir`. Returns their paths. */
export function writeViewFiles(dir: string, rec: ViewRecorder, endPs: number): string[] {
  rec.finish();
  const files = viewFiles(rec.log(endPs));
  return VIEW_FILES.map((f) => {
    const path = join(dir, f);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, files[f]);
    } catch (e) {
      throw new UsageError(`${path}: cannot write: ${(e as Error).message}`);
    }
    return path;
  });
}

/** Options of `hetmem run`. */
export interface RunCommandOptions {
  readonly json?: boolean;
  readonly out?: string;
  readonly scale?: number;
  readonly seed?: number;
  readonly progress?: boolean;
  /** Run even when the input-size estimate refuses the scenario (see scenario/estimate.ts). */
  readonly force?: boolean;
}

/** A progress bar on stderr (a terminal, not under CI): simulated time and events per second. */
async function progressBar(io: Io, s: Scenario, enabled: boolean) {
  if (!enabled || !io.err.isTTY || io.env.CI) return undefined;
  // Loaded only for a terminal: most runs (pipes, CI, tests) never draw a bar.
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({
    stream: io.err,
    format: `${s.name} {bar} step {value}/{total} | {sim} simulated | {events} events | {rate} events/s`,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
  }, cliProgress.Presets.shades_classic);
  const started = Date.now();
  let last = 0;
  bar.start(s.steps.length, 0, { sim: formatTime(0), events: '0', rate: '0' });
  return {
    update(simPs: number, events: number, done: number, force = false) {
      const now = Date.now();
      if (!force && now - last < 100) return;
      last = now;
      const secs = Math.max(1e-3, (now - started) / 1000);
      bar.update(done, { sim: formatTime(simPs), events: formatCount(events), rate: formatCount(Math.round(events / secs)) });
    },
    stop() {
      bar.stop();
    },
  };
}

/** `hetmem run [SCENARIO]`: runs a scenario (default: examples/default.yaml) and prints the summary. */
export async function runCommand(file: string | undefined, o: RunCommandOptions, io: Io): Promise<number> {
  const path = file ?? DEFAULT_SCENARIO;
  let s = loadScenario(path);
  await loadPolicyPlugins(s);
  if (o.seed !== undefined) s = { ...s, seed: o.seed };
  // Refused here, before the output directory is made; --force is told what it is in for.
  const estimate = checkEstimate(s, o.scale ?? 1, o.force === true);
  if (o.force) {
    io.err.write(`hetmem run: --force: the estimate is at least ${formatBytes(estimate.bytes)} of model state and ${Math.ceil(estimate.events).toExponential(2)} events (${formatTime(estimate.simPs)} simulated; at ${EVENTS_PER_SECOND.toExponential(0)} events/s at best); this run may take long or run out of memory\n`);
  }
  if (o.out !== undefined) makeOutputDir(o.out);
  const bar = await progressBar(io, s, o.progress !== false);
  let results: RunResults;
  // The viewer's event log costs memory and time: only kept when the run writes files.
  let rec: ViewRecorder | undefined;
  // Every batch goes to batches.csv as it finishes: results.json keeps a bounded number.
  let csv: BatchCsvStream | undefined;
  let csvError: Error | undefined;
  const out = o.out;
  let stepsDone = 0;
  try {
    results = runScenario(s, {
      ...(out !== undefined ? {
        onMachine: (m) => {
          rec = new ViewRecorder(m);
          const path = join(out, 'batches.csv');
          let stream: BatchCsvStream;
          try {
            stream = csv = new BatchCsvStream(path);
          } catch (e) {
            throw new UsageError(`${path}: cannot write: ${(e as Error).message}`);
          }
          m.batchRecords((b) => {
            try {
              stream.row(b);
            } catch (e) {
              throw new UsageError(`${path}: cannot write: ${(e as Error).message}`);
            }
          });
        },
      } : {}),
      ...(o.scale !== undefined ? { scale: o.scale } : {}),
      force: true,
      onProgress: (t: number, e: number, done: number) => {
        stepsDone = done;
        bar?.update(t, e, done);
      },
    });
  } finally {
    bar?.stop();
    try {
      csv?.close();
    } catch (e) {
      // Reported below when the run itself succeeded; a failed run's own error goes first.
      csvError = e as Error;
    }
  }
  if (csvError) throw new UsageError(`${csv!.path}: cannot write: ${csvError.message}`);
  // A duration that stops the run before its steps end leaves counters for part of the work.
  const cut = stepsDone < s.steps.length && s.durationPs !== undefined
    ? `cut short by duration ${formatTime(s.durationPs)}: ${stepsDone} of ${s.steps.length} steps finished; the counters below cover only that part\n`
    : undefined;
  if (cut !== undefined) io.err.write(`hetmem run: ${cut}`);
  if (o.out !== undefined) {
    const written = await writeOutputs(o.out, results, csv);
    if (rec) written.push(...writeViewFiles(o.out, rec, results.endPs));
    io.err.write(`wrote ${written.join(', ')}\n`);
  }
  if (o.json) io.out.write((await import('../report/results-schema.ts')).resultsJson(results));
  else io.out.write(withDescription((await import('../report/summary.ts')).summaryTable(results), [s.description, cut?.trimEnd()].filter((x) => x !== undefined).join('\n') || undefined));
  return 0;
}

/** The summary with the scenario's `description` as its second line (after "run NAME ..."). */
function withDescription(summary: string, description: string | undefined): string {
  if (description === undefined) return summary;
  const nl = summary.indexOf('\n') + 1;
  return `${summary.slice(0, nl)}${description}\n${summary.slice(nl)}`;
}

async function readResults(file: string): Promise<RunResults> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read the results: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const { parseResults, ResultsFileError } = await import('../report/results-schema.ts');
  try {
    return parseResults(text, file);
  } catch (e) {
    if (e instanceof ResultsFileError) throw new UsageError(e.message);
    throw e;
  }
}

/** `hetmem report RESULTS.json [--out DIR]`: regenerates report.html (beside the results by default). */
export async function reportCommand(file: string, o: { out?: string }, io: Io): Promise<number> {
  const results = await readResults(file);
  const { renderReportHtml } = await import('../report/html.ts');
  const dir = o.out ?? dirname(file);
  makeOutputDir(dir);
  const path = join(dir, 'report.html');
  try {
    writeFileSync(path, renderReportHtml(results));
  } catch (e) {
    throw new UsageError(`${path}: cannot write: ${(e as Error).message}`);
  }
  io.out.write(`wrote ${path}\n`);
  return 0;
}

/** A short label for a results file: its directory's name for DIR/results.json, else its base name. */
function label(file: string): string {
  const base = basename(file);
  if (base === 'results.json') return basename(dirname(resolve(file)));
  return base.replace(/\.json$/, '');
}

/** `hetmem compare A.json B.json`: both runs side by side. */
export async function compareCommand(a: string, b: string, io: Io): Promise<number> {
  const ra = await readResults(a), rb = await readResults(b);
  const { compareTable } = await import('../report/summary.ts');
  let la = label(a), lb = label(b);
  if (la === lb) {
    la = a;
    lb = b;
  }
  io.out.write(compareTable(ra, rb, la, lb));
  return 0;
}

/** `hetmem schema`: the JSON Schema of scenario files. */
export async function schemaCommand(io: Io): Promise<number> {
  const { scenarioJsonSchema } = await import('../scenario/schema.ts');
  io.out.write(JSON.stringify(scenarioJsonSchema(), null, 2) + '\n');
  return 0;
}
