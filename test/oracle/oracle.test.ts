// hetmem oracle without a kernel: the generator, the comparison, the minimizer and the fuzz
// loop, driven by canned kernel outputs. A "kernel" here is either recorded outputs (the 6.12
// corpora) or the model of the other version standing in for it, so a difference is a real
// 6.1/6.12 difference with a known cause. The QEMU path is tested only with HETMEM_ORACLE=1
// (test/oracle/qemu.test.ts).
import { describe, it, expect } from 'vitest';
import { Command } from 'commander';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateTraces, traceName } from '../../src/oracle/generate.ts';
import { compareOutputs, describeDifference, firstDifferingLine, modelOutput } from '../../src/oracle/compare.ts';
import { ddmin, scriptOps } from '../../src/oracle/minimize.ts';
import { fuzz } from '../../src/oracle/fuzz.ts';
import { checkRunnable, defaultOracleDir, missingForBuild, oracleScripts, OracleError, type Oracle, type OracleNodes } from '../../src/oracle/kernel.ts';
import { registerOracle } from '../../src/oracle/cli.ts';
import type { KernelVersion } from '../../src/mm/kernel.ts';
import { ROOT } from '../paths.ts';

/** A stand-in kernel: answers every script with the model of `as` (and counts the scripts run). */
function modelKernel(kernel: KernelVersion, as: KernelVersion): Oracle & { runs: number } {
  return {
    kernel,
    runs: 0,
    async run(scripts) {
      this.runs += scripts.length;
      return new Map(scripts.map((s) => [s.name, modelOutput(s.text, { kernel: as })]));
    },
  };
}

/**
 * A stand-in two-node 6.12 kernel: the outputs test/oracle-numa-612 recorded on the two-node
 * oracle, looked up by name; a script it has no record of (or whose text differs) is an error.
 */
function recordedNuma612(): Oracle & { names: string[] } {
  const dir = join(ROOT, 'test', 'oracle-numa-612');
  return {
    kernel: '6.12',
    names: [],
    async run(scripts) {
      return new Map(scripts.map((s) => {
        this.names.push(s.name);
        if (readFileSync(join(dir, `${s.name}.trace`), 'utf8') !== s.text) throw new Error(`${s.name}: not the recorded script`);
        return [s.name, readFileSync(join(dir, `${s.name}.out`), 'utf8')];
      }));
    },
  };
}

describe('generator', () => {
  it('writes the committed corpora byte for byte (same seed, index and options)', () => {
    for (const [dir, seed, opts, idx] of [
      ['oracle-long-612', 7, { long: true }, 12],
      ['oracle-corpus-612', 13, {}, 35],
      ['oracle-corpus-612', 8, {}, 134],
    ] as const) {
      const [t] = generateTraces(seed, 1, opts, idx);
      expect(t.name).toBe(traceName(seed, idx, opts));
      expect(t.text).toBe(readFileSync(join(ROOT, 'test', dir, `${t.name}.trace`), 'utf8'));
    }
  });
  it('writes the two-node corpora byte for byte too (numa, and numa + long)', () => {
    for (const [dir, seed, opts, idx] of [
      ['oracle-numa-612', 9, { numa: true }, 44],
      ['oracle-numa-612', 14, { numa: true, long: true }, 8],
      ['oracle-numa', 12, { numa: true }, 91],
    ] as const) {
      const [t] = generateTraces(seed, 1, opts, idx);
      expect(t.text).toBe(readFileSync(join(ROOT, 'test', dir, `${t.name}.trace`), 'utf8'));
    }
  });
  it('names scripts by mode and long scripts have 150-300 ops after the first mmap', () => {
    expect([traceName(3, 7), traceName(3, 7, { numa: true }), traceName(3, 7, { long: true }), traceName(3, 7, { long: true, numa: true })]).toEqual(['r3-0007', 'n3-0007', 'l3-0007', 'm3-0007']);
    for (const t of generateTraces(5, 20, { long: true })) {
      const n = scriptOps(t.text).length;
      expect(n).toBeGreaterThanOrEqual(151);
      expect(n).toBeLessThanOrEqual(301);
    }
    expect(generateTraces(9, 20, { numa: true }).some((t) => /^move_pages /m.test(t.text))).toBe(true);
    expect(generateTraces(9, 20).some((t) => /^move_pages /m.test(t.text))).toBe(false);
  });
});

