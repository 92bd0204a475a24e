// Shipped profiles validated at build time. `npm run build` runs precompile.ts, which loads
// every profiles/*.yaml through the full loader (yaml + zod + the sources check) and writes the
// results beside the compiled module as shipped-profiles.json, keyed by the SHA-256 of each
// file's text. A run of the compiled CLI then takes a profile whose text hashes to a key from
// that table without loading yaml or zod (about 0.25 s of CPU for `hetmem profiles`; bench/README.md,
// CLI start-up). The key is the text, not the name, so an edited profile can never be served
// stale: its hash misses and it is parsed as before. From the TypeScript sources there is no
// table and every profile is parsed.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Profile } from './schema.ts';

/** The profiles shipped with hetmem (the repository's profiles/ folder). */
export const PROFILES_DIR: string = fileURLToPath(new URL('../../../profiles/', import.meta.url));

/** File name of the table, in the same folder as this module once compiled. */
export const PRECOMPILED_FILE = 'shipped-profiles.json';

/** Version of the table's layout; a table of another version is ignored (every profile parsed). */
export const PRECOMPILED_FORMAT = 1;

/** What precompile.ts writes: one entry per profile file, each already validated. */
export interface PrecompiledProfiles {
  readonly format: number;
  readonly profiles: ReadonlyArray<{ readonly file: string; readonly sha256: string; readonly profile: Profile }>;
}

/** SHA-256 (hex) of a profile file's text: the table's key. */
export function profileTextHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A table by text hash, or undefined when there is none (running from the sources). */
export type PrecompiledTable = ReadonlyMap<string, Profile>;

let cached: PrecompiledTable | null | undefined;

/** The table written beside this module at build time, read once; null when there is none. */
export function precompiledTable(): PrecompiledTable | null {
  if (cached !== undefined) return cached;
  let data: PrecompiledProfiles;
  try {
    data = JSON.parse(readFileSync(new URL(`./${PRECOMPILED_FILE}`, import.meta.url), 'utf8')) as PrecompiledProfiles;
  } catch {
    return (cached = null);
  }
  cached = data.format === PRECOMPILED_FORMAT ? new Map(data.profiles.map((e) => [e.sha256, e.profile])) : null;
  return cached;
}

/**
 * The validated profile for a file's text when the table holds that exact text, else undefined
 * (parse it). A copy: callers may change what they get without touching the table.
 */
export function precompiledProfile(text: string, table: PrecompiledTable | null = precompiledTable()): Profile | undefined {
  if (table === null) return undefined;
  const p = table.get(profileTextHash(text));
  return p === undefined ? undefined : structuredClone(p);
}

/**
 * Every `*.yaml` profile in `dir` (default: the shipped ones), sorted by name, when the table
 * holds each file's exact text under its file name; undefined when any misses (load them with
 * listProfiles, which parses what the table lacks and reports what is wrong).
 */
export function precompiledProfiles(dir: string = PROFILES_DIR, table: PrecompiledTable | null = precompiledTable()): Profile[] | undefined {
  if (table === null) return undefined;
  const out: Profile[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const p = precompiledProfile(readFileSync(join(dir, f), 'utf8'), table);
    if (p === undefined || p.name !== f.slice(0, -'.yaml'.length)) return undefined;
    out.push(p);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
