// Bad input never crashes and never hangs silently (issue 14): each case once crashed, aborted
// V8, spun or misled; now it ends with one located line and exit 2, or runs and says what it
// did. Commands run in-process through main() (no tsx start-up per case).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { estimateScenario, BYTES_PER_TRACKED_PAGE, BYTES_PER_LANE } from '../../src/scenario/estimate.ts';
import { parseResults } from '../../src/report/results-schema.ts';

async function hetmem(...argv: string[]) {
  let out = '', err = '';
  const code = await main(argv, {
    out: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
    err: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream,
    env: {},
  });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'hetmem-bad-'));
function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** A small valid scenario: one GPU streams over a 4 MiB buffer (line 6 is the buffer). */
const BASE = `name: t
devices:
  - { name: gpu0, profile: gpu-pcie4 }
processes:
  - name: app
    allocations:
      - { name: a, size: 4 MiB }
steps:
  - kernel: { device: gpu0, workload: { type: streaming, buffer: a } }
`;

/** Exit 2 with exactly one line, `hetmem SUBCOMMAND: ` then `prefix`, and no stack trace. */
function oneLine(r: { code: number; out: string; err: string }, prefix: string, pattern: RegExp) {
  expect(r.code).toBe(2);
  expect(r.err.endsWith('\n')).toBe(true);
  expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/^hetmem (run|trace|report|faultbench): /);
  expect(r.err.replace(/^hetmem (run|trace|report|faultbench): /, '').startsWith(prefix)).toBe(true);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe('scenario files', () => {
  it('a YAML alias bomb is refused at its first alias', async () => {
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const p = String.fromCharCode(96 + i), n = String.fromCharCode(97 + i);
      rows.push(`${n}: &${n} [${Array(9).fill(`*${p}`).join(',')}]`);
    }
    const f = file('bomb.yaml', rows.join('\n') + '\nname: t\n');
    oneLine(await hetmem('run', f), `${f}:2:8: `, /invalid YAML: aliases expand to more than 10,000 nodes/);
  });

  it('profile: ./ (a directory) is refused at the profile', async () => {
    const f = file('dir.yaml', BASE.replace('profile: gpu-pcie4', 'profile: ./'));
    oneLine(await hetmem('run', f), `${f}:3:28: `, /devices\[0\]\.profile: expected a profile file, but "\.\/" is a directory/);
  });

  it('profile: /etc/passwd does not echo the whole file', async () => {
    const f = file('passwd.yaml', BASE.replace('profile: gpu-pcie4', 'profile: /etc/passwd'));
    const r = await hetmem('run', f);
    oneLine(r, '/etc/passwd:1:1: ', /expected a mapping of profile fields at the top level, got ".{60}"… \(\d+ characters\)/);
    expect(r.err.length).toBeLessThan(200);
  });

  for (const [bw, page] of [['0.001', '4.10e+6'], ['1', '4.10e+3']]) {
    it(`a link bandwidth of ${bw} B/s and a memory bandwidth of ${bw} B/s are refused`, async () => {
      const link = file(`link${bw}.yaml`, BASE.replace('processes:', `topology:\n  links:\n    - { id: l0, kind: nvlink, a: gpu0, b: cpu0, bandwidth: ${bw}, latencyPs: 1 ns }\nprocesses:`));
      oneLine(await hetmem('run', link), `${link}:6:60: `, new RegExp(`topology\\.links\\[0\\]\\.bandwidth: expected a bandwidth of at least 1 MB/s \\(a 4 KiB page would take ${page.replace(/[.+]/g, '\\$&')} s\\), got ${bw} B/s`));
      const mem = file(`mem${bw}.yaml`, BASE.replace('processes:', `topology:\n  sockets: [{ id: cpu0, memoryBytes: 1 GiB, memoryBandwidth: ${bw}, memoryLatencyPs: 100 ns }]\nprocesses:`));
      oneLine(await hetmem('run', mem), `${mem}:5:`, /topology\.sockets\[0\]\.memoryBandwidth: expected a bandwidth of at least 1 MB\/s/);
    });
  }

  it('a 128 TiB buffer is refused by the estimate, and with --force by mmap, at the buffer', async () => {
    const f = file('huge.yaml', BASE.replace('size: 4 MiB', 'size: 128 TiB'));
    oneLine(await hetmem('run', f), `${f}:7:9: `, /the model state would take at least 768 GiB .* more than the 8 GiB allowed; .* --force$/m);
    const r = await hetmem('run', f, '--force');
    expect(r.code).toBe(2);
    const [warning, line, ...rest] = r.err.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(warning).toMatch(/^hetmem run: --force: the estimate is at least 768 GiB of model state/);
    expect(line).toBe(`hetmem run: ${f}:7:9: cannot map 128 TiB: mmap: ENOMEM (the address space holds 128 TiB)`);
  });

  it('lanes: 4294967296 is refused by the estimate at the lanes', async () => {
    const f = file('lanes.yaml', BASE.replace('buffer: a }', 'buffer: a, lanes: 4294967296 }'));
    oneLine(await hetmem('run', f), `${f}:9:76: `, /model state would take at least 256 GiB/);
  });

  it('compute: 1000 s is refused: its simulated time is past what the engine represents', async () => {
    const f = file('compute.yaml', BASE.replace('buffer: a }', 'buffer: a, compute: 1000 s }'));
    oneLine(await hetmem('run', f), `${f}:9:`, /compute alone takes at least 3\.20e\+4 s of simulated time, past the 2\^53 ps/);
  });

  it('bucket: 1 ps stops at the timeline cap, located at bucket', async () => {
    const f = file('bucket.yaml', `bucket: 1 ps\n${BASE}`);
    oneLine(await hetmem('run', f), `${f}:1:9: `, /the run went past 1000000 timeline buckets of 1 ps .*expected a wider bucket/);
  }, 60_000);

  it('--scale 1e300 and --scale 1e6 are refused with the scale named', async () => {
    oneLine(await hetmem('run', '--scale', '1e300'), '', /:\d+:\d+: .*at --scale 1e\+300/);
    oneLine(await hetmem('run', '--scale', '1e6'), '', /:\d+:\d+: the model state would take at least .* at --scale 1000000 /);
  });

  it('--out /proc/x is one line, not an endless loop', async () => {
    const f = file('ok.yaml', BASE);
    oneLine(await hetmem('run', f, '--out', '/proc/x/y'), '/proc/x/y: ', /cannot create the output directory: \/proc does not take new directories/);
  });

  it('duration: 1 ps runs and says it was cut short', async () => {
    const f = file('duration.yaml', `duration: 1 ps\n${BASE}`);
    const r = await hetmem('run', f);
    expect(r.code).toBe(0);
    expect(r.err).toBe('hetmem run: cut short by duration 1 ps: 0 of 1 steps finished; the counters below cover only that part\n');
    expect(r.out.split('\n')[1]).toBe('cut short by duration 1 ps: 0 of 1 steps finished; the counters below cover only that part');
    // A run that finishes says nothing of the kind.
    const whole = await hetmem('run', file('whole.yaml', `duration: 1 s\n${BASE}`));
    expect(whole.code).toBe(0);
    expect(whole.err).toBe('');
    expect(whole.out).not.toContain('cut short');
  });
});

