/**
 * Model-based random testing of the whole machine: random op sequences over 1-3 processes (a
 * root and forked children) and the four dmirror devices (0, 1 private; 2, 3 coherent),
 * checked against a flat reference model of what every page must contain.
 *
 * Ops are plain records with raw numbers that are resolved against the current state when
 * replayed (process index mod live processes, region index mod regions, ...), so any sub-list
 * of a failing list is still a valid test: fast-check shrinks failures to a minimal sequence.
 *
 * The reference: per process, every mapped page has a protection and either a private byte
 * (anon/thp: memset-only workload, so one byte describes a page) or a slot in a shared file
 * (shared: one object shared by every process that inherited the mapping). fork copies the
 * private bytes (COW: later writes diverge) and shares the files; munmap forgets pages; pages
 * never written read as zero. Device placement (RAM, device-private, coherent, exclusive) must
 * never change a byte. Two reclaim paths may legitimately lose data (see the `pageout` case):
 * clean MADV_FREE'd anon pages, and page-cache pages written only by a device (test_hmm never
 * dirties what it writes); there the reference accepts either the data or zeroes.
 *
 * Op mix (weights in `opArb`): mmap (anon, shared, thp, file, file_private; 1-8 pages, THP 512),
 * munmap (whole or part), mprotect (rw/r/w/none), CPU read/write, fork, fork+child write+exit,
 * exit of a child, device read/write, migrate to device/system, exclusive, snapshot, release,
 * close, gup (get/pin/pin_longterm), madvise (dontneed/free/cold/pageout/remove), and `verify`.
 *
 * After every op: the invariant checker (test/invariants.ts), and every mapped page of every
 * process is resolved through its page table *without faulting* (present pfn, the backing page
 * of a device-private entry, the page of a device-exclusive entry, the page cache or zeroes for
 * an empty PTE) and compared with the reference. Real CPU reads (`Process.read`) and device
 * reads (`DeviceFile.read`, and the read-back of migrate_to_dev/exclusive) are ops of their own
 * and are compared byte for byte: doing them after every op would fault every device page back
 * to RAM and hide the states the fuzz is meant to reach. A `verify` op CPU-reads a whole region,
 * and every run that survives ends with a full CPU read of everything, then exit and a leak check.
 *
 * Linux 6.1 test_hmm bugs (hmmtrace README behaviours 17, 18) make the model throw
 * KernelCrash/KernelHang, as the real kernel oopses/hangs. The generator steers clear of them
 * (a device read/write/read-back that would touch the device's own private page through the
 * mirror, `exclusive` on a device-coherent page); if one happens anyway, the run ends there as
 * "kernel died" and is counted, not failed.
 */
import type { KernelVersion } from '../../src/mm/kernel.ts';
import fc from 'fast-check';
import { Machine, SignalError, parseProt, type Process, type RegionFd } from '../../src/api/machine.ts';
import { KernelCrash, KernelHang } from '../../src/devices/dmirror/errors.ts';
import { TAG_WRITE } from '../../src/devices/dmirror/dmirror.ts';
import type { DmirrorDevice } from '../../src/devices/dmirror/device.ts';
import { PageKind, ZERO_BYTES } from '../../src/mm/page.ts';
import { PteType } from '../../src/mm/pte.ts';
import { PAGE_SIZE } from '../../src/mm/constants.ts';
import type { GupFlags } from '../../src/mm/gup.ts';
import { assertInvariants, assertNoLeaks, cpuEntry } from '../invariants.ts';

// ---------------------------------------------------------------- ops

export type Prot = 'rw' | 'r' | 'w' | 'none';
export type RegionKind = 'anon' | 'shared' | 'thp' | 'file' | 'file_private';
type Advice = 'dontneed' | 'free' | 'cold' | 'pageout' | 'remove';
type GupMode = 'get' | 'pin' | 'pin_longterm';

