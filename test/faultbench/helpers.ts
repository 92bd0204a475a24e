// Shared fixtures of the faultbench tests.
import { loadProfile, PROFILES_DIR } from '../../src/devices/profile/load.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';

const cache = new Map<string, Profile>();

/** A shipped profile by name (loaded once per test file). */
export function profile(name: string): Profile {
  let p = cache.get(name);
  if (!p) cache.set(name, (p = loadProfile(`${PROFILES_DIR}${name}.yaml`)));
  return p;
}
