// Loads the bundled CLI (dist/bundle/hetmem.cjs, tools/bundle-cli.mjs) the way Node loads a
// CommonJS module, but compiled with V8's code cache (hetmem.cjs.cache, written by the build
// after a run of the CLI): Node 20 caches no compiled code of its own (module.enableCompileCache
// arrived in 22.1), and compiling the bundle and the functions a run calls is most of the
// start-up left (bench/README.md, CLI start-up). A cache V8 rejects (another Node version, a
// bundle rebuilt without one) only costs the compile: the code that runs is the same.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** The parameters the bundle's code sees, as in Node's CommonJS wrapper, plus the bin's import(). */
const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__hetmemImport'];

/**
 * Compiles and runs the bundle at `file` (an absolute path), with `file + '.cache'` as its code
 * cache when that exists.
 * @returns the bundle's exports and the compiled script (for `createCachedData()`); `rejected`
 *   is true when a cache was there and V8 refused it.
 */
export function loadBundle(file) {
  const source = readFileSync(file, 'utf8');
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // No cache: compiled as usual.
  }
  const script = new Script(`(function (${PARAMS.join(', ')}) {${source}\n})`, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), (specifier) => import(specifier));
  return { exports: module.exports, script, rejected: cachedData !== undefined && script.cachedDataRejected === true };
}
