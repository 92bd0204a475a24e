import { setMempolicy, MPOL_MODE_NAMES, type MpolMode } from '../mm/mempolicy.ts';
import type { KernelVersion } from '../mm/kernel.ts';
import type { Mm } from '../mm/mm.ts';
import { PAGE_SIZE, errnoName } from '../mm/constants.ts';
import { munmap } from '../mm/mmap.ts';
import { mprotect } from '../mm/mprotect.ts';
import { madvise, type Advice } from '../mm/madvise.ts';
import type { GupFlags } from '../mm/gup.ts';
import type { Dmirror, CmdResult } from '../devices/dmirror/dmirror.ts';
import { KernelCrash, KernelHang } from '../devices/dmirror/errors.ts';
import { Machine, parseProt, type Process, type MapKind, type RegionFd } from '../api/machine.ts';
import { parseCNumber } from './numbers.ts';

const MAXREG = 64;
const MAXDEV = 4;
const MAXTOK = 16;
/** Most pages one move_pages/page_node op takes (NUMA_MAXPAGES in hmmtrace-numa.c). */
const NUMA_MAXPAGES = 4096;
/** Pages in the 64-bit address space: page numbers wrap modulo this, like C pointer arithmetic. */
const VA_PAGES = 2 ** 52;
/** Pages of RAM of the oracle VM (QEMU -m 2G, ../shared/oracle/boot.sh). */
const ORACLE_RAM_PAGES = (2 * 1024 * 1024 * 1024) / PAGE_SIZE;

/** A named region of the op language (struct region in hmmtrace.c). */
interface Region {
  name: string;
  kind: string;
  /** First page, or 0 where the C code's base pointer is NULL. */
  base: number;
  npages: number;
  mapped: boolean;
  /** What the region's fd holds: a tmpfs file or a dup of a device fd. */
  fd: RegionFd | null;
}

/** A process running ops: a Process of the API plus the op language's region table. */
class Proc {
  constructor(public proc: Process, public regs: Region[]) {}
  get mm(): Mm {
    return this.proc.mm;
  }
  get devfd(): Array<Dmirror | null> {
    return this.proc.devfd;
  }
}

/** Thrown by an op whose tokens are malformed (the C code's `return -1`); says what was expected. */
class BadOp extends Error {}

/** A malformed script found in strict mode: `FILE:LINE: what was expected`. */
export class TraceSyntaxError extends Error {}

function num(s: string | undefined, what = 'a number'): bigint {
  if (s === undefined) throw new BadOp(`missing ${what}`);
  const v = parseCNumber(s);
  if (v === null) throw new BadOp(`expected ${what} (a C number like 12 or 0x1f), got '${s}'`);
  return v;
}
function arity(t: string[], n: number, usage: string): void {
  if (t.length < n) throw new BadOp(`expected '${usage}'`);
}
function small(v: bigint): number {
  return v > BigInt(VA_PAGES) ? VA_PAGES : Number(v);
}
const hex2 = (b: number) => b.toString(16).padStart(2, '0');

/**
 * A NODE token of the NUMA ops: one node or a list N1,N2,... (strtok_r(",") skips empty
 * fields; each field is (int) of what strtoul read: the low 32 bits, signed). At most 64
 * fields and 255 characters.
 */
function nodeList(tok: string): number[] {
  const fields = tok.split(',').filter((f) => f !== '');
  if (tok.length > 255 || fields.length === 0 || fields.length > 64) throw new BadOp(`expected NODE or a list N1,N2,... of at most 64 nodes, got '${tok}'`);
  return fields.map((f) => Number(BigInt.asIntN(32, num(f, 'NODE'))));
}

/** One result line per op, plus how the trace ended. */
export interface TraceResult {
  lines: string[];
  ops: number;
  bad: number;
  ended: 'ok' | 'crash' | 'hang';
}

/**
 * Replays an hmmtrace op script on a fresh System and returns exactly the lines Linux 6.1's
 * hmmtrace prints for it (see shared/hmmtrace/README.md), or 6.12's with `kernel: '6.12'`.
 * `nodes` is the number of NUMA nodes (default 1); traces recorded on tools/oracle-numa need 2.
 */
export function runTrace(text: string, opts: { nodes?: number; kernel?: KernelVersion } = {}): TraceResult {
  return new TraceRunner(false, '<trace>', new Machine({ nodes: opts.nodes, kernel: opts.kernel })).run(text);
}

