// The package as a stranger gets it: `npm pack` of a fresh build, installed into an empty
// project, imported from plain Node (ESM and CommonJS), type-checked from TypeScript, and its
// CLI run. Offline: the tarball is unpacked into node_modules/hetmem by hand and its runtime
// dependencies are linked from this checkout (only those package.json lists, so a missing one
// fails); dev dependencies such as tsx are not there, so nothing can fall back to the sources.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../paths.ts';

interface Pkg { name: string; version: string; dependencies: Record<string, string>; files: string[] }
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Pkg;

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.error, what).toBeUndefined();
  expect(r.status, `${what} exited ${r.status}\n${r.stderr}\n${r.stdout}`).toBe(0);
  return r.stdout;
}

describe('the npm package', () => {
  let dir = '';
  let app = '';
  let files: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hetmem-pack-'));
    // A staging copy, built there, so the test packs the current sources and never touches
    // this checkout's dist/ (which CLI tests may be running at the same time).
    const stage = join(dir, 'stage');
    mkdirSync(stage);
    for (const f of ['package.json', 'README.md', 'ARCHITECTURE.md', 'bin', 'profiles', 'examples']) cpSync(join(ROOT, f), join(stage, f), { recursive: true });
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    ok(spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { encoding: 'utf8' }), 'tsc');
    // As `npm run build` does after tsc: the shipped profiles validated into the build (with
    // this checkout's dependencies, linked for that step only, so nothing of them is packed).
    symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');
    ok(spawnSync(process.execPath, [join(stage, 'dist', 'devices', 'profile', 'precompile.js')], { encoding: 'utf8' }), 'precompile');
    // And then the bundled CLI and its code cache (taken with the stage's node_modules linked).
    ok(spawnSync(process.execPath, [join(ROOT, 'tools', 'bundle-cli.mjs'), join(stage, 'dist')], { encoding: 'utf8' }), 'bundle-cli');
    rmSync(join(stage, 'node_modules'));
    const packed = ok(spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: stage, encoding: 'utf8' }), 'npm pack');
    const [info] = JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = info.files.map((f) => f.path);

    app = join(dir, 'app');
    const modules = join(app, 'node_modules');
    mkdirSync(modules, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    ok(spawnSync('tar', ['-xzf', join(dir, info.filename), '-C', modules], { encoding: 'utf8' }), 'tar');
    renameSync(join(modules, 'package'), join(modules, PKG.name));
    for (const dep of [...Object.keys(PKG.dependencies), '@types/node']) {
      mkdirSync(dirname(join(modules, dep)), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep), 'dir');
    }
  }, 180_000);

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });

  it('holds the compiled code, its types, the profiles and the examples, and no sources or tests', () => {
    for (const f of ['package.json', 'bin/hetmem.mjs', 'bin/load-bundle.mjs', 'dist/bundle/hetmem.cjs', 'dist/bundle/hetmem.cjs.cache', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/devices/profile/shipped-profiles.json', 'profiles/gpu-pcie4.yaml', 'examples/default.yaml', 'README.md']) {
      expect(files, f).toContain(f);
    }
    // Example plug-in policies (examples/plugins/*.ts) are examples users copy, not sources.
    expect(files.filter((f) => /^(src|test|bench|tools|profiles\/research)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('examples/'))).toEqual([]);
  });

  it('imports from plain Node as ESM and runs the README example', () => {
    writeFileSync(join(app, 'esm.mjs'), `
import { Machine, SimMachine, loadProfile, PROFILES_DIR } from 'hetmem';
const m = new Machine();
const p = m.spawn();
const a = p.mmap(4, 'anon', 'rw');
p.write(a, 0x11);
const gpu = p.device(0);
const moved = gpu.migrateToDevice(a, 2);
const perm = [...gpu.snapshot(a, 4).perm];
const back = p.read(a)[0];
const profile = loadProfile(PROFILES_DIR + 'pascal-pcie3.yaml');
console.log(JSON.stringify({ ret: moved.ret, cpages: moved.cpages, perm, back, sim: typeof SimMachine, profile: profile.name }));
`);
    const out = JSON.parse(ok(node(['esm.mjs']), 'esm.mjs')) as Record<string, unknown>;
    expect(out).toEqual({ ret: 0, cpages: 2, perm: [0x22, 0x22, 0, 0], back: 0x11, sim: 'function', profile: 'pascal-pcie3' });
  });

  it('requires from CommonJS the very same module (one copy of every class)', () => {
    writeFileSync(join(app, 'cjs.cjs'), `
const { Machine } = require('hetmem');
import('hetmem').then((esm) => {
  const p = new Machine().spawn();
  const a = p.mmap(1, 'anon', 'rw');
  p.write(a, 0x42);
  console.log(JSON.stringify({ same: esm.Machine === Machine, byte: p.read(a)[0] }));
});
`);
    expect(JSON.parse(ok(node(['cjs.cjs']), 'cjs.cjs'))).toEqual({ same: true, byte: 0x42 });
  });

  it('type-checks from TypeScript through its .d.ts: right uses pass, a wrong type is the one error', () => {
    // skipLibCheck, as most projects set: the .d.ts files are tsc's own output; what is checked
    // is that `hetmem` resolves to them and that they carry real types (not any).
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['use.ts'] }));
    writeFileSync(join(app, 'use.ts'), [
      "import { Machine, type RunResults } from 'hetmem';",
      "const start: number = new Machine().spawn().mmap(1, 'anon', 'rw');",
      'export const r: RunResults | number = start;',
      "export const wrong: string = new Machine().spawn().mmap(1, 'anon', 'rw');",
      '',
    ].join('\n'));
    const r = node([join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
    expect(r.status).toBe(2);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^use\.ts\(4,14\): error TS2322: Type 'number' is not assignable to type 'string'\.$/)]);
  });

  it('runs its CLI from the bundle: --version, profiles, a scenario with its report', () => {
    const pkg = join(app, 'node_modules', PKG.name);
    const bin = join(pkg, 'bin', 'hetmem.mjs');
    expect(ok(node([bin, '--version']), '--version')).toBe(`${PKG.version}\n`);
    expect(ok(node([bin, 'profiles']), 'profiles')).toMatch(/pascal-pcie3/);
    // The bin runs the bundle, with the code cache the build took.
    const loaded = `import { loadBundle } from ${JSON.stringify(pathToFileURL(join(pkg, 'bin', 'load-bundle.mjs')).href)}; console.log(loadBundle(${JSON.stringify(join(pkg, 'dist', 'bundle', 'hetmem.cjs'))}).rejected);`;
    expect(ok(node(['--input-type=module', '-e', loaded]), 'load-bundle')).toBe('false\n');
    // Listing the shipped profiles takes them from the build's table: its module graph (the
    // unbundled dist/cli/main.js, which the bundle is made of) must run with zod and yaml
    // unresolvable, and print what the sources print after parsing every YAML file; the bundle
    // must print the same (test/cli/bundle.test.ts checks it does not evaluate zod).
    const refuse = `data:text/javascript,${encodeURIComponent("export async function resolve(s, c, next) { if (s === 'zod' || s === 'yaml') throw new Error('hetmem profiles loaded ' + s); return next(s, c); }")}`;
    const preload = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(refuse)});`)}`;
    const unbundled = `const { main } = await import(${JSON.stringify(pathToFileURL(join(pkg, 'dist', 'cli', 'main.js')).href)}); process.exitCode = await main(['profiles', '--sources']);`;
    const compiled = ok(node(['--import', preload, '--input-type=module', '-e', unbundled]), 'profiles --sources without zod and yaml');
    expect(ok(node([bin, 'profiles', '--sources']), 'profiles --sources, bundled')).toBe(compiled);
    const fromSource = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'hetmem.mjs'), 'profiles', '--sources'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, HETMEM_FROM_SOURCE: '1' } });
    const body = (s: string) => s.slice(s.indexOf('\n'));
    expect(body(compiled)).toBe(body(ok(fromSource, 'profiles --sources from the sources')));
    const out = join(dir, 'run');
    const run = node([bin, 'run', '--scale', '0.05', '--out', out]);
    ok(run, 'run');
    expect(run.stdout.startsWith('run default (seed 1)\n')).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('data-chart=');
  });

  it('prints from the bundle what the unbundled dist/cli/main.js prints: stdout, stderr, exit code', () => {
    const pkg = join(app, 'node_modules', PKG.name);
    writeFileSync(join(app, 'one.yaml'), [
      'name: one', 'seed: 1', 'devices:', '  - { name: gpu0, profile: gpu-pcie4 }', 'processes:', '  - name: app',
      '    allocations: [{ name: buf, size: 64 KiB }]', 'steps:', '  - kernel: { device: gpu0, workload: { type: streaming, buffer: buf, lanes: 4 } }', '',
    ].join('\n'));
    writeFileSync(join(app, 'bad.yaml'), 'name: bad\ndevices: 3\n');
    writeFileSync(join(app, 'one.trace'), 'mmap A 4 anon rw\ncpu_write A 0 0x11\nmigrate_to_dev 0 A 0 2\ncpu_read A 0\n');
    const unbundled = (args: string[]) => node(['--input-type=module', '-e',
      `const { main } = await import(${JSON.stringify(pathToFileURL(join(pkg, 'dist', 'cli', 'main.js')).href)}); process.exitCode = await main(${JSON.stringify(args)});`]);
    const bundled = (args: string[]) => node([join(pkg, 'bin', 'hetmem.mjs'), ...args]);
    const seen = (r: SpawnSyncReturns<string>) => ({ status: r.status, stdout: r.stdout, stderr: r.stderr });
    for (const args of [['--version'], ['run', 'one.yaml', '--json'], ['run', 'one.yaml'], ['run', 'bad.yaml'], ['trace', 'one.trace'], ['schema']]) {
      const want = seen(unbundled(args));
      expect(seen(bundled(args)), args.join(' ')).toEqual(want);
      if (args[1] === 'bad.yaml') expect(want).toMatchObject({ status: 2, stdout: '', stderr: expect.stringMatching(/^hetmem run: bad\.yaml:[^\n]+\n$/) });
      else expect(want.status, `${args.join(' ')}: ${want.stderr}`).toBe(0);
    }
  });
});
