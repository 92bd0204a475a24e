// A binary search tree built by the CPU from scattered allocations and searched by a device:
// pointer chasing with a hot top (every lookup reads the root) and a cold, scattered bottom.

import type { Process } from '../api/machine.ts';
import type { Rng } from '../engine/rng.ts';
import type { CpuPhaseSpec, KernelSpec, LaneProgram } from '../sim/program.ts';
import { placeInArenas, type Region } from './arena.ts';
import { DEFAULT_ARENA_PAGES, LINE_ACCESS_BYTES } from './defaults.ts';
import { badOption, costs, nonNegativeInt, optionsObject, positiveInt, rngOption, type CostOptions } from './options.ts';
import { buildOptions, objectPageAt, pointerVpn, pointerWords, writePagesPhase, type BuildOptions } from './page-list-phase.ts';
import type { PageStore } from '../mm/page.ts';

/**
 * A node's fields in its first page, byte offsets: the key (u32), then the left and right child
 * pointers (64-bit addresses, low word then high word; 0 = no child).
 */
export const TREE_KEY_OFFSET = 0;
export const TREE_LEFT_OFFSET = 8;
export const TREE_RIGHT_OFFSET = 16;

/**
 * Tree shape. 'random': the BST of the keys inserted in uniformly random order (expected depth
 * ~2 ln n, the shape of an unbalanced index fed unsorted keys). 'balanced': the perfectly
 * balanced BST (height ⌈log2(n + 1)⌉), built level by level.
 */
export type TreeShape = 'random' | 'balanced';

/** Options of `binaryTree`. */
export interface BinaryTreeOptions {
  /** Nodes, ≥ 1, holding the keys 0 .. nodes − 1. Below 2^31. */
  readonly nodes: number;
  /** Contiguous pages per node, ≥ 1. Default 1. */
  readonly nodePages?: number;
  /** Shape and placement stream: draws only from rng.fork('shape') and rng.fork('placement'). */
  readonly rng: Rng;
  /** Default 'random'. */
  readonly shape?: TreeShape;
  /** Pages per allocator arena, ≥ nodePages. Default 512 (DEFAULT_ARENA_PAGES, 2 MiB). */
  readonly arenaPages?: number;
  /** How the building CPU phase is priced (see BuildOptions). */
  readonly build?: BuildOptions;
}

/**
 * A BST in a process's memory. Node ids are allocation order (0 is the root, allocated
 * first); a child pointer of −1 means none. Keys are 0 .. nodes − 1, each in exactly one node.
 */
export interface BinaryTree {
  readonly nodes: number;
  readonly nodePages: number;
  /** First VPN of node id k; it occupies [nodeVpn[k], nodeVpn[k] + nodePages). */
  readonly nodeVpn: Float64Array;
  readonly key: Int32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Root node id (always 0). */
  readonly root: number;
  /** Nodes on the longest root-to-leaf path. */
  readonly height: number;
  readonly arenas: readonly Region[];
  /** The page store holding the nodes' bytes (a search reads keys and pointers there). */
  readonly pages: PageStore;
  /**
   * The CPU building the tree: writes every page of every node once, in allocation order; in
   * data mode each node's first page gets its key and child pointers (TREE_*_OFFSET).
   */
  readonly build: CpuPhaseSpec;
}

/**
 * Builds a BST of `nodes` nodes in `proc`, allocating nodes in id order from scattered arena
 * slots (arena.ts). Shape arrays are the structure's own metadata (O(nodes) typed arrays).
 * @throws RangeError naming the offending option.
 */
