// Common vocabulary of the policy layer: the events a policy sees and the decisions it returns.
//
// Every policy in src/policy is a pure decision function: (state, event) → decision (and, for
// stateful heuristics, a new state). Policies never touch page tables or clocks; the layers
// above (devices, workloads, scenario) carry out the decisions and charge their time.
//
// Processor ids: a device id (≥ 0) names a GPU/accelerator and its device memory; CPU (−1)
// names the CPU and system memory. The same number is used for "who accesses" and for "where a
// page is resident", as NVIDIA UVM does with uvm_processor_id_t (anchors-uvm.md §b.5).

import { PMD_PAGES } from '../units/page.ts';
import type { TimePs } from '../units/time.ts';

/** Processor id of the CPU, and memory location id of system memory. */
export const CPU = -1;

/**
 * A processor or memory location: a device id (non-negative integer) or CPU (−1).
 * Plain number (not the branded DeviceId) because −1 must be representable.
 */
export type ProcessorId = number;

/**
 * Base pages per policy block: 512 × 4 KiB = 2 MiB. This is UVM's VA block
 * (`UVM_VA_BLOCK_BITS 21`), its access-counter region and its root-chunk size, and AMD KFD's
 * default `svm_default_granularity` of 9 (anchors-uvm.md §a, §b.4, §b.5, §b.7).
 */
export const BLOCK_PAGES = PMD_PAGES;

/**
 * Base pages per UVM big page: 16 × 4 KiB = 64 KiB (`UVM_BIG_PAGE_SIZE`, anchors-uvm.md §a).
 * The prefetcher grows faults to this granularity (§b.2).
 */
export const BIG_PAGE_PAGES = 16;

/**
 * A memory access seen by a policy: a fault, or (for access counters) a counted remote access.
 * Invariants: `vpn` is a non-negative safe integer; `deviceId` is a device id ≥ 0 or CPU (−1);
 * `time` is integer picoseconds on the engine clock.
 */
export interface AccessEvent {
  /** Virtual page number (4 KiB page) accessed. */
  readonly vpn: number;
  /** Accessing processor: device id ≥ 0, or CPU (−1). */
  readonly deviceId: ProcessorId;
  /** True for a write (or atomic) access, false for a read. */
  readonly write: boolean;
  /** When the access happened, integer picoseconds. */
  readonly time: TimePs;
}

/**
 * What to do about an access. `vpns` are always sorted ascending and duplicate-free.
 *
 * - `none`: nothing to do (already resident and mapped where needed).
 * - `migrate`: make `vpns` resident at `target` (populate them there if not resident anywhere),
 *   unmapping other copies, then map them on the accessing processor.
 * - `map-remote`: leave the pages where they are (`residency`) and map them on `processor`
 *   (zero-copy / remote access). If the pages are not populated yet, populate them at
 *   `residency` first.
 * - `duplicate`: keep the existing copies and add a read-only copy at `target`, copied from
 *   `source` (read duplication).
 * - `collapse`: a write breaks read duplication: `target` (the writer) keeps the only copy;
 *   copies at `invalidate` are dropped. `source` is where the writer copies from when it has no
 *   copy yet, else null.
 * - `pin`: thrashing mitigation: keep `vpns` resident at `residency` and map them remotely on
 *   the thrashing `processors` until `until` (null = until explicitly unpinned).
 * - `throttle`: thrashing mitigation: `processor` must not service faults on `vpns` before
 *   `until`.
 */
export type Decision =
  | { readonly kind: 'none' }
  | { readonly kind: 'migrate'; readonly target: ProcessorId; readonly vpns: readonly number[] }
  | {
      readonly kind: 'map-remote';
      readonly processor: ProcessorId;
      readonly residency: ProcessorId;
      readonly vpns: readonly number[];
    }
  | {
      readonly kind: 'duplicate';
      readonly target: ProcessorId;
      readonly source: ProcessorId;
      readonly vpns: readonly number[];
    }
  | {
      readonly kind: 'collapse';
      readonly target: ProcessorId;
      readonly source: ProcessorId | null;
      readonly invalidate: readonly ProcessorId[];
      readonly vpns: readonly number[];
    }
  | {
      readonly kind: 'pin';
      readonly residency: ProcessorId;
      readonly processors: readonly ProcessorId[];
      readonly until: TimePs | null;
      readonly vpns: readonly number[];
    }
  | {
      readonly kind: 'throttle';
      readonly processor: ProcessorId;
      readonly until: TimePs;
      readonly vpns: readonly number[];
    };

/** The `none` decision (a shared frozen instance). */
export const NO_DECISION: Decision = Object.freeze({ kind: 'none' });

/**
 * Accessibility predicate: can `processor` map memory resident at `residency` directly (load/
 * store without migrating)? E.g. a GPU can map system memory over PCIe; peers can map each other
 * over NVLink/XGMI or P2P PCIe when the topology allows it.
 */
export type AccessibilityFn = (processor: ProcessorId, residency: ProcessorId) => boolean;

/**
 * Default accessibility: a processor can map its own memory, and every processor can map
 * system memory; device memory is not reachable from other processors (no peer access).
 */
export const defaultAccessibility: AccessibilityFn = (processor, residency) =>
  processor === residency || residency === CPU;

/** Index of the 2 MiB block holding `vpn`: floor(vpn / BLOCK_PAGES). Exact above 2^32. */
export function blockOf(vpn: number): number {
  return Math.floor(vpn / BLOCK_PAGES);
}

/** First VPN of block `block`. */
export function blockFirstVpn(block: number): number {
  return block * BLOCK_PAGES;
}

/**
 * Checks that `vpn` is a non-negative safe integer.
 * @throws RangeError otherwise (names `what` in the message).
 */
export function checkVpn(vpn: number, what = 'vpn'): number {
  if (!Number.isSafeInteger(vpn) || vpn < 0) {
    throw new RangeError(`${what}: expected a non-negative safe integer, got ${vpn}`);
  }
  return vpn;
}

/**
 * Checks that `p` is a processor id: a non-negative safe integer or CPU (−1).
 * @throws RangeError otherwise.
 */
export function checkProcessor(p: number, what = 'processor'): number {
  if (!Number.isSafeInteger(p) || p < CPU) {
    throw new RangeError(`${what}: expected a device id >= 0 or CPU (-1), got ${p}`);
  }
  return p;
}

/** Sorted (ascending), duplicate-free copy of `xs`. */
export function sortedUnique(xs: Iterable<number>): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}
