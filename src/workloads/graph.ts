// A random graph built by the CPU with ordinary allocations: per-vertex records scattered over
// arena slots, plus the CSR adjacency arrays and a visited-flag array as large contiguous
// buffers (what malloc does for big arrays: a fresh mmap each). Graph analytics over such data is
// the irregular-access workload that HMM lets a device run without restructuring it.
//
// With page data the build writes real bytes: each record its vertex id, the offsets array its
// row starts, and the targets array a pointer to each neighbour's record (an adjacency list of
// `Vertex *`, as code that allocates vertex objects separately keeps it). Pointers rather than
// ids indexing an address table in memory: a device following them does what a CPU library
// handed such data does (HMM's founding case), and each edge costs one dependent load, not two.

import type { Process } from '../api/machine.ts';
import type { PageStore } from '../mm/page.ts';
import type { Rng } from '../engine/rng.ts';
import type { CpuPhaseSpec } from '../sim/program.ts';
import { PAGE_SIZE } from '../units/page.ts';
import { placeInArenas, type Region } from './arena.ts';
import { DEFAULT_ARENA_PAGES } from './defaults.ts';
import { badOption, optionsObject, positiveInt, rngOption } from './options.ts';
import { buildOptions, pointerHigh, pointerLow, writePagesPhase, type BuildOptions } from './page-list-phase.ts';

/** Bytes per CSR offset entry: 64-bit, as graph codes use once edge counts pass 2^31 (low word, then high). */
export const OFFSET_BYTES = 8;
/** Bytes per CSR target entry: a 64-bit pointer to the neighbour's record (low word, then high). */
export const TARGET_BYTES = 8;
/** Byte offset of the vertex id (u32) in the first page of a vertex record. */
export const VERTEX_ID_OFFSET = 0;

/** Options of `randomGraph`. */
export interface RandomGraphOptions {
  /** Vertices, ≥ 1, below 2^31. */
  readonly vertices: number;
  /**
   * Average degree d ≥ 0: the graph has m = round(vertices · d / 2) undirected edges, each
   * between two distinct vertices drawn uniformly (parallel edges possible), stored in both
   * directions, so the mean CSR row length is 2m / vertices ≈ d. Requires 2m < 2^31.
   */
  readonly degree: number;
  /** Draws only from rng.fork('edges') and rng.fork('placement'). */
  readonly rng: Rng;
  /** Contiguous pages per vertex record, ≥ 1. Default 1. */
  readonly vertexPages?: number;
  /** Pages per allocator arena for vertex records, ≥ vertexPages. Default 512 (2 MiB). */
  readonly arenaPages?: number;
  /**
   * Bytes of the visited array per vertex, in [1, 4096]. Default 1 (a byte flag); 4096 gives
   * every vertex its own visited page.
   */
  readonly visitedBytesPerVertex?: number;
  /** How the building CPU phase is priced (see BuildOptions). */
  readonly build?: BuildOptions;
}

/** A graph in CSR form in a process's memory. Vertex ids are 0 .. vertices − 1. */
export interface Graph {
  readonly vertices: number;
  /** Directed CSR entries: twice the undirected edge count. */
  readonly edges: number;
  readonly vertexPages: number;
  /** First VPN of vertex v's record, which occupies [vertexVpn[v], vertexVpn[v] + vertexPages). */
  readonly vertexVpn: Float64Array;
  /** CSR row starts: v's neighbours are targets[offsets[v] .. offsets[v + 1]). Length vertices + 1. */
  readonly offsets: Int32Array;
  /**
   * CSR neighbour ids, each row in edge-generation order: the builder's metadata. In memory
   * targets[e] is stored as a pointer to the record of vertex targets[e].
   */
  readonly targets: Int32Array;
  /** The offsets array in memory: OFFSET_BYTES per entry from offsetsBase. */
  readonly offsetsBase: number;
  readonly offsetsPages: number;
  /** The targets array in memory: TARGET_BYTES per entry from targetsBase. */
  readonly targetsBase: number;
  readonly targetsPages: number;
  /** The visited array in memory: visitedBytesPerVertex per vertex from visitedBase. */
  readonly visitedBase: number;
  readonly visitedPages: number;
  readonly visitedBytesPerVertex: number;
  /** Arenas holding the vertex records. */
  readonly arenas: readonly Region[];
  /** The page store holding the graph's bytes (a traversal reads offsets, pointers and ids there). */
  readonly pages: PageStore;
  /**
   * The CPU building the graph, one write per page: every vertex record (vertex order, pages
   * ascending), then the offsets, targets and visited (zero-fill) arrays, each ascending. In
   * data mode a record's first page gets the vertex id (VERTEX_ID_OFFSET), an offsets page its
   * entries, a targets page its entries as pointers to the neighbours' records; other pages get
   * the machine's counter word.
   */
  readonly build: CpuPhaseSpec;
}

/** Page of offsets[i]. */
export function offsetsPageOf(g: Graph, i: number): number {
  return g.offsetsBase + Math.floor((i * OFFSET_BYTES) / PAGE_SIZE);
}
/** Page of targets[e]. */
export function targetsPageOf(g: Graph, e: number): number {
  return g.targetsBase + Math.floor((e * TARGET_BYTES) / PAGE_SIZE);
}
/** Page of vertex v's visited flag. */
export function visitedPageOf(g: Graph, v: number): number {
  return g.visitedBase + Math.floor((v * g.visitedBytesPerVertex) / PAGE_SIZE);
}

/**
 * Builds a random undirected graph in `proc` (see RandomGraphOptions for the edge model).
 * Allocation order: vertex records (scattered over arenas, arena.ts), then the offsets, targets
 * and visited buffers, one mmap each (at least one page each). Deterministic for a given rng key.
 * @throws RangeError naming the offending option.
 */
