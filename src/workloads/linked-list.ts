// A singly linked list built by the CPU out of scattered small allocations, then traversed by a
// device through the shared address space: the canonical "why HMM" workload, since the device
// dereferences the CPU's own pointers and no bulk copy can stage the list beforehand.

import type { Process } from '../api/machine.ts';
import type { PageStore } from '../mm/page.ts';
import type { Rng } from '../engine/rng.ts';
import type { CpuPhaseSpec, KernelSpec, LaneProgram } from '../sim/program.ts';
import { placeInArenas, type Region } from './arena.ts';
import { DEFAULT_ARENA_PAGES, LINE_ACCESS_BYTES } from './defaults.ts';
import { costs, nonNegativeInt, optionsObject, positiveInt, rngOption, type CostOptions } from './options.ts';
import { buildOptions, objectPageAt, pointerVpn, pointerWords, writePagesPhase, type BuildOptions } from './page-list-phase.ts';

/**
 * A node's fields in its first page, byte offsets: the next pointer (a 64-bit address, low word
 * then high word; 0 = the tail) and the node's number (payload). Later pages of a node hold the
 * number only.
 */
export const LIST_NEXT_OFFSET = 0;
export const LIST_PAYLOAD_OFFSET = 8;
import { partLength, partStart } from './split.ts';

/** Options of `linkedList`. */
export interface LinkedListOptions {
  /** Nodes in the list, ≥ 1. */
  readonly nodes: number;
  /** Contiguous pages per node, ≥ 1. Default 1. */
  readonly nodePages?: number;
  /** Placement stream; the builder draws only from rng.fork('placement'). */
  readonly rng: Rng;
  /** Pages per allocator arena, ≥ nodePages. Default 512 (DEFAULT_ARENA_PAGES, 2 MiB). */
  readonly arenaPages?: number;
  /** How the building CPU phase is priced (see BuildOptions). */
  readonly build?: BuildOptions;
}

/** A linked list in a process's memory. Node k is the k-th node from the head (k = 0). */
export interface LinkedList {
  readonly nodes: number;
  readonly nodePages: number;
  /** First VPN of node k; node k occupies [nodeVpn[k], nodeVpn[k] + nodePages). */
  readonly nodeVpn: Float64Array;
  /** Arenas the nodes were allocated from. */
  readonly arenas: readonly Region[];
  /** The page store holding the nodes' bytes (the traversal reads its pointers there). */
  readonly pages: PageStore;
  /**
   * The CPU building the list: writes every page of every node once, head to tail; in data mode
   * each node's first page gets its next pointer (LIST_NEXT_OFFSET) and every page the node's
   * number (LIST_PAYLOAD_OFFSET).
   */
  readonly build: CpuPhaseSpec;
}

/**
 * Builds a linked list of `nodes` nodes in `proc`: nodes are allocated head to tail, each in a
 * random free slot of the allocator's arenas (arena.ts), so consecutive nodes are scattered.
 * Nothing is accessed yet; run `build` on the CPU to model the construction.
 * @throws RangeError naming the offending option.
 */
export function linkedList(proc: Process, o: LinkedListOptions): LinkedList {
  const fn = 'linkedList';
  optionsObject(fn, o);
  const nodes = positiveInt(fn, 'nodes', o.nodes);
  const nodePages = positiveInt(fn, 'nodePages', o.nodePages ?? 1);
  const rng = rngOption(fn, 'rng', o.rng);
  const arenaPages = o.arenaPages ?? DEFAULT_ARENA_PAGES;
  const b = buildOptions(fn, fn, o.build);
  const placed = placeInArenas(proc, rng.fork('placement'), nodes, nodePages, arenaPages, fn);
  const nodeVpn = placed.objectVpn;
  const fields = (k: number): readonly number[] => {
    const node = Math.floor(k / nodePages);
    if (k % nodePages !== 0) return [LIST_PAYLOAD_OFFSET, node];
    const [lo, hi] = node + 1 < nodes ? pointerWords(nodeVpn[node + 1]) : [0, 0];
    return [LIST_NEXT_OFFSET, lo, LIST_NEXT_OFFSET + 4, hi, LIST_PAYLOAD_OFFSET, node];
  };
  const build = writePagesPhase(b.costs, nodes * nodePages, b.threads, objectPageAt(nodeVpn, nodePages), fields);
  return { nodes, nodePages, nodeVpn, arenas: placed.arenas, pages: proc.sys.pages, build };
}

