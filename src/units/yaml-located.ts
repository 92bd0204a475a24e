// Errors that point at the YAML: zod issue paths (and the loaders' own checks) are mapped back to
// the node they concern, giving one line `FILE:LINE:COL: what was expected`. Device profiles and
// scenarios both load this way; it sits in units/ so that devices/ can use it as well as scenario/.
// The two formats grew apart in a few details of wording and placement, which YamlStyle keeps.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';

/** A path into a YAML document: mapping keys and list indices. */
export type Path = readonly (string | number)[];

/** A problem found by a check of ours, located by path. `at: 'key'` points at a mapping key. */
export interface PathIssue {
  readonly path: Path;
  readonly message: string;
  readonly at?: 'key' | 'value';
}

/** A problem with its position (1-based line and column). */
export interface Located {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/**
 * A file that failed to parse, validate or resolve. `message` is the first problem, as one line
 * `FILE:LINE:COL: ...`; `issues` holds every problem found, in file order, in the same form.
 * Subclasses name the format; `name` is the subclass's name.
 */
export class YamlFileError extends Error {
  readonly issues: readonly string[];
  /** @param whenEmpty the message when `issues` is empty */
  constructor(issues: readonly string[], whenEmpty: string) {
    super(issues[0] ?? whenEmpty);
    this.name = new.target.name;
    this.issues = issues;
  }
}

/** "devices[0].policies.eviction"; the empty path is "". */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** The path as a message prefix, "a.b: "; nothing for the root. */
function prefix(path: Path): string {
  const p = formatPath(path);
  return p === '' ? '' : `${p}: `;
}

function keyOf(n: unknown): unknown {
  return isScalar(n) ? n.value : n;
}

function startOf(n: Node | null | undefined): number | undefined {
  return n?.range?.[0];
}

/** How a YAML node reads in a message: `"text"`, `42`, `a mapping`, `a list`, `nothing`. */
export function describeNode(n: Node | null): string {
  if (n === null) return 'nothing';
  if (isMap(n)) return 'a mapping';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) {
    const v = n.value;
    if (v === null) return 'nothing';
    if (typeof v === 'string') return quoteShort(v);
    return String(v);
  }
  return 'an alias';
}

/** Longest quoted text a message repeats from the file before cutting it short. */
const QUOTE_MAX = 60;

/**
 * `text` as JSON, cut to QUOTE_MAX characters with "…" and its length, so that a message stays
 * one short line even when the file given is not YAML at all (`profile: /etc/passwd`).
 */
