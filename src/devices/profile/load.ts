// Loading device profiles from YAML, with errors that point at the offending line:
// "FILE:LINE:COL: what was expected". Zod issue paths are mapped back to YAML node ranges.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { transferTimePs } from '../../units/transfer.ts';
import type { TimePs } from '../../units/time.ts';
import { PS_PER_S } from '../../units/time.ts';
import { pcieBandwidth } from '../../topology/pcie.ts';
import { checkSources, formatProfilePath, ProfileSchema, type Profile, type ProfileIssue, type ProfilePath } from './schema.ts';

/** The profiles shipped with hetmem (the repository's profiles/ folder). */
export const PROFILES_DIR: string = fileURLToPath(new URL('../../../profiles/', import.meta.url));

/**
 * A profile that failed to parse or validate. `message` is the first problem, as one line
 * `FILE:LINE:COL: ...`; `issues` holds every problem found, in file order, in the same form.
 */
export class ProfileError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(issues[0] ?? 'invalid profile');
    this.name = 'ProfileError';
    this.issues = issues;
  }
}

interface Located {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

type Doc = Document.Parsed;

function keyOf(n: unknown): unknown {
  return isScalar(n) ? n.value : n;
}

/** Where a path lands in the document: the node if it exists, else the deepest key on the way. */
interface Found {
  readonly exists: boolean;
  /** Value node at the path (exists) or null. */
  readonly node: Node | null;
  /** Key node of the last mapping step taken (the path's own key when it exists). */
  readonly key: Node | null;
}

function find(doc: Doc, path: ProfilePath): Found {
  let cur: unknown = doc.contents;
  let key: Node | null = null;
  for (const seg of path) {
    if (isAlias(cur)) cur = cur.resolve(doc);
    if (isMap(cur)) {
      const pair = cur.items.find((p) => keyOf(p.key) === seg);
      if (pair === undefined) return { exists: false, node: null, key };
      key = (pair.key as Node | null) ?? key;
      cur = pair.value;
    } else if (isSeq(cur) && typeof seg === 'number' && seg < cur.items.length) {
      cur = cur.items[seg];
    } else {
      return { exists: false, node: null, key };
    }
  }
  return { exists: true, node: (cur as Node | null) ?? null, key };
}

function startOf(n: Node | null | undefined): number | undefined {
  return n?.range?.[0];
}

/** Allowed keys of the strict object reached by `path` in `ProfileSchema`, if any. */
function allowedKeys(path: ProfilePath): string[] {
  let s: z.core.$ZodType | undefined = ProfileSchema;
  const unwrap = () => {
    for (;;) {
      const def: z.core.$ZodTypeDef & { innerType?: z.core.$ZodType; in?: z.core.$ZodType } = s!._zod.def;
      if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else return;
    }
  };
  for (const seg of path) {
    unwrap();
    const def = s!._zod.def as z.core.$ZodTypeDef & { shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    if (def.type === 'object' && typeof seg === 'string' && def.shape) s = def.shape[seg];
    else if (def.type === 'array' && typeof seg === 'number') s = def.element;
    else return [];
    if (s === undefined) return [];
  }
  unwrap();
  const def = s._zod.def as z.core.$ZodTypeDef & { shape?: Record<string, unknown> };
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** How a YAML node reads in a message: `"text"`, `42`, `a mapping`, `a list`, `nothing`. */
export function describeNode(n: Node | null): string {
  if (n === null) return 'nothing';
  if (isMap(n)) return 'a mapping';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) {
    const v = n.value;
    if (v === null) return 'nothing';
    if (typeof v === 'string') return JSON.stringify(v);
    return String(v);
  }
  return 'an alias';
}

/** How a zod type name reads in an "expected ..." message. */
export const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

function prefix(path: ProfilePath): string {
  const p = formatProfilePath(path);
  return p === '' ? '' : `${p}: `;
}

function limit(i: { minimum?: unknown; maximum?: unknown; inclusive?: boolean; origin?: string }, small: boolean): string {
  const bound = String(small ? i.minimum : i.maximum);
  if (i.origin === 'array') return small ? `at least ${bound} item${bound === '1' ? '' : 's'}` : `at most ${bound} items`;
  if (i.origin === 'string') return small ? `at least ${bound} character${bound === '1' ? '' : 's'}` : `at most ${bound} characters`;
  if (small) return i.inclusive ? `a number ≥ ${bound}` : `a number greater than ${bound}`;
  return i.inclusive ? `a number ≤ ${bound}` : `a number less than ${bound}`;
}

/** The allowed key that `key` most likely misspells (same letters ignoring case, - and _). */
function nearKey(key: string, allowed: readonly string[]): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
  return allowed.find((a) => norm(a) === norm(key));
}

function suggest(key: string, allowed: readonly string[]): string {
  const near = nearKey(key, allowed);
  if (near !== undefined) return ` (did you mean "${near}"?)`;
  return allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : '';
}

function locateIssue(doc: Doc, lc: LineCounter, issue: z.core.$ZodIssue | ProfileIssue): Located[] {
  const at = (offset: number | undefined, message: string): Located => {
    const { line, col } = offset === undefined ? { line: 1, col: 1 } : lc.linePos(offset);
    return { line, col, message };
  };
  const path = issue.path as ProfilePath;
  const found = find(doc, path);
  const root = startOf(doc.contents as Node | null);

  if ('code' in issue && issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(path);
    return issue.keys.map((k) => {
      const f = find(doc, [...path, k]);
      return at(startOf(f.key) ?? startOf(found.node) ?? root, `${prefix(path)}unknown key "${k}"${suggest(k, allowed)}`);
    });
  }
  if (!found.exists) {
    // A required field that is not in the file: point at its parent's key.
    const parent = path.slice(0, -1);
    const last = path[path.length - 1];
    const pf = find(doc, parent);
    const where = pf.exists ? (startOf(pf.key) ?? startOf(pf.node) ?? root) : (startOf(found.key) ?? root);
    // Zod reports an absent field as a wrong type, an enum miss, or a unit-parse failure.
    const absent = 'code' in issue && (issue.code !== 'custom' || issue.params?.quantity === true);
    if (absent && typeof last === 'string') {
      // A misspelt key is reported once, as an unknown key with a "did you mean".
      if (pf.exists && isMap(pf.node) && pf.node.items.some((p) => typeof keyOf(p.key) === 'string' && nearKey(keyOf(p.key) as string, [last]) !== undefined)) return [];
      return [at(where, `${prefix(parent)}missing required field "${last}"`)];
    }
    return [at(where, `${prefix(parent)}${issue.message}`)];
  }
  const offset = (('at' in issue && issue.at === 'key') ? startOf(found.key) : undefined) ?? startOf(found.node) ?? startOf(found.key) ?? root;
  if (!('code' in issue)) return [at(offset, issue.message)];
  const got = describeNode(found.node);
  switch (issue.code) {
    case 'invalid_type':
      return [at(offset, `${prefix(path)}expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${got}`)];
    case 'invalid_value':
      return [at(offset, `${prefix(path)}expected one of ${issue.values.map((v) => String(v)).join(', ')}; got ${got}`)];
    case 'too_small':
      return [at(offset, `${prefix(path)}expected ${limit(issue, true)}, got ${got}`)];
    case 'too_big':
      return [at(offset, `${prefix(path)}expected ${limit(issue, false)}, got ${got}`)];
    case 'invalid_format':
    case 'custom':
    default:
      return [at(offset, `${prefix(path)}${issue.message}`)];
  }
}

function syntaxError(doc: Doc, lc: LineCounter): Located[] {
  return doc.errors.map((e) => {
    const { line, col } = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    const first = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    return { line, col, message: `invalid YAML: ${first}` };
  });
}

function fail(fileName: string, located: Located[]): never {
  const sorted = [...located].sort((a, b) => a.line - b.line || a.col - b.col);
  throw new ProfileError(sorted.map((l) => `${fileName}:${l.line}:${l.col}: ${l.message}`));
}

/**
 * Parses and validates a profile from YAML text.
 * @param fileName used only in error messages
 * @throws ProfileError with one `FILE:LINE:COL: ...` line per problem (message = the first)
 */
export function parseProfile(text: string, fileName: string): Profile {
  return parseChecked(text, fileName, undefined);
}

function parseChecked(text: string, fileName: string, expectName: string | undefined): Profile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true });
  if (doc.errors.length > 0) fail(fileName, syntaxError(doc, lc));
  const unresolved: Located[] = [];
  visit(doc, {
    Alias(_, a) {
      if (a.resolve(doc) === undefined) unresolved.push({ ...lc.linePos(a.range?.[0] ?? 0), message: `invalid YAML: alias *${a.source} has no anchor &${a.source} before it` });
    },
  });
  if (unresolved.length > 0) fail(fileName, unresolved);
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(fileName, [{ ...lc.linePos(startOf(doc.contents as Node | null) ?? 0), message: `expected a mapping of profile fields at the top level, got ${describeNode(doc.contents as Node | null)}` }]);
  }
  const r = ProfileSchema.safeParse(raw);
  if (!r.success) fail(fileName, r.error.issues.flatMap((i) => locateIssue(doc, lc, i)));
  const sourceIssues = checkSources(raw);
  if (expectName !== undefined && r.data.name !== expectName) {
    sourceIssues.push({ path: ['name'], message: `name "${r.data.name}" must match the file name "${expectName}"` });
  }
  if (sourceIssues.length > 0) fail(fileName, sourceIssues.flatMap((i) => locateIssue(doc, lc, i)));
  return r.data;
}