describe('the input-size estimate', () => {
  it('follows its formula on a small scenario', () => {
    const s = loadScenario(file('est.yaml', BASE));
    const e = estimateScenario(s);
    // 1024 pages streamed (read: no data kept), 32 lanes; 32 accesses per lane at 1 ns.
    expect(e.bytes).toBe(1024 * BYTES_PER_TRACKED_PAGE + 32 * BYTES_PER_LANE);
    expect(e.simPs).toBe(32 * 1000);
    expect(e.events).toBe(32_000 / 10_000_000 + 32_000 / 1_000_000);
    // Writes keep data; the scale multiplies pages.
    const w = estimateScenario(loadScenario(file('estw.yaml', BASE.replace('buffer: a }', 'buffer: a, write: true }'))), 2);
    expect(w.bytes).toBe(2048 * (BYTES_PER_TRACKED_PAGE + 4096) + 32 * BYTES_PER_LANE);
    expect(w.bytesAt).toEqual(['processes', 0, 'allocations', 0]);
  });

  it('refuses an event count that would take hours, unless --force', async () => {
    // 4e8 accesses on one lane at 1 ns: 0.4 s simulated, in 1 ps quanta at least 4e11 kernel
    // steps; 40,000 timeline buckets are fine, so only the event estimate speaks.
    const f = file('slow.yaml', `quantum: 1 ps\n${BASE.replace('{ type: streaming, buffer: a }', '{ type: random, buffer: a, accesses: 400000000, lanes: 1 }')}`);
    oneLine(await hetmem('run', f), `${f}:`, /the run needs at least 4\.00e\+11 events .* over 11\.1 h at 1e\+7 events\/s; .* --force$/m);
  });
});