/**
 * Checks a script strictly: any op the kernel tool would call `bad_op`, and any use of an
 * unknown region or device, is an error `FILE:LINE: what was expected`. It replays the script on
 * the machine the run will use (`nodes`, `kernel`), so a script ends where the run's would (a
 * kernel crash or hang stops it; what follows is never read, as on the oracle).
 */
export function validateTrace(text: string, file: string, opts: { nodes?: number; kernel?: KernelVersion } = {}): void {
  new TraceRunner(true, file, new Machine({ nodes: opts.nodes, kernel: opts.kernel })).run(text);
}

/** Splits input the way fgets(line, 1024) reads it: at newlines and every 1023 characters. */
export function fgetsLines(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\n', i);
    const lineEnd = nl < 0 ? text.length : nl + 1;
    const take = Math.min(lineEnd - i, 1023);
    out.push(text.slice(i, i + take));
    i += take;
  }
  return out;
}

/** Tokens of one fgets line: comment stripped, split on blanks, at most 16. */
export function tokenize(line: string): string[] {
  const c = line.indexOf('#');
  if (c >= 0) line = line.slice(0, c);
  // strtok stops at a NUL byte as well.
  const z = line.indexOf('\0');
  if (z >= 0) line = line.slice(0, z);
  return line.split(/[ \t\r\n]+/).filter((t) => t.length > 0).slice(0, MAXTOK);
}

export class TraceRunner {
  readonly sys;
  /** @param machine the machine to replay on (default: a fresh one with the four dmirror devices) */
  constructor(readonly strict = false, readonly file = '<trace>', readonly machine: Machine = new Machine()) {
    this.sys = machine.sys;
  }

  run(text: string): TraceResult {
    const lines: string[] = [];
    let ops = 0, bad = 0;
    const main = new Proc(this.machine.spawn(), []);
    // The file line a piece starts on, and where on it: a line longer than fgets's 1,023
    // characters is read (and run) as several pieces, each reported on its own line number.
    let lineNo = 1, column = 1;
    for (const raw of fgetsLines(text)) {
      const at = lineNo, from = column;
      if (raw.endsWith('\n')) {
        lineNo++;
        column = 1;
      } else column += raw.length;
      const t = tokenize(raw);
      if (t.length === 0) continue;
      ops++;
      const head = t.join(' ');
      let out: string;
      try {
        out = this.runOp(main, t);
      } catch (e) {
        if (e instanceof BadOp) {
          if (this.strict) {
            const part = from > 1 ? ` (in the part from character ${from}: hmmtrace reads a line in pieces of at most 1,023 characters)` : '';
            throw new TraceSyntaxError(`${this.file}:${at}: ${shortQuotes(e.message)}${part}`);
          }
          out = 'bad_op';
          bad++;
        } else if (e instanceof KernelCrash) {
          lines.push(`${head} => KERNEL_CRASH`, '# trace did not finish (kernel crash)');
          return { lines, ops, bad, ended: 'crash' };
        } else if (e instanceof KernelHang) {
          lines.push(`${head} => KERNEL_HANG`, '# trace did not finish (kernel hang)');
          return { lines, ops, bad, ended: 'hang' };
        } else throw e;
      }
      lines.push(`${head} => ${out}`);
    }
    lines.push(`# hmmtrace: ${ops} ops, ${bad} bad`);
    try {
      this.exitProcess(main, false);
    } catch (e) {
      if (e instanceof KernelCrash) {
        lines.push('(exit) => KERNEL_CRASH', '# trace did not finish (kernel crash)');
        return { lines, ops, bad, ended: 'crash' };
      }
      if (e instanceof KernelHang) {
        lines.push('(exit) => KERNEL_HANG', '# trace did not finish (kernel hang)');
        return { lines, ops, bad, ended: 'hang' };
      }
      throw e;
    }
    return { lines, ops, bad, ended: 'ok' };
  }

  /** do_exit: the child first closes its own device fds (hmmtrace does), then exit_mm, then exit_files. */
  private exitProcess(p: Proc, isChild: boolean): void {
    p.proc.exit(isChild, p.regs.flatMap((r) => (r.fd ? [r.fd] : [])));
    for (const r of p.regs) r.fd = null;
  }

  private closeRegionFd(r: Region): void {
    if (!r.fd) return;
    if (r.fd.file) this.sys.fileput(r.fd.file);
    r.fd.dmirror?.put();
    r.fd = null;
  }

