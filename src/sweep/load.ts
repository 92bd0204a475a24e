// Loading a sweep: YAML → schema → the base scenario → the points, each a complete scenario that
// is validated here, so a bad axis value is reported before anything runs, located in the sweep
// file (`FILE:LINE:COL: point N (path=value): what was expected`).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Rng } from '../engine/rng.ts';
import { YamlFileError, YamlSource, type PathIssue, type YamlStyle } from '../units/yaml-located.ts';
import { parseScenario, ScenarioError } from '../scenario/load.ts';
import { SweepSchema, type SweepInput } from './schema.ts';

/** A sweep file that failed to parse, validate or expand: one `FILE:LINE:COL: ...` line per problem. */
export class SweepError extends YamlFileError {
  constructor(issues: readonly string[]) {
    super(issues, 'invalid sweep');
  }
}

const SWEEP_STYLE: YamlStyle = { error: SweepError, fuzzyKeys: true, detailed: true, missingAtNearest: true };

/** A field path split into keys and indices. */
export type FieldPath = readonly (string | number)[];

/** Splits `devices[0].policies.eviction.policy` into ['devices', 0, 'policies', 'eviction', 'policy']. */
export function splitPath(path: string): FieldPath {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]/g)) out.push(m[1] !== undefined ? m[1] : Number(m[2]));
  return out;
}

/**
 * What one point runs: the scenario text (the base with the point's values set), where the base
 * lives (profile and plug-in paths resolve from there), and the scale. Everything a worker on
 * another machine needs besides the files those paths name.
 */
export interface PointPayload {
  /** Content hash of what the point runs: the same point has the same key wherever it runs. */
  readonly key: string;
  /** Position in the sweep (0-based). */
  readonly index: number;
  /** Field path → value, in axis order (`seed` last when the sweep has `seeds`). */
  readonly params: Readonly<Record<string, unknown>>;
  /** The point's scenario as YAML. */
  readonly text: string;
  /** Path of the base scenario (messages, relative paths). */
  readonly file: string;
  readonly scale: number;
}

/** A loaded sweep. */
export interface Sweep {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  /** Axis paths, in order. */
  readonly axes: readonly string[];
  readonly points: readonly PointPayload[];
}

/** Sets `value` at `path` in `obj` (mutates); creates missing mappings; a list index must exist. */
function setIn(obj: unknown, path: FieldPath, value: unknown): string | undefined {
  let cur = obj as Record<string | number, unknown>;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    const next = path[i + 1];
    if (typeof k === 'number') {
      if (!Array.isArray(cur) || k >= cur.length) return `the base scenario has no ${describe(path.slice(0, i + 1))} (${Array.isArray(cur) ? `the list has ${cur.length}` : 'not a list'})`;
    } else if (cur[k] === undefined || cur[k] === null) {
      if (typeof next === 'number') return `the base scenario has no list ${describe(path.slice(0, i + 1))}`;
      cur[k] = {};
    }
    cur = cur[k] as Record<string | number, unknown>;
    if (cur === null || typeof cur !== 'object') return `the base scenario's ${describe(path.slice(0, i + 1))} is not a mapping or list`;
  }
  const last = path[path.length - 1];
  if (typeof last === 'number' && (!Array.isArray(cur) || last >= cur.length)) return `the base scenario has no ${describe(path)}`;
  cur[last] = value;
  return undefined;
}

