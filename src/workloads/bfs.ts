// Breadth-first search over a CSR graph, as one level-synchronous device kernel. The lanes share
// each level's frontier and build the next one as they go: every lane reads the offsets and
// target pointers of its share of the frontier and the records they lead to, notes the vertices
// it found, and waits at a kernel-wide barrier (LANE_BARRIER); the first lane past the barrier
// merges the lanes' finds into the next frontier. The merge takes the lanes in order and keeps a
// vertex's first find, which is exactly a sequential BFS's visit order (bfsPlan), so the run is
// deterministic whatever the lanes' timing.
//
// With page data (a timed machine with data on) the values the traversal follows are the bytes
// its accesses reached (LaneData.loaded): a row's bounds from the offsets array, each neighbour's
// record address from the targets array, the neighbour's id from its record. Without page data
// (no-data mode, or next() called directly) they come from the builder's arrays (offsets,
// targets, vertexVpn), which hold what the build phase writes, so both modes make the same
// accesses for a graph nobody changed. Only the source comes from the builder, as a host hands
// a kernel its root.

import type { KernelSpec, LaneProgram } from '../sim/program.ts';
import { LANE_BARRIER } from '../sim/program.ts';
import { PAGE_SIZE } from '../units/page.ts';
import { LINE_ACCESS_BYTES } from './defaults.ts';
import { OFFSET_BYTES, offsetsPageOf, TARGET_BYTES, targetsPageOf, VERTEX_ID_OFFSET, visitedPageOf, type Graph } from './graph.ts';
import { badOption, costs, nonNegativeInt, optionsObject, positiveInt, type CostOptions } from './options.ts';
import { pointerVpn } from './page-list-phase.ts';
import { partLength, partStart } from './split.ts';

/** A sequential BFS: the visit order, its levels, and the edge that discovered each vertex. */
export interface BfsPlan {
  readonly source: number;
  /** Reachable vertices in visit order (source first); each exactly once. */
  readonly order: Int32Array;
  /** Level L is order[levelStart[L] .. levelStart[L + 1]); length levels + 1. */
  readonly levelStart: Int32Array;
  /** CSR index of the edge that discovered v; −1 for the source and unreachable vertices. */
  readonly discoverEdge: Int32Array;
}

/**
 * Sequential level-synchronous BFS from `source` over the builder's arrays: each level's
 * vertices are expanded in order, each vertex's CSR row in order, and a vertex is discovered by
 * the first edge reaching it. The `bfs` kernel's frontiers are these levels when the graph's
 * bytes are as built.
 * @throws RangeError if source is not a vertex.
 */
export function bfsPlan(g: Graph, source: number): BfsPlan {
  nonNegativeInt('bfsPlan', 'source', source);
  if (source >= g.vertices) badOption('bfsPlan', 'source', `a vertex below ${g.vertices}`, source);
  const n = g.vertices;
  const order = new Int32Array(n);
  const discoverEdge = new Int32Array(n).fill(-1);
  const seen = new Uint8Array(n);
  const levels: number[] = [0];
  order[0] = source;
  seen[source] = 1;
  let head = 0, tail = 1;
  while (head < tail) {
    const levelEnd = tail;
    for (; head < levelEnd; head++) {
      const u = order[head];
      for (let e = g.offsets[u]; e < g.offsets[u + 1]; e++) {
        const v = g.targets[e];
        if (seen[v]) continue;
        seen[v] = 1;
        discoverEdge[v] = e;
        order[tail++] = v;
      }
    }
    levels.push(levelEnd);
  }
  return { source, order: order.slice(0, tail), levelStart: Int32Array.from(levels), discoverEdge };
}

/** Options of `bfs`. */
export interface BfsOptions extends CostOptions {
  /** Lanes, ≥ 1. */
  readonly lanes: number;
  /** Source vertex. Default 0. */
  readonly source?: number;
}

/**
 * One kernel running the whole BFS from `source`. Each level's frontier is split contiguously
 * among the lanes (split.ts); for each frontier vertex u of its share, in order, a lane:
 *   1. writes u's visited-flag page (u is visited as it leaves the frontier);
 *   2. reads u's record pages (ascending);
 *   3. reads the offsets page(s) holding offsets[u] and offsets[u + 1] (two when they straddle);
 *   4. walks u's row e = offsets[u] .. offsets[u + 1] − 1: reads the targets page of e when it
 *      differs from the previous edge's (one access loads the row's pointers on that page), then
 *      the pages of the record targets[e] points at (the first holds the neighbour's id), and
 *      notes the neighbour if no frontier so far held it.
 * Then every lane waits at the barrier (also after the last level, whose emptiness is only known
 * there), and the next level is the lanes' finds merged in lane order, first find kept. So every
 * reachable vertex is expanded once and its flag written once, by the lane whose share holds it.
 *
 * In data mode the row bounds, record pointers and ids are the bytes read (see the file
 * comment): a changed target pointer sends the lanes to the record it points at, a null pointer
 * is skipped, an id that is not a vertex is not enqueued, and row bounds are clamped to the
 * targets array (the lanes stay inside the CSR).
 *
 * Defaults: name 'bfs', source 0, accessBytes 64 (LINE_ACCESS_BYTES: each access reads or writes
 * a record, offset pair, target or flag, not a page), computePs 1000. Memory: O(vertices) shared
 * (the frontier and its seen flags), plus the finds of the level and one page of pointers per lane.
 * @throws RangeError naming the offending option.
 */
