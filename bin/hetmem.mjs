#!/usr/bin/env node
// Runs the bundled CLI (dist/bundle/hetmem.cjs with its code cache, written by `npm run build`
// and by `prepare`, so `npm ci` builds it; tools/bundle-cli.mjs says why it is bundled). In a
// checkout whose src/ has changed since that build, or with HETMEM_FROM_SOURCE=1, it runs the
// TypeScript through tsx instead (a dev dependency), so an edit is never hidden by a stale
// dist/. The published package ships dist/ and no src/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/bundle/hetmem.cjs', root);

/**
 * Newest modification time (ms) of dir and anything under it. Folders count too: deleting or
 * renaming a source file changes only its folder's time.
 */
function newest(dir) {
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    t = Math.max(t, statSync(`${e.parentPath}/${e.name}`).mtimeMs);
  }
  return t;
}

function useCompiled() {
  if (process.env.HETMEM_FROM_SOURCE === '1' || !existsSync(compiled)) return false;
  const src = new URL('src/', root);
  return !existsSync(src) || newest(src) <= statSync(compiled).mtimeMs;
}

let main;
if (useCompiled()) {
  const { loadBundle } = await import('./load-bundle.mjs');
  ({ main } = loadBundle(fileURLToPath(compiled)).exports);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(new URL('src/cli/main.ts', root).href));
}
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Bad input and differences have their own codes (0, 1, 2); anything thrown past main is a
  // bug: its stack trace, and a code no check or input error uses (EX_SOFTWARE).
  process.stderr.write(`hetmem: internal error (a bug, please report it):\n${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 70;
}