/** Reads and validates one profile file. @throws ProfileError (see parseProfile) */
export function loadProfile(path: string): Profile {
  return parseProfile(readFileSync(path, 'utf8'), path);
}

/**
 * Loads every `*.yaml` profile in `dir` (default: the shipped profiles), sorted by name.
 * @throws ProfileError if a file is invalid or its `name` differs from its file name (which also
 *   keeps names unique)
 */
export function listProfiles(dir: string = PROFILES_DIR): Profile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const out: Profile[] = [];
  for (const f of files) {
    const path = join(dir, f);
    out.push(parseChecked(readFileSync(path, 'utf8'), path, basename(f, '.yaml')));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Direction of a host-link transfer. */
export type Direction = 'h2d' | 'd2h';

/**
 * Peak bandwidth of the host link in one direction, bytes/s: the declared per-direction figure,
 * else the usable PCIe payload bandwidth of the declared generation and width.
 */
export function linkBandwidth(profile: Profile, direction: Direction = 'h2d'): number {
  const l = profile.link;
  const declared = direction === 'h2d' ? l.hostToDevice : l.deviceToHost;
  if (declared !== undefined) return declared;
  if (l.pcie !== undefined) return pcieBandwidth(l.pcie.gen, l.pcie.width);
  // Unreachable for validated profiles (the schema requires one or the other).
  throw new RangeError(`profile ${profile.name}: link has no bandwidth`);
}

/**
 * Effective bandwidth, bytes/s, of one host↔device transfer of `size` bytes.
 *
 * With a transfer curve: linear in log(size) between neighbouring points, so each published
 * point is reproduced exactly; clamped to the first/last point outside the curve. The curve
 * is direction-independent.
 *
 * Without one: size / (setup + size / peak), where peak is the link bandwidth in `direction`
 * (capped by one copy engine's bandwidth if declared) and setup is the copy engines' per-transfer
 * setup latency (or the link latency for devices without copy engines).
 * @throws RangeError unless `size` is a positive finite number
 */
export function effectiveBandwidth(profile: Profile, size: number, direction: Direction = 'h2d'): number {
  if (!(size > 0) || !Number.isFinite(size)) throw new RangeError(`effectiveBandwidth: size must be positive and finite, got ${size}`);
  const curve = profile.transferCurve;
  if (curve !== undefined && curve.length > 0) {
    if (size <= curve[0].size) return curve[0].bandwidth;
    const last = curve[curve.length - 1];
    if (size >= last.size) return last.bandwidth;
    let i = 1;
    while (curve[i].size < size) i++;
    const a = curve[i - 1];
    const b = curve[i];
    const t = (Math.log(size) - Math.log(a.size)) / (Math.log(b.size) - Math.log(a.size));
    return a.bandwidth + t * (b.bandwidth - a.bandwidth);
  }
  let peak = linkBandwidth(profile, direction);
  const ce = profile.copyEngines;
  if (ce?.bandwidth !== undefined) peak = Math.min(peak, ce.bandwidth);
  const setupPs = ce !== undefined ? ce.setupLatency : profile.link.latency;
  return size / (setupPs / PS_PER_S + size / peak);
}

/** Time for one transfer of `size` bytes at effectiveBandwidth, integer ps rounded up. */
export function transferTime(profile: Profile, size: number, direction: Direction = 'h2d'): TimePs {
  if (size === 0) return 0 as TimePs;
  return transferTimePs(size, effectiveBandwidth(profile, size, direction));
}
