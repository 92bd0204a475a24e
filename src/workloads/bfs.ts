// Breadth-first search over a CSR graph, as a level-synchronous device kernel. The traversal is
// computed once, sequentially, when the kernel is made, so which lane discovers which vertex is
// fixed and a run is deterministic; the lanes then replay their share of it lazily.

import type { KernelSpec, LaneProgram } from '../sim/program.ts';
import { LINE_ACCESS_BYTES } from './defaults.ts';
import { offsetsPageOf, targetsPageOf, visitedPageOf, type Graph } from './graph.ts';
import { badOption, costs, nonNegativeInt, optionsObject, positiveInt, type CostOptions, type Costs } from './options.ts';
import { partLength, partStart } from './split.ts';

/** A precomputed BFS: the visit order, its levels, and the edge that discovered each vertex. */
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
 * Sequential level-synchronous BFS from `source`: each level's vertices are expanded in order,
 * each vertex's CSR row in order, and a vertex is discovered by the first edge reaching it.
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

/** Options of `bfs` and `bfsLevelKernels`. */
export interface BfsOptions extends CostOptions {
  /** Lanes, ≥ 1. */
  readonly lanes: number;
  /** Source vertex. Default 0. */
  readonly source?: number;
}

/**
 * One kernel running the whole BFS from `source` (plan: bfsPlan). Each level's frontier
 * (order[levelStart[L] .. levelStart[L + 1])) is split contiguously among the lanes (split.ts).
 * Lane 0 first writes the source's visited flag. Then for each frontier vertex u of its share,
 * in order, a lane:
 *   1. reads u's record pages (ascending);
 *   2. reads the offsets page(s) holding offsets[u] and offsets[u + 1] (two when they straddle);
 *   3. walks u's CSR row e = offsets[u] .. offsets[u + 1] − 1: reads the targets page of e when it
 *      differs from the previous edge's, reads neighbour v = targets[e]'s record pages, and, if
 *      e is the edge that discovered v, writes v's visited-flag page.
 * So every reachable vertex is expanded once, and its visited flag written once, in total.
 * Lanes are not synchronised between levels (a lane starts level L+1 when done with its share
 * of level L); use bfsLevelKernels for one kernel per level. Memory per lane: O(1) beyond the
 * shared plan.
 *
 * Defaults: name 'bfs', source 0, accessBytes 64 (LINE_ACCESS_BYTES: each access reads or writes
 * a record, offset pair, target or flag, not a page), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function bfs(g: Graph, o: BfsOptions): KernelSpec {
  const { plan, lanes, c } = resolve('bfs', g, o, 'bfs');
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) {
    programs.push(bfsLane(g, plan, 0, plan.levelStart.length - 1, lanes, i));
  }
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

/**
 * The same traversal as `bfs`, as one kernel per level L (named '<name>.level<L>'), to be run
 * in order with a barrier between them, as level-synchronous GPU BFS launches one kernel per
 * level. The source's visited-flag write belongs to level 0's kernel.
 * @throws RangeError naming the offending option.
 */
export function bfsLevelKernels(g: Graph, o: BfsOptions): KernelSpec[] {
  const { plan, lanes, c } = resolve('bfsLevelKernels', g, o, 'bfs');
  const kernels: KernelSpec[] = [];
  for (let L = 0; L + 1 < plan.levelStart.length; L++) {
    const programs: LaneProgram[] = [];
    for (let i = 0; i < lanes; i++) programs.push(bfsLane(g, plan, L, L + 1, lanes, i));
    kernels.push({ name: `${c.name}.level${L}`, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes });
  }
  return kernels;
}

function resolve(fn: string, g: Graph, o: BfsOptions, defaultName: string): { plan: BfsPlan; lanes: number; c: Costs } {
  optionsObject(fn, o);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const source = nonNegativeInt(fn, 'source', o.source ?? 0);
  if (source >= g.vertices) badOption(fn, 'source', `a vertex below ${g.vertices}`, source);
  const c = costs(fn, o, defaultName, LINE_ACCESS_BYTES);
  return { plan: bfsPlan(g, source), lanes, c };
}

// Lane states. The lane is a hand-written state machine rather than a generator so that an access
// costs no generator resume and no iterator-result allocation; lanes are on the simulator's
// hottest path.
const NEXT_VERTEX = 0, RECORD = 1, OFFSETS_LO = 2, OFFSETS_HI = 3, EDGE = 4, NEIGHBOUR = 5, FLAG = 6, DONE = 7;

function bfsLane(g: Graph, plan: BfsPlan, fromLevel: number, toLevel: number, lanes: number, lane: number): LaneProgram {
  const { vertexVpn, vertexPages, offsets, targets } = g;
  const { order, levelStart, discoverEdge } = plan;
  let sourceFlag = fromLevel === 0 && lane === 0;
  let level = fromLevel - 1;
  let k = 0, kEnd = 0; // this lane's share of the current level: order[k .. kEnd)
  let u = 0, page = 0, e = 0, eEnd = 0, v = 0, lastTargets = -1;
  let state = NEXT_VERTEX;
  return {
    next(): number {
      if (sourceFlag) {
        sourceFlag = false;
        return visitedPageOf(g, plan.source) * 2 + 1;
      }
      while (true) {
        switch (state) {
          case NEXT_VERTEX:
            while (k >= kEnd) {
              if (++level >= toLevel) {
                state = DONE;
                return -1;
              }
              const size = levelStart[level + 1] - levelStart[level];
              k = levelStart[level] + partStart(size, lanes, lane);
              kEnd = k + partLength(size, lanes, lane);
            }
            u = order[k++];
            page = 0;
            state = RECORD;
            break;
          case RECORD:
            if (page < vertexPages) return (vertexVpn[u] + page++) * 2;
            state = OFFSETS_LO;
            break;
          case OFFSETS_LO:
            state = OFFSETS_HI;
            return offsetsPageOf(g, u) * 2;
          case OFFSETS_HI: {
            e = offsets[u];
            eEnd = offsets[u + 1];
            lastTargets = -1;
            state = EDGE;
            const hi = offsetsPageOf(g, u + 1);
            if (hi !== offsetsPageOf(g, u)) return hi * 2;
            break;
          }
          case EDGE: {
            if (e >= eEnd) {
              state = NEXT_VERTEX;
              break;
            }
            v = targets[e];
            page = 0;
            state = NEIGHBOUR;
            const tp = targetsPageOf(g, e);
            if (tp !== lastTargets) {
              lastTargets = tp;
              return tp * 2;
            }
            break;
          }
          case NEIGHBOUR:
            if (page < vertexPages) return (vertexVpn[v] + page++) * 2;
            state = FLAG;
            break;
          case FLAG: {
            const discovered = discoverEdge[v] === e;
            e++;
            state = EDGE;
            if (discovered) return visitedPageOf(g, v) * 2 + 1;
            break;
          }
          default:
            return -1;
        }
      }
    },
  };
}
