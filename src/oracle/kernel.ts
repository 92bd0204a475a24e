/**
 * The real kernel as a function from op scripts to outputs: tools/oracle (Linux with test_hmm
 * under QEMU, built from Debian's kernel source packages) driven through its run-batch.sh.
 * Nothing here is needed by the model or its tests; `hetmem oracle` uses it, and the tests
 * exercise it only with HETMEM_ORACLE=1 (it needs QEMU and a built image).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { KernelVersion } from '../mm/kernel.ts';

/** tools/oracle: the scripts that build and boot the oracle (README.md there). */
export const ORACLE_TOOLS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'oracle');
/** tools/oracle-numa: setup.sh, which makes the two-node variant of those scripts. */
export const ORACLE_NUMA_TOOLS = resolve(ORACLE_TOOLS, '..', 'oracle-numa');

/**
 * NUMA nodes an oracle boots with: 1 (tools/oracle as it is) or 2 (tools/oracle-numa's variant:
 * CONFIG_NUMA_EMU, `numa=fake=2`, hmmtrace with move_pages / page_node / set_mempolicy).
 */
export type OracleNodes = 1 | 2;

/** A problem the user can fix (a missing package, no image yet): one line, exit 2. */
export class OracleError extends Error {
  override name = 'OracleError';
}

/** Runs op scripts on a kernel; returns each script's output by name. */
export interface Oracle {
  readonly kernel: KernelVersion;
  run(scripts: ReadonlyArray<{ name: string; text: string }>): Promise<Map<string, string>>;
}

/**
 * Where a kernel's artefacts go unless told: build.sh's defaults (tools/oracle/kver.sh) for one
 * node, tools/oracle-numa's (README.md there) with `-numa` for two.
 */
export function defaultOracleDir(kernel: KernelVersion, nodes: OracleNodes = 1): string {
  const base = kernel === '6.1' ? '/tmp/oracle' : '/tmp/oracle612';
  return nodes === 1 ? base : base.replace('oracle', 'oracle-numa');
}

/** The kernel configuration option only a two-node oracle has (setup.sh enables it). */
const NUMA_OPTION = 'CONFIG_NUMA_EMU=y';

/** Whether the image in `dir` was built for two nodes (its .config has NUMA emulation). */
export function builtForTwoNodes(dir: string): boolean {
  const cfg = join(dir, 'build', '.config');
  return existsSync(cfg) && readFileSync(cfg, 'utf8').split('\n').includes(NUMA_OPTION);
}

/**
 * The scripts that build and run an oracle of `nodes` nodes: tools/oracle itself for one, and
 * for two its variant that tools/oracle-numa/setup.sh writes into DIR/numa-scripts (a copy with
 * the NUMA kernel options, `numa=fake=2` at boot and the NUMA ops in hmmtrace), made afresh each
 * time so that it follows the project's scripts.
 */