describe('comparison', () => {
  it('agrees with a recorded 6.12 kernel output, and names the first differing line on 6.1', () => {
    const dir = join(ROOT, 'test', 'oracle-corpus-612');
    const script = readFileSync(join(dir, 'r8-0134.trace'), 'utf8'), recorded = readFileSync(join(dir, 'r8-0134.out'), 'utf8');
    expect(compareOutputs('r8-0134', script, recorded, modelOutput(script, { kernel: '6.12' }))).toBeUndefined();
    const d = compareOutputs('r8-0134', script, recorded, modelOutput(script, { kernel: '6.1' }))!;
    expect(d.kind).toBe('output');
    expect(d.line).toBe(firstDifferingLine(recorded, modelOutput(script, { kernel: '6.1' })));
    expect(recorded.split('\n').slice(0, d.line - 1)).toEqual(modelOutput(script, { kernel: '6.1' }).split('\n').slice(0, d.line - 1));
    expect(describeDifference(d)).toMatch(/^r8-0134: outputs differ; first at output line \d+: kernel '.+', model '.+'$/);
  });
  it('names a crash or hang on one side only', () => {
    const ok = 'mmap A 1 anon rw => ok\n# hmmtrace: 1 ops, 0 bad\n';
    const crash = 'mmap A 1 anon rw => ok\ndev_read 0 A 0 1 => KERNEL_CRASH\n# trace did not finish (kernel crash)\n';
    const hang = 'mmap A 1 anon rw => ok\nrelease 2 => KERNEL_HANG\n';
    expect(compareOutputs('x', '', crash, ok)!.kind).toBe('kernel-crash');
    expect(compareOutputs('x', '', ok, crash)!.kind).toBe('model-crash');
    expect(compareOutputs('x', '', hang, ok)!.kind).toBe('kernel-hang');
    expect(compareOutputs('x', '', ok, hang)!.kind).toBe('model-hang');
    expect(compareOutputs('x', '', crash, crash)).toBeUndefined();
    expect(describeDifference(compareOutputs('x', '', crash, ok)!)).toMatch(/the kernel crashed, the model did not; first at output line 2: kernel 'dev_read 0 A 0 1 => KERNEL_CRASH'/);
  });
});

describe('minimizer', () => {
  it('ddmin finds the one culprit op, and the pair that must meet', async () => {
    const ops = Array.from({ length: 40 }, (_, i) => `op${i}`);
    const one = await ddmin(ops, async (c) => c.map((o) => o.includes('op17')));
    expect(one.ops).toEqual(['op17']);
    const two = await ddmin(ops, async (c) => c.map((o) => o.includes('op3') && o.includes('op31')));
    expect(two.ops).toEqual(['op3', 'op31']);
    expect(two.rounds).toBeGreaterThan(1);
    expect(two.tests).toBeGreaterThan(two.rounds);
  });
  it('on a long script where 6.1 and 6.12 differ, the minimized script still differs and no single op can go', async () => {
    const dir = join(ROOT, 'test', 'oracle-long-612');
    const recorded6_1 = modelKernel('6.12', '6.1'); // a "6.12 kernel" that behaves like 6.1
    const name = readdirSync(dir).filter((f) => f.endsWith('.trace')).sort().find((f) => {
      const s = readFileSync(join(dir, f), 'utf8');
      return modelOutput(s, { kernel: '6.1' }) !== modelOutput(s, { kernel: '6.12' });
    })!;
    const ops = scriptOps(readFileSync(join(dir, name), 'utf8'));
    const differs = (o: string[]) => { const s = o.join('\n') + '\n'; return modelOutput(s, { kernel: '6.1' }) !== modelOutput(s, { kernel: '6.12' }); };
    const m = await ddmin(ops, async (c) => { await recorded6_1.run([]); return c.map(differs); });
    expect(differs(m.ops)).toBe(true);
    expect(m.ops.length).toBeLessThan(12);
    expect(m.ops.length).toBeLessThan(ops.length / 10);
    for (let i = 0; i < m.ops.length; i++) expect(differs(m.ops.filter((_, j) => j !== i)), `without op ${i}`).toBe(false);
  });
});

