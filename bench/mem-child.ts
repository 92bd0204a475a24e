// One memory figure in a fresh process: a bare System (no devices) with one address space whose
// N anonymous pages are each written once (a tracked page: a struct page and a PTE), with or
// without page contents. Metadata is the growth of heapUsed + arrayBuffers from the empty
// mapping to the populated one, minus the bytes of page contents: it includes the PageStore's
// spare capacity, which is real memory the model holds.
//   node --expose-gc --import tsx bench/mem-child.ts --pages N --mode no-data
import { Command } from 'commander';
import { System } from '../src/mm/system.ts';
import { Mm } from '../src/mm/mm.ts';
import { mmapFixed, getUnmappedArea } from '../src/mm/mmap.ts';
import { handleMmFault, VM_FAULT_ERROR } from '../src/mm/fault.ts';
import { ptePfn } from '../src/mm/pte.ts';
import { PAGE_SIZE, PMD_NR, PROT_READ, PROT_WRITE } from '../src/mm/constants.ts';
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
  return [p.kind, p.flags, p.refcount, p.mapcount, p.entireMapcount, p.pincount, p.pgmap, p.mapping, p.index, p.head, p.order]
    .reduce((s, a) => s + a.byteLength, 0);
}

const t0 = nowNs();
const n = opts.pages;
const sys = new System({ keepData: opts.mode === 'data' });
const mm = new Mm(sys);
const start = getUnmappedArea(mm, n);
if (start < 0 || mmapFixed(mm, start, n, PROT_READ | PROT_WRITE, { kind: 'anon', shared: false }) !== 0) throw new Error('mmap failed');
const vma = mm.findVma(start)!;
const pages = sys.pages;
fullGc();
const before = usedBytes();
const psBefore = pageStoreBytes(pages);
const pmdsBefore = mm.pt.pmds.size;
for (let i = 0; i < n; i++) {
  // A CPU write: the fault allocates the page, then the store fills it.
  if (handleMmFault(mm, vma, start + i, true) & VM_FAULT_ERROR) throw new Error('write faulted');
  if (opts.mode === 'data') pages.fill(ptePfn(mm.pt.pte(start + i)), fillByte(i));
}
fullGc();
const after = usedBytes();
const contentBytes = pages.data.size * PAGE_SIZE;
if (opts.mode === 'data' && pages.data.size < n) throw new Error(`only ${pages.data.size} of ${n} pages hold contents`);
const metadataBytes = after.total - before.total - contentBytes;
const point: MemoryPoint = {
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
  peakRssBytes: peakRssBytes(),
  seconds: Number(nowNs() - t0) / 1e9,
};
emitResult(point);