export function oracleScripts(nodes: OracleNodes, dir: string): string {
  if (nodes === 1) return ORACLE_TOOLS;
  const scripts = join(dir, 'numa-scripts');
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(join(ORACLE_NUMA_TOOLS, 'setup.sh'), [], {
    env: { ...process.env, ORACLE_SRC: ORACLE_TOOLS, NUMA_SCRIPTS: scripts, ORACLE_DIR: dir },
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) throw new OracleError(`tools/oracle-numa/setup.sh failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').at(-1) || `exit ${r.status}`}`);
  return scripts;
}

/** Whether `cmd` is an executable on PATH. */
export function onPath(cmd: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((d) => d !== '' && existsSync(join(d, cmd)));
}

/**
 * What `hetmem oracle build` needs that is missing: each as "what (how to get it)". build.sh
 * installs Debian packages itself when run as root; anyone else gets this list.
 */
export function missingForBuild(kernel: KernelVersion, path = process.env.PATH ?? ''): string[] {
  const missing: string[] = [];
  if (!onPath('qemu-system-x86_64', path)) missing.push('qemu-system-x86_64 (Debian package qemu-system-x86)');
  for (const [cmd, pkg] of [['gcc', 'build-essential'], ['make', 'build-essential'], ['bc', 'bc'], ['bison', 'bison'], ['flex', 'flex'], ['cpio', 'cpio']] as const) {
    if (!onPath(cmd, path)) missing.push(`${cmd} (Debian package ${pkg})`);
  }
  if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (Debian package busybox-static)');
  if (!existsSync(`/usr/src/linux-source-${kernel}.tar.xz`)) missing.push(`/usr/src/linux-source-${kernel}.tar.xz (Debian package linux-source-${kernel})`);
  return missing;
}

/**
 * Refuses to run when there is no QEMU or no built image in `dir`, or one built for another
 * kernel, or (for two nodes) one built without NUMA, saying what to do.
 */
export function checkRunnable(kernel: KernelVersion, dir: string, path = process.env.PATH ?? '', nodes: OracleNodes = 1): void {
  if (!onPath('qemu-system-x86_64', path)) throw new OracleError('qemu-system-x86_64 is not installed (Debian package qemu-system-x86; hetmem oracle build installs it as root)');
  const build = `hetmem oracle build --kernel ${kernel}${nodes === 2 ? ' --nodes 2' : ''}${dir === defaultOracleDir(kernel, nodes) ? '' : ` --dir ${dir}`}`;
  if (!existsSync(join(dir, 'build', 'arch', 'x86', 'boot', 'bzImage'))) {
    throw new OracleError(`no ${kernel} kernel image in ${dir}: run ${build} first`);
  }
  const kv = join(dir, 'kver');
  if (existsSync(kv) && readFileSync(kv, 'utf8').trim() !== kernel) {
    throw new OracleError(`${dir} holds a ${readFileSync(kv, 'utf8').trim()} kernel, not ${kernel} (pass --kernel ${readFileSync(kv, 'utf8').trim()} or another --dir)`);
  }
  if (nodes === 2 && !builtForTwoNodes(dir)) {
    throw new OracleError(`${dir} holds a one-node oracle (its kernel has no ${NUMA_OPTION}): run ${build}`);
  }
}

/** The QEMU oracle: scripts go through tools/oracle/run-batch.sh (parallel VMs, crash/hang recovery). */
export class QemuOracle implements Oracle {
  constructor(
    readonly kernel: KernelVersion,
    readonly dir = defaultOracleDir(kernel),
    /** run-batch.sh's progress lines (one per boot) as they come. */
    readonly progress: (line: string) => void = () => {},
    /** The scripts; by default those of `nodes` (oracleScripts). */
    readonly tools?: string,
    readonly nodes: OracleNodes = 1,
  ) {}

  async run(scripts: ReadonlyArray<{ name: string; text: string }>): Promise<Map<string, string>> {
    checkRunnable(this.kernel, this.dir, process.env.PATH ?? '', this.nodes);
    const tools = this.tools ?? oracleScripts(this.nodes, this.dir);
    const work = mkdtempSync(join(tmpdir(), 'hetmem-oracle-'));
    try {
      const inDir = join(work, 'in'), outDir = join(work, 'out');
      mkdirSync(inDir);
      for (const s of scripts) writeFileSync(join(inDir, `${s.name}.trace`), s.text);
      const code = await new Promise<number>((done, fail) => {
        const p = spawn(join(tools, 'run-batch.sh'), [inDir, outDir], {
          env: { ...process.env, KVER: this.kernel, ORACLE_DIR: this.dir },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let buf = '';
        p.stderr.on('data', (d: Buffer) => {
          buf += d.toString();
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            this.progress(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        p.on('error', fail);
        p.on('close', (c) => done(c ?? 1));
      });
      // 0: every script finished; 3: some crashed or hung (their .out says so). Anything else
      // is a setup problem run-batch.sh has already described on stderr.
      if (code !== 0 && code !== 3) throw new OracleError(`tools/oracle/run-batch.sh failed (exit ${code}); see the lines above`);
      const out = new Map<string, string>();
      const have = new Set(existsSync(outDir) ? readdirSync(outDir) : []);
      for (const s of scripts) {
        if (!have.has(`${s.name}.out`)) throw new OracleError(`the kernel run left no output for ${s.name}`);
        out.set(s.name, readFileSync(join(outDir, `${s.name}.out`), 'utf8'));
      }
      return out;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

/**
 * Builds the oracle for `kernel` into `dir` with tools/oracle/build.sh, its progress lines
 * passed through. Refuses with the list of what is missing when not root (build.sh installs
 * packages with apt-get, which needs root).
 */
export function buildOracle(kernel: KernelVersion, dir: string, out: (s: string) => void, isRoot = process.getuid?.() === 0, nodes: OracleNodes = 1): number {
  const missing = missingForBuild(kernel);
  if (missing.length > 0 && !isRoot) {
    throw new OracleError(`missing: ${missing.join(', ')}; install them (apt-get install ...) or run as root, and build.sh installs them`);
  }
  if (missing.length > 0) out(`hetmem oracle build: build.sh will install: ${missing.join(', ')}\n`);
  const what = nodes === 2 ? ' and two fake NUMA nodes (numa=fake=2)' : '';
  out(`hetmem oracle build: Linux ${kernel} with test_hmm${what} into ${dir} (4-15 minutes on 2 cores; nothing is redone that is already built)\n`);
  const tools = oracleScripts(nodes, dir);
  const r = spawnSync(join(tools, 'build.sh'), [], { env: { ...process.env, KVER: kernel, ORACLE_DIR: dir }, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new OracleError(`cannot run tools/oracle/build.sh: ${r.error.message}`);
  return r.status ?? 1;
}
