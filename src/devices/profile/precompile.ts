// The build step that writes shipped-profiles.json (precompiled.ts): every shipped profile
// through the full loader, so the table holds exactly what listProfiles returns. Run by
// `npm run build` as `node dist.tmp/devices/profile/precompile.js`, which writes the table
// beside itself; test/devices/precompiled-profiles.test.ts checks the table equals the loader's
// output after the JSON round trip.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listProfiles, PROFILES_DIR } from './load.ts';
import { PRECOMPILED_FILE, PRECOMPILED_FORMAT, profileTextHash, type PrecompiledProfiles } from './precompiled.ts';

/**
 * The table for every `*.yaml` in `dir`, sorted by file name.
 * @throws ProfileError if a profile is invalid (so the build fails on one)
 */
export function precompileProfiles(dir: string = PROFILES_DIR): PrecompiledProfiles {
  const byName = new Map(listProfiles(dir).map((p) => [p.name, p]));
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  return {
    format: PRECOMPILED_FORMAT,
    profiles: files.map((file) => ({
      file,
      sha256: profileTextHash(readFileSync(join(dir, file), 'utf8')),
      profile: byName.get(file.slice(0, -'.yaml'.length))!,
    })),
  };
}

/** Writes the table for the shipped profiles to `out`. */
export function writePrecompiledProfiles(out: string): void {
  writeFileSync(out, JSON.stringify(precompileProfiles()) + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writePrecompiledProfiles(fileURLToPath(new URL(`./${PRECOMPILED_FILE}`, import.meta.url)));
}