  private findreg(p: Proc, name: string): Region | undefined {
    return p.regs.find((r) => r.name === name);
  }

  private getdev(p: Proc, d: bigint): Dmirror | number {
    if (d >= BigInt(MAXDEV) && this.strict) throw new BadOp(`expected DEV 0..3, got ${d}`);
    if (d >= BigInt(MAXDEV)) return -22;
    return p.proc.open(Number(d));
  }

  private runOp(p: Proc, t: string[]): string {
    const op = t[0];
    switch (op) {
      case 'mmap': return this.opMmap(p, t);
      case 'munmap': return this.opMunmap(p, t);
      case 'mprotect': return this.opMprotect(p, t);
      case 'cpu_write': return this.opCpu(p, t, true);
      case 'cpu_read': return this.opCpu(p, t, false);
      case 'dev_read': case 'dev_write': case 'migrate_to_dev': case 'migrate_to_sys':
      case 'snapshot': case 'exclusive': case 'check_exclusive':
        return this.opDev(p, t);
      case 'release': return this.opRelease(p, t);
      case 'open': return this.opOpen(p, t);
      case 'close': return this.opClose(p, t);
      case 'gup': return this.opGup(p, t);
      case 'move_pages': return this.opMovePages(p, t, false);
      case 'page_node': return this.opMovePages(p, t, true);
      case 'set_mempolicy': return this.opSetMempolicy(p, t);
      case 'madvise':
        arity(t, 5, 'madvise ID START NPAGES ADVICE');
        return this.opMadvise(p, t, t[4]);
      case 'madvise_dontneed': return this.opMadvise(p, t, 'dontneed');
      case 'child': return this.opChild(p, t);
      case 'fork_write_child': return this.opChild(p, ['child', 'cpu_write', ...t.slice(1, MAXTOK - 1)]);
      case 'echo': return t.slice(1).join(' ');
      default: throw new BadOp(`expected an op (mmap, munmap, mprotect, madvise, cpu_read, cpu_write, dev_read, dev_write, migrate_to_dev, migrate_to_sys, snapshot, exclusive, check_exclusive, release, open, close, gup, move_pages, page_node, set_mempolicy, child, fork_write_child, echo), got '${op}'`);
    }
  }

  /**
   * Region names whose last mmap failed (strict mode). An op on one is no typo: the script is
   * valid and the op prints err=no_such_region, as hmmtrace does (a hugetlb pool can run dry).
   */
  private readonly failedMmap = new Set<string>();

  private needreg(p: Proc, name: string): Region | null {
    const r = this.findreg(p, name) ?? null;
    if (!r && this.strict && !this.failedMmap.has(name)) throw new BadOp(`expected a region mapped by an earlier mmap, got '${name}'`);
    return r;
  }

  private opMmap(p: Proc, t: string[]): string {
    arity(t, 5, 'mmap ID NPAGES KIND PROT');
    const np = num(t[2], 'NPAGES');
    const prot = parseProt(t[4]);
    if (np === 0n) throw new BadOp('expected NPAGES > 0');
    // hmmtrace.c copies ID with a 32-byte strncpy: a longer one is cut, and later ops that
    // name it in full never find it.
    if (this.strict && t[1].length > 31) throw new BadOp(`expected ID of at most 31 characters, got ${t[1].length} ('${t[1].slice(0, 31)}...')`);
    if (prot < 0) throw new BadOp(`expected PROT 'none' or letters from 'rwx-', got '${t[4]}'`);
    const kind = t[3];
    let r = this.findreg(p, t[1]);
    if (r && r.mapped) return 'err=EEXIST';
    if (!r) {
      if (p.regs.length === MAXREG) return 'err=ENOSPC';
      r = { name: '', kind: '', base: 0, npages: 0, mapped: false, fd: null };
      p.regs.push(r);
    }
    Object.assign(r, { name: t[1].slice(0, 31), kind: kind.slice(0, 15), base: 0, npages: 0, mapped: false, fd: null });
    const fail = (e: string) => {
      if (this.strict) this.failedMmap.add(r!.name);
      r!.name = '';
      return `err=${e}`;
    };
    if (np > 1n << 35n) return fail('ENOMEM');
    if (this.strict) this.failedMmap.delete(r.name);
    const npages = Number(np);
    const known = ['anon', 'shared', 'thp', 'hugetlb', 'file', 'file_private'];
    let mapKind: MapKind;
    if (known.includes(kind)) mapKind = kind as MapKind;
    else if (kind.startsWith('dev') && parseCNumber(kind.slice(3)) !== null) {
      const dev = parseCNumber(kind.slice(3))!;
      const d = this.getdev(p, dev);
      if (typeof d === 'number') return fail(errnoName(d));
      mapKind = `dev${Number(dev)}`;
      // dmirror_fops_mmap allocates a zeroed kernel page for every page of the mapping, which
      // the model keeps too; beyond the oracle VM's RAM the kernel's alloc_page fails.
      if (np > BigInt(ORACLE_RAM_PAGES)) {
        if (this.strict) throw new BadOp(`expected NPAGES ≤ ${ORACLE_RAM_PAGES} for a device mapping (dmirror's mmap allocates a kernel page per page; ${np} pages would need more than the oracle's 2 GiB of RAM)`);
        return fail('ENOMEM');
      }
    } else {
      throw new BadOp(`expected KIND anon, shared, file, file_private, thp, hugetlb or devN, got '${kind}'`);
    }
    const res = p.proc.mmapRaw(npages, mapKind, prot);
    if (typeof res === 'number') return fail(errnoName(res));
    const { start, fd } = res;
    r.base = start;
    r.npages = npages;
    r.fd = fd;
    r.mapped = true;
    return 'ok';
  }