export function binaryTree(proc: Process, o: BinaryTreeOptions): BinaryTree {
  const fn = 'binaryTree';
  optionsObject(fn, o);
  const nodes = positiveInt(fn, 'nodes', o.nodes);
  if (nodes >= 2 ** 31) badOption(fn, 'nodes', 'below 2^31', nodes);
  const nodePages = positiveInt(fn, 'nodePages', o.nodePages ?? 1);
  const rng = rngOption(fn, 'rng', o.rng);
  const shape = o.shape ?? 'random';
  if (shape !== 'random' && shape !== 'balanced') badOption(fn, 'shape', "'random' or 'balanced'", shape);
  const arenaPages = o.arenaPages ?? DEFAULT_ARENA_PAGES;
  const b = buildOptions(fn, fn, o.build);
  const key = new Int32Array(nodes);
  const left = new Int32Array(nodes).fill(-1);
  const right = new Int32Array(nodes).fill(-1);
  const height = shape === 'random'
    ? buildRandom(rng.fork('shape'), key, left, right)
    : buildBalanced(key, left, right);
  const placed = placeInArenas(proc, rng.fork('placement'), nodes, nodePages, arenaPages, fn);
  const nodeVpn = placed.objectVpn;
  const ptr = (id: number) => (id < 0 ? [0, 0] : pointerWords(nodeVpn[id]));
  const fields = (k: number): readonly number[] => {
    if (k % nodePages !== 0) return [];
    const id = k / nodePages;
    const [ll, lh] = ptr(left[id]), [rl, rh] = ptr(right[id]);
    return [TREE_KEY_OFFSET, key[id], TREE_LEFT_OFFSET, ll, TREE_LEFT_OFFSET + 4, lh, TREE_RIGHT_OFFSET, rl, TREE_RIGHT_OFFSET + 4, rh];
  };
  const build = writePagesPhase(b.costs, nodes * nodePages, b.threads, objectPageAt(nodeVpn, nodePages), fields);
  return { nodes, nodePages, nodeVpn, key, left, right, root: 0, height, arenas: placed.arenas, pages: proc.sys.pages, build };
}

/** Inserts a random permutation of the keys; node k gets the k-th key inserted. Returns the height. */
function buildRandom(rng: Rng, key: Int32Array, left: Int32Array, right: Int32Array): number {
  const n = key.length;
  for (let k = 0; k < n; k++) key[k] = k;
  // Fisher–Yates on the typed array (Rng.shuffle takes plain arrays).
  for (let k = n - 1; k > 0; k--) {
    const j = rng.int(0, k + 1);
    const t = key[k];
    key[k] = key[j];
    key[j] = t;
  }
  let height = 1;
  for (let k = 1; k < n; k++) {
    const x = key[k];
    let at = 0;
    let depth = 2;
    while (true) {
      const child = x < key[at] ? left : right;
      if (child[at] < 0) {
        child[at] = k;
        break;
      }
      at = child[at];
      depth++;
    }
    if (depth > height) height = depth;
  }
  return height;
}

/** Level-order construction of the balanced BST over [0, n): node k is the k-th range dequeued. */
function buildBalanced(key: Int32Array, left: Int32Array, right: Int32Array): number {
  const n = key.length;
  // Queue of key ranges [lo, hi) with the node id that will own the range: ids are handed out in
  // enqueue order, which is level order.
  const lo = new Int32Array(n), hi = new Int32Array(n), depth = new Int32Array(n);
  lo[0] = 0;
  hi[0] = n;
  depth[0] = 1;
  let tail = 1;
  let height = 1;
  for (let k = 0; k < n; k++) {
    const mid = lo[k] + Math.floor((hi[k] - lo[k]) / 2);
    key[k] = mid;
    if (depth[k] > height) height = depth[k];
    if (mid > lo[k]) {
      left[k] = tail;
      lo[tail] = lo[k];
      hi[tail] = mid;
      depth[tail++] = depth[k] + 1;
    }
    if (mid + 1 < hi[k]) {
      right[k] = tail;
      lo[tail] = mid + 1;
      hi[tail] = hi[k];
      depth[tail++] = depth[k] + 1;
    }
  }
  return height;
}

/** Options of `searchTree`. */
export interface SearchTreeOptions extends CostOptions {
  /** Lanes, ≥ 1. */
  readonly lanes: number;
  /** Searches each lane performs, ≥ 0. */
  readonly lookupsPerLane: number;
  /** Key stream: lane i draws from rng.fork('lane' + i). */
  readonly rng: Rng;
  /**
   * false (default): search for a key drawn uniformly from [0, nodes); the search ends at the
   * node holding it. true: search for a value between keys (one of the nodes + 1 gaps, uniform);
   * the search always runs down to a node with no child on its side, i.e. to the bottom.
   */
  readonly miss?: boolean;
}

