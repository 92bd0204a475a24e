import { PageStore, PageKind, PG_HUGETLB, PG_FILE } from './page.ts';
import { PMD_ORDER, PMD_NR } from './constants.ts';
import { DevPagemap, type DevPagemapOps, type PagemapType } from './memremap.ts';
import { ShmemFile } from './file.ts';
import type { Mm } from './mm.ts';
import { DEFAULT_KERNEL, KERNELS, type KernelSwitches, type KernelVersion } from './kernel.ts';

/** Options for a System. */
export interface SystemOptions {
  /** Huge pages preallocated in the hugetlb pool (vm.nr_hugepages). Linux traces: 16. */
  hugetlbPages?: number;
  /** Keep page contents (byte-exact mode). Off for timing-only runs. */
  keepData?: boolean;
  /**
   * NUMA nodes with memory (1..64; default 1).
   */
  nodes?: number;
  /**
   * Memory of each node, bytes (default: unbounded, as on a machine with memory to spare; the
   * oracle traces assume that). A full node sends allocations down its zonelist (see
   * fallbackNode); when no allowed node has room, OutOfMemory.
   */
  nodeBytes?: readonly number[];
  /**
   * The Linux version whose behaviour the model reproduces where 6.1 and 6.12 differ
   * (src/mm/kernel.ts lists the differences). Default DEFAULT_KERNEL (6.12); the corpora
   * recorded on 6.1 replay with '6.1'.
   */
  kernel?: KernelVersion;
}

/** MAX_NUMNODES of the 6.1 x86-64 configuration the traces come from (CONFIG_NODES_SHIFT=6). */
export const MAX_NUMNODES = 64;

/**
 * The live address spaces, in creation order. rmap walks visit every one of them for every
 * page they look up, so the set also keeps an array of its members (iterating an array is
 * cheaper than a Set's iterator), rebuilt after a change.
 */
export class MmSet extends Set<Mm> {
  private arr: Mm[] | null = null;
  override add(mm: Mm): this {
    this.arr = null;
    return super.add(mm);
  }
  override delete(mm: Mm): boolean {
    this.arr = null;
    return super.delete(mm);
  }
  override clear(): void {
    this.arr = null;
    super.clear();
  }
  /** The members in iteration order; valid until the next change. */
  list(): readonly Mm[] {
    return (this.arr ??= [...this]);
  }
}

/**
 * The machine's memory: every struct page, the zero pages, the hugetlb pool, device pagemaps,
 * page-cache files, and the live address spaces (rmap walks visit them).
 */
export class System {
  readonly pages: PageStore;
  /** The kernel version's switches (`if (sys.k.thpSplitMapsZeroPage)`); see kernel.ts. */
  readonly k: KernelSwitches;
  /** pfn of the shared 4 KiB zero page. */
  readonly zeroPfn: number;
  /** Head pfn of the huge zero page (512 pfns). */
  readonly hugeZeroPfn: number;
  /** Free huge pages in the pool, per NUMA node. */
  readonly hugetlbFreeNode: number[];
  /** Huge pages in the pool (free or in use), all nodes. */
  readonly hugetlbTotal: number;
  /** NUMA nodes with memory: node ids are 0 .. nrNodes-1. */
  readonly nrNodes: number;
  /** Frames (4 KiB) each node holds; Infinity when unbounded. */
  readonly nodeFrames: readonly number[];
  /** Whether any node is bounded (else allocations never look at capacities). */
  readonly bounded: boolean;
  /** Huge pages promised to mappings but not yet faulted (hugetlb reservations). */
  hugetlbReserved = 0;
  readonly pagemaps: DevPagemap[] = [];
  readonly mms = new MmSet();
  readonly files = new Map<number, ShmemFile>();
  private nextFileId = 1;
  nextMmId = 1;
  nextVmaOrigin = 1;
  nextAnonVmaId = 1;
  /** Counters of core events (COW copies, migrations, ...), for metrics and tests. */
  readonly stats = { cow: 0, migrated: 0, migrateToRam: 0, numaMigrated: 0 };
  /**
   * The kernel warnings (WARN_ON_ONCE splats) the run has logged, each once, by the site's
   * condition (`zap_nonpresent_ptes: !vma_is_anonymous(vma)`). A warning changes no result; the
   * real kernel only logs it and taints itself.
   */
  readonly warnings: string[] = [];

