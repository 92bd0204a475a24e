// Loading the plug-in policy modules a scenario names (policies.prefetch: ./my-prefetch.ts): each
// is imported once per process and its default export registered under its absolute path in the
// policy table (policy/plugin.ts), where the drivers find built-ins too. Importing is
// asynchronous, so this runs before runScenario, which stays synchronous.
import { pathToFileURL } from 'node:url';
import { PolicyPluginError, registerPolicy, registeredPolicy } from '../policy/plugin.ts';
import { ScenarioError } from './locate.ts';
import { importModule } from './import-module.ts';
import type { PluginRef, Scenario } from './load.ts';

/**
 * Imports and registers every plug-in module `s` names (a module already registered is not
 * imported again).
 * @throws ScenarioError `FILE:LINE:COL: plug-in MODULE: ...` when a module cannot be imported,
 *   has no policy as its default export, or fills another role than the one it is named for
 */
export async function loadPolicyPlugins(s: Pick<Scenario, 'plugins'>): Promise<void> {
  for (const ref of s.plugins ?? []) await loadPlugin(ref);
}

async function loadPlugin(ref: PluginRef): Promise<void> {
  const fail = (why: string): never => {
    throw new ScenarioError([`${ref.at}: plug-in ${ref.key}: ${why}`]);
  };
  let p = registeredPolicy(ref.key);
  if (p === undefined) {
    let mod: { default?: unknown };
    if (/\.[cm]?ts$/.test(ref.key)) await typeScriptLoader(fail);
    try {
      mod = await importModule(pathToFileURL(ref.key).href) as { default?: unknown };
    } catch (e) {
      return fail(`cannot import: ${(e as Error).message.split('\n')[0]}`);
    }
    if (mod.default === undefined) return fail('expected a default export (the policy object)');
    try {
      p = registerPolicy(ref.key, mod.default);
    } catch (e) {
      if (!(e instanceof PolicyPluginError)) throw e;
      return fail(e.message.slice(ref.key.length + 2));
    }
  }
  if (p.role !== ref.role) fail(`is a ${p.role} policy, named for ${ref.role}`);
}

let tsLoader: Promise<void> | null = null;

/**
 * A TypeScript plug-in needs a loader: from the sources hetmem already runs under tsx; compiled
 * (dist/, the installed package) it registers tsx's ESM loader once, when tsx is installed.
 */
async function typeScriptLoader(fail: (why: string) => never): Promise<void> {
  if (!import.meta.url.endsWith('.js')) return;
  tsLoader ??= (async () => {
    const api = await importModule('tsx/esm/api') as typeof import('tsx/esm/api');
    api.register();
  })();
  try {
    await tsLoader;
  } catch {
    tsLoader = null;
    fail('a TypeScript plug-in needs tsx to load (npm install tsx), or compile it to a .js module');
  }
}