export function bfs(g: Graph, o: BfsOptions): KernelSpec {
  const fn = 'bfs';
  optionsObject(fn, o);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const source = nonNegativeInt(fn, 'source', o.source ?? 0);
  if (source >= g.vertices) badOption(fn, 'source', `a vertex below ${g.vertices}`, source);
  const c = costs(fn, o, fn, LINE_ACCESS_BYTES);
  const frontier = new Frontier(g, source, lanes);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) programs.push(bfsLane(g, frontier, lanes, i));
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

/** The frontier the lanes of one kernel share, and what they found for the next level. */
class Frontier {
  /** The level whose frontier `ids`/`vpns` hold. */
  level = 0;
  /** Frontier vertices and the first page of each one's record (as the pointer to it read). */
  ids: number[];
  vpns: number[];
  /** Vertices some frontier so far held. */
  private readonly seen: Uint8Array;
  /** Per lane, the vertices (id, record page) it found at this level, in its edge order. */
  readonly foundIds: number[][];
  readonly foundVpns: number[][];

  constructor(g: Graph, source: number, lanes: number) {
    this.ids = [source];
    this.vpns = [g.vertexVpn[source]];
    this.seen = new Uint8Array(g.vertices);
    this.seen[source] = 1;
    this.foundIds = Array.from({ length: lanes }, () => []);
    this.foundVpns = Array.from({ length: lanes }, () => []);
  }

  /** True if vertex `v` (a valid id) was in a frontier already. */
  wasSeen(v: number): boolean {
    return this.seen[v] === 1;
  }

  /** Replaces the frontier by the next level's: the finds in lane order, each vertex once. */
  advance(): void {
    const ids: number[] = [], vpns: number[] = [];
    for (let i = 0; i < this.foundIds.length; i++) {
      const fi = this.foundIds[i], fv = this.foundVpns[i];
      for (let k = 0; k < fi.length; k++) {
        if (this.seen[fi[k]] === 1) continue;
        this.seen[fi[k]] = 1;
        ids.push(fi[k]);
        vpns.push(fv[k]);
      }
      fi.length = 0;
      fv.length = 0;
    }
    this.ids = ids;
    this.vpns = vpns;
    this.level++;
  }
}

// Lane states. The lane is a hand-written state machine rather than a generator so that an access
// costs no generator resume and no iterator-result allocation; lanes are on the simulator's
// hottest path.
const NEXT_VERTEX = 0, FLAG = 1, RECORD = 2, OFFSETS_LO = 3, OFFSETS_HI = 4, ROW = 5, EDGE = 6, NEIGHBOUR = 7, FOUND = 8, DONE = 9;
// What the access just returned carries for the traversal (read by LaneData.loaded).
const NOTHING = 0, READ_OFFSETS_LO = 1, READ_OFFSETS_HI = 2, READ_TARGETS = 3, READ_ID = 4;
/** 64-bit entries per page of the offsets and targets arrays. */
const OFFSETS_PER_PAGE = PAGE_SIZE / OFFSET_BYTES;
const TARGETS_PER_PAGE = PAGE_SIZE / TARGET_BYTES;