  /** WARN_ON_ONCE: logs `site` the first time. */
  warnOnce(site: string): void {
    if (!this.warnings.includes(site)) this.warnings.push(site);
  }

  constructor(opts: SystemOptions = {}) {
    const k = KERNELS[opts.kernel ?? DEFAULT_KERNEL] as KernelSwitches | undefined;
    if (!k) throw new RangeError(`kernel must be one of ${Object.keys(KERNELS).join(', ')}, got '${String(opts.kernel)}'`);
    this.k = k;
    this.pages = new PageStore(1 << 12, opts.keepData ?? true);
    this.zeroPfn = this.pages.allocSystem();
    this.pages.kind[this.zeroPfn] = PageKind.ZERO;
    this.hugeZeroPfn = this.pages.allocCompound(PMD_ORDER);
    for (let i = 0; i < PMD_NR; i++) this.pages.kind[this.hugeZeroPfn + i] = PageKind.HUGE_ZERO;
    // The zero pages are the kernel's own, never freed: they do not count against node memory.
    this.pages.nodeInUse[0] = 0;
    this.nrNodes = opts.nodes ?? 1;
    if (!(Number.isInteger(this.nrNodes) && this.nrNodes >= 1 && this.nrNodes <= MAX_NUMNODES)) {
      throw new RangeError(`nodes must be an integer in 1..${MAX_NUMNODES}, got ${this.nrNodes}`);
    }
    const bytes = opts.nodeBytes;
    if (bytes !== undefined && (bytes.length !== this.nrNodes || bytes.some((b) => !(b >= 0)))) {
      throw new RangeError(`nodeBytes must give a size >= 0 for each of the ${this.nrNodes} nodes, got [${bytes.join(', ')}]`);
    }
    this.nodeFrames = Array.from({ length: this.nrNodes }, (_, n) => (bytes ? Math.floor(bytes[n] / 4096) : Infinity));
    this.bounded = this.nodeFrames.some((f) => f !== Infinity);
    // vm.nr_hugepages fills the pool round-robin over the nodes with memory, from node 0.
    this.hugetlbTotal = opts.hugetlbPages ?? 16;
    this.hugetlbFreeNode = Array.from({ length: this.nrNodes }, (_, n) =>
      Math.floor(this.hugetlbTotal / this.nrNodes) + (n < this.hugetlbTotal % this.nrNodes ? 1 : 0));
  }

  /** Free huge pages in the pool, all nodes. */
  get hugetlbFree(): number {
    let n = 0;
    for (const f of this.hugetlbFreeNode) n += f;
    return n;
  }

  /** Whether node `node` has `frames` free frames (its capacity minus the frames in use). */
  hasRoom(node: number, frames: number): boolean {
    return (this.pages.nodeInUse[node] ?? 0) + frames <= this.nodeFrames[node];
  }

  /**
   * The node an allocation of `frames` preferring `node` gets: the first with room along
   * `node`'s zonelist, only among `allowed` when given (a bind nodemask), or -1 when none has
   * room. With equal node distances (the model has no SLIT) 6.1's build_zonelists orders the
   * nodes after `node` first, then the ones below it (find_next_best_node's "prefer the next
   * node" penalty); its node_load spreading between zonelists is not modelled.
   */
  fallbackNode(node: number, frames: number, allowed: readonly number[] | null = null): number {
    for (let i = 0; i < this.nrNodes; i++) {
      const n = (node + i) % this.nrNodes;
      if ((allowed === null || allowed.includes(n)) && this.hasRoom(n, frames)) return n;
    }
    return -1;
  }

  isZeroPfn(pfn: number): boolean {
    return pfn === this.zeroPfn;
  }
  isHugeZero(pfn: number): boolean {
    return this.pages.kind[pfn] === PageKind.HUGE_ZERO;
  }

