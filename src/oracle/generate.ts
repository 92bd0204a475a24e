/**
 * Random hmmtrace op scripts for comparing the model with the real kernel (`hetmem oracle fuzz`,
 * tools/gen-traces.ts). The seed picks what a script leans on (the thresholds below: seed 3 and
 * up big anonymous regions and long ranges, 4 and up 60-160 ops, 5 and up page cache, hugetlb
 * and device mappings, 6 and up exclusive access mixed with coherent devices, 13 and up more
 * mprotect); every committed corpus was written by this function, so it must not change what
 * it writes for an existing (seed, index, options) — test/oracle/generate.test.ts regenerates
 * corpus scripts byte for byte.
 */
import { Rng } from '../engine/rng.ts';

/** What a script may use. */
export interface GenerateOptions {
  /** move_pages / page_node (and, from seed 9, set_mempolicy): for a two-node oracle. */
  readonly numa?: boolean;
  /** 150-300 ops instead of the seed's 20-90 or 60-160. */
  readonly long?: boolean;
}

export function generateTrace(r: Rng, seed: number, o: GenerateOptions = {}): string {
  const numa = o.numa ?? false, long = o.long ?? false;
  const ops: string[] = [];
  // Exclusive access and coherent devices never meet in one trace: evicting a coherent page
  // held exclusive breaks the real kernel for the rest of its boot (behaviour 18).
  let useExclusive = r.nextFloat() < 0.5;
  // Seed 6 and up mix both, but never make a coherent page exclusive: exclusive ops stop for
  // good once anything has been migrated to a coherent device.
  const mixed = seed >= 6;
  const devs = useExclusive && !mixed ? [0, 1] : [0, 1, 2, 3];
  if (mixed) useExclusive = true;
  const regs: Array<{ name: string; n: number; kind: string }> = [];
  const kinds = ['anon', 'anon', 'anon', 'shared', 'file', 'file_private', 'thp', 'hugetlb', 'dev0', 'dev1', 'bigAnon'];
  const v2 = seed >= 3;
  // Seed 5 and up lean on page-cache, hugetlb and device mappings.
  if (seed >= 5) kinds.push('file', 'file', 'file_private', 'shared', 'hugetlb', 'dev0', 'thp');
  const nOps = long ? r.int(150, 301) : seed >= 4 ? r.int(60, 160) : r.int(20, 90);
  const prots = ['rw', 'rw', 'rw', 'r', 'none', 'w', 'x', 'rwx'];
  const bytes = () => '0x' + r.int(1, 256).toString(16);
  const pick = <T>(a: T[]) => a[r.int(0, a.length)];
  // Once a script has interleaved, where its shmem, file and device-mapping pages went depends
  // on inode numbers and kernel allocations nobody can replay: it stops asking about those.
  let interleaved = false;
  const unpredictable = new Set(['shared', 'file', 'file_private', 'dev0', 'dev1']);
  const newRegion = () => {
    let kind = pick(kinds);
    const name = String.fromCharCode(65 + regs.length);
    let n = kind === 'hugetlb' ? 512 * r.int(1, 3) : kind === 'thp' ? 512 : r.int(1, 9);
    if (kind === 'bigAnon') {
      kind = 'anon';
      n = v2 ? r.int(520, 1100) : r.int(1, 9);
    }
    regs.push({ name, n, kind: kind });
    // Seed 13 and up map half their regions with other protections and mprotect more.
    ops.push(`mmap ${name} ${n} ${kind} ${r.nextFloat() < (seed >= 13 ? 0.5 : 0.85) ? 'rw' : pick(prots)}`);
  };
  newRegion();
  const simpleOp = (inChild: boolean): string => {
    const g = pick(regs);
    const page = () => (g.n > 8 ? pick([0, 1, 2, 3, r.int(0, g.n), g.n - 1]) : r.int(0, g.n + 1));
    const range = () => {
      const s = page();
      const cap = v2 && g.n > 64 && r.nextFloat() < 0.3 ? 140 : 6;
      const maxn = Math.max(1, Math.min(g.n - s + 1, cap));
      return `${s} ${r.int(1, maxn + 1)}`;
    };
    const dev = pick(devs);
    if (numa && seed >= 9 && r.nextFloat() < 0.04) {
      const mode = pick(['default', 'local', 'preferred', 'bind', 'interleave', 'interleave', 'bind', 'preferred']);
      const nodes = pick(['0', '1', '0,1', '1', '1,0', '2', '']);
      if (mode === 'interleave' && nodes !== '' && nodes !== '2') interleaved = true;
      return `set_mempolicy ${mode}${nodes === '' || r.nextFloat() < 0.1 ? '' : ' ' + nodes}`;
    }
    if (numa && r.nextFloat() < 0.15 && !(interleaved && unpredictable.has(g.kind))) {
      if (r.nextFloat() < 0.3) return `page_node ${g.name} ${range()}`;
      const node = r.nextFloat() < 0.3 ? Array.from({ length: r.int(2, 5) }, () => pick([0, 1, 1, 0, 1, 2])).join(',') : String(pick([0, 1, 1, 0, 1, 2]));
      return `move_pages ${g.name} ${range()} ${node}${r.nextFloat() < 0.2 ? ' all' : ''}`;
    }
    if (seed >= 13 && r.nextFloat() < 0.12) return `mprotect ${g.name} ${pick(prots)}${r.nextFloat() < 0.7 ? ' ' + range() : ''}`;
    const x = r.nextFloat();
    if (x < 0.14) return `cpu_write ${g.name} ${page()} ${bytes()}`;
    if (x < 0.24) return `cpu_read ${g.name} ${page()}`;
    if (x < 0.34) return `dev_read ${dev} ${g.name} ${range()}`;
    if (x < 0.42) return `dev_write ${dev} ${g.name} ${range()} ${bytes()}`;
    if (x < 0.52) {
      if (dev >= 2) useExclusive = false;
      return `migrate_to_dev ${dev} ${g.name} ${range()}`;
    }
    if (x < 0.58) return `migrate_to_sys ${dev} ${g.name} ${range()}`;
    if (x < 0.66) return `snapshot ${dev} ${g.name} ${range()}`;
    if (x < 0.71 && useExclusive) return `exclusive ${dev} ${g.name} ${range()}`;
    if (x < 0.74 && useExclusive) return `check_exclusive ${dev} ${g.name} ${range()}`;
    if (x < 0.78) return `mprotect ${g.name} ${pick(prots)}${r.nextFloat() < 0.5 ? ' ' + range() : ''}`;
    if (x < 0.84) return `madvise ${g.name} ${range()} ${pick(['dontneed', 'free', 'cold', 'pageout', 'willneed', 'remove', 'hugepage', 'nohugepage'])}`;
    if (x < 0.87) return `gup ${g.name} ${range()} ${pick(['get', 'get_fast', 'pin_fast', 'pin_fast_longterm', 'pin_longterm', 'pin_basic'])}`;
    if (x < 0.89 && !inChild) return v2 && r.nextFloat() < 0.3 ? `munmap ${g.name}` : `munmap ${g.name} ${range()}`;
    if (x < 0.91) return `close ${dev}`;
    if (x < 0.93) return `release ${dev}`;
    if (x < 0.95) return `open ${dev}`;
    return `snapshot ${dev} ${g.name} 0 ${Math.min(g.n + 1, 8)}`;
  };
  for (let i = 0; i < nOps; i++) {
    const x = r.nextFloat();
    if (x < 0.06 && regs.length < 6) newRegion();
    else if (x < 0.12) ops.push(`child ${v2 && r.nextFloat() < 0.15 ? 'child ' : ''}${simpleOp(true)}`);
    else if (v2 && x < 0.125) ops.push(pick(['frob A 1', 'cpu_write A 0 300', 'mprotect A rq', 'dev_read 0 A', 'madvise A 0 1 sideways', 'echo hello world', 'close 9', 'gup A 0 1 pin', 'child', 'mmap Z 0 anon rw', 'cpu_read Q 0']));
    else if (x < 0.14) {
      const g = pick(regs);
      ops.push(`fork_write_child ${g.name} ${r.int(0, g.n)} ${bytes()}`);
    } else ops.push(simpleOp(false));
  }
  return ops.join('\n') + '\n';
}

/** The file name (without .trace) of script `index` of `seed`: r, n (numa), l (long), m (long numa). */
export function traceName(seed: number, index: number, o: GenerateOptions = {}): string {
  const prefix = o.long ? (o.numa ? 'm' : 'l') : o.numa ? 'n' : 'r';
  return `${prefix}${seed}-${String(index).padStart(4, '0')}`;
}

/** Scripts `from` .. `from + count - 1` of `seed`, each from its own forked stream (trace-INDEX). */
export function generateTraces(seed: number, count: number, o: GenerateOptions = {}, from = 0): Array<{ name: string; text: string }> {
  const root = new Rng(seed);
  const out: Array<{ name: string; text: string }> = [];
  for (let i = from; i < from + count; i++) out.push({ name: traceName(seed, i, o), text: generateTrace(root.fork(`trace-${i}`), seed, o) });
  return out;
}
