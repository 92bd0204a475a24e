// The scenario commands through bin/hetmem.mjs, as a user runs them: run (default scenario,
// --out, --json, --scale), report, compare, profiles, schema, and one-line errors with exit 2.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../paths.ts';
import { loadScenario, EXAMPLES_DIR } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { scenarioJsonSchema } from '../../src/scenario/schema.ts';
import { parseResults } from '../../src/report/results-schema.ts';
import { validateChromeTrace } from '../../src/report/perfetto.ts';
import { BATCH_FIELDS } from '../../src/sim/results.ts';
import { listProfiles } from '../../src/devices/profile/load.ts';
import { CHART_NAMES } from '../../src/report/charts.ts';

function hetmem(...args: string[]) {
  // CI unset and stderr a pipe: no progress bar.
  const env = { ...process.env };
  delete env.CI;
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/hetmem.mjs'), ...args], { encoding: 'utf8', cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'hetmem-cli-'));

describe('hetmem run', () => {
  it('runs the default scenario without an argument and ends with the summary table (its description second)', () => {
    const r = hetmem('run', '--scale', '0.1');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.startsWith('run default (seed 1)\n2 GPUs on a PCIe switch with an NVLink bridge, an RDMA NIC, and a CPU-built graph both GPUs traverse\n')).toBe(true);
    expect(r.out).toMatch(/\n {2}simulated time {2}\S/);
    for (const row of ['faults', 'batches', 'migrated', 'evictions', 'thrashing']) expect(r.out).toMatch(new RegExp(`\\n  ${row} +\\S`));
    // Per-device faults that add up, stall time in lane-seconds, bytes per link direction, and
    // nothing after the tables.
    expect(r.out).toMatch(/\n {2}device +raised += serviced +\+ duplicates .* \+ fatal +batches +replays\n/);
    expect(r.out).toMatch(/\n {2}device +profile +driver .* stall, lane-seconds +per lane +busy, lane-seconds +per lane\n/);
    expect(r.out).toMatch(/\n {2}gpu0->gpu1 +nvlink +300 GB\/s /);
    expect(r.out.endsWith('\n')).toBe(true);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/^ {2}\S+ +\S+ +.*%$/);
  });

  it('--out writes results.json, stats.txt, batches.csv, trace.json and report.html; --json prints the results', () => {
    const dir = join(tmp(), 'run');
    const r = hetmem('run', join(EXAMPLES_DIR, 'sva-vs-hmm.yaml'), '--scale', '0.05', '--seed', '7', '--out', dir, '--json');
    expect(r.code).toBe(0);
    expect(r.err).toBe(`wrote ${['results.json', 'stats.txt', 'batches.csv', 'trace.json', 'report.html', 'view/meta.json', 'view/events.bin', 'view/overview.json', 'view/index.json', 'view/index.bin'].map((f) => join(dir, f)).join(', ')}\n`);
    // One time unit per file, stated in it: results.json's batch records are ps like the rest.
    const raw = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { timeUnit: string; batches: { start_time: number }[] };
    expect(Object.keys(raw).slice(0, 2)).toEqual(['schema', 'timeUnit']);
    expect(raw.timeUnit).toBe('ps');
    const stats = readFileSync(join(dir, 'stats.txt'), 'utf8');
    expect(stats).toMatch(/^# time unit: ps /m);
    expect(stats).toMatch(/^sim\.time +\d+ +# simulated time at the end of the run \(ps\)$/m);
    const printed = parseResults(r.out, 'stdout');
    expect(printed.name).toBe('sva-vs-hmm');
    expect(printed.seed).toBe(7);
    const saved = parseResults(readFileSync(join(dir, 'results.json'), 'utf8'), 'results.json');
    expect(saved).toEqual(printed);
    expect(stats).toMatch(new RegExp(`^sim\\.time +${saved.endPs} `, 'm'));
    expect(raw.batches.map((b) => b.start_time)).toEqual(saved.batches.map((b) => b.start_time * 1000));
    const csv = readFileSync(join(dir, 'batches.csv'), 'utf8').split('\n');
    expect(csv[0]).toBe(BATCH_FIELDS.join(','));
    expect(csv.length - 2).toBe(saved.batches.length);
    expect(saved.batches.length).toBeGreaterThan(0);
    expect(validateChromeTrace(JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')))).toEqual([]);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    for (const c of CHART_NAMES) expect(html).toContain(`data-chart="${c}"`);
  });

  it('--out writes every batch to batches.csv as it finishes, also those results.json does not keep (maxBatchRecords)', () => {
    const capped = join(tmp(), 'capped.yaml');
    writeFileSync(capped, readFileSync(join(EXAMPLES_DIR, 'sva-vs-hmm.yaml'), 'utf8').replace(/^name: sva-vs-hmm$/m, 'name: sva-vs-hmm\nmaxBatchRecords: 2'));
    const [a, b] = [join(tmp(), 'all'), join(tmp(), 'capped')];
    expect(hetmem('run', join(EXAMPLES_DIR, 'sva-vs-hmm.yaml'), '--scale', '0.05', '--out', a).code).toBe(0);
    expect(hetmem('run', capped, '--scale', '0.05', '--out', b).code).toBe(0);
    const all = parseResults(readFileSync(join(a, 'results.json'), 'utf8'), 'all');
    const cut = parseResults(readFileSync(join(b, 'results.json'), 'utf8'), 'capped');
    // At most two records kept per device; every batch still counted and summed.
    const kept = all.devices.reduce((n, d) => n + Math.min(2, d.batches), 0);
    expect(cut.batches.length).toBe(kept);
    expect(cut.batchSummary).toEqual({ ...all.batchSummary, kept });
    expect(all.batchSummary.count).toBeGreaterThan(kept);
    // The streamed file holds the same rows, in the order the batches finished.
    const rows = (dir: string) => readFileSync(join(dir, 'batches.csv'), 'utf8').split('\n');
    const [full, streamed] = [rows(a), rows(b)];
    expect(streamed[0]).toBe(BATCH_FIELDS.join(','));
    expect(streamed.length).toBe(full.length);
    expect(streamed.at(-1)).toBe('');
    expect([...streamed].sort()).toEqual([...full].sort());
  });

  it('a bad scenario is one FILE:LINE:COL line and exit 2', () => {
    const f = join(tmp(), 'bad.yaml');
    writeFileSync(f, 'name: t\ndevices:\n  - { name: gpu0, profle: gpu-pcie4 }\nprocesses: [{ name: p }]\nsteps: []\n');
    const r = hetmem('run', f);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`hetmem run: ${f}:3:19: devices[0]: unknown key "profle" (did you mean "profile"?)\n`);
  });

  it('a missing scenario file is one line and exit 2', () => {
    const r = hetmem('run', 'no/such.yaml');
    expect(r.code).toBe(2);
    expect(r.err).toBe('hetmem run: no/such.yaml: cannot read the scenario: no such file\n');
  });

  const badFlags: [string[], string][] = [
    [['run', '--bogus'], "hetmem run: unknown option '--bogus'\n"],
    [['run', '--ot', 'x'], "hetmem run: unknown option '--ot' (Did you mean --out?)\n"],
    [['run', '--scale', '-1'], "hetmem run: option '--scale <factor>' argument '-1' is invalid. expected a number > 0, e.g. 0.1\n"],
    [['run', '--seed', 'x'], "hetmem run: option '--seed <n>' argument 'x' is invalid. expected a non-negative integer\n"],
    [['run', 'a.yaml', 'b.yaml'], "hetmem run: too many arguments for 'run'. Expected 1 argument but got 2.\n"],
    [['compare', 'a.json'], "hetmem compare: missing required argument 'b'\n"],
    [['frobnicate'], "hetmem: unknown command 'frobnicate'\n"],
  ];
  for (const [args, line] of badFlags) {
    it(`bad flags give one line and exit 2: ${args.join(' ')}`, () => {
      const r = hetmem(...args);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(line);
    });
  }
});

describe('hetmem report and compare', () => {
  let dir = '';
  beforeAll(() => {
    dir = tmp();
    for (const name of ['graph-bfs-nvlink', 'graph-bfs-pcie']) {
      const r = runScenario(loadScenario(join(EXAMPLES_DIR, `${name}.yaml`)), { scale: 0.05 });
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(r));
    }
  });

  it('report regenerates report.html from results.json', () => {
    const out = join(dir, 'report');
    const r = hetmem('report', join(dir, 'graph-bfs-pcie.json'), '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wrote ${join(out, 'report.html')}\n`);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('graph-bfs-pcie');
    for (const c of CHART_NAMES) expect(html).toContain(`data-chart="${c}"`);
  });

  it('report on a bad results file is one line and exit 2', () => {
    const f = join(dir, 'broken.json');
    writeFileSync(f, JSON.stringify({ schema: 1, name: 'x' }));
    const r = hetmem('report', f);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err.startsWith(`hetmem report: ${f}: `)).toBe(true);
    expect(existsSync(join(dir, 'report.html'))).toBe(false);
  });

  it('compare prints both runs side by side', () => {
    const r = hetmem('compare', join(dir, 'graph-bfs-nvlink.json'), join(dir, 'graph-bfs-pcie.json'));
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^metric +graph-bfs-nvlink +graph-bfs-pcie +delta$/);
    expect(lines[1]).toMatch(/^run +graph-bfs-nvlink +graph-bfs-pcie +differs$/);
    // The NVLink carries bytes in one run only.
    expect(r.out).toMatch(/\nlink gpu0->gpu1 total +[\d.]+ [KM]iB +-\n/);
  });
});

