// One memory figure in a fresh process: a bare System (no devices) with one address space whose
// N anonymous pages are each written once (a tracked page: a struct page and a PTE), with or
// without page contents. Metadata is the growth of heapUsed + arrayBuffers from the empty
// mapping to the populated one, minus the bytes of page contents: it includes the PageStore's
// spare capacity, which is real memory the model holds.
//   node --expose-gc --no-flush-bytecode --no-concurrent-recompilation --import tsx bench/mem-child.ts --pages N --mode no-data
// (the V8 flags keep the engine's own heap still between the two readings: measures/memory.ts)
import { Command } from 'commander';
import { System } from '../src/mm/system.ts';
import { Mm } from '../src/mm/mm.ts';
import { mmapFixed, getUnmappedArea } from '../src/mm/mmap.ts';
import { handleMmFault, VM_FAULT_ERROR } from '../src/mm/fault.ts';
import { ptePfn } from '../src/mm/pte.ts';
import { PMD_NR, PROT_READ, PROT_WRITE } from '../src/mm/constants.ts';
import type { PageStore } from '../src/mm/page.ts';
import { fullGc, hasGc, usedBytes, peakRssBytes, nowNs } from './lib/timing.ts';
import { emitResult } from './lib/child.ts';
import { fillByte } from './lib/setup.ts';
import type { MemoryPoint } from './schema.ts';

const opts = new Command()
  .requiredOption('--pages <n>', 'tracked pages', (v) => Number(v))
  .requiredOption('--mode <mode>', 'data | no-data')
  .parse()
  .opts<{ pages: number; mode: 'data' | 'no-data' }>();

if (!hasGc()) throw new Error('run with node --expose-gc');
if (opts.mode !== 'data' && opts.mode !== 'no-data') throw new Error(`bad --mode ${opts.mode}`);

/** Bytes of the PageStore's per-pfn typed arrays (their capacity). */
function pageStoreBytes(p: PageStore): number {
  return p.metadataArrays().reduce((s, a) => s + a.byteLength, 0);
}

/** Sizes up to this many pages report the median of several readings (see below). */
const SMALL_PAGES = 2 ** 16;

/** A bare System with one anonymous mapping of `n` pages, not yet touched. */
function setup(n: number) {
  const sys = new System({ keepData: opts.mode === 'data' });
  const mm = new Mm(sys);
  const start = getUnmappedArea(mm, n);
  if (start < 0 || mmapFixed(mm, start, n, PROT_READ | PROT_WRITE, { kind: 'anon', shared: false }) !== 0) throw new Error('mmap failed');
  return { sys, mm, start, vma: mm.findVma(start)! };
}
/** Writes every page once from the CPU: the fault allocates the page, then the store fills it. */
function populate({ sys, mm, start, vma }: ReturnType<typeof setup>, n: number): void {
  for (let i = 0; i < n; i++) {
    if (handleMmFault(mm, vma, start + i, true) & VM_FAULT_ERROR) throw new Error('write faulted');
    if (opts.mode === 'data') sys.pages.fill(ptePfn(mm.pt.pte(start + i)), fillByte(i));
  }
}

/**
 * One reading: a fresh System, populated between two full GCs. Returns the point without the
 * process-wide fields (peak RSS, seconds).
 */
function measure(n: number): Omit<MemoryPoint, 'peakRssBytes' | 'seconds'> {
  const s = setup(n);
  const { mm } = s;
  const pages = s.sys.pages;
  fullGc();
  const before = usedBytes();
  const psBefore = pageStoreBytes(pages);
  const pmdsBefore = mm.pt.pmds.size;
  populate(s, n);
  fullGc();
  const after = usedBytes();
  const held = pages.contents?.pages ?? 0;
  // What the contents' slabs hold (whole slabs: the last one's free slots included).
  const contentBytes = pages.contents?.allocatedBytes ?? 0;
  if (opts.mode === 'data' && held < n) throw new Error(`only ${held} of ${n} pages hold contents`);
  const metadataBytes = after.total - before.total - contentBytes;
  return {
    pages: n,
    mode: opts.mode,
    bytesPerPage: metadataBytes / n,
    metadataBytes,
    heapBytes: after.heap - before.heap,
    arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
    contentBytes,
    pageStoreBytes: pageStoreBytes(pages) - psBefore,
    pageTableBytes: (mm.pt.pmds.size - pmdsBefore) * PMD_NR * 8,
    rssBytes: after.rss - before.rss,
  };
}

const t0 = nowNs();
const n = opts.pages;
// Warm-up on a throwaway System, so that what the engine allocates once (compiled code, inline
// caches, type feedback) is not counted as metadata of the measured pages; with 2^11 pages that
// would be most of the figure, in either direction.
populate(setup(1024), 1024);
// The engine's heap can still move by ~100 KiB between two readings now and then (more often
// on a loaded machine): a few KiB a page at 2^11 pages, nothing at 2^20. Small sizes therefore
// take the median of 5 readings, each on a fresh System (the previous one is garbage by then).
const readings: Array<ReturnType<typeof measure>> = [];
for (let r = 0; r < (n <= SMALL_PAGES ? 5 : 1); r++) readings.push(measure(n));
readings.sort((a, b) => a.metadataBytes - b.metadataBytes);
const point: MemoryPoint = { ...readings[readings.length >> 1], peakRssBytes: peakRssBytes(), seconds: Number(nowNs() - t0) / 1e9 };
emitResult(point);
