// `hetmem faultbench`: the command's implementation; command.ts registers it on the CLI's program
// and loads this module only when the command runs.
//
//   hetmem faultbench [--profiles a,b,c] [--quick] [--seed N] [--jobs N] [--csv DIR] [--out DIR] [--json]
//
// Prints one table per measure with the profiles as columns (or, with --json, the results as
// JSON), writes faultbench-<measure>.csv files with --csv and faultbench.html (+ the JSON) with
// --out. Any bad flag (unknown profile, bad number, unknown option, missing directory) prints one
// line `hetmem faultbench: ...` to stderr and exits 2 through Command.error, so it honours the
// program's exitOverride (a CommanderError with exitCode 2) or exits the process with 2.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { listProfiles, PROFILES_DIR, ProfileError } from '../devices/profile/load.ts';
import type { Profile } from '../devices/profile/schema.ts';
import { runFaultbench } from './run.ts';
import { faultbenchJobs, mergeFaultbench, type FaultbenchPool } from './jobs.ts';
import { faultbenchText } from './table.ts';
import { faultbenchCsvFiles } from './csv.ts';
import { renderFaultbenchHtml } from './html.ts';

/** Where the command writes; tests pass their own sinks. */
export interface FaultbenchIo {
  stdout(text: string): void;
  /** Directory the profiles are read from (default: the shipped profiles/). */
  profilesDir: string;
  /**
   * Runs jobs on a pool of processes (the CLI passes sweep's local pool; faultbench cannot
   * import it, being a lower layer). Without one, every job runs in this process whatever
   * --jobs says.
   */
  pool: FaultbenchPool;
}

/** Option values as commander hands them over (all optional; checked by parseInvocation). */
export interface RawOptions {
  profiles?: string | true;
  quick?: boolean;
  csv?: string | true;
  out?: string | true;
  seed?: string | true;
  jobs?: string | true;
  json?: boolean;
}

/** Validated options of one invocation. */
export interface FaultbenchInvocation {
  profiles: Profile[];
  quick: boolean;
  seed: number;
  /** Processes to run the (measure, profile) jobs on; 1 runs them in this process. */
  jobs: number;
  csv: string | null;
  out: string | null;
  json: boolean;
}

/** A user error: the message after the `hetmem faultbench: ` prefix. */
export class FaultbenchUsageError extends Error {}

/** Validates raw option values and leftover arguments (unknown options land there). */
export function parseInvocation(raw: RawOptions, leftover: readonly string[], profilesDir: string = PROFILES_DIR): FaultbenchInvocation {
  const bad = (msg: string): never => {
    throw new FaultbenchUsageError(msg);
  };
  if (leftover.length > 0) {
    const a = leftover[0];
    bad(a.startsWith('-') ? `unknown option '${a}' (options: --profiles, --quick, --seed, --jobs, --csv, --out, --json)` : `unexpected argument '${a}'`);
  }
  const dir = (flag: string, v: string | true | undefined): string | null => {
    if (v === undefined) return null;
    if (v === true || v.trim() === '') return bad(`${flag} needs a directory`);
    return v;
  };
  let seed = 1;
  if (raw.seed !== undefined) {
    if (raw.seed === true) bad('--seed needs an integer');
    const s = String(raw.seed).trim();
    // The same rule as `hetmem run --seed`: seeds are non-negative.
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) bad(`--seed expects a non-negative integer, got '${raw.seed}'`);
    seed = Number(s);
  }
  let jobs = availableParallelism();
  if (raw.jobs !== undefined) {
    if (raw.jobs === true) bad('--jobs needs a positive integer');
    const s = String(raw.jobs).trim();
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) < 1) bad(`--jobs expects a positive integer, got '${raw.jobs}'`);
    jobs = Number(s);
  }
  let all: Profile[];
  try {
    all = listProfiles(profilesDir);
  } catch (e) {
    if (e instanceof ProfileError) return bad(`bad profile file: ${e.message.split('\n')[0]}`);
    throw e;
  }
  let profiles = all;
  if (raw.profiles !== undefined) {
    if (raw.profiles === true) bad(`--profiles needs a comma-separated list of names (profiles: ${all.map((p) => p.name).join(', ')})`);
    const names = String(raw.profiles).split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (names.length === 0) bad(`--profiles needs at least one name (profiles: ${all.map((p) => p.name).join(', ')})`);
    const seen = new Set<string>();
    profiles = names.map((n) => {
      if (seen.has(n)) bad(`profile '${n}' is listed twice`);
      seen.add(n);
      const p = all.find((x) => x.name === n);
      return p ?? bad(`unknown profile '${n}' (profiles: ${all.map((x) => x.name).join(', ')})`);
    });
  }
  return { profiles, quick: !!raw.quick, seed, jobs, csv: dir('--csv', raw.csv), out: dir('--out', raw.out), json: !!raw.json };
}

/**
 * Runs one validated invocation: prints, writes files. With `pool` and more than one job, the
 * (measure, profile) jobs run on `inv.jobs` processes and their tables are merged; the output is
 * the same byte for byte as one process gives.
 * @throws FaultbenchUsageError when a directory cannot be written
 */
export async function executeFaultbench(inv: FaultbenchInvocation, stdout: (s: string) => void, pool?: FaultbenchPool): Promise<void> {
  const o = { profiles: inv.profiles, seed: inv.seed, quick: inv.quick };
  const jobs = faultbenchJobs(o);
  const results = pool !== undefined && inv.jobs > 1 && jobs.length > 1 ? mergeFaultbench(o, await pool(jobs, inv.jobs)) : runFaultbench(o);
  stdout(inv.json ? `${JSON.stringify(results, null, 2)}\n` : faultbenchText(results));
  const write = (d: string, files: Map<string, string>) => {
    try {
      mkdirSync(d, { recursive: true });
      for (const [name, text] of files) writeFileSync(join(d, name), text);
    } catch (e) {
      throw new FaultbenchUsageError(`cannot write to '${d}': ${(e as Error).message.split('\n')[0]}`);
    }
  };
  if (inv.csv !== null) write(inv.csv, faultbenchCsvFiles(results));
  if (inv.out !== null) {
    write(inv.out, new Map([
      ['faultbench.html', renderFaultbenchHtml(results)],
      ['faultbench.json', `${JSON.stringify(results, null, 2)}\n`],
    ]));
  }
}
