/**
 * `hetmem oracle build | run | fuzz`: the real kernel (tools/oracle: Linux with test_hmm under
 * QEMU) asked the same questions as the model. See README.md, "Asking the real kernel".
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { DEFAULT_KERNEL, ORACLE_KERNELS, isKernelVersion, listVersions, type KernelVersion } from '../mm/kernel.ts';
import type { Oracle, OracleNodes } from './kernel.ts';
// kernel.ts and fuzz.ts (which loads the whole model) are imported when a subcommand runs, so
// that registering `oracle` costs every other command nothing (bench/README.md, CLI start-up).

export interface OracleIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Sets the exit code. */
  exit: (code: number) => void;
  /** Builds the oracle for the run and fuzz commands (tests pass a canned one). */
  makeOracle?: (kernel: KernelVersion, dir: string, progress: (line: string) => void, nodes: OracleNodes) => Oracle;
  /** Builds an oracle image (default buildOracle; tests pass one that records the call). */
  build?: (kernel: KernelVersion, dir: string, out: (s: string) => void, nodes: OracleNodes) => number;
}

/** A bad argument: `hetmem oracle CMD: what`, exit 2. */
class ArgError extends Error {}

function kernelOf(cmd: string, v: string): KernelVersion {
  // 7.x is modelled from source only: no oracle image exists for it.
  if (!isKernelVersion(v) || !ORACLE_KERNELS.includes(v)) throw new ArgError(`hetmem oracle ${cmd}: --kernel: expected ${listVersions(ORACLE_KERNELS)}, got '${v}'`);
  return v;
}

/** --nodes: the oracle boots with one node or with two fake NUMA nodes (tools/oracle-numa). */
function nodesOf(cmd: string, v: string): OracleNodes {
  if (v !== '1' && v !== '2') throw new ArgError(`hetmem oracle ${cmd}: --nodes: expected 1 or 2, got '${v}'`);
  return v === '1' ? 1 : 2;
}

const NODES_HELP = '1, or 2: two fake NUMA nodes (numa=fake=2), scripts with move_pages / page_node / set_mempolicy';
const DIR_HELP = 'the oracle built by hetmem oracle build (default by kernel and nodes: /tmp/oracle, /tmp/oracle612, /tmp/oracle-numa, /tmp/oracle-numa612)';

function intOf(cmd: string, flag: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new ArgError(`hetmem oracle ${cmd}: ${flag}: expected an integer ≥ ${min}, got '${v}'`);
  return n;
}

