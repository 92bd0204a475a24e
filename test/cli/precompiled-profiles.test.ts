// The build-time profile table (src/devices/profile/precompiled.ts) must hold exactly what the
// YAML loader returns, and must never serve a file whose text changed: the compiled CLI answers
// `hetmem profiles` and resolves shipped profile names from it without parsing.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listProfiles, PROFILES_DIR } from '../../src/devices/profile/load.ts';
import { precompileProfiles } from '../../src/devices/profile/precompile.ts';
import { precompiledProfile, precompiledProfiles, profileTextHash, type PrecompiledTable } from '../../src/devices/profile/precompiled.ts';

/** The table as the compiled CLI reads it: through the JSON file's text. */
function tableOf(dir: string): PrecompiledTable {
  const json = JSON.parse(JSON.stringify(precompileProfiles(dir))) as ReturnType<typeof precompileProfiles>;
  return new Map(json.profiles.map((e) => [e.sha256, e.profile]));
}

describe('precompiled profiles', () => {
  it('hold what the loader returns for every shipped profile, after the JSON round trip', () => {
    const loaded = listProfiles();
    const built = precompileProfiles();
    expect(built.profiles.map((e) => e.file)).toEqual(readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.yaml')).sort());
    expect(loaded.length).toBeGreaterThan(5);
    // toStrictEqual: a value JSON cannot carry (undefined, Infinity, NaN, a Map) would differ.
    const roundTrip = JSON.parse(JSON.stringify(built)) as typeof built;
    for (const e of roundTrip.profiles) {
      expect(e.sha256).toBe(profileTextHash(readFileSync(join(PROFILES_DIR, e.file), 'utf8')));
      expect(e.profile, e.file).toStrictEqual(loaded.find((p) => `${p.name}.yaml` === e.file));
    }
    expect(precompiledProfiles(PROFILES_DIR, tableOf(PROFILES_DIR))).toStrictEqual(loaded);
  });

  it('answer by the exact text only, with a copy the caller may change', () => {
    const table = tableOf(PROFILES_DIR);
    const text = readFileSync(join(PROFILES_DIR, 'gpu-pcie4.yaml'), 'utf8');
    const a = precompiledProfile(text, table)!;
    expect(a.name).toBe('gpu-pcie4');
    a.memory = { ...a.memory, capacity: 1 as typeof a.memory.capacity };
    expect(precompiledProfile(text, table)!.memory.capacity).not.toBe(1);
    expect(precompiledProfile(`${text}\n# edited\n`, table)).toBeUndefined();
    expect(precompiledProfile(text, null)).toBeUndefined();
  });

  describe('in a profiles folder that changes after the build', () => {
    let dir = '';
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'hetmem-precompiled-'));
      for (const f of readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.yaml'))) copyFileSync(join(PROFILES_DIR, f), join(dir, f));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('fall back to parsing (undefined) when a file is edited, renamed or added', () => {
      const table = tableOf(dir);
      expect(precompiledProfiles(dir, table)).toStrictEqual(listProfiles(dir));
      const f = join(dir, 'gpu-pcie4.yaml');
      const text = readFileSync(f, 'utf8');
      writeFileSync(f, text.replace(/^description: .*$/m, 'description: edited after the build'));
      expect(precompiledProfiles(dir, table)).toBeUndefined();
      expect(listProfiles(dir).find((p) => p.name === 'gpu-pcie4')!.description).toBe('edited after the build');
      writeFileSync(f, text);
      expect(precompiledProfiles(dir, table)).toBeDefined();
      // Same text under another name: the name check must still run (listProfiles rejects it).
      renameSync(f, join(dir, 'renamed.yaml'));
      expect(precompiledProfiles(dir, table)).toBeUndefined();
      renameSync(join(dir, 'renamed.yaml'), f);
      copyFileSync(f, join(dir, 'extra.yaml'));
      expect(precompiledProfiles(dir, table)).toBeUndefined();
    });
  });
});