export function randomGraph(proc: Process, o: RandomGraphOptions): Graph {
  const fn = 'randomGraph';
  optionsObject(fn, o);
  const n = positiveInt(fn, 'vertices', o.vertices);
  if (n >= 2 ** 31) badOption(fn, 'vertices', 'below 2^31', n);
  const d = o.degree;
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) badOption(fn, 'degree', 'a finite number ≥ 0', d);
  const m = Math.round((n * d) / 2);
  if (m > 0 && n < 2) badOption(fn, 'degree', '0 when there is a single vertex (no self-loops)', d);
  if (2 * m >= 2 ** 31) badOption(fn, 'degree', 'small enough that 2 × edges < 2^31', d);
  const rng = rngOption(fn, 'rng', o.rng);
  const vertexPages = positiveInt(fn, 'vertexPages', o.vertexPages ?? 1);
  const arenaPages = o.arenaPages ?? DEFAULT_ARENA_PAGES;
  const vb = o.visitedBytesPerVertex ?? 1;
  if (typeof vb !== 'number' || !Number.isSafeInteger(vb) || vb < 1 || vb > PAGE_SIZE) {
    badOption(fn, 'visitedBytesPerVertex', 'an integer in [1, 4096]', vb);
  }
  const b = buildOptions(fn, fn, o.build);

  const { offsets, targets } = randomCsr(rng.fork('edges'), n, m);
  const placed = placeInArenas(proc, rng.fork('placement'), n, vertexPages, arenaPages, fn);
  const offsetsPages = Math.ceil(((n + 1) * OFFSET_BYTES) / PAGE_SIZE);
  const targetsPages = Math.max(1, Math.ceil((2 * m * TARGET_BYTES) / PAGE_SIZE));
  const visitedPages = Math.ceil((n * vb) / PAGE_SIZE);
  const offsetsBase = proc.mmap(offsetsPages, 'anon', 'rw');
  const targetsBase = proc.mmap(targetsPages, 'anon', 'rw');
  const visitedBase = proc.mmap(visitedPages, 'anon', 'rw');

  const recordPages = n * vertexPages;
  const vertexVpn = placed.objectVpn;
  const perPage = PAGE_SIZE / 8; // offsets and targets entries are both 8 bytes
  /**
   * The 64-bit entries [first, end) of one offsets or targets page as LaneData.store pairs, in
   * one array reused for every page (the machine writes a store's words before asking for the
   * next): a build writes every page once, and a fresh array of 2,048 numbers per page was most
   * of what a data-mode run allocated.
   */
  const fields: number[] = [];
  /** Makes `fields` hold `count` numbers; their capacity is kept (assigning length 0 would give it back). */
  const sized = (count: number): number[] => {
    if (fields.length !== count) fields.length = count;
    return fields;
  };
  const offsetEntries = (first: number, end: number): number[] => {
    const f = sized((end - first) * 4);
    for (let i = first, j = 0; i < end; i++, j += 4) {
      f[j] = (i - first) * 8;
      f[j + 1] = offsets[i];
      f[j + 2] = (i - first) * 8 + 4;
      f[j + 3] = 0;
    }
    return f;
  };
  const targetEntries = (first: number, end: number): number[] => {
    const f = sized((end - first) * 4);
    for (let e = first, j = 0; e < end; e++, j += 4) {
      const vpn = vertexVpn[targets[e]];
      f[j] = (e - first) * 8;
      f[j + 1] = pointerLow(vpn);
      f[j + 2] = (e - first) * 8 + 4;
      f[j + 3] = pointerHigh(vpn);
    }
    return f;
  };

  const build = writePagesPhase(b.costs, recordPages + offsetsPages + targetsPages + visitedPages, b.threads, (k) => {
    if (k < recordPages) {
      const v = Math.floor(k / vertexPages);
      return vertexVpn[v] + (k - v * vertexPages);
    }
    k -= recordPages;
    if (k < offsetsPages) return offsetsBase + k;
    k -= offsetsPages;
    if (k < targetsPages) return targetsBase + k;
    return visitedBase + (k - targetsPages);
  }, (k) => {
    if (k < recordPages) return k % vertexPages === 0 ? [VERTEX_ID_OFFSET, k / vertexPages] : undefined;
    k -= recordPages;
    if (k < offsetsPages) return offsetEntries(k * perPage, Math.min((k + 1) * perPage, n + 1));
    k -= offsetsPages;
    if (k < targetsPages) return targetEntries(k * perPage, Math.min((k + 1) * perPage, 2 * m));
    return undefined;
  });
  return {
    vertices: n, edges: 2 * m, vertexPages, vertexVpn, offsets, targets,
    offsetsBase, offsetsPages, targetsBase, targetsPages, visitedBase, visitedPages, visitedBytesPerVertex: vb,
    arenas: placed.arenas, pages: proc.sys.pages, build,
  };
}

/** m random undirected edges between distinct vertices, as CSR with both directions. */
function randomCsr(rng: Rng, n: number, m: number): { offsets: Int32Array; targets: Int32Array } {
  const src = new Int32Array(m), dst = new Int32Array(m);
  const offsets = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) {
    const u = rng.int(0, n);
    let v = rng.int(0, n - 1);
    if (v >= u) v++; // uniform over the other n − 1 vertices
    src[e] = u;
    dst[e] = v;
    offsets[u + 1]++;
    offsets[v + 1]++;
  }
  for (let v = 0; v < n; v++) offsets[v + 1] += offsets[v];
  const fill = offsets.slice(0, n);
  const targets = new Int32Array(2 * m);
  for (let e = 0; e < m; e++) {
    targets[fill[src[e]]++] = dst[e];
    targets[fill[dst[e]]++] = src[e];
  }
  return { offsets, targets };
}
