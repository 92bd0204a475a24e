// `hetmem view` bad input: one line naming the file and what was expected, exit code 2.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { answer } from '../../src/view/server.ts';
import { loadDir } from '../../src/view/load.ts';
import { EXAMPLES_DIR } from '../../src/scenario/load.ts';

function io() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => err.push(s) }, env: {} } as unknown as Parameters<typeof main>[1] };
}

describe('hetmem view', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hetmem-view-cli-'));
    const x = io();
    expect(await main(['run', join(EXAMPLES_DIR, 'sva-vs-hmm.yaml'), '--scale', '0.05', '--out', join(dir, 'run')], x.io)).toBe(0);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [['nope'], /nope: no such directory/],
    [['run/results.json'], /results\.json: expected a directory/],
    [['empty'], /empty: expected results\.json \(hetmem run --out DIR\) or faultbench\.json/],
    [['badmeta'], /badmeta\/view\/meta\.json: expected view format 1/],
    [['run', 'run', 'run'], /expected one or two directories, got 3/],
  ])('%j: one line, exit 2', async (args, message) => {
    mkdirSync(join(dir, 'empty'), { recursive: true });
    mkdirSync(join(dir, 'badmeta', 'view'), { recursive: true });
    writeFileSync(join(dir, 'badmeta', 'results.json'), JSON.stringify(loadDir(join(dir, 'run')).kind === 'run' ? (loadDir(join(dir, 'run')) as { run: { results: unknown } }).run.results : {}));
    writeFileSync(join(dir, 'badmeta', 'view', 'meta.json'), '{"format": 99}');
    const x = io();
    const code = await main(['view', ...args.map((a) => join(dir, a)), '--static', join(dir, 'out.html')], x.io);
    expect(code).toBe(2);
    expect(x.err.join('')).toMatch(message);
    expect(x.err.join('').trim().split('\n')).toHaveLength(1);
  });

  it('refuses a bad port with one line', async () => {
    const x = io();
    expect(await main(['view', join(dir, 'run'), '--port', '70000'], x.io)).toBe(2);
    expect(x.err.join('')).toContain('expected a port number 0..65535');
  });

  it('answers bad queries with a message, not a crash', () => {
    const l = loadDir(join(dir, 'run'));
    if (l.kind !== 'run') throw new Error('expected a run');
    expect(() => answer([l.run], '/api/grid', new URLSearchParams('run=0&space=1&v0=0&v1=10&t0=0&t1=5&rows=0&cols=4'))).toThrow("rows: expected a number >= 1 <= 2048, got '0'");
    expect(() => answer([l.run], '/api/batch', new URLSearchParams('run=0&device=gpu9&batch=0'))).toThrow(/device: expected one of sva0, gpu0, got 'gpu9'/);
    expect(() => answer([l.run], '/api/grid', new URLSearchParams('run=3'))).toThrow(/run: expected a number >= 0 <= 0/);
  });
});
