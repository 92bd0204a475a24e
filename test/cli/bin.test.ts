// bin/hetmem.mjs picks what to run: the bundled CLI (dist/bundle/hetmem.cjs, loaded through
// bin/load-bundle.mjs) when it is at least as new as src/, the TypeScript sources through tsx
// otherwise (or with HETMEM_FROM_SOURCE=1), and the bundle alone in a package without src/.
// Checked on a copy of the bin beside two tiny entry points that say which one ran, with the
// file times set by hand.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../paths.ts';

let dir = '';
const BUNDLE = () => join(dir, 'dist', 'bundle', 'hetmem.cjs');
const T0 = new Date('2026-01-01T00:00:00Z'), T1 = new Date('2026-01-02T00:00:00Z');

function layout(): void {
  mkdirSync(join(dir, 'bin'));
  for (const f of ['hetmem.mjs', 'load-bundle.mjs']) copyFileSync(join(ROOT, 'bin', f), join(dir, 'bin', f));
  mkdirSync(join(dir, 'dist', 'bundle'), { recursive: true });
  writeFileSync(BUNDLE(), "exports.main = async function main(argv) { process.stdout.write('compiled ' + argv.join(' ')); return 0; };\n");
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "export async function main(argv: string[]): Promise<number> { process.stdout.write('source ' + argv.join(' ')); return 3; }\n");
  writeFileSync(join(dir, 'src', 'extra.ts'), 'export const x = 1;\n');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'node_modules', 'tsx'), join(dir, 'node_modules', 'tsx'), 'dir');
  for (const p of ['src', 'src/cli', 'src/cli/main.ts', 'src/extra.ts']) utimesSync(join(dir, p), T0, T0);
  utimesSync(BUNDLE(), T1, T1);
}

function bin(env: Record<string, string> = {}) {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('HETMEM_FROM_SOURCE' in env)) delete e.HETMEM_FROM_SOURCE;
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'hetmem.mjs'), 'a', 'b'], { cwd: dir, encoding: 'utf8', env: e });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('bin/hetmem.mjs', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hetmem-bin-'));
    layout();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the bundle when it is newer than every source, passing the arguments and the exit code', () => {
    expect(bin()).toEqual({ code: 0, out: 'compiled a b', err: '' });
  });

  it('runs the sources through tsx when a source file, or a folder (a file deleted), is newer, or when asked', () => {
    expect(bin({ HETMEM_FROM_SOURCE: '1' })).toMatchObject({ code: 3, out: 'source a b' });
    utimesSync(join(dir, 'src', 'extra.ts'), new Date('2026-01-03T00:00:00Z'), new Date('2026-01-03T00:00:00Z'));
    expect(bin()).toMatchObject({ code: 3, out: 'source a b' });
    utimesSync(join(dir, 'src', 'extra.ts'), T0, T0);
    expect(bin()).toMatchObject({ code: 0, out: 'compiled a b' });
    rmSync(join(dir, 'src', 'extra.ts'));
    expect(bin()).toMatchObject({ code: 3, out: 'source a b' });
  });

  it('runs the bundle in a package without src/, and without dist/ falls back to the sources', () => {
    rmSync(join(dir, 'src'), { recursive: true });
    expect(bin()).toMatchObject({ code: 0, out: 'compiled a b' });
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    layout();
    rmSync(join(dir, 'dist'), { recursive: true });
    expect(bin()).toMatchObject({ code: 3, out: 'source a b' });
  });

  it('loads the bundle as CommonJS with the bin\'s import(), using its code cache and running without one V8 refuses', () => {
    writeFileSync(BUNDLE(), [
      'exports.main = async function main(argv) {',
      "  const { EOL } = await __hetmemImport('node:os');",
      "  process.stdout.write([require('node:path').basename(__filename), typeof module.exports.main, EOL === '\\n', ...argv].join(' '));",
      '  return 0;',
      '};', '',
    ].join('\n'));
    utimesSync(BUNDLE(), T1, T1);
    expect(bin()).toEqual({ code: 0, out: 'hetmem.cjs function true a b', err: '' });
    const probe = (code: string) => spawnSync(process.execPath, ['--input-type=module', '-e', `import { loadBundle } from ${JSON.stringify(pathToFileURL(join(dir, 'bin', 'load-bundle.mjs')).href)};\n${code}`], { encoding: 'utf8' });
    const make = probe(`import { writeFileSync } from 'node:fs';\nconst { script, rejected } = loadBundle(${JSON.stringify(BUNDLE())});\nwriteFileSync(${JSON.stringify(`${BUNDLE()}.cache`)}, script.createCachedData());\nconsole.log(rejected);`);
    expect(make.stdout).toBe('false\n');
    const used = `console.log(loadBundle(${JSON.stringify(BUNDLE())}).rejected);`;
    expect(probe(used).stdout).toBe('false\n');
    expect(bin()).toEqual({ code: 0, out: 'hetmem.cjs function true a b', err: '' });
    writeFileSync(`${BUNDLE()}.cache`, 'not a code cache');
    expect(probe(used).stdout).toBe('true\n');
    expect(bin()).toEqual({ code: 0, out: 'hetmem.cjs function true a b', err: '' });
  });

  it('turns an exception thrown past main into exit 70 with the stack, never 1 (which means differences)', () => {
    writeFileSync(BUNDLE(), "exports.main = async function main() { throw new Error('boom'); };\n");
    utimesSync(BUNDLE(), T1, T1);
    const r = bin();
    expect(r.code).toBe(70);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^hetmem: internal error \(a bug, please report it\):\nError: boom\n {4}at main /);
  });
});