export function registerOracle(program: Command, io: OracleIo): void {
  const oracle = program.command('oracle').description('ask the real kernel: build Linux with test_hmm for QEMU, replay op scripts on it, fuzz the model against it');
  const make = async (k: KernelVersion, dir: string, progress: (line: string) => void, nodes: OracleNodes): Promise<Oracle> =>
    io.makeOracle?.(k, dir, progress, nodes) ?? new (await import('./kernel.ts')).QemuOracle(k, dir, progress, undefined, nodes);
  const build = async (k: KernelVersion, dir: string, out: (s: string) => void, nodes: OracleNodes): Promise<number> =>
    io.build?.(k, dir, out, nodes) ?? (await import('./kernel.ts')).buildOracle(k, dir, out, undefined, nodes);
  const guard = async (body: () => Promise<void> | void) => {
    const { OracleError } = await import('./kernel.ts');
    try {
      await body();
    } catch (e) {
      if (e instanceof ArgError || e instanceof OracleError) {
        io.err(`${e.message.split('\n')[0]}\n`);
        io.exit(2);
      } else throw e;
    }
  };

  oracle
    .command('build')
    .description('build the oracle (kernel, test_hmm, hmmtrace, initramfs) from Debian\'s linux-source package and boot its hmm-tests once')
    .option('--kernel <version>', `${listVersions(ORACLE_KERNELS)}`, DEFAULT_KERNEL)
    .option('--nodes <n>', NODES_HELP, '1')
    .option('--dir <dir>', 'where the artefacts go (default by kernel and nodes: /tmp/oracle, /tmp/oracle612, /tmp/oracle-numa, /tmp/oracle-numa612)')
    .action((opts: { kernel: string; nodes: string; dir?: string }) => guard(async () => {
      const { defaultOracleDir } = await import('./kernel.ts');
      const k = kernelOf('build', opts.kernel), nodes = nodesOf('build', opts.nodes);
      const code = await build(k, opts.dir ?? defaultOracleDir(k, nodes), io.out, nodes);
      if (code !== 0) io.err(`hetmem oracle build: tools/oracle/build.sh failed (exit ${code}); its last lines are above\n`);
      io.exit(code === 0 ? 0 : 1);
    }));

  oracle
    .command('run')
    .description('replay op scripts on the real kernel and print its output (each script in a fresh process; crashes and hangs reported as KERNEL_CRASH / KERNEL_HANG)')
    .argument('<files...>', 'op scripts (NAME.trace)')
    .option('--kernel <version>', `${listVersions(ORACLE_KERNELS)}`, DEFAULT_KERNEL)
    .option('--nodes <n>', NODES_HELP, '1')
    .option('--dir <dir>', DIR_HELP)
    .option('--record', 'write NAME.out beside each script instead of printing')
    .action((files: string[], opts: { kernel: string; nodes: string; dir?: string; record?: boolean }) => guard(async () => {
      const { defaultOracleDir } = await import('./kernel.ts');
      const k = kernelOf('run', opts.kernel), nodes = nodesOf('run', opts.nodes);
      const scripts = files.map((f) => {
        if (!f.endsWith('.trace')) throw new ArgError(`${f}: expected an op script named NAME.trace`);
        if (!existsSync(f) || !statSync(f).isFile()) throw new ArgError(`${f}: cannot read the op script: no such file`);
        return { file: f, name: f.replace(/^.*\//, '').replace(/\.trace$/, ''), text: readFileSync(f, 'utf8') };
      });
      const names = new Set(scripts.map((s) => s.name));
      if (names.size !== scripts.length) throw new ArgError('hetmem oracle run: two scripts have the same file name; the kernel run keys outputs by name');
      const outs = await (await make(k, opts.dir ?? defaultOracleDir(k, nodes), (l) => io.err(`${l}\n`), nodes)).run(scripts);
      let crashed = 0;
      for (const s of scripts) {
        const o = outs.get(s.name)!;
        if (/=> KERNEL_(CRASH|HANG)$/m.test(o)) crashed++;
        if (opts.record) writeFileSync(s.file.replace(/\.trace$/, '.out'), o);
        else io.out(scripts.length > 1 ? `== ${s.file}\n${o}` : o);
      }
      if (opts.record) io.out(`recorded ${scripts.length} outputs on Linux ${k}${nodes === 2 ? ' (two nodes)' : ''}${crashed > 0 ? ` (${crashed} ended in a kernel crash or hang)` : ''}\n`);
      else if (crashed > 0) io.err(`hetmem oracle run: ${crashed} of ${scripts.length} scripts ended in a kernel crash or hang\n`);
      io.exit(0);
    }));

  oracle
    .command('fuzz')
    .description('generate random op scripts, run them on the kernel and on the model, and write each difference with both outputs and a delta-debugged minimal script')
    .option('--kernel <version>', `${listVersions(ORACLE_KERNELS)}`, DEFAULT_KERNEL)
    .option('--nodes <n>', `${NODES_HELP}; the model then runs with two nodes too`, '1')
    .option('--dir <dir>', DIR_HELP)
    .option('--count <n>', 'scripts to generate', '100')
    .option('--seed <s>', 'generator seed (what the scripts lean on: see src/oracle/generate.ts)', '14')
    .option('--long', 'scripts of 150-300 ops')
    .option('--out <dir>', 'where differences go', 'oracle-fuzz')
    .option('--no-minimize', 'write differences without minimizing them')
    .action((opts: { kernel: string; nodes: string; dir?: string; count: string; seed: string; long?: boolean; out: string; minimize: boolean }) => guard(async () => {
      const { defaultOracleDir } = await import('./kernel.ts');
      const { fuzz } = await import('./fuzz.ts');
      const k = kernelOf('fuzz', opts.kernel), nodes = nodesOf('fuzz', opts.nodes);
      const count = intOf('fuzz', '--count', opts.count, 1), seed = intOf('fuzz', '--seed', opts.seed, 0);
      // Two nodes: the generator's NUMA ops (tools/gen-traces.ts 'numa'), the model on two nodes.
      const r = await fuzz({
        oracle: await make(k, opts.dir ?? defaultOracleDir(k, nodes), (l) => io.err(`${l}\n`), nodes),
        count, seed, gen: { long: !!opts.long, numa: nodes === 2 }, nodes, outDir: opts.out, minimize: opts.minimize,
        log: (l) => io.out(`${l}\n`),
      });
      io.out(`${r.total - r.findings.length}/${r.total} scripts agree with Linux ${k}${nodes === 2 ? ' on two nodes' : ''}${r.findings.length > 0 ? `; differences in ${opts.out}/` : ''}\n`);
      io.exit(r.findings.length > 0 ? 1 : 0);
    }));
}
