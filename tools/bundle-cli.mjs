// `npm run build`'s last step: the CLI bundled with esbuild into one CommonJS file,
// dist/bundle/hetmem.cjs, and V8's code cache for it, hetmem.cjs.cache, which bin/hetmem.mjs
// loads through bin/load-bundle.mjs. The library (dist/index.js and the rest of dist/, tsc's
// output) is not touched: `import 'hetmem'` still loads one ES module per source.
//
// Why: node 20 loads an ES module graph one file at a time (resolve, stat, read, compile each)
// and keeps no compiled code between runs; `hetmem run` touches about 120 model modules plus
// zod's, yaml's and commander's, and compiling them was most of its start-up. One file loads in
// one read; the code cache (taken after a run of a one-fault scenario, so it holds the functions
// a run calls, not only the top level) skips most of the compiling (bench/README.md, CLI
// start-up).
//
// Why CommonJS: esbuild wraps every module reached only through import() (each command's
// module, src/cli/main.ts) in a function run on first import, in import order, with its
// require() calls of node built-ins and of the external packages inside: `hetmem --version`
// loads neither zod nor DuckDB, and modules evaluate in the order node gives them. (An ES
// bundle hoists every import of a built-in or an external package to its top; split into ES
// chunks, it may run modules' top-level code in another order.)
//
// What keeps the outputs identical:
// - import.meta.url: each source's own URL in dist/ (src/X/Y.ts -> dist/X/Y.js), so the paths
//   found from it (package.json, profiles/, examples/, the precompiled profile table, the
//   sweep child, tools/oracle) are the ones the unbundled build finds.
// - import() of what hetmem does not ship (plug-ins, tsx): src/scenario/import-module.ts is
//   replaced by the bin's import(), which a script compiled through node:vm lacks.
// - The optional native or large packages stay outside (external) and are require()d from
//   node_modules when a command needs them; tsx too (a dev dependency, for TypeScript plug-ins).
//
// Usage: node tools/bundle-cli.mjs DIST   (the build's dist folder, e.g. dist.tmp)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const dist = process.argv[2];
if (dist === undefined || process.argv.length > 3) {
  process.stderr.write('bundle-cli: expected one argument, the dist folder to write into, e.g. node tools/bundle-cli.mjs dist.tmp\n');
  process.exit(2);
}
const bundle = join(resolve(dist), 'bundle', 'hetmem.cjs');

/** Packages loaded from node_modules when used: native code, their own data files, or dev-only. */
const EXTERNAL = ['@duckdb/node-api', 'bullmq', 'ioredis', 'echarts', 'playwright-core', 'tsx', 'tsx/*'];

const IMPORT_MODULE = join(SRC, 'scenario', 'import-module.ts');

const sourcesAsInDist = {
  name: 'sources-as-in-dist',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      // The bin's import() (bin/load-bundle.mjs passes it as __hetmemImport).
      if (args.path === IMPORT_MODULE) return { contents: 'export const importModule = (specifier: string): Promise<unknown> => __hetmemImport(specifier);', loader: 'ts' };
      const text = await readFile(args.path, 'utf8');
      if (!args.path.startsWith(SRC + sep) || !text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
      const compiled = relative(SRC, args.path).split(sep).join('/').replace(/\.ts$/, '.js');
      // __filename is the bundle (dist/bundle/hetmem.cjs), one folder below dist/.
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(`../${compiled}`)}, require('node:url').pathToFileURL(__filename)).href`), loader: 'ts' };
    });
  },
};

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/cli/main.ts'],
  outfile: bundle,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [sourcesAsInDist],
  legalComments: 'none',
  logLevel: 'warning',
});
if (result.errors.length > 0 || result.warnings.length > 0) process.exit(1);

// The code cache, taken in a fresh node (the flags V8 checks a cache against are the ones a
// plain `node` has) after the commands most runs start with: a one-fault scenario, the profile
// list and a one-op trace. Their output is dropped.
const work = mkdtempSync(join(tmpdir(), 'hetmem-bundle-'));
try {
  const scenario = join(work, 'one-fault.yaml');
  writeFileSync(scenario, [
    'name: code-cache', 'seed: 1', 'devices:', '  - { name: gpu0, profile: gpu-pcie4 }', 'processes:', '  - name: app',
    '    allocations: [{ name: buf, size: 4 KiB }]', 'steps:', '  - kernel: { device: gpu0, workload: { type: streaming, buffer: buf, lanes: 1 } }', '',
  ].join('\n'));
  const trace = join(work, 'one-op.trace');
  writeFileSync(trace, 'mmap A 1 anon rw\n');
  const loader = pathToFileURL(join(ROOT, 'bin', 'load-bundle.mjs')).href;
  const script = `
    import { writeFileSync } from 'node:fs';
    import { loadBundle } from ${JSON.stringify(loader)};
    const [file, scenario, trace] = process.argv.slice(1);
    const { exports, script } = loadBundle(file);
    const sink = { write: () => true };
    const io = { out: sink, err: process.stderr, env: {} };
    for (const argv of [['run', '--no-progress', scenario], ['profiles'], ['trace', trace]]) {
      const code = await exports.main(argv, io);
      if (code !== 0) throw new Error('hetmem ' + argv.join(' ') + ' exited ' + code);
    }
    writeFileSync(file + '.cache', script.createCachedData());
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, bundle, scenario, trace], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
} finally {
  rmSync(work, { recursive: true, force: true });
}