export function quoteShort(text: string): string {
  if (text.length <= QUOTE_MAX) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, QUOTE_MAX))}… (${text.length} characters)`;
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

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

/**
 * The allowed key that `key` most likely misspells: the same letters ignoring case, - and _, or
 * (when `fuzzy` and `key` has 4+ letters) the closest one a typo or two away.
 */
export function nearKey(key: string, allowed: readonly string[], fuzzy = true): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
  const same = allowed.find((a) => norm(a) === norm(key));
  if (same !== undefined || !fuzzy) return same;
  if (key.length < 4) return undefined;
  let best: string | undefined;
  let bestD = 3;
  for (const a of allowed) {
    const d = editDistance(norm(key), norm(a));
    if (d < bestD) {
      best = a;
      bestD = d;
    }
  }
  return best;
}

/** "a number ≥ 1", "at least 1 item": the bound a too_small (`small`) or too_big issue states. */
function limit(i: { minimum?: unknown; maximum?: unknown; inclusive?: boolean; origin?: string }, small: boolean): string {
  const bound = String(small ? i.minimum : i.maximum);
  if (i.origin === 'array') return small ? `at least ${bound} item${bound === '1' ? '' : 's'}` : `at most ${bound} items`;
  if (i.origin === 'string') return small ? `at least ${bound} character${bound === '1' ? '' : 's'}` : `at most ${bound} characters`;
  if (small) return i.inclusive ? `a number ≥ ${bound}` : `a number greater than ${bound}`;
  return i.inclusive ? `a number ≤ ${bound}` : `a number less than ${bound}`;
}

function showValue(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : String(v);
}

/**
 * How a format words and places its messages. Device profiles leave every flag off; scenarios
 * turn them all on. They are separate flags so that each difference is named, and a format can
 * adopt one (changing its messages on purpose) without taking the rest.
 */
export interface YamlStyle {
  /** The error `fail` throws, built from the sorted `FILE:LINE:COL: ...` lines. */
  readonly error: new (issues: readonly string[]) => Error;
  /**
   * Files share definitions through anchors: merge keys (`<<: *base`) are accepted, up to
   * 10,000 alias expansions are allowed, and a value given as an alias is described and located
   * as the node it refers to.
   */
  readonly anchors?: boolean;
  /** "did you mean" also offers keys a typo or two away (see nearKey), not only other spellings. */
  readonly fuzzyKeys?: boolean;
  /**
   * Messages use the schema beyond zod's issue: "an integer" for an int field given a
   * non-number, the number of items a too short or long list has, the value a pattern rejected.
   */
  readonly detailed?: boolean;
  /**
   * Where a problem at a path the file lacks goes. Off: at its parent's key (for a list item, the
   * list's key), named by the parent's path. On: at the parent itself (a list item, not its
   * list's key), or the nearest node the file has, named by its own path. A missing required
   * field is named by its parent's path either way.
   */
  readonly missingAtNearest?: boolean;
}

/** Where a path lands in the document. */
interface Found {
  readonly exists: boolean;
  /** Value node at the path (exists) or null. */
  readonly node: Node | null;
  /** Key node of the last mapping step taken. */
  readonly key: Node | null;
  /** Whether the last step taken was a list index (the node then has no key of its own). */
  readonly viaIndex: boolean;
}

type AnySchema = z.core.$ZodType;
type Def = z.core.$ZodTypeDef & {
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  options?: AnySchema[];
  discriminator?: string;
  values?: unknown[];
};

/** A parsed YAML file with the helpers that turn paths into positions. */
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    readonly lc: LineCounter,
    readonly style: YamlStyle,
  ) {}

  /**
   * Parses YAML text.
   * @param file used only in messages
   * @throws style.error `FILE:LINE:COL: invalid YAML: ...` on a syntax error or an alias without anchor
   */
  static parse(text: string, file: string, style: YamlStyle): YamlSource {
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true, merge: style.anchors === true });
    const src = new YamlSource(file, doc, lc, style);
    if (doc.errors.length > 0) {
      src.fail(doc.errors.map((e) => {
        const { line, col } = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        const first = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        return { line, col, message: `invalid YAML: ${first}` };
      }));
    }
    const unresolved: Located[] = [];
    visit(doc, {
      Alias(_, a) {
        if (a.resolve(doc) === undefined) unresolved.push({ ...lc.linePos(a.range?.[0] ?? 0), message: `invalid YAML: alias *${a.source} has no anchor &${a.source} before it` });
      },
    });
    if (unresolved.length > 0) src.fail(unresolved);
    return src;
  }

  /**
   * The document as plain data.
   * @throws style.error at the first alias when aliases would expand past the style's limit
   *   (10,000 with `anchors`, else the yaml library's 100): a few lines of anchors referring to
   *   each other can otherwise expand to billions of nodes (the "billion laughs").
   */
  toJS(): unknown {
    const maxAliasCount = this.style.anchors ? 10_000 : 100;
    try {
      return this.doc.toJS({ maxAliasCount });
    } catch (e) {
      if (!(e instanceof ReferenceError) || !/alias count/i.test(e.message)) throw e;
      let first: number | undefined;
      visit(this.doc, {
        Alias(_, a) {
          first ??= a.range?.[0];
          return visit.BREAK;
        },
      });
      this.fail([this.pos(first, `invalid YAML: aliases expand to more than ${maxAliasCount.toLocaleString('en-US')} nodes (anchors that refer to each other); write the values out or use fewer aliases`)]);
    }
  }

  /** Throws the style's error with the located problems, sorted by position. */
  fail(located: readonly Located[]): never {
    const sorted = [...located].sort((a, b) => a.line - b.line || a.col - b.col);
    throw new this.style.error(sorted.map((l) => `${this.file}:${l.line}:${l.col}: ${l.message}`));
  }

  private pos(offset: number | undefined, message: string): Located {
    const { line, col } = offset === undefined ? { line: 1, col: 1 } : this.lc.linePos(offset);
    return { line, col, message };
  }

  private get root(): number | undefined {
    return startOf(this.doc.contents as Node | null);
  }

  private near(key: string, allowed: readonly string[]): string | undefined {
    return nearKey(key, allowed, this.style.fuzzyKeys === true);
  }

  private suggest(key: string, allowed: readonly string[]): string {
    const near = this.near(key, allowed);
    if (near !== undefined) return ` (did you mean "${near}"?)`;
    return allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : '';
  }

  /** Where `path` lands; aliases on the way are followed (the last one only with `anchors`). */
  find(path: Path): Found {
    let cur: unknown = this.doc.contents;
    let key: Node | null = null;
    let viaIndex = false;
    for (const seg of path) {
      if (isAlias(cur)) cur = cur.resolve(this.doc);
      if (isMap(cur)) {
        const pair = cur.items.find((p) => keyOf(p.key) === seg);
        if (pair === undefined) return { exists: false, node: null, key, viaIndex };
        key = (pair.key as Node | null) ?? key;
        cur = pair.value;
        viaIndex = false;
      } else if (isSeq(cur) && typeof seg === 'number' && seg < cur.items.length) {
        cur = cur.items[seg];
        viaIndex = true;
      } else {
        return { exists: false, node: null, key, viaIndex };
      }
    }
    if (this.style.anchors && isAlias(cur)) cur = cur.resolve(this.doc) ?? cur;
    return { exists: true, node: (cur as Node | null) ?? null, key, viaIndex };
  }

  /** Position of the thing at `path`: its key (at 'key'), else its value, else the nearest ancestor. */
  offsetOf(path: Path, at: 'key' | 'value' = 'value'): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const f = this.find(path.slice(0, n));
      if (!f.exists) continue;
      if (n === path.length && at === 'key' && !f.viaIndex) return startOf(f.key) ?? startOf(f.node) ?? this.root;
      return startOf(f.node) ?? startOf(f.key) ?? this.root;
    }
    return this.root;
  }

  /** A located message for one of our own checks, prefixed with its path ("a.b: "). */
  locate(issue: PathIssue): Located {
    return this.pos(this.offsetOf(issue.path, issue.at), `${prefix(issue.path)}${issue.message}`);
  }

  /**
   * Located messages for zod issues of `schema` on `raw` (the document's data). A PathIssue here
   * is a check of ours whose message names its own subject: it is placed like a zod issue and
   * kept as written (unlike `locate`), except that a path the file lacks gets its parent's prefix
   * unless `missingAtNearest`. A misspelt key yields only its "unknown key", not also "missing".
   */
  zodIssues(schema: AnySchema, raw: unknown, issues: readonly (z.core.$ZodIssue | PathIssue)[]): Located[] {
    return issues.flatMap((i) => this.zodIssue(schema, raw, i, []));
  }

  private zodIssue(schema: AnySchema, raw: unknown, issue: z.core.$ZodIssue | PathIssue, base: Path): Located[] {
    const path: Path = [...base, ...(issue.path as Path)];
    const found = this.find(path);
    const zod = 'code' in issue ? issue : undefined;

    if (zod?.code === 'invalid_union' && zod.errors.length > 0) {
      // A union none of whose options accepted the value: report the option whose shape the
      // value has (a mapping for an object option, a list for an array option).
      const fits = zod.errors.filter((errs) => !errs.some((e) => (e.code === 'invalid_type' || e.code === 'invalid_value') && e.path.length === 0));
      if (fits.length > 0) {
        const best = fits.reduce((a, b) => (b.length < a.length ? b : a));
        return best.flatMap((e) => this.zodIssue(schema, raw, e, path));
      }
      if (found.exists) {
        const wants = zod.errors.flatMap((errs) => errs.filter((e) => e.path.length === 0).map((e) => {
          if (e.code === 'invalid_type') return EXPECTED[e.expected] ?? e.expected;
          if (e.code === 'invalid_value') return e.values.map(showValue).join(' or ');
          return e.message;
        }));
        return [this.pos(startOf(found.node) ?? startOf(found.key) ?? this.root, `${prefix(path)}expected ${[...new Set(wants)].join(' or ')}, got ${describeNode(found.node)}`)];
      }
    }
    if (zod?.code === 'invalid_union' && 'note' in zod && zod.note === 'No matching discriminator') {
      const u = zod as unknown as { discriminator: string; options: unknown[] };
      if (found.exists) {
        return [this.pos(startOf(found.node) ?? this.root, `${prefix(path)}expected one of ${u.options.map(String).join(', ')}; got ${describeNode(found.node)}`)];
      }
    }

    if (zod?.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, raw, path);
      return zod.keys.map((k) => {
        const f = this.find([...path, k]);
        return this.pos(startOf(f.key) ?? startOf(found.node) ?? this.root, `${prefix(path)}unknown key "${k}"${this.suggest(k, allowed)}`);
      });
    }

    if (!found.exists) {
      // A required field that is not in the file: point at the mapping that lacks it.
      const parent = path.slice(0, -1);
      const last = path[path.length - 1];
      const pf = this.find(parent);
      const nearest = this.style.missingAtNearest === true;
      const where = !pf.exists
        ? (nearest ? this.offsetOf(parent) : (startOf(found.key) ?? this.root))
        : ((nearest && pf.viaIndex ? startOf(pf.node) : startOf(pf.key)) ?? startOf(pf.node) ?? this.root);
      // Zod reports an absent field as a wrong type, an enum miss, or a unit-parse failure.
      // A schema's own cross-field rule may declare a field required too (params.missing).
      const absent = zod !== undefined && (zod.code !== 'custom' || zod.params?.quantity === true || zod.params?.missing === true);
      if (absent && typeof last === 'string') {
        // A misspelt key is reported once, as an unknown key with a "did you mean".
        if (pf.exists && isMap(pf.node) && pf.node.items.some((p) => {
          const k = keyOf(p.key);
          return typeof k === 'string' && k !== last && this.near(k, [last]) !== undefined;
        })) return [];
        return [this.pos(where, `${prefix(parent)}missing required field "${last}"`)];
      }
      return [this.pos(where, `${prefix(nearest ? path : parent)}${issue.message}`)];
    }

    const offset = ('at' in issue && issue.at === 'key' ? startOf(found.key) : undefined) ?? startOf(found.node) ?? startOf(found.key) ?? this.root;
    if (zod === undefined) return [this.pos(offset, issue.message)];
    const detailed = this.style.detailed === true;
    const got = describeNode(found.node);
    const gotItems = detailed && 'origin' in zod && zod.origin === 'array' ? `${isSeq(found.node) ? found.node.items.length : 0} items` : got;
    switch (zod.code) {
      case 'invalid_type': {
        const want = detailed && zod.expected === 'number' && isIntSchema(schemaAt(schema, raw, path)) ? 'int' : zod.expected;
        return [this.pos(offset, `${prefix(path)}expected ${EXPECTED[want] ?? want}, got ${got}`)];
      }
      case 'invalid_value':
        return [this.pos(offset, `${prefix(path)}expected one of ${zod.values.map((v) => String(v)).join(', ')}; got ${got}`)];
      case 'too_small':
        return [this.pos(offset, `${prefix(path)}expected ${limit(zod, true)}, got ${gotItems}`)];
      case 'too_big':
        return [this.pos(offset, `${prefix(path)}expected ${limit(zod, false)}, got ${gotItems}`)];
      case 'invalid_format':
        if (detailed && zod.format === 'regex' && typeof zod.message === 'string' && !zod.message.startsWith('Invalid')) return [this.pos(offset, `${prefix(path)}${zod.message}, got ${got}`)];
        return [this.pos(offset, `${prefix(path)}${zod.message}`)];
      default:
        return [this.pos(offset, `${prefix(path)}${zod.message}`)];
    }
  }
}

function unwrap(s: AnySchema): AnySchema {
  for (;;) {
    const def = s._zod.def as Def;
    if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type) && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

/** The option of a union that `raw` is meant to be (by discriminator, else by shape). */
function pickOption(def: Def, raw: unknown): AnySchema | undefined {
  const options = def.options ?? [];
  const isObj = raw !== null && typeof raw === 'object' && !Array.isArray(raw);
  if (def.discriminator !== undefined && isObj) {
    const want = (raw as Record<string, unknown>)[def.discriminator];
    for (const o of options) {
      const d = unwrap(o)._zod.def as Def;
      const lit = d.shape?.[def.discriminator];
      if (lit && ((lit._zod.def as Def).values ?? []).includes(want)) return o;
    }
    return undefined;
  }
  const kind = Array.isArray(raw) ? 'array' : isObj ? 'object' : '';
  return options.find((o) => (unwrap(o)._zod.def as Def).type === kind);
}

/** True for z.int() and friends. */
function isIntSchema(s: AnySchema | undefined): boolean {
  if (s === undefined) return false;
  const def = unwrap(s)._zod.def as Def & { format?: string; checks?: readonly unknown[] };
  if (def.type !== 'number') return false;
  const formats = [def.format, ...(def.checks ?? []).map((c) => (c as { _zod: { def: { format?: string } } })._zod.def.format)];
  return formats.some((f) => f !== undefined && /int/.test(f));
}

/** The schema reached by `path` (following unions through `raw`), or undefined. */
export function schemaAt(schema: AnySchema, raw: unknown, path: Path): AnySchema | undefined {
  let s: AnySchema | undefined = schema;
  let v: unknown = raw;
  for (const seg of path) {
    for (;;) {
      s = unwrap(s!);
      const def = s._zod.def as Def;
      if (def.type !== 'union') break;
      s = pickOption(def, v);
      if (s === undefined) return undefined;
    }
    const def = s._zod.def as Def;
    if (def.type === 'object' && typeof seg === 'string' && def.shape) s = def.shape[seg];
    else if (def.type === 'array' && typeof seg === 'number') s = def.element;
    else return undefined;
    if (s === undefined) return undefined;
    v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[seg] : undefined;
  }
  return s;
}

/** Allowed keys of the object schema reached by `path` (following unions through `raw`). */
export function allowedKeys(schema: AnySchema, raw: unknown, path: Path): string[] {
  let s: AnySchema | undefined = schema;
  let v: unknown = raw;
  const step = (seg: string | number | undefined): boolean => {
    for (;;) {
      s = unwrap(s!);
      const def = s._zod.def as Def;
      if (def.type === 'union') {
        s = pickOption(def, v);
        if (s === undefined) return false;
        continue;
      }
      if (seg === undefined) return true;
      if (def.type === 'object' && typeof seg === 'string' && def.shape) s = def.shape[seg];
      else if (def.type === 'array' && typeof seg === 'number') s = def.element;
      else return false;
      v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[seg] : undefined;
      return s !== undefined;
    }
  };
  for (const seg of path) if (!step(seg)) return [];
  if (!step(undefined)) return [];
  const def = s._zod.def as Def;
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}