/**
 * A kernel of BST searches: each lane performs `lookupsPerLane` searches from the root, reading
 * every page (ascending) of every node on the search path, root first. Keys come from the lane's
 * own fork of `rng`, so a lane's accesses do not depend on the other lanes. O(1) memory per lane.
 *
 * Defaults: name 'searchTree', miss false, accessBytes 64 (LINE_ACCESS_BYTES: a hop loads a key
 * and two child pointers), computePs 1000.
 * @throws RangeError naming the offending option.
 */
export function searchTree(tree: BinaryTree, o: SearchTreeOptions): KernelSpec {
  const fn = 'searchTree';
  optionsObject(fn, o);
  const lanes = positiveInt(fn, 'lanes', o.lanes);
  const lookups = nonNegativeInt(fn, 'lookupsPerLane', o.lookupsPerLane);
  const rng = rngOption(fn, 'rng', o.rng);
  const miss = o.miss ?? false;
  if (typeof miss !== 'boolean') badOption(fn, 'miss', 'a boolean', miss);
  const c = costs(fn, o, fn, LINE_ACCESS_BYTES);
  const programs: LaneProgram[] = [];
  for (let i = 0; i < lanes; i++) programs.push(searchLane(tree, lookups, miss, rng.fork(`lane${i}`)));
  return { name: c.name, lanes: programs, computePs: c.computePs, accessBytes: c.accessBytes };
}

/**
 * A lane of searches. On a timed machine with page data each node's key and child pointers are
 * read from the node's first page (LaneData.loaded, from the frame the access reached) and the
 * search goes down the pointer the bytes give (a null one ends it); only the root pointer comes
 * from the builder, as a host passes it to the kernel. Driven without page data (no-data mode,
 * or next() called directly) it goes down the builder's key/left/right arrays, which hold what
 * the build phase writes.
 */
function searchLane(tree: BinaryTree, lookups: number, miss: boolean, rng: Rng): LaneProgram {
  const { nodes, nodePages, nodeVpn, key, left, right, root } = tree;
  let remaining = lookups;
  let at = -1; // node id being read (builder's arrays); −1 between searches
  let vpn = -1; // first page of the node being read; −1 between searches
  let target = 0;
  let page = 0;
  let fromBytes = false;
  let fKey = 0, fLeft = 0, fRight = 0; // the fields read from the current node, when fromBytes
  /** Where the search goes from a node with this key and children: a child, or −1 when it ends. */
  const down = (k: number, l: number, r: number): number => (!miss && target === k ? -1 : (miss ? target <= k : target < k) ? l : r);
  const fromFields = () => {
    const c = down(fKey, fLeft, fRight);
    vpn = c <= 0 ? -1 : c;
  };
  return {
    next(): number {
      if (vpn < 0) {
        if (remaining <= 0) return -1;
        remaining--;
        // A miss target g stands for the value g − ½: greater than key g − 1, less than key g.
        target = miss ? rng.int(0, nodes + 1) : rng.int(0, nodes);
        at = root;
        vpn = nodeVpn[root];
        page = 0;
      }
      const a = (vpn + page) * 2;
      if (++page === nodePages) {
        page = 0;
        if (fromBytes) {
          // With one page per node, loaded() (called for this very access) decides.
          if (nodePages > 1) fromFields();
        } else {
          // The builder's arrays (with one page per node, loaded() then decides from the bytes).
          at = down(key[at], left[at], right[at]);
          vpn = at < 0 ? -1 : nodeVpn[at];
        }
      }
      return a;
    },
    data: {
      loaded(pfn: number, v: number): void {
        // The first page of the node just read: with one page per node next() has moved on, so
        // the node is the one before; either way it is the access at page 0.
        if (nodePages > 1 && (page !== 1 || v !== vpn)) return;
        fromBytes = true;
        const pg = tree.pages;
        fKey = pg.readU32(pfn, TREE_KEY_OFFSET);
        fLeft = pointerVpn(pg.readU32(pfn, TREE_LEFT_OFFSET), pg.readU32(pfn, TREE_LEFT_OFFSET + 4));
        fRight = pointerVpn(pg.readU32(pfn, TREE_RIGHT_OFFSET), pg.readU32(pfn, TREE_RIGHT_OFFSET + 4));
        if (nodePages === 1) fromFields();
      },
    },
  };
}