describe('trace scripts', () => {
  it('mmap A 4294967296 dev0 rw is refused on its line', async () => {
    const f = file('big.trace', 'mmap A 4294967296 dev0 rw\n');
    oneLine(await hetmem('trace', f), `${f}:1: `, /expected NPAGES ≤ 524288 for a device mapping/);
  });

  it('an op on a region whose mmap failed runs and prints err=no_such_region', async () => {
    const f = file('fail.trace', 'mmap A 0x900000000 anon rw\ncpu_write A 0 1\n');
    const r = await hetmem('trace', f);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('mmap A 0x900000000 anon rw => err=ENOMEM\ncpu_write A 0 1 => err=no_such_region\n# hmmtrace: 2 ops, 0 bad\n');
    // A name never mapped is still a typo.
    oneLine(await hetmem('trace', file('typo.trace', 'cpu_write B 0 1\n')), '', /:1: expected a region mapped by an earlier mmap, got 'B'/);
  });

  it('the syntax pre-check replays on --nodes 2: the NUMA corpus trace n6-0068 matches', async () => {
    const r = await hetmem('trace', '--kernel', '6.1', '--nodes', '2', '--check', join('test', 'oracle-numa', 'n6-0068.trace'));
    expect(r.err).toBe('');
    expect(r.out).toBe('1/1 traces match\n');
    expect(r.code).toBe(0);
  });

  it('lines over 1,023 and 2,046 characters are reported on their own line, with the piece', async () => {
    const f = file('long.trace', `echo a\necho ${'y'.repeat(1100)}\n`);
    oneLine(await hetmem('trace', f), `${f}:2: `, /got 'y{60}\.\.\.' \(82 characters\) \(in the part from character 1024: /);
    // Three pieces of one line: two echo ops of 1,023 characters each, then a bad op.
    const g = file('long2.trace', `echo a\necho b\necho ${'a'.repeat(1018)}echo ${'b'.repeat(1018)}bogus\n`);
    oneLine(await hetmem('trace', g), `${g}:3: `, /\(in the part from character 2047: /);
    const h = file('long3.trace', `echo a\n${'x'.repeat(1500)}\necho b\n`);
    oneLine(await hetmem('trace', h), `${h}:2: `, /got 'x{60}\.\.\.' \(1023 characters\)$/m);
  });

  it('a missing file says so (not line 0)', async () => {
    oneLine(await hetmem('trace', join(dir, 'none.trace')), `${join(dir, 'none.trace')}: `, /cannot read the op script: no such file$/m);
  });

  it('a region ID over 31 characters is refused', async () => {
    const f = file('id.trace', `mmap ${'R'.repeat(40)} 4 anon rw\n`);
    oneLine(await hetmem('trace', f), `${f}:1: `, /expected ID of at most 31 characters, got 40/);
    const ok = await hetmem('trace', file('id31.trace', `mmap ${'R'.repeat(31)} 4 anon rw\n`));
    expect(ok.code).toBe(0);
  });
});

describe('results files', () => {
  it('negative times are refused', () => {
    const text = JSON.stringify({ schema: 1, name: 'x', seed: 1, endPs: -5 });
    expect(() => parseResults(text, 'r.json')).toThrow('r.json: endPs: expected a number >= 0, got -5');
  });
});