/** Raw numbers (0..1023) are resolved modulo what exists when the op runs. */
export type Op =
  | { k: 'mmap'; p: number; kind: RegionKind; n: number; prot: Prot }
  | { k: 'munmap'; p: number; r: number; off: number; n: number }
  | { k: 'mprotect'; p: number; r: number; off: number; n: number; prot: Prot }
  | { k: 'cpu_read'; p: number; r: number; off: number }
  | { k: 'cpu_write'; p: number; r: number; off: number; byte: number }
  | { k: 'fork'; p: number }
  | { k: 'child_write'; p: number; r: number; off: number; byte: number }
  | { k: 'exit'; p: number }
  | { k: 'dev_read' | 'migrate_to_dev' | 'migrate_to_sys' | 'exclusive' | 'snapshot'; p: number; d: number; r: number; off: number; n: number }
  | { k: 'dev_write'; p: number; d: number; r: number; off: number; n: number; byte: number }
  | { k: 'release' | 'close'; p: number; d: number }
  | { k: 'gup'; p: number; r: number; off: number; n: number; mode: GupMode }
  | { k: 'move_pages'; p: number; r: number; off: number; n: number; node: number; all: boolean }
  | { k: 'madvise'; p: number; r: number; off: number; n: number; adv: Advice }
  | { k: 'verify'; p: number; r: number };

const raw = fc.nat({ max: 1023 });
const byte = fc.integer({ min: 1, max: 255 });
const dev = fc.nat({ max: 3 });
const prot = fc.constantFrom<Prot>('rw', 'rw', 'r', 'w', 'none');
const range = { p: raw, r: raw, off: raw, n: raw };

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('mmap' as const), p: raw, kind: fc.constantFrom<RegionKind>('anon', 'anon', 'anon', 'shared', 'thp', 'file', 'file_private'), n: raw, prot: fc.constantFrom<Prot>('rw', 'rw', 'rw', 'r') }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('munmap' as const), ...range }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('mprotect' as const), ...range, prot }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('cpu_read' as const), p: raw, r: raw, off: raw }) },
  { weight: 12, arbitrary: fc.record({ k: fc.constant('cpu_write' as const), p: raw, r: raw, off: raw, byte }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('fork' as const), p: raw }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('child_write' as const), p: raw, r: raw, off: raw, byte }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('exit' as const), p: raw }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('dev_read' as const), d: dev, ...range }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('dev_write' as const), d: dev, ...range, byte }) },
  { weight: 10, arbitrary: fc.record({ k: fc.constant('migrate_to_dev' as const), d: dev, ...range }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('migrate_to_sys' as const), d: dev, ...range }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('exclusive' as const), d: dev, ...range }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('snapshot' as const), d: dev, ...range }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('release' as const), p: raw, d: dev }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('close' as const), p: raw, d: dev }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('gup' as const), ...range, mode: fc.constantFrom<GupMode>('get', 'pin', 'pin_longterm') }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('move_pages' as const), ...range, node: fc.constantFrom(0, 1, 1), all: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('verify' as const), p: raw, r: raw }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('madvise' as const), ...range, adv: fc.constantFrom<Advice>('dontneed', 'dontneed', 'free', 'cold', 'pageout', 'remove') }) },
);

const mmapArb: fc.Arbitrary<Op> = fc.record({ k: fc.constant('mmap' as const), p: fc.constant(0), kind: fc.constantFrom<RegionKind>('anon', 'anon', 'shared', 'thp'), n: raw, prot: fc.constant<Prot>('rw') });

/** A run: one to three regions mapped by the root process, then `maxOps` random ops. */
export function runArb(maxOps: number): fc.Arbitrary<Op[]> {
  return fc
    .tuple(fc.array(mmapArb, { minLength: 1, maxLength: 3 }), fc.array(opArb, { minLength: 1, maxLength: maxOps, size: 'max' }))
    .map(([a, b]) => [...a, ...b]);
}

// ---------------------------------------------------------------- reference model

class SharedFile {
  readonly bytes = new Map<number, number>();
  /** Slots the CPU wrote since their page entered the cache: their page is dirty for good. */
  readonly cpuDirty = new Set<number>();
}

interface RefPage {
  prot: Prot;
  file: SharedFile | null;
  idx: number;
}

interface Region {
  start: number;
  npages: number;
  kind: RegionKind;
}

interface RefProc {
  proc: Process;
  pages: Map<number, RefPage>;
  /** Private page contents by vpn (absent = zero). */
  priv: Map<number, number>;
  regions: Region[];
  /** Region fds (tmpfs files) this process opened: closed at its exit. */
  fds: RegionFd[];
  /** Private pages MADV_FREE'd and not written by the CPU since: reclaim may discard them. */
  lazy: Set<number>;
}

const readable = (p: Prot) => p === 'rw' || p === 'r';
/** x86: a PROT_WRITE-only page can be loaded by the CPU (HMM still treats it as unreadable). */
const cpuReadable = (p: Prot) => p !== 'none';
const writable = (p: Prot) => p === 'rw' || p === 'w';