  private opMunmap(p: Proc, t: string[]): string {
    arity(t, 2, 'munmap ID [START NPAGES]');
    const r = this.needreg(p, t[1]);
    if (!r) return 'err=no_such_region';
    if (t.length >= 4) {
      const s = num(t[2], 'START'), np = num(t[3], 'NPAGES');
      const ret = munmap(p.mm, (r.base + small(s)) % VA_PAGES, small(np));
      return ret < 0 ? `err=${errnoName(ret)}` : 'ok';
    }
    const ret = munmap(p.mm, r.base, r.npages);
    if (ret < 0) return `err=${errnoName(ret)}`;
    this.closeRegionFd(r);
    r.mapped = false;
    return 'ok';
  }

  private opMprotect(p: Proc, t: string[]): string {
    arity(t, 3, 'mprotect ID PROT [START NPAGES]');
    const prot = parseProt(t[2]);
    if (prot < 0) throw new BadOp(`expected PROT 'none' or letters from 'rwx-', got '${t[2]}'`);
    const r = this.needreg(p, t[1]);
    if (!r) return 'err=no_such_region';
    let s = 0, np = r.npages;
    if (t.length >= 5) {
      s = small(num(t[3], 'START'));
      np = small(num(t[4], 'NPAGES'));
    }
    const ret = mprotect(p.mm, (r.base + s) % VA_PAGES, np, prot);
    return ret < 0 ? `err=${errnoName(ret)}` : 'ok';
  }

  private opMadvise(p: Proc, t: string[], adv: string): string {
    arity(t, 4, 'madvise ID START NPAGES ADVICE');
    const s = small(num(t[2], 'START')), np = small(num(t[3], 'NPAGES'));
    const r = this.needreg(p, t[1]);
    if (!r) return 'err=no_such_region';
    const valid = ['dontneed', 'free', 'hugepage', 'nohugepage', 'willneed', 'cold', 'pageout', 'remove'];
    if (!valid.includes(adv)) throw new BadOp(`expected ADVICE ${valid.join(', ')}, got '${adv}'`);
    const ret = madvise(p.mm, (r.base + s) % VA_PAGES, np, adv as Advice);
    return ret < 0 ? `err=${errnoName(ret)}` : 'ok';
  }

  private opCpu(p: Proc, t: string[], write: boolean): string {
    arity(t, write ? 4 : 3, write ? 'cpu_write ID PAGE BYTE' : 'cpu_read ID PAGE');
    const pg = small(num(t[2], 'PAGE'));
    let b = 0;
    if (write) {
      const v = num(t[3], 'BYTE');
      if (v > 255n) throw new BadOp(`expected BYTE 0..255, got '${t[3]}'`);
      b = Number(v);
    }
    const r = this.needreg(p, t[1]);
    if (!r) return 'err=no_such_region';
    const vpn = (r.base + pg) % VA_PAGES;
    const pfn = p.proc.access(vpn, write);
    if (typeof pfn === 'string') return pfn;
    const pages = this.sys.pages;
    if (write) {
      pages.fill(pfn, b);
      return 'ok';
    }
    const d = pages.bytes(pfn);
    let sum = 0, uniform = true;
    for (let i = 0; i < PAGE_SIZE; i++) {
      sum += d[i];
      if (d[i] !== d[0]) uniform = false;
    }
    return `first=${hex2(d[0])} sum=${sum} page=${uniform ? hex2(d[0]) : '??'}`;
  }