  /** memremap_pages(): a new device pagemap over `npages` fresh device pfns. */
  memremapPages(type: PagemapType, owner: unknown, ops: DevPagemapOps, npages: number): DevPagemap {
    const start = this.pages.reserveRange(npages, PMD_NR);
    const pm = new DevPagemap(this.pagemaps.length, type, owner, ops, start, npages);
    this.pagemaps.push(pm);
    const kind = type === 'private' ? PageKind.DEVICE_PRIVATE : PageKind.DEVICE_COHERENT;
    this.pages.kind.fill(kind, start, start + npages);
    this.pages.setPgmap(start, npages, pm.id);
    return pm;
  }
  pagemapOf(pfn: number): DevPagemap | undefined {
    const id = this.pages.pgmapId(pfn);
    return id >= 0 ? this.pagemaps[id] : undefined;
  }

  /** A new shmem inode of `npages` pages with one reference (its creator's). */
  newFile(npages: number): ShmemFile {
    const f = new ShmemFile(this.nextFileId++, npages);
    f.refs = 1;
    this.files.set(f.id, f);
    return f;
  }
  /** Drops a file reference; the last one truncates the page cache. */
  fileput(f: ShmemFile): void {
    if (--f.refs > 0) return;
    for (const pfn of f.pages.values()) this.putPage(pfn);
    f.pages.clear();
    this.files.delete(f.id);
  }
  /** The page-cache page at `index`, created (zeroed) on first use: shmem_get_folio. */
  fileGetPage(f: ShmemFile, index: number, node = 0): number {
    let pfn = f.pages.get(index);
    if (pfn === undefined) {
      pfn = this.pages.allocSystem(node);
      this.pages.setFlag(pfn, PG_FILE);
      this.pages.setMapping(pfn, f.id);
      this.pages.setIndex(pfn, index);
      f.pages.set(index, pfn);
    }
    return pfn;
  }

  /**
   * Allocates a hugetlb page from the pool — from `node` if it has one free, else from the
   * nearest node that has (all nodes are equally distant here, so the lowest id), only among
   * `allowed` nodes when given (a bind policy) — or returns -1 when none is free.
   */
  allocHugetlb(node = 0, allowed: readonly number[] | null = null): number {
    const ok = (n: number) => this.hugetlbFreeNode[n] > 0 && (allowed === null || allowed.includes(n));
    const from = ok(node) ? node : this.hugetlbFreeNode.findIndex((_, n) => ok(n));
    if (from < 0) return -1;
    this.hugetlbFreeNode[from]--;
    const head = this.pages.allocCompound(PMD_ORDER, PageKind.SYSTEM, from);
    this.pages.setFlag(head, PG_HUGETLB);
    return head;
  }

  /**
   * put_page: drops one reference of the folio holding `pfn`; the last one frees it — back to
   * the driver for device pages, to the pool for hugetlb, to the allocator otherwise.
   */
  putPage(pfn: number): void {
    const p = this.pages;
    const h = p.folio(pfn);
    const k = p.kind[h];
    if (k === PageKind.ZERO || k === PageKind.HUGE_ZERO) return;
    if (--p.refcount[h] > 0) return;
    this.freeFolio(h);
  }

  /**
   * The end of put_page for a folio whose last reference went (refcount now 0 or below). Kept
   * apart so that putPage, on every migration's and fault's path twice a page, stays small
   * enough for the compiler to inline where it is called.
   */
  private freeFolio(h: number): void {
    // Large folios and the underflow report are calls of their own: this is compiled into every
    // migration's finalize and every COW fault, whose loops can take in only so much code.
    const p = this.pages;
    if (p.refcount[h] < 0) refcountUnderflow(h);
    if (p.isZoneDevice(h)) {
      p.flags[h] = 0;
      p.setMapping(h, 0);
      this.pagemapOf(h)!.ops.pageFree(h);
    } else if (p.isCompound(h)) this.freeCompound(h);
    else p.freeFrame(h);
  }
  /** A large system folio whose last reference went: every frame back, a hugetlb page to its node's pool. */
  private freeCompound(h: number): void {
    const p = this.pages;
    const n = p.folioNr(h);
    if (p.hasFlag(h, PG_HUGETLB)) this.hugetlbFreeNode[p.nodeOf(h)]++;
    for (let i = n - 1; i >= 0; i--) p.freeFrame(h + i);
  }
}

function refcountUnderflow(pfn: number): never {
  throw new Error(`refcount underflow on pfn ${pfn}`);
}