function describe(path: FieldPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** JSON with sorted keys: the same value always gives the same text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A point before expansion: values and where each came from in the sweep file. */
interface RawPoint {
  readonly values: [string, unknown, (string | number)[]][];
}

function expand(input: SweepInput): RawPoint[] {
  let raw: RawPoint[];
  if (input.grid !== undefined) {
    raw = [{ values: [] }];
    for (const [path, values] of Object.entries(input.grid)) {
      raw = raw.flatMap((p) => values.map((v, j) => ({ values: [...p.values, [path, v, ['grid', path, j]] as [string, unknown, (string | number)[]]] })));
    }
  } else if (input.points !== undefined) {
    raw = input.points.map((p, i) => ({ values: Object.entries(p).map(([path, v]) => [path, v, ['points', i, path]] as [string, unknown, (string | number)[]]) }));
  } else {
    const r = input.random!;
    const rng = new Rng(r.seed);
    raw = [];
    for (let n = 0; n < r.samples; n++) {
      raw.push({
        values: Object.entries(r.axes).map(([path, a]) => {
          let v: unknown;
          if (Array.isArray(a)) v = a[Math.floor(rng.nextFloat() * a.length)];
          else if (a.int) v = Math.ceil(a.min) + Math.floor(rng.nextFloat() * (Math.floor(a.max) - Math.ceil(a.min) + 1));
          else v = a.min + rng.nextFloat() * (a.max - a.min);
          return [path, v, ['random', 'axes', path]] as [string, unknown, (string | number)[]];
        }),
      });
    }
  }
  if (input.seeds !== undefined) {
    const seeds = input.seeds;
    raw = raw.flatMap((p) => seeds.map((s, j) => ({ values: [...p.values.filter(([k]) => k !== 'seed'), ['seed', s, ['seeds', j]] as [string, unknown, (string | number)[]]] })));
  }
  return raw;
}

/**
 * Reads a sweep file, its base scenario, and validates every point as a scenario.
 * @throws SweepError (`FILE:LINE:COL: ...`, or `FILE: ...` when a file cannot be read)
 */
export function loadSweep(path: string): Sweep {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SweepError([`${path}: cannot read the sweep: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`]);
  }
  return parseSweep(text, path);
}

/** Parses and expands sweep YAML (see loadSweep). */
export function parseSweep(text: string, file: string): Sweep {
  const src: YamlSource = YamlSource.parse(text, file, SWEEP_STYLE);
  const raw = src.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    src.fail([src.locate({ path: [], message: 'expected a mapping of sweep fields at the top level (name, scenario, grid | points | random, seeds)' })]);
  }
  const r = SweepSchema.safeParse(raw);
  if (!r.success) {
    const located = src.zodIssues(SweepSchema, raw, r.error.issues);
    src.fail(located.length > 0 ? located : [{ line: 1, col: 1, message: r.error.issues[0]?.message ?? 'invalid sweep' }]);
  }
  const input = r.data;
  const baseFile = resolve(dirname(file), input.scenario);
  let baseText: string;
  try {
    baseText = readFileSync(baseFile, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return src.fail([src.locate({ path: ['scenario'], message: `cannot read the base scenario ${baseFile}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}` })]);
  }
  // The base must be a valid scenario on its own: its own errors point into its own file.
  parseScenario(baseText, baseFile);
  const base = YamlSource.parse(baseText, baseFile, { error: ScenarioError, anchors: true }).toJS();

  const scale = input.scale ?? 1;
  const issues: PathIssue[] = [];
  const points: PointPayload[] = [];
  const axes: string[] = [];
  expand(input).forEach((p, index) => {
    const obj = structuredClone(base);
    const params: Record<string, unknown> = {};
    const label = () => `point ${index} (${p.values.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')})`;
    for (const [path, v, at] of p.values) {
      if (!axes.includes(path)) axes.push(path);
      params[path] = v;
      const bad = setIn(obj, splitPath(path), v);
      if (bad !== undefined) issues.push({ path: at, message: `${label()}: ${bad}`, at: typeof at[at.length - 1] === 'string' ? 'key' : 'value' });
    }
    if (issues.length > 0) return;
    const pointText = stringify(obj);
    try {
      parseScenario(pointText, baseFile);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      const msg = e.message.replace(/^[^:]*:\d+:\d+: /, '');
      // The axis whose path the problem lies under is where to look; else the base scenario.
      const culprit = p.values.find(([k]) => msg.startsWith(`${k}:`) || msg.startsWith(`${k}.`) || msg.startsWith(`${k}[`));
      issues.push(culprit ? { path: culprit[2], message: `${label()}: ${msg}` } : { path: ['scenario'], message: `${label()}: ${msg}` });
      return;
    }
    const key = createHash('sha256').update(canonicalJson({ scenario: obj, scale })).digest('hex').slice(0, 16);
    points.push({ key, index, params, text: pointText, file: baseFile, scale });
  });
  if (issues.length > 0) src.fail(issues.map((i) => src.locate(i)));
  return { file, name: input.name, ...(input.description !== undefined ? { description: input.description } : {}), axes, points };
}