function bfsLane(g: Graph, frontier: Frontier, lanes: number, lane: number): LaneProgram {
  const { vertexVpn, vertexPages, offsets, targets, edges, vertices } = g;
  let level = 0; // the level of the frontier share being expanded
  let waited = false; // returned LANE_BARRIER and not resumed yet
  let k = partStart(1, lanes, lane), kEnd = k + partLength(1, lanes, lane); // share of frontier.ids
  let u = 0, uVpn = 0, page = 0;
  let rowLo = 0, rowHi = 0, e = 0, eEnd = 0, lastTargets = -1;
  let v = 0, vVpn = 0;
  // Pointers of the current targets page read from memory, by e mod TARGETS_PER_PAGE, when
  // fromBytes (data mode); otherwise the builder's arrays give them.
  const pointers = new Float64Array(TARGETS_PER_PAGE);
  /** The raw words of those pointers (low, high) as one read takes them from the page. */
  const words = new Uint32Array(2 * TARGETS_PER_PAGE);
  let fromBytes = false;
  let reading = NOTHING;
  let state = NEXT_VERTEX;
  const found = frontier.foundIds[lane], foundVpn = frontier.foundVpns[lane];
  return {
    next(): number {
      reading = NOTHING;
      while (true) {
        switch (state) {
          case NEXT_VERTEX:
            if (k < kEnd) {
              u = frontier.ids[k];
              uVpn = frontier.vpns[k++];
              state = FLAG;
              break;
            }
            if (!waited) {
              // Done with this level's share: wait for the others, then take the next level.
              waited = true;
              return LANE_BARRIER;
            }
            // Past the barrier, so every lane is done with this level: the first lane here
            // merges the finds.
            waited = false;
            if (frontier.level === level++) frontier.advance();
            if (frontier.ids.length === 0) {
              state = DONE;
              return -1;
            }
            k = partStart(frontier.ids.length, lanes, lane);
            kEnd = k + partLength(frontier.ids.length, lanes, lane);
            break;
          case FLAG:
            page = 0;
            state = RECORD;
            return visitedPageOf(g, u) * 2 + 1;
          case RECORD:
            if (page < vertexPages) return (uVpn + page++) * 2;
            state = OFFSETS_LO;
            break;
          case OFFSETS_LO:
            // The builder's row bounds, replaced by the bytes when loaded() reads them.
            rowLo = offsets[u];
            rowHi = offsets[u + 1];
            state = (u + 1) % OFFSETS_PER_PAGE === 0 ? OFFSETS_HI : ROW;
            reading = READ_OFFSETS_LO;
            return offsetsPageOf(g, u) * 2;
          case OFFSETS_HI:
            state = ROW;
            reading = READ_OFFSETS_HI;
            return offsetsPageOf(g, u + 1) * 2;
          case ROW:
            // Bytes that are not a row of this graph are clamped into the targets array.
            e = Math.min(Math.max(rowLo, 0), edges);
            eEnd = Math.min(Math.max(rowHi, e), edges);
            lastTargets = -1;
            state = EDGE;
            break;
          case EDGE: {
            if (e >= eEnd) {
              state = NEXT_VERTEX;
              break;
            }
            const tp = targetsPageOf(g, e);
            if (tp !== lastTargets) {
              lastTargets = tp;
              fromBytes = false;
              reading = READ_TARGETS;
              return tp * 2; // edge e itself is taken at the next call, after loaded()
            }
            v = targets[e];
            vVpn = fromBytes ? pointers[e % TARGETS_PER_PAGE] : vertexVpn[v];
            e++;
            if (vVpn === 0) break; // a null pointer: no neighbour on this edge
            page = 0;
            state = NEIGHBOUR;
            break;
          }
          case NEIGHBOUR:
            if (page < vertexPages) {
              if (page === 0) reading = READ_ID;
              return (vVpn + page++) * 2;
            }
            state = FOUND;
            break;
          case FOUND:
            if (v >= 0 && v < vertices && !frontier.wasSeen(v)) {
              found.push(v);
              foundVpn.push(vVpn);
            }
            state = EDGE;
            break;
          default:
            return -1;
        }
      }
    },
    data: {
      loaded(pfn: number): void {
        const pg = g.pages;
        switch (reading) {
          case READ_OFFSETS_LO: {
            const at = (u % OFFSETS_PER_PAGE) * OFFSET_BYTES;
            rowLo = pg.readU32(pfn, at) + pg.readU32(pfn, at + 4) * 2 ** 32;
            if (state === ROW) rowHi = pg.readU32(pfn, at + 8) + pg.readU32(pfn, at + 12) * 2 ** 32;
            break;
          }
          case READ_OFFSETS_HI:
            rowHi = pg.readU32(pfn, 0) + pg.readU32(pfn, 4) * 2 ** 32;
            break;
          case READ_TARGETS: {
            // The row's pointers on this page: edges e .. min(eEnd, page end).
            fromBytes = true;
            const end = Math.min(eEnd, (Math.floor(e / TARGETS_PER_PAGE) + 1) * TARGETS_PER_PAGE);
            const first = e % TARGETS_PER_PAGE;
            pg.readU32s(pfn, first * TARGET_BYTES, (end - e) * 2, words);
            for (let x = 0; x < end - e; x++) pointers[first + x] = pointerVpn(words[2 * x], words[2 * x + 1]);
            break;
          }
          case READ_ID:
            v = pg.readU32(pfn, VERTEX_ID_OFFSET);
            break;
          default:
            break;
        }
        reading = NOTHING;
      },
    },
  };
}