describe('fuzz', () => {
  it('writes each difference with both outputs and a minimized script; none when kernel and model agree', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hetmem-fuzz-'));
    const k = modelKernel('6.12', '6.1');
    const lines: string[] = [];
    const r = await fuzz({ oracle: k, count: 12, seed: 8, outDir: out, log: (l) => lines.push(l) });
    expect(r.total).toBe(12);
    expect(r.findings.length).toBeGreaterThan(0);
    for (const f of r.findings) {
      const n = f.difference.name;
      expect(readFileSync(join(out, `${n}.kernel.out`), 'utf8')).toBe(modelOutput(f.difference.script, { kernel: '6.1' }));
      expect(readFileSync(join(out, `${n}.model.out`), 'utf8')).toBe(modelOutput(f.difference.script, { kernel: '6.12' }));
      const min = readFileSync(join(out, `${n}.min.trace`), 'utf8');
      expect(scriptOps(min).length).toBeLessThan(scriptOps(f.difference.script).length);
      expect(readFileSync(join(out, `${n}.min.kernel.out`), 'utf8')).not.toBe(readFileSync(join(out, `${n}.min.model.out`), 'utf8'));
    }
    expect(lines.some((l) => /minimized to \d+ of \d+ ops/.test(l))).toBe(true);
    const same = mkdtempSync(join(tmpdir(), 'hetmem-fuzz-'));
    const agree = await fuzz({ oracle: modelKernel('6.12', '6.12'), count: 12, seed: 8, outDir: same });
    expect(agree.findings).toEqual([]);
    expect(readdirSync(same)).toEqual([]);
  });
});

