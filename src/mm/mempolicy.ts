// Task memory policies (mm/mempolicy.c, Linux 6.1): which NUMA node a page is allocated on.
// Checked against 6.1 with two fake nodes (tools/oracle-numa, test/oracle-numa/n1*).
import { EINVAL } from './constants.ts';
import { OutOfMemory } from './errors.ts';
import type { Mm } from './mm.ts';
import type { Vma } from './vma.ts';

/** set_mempolicy(2) modes (MPOL_*), numbered as the kernel numbers them. */
export const enum MpolMode {
  DEFAULT = 0,
  PREFERRED = 1,
  BIND = 2,
  INTERLEAVE = 3,
  LOCAL = 4,
}

/** The mode names the op language and scenarios use, by MpolMode value. */
export const MPOL_MODE_NAMES = ['default', 'preferred', 'bind', 'interleave', 'local'] as const;

/**
 * A task's memory policy. Invariant: `nodes` is sorted, without repeats, only nodes that have
 * memory; empty for DEFAULT and LOCAL, one node for PREFERRED, at least one otherwise.
 */
export interface Mempolicy {
  readonly mode: MpolMode;
  readonly nodes: readonly number[];
}

/** The policy of a task that never called set_mempolicy: allocate on the local node. */
export const DEFAULT_POLICY: Mempolicy = { mode: MpolMode.DEFAULT, nodes: [] };

/**
 * set_mempolicy(mode, nodes) for `mm`'s task: 0, or -EINVAL (nodes given with default or local;
 * none, or none with memory, for bind, interleave or a non-empty preferred). A preferred policy
 * with no nodes is local allocation; preferred keeps only the lowest node given.
 */
export function setMempolicy(mm: Mm, mode: MpolMode, nodes: readonly number[]): number {
  const given = [...new Set(nodes)].sort((a, b) => a - b);
  if (mode === MpolMode.DEFAULT || mode === MpolMode.LOCAL) {
    if (given.length > 0) return -EINVAL;
    mm.policy = mode === MpolMode.DEFAULT ? DEFAULT_POLICY : { mode, nodes: [] };
    return 0;
  }
  if (mode === MpolMode.PREFERRED && given.length === 0) {
    mm.policy = { mode: MpolMode.LOCAL, nodes: [] };
    return 0;
  }
  if (mode !== MpolMode.PREFERRED && mode !== MpolMode.BIND && mode !== MpolMode.INTERLEAVE) return -EINVAL;
  // mpol_set_nodemask: only nodes with memory count.
  const withMemory = given.filter((n) => n >= 0 && n < mm.sys.nrNodes);
  if (withMemory.length === 0) return -EINVAL;
  mm.policy = { mode, nodes: mode === MpolMode.PREFERRED ? [withMemory[0]] : withMemory };
  if (mode === MpolMode.INTERLEAVE) mm.ilPrev = -1;
  return 0;
}

/**
 * The node a page for `vpn` of `vma` (order 0, or PMD_ORDER for a THP or hugetlb page) is
 * allocated on under `mm`'s policy: its local node for default/local, the preferred node, the
 * local node if bound to it else the lowest bound node (all nodes are equally distant here),
 * or, interleaving, the node at the page's offset in the mapping, counted in pages of that
 * order (interleave_nid): for anonymous memory the page number itself, for file and hugetlb
 * mappings the file offset. Without a vma an interleaving task takes its nodes in turn.
 */
export function policyNode(mm: Mm, vma: Vma | null, vpn: number, order = 0): number {
  // The common case (the local node, memory unbounded) without the calls: every fault and COW
  // allocates through here, and the other policies and the fallback search are large enough to
  // crowd the rest of the fault path out of its compiled code.
  const mode = mm.policy.mode;
  const node = mode === MpolMode.DEFAULT || mode === MpolMode.LOCAL ? mm.node : policyNodeOf(mm, vma, vpn, order);
  return mm.sys.bounded ? withRoom(mm, node, order) : node;
}

/**
 * `node`, or where the allocation falls back when it is full: any node along its zonelist,
 * only the bound nodes under MPOL_BIND (the nodemask), as __alloc_pages does with the policy's
 * nodemask. @throws OutOfMemory when no allowed node has room
 */
function withRoom(mm: Mm, node: number, order: number): number {
  const sys = mm.sys;
  if (!sys.bounded) return node;
  const frames = 2 ** order;
  const to = sys.fallbackNode(node, frames, mm.policy.mode === MpolMode.BIND ? mm.policy.nodes : null);
  if (to < 0) {
    const free = sys.nodeFrames.map((f, n) => `node ${n} ${f - (sys.pages.nodeInUse[n] ?? 0)} free`).join(', ');
    throw new OutOfMemory(`no NUMA node ${mm.policy.mode === MpolMode.BIND ? `in the bind mask [${mm.policy.nodes.join(', ')}] ` : ''}has room for ${frames} page${frames === 1 ? '' : 's'} (${free} of 4 KiB)`);
  }
  return to;
}

function policyNodeOf(mm: Mm, vma: Vma | null, vpn: number, order: number): number {
  const pol = mm.policy;
  switch (pol.mode) {
    case MpolMode.DEFAULT:
    case MpolMode.LOCAL:
      return mm.node;
    case MpolMode.PREFERRED:
      return pol.nodes[0];
    case MpolMode.BIND:
      return pol.nodes.includes(mm.node) ? mm.node : pol.nodes[0];
    case MpolMode.INTERLEAVE: {
      if (vma === null) return interleaveNext(mm);
      // An anonymous VMA's vm_pgoff is its start page (moved by mremap: Vma.anonShift); the
      // model keeps 0 in `pgoff` there.
      const pgoff = vma.isAnonymous ? (vma.anonShift ? vma.start + vma.anonShift : vma.start) : vma.pgoff;
      const off = Math.floor(pgoff / 2 ** order) + Math.floor((vpn - vma.start) / 2 ** order);
      return pol.nodes[off % pol.nodes.length];
    }
  }
}

/**
 * The node a page-cache page of `file` at `index` is allocated on. shmem allocates through a
 * pseudo-vma whose offset is the index plus the inode number; hetmem uses the file's id for
 * the inode number, so interleaved shmem pages follow Linux's pattern up to a rotation (the
 * real inode number is not reproducible).
 */
export function filePolicyNode(mm: Mm, fileId: number, index: number): number {
  const pol = mm.policy;
  if (pol.mode !== MpolMode.INTERLEAVE) return policyNode(mm, null, 0);
  return withRoom(mm, pol.nodes[(index + fileId) % pol.nodes.length], 0);
}

/** Nodes a hugetlb allocation may use under `mm`'s policy (null: any), for the bind mask. */
export function policyAllowedNodes(mm: Mm): readonly number[] | null {
  return mm.policy.mode === MpolMode.BIND ? mm.policy.nodes : null;
}

/** interleave_nodes: the next node after the last one this task interleaved to. */
function interleaveNext(mm: Mm): number {
  const nodes = mm.policy.nodes;
  const next = nodes.find((n) => n > mm.ilPrev) ?? nodes[0];
  mm.ilPrev = next;
  return next;
}
