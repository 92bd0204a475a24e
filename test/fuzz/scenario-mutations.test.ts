// Fuzzing scenario files: a small valid scenario with one field replaced by a hostile value
// (huge, tiny, negative, wrong type, absurd quantity) or removed, run by bin/hetmem.mjs as a
// user would. Each must exit 0, or exit 2 with one `FILE:...` line and no stack trace, before a
// kill timeout (a bound on the child, not a timing assertion). 30 mutations in `npm test`; 300
// with HETMEM_LONG=1 (`npm run test:long`). HETMEM_FUZZ_SEED fixes the seed.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
import { ROOT } from '../paths.ts';

const LONG = !!process.env.HETMEM_LONG;
const RUNS = LONG ? 300 : 30;
const SEED = process.env.HETMEM_FUZZ_SEED ? Number(process.env.HETMEM_FUZZ_SEED) : 14;
/** Kill timeout per child, ms. */
const KILL_MS = 90_000;

const BASE = `name: fuzz
bucket: 10 us
devices:
  - { name: gpu0, profile: gpu-pcie4, memory: 8 MiB }
  - { name: gpu1, profile: gpu-pcie4 }
topology:
  sockets: [{ id: cpu0, memoryBytes: 1 GiB, memoryBandwidth: 100 GB/s, memoryLatencyPs: 100 ns }]
  links:
    - { id: l0, kind: nvlink, a: gpu0, b: gpu1, bandwidth: 50 GB/s, latencyPs: 500 ns }
processes:
  - name: app
    allocations:
      - { name: a, size: 4 MiB, kind: anon }
      - { name: b, pages: 256 }
    structures:
      - { name: g, type: graph, vertices: 64, degree: 4 }
steps:
  - cpu: { workload: { type: build, structure: g } }
  - kernel: { device: gpu0, workload: { type: streaming, buffer: a, lanes: 8, compute: 1 ns, write: true } }
  - - kernel: { device: gpu1, workload: { type: random, buffer: b, accesses: 64 } }
    - kernel: { device: gpu0, workload: { type: bfs, structure: g } }
`;

/** Every path to a scalar in the base scenario. */
function scalarPaths(): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (n: unknown, path: (string | number)[]) => {
    if (isMap(n)) for (const p of n.items) walk(p.value, [...path, String((p.key as { value: unknown }).value)]);
    else if (isSeq(n)) n.items.forEach((x, i) => walk(x, [...path, i]));
    else if (isScalar(n)) out.push(path);
  };
  walk(parseDocument(BASE).contents as Node, []);
  return out;
}
const PATHS = scalarPaths();

const HOSTILE: readonly unknown[] = [
  0, -1, -3, 1.5, 4294967296, 1e300, -1e300, 1e21, 2 ** 53, '', 'x'.repeat(200), null, true, [], {},
  '1 ps', '1000 s', '0.001', '1 B/s', '0.001 B/s', '128 TiB', '1 EiB', '-4 MiB', 'NaN', 'Infinity', '1e300 GB/s',
  'gpu0', 'cpu0', 'a', 'g', 'nope', '../', '/etc/passwd', './',
];

const mutation = fc.record({
  path: fc.constantFrom(...PATHS),
  op: fc.constantFrom('set', 'set', 'set', 'delete'),
  value: fc.constantFrom(...HOSTILE),
});

const dir = mkdtempSync(join(tmpdir(), 'hetmem-fuzz-'));
let n = 0;

describe('scenario mutations', () => {
  it(`${RUNS} mutated scenarios exit 0 or with one located line and exit 2, no stack trace`, () => {
    const outcomes = { ok: 0, refused: 0 };
    fc.assert(fc.property(mutation, ({ path, op, value }) => {
      const doc = parseDocument(BASE);
      if (op === 'delete') doc.deleteIn(path);
      else doc.setIn(path, value);
      const f = join(dir, `m${n++}.yaml`);
      writeFileSync(f, doc.toString());
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/hetmem.mjs'), 'run', f, '--no-progress'], {
        encoding: 'utf8', cwd: ROOT, env: { ...process.env, CI: '1' }, timeout: KILL_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024,
      });
      const what = `${op} ${path.join('.')} = ${JSON.stringify(value)}`;
      expect(r.signal, `${what}: killed after ${KILL_MS} ms`).toBeNull();
      expect(r.stderr, what).not.toMatch(/\n\s+at |Error:|FATAL|Fatal/);
      if (r.status === 0) {
        outcomes.ok++;
        expect(r.stdout.startsWith('run '), what).toBe(true);
        return;
      }
      outcomes.refused++;
      expect(r.status, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stdout, what).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, what).toHaveLength(1);
      // Located in the scenario, or in the profile file it names.
      expect(lines[0], what).toMatch(/^hetmem run: (\S+\.yaml|\/etc\/passwd)(:\d+:\d+)?: \S/);
    }), { numRuns: RUNS, seed: SEED });
    // The mutations reach both outcomes: the test is not only refusing, nor only running.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  }, RUNS * KILL_MS);
});