function expected(rp: RefProc, vpn: number): number {
  const pg = rp.pages.get(vpn)!;
  return pg.file ? pg.file.bytes.get(pg.idx) ?? 0 : rp.priv.get(vpn) ?? 0;
}
function setByte(rp: RefProc, vpn: number, b: number, byCpu: boolean): void {
  const pg = rp.pages.get(vpn)!;
  if (pg.file) {
    pg.file.bytes.set(pg.idx, b);
    if (byCpu) pg.file.cpuDirty.add(pg.idx);
  } else {
    rp.priv.set(vpn, b);
    if (byCpu) rp.lazy.delete(vpn);
  }
}

// ---------------------------------------------------------------- stats

export interface FuzzStats {
  runs: number;
  ops: number;
  /** Ops that did something (not skipped for lack of a target or a crash risk). */
  executed: number;
  skipped: number;
  /** Device ops left out because they could hit behaviour 17 or 18 (part of `skipped`). */
  skippedKernelBug: number;
  /** Runs ended by a reproduced Linux 6.1 kernel bug (KernelCrash / KernelHang). */
  kernelDied: number;
  byKind: Record<string, number>;
  /** Device pages seen after an op, as a sanity check that the fuzz reaches device states. */
  devicePrivateSeen: number;
  /** Device-private PMD entries seen after an op (7.x, devicePrivateThp). */
  devicePrivatePmdSeen: number;
  deviceCoherentSeen: number;
  exclusiveSeen: number;
}

export function newStats(): FuzzStats {
  return { runs: 0, ops: 0, executed: 0, skipped: 0, skippedKernelBug: 0, kernelDied: 0, byKind: {}, devicePrivateSeen: 0, devicePrivatePmdSeen: 0, deviceCoherentSeen: 0, exclusiveSeen: 0 };
}

/** A mismatch between the machine and the reference (the property fails with it). */
export class FuzzMismatch extends Error {}

// ---------------------------------------------------------------- replay

/**
 * Replays one op list on a fresh machine, checking after every op; throws on any mismatch or
 * invariant violation. `sabotage` lets tests break the machine on purpose to prove the harness
 * notices; `kernelVersion` pins the kernel (regression cases found on one version).
 */