describe('hetmem profiles and schema', () => {
  it('profiles lists the 11 shipped profiles with their sources', () => {
    const r = hetmem('profiles');
    expect(r.code).toBe(0);
    const names = listProfiles().map((p) => p.name);
    expect(names).toHaveLength(11);
    for (const n of names) expect(r.out).toMatch(new RegExp(`\\n${n} +\\S+ +(hmm-mirror|sva|pinning) .* \\d+ cited, \\d+ estimated `));
    const src = hetmem('profiles', 'pascal-pcie3', '--sources');
    expect(src.out).toContain('pascal-pcie3 (profiles/pascal-pcie3.yaml)');
    expect(src.out).toMatch(/\n {2}fault\.serviceLatency +derived from anchors-uvm\.md c\.1/);
  });

  it('schema prints the JSON Schema of scenario files', () => {
    const r = hetmem('schema');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.out);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema).toEqual(scenarioJsonSchema());
  });
});

describe('hetmem faultbench', () => {
  it('compares the chosen profiles side by side', () => {
    const r = hetmem('faultbench', '--quick', '--profiles', 'pascal-pcie3,mi250x-xnack');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/1\. Single-fault latency/);
    expect(r.out).toMatch(/pascal-pcie3 +mi250x-xnack/);
  }, 120_000);
  it('rejects an unknown profile with one line and exit 2', () => {
    const r = hetmem('faultbench', '--profiles', 'nope');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^hetmem faultbench: .*nope/);
  });
});
