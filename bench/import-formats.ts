// `node --import tsx bench/import-formats.ts`: the same migrate workload through the public API
// imported four ways: ESM and CommonJS, from the compiled dist/ and from the TypeScript sources
// through tsx. Written to check the claim that CommonJS was 4.5x slower than ESM on the migrate
// path (bench/README.md, "ESM and CommonJS"). Each variant runs in its own node; the figure is
// that process's CPU time (user + system) for the timed loops, median of the repetitions, so a
// shared machine's waiting for a core does not count.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib/child.ts';

const PAGES = 8192;
const REPS = 9;

/** The workload: move_pages between two nodes, then migrate_vma to device 0 and back. */
const body = `
const N = ${PAGES};
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const m = new Machine({ nodes: 2 });
const p = m.spawn();
const a = p.mmap(N, 'anon', 'rw');
for (let i = 0; i < N; i++) p.write(a + i, i & 0xff);
const gpu = p.device(0);
const move = [], migrate = [];
for (let r = 0; r < ${REPS}; r++) {
  let t = cpu();
  p.movePages(a, N, (r & 1) ? 0 : 1);
  move.push(cpu() - t);
  t = cpu();
  for (let off = 0; off < N; off += 512) gpu.migrateToDevice(a + off, 512);
  for (let off = 0; off < N; off += 512) gpu.migrateToSystem(a + off, 512);
  migrate.push(cpu() - t);
}
const med = (x) => x.slice(1).sort((u, v) => u - v)[(x.length - 1) >> 1];
console.log(JSON.stringify({ movePagesMs: med(move), migrateVmaMs: med(migrate) }));
`;

const dir = mkdtempSync(join(tmpdir(), 'hetmem-formats-'));
try {
  const dist = join(ROOT, 'dist', 'index.js');
  const src = join(ROOT, 'src', 'index.ts');
  if (!existsSync(dist)) throw new Error('no dist/: run npm run build first');
  const variants: Array<{ id: string; file: string; code: string; tsx: boolean }> = [
    { id: 'ESM, dist', file: 'esm.mjs', code: `import { Machine } from ${JSON.stringify(pathToFileURL(dist).href)};`, tsx: false },
    { id: 'CommonJS, dist (require of ESM)', file: 'cjs.cjs', code: `const { Machine } = require(${JSON.stringify(dist)});`, tsx: false },
    { id: 'ESM, sources through tsx', file: 'esm-src.mjs', code: `import { Machine } from ${JSON.stringify(pathToFileURL(src).href)};`, tsx: true },
    { id: 'CommonJS, sources through tsx', file: 'cjs-src.cjs', code: `const { Machine } = require(${JSON.stringify(src)});`, tsx: true },
  ];
  console.log(`${PAGES} pages, CPU ms per repetition (median of ${REPS - 1} after one warm-up)`);
  for (const v of variants) {
    writeFileSync(join(dir, v.file), v.code + body);
    const r = spawnSync(process.execPath, [...(v.tsx ? ['--import', 'tsx'] : []), join(dir, v.file)], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${v.id}: ${r.stderr}`);
    const x = JSON.parse(r.stdout) as { movePagesMs: number; migrateVmaMs: number };
    console.log(`${v.id.padEnd(32)} move_pages ${x.movePagesMs.toFixed(1).padStart(7)}   migrate_vma there and back ${x.migrateVmaMs.toFixed(1).padStart(7)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