  private opDev(p: Proc, t: string[]): string {
    const op = t[0];
    const isWrite = op === 'dev_write';
    arity(t, isWrite ? 6 : 5, `${op} DEV ID START NPAGES${isWrite ? ' BYTE' : ''}`);
    const dev = num(t[1], 'DEV'), s = num(t[3], 'START'), np = num(t[4], 'NPAGES');
    let b = 0n;
    if (isWrite) {
      b = num(t[5], 'BYTE');
      if (b > 255n) throw new BadOp(`expected BYTE 0..255, got '${t[5]}'`);
    }
    const r = this.needreg(p, t[2]);
    if (!r) return 'err=no_such_region';
    const d = this.getdev(p, dev);
    if (typeof d === 'number') return `open_err=${errnoName(d)}`;
    const start = (r.base + small(s)) % VA_PAGES;
    const addr = BigInt(start) * 4096n;
    const endAddr = (addr + ((np << 12n) % (1n << 64n))) % (1n << 64n);
    if (addr >= endAddr) return 'ret=-EINVAL';
    const npages = Number((endAddr - addr) >> 12n);
    const bounce = op === 'dev_read' || op === 'dev_write' || op === 'migrate_to_dev' || op === 'exclusive';
    if (bounce && npages > 1 << 24) return 'ret=-ENOMEM';
    const cmd = ({ dev_read: 'read', dev_write: 'write', migrate_to_dev: 'migrate_to_dev', migrate_to_sys: 'migrate_to_sys', snapshot: 'snapshot', exclusive: 'exclusive', check_exclusive: 'check_exclusive' } as const)[op as 'dev_read'];
    const res: CmdResult = d.ioctl(cmd, start, npages, Number(b));
    if (res.ret) return `ret=-${errnoName(res.ret)}`;
    let out = 'ret=0';
    if (op !== 'check_exclusive') out += ` cpages=${res.cpages} faults=${res.faults}`;
    if (op === 'snapshot') out += ` perm=${Array.from(res.perm!, hex2).join(',')}`;
    else if (res.data) out += ` data=${summarize(res.data, npages)}`;
    return out;
  }

  private opRelease(p: Proc, t: string[]): string {
    arity(t, 2, 'release DEV');
    const d = this.getdev(p, num(t[1], 'DEV'));
    if (typeof d === 'number') return `open_err=${errnoName(d)}`;
    const res = d.ioctl('release', 0, 1);
    return res.ret ? `ret=-${errnoName(res.ret)}` : 'ret=0';
  }

  private opOpen(p: Proc, t: string[]): string {
    arity(t, 2, 'open DEV');
    const dev = num(t[1], 'DEV');
    if (dev < BigInt(MAXDEV) && p.devfd[Number(dev)]) return 'ok already_open';
    const d = this.getdev(p, dev);
    return typeof d === 'number' ? `err=${errnoName(d)}` : 'ok';
  }

  private opClose(p: Proc, t: string[]): string {
    arity(t, 2, 'close DEV');
    const dev = num(t[1], 'DEV');
    if (dev >= BigInt(MAXDEV)) throw new BadOp(`expected DEV 0..3, got '${t[1]}'`);
    const i = Number(dev);
    if (!p.devfd[i]) return 'err=not_open';
    p.proc.close(i);
    return 'ok';
  }

  private opGup(p: Proc, t: string[]): string {
    arity(t, 5, 'gup ID START NPAGES MODE');
    const s = small(num(t[2], 'START')), np = num(t[3], 'NPAGES');
    const modes: Record<string, GupFlags> = {
      get: { write: true, touch: true },
      get_fast: { write: true, fast: true, touch: true },
      pin_fast: { write: true, pin: true, fast: true, touch: true },
      pin_fast_longterm: { write: true, pin: true, longterm: true, fast: true },
      pin_longterm: { write: true, pin: true, longterm: true },
      pin_basic: { write: true, pin: true },
    };
    const flags = modes[t[4]];
    if (!flags || !Object.hasOwn(modes, t[4])) throw new BadOp(`expected MODE ${Object.keys(modes).join(', ')}, got '${t[4]}'`);
    const r = this.needreg(p, t[1]);
    if (!r) return 'err=no_such_region';
    if (np > 1n << 28n) return 'ret=-ENOMEM';
    p.proc.gup((r.base + s) % VA_PAGES, Number(np), flags);
    return 'ret=0';
  }

