// The bundled CLI (tools/bundle-cli.mjs: dist/bundle/hetmem.cjs and its V8 code cache) is what
// bin/hetmem.mjs runs after a build, and it prints what the sources print: every example's
// results.json the golden results byte for byte, the same stdout, stderr and exit code for the
// commands below, plug-in policies (a TypeScript one through tsx) included. Built here into a
// staged package (package.json, bin/, profiles/, examples/ and the precompiled profile table; no
// src/, and no dist/cli/ to fall back to), so the test never reads this checkout's dist/, which
// may be stale or half-built.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../paths.ts';
import { writePrecompiledProfiles } from '../../src/devices/profile/precompile.ts';
import { exampleNames, GOLDEN_DIR, GOLDEN_SCALE } from '../golden-results/golden.ts';
import { resultsJson } from '../../src/report/results-schema.ts';
import type { RunResults } from '../../src/sim/results.ts';

let dir = '';
let stage = '';

interface Ran { status: number | null; stdout: string; stderr: string }

/** The staged package's bin (the bundle), its paths written as this checkout's for comparing. */
function bundled(args: string[], nodeArgs: string[] = []): Ran {
  const r = spawnSync(process.execPath, [...nodeArgs, join(stage, 'bin', 'hetmem.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  const here = (s: string) => s.replaceAll(stage, ROOT);
  return { status: r.status, stdout: here(r.stdout), stderr: here(r.stderr) };
}

/** This checkout's sources through tsx. */
function fromSources(args: string[]): Ran {
  const env = { ...process.env, HETMEM_FROM_SOURCE: '1' };
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'hetmem.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hetmem-bundle-'));
  stage = join(dir, 'pkg');
  mkdirSync(join(stage, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(stage, 'package.json'));
  for (const f of ['hetmem.mjs', 'load-bundle.mjs']) copyFileSync(join(ROOT, 'bin', f), join(stage, 'bin', f));
  for (const d of ['profiles', 'examples', 'node_modules']) symlinkSync(join(ROOT, d), join(stage, d), 'dir');
  mkdirSync(join(stage, 'dist', 'devices', 'profile'), { recursive: true });
  writePrecompiledProfiles(join(stage, 'dist', 'devices', 'profile', 'shipped-profiles.json'));
  const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'bundle-cli.mjs'), join(stage, 'dist')], { encoding: 'utf8' });
  expect(r.status, `bundle-cli: ${r.stderr}`).toBe(0);
}, 120_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('the bundled CLI', () => {
  it('is one file with a code cache that V8 accepts', () => {
    expect(existsSync(join(stage, 'dist', 'bundle', 'hetmem.cjs'))).toBe(true);
    const probe = `import { loadBundle } from ${JSON.stringify(pathToFileURL(join(stage, 'bin', 'load-bundle.mjs')).href)};
const { exports, rejected } = loadBundle(${JSON.stringify(join(stage, 'dist', 'bundle', 'hetmem.cjs'))});
console.log(JSON.stringify({ rejected, main: typeof exports.main }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    expect(JSON.parse(r.stdout)).toEqual({ rejected: false, main: 'function' });
  });

  it('writes every example\'s results.json with the golden results, byte for byte', () => {
    const out = join(dir, 'runs');
    for (const name of exampleNames()) {
      const r = bundled(['run', join(ROOT, 'examples', `${name}.yaml`), '--scale', String(GOLDEN_SCALE), '--out', join(out, name), '--no-progress']);
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      // The golden file holds the results as runScenario returns them; --out writes them through
      // resultsJson (batch times in ps).
      const golden = JSON.parse(readFileSync(join(GOLDEN_DIR, `${name}.json`), 'utf8')) as RunResults;
      expect(readFileSync(join(out, name, 'results.json'), 'utf8'), name).toBe(resultsJson(golden));
    }
  }, 600_000);

  it('prints what the sources print: stdout, stderr and exit code', () => {
    const plugin = join(dir, 'plugin.yaml');
    writeFileSync(plugin, [
      'name: plug', 'data: false', 'devices:', '  - name: gpu0', '    profile: pascal-pcie3', '    memory: 8 MiB', '    policies:',
      `      prefetch: { policy: ${join(ROOT, 'test', 'fixtures', 'plugins', 'prefetch-empty.ts')} }`,
      `      eviction: { policy: ${join(ROOT, 'examples', 'plugins', 'evict-mru.ts')} }`,
      'processes:', '  - name: p', '    allocations: [{ name: data, oversubscribe: { device: gpu0, factor: 1.5 } }]',
      'steps:', '  - kernel: { device: gpu0, workload: { type: streaming, buffer: data, lanes: 8 } }', '',
    ].join('\n'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\ndevices:\n  - { name: gpu0, profile: no-such-profile }\n');
    const cases: string[][] = [
      ['--version'],
      ['profiles', '--sources'],
      ['trace', '--check', join(ROOT, 'test', 'oracle-corpus', 'probe-madvfree-thp-head.trace')],
      ['run', join(ROOT, 'bench', 'startup.yaml'), '--json'],
      ['run', plugin, '--json'],
      ['run', bad],
      ['run', join(dir, 'missing.yaml')],
      ['run', '--scale', 'x'],
    ];
    const sources = new Map<string, Ran>();
    for (const args of cases) {
      const want = fromSources(args);
      sources.set(args.join(' '), want);
      expect(bundled(args), args.join(' ')).toEqual(want);
    }
    // What was compared is what it should be, not two crashes: the plug-ins ran, bad input is
    // exit 2 and one line.
    expect(sources.get(['run', plugin, '--json'].join(' '))?.status).toBe(0);
    for (const args of cases.slice(-3)) {
      expect(sources.get(args.join(' ')), args.join(' ')).toMatchObject({ status: 2, stdout: '', stderr: expect.stringMatching(/^hetmem run: [^\n]+\n$/) });
    }
  }, 300_000);

  it('does not evaluate zod for --version and profiles (each command\'s modules load when it runs)', () => {
    // zod's core module keeps its configuration on globalThis when it is evaluated.
    const probe = `data:text/javascript,${encodeURIComponent("process.on('exit', () => process.stderr.write(globalThis.__zod_globalConfig === undefined ? 'no zod' : 'zod'));")}`;
    expect(bundled(['--version'], ['--import', probe]).stderr).toBe('no zod');
    expect(bundled(['profiles'], ['--import', probe]).stderr).toBe('no zod');
    expect(bundled(['run', join(ROOT, 'bench', 'startup.yaml')], ['--import', probe]).stderr).toBe('zod');
  });
});