describe('hetmem oracle (CLI, canned kernel)', () => {
  /** What the command asked for: the oracle's kernel, directory and nodes, or a build's. */
  const asked: Array<{ kernel: string; dir: string; nodes: OracleNodes; build?: true }> = [];
  async function cli(args: string[], kernel?: Oracle) {
    let out = '', err = '', code = -1;
    const p = new Command().exitOverride();
    registerOracle(p, {
      out: (s) => (out += s), err: (s) => (err += s), exit: (c) => (code = c),
      ...(kernel ? { makeOracle: (k, dir, _progress, nodes) => (asked.push({ kernel: k, dir, nodes }), kernel) } : {}),
      build: (k, dir, o, nodes) => (asked.push({ kernel: k, dir, nodes, build: true }), o(`built ${k} ${nodes}\n`), 0),
    });
    await p.parseAsync(['oracle', ...args], { from: 'user' });
    return { out, err, code };
  }
  const dir = mkdtempSync(join(tmpdir(), 'hetmem-oracle-cli-'));
  const script = join(dir, 'a.trace');
  writeFileSync(script, 'mmap A 4 anon rw\ncpu_write A 0 0x5\nmprotect A r\nmprotect A rw\nsnapshot 0 A 0 2\n');

  it('run prints the kernel output; --record writes NAME.out beside the script', async () => {
    const r = await cli(['run', '--kernel', '6.1', script], modelKernel('6.1', '6.1'));
    expect(r.code).toBe(0);
    expect(r.out).toBe(modelOutput(readFileSync(script, 'utf8'), { kernel: '6.1' }));
    const rec = await cli(['run', '--record', script], modelKernel('6.12', '6.12'));
    expect(rec.out).toBe('recorded 1 outputs on Linux 6.12\n');
    expect(readFileSync(join(dir, 'a.out'), 'utf8')).toBe(modelOutput(readFileSync(script, 'utf8'), { kernel: '6.12' }));
  });
  it('fuzz exits 1 with differences, 0 without', async () => {
    const out = join(dir, 'fz');
    const bad = await cli(['fuzz', '--count', '6', '--seed', '13', '--out', out, '--no-minimize'], modelKernel('6.12', '6.1'));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/\d+\/6 scripts agree with Linux 6\.12; differences in .*fz\/\n$/);
    expect(existsSync(out)).toBe(true);
    const good = await cli(['fuzz', '--count', '6', '--seed', '13', '--out', join(dir, 'fz2')], modelKernel('6.12', '6.12'));
    expect(good.code).toBe(0);
    expect(good.out.trimEnd().split('\n').at(-1)).toBe('6/6 scripts agree with Linux 6.12');
  });
  it('--nodes 2: run and build use the two-node oracle (its own default directory)', async () => {
    asked.length = 0;
    const r = await cli(['run', '--nodes', '2', '--record', script], modelKernel('6.12', '6.12'));
    expect(r.out).toBe('recorded 1 outputs on Linux 6.12 (two nodes)\n');
    expect(asked).toEqual([{ kernel: '6.12', dir: '/tmp/oracle-numa612', nodes: 2 }]);
    const b = await cli(['build', '--kernel', '6.1', '--nodes', '2']);
    expect(b.code).toBe(0);
    expect(b.out).toBe('built 6.1 2\n');
    expect(asked[1]).toEqual({ kernel: '6.1', dir: '/tmp/oracle-numa', nodes: 2, build: true });
    await cli(['build']);
    expect(asked[2]).toEqual({ kernel: '6.12', dir: '/tmp/oracle612', nodes: 1, build: true });
    expect([defaultOracleDir('6.1'), defaultOracleDir('6.12'), defaultOracleDir('6.1', 2), defaultOracleDir('6.12', 2)]).toEqual(['/tmp/oracle', '/tmp/oracle612', '/tmp/oracle-numa', '/tmp/oracle-numa612']);
  });
  it('fuzz --nodes 2 generates the NUMA scripts and replays them on a two-node model: the two-node 6.12 records agree; the one-node model does not', async () => {
    const k = recordedNuma612();
    const two = await cli(['fuzz', '--nodes', '2', '--seed', '9', '--count', '12', '--out', join(dir, 'fzn')], k);
    expect(k.names).toEqual(Array.from({ length: 12 }, (_, i) => `n9-${String(i).padStart(4, '0')}`));
    expect(two.out.trimEnd().split('\n').at(-1)).toBe('12/12 scripts agree with Linux 6.12 on two nodes');
    expect(two.code).toBe(0);
    // The same kernel outputs against a one-node model: move_pages to node 1 is -ENODEV there.
    const one = await fuzz({ oracle: recordedNuma612(), count: 12, seed: 9, gen: { numa: true }, nodes: 1, outDir: join(dir, 'fzn1'), minimize: false });
    expect(one.findings.length).toBeGreaterThan(0);
    expect(one.findings.some((f) => /move_pages|page_node/.test(f.difference.modelOut.split('\n')[f.difference.line - 1] ?? ''))).toBe(true);
  });
  it('bad input is one line and exit 2: kernel, count, seed, a missing or misnamed script', async () => {
    for (const [args, msg] of [
      [['run', '--nodes', '3', script], "hetmem oracle run: --nodes: expected 1 or 2, got '3'\n"],
      [['fuzz', '--nodes', 'two'], "hetmem oracle fuzz: --nodes: expected 1 or 2, got 'two'\n"],
      [['build', '--nodes', '0'], "hetmem oracle build: --nodes: expected 1 or 2, got '0'\n"],
      [['run', '--kernel', '6.2', script], "hetmem oracle run: --kernel: expected 6.1 or 6.12, got '6.2'\n"],
      // 7.x is a model kernel only: no oracle runs it.
      [['run', '--kernel', '7.x', script], "hetmem oracle run: --kernel: expected 6.1 or 6.12, got '7.x'\n"],
      [['fuzz', '--count', '0'], "hetmem oracle fuzz: --count: expected an integer ≥ 1, got '0'\n"],
      [['fuzz', '--seed', '-1'], "hetmem oracle fuzz: --seed: expected an integer ≥ 0, got '-1'\n"],
      [['run', join(dir, 'none.trace')], `${join(dir, 'none.trace')}: cannot read the op script: no such file\n`],
      [['run', join(dir, 'a.txt')], `${join(dir, 'a.txt')}: expected an op script named NAME.trace\n`],
    ] as const) {
      const r = await cli([...args], modelKernel('6.12', '6.12'));
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toBe(msg);
    }
  });
  it('the two-node scripts are tools/oracle-numa/setup.sh\'s variant of tools/oracle; a one-node image is refused for two nodes', () => {
    const o = join(dir, 'numa-oracle');
    const scripts = oracleScripts(2, o);
    expect(scripts).toBe(join(o, 'numa-scripts'));
    expect(readFileSync(join(scripts, 'boot.sh'), 'utf8')).toContain('numa=fake=2');
    expect(readFileSync(join(scripts, 'hmmtrace.c'), 'utf8')).toContain('if (!strcmp(op, "move_pages")) return op_move_pages(t, n, 0);');
    expect(readFileSync(join(scripts, 'kconfig-hmm.sh'), 'utf8')).toContain('--enable NUMA --enable NUMA_EMU');
    expect(oracleScripts(1, o)).toMatch(/tools\/oracle$/);
    // A fake image and a fake QEMU: what checkRunnable looks at.
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'qemu-system-x86_64'), '');
    mkdirSync(join(o, 'build', 'arch', 'x86', 'boot'), { recursive: true });
    writeFileSync(join(o, 'build', 'arch', 'x86', 'boot', 'bzImage'), '');
    writeFileSync(join(o, 'build', '.config'), 'CONFIG_NUMA=y\n');
    expect(() => checkRunnable('6.12', o, bin, 1)).not.toThrow();
    expect(() => checkRunnable('6.12', o, bin, 2)).toThrow(`${o} holds a one-node oracle (its kernel has no CONFIG_NUMA_EMU=y): run hetmem oracle build --kernel 6.12 --nodes 2 --dir ${o}`);
    writeFileSync(join(o, 'build', '.config'), 'CONFIG_NUMA=y\nCONFIG_NUMA_EMU=y\n');
    expect(() => checkRunnable('6.12', o, bin, 2)).not.toThrow();
    expect(() => checkRunnable('6.12', join(dir, 'none'), bin, 2)).toThrow(`no 6.12 kernel image in ${join(dir, 'none')}: run hetmem oracle build --kernel 6.12 --nodes 2 --dir ${join(dir, 'none')} first`);
  });
  it('without an image or QEMU, says what to do', () => {
    expect(() => checkRunnable('6.12', join(dir, 'no-oracle'), '/nonexistent')).toThrow(OracleError);
    expect(() => checkRunnable('6.12', join(dir, 'no-oracle'), '/nonexistent')).toThrow(/qemu-system-x86_64 is not installed \(Debian package qemu-system-x86/);
    expect(missingForBuild('6.12', '/nonexistent').join(', ')).toMatch(/qemu-system-x86_64 \(Debian package qemu-system-x86\), gcc \(Debian package build-essential\)/);
  });
});