/** Options of `chaseList`. */
export interface ChaseListOptions extends CostOptions {
  /** Lanes, ≥ 1; more lanes than nodes leaves the extra lanes empty (without `steps`). */
  readonly lanes: number;
  /**
   * Nodes each lane visits, ≥ 0. Default: the lane's own segment (see chaseList), so together
   * the lanes read every node exactly once.
   */
  readonly steps?: number;
}

/**
 * A kernel chasing the list's next pointers. Lane i starts at node s_i = partStart(nodes,
 * lanes, i) (the contiguous split of split.ts over list positions: ⌊nodes/lanes⌋ or one more
 * nodes apart) and follows next pointers, reading every page of each node it visits in
 * ascending order. Without `steps` lane i stops before node s_{i+1}; with `steps` every lane
 * visits exactly `steps` nodes, wrapping from the tail back to the head. O(1) memory per lane.
 *
 * Defaults: name 'chaseList', accessBytes 64 (LINE_ACCESS_BYTES: a hop loads one node's next
 * pointer and payload), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function chaseList(list: LinkedList, o: ChaseListOptions): KernelSpec {
  const fn = 'chaseList';
  optionsObject(fn, o);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const steps = o.steps === undefined ? undefined : nonNegativeInt(fn, 'steps', o.steps);
  const c = costs(fn, o, fn, LINE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) {
    programs.push(chaseLane(list, partStart(list.nodes, lanes, i), steps ?? partLength(list.nodes, lanes, i)));
  }
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

/**
 * A lane following next pointers. On a timed machine with page data, the pointer it follows is
 * the one it read from the node's first page (LaneData.loaded, from the frame the access
 * reached), so the traversal is driven by the bytes: a null pointer (the tail, or a node nobody
 * built) goes back to the head. Only the lane's starting node and the head come from the
 * builder, as a host hands a kernel its segment heads. Driven without page data (no-data mode,
 * or next() called directly), it follows the builder's node order (nodeVpn), which is where the
 * pointers the build phase writes lead.
 */
function chaseLane(list: LinkedList, start: number, steps: number): LaneProgram {
  const { nodes, nodePages, nodeVpn } = list;
  const head = nodeVpn[0];
  let node = start; // node index, for the builder's order
  let at = nodeVpn[start]; // first page of the node being read
  let left = steps;
  let page = 0;
  let fromBytes = false;
  let nextAt = 0; // the next pointer read from the current node, when fromBytes
  return {
    next(): number {
      if (left <= 0) return -1;
      const a = (at + page) * 2;
      if (++page === nodePages) {
        page = 0;
        left--;
        if (++node === nodes) node = 0;
        at = fromBytes ? (nextAt === 0 ? head : nextAt) : nodeVpn[node];
      }
      return a;
    },
    data: {
      loaded(pfn: number, vpn: number): void {
        // The node's first page holds its next pointer; the access just made was to `vpn`, and
        // next() has already moved `page` on (to 1, or to 0 of the next node when nodePages = 1).
        if (nodePages === 1 || vpn === at) {
          fromBytes = true;
          const pages = list.pages;
          nextAt = pointerVpn(pages.readU32(pfn, LIST_NEXT_OFFSET), pages.readU32(pfn, LIST_NEXT_OFFSET + 4));
          if (nodePages === 1) at = nextAt === 0 ? head : nextAt;
        }
      },
    },
  };
}