  /**
   * The NUMA extension (tools/oracle-numa/hmmtrace-numa.c): `move_pages ID START NPAGES NODE
   * [all]` and `page_node ID START NPAGES`, printing the syscall's value and each status. NODE
   * may be a comma-separated list that the pages take in turn.
   */
  private opMovePages(p: Proc, t: string[], query: boolean): string {
    arity(t, query ? 4 : 5, query ? 'page_node ID START NPAGES' : 'move_pages ID START NPAGES NODE[,NODE...] [all]');
    const s = num(t[2], 'START'), np = num(t[3], 'NPAGES');
    if (np > BigInt(NUMA_MAXPAGES)) throw new BadOp(`expected NPAGES of at most ${NUMA_MAXPAGES}, got ${np}`);
    let nodes: number[] | null = null, all = false;
    if (!query) {
      nodes = nodeList(t[4]);
      if (t.length > 5) {
        if (t[5] !== 'all') throw new BadOp(`expected 'all' or nothing after NODE, got '${t[5]}'`);
        all = true;
      }
    }
    const r = this.needreg(p, t[1]);
    if (!r) return 'err=no_such_region';
    const start = Number((BigInt(r.base) + s) % BigInt(VA_PAGES));
    const res = p.proc.movePages(start, Number(np), nodes === null ? null : (i) => nodes[i % nodes.length], { all });
    const ret = res.ret < 0 ? `-${errnoName(res.ret)}` : String(res.ret);
    const st = res.status.map((v) => (v === null ? '?' : v < 0 ? `-${errnoName(v)}` : String(v)));
    return `ret=${ret} status=${st.join(',')}`;
  }

  /** `set_mempolicy MODE [N1,N2,...]` (hmmtrace-numa.c): nodes 0..62, printing `ret=`. */
  private opSetMempolicy(p: Proc, t: string[]): string {
    arity(t, 2, 'set_mempolicy MODE [N1,N2,...]');
    const mode = (MPOL_MODE_NAMES as readonly string[]).indexOf(t[1]);
    if (mode < 0) throw new BadOp(`expected MODE ${MPOL_MODE_NAMES.join(', ')}, got '${t[1]}'`);
    const nodes = t.length > 2 ? nodeList(t[2]) : [];
    for (const n of nodes) if (n < 0 || n > 62) throw new BadOp(`expected nodes 0..62, got ${n}`);
    const r = setMempolicy(p.mm, mode as MpolMode, nodes);
    return r < 0 ? `ret=-${errnoName(r)}` : 'ret=0';
  }

  private opChild(p: Proc, t: string[]): string {
    arity(t, 2, 'child OP ...');
    const child = new Proc(p.proc.fork(), p.regs.map((r) => ({ ...r, fd: r.fd ? { ...r.fd } : null })));
    // The child's copies of region fds are references to the same files.
    for (const r of child.regs) {
      if (r.fd?.file) r.fd.file.refs++;
      r.fd?.dmirror?.get();
    }
    let out: string;
    try {
      out = this.runOp(child, t.slice(1));
    } catch (e) {
      if (!(e instanceof BadOp) || this.strict) throw e;
      out = 'bad_op';
    }
    this.exitProcess(child, true);
    return `${out === '' ? '(no output)' : out} exit=0`;
  }
}

/** A message with every quoted token longer than 60 characters cut short, so it stays one readable line. */
function shortQuotes(message: string): string {
  return message.replace(/'([^']{61,})'/g, (_, q: string) => `'${q.slice(0, 60)}...' (${q.length} characters)`);
}

/** The data field: per page, two hex digits if uniform, else `??`. */
function summarize(buf: Uint8Array, npages: number): string {
  const parts: string[] = [];
  for (let i = 0; i < npages; i++) {
    const o = i * PAGE_SIZE;
    const b0 = buf[o];
    let uniform = true;
    for (let j = 1; j < PAGE_SIZE; j++) if (buf[o + j] !== b0) { uniform = false; break; }
    parts.push(uniform ? hex2(b0) : '??');
  }
  return parts.join(',');
}