export function replay(ops: Op[], stats: FuzzStats = newStats(), sabotage?: (m: Machine) => void, kernelVersion?: KernelVersion): FuzzStats {
  stats.runs++;
  // Two NUMA nodes: move_pages may move any page; no byte may change.
  // `kernelVersion`, else HETMEM_FUZZ_KERNEL, picks the kernel (default DEFAULT_KERNEL), e.g. 7.x.
  const kernel = kernelVersion ?? process.env.HETMEM_FUZZ_KERNEL;
  const m = new Machine({ nodes: 2, ...(kernel ? { kernel: kernel as KernelVersion } : {}) });
  sabotage?.(m);
  const root: RefProc = { proc: m.spawn(), pages: new Map(), priv: new Map(), regions: [], fds: [], lazy: new Set() };
  const procs: RefProc[] = [root];
  const sys = m.sys, pg = sys.pages;
  let step = 0;
  let cur: Op | null = null;
  const fail = (msg: string): never => {
    throw new FuzzMismatch(`op #${step} ${JSON.stringify(cur)}: ${msg}`);
  };
  const check = (cond: boolean, msg: () => string) => {
    if (!cond) fail(msg());
  };

  /** The bytes the CPU would see at `vpn`, resolved without faulting. */
  const peek = (rp: RefProc, vpn: number): Uint8Array => {
    const c = cpuEntry(rp.proc.mm, vpn);
    switch (c.type) {
      case PteType.PRESENT:
      case PteType.DEVICE_EXCLUSIVE:
        return pg.bytes(c.pfn);
      case PteType.DEVICE_PRIVATE: {
        const d = sys.pagemapOf(c.pfn)!.owner as DmirrorDevice;
        return pg.bytes(d.backingPage(c.pfn));
      }
      case PteType.NONE: {
        const vma = rp.proc.mm.findVma(vpn);
        const f = vma?.file;
        const cached = f ? f.pages.get(vma!.pgoffOf(vpn)) : undefined;
        return cached === undefined ? ZERO_BYTES : pg.bytes(cached);
      }
      default:
        return fail(`page ${vpn} has a ${c.type} entry after the op`);
    }
  };
  const uniform = (d: Uint8Array, off: number, b: number, full: boolean): boolean => {
    if (!full) return d[off] === b && d[off + 1234] === b && d[off + PAGE_SIZE - 1] === b;
    for (let i = off; i < off + PAGE_SIZE; i++) if (d[i] !== b) return false;
    return true;
  };

  const checkAll = () => {
    assertInvariants(m, procs.map((r) => r.proc), {}, `after op #${step} ${JSON.stringify(cur)}`);
    for (const rp of procs) {
      for (const vpn of rp.pages.keys()) {
        const want = expected(rp, vpn);
        const got = peek(rp, vpn);
        if (!uniform(got, 0, want, false)) fail(`proc ${procs.indexOf(rp)} page ${vpn}: holds ${got[0]}, reference ${want}`);
      }
      rp.proc.mm.pt.pmds.forEach((pmd) => {
        if (pmd.huge !== 0 && pmd.huge % 8 === PteType.DEVICE_PRIVATE) stats.devicePrivatePmdSeen++;
        if (!pmd.ptes) return;
        for (const e of pmd.ptes) {
          const t = e % 8;
          if (t === PteType.DEVICE_PRIVATE) stats.devicePrivateSeen++;
          else if (t === PteType.DEVICE_EXCLUSIVE) stats.exclusiveSeen++;
          else if (t === PteType.PRESENT && pg.kind[Math.floor(e / 256)] === PageKind.DEVICE_COHERENT) stats.deviceCoherentSeen++;
        }
      });
    }
  };

  // Op target resolution.
  const proc = (i: number) => procs[i % procs.length];
  const region = (rp: RefProc, i: number): Region | null => (rp.regions.length ? rp.regions[i % rp.regions.length] : null);
  /**
   * A page range inside a region: at most 16 pages (THP regions are 512). With `whole`, on a
   * kernel with device-private THP (7.x), one migration in four over a THP region takes all of
   * it, so whole PMDs move (MIGRATE_VMA_SELECT_COMPOUND).
   */
  const span = (rg: Region, off: number, n: number, whole = false): [number, number] => {
    if (whole && m.sys.k.devicePrivateThp && rg.kind === 'thp' && n % 4 === 0) return [rg.start, rg.npages];
    const o = off % rg.npages;
    return [rg.start + o, 1 + (n % Math.min(16, rg.npages - o))];
  };
  const pagesOf = (rp: RefProc, start: number, n: number) => Array.from({ length: n }, (_, i) => rp.pages.get(start + i));
  const all = (rp: RefProc, start: number, n: number, f: (p: Prot) => boolean) => pagesOf(rp, start, n).every((x) => x !== undefined && f(x.prot));

  /**
   * Whether a device read/write through dev `d`'s mirror of `rp` over [start, start+n) could hit
   * behaviour 17: the pages before the first missing (for writes: non-writable) mirror entry are
   * read from their entries, the rest are hmm_range_fault()ed, which hands device `d` its own
   * private pages as they are. Either way a device-private pfn in the mirror oopses.
   */
  const crashRisk = (rp: RefProc, d: number, start: number, n: number, write: boolean, readBack: boolean): boolean => {
    const mir = rp.proc.devfd[d];
    let s = start;
    for (; s < start + n; s++) {
      const e = mir?.pt.get(s);
      if (!e || (write && e.tag !== TAG_WRITE)) break;
      if (pg.kind[e.pfn] === PageKind.DEVICE_PRIVATE) return true;
    }
    if (readBack) {
      for (let v = start; v < start + n; v++) {
        const e = mir?.pt.get(v);
        if (e && pg.kind[e.pfn] === PageKind.DEVICE_PRIVATE) return true;
      }
      return false;
    }
    for (let v = s; v < start + n; v++) {
      const c = cpuEntry(rp.proc.mm, v);
      if (c.type === PteType.DEVICE_PRIVATE && sys.pagemapOf(c.pfn)!.owner === m.driver.devices[d]) return true;
    }
    return false;
  };
  /** The first page of the range without a (for writes: writable) entry in the mirror. */
  const firstUnmirrored = (rp: RefProc, d: number, start: number, n: number, write: boolean): number => {
    const mir = rp.proc.devfd[d];
    let v = start;
    for (; v < start + n; v++) {
      const e = mir?.pt.get(v);
      if (!e || (write && e.tag !== TAG_WRITE)) break;
    }
    return v;
  };
  /** Behaviour 18: a device-coherent page must not be made exclusive. */
  const coherentIn = (rp: RefProc, start: number, n: number): boolean => {
    for (let v = start; v < start + n; v++) {
      const c = cpuEntry(rp.proc.mm, v);
      if (c.type === PteType.PRESENT && pg.kind[c.pfn] === PageKind.DEVICE_COHERENT) return true;
    }
    return false;
  };

  const compareData = (rp: RefProc, data: Uint8Array | undefined, start: number, n: number, what: string) => {
    check(data !== undefined && data.length === n * PAGE_SIZE, () => `${what}: no data`);
    for (let i = 0; i < n; i++) {
      const want = expected(rp, start + i);
      if (!uniform(data!, i * PAGE_SIZE, want, true)) fail(`${what}: page ${start + i} reads ${data![i * PAGE_SIZE]}, reference ${want}`);
    }
  };

  const cpuRead = (rp: RefProc, vpn: number) => {
    const pgRef = rp.pages.get(vpn);
    let got: Uint8Array | SignalError;
    try {
      got = rp.proc.read(vpn);
    } catch (e) {
      if (!(e instanceof SignalError)) throw e;
      got = e;
    }
    if (!pgRef || !cpuReadable(pgRef.prot)) {
      check(got instanceof SignalError && got.signal === 'SIGSEGV', () => `cpu_read of page ${vpn} (${pgRef?.prot ?? 'unmapped'}) did not SIGSEGV`);
      return;
    }
    check(!(got instanceof SignalError), () => `cpu_read of page ${vpn} (${pgRef.prot}) got ${(got as SignalError).signal}`);
    const want = expected(rp, vpn);
    check(uniform(got as Uint8Array, 0, want, true), () => `cpu_read of page ${vpn}: ${(got as Uint8Array)[0]}, reference ${want}`);
  };

  const cpuWrite = (rp: RefProc, vpn: number, b: number) => {
    const pgRef = rp.pages.get(vpn);
    let sig: string | null = null;
    try {
      rp.proc.write(vpn, b);
    } catch (e) {
      if (!(e instanceof SignalError)) throw e;
      sig = e.signal;
    }
    if (!pgRef || !writable(pgRef.prot)) {
      check(sig === 'SIGSEGV', () => `cpu_write of page ${vpn} (${pgRef?.prot ?? 'unmapped'}) gave ${sig ?? 'no signal'}`);
      return;
    }
    check(sig === null, () => `cpu_write of page ${vpn} (${pgRef.prot}) got ${sig}`);
    setByte(rp, vpn, b, true);
  };

  /** Runs one op; returns false when it was skipped. */
  const run = (op: Op): boolean => {
    switch (op.k) {
      case 'mmap': {
        const rp = proc(op.p);
        if (rp.regions.length >= 6) return false;
        const n = op.kind === 'thp' ? 512 : op.kind === 'anon' ? 1 + (op.n % 8) : 1 + (op.n % 4);
        // mmapRaw, not mmap: a file mapping's fd must be closed at exit (Process.mmap drops it).
        const res = rp.proc.mmapRaw(n, op.kind, parseProt(op.prot));
        check(typeof res !== 'number', () => `mmap failed with ${String(res)}`);
        const { start, fd } = res as { start: number; fd: RegionFd | null };
        if (fd) rp.fds.push(fd);
        // shared and file are one page cache for every process that inherits them; a private
        // file mapping of a new empty file reads zeroes until written, like anon.
        const file = op.kind === 'shared' || op.kind === 'file' ? new SharedFile() : null;
        // Process.mmap (like hmmtrace) puts a PROT_NONE anonymous guard page on each side. A
        // region that reuses a hole can put its guards under an older region's pages, so the
        // guards are pages of the reference too.
        for (let i = -1; i <= n; i++) {
          check(!rp.pages.has(start + i), () => `mmap returned page ${start + i} that is still mapped`);
          const guard = i < 0 || i === n;
          rp.pages.set(start + i, guard ? { prot: 'none', file: null, idx: 0 } : { prot: op.prot, file, idx: i });
          rp.priv.delete(start + i);
          rp.lazy.delete(start + i);
        }
        rp.regions.push({ start, npages: n, kind: op.kind });
        return true;
      }
      case 'munmap': {
        const rp = proc(op.p), rg = region(rp, op.r);
        if (!rg) return false;
        // Whole region one time in four, else a piece.
        const [s, n] = op.n % 4 === 0 ? [rg.start, rg.npages] : span(rg, op.off, op.n);
        check(rp.proc.munmap(s, n) === 0, () => 'munmap failed');
        for (let v = s; v < s + n; v++) {
          rp.pages.delete(v);
          rp.priv.delete(v);
          rp.lazy.delete(v);
        }
        return true;
      }
      case 'mprotect': {
        const rp = proc(op.p), rg = region(rp, op.r);
        if (!rg) return false;
        const [s, n] = span(rg, op.off, op.n);
        const ret = rp.proc.mprotect(s, n, op.prot);
        // VMA by VMA from `s`; a hole stops it with ENOMEM after the earlier pages changed.
        let v = s;
        for (; v < s + n && rp.pages.has(v); v++) rp.pages.get(v)!.prot = op.prot;
        check(ret === (v === s + n ? 0 : -12), () => `mprotect returned ${ret}`);
        return true;
      }
      case 'cpu_read': {
        const rp = proc(op.p), rg = region(rp, op.r);
        if (!rg) return false;
        cpuRead(rp, rg.start + (op.off % rg.npages));
        return true;
      }
      case 'cpu_write': {
        const rp = proc(op.p), rg = region(rp, op.r);
        if (!rg) return false;
        cpuWrite(rp, rg.start + (op.off % rg.npages), op.byte);
        return true;
      }
      case 'fork': {
        if (procs.length >= 3) return false;
        const parent = proc(op.p);
        const child: RefProc = {
          proc: parent.proc.fork(),
          pages: new Map([...parent.pages].map(([v, x]) => [v, { ...x }])),
          priv: new Map(parent.priv),
          regions: parent.regions.map((r) => ({ ...r })),
          fds: [],
          lazy: new Set(parent.lazy),
        };
        procs.push(child);
        return true;
      }
      case 'child_write': {
        // hmmtrace's fork_write_child: fork, the child writes one page, exits (closing its fds).
        const parent = proc(op.p), rg = region(parent, op.r);
        if (!rg) return false;
        const child: RefProc = { proc: parent.proc.fork(), pages: new Map([...parent.pages].map(([v, x]) => [v, { ...x }])), priv: new Map(parent.priv), regions: [], fds: [], lazy: new Set(parent.lazy) };
        procs.push(child);
        cpuWrite(child, rg.start + (op.off % rg.npages), op.byte);
        child.proc.exit();
        procs.pop();
        return true;
      }
      case 'exit': {
        if (procs.length < 2) return false;
        const i = 1 + (op.p % (procs.length - 1));
        procs[i].proc.exit(true, procs[i].fds);
        procs.splice(i, 1);
        return true;
      }
      case 'dev_read':
      case 'dev_write':
      case 'migrate_to_dev':
      case 'migrate_to_sys':
      case 'exclusive':
      case 'snapshot': {
        const rp = proc(op.p);
        const migrate = op.k === 'migrate_to_dev' || op.k === 'migrate_to_sys';
        // 7.x: a whole-THP migration (span's `whole`) goes to the process's first THP region.
        const thpRegion = migrate && m.sys.k.devicePrivateThp && op.n % 4 === 0 ? rp.regions.find((x) => x.kind === 'thp') : undefined;
        const rg = thpRegion ?? region(rp, op.r);
        if (!rg) return false;
        const [s, n] = span(rg, op.off, op.n, migrate);
        const isWrite = op.k === 'dev_write';
        if (((op.k === 'dev_read' || isWrite) && crashRisk(rp, op.d, s, n, isWrite, false)) ||
          ((op.k === 'migrate_to_dev' || op.k === 'exclusive') && crashRisk(rp, op.d, s, n, false, true)) ||
          (op.k === 'exclusive' && coherentIn(rp, s, n))) {
          stats.skippedKernelBug++;
          return false;
        }
        const f = rp.proc.device(op.d);
        switch (op.k) {
          case 'dev_read': {
            // Mirrored pages are read as they are; from the first one that is not, the rest of
            // the range is faulted, which needs VM_READ. (A PROT_WRITE-only page can be
            // mirrored: `exclusive` only needs FOLL_WRITE.)
            const fs = firstUnmirrored(rp, op.d, s, n, false);
            const r = f.read(s, n);
            check((r.ret === 0) === all(rp, fs, s + n - fs, readable), () => `dev_read returned ${r.ret} over ${pagesOf(rp, s, n).map((x) => x?.prot ?? '-')} (mirrored up to ${fs - s})`);
            if (r.ret === 0) compareData(rp, r.data, s, n, 'dev_read');
            break;
          }
          case 'dev_write': {
            const fs = firstUnmirrored(rp, op.d, s, n, true);
            const r = f.write(s, n, (op as { byte: number }).byte);
            const ok = all(rp, fs, s + n - fs, (p) => p === 'rw');
            check((r.ret === 0) === ok, () => `dev_write returned ${r.ret} over ${pagesOf(rp, s, n).map((x) => x?.prot ?? '-')} (writably mirrored up to ${fs - s})`);
            check(r.ret === 0 ? r.cpages === n : r.cpages < n, () => `dev_write returned ${r.ret} with cpages ${r.cpages}`);
            // Pages before a failing page have been written (behaviour 14).
            for (let i = 0; i < r.cpages; i++) setByte(rp, s + i, (op as { byte: number }).byte, false);
            break;
          }
          case 'migrate_to_dev': {
            const r = f.migrateToDevice(s, n);
            if (r.ret === 0) {
              check(all(rp, s, n, readable), () => 'migrate_to_dev succeeded over unreadable pages');
              compareData(rp, r.data, s, n, 'migrate_to_dev read-back');
            }
            break;
          }
          case 'migrate_to_sys': {
            const r = f.migrateToSystem(s, n);
            check(r.ret !== 0 || all(rp, s, n, readable), () => 'migrate_to_sys succeeded over unreadable pages');
            break;
          }
          case 'exclusive': {
            const r = f.exclusive(s, n);
            if (r.ret === 0) compareData(rp, r.data, s, n, 'exclusive read-back');
            break;
          }
          case 'snapshot': {
            const r = f.snapshot(s, n);
            check(r.ret === 0 && r.perm!.length === n, () => `snapshot returned ${r.ret}`);
            for (let i = 0; i < n; i++) {
              const x = rp.pages.get(s + i);
              const want = !x || !readable(x.prot);
              check((r.perm![i] === 0xff) === want, () => `snapshot perm ${r.perm![i].toString(16)} for a ${x?.prot ?? 'unmapped'} page`);
            }
            break;
          }
        }
        return true;
      }
      case 'release':
        proc(op.p).proc.device(op.d).release();
        return true;
      case 'close':
        return proc(op.p).proc.close(op.d);
      case 'gup': {
        const rp = proc(op.p), rg = region(rp, op.r);
        if (!rg) return false;
        const [s, n] = span(rg, op.off, op.n);
        const flags: GupFlags = op.mode === 'get' ? {} : op.mode === 'pin' ? { pin: true } : { pin: true, longterm: true };
        const got = rp.proc.gup(s, n, flags);
        const ok = all(rp, s, n, writable);
        check(ok ? got === n : got < n, () => `gup returned ${got} for ${n} pages (${pagesOf(rp, s, n).map((x) => x?.prot ?? '-')})`);
        return true;
      }
      case 'move_pages': {
        const rp = proc(op.p), rg = region(rp, op.r);
        if (!rg) return false;
        const [s, n] = span(rg, op.off, op.n);
        const res = rp.proc.movePages(s, n, op.node, { all: op.all });
        check(res.ret >= 0, () => `move_pages returned ${res.ret}`);
        res.status.forEach((st, i) => {
          if (res.ret === 0) check(st !== null, () => `move_pages left status ${i} unset with ret 0`);
          if (st === op.node) {
            const e = cpuEntry(rp.proc.mm, s + i);
            // 6.12 (migrateSplitsPartiallyMappedThp): a partially mapped THP is split, and its
            // zero-filled subpages go to the shared zero page; migrate_folio_unmap counts such a
            // freed subpage as migrated, so store_status still writes the node for it.
            if (sys.k.migrateSplitsPartiallyMappedThp && e.type === PteType.PRESENT && sys.isZeroPfn(e.pfn)) return;
            check(e.pfn >= 0 && pg.nodeOf(e.pfn) === op.node, () => `page ${s + i} reported on node ${op.node} but is on ${e.pfn >= 0 ? pg.nodeOf(e.pfn) : 'no page'}`);
          }
        });
        return true;
      }
      case 'madvise': {
        const rp = proc(op.p), rg = region(rp, op.r);
        if (!rg) return false;
        const [s, n] = span(rg, op.off, op.n);
        const pages = pagesOf(rp, s, n);
        if (op.adv === 'remove') {
          // Only where the outcome is plain: all one shared file (a hole: zeroes for everyone
          // sharing it) or all private (EINVAL/EACCES, nothing happens).
          const f0 = pages[0]?.file ?? null;
          if (pages.some((x) => !x || x.file !== f0)) return false;
          const ret = rp.proc.madvise(s, n, 'remove');
          check((ret === 0) === (f0 !== null), () => `madvise remove returned ${ret}`);
          if (ret === 0) {
            for (const x of pages) {
              f0!.bytes.delete(x!.idx);
              f0!.cpuDirty.delete(x!.idx);
            }
          }
          return true;
        }
        rp.proc.madvise(s, n, op.adv);
        // DONTNEED drops private pages (anon, COW copies, device pages): zeroes again; the page
        // cache keeps shared data. FREE/COLD/PAGEOUT never lose data (no swap, no reclaim).
        if (op.adv === 'dontneed') {
          for (let v = s; v < s + n; v++) {
            if (rp.pages.get(v)?.file !== null) continue;
            rp.priv.delete(v);
            rp.lazy.delete(v);
          }
        }
        if (op.adv === 'free') for (let v = s; v < s + n; v++) if (rp.pages.get(v)?.file === null) rp.lazy.add(v);
        if (op.adv === 'pageout') {
          // Linux 6.1 quirk: test_hmm's dmirror_do_write (memcpy_to_page) never dirties the
          // page, and a read fault maps a shmem page writable but clean, so a page-cache page
          // written only by a device is clean; reclaim (MADV_PAGEOUT) drops clean page-cache
          // pages, and the device's data is gone (the hole reads zeroes). A page the CPU wrote
          // is dirty (PTE dirty bit, moved to the page on unmap) and stays. So: a slot without
          // a CPU write may now read zero; adopt what the machine holds if it is one of the two.
          for (let v = s; v < s + n; v++) {
            const x = rp.pages.get(v);
            if (!x?.file || x.file.cpuDirty.has(x.idx)) continue;
            const now = peek(rp, v)[0], want = x.file.bytes.get(x.idx) ?? 0;
            check(now === want || now === 0, () => `pageout: page ${v} holds ${now}, reference ${want}`);
            if (now === 0) x.file.bytes.delete(x.idx);
          }
          // MADV_FREE'd anon pages that are still clean are discarded by reclaim (lazyfree);
          // a CPU write re-dirties them, a device write through the mirror does not.
          for (let v = s; v < s + n; v++) {
            if (!rp.lazy.has(v) || rp.pages.get(v)?.file !== null) continue;
            const now = peek(rp, v)[0], want = rp.priv.get(v) ?? 0;
            check(now === want || now === 0, () => `pageout: lazyfree page ${v} holds ${now}, reference ${want}`);
            if (now === 0) {
              rp.priv.delete(v);
              rp.lazy.delete(v);
            }
          }
        }
        return true;
      }
      case 'verify': {
        const rp = proc(op.p), rg = region(rp, op.r);
        if (!rg) return false;
        for (let v = rg.start; v < rg.start + rg.npages; v++) if (rp.pages.has(v)) cpuRead(rp, v);
        return true;
      }
    }
  };

  try {
    for (const op of ops) {
      step++;
      cur = op;
      stats.ops++;
      if (run(op)) {
        stats.executed++;
        stats.byKind[op.k] = (stats.byKind[op.k] ?? 0) + 1;
      } else stats.skipped++;
      checkAll();
    }
    // The end of a run: every page read by the CPU, then everyone exits: nothing may leak.
    step++;
    cur = null;
    for (const rp of procs) for (const v of rp.pages.keys()) if (cpuReadable(rp.pages.get(v)!.prot)) cpuRead(rp, v);
    checkAll();
    for (const rp of procs.slice(1)) rp.proc.exit(true, rp.fds);
    root.proc.exit(false, root.fds);
    procs.length = 0;
    assertNoLeaks(m, 'after every process exited');
  } catch (e) {
    if (e instanceof KernelCrash || e instanceof KernelHang) {
      stats.kernelDied++;
      return stats;
    }
    throw e;
  }
  return stats;
}
