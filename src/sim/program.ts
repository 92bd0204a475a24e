// What runs on the timed machine: device kernels and CPU phases, each a set of lanes (GPU warps,
// accelerator queues, CPU threads) that issue page accesses in order. A lane is a lazy program so
// a streaming pass over a terabyte never materialises its access list.

/**
 * One lane's accesses, produced lazily. `next()` returns the next access encoded as
 * `vpn * 2 + (write ? 1 : 0)`, -1 when the lane is done, or LANE_BARRIER (kernel lanes only).
 * VPNs are 4 KiB virtual page numbers (< 2^51, so the encoding stays an exact double). A program
 * is consumed once.
 */
export interface LaneProgram {
  next(): number;
  /** What the lane's accesses carry in data mode (pointer structures); absent: the machine's counter words. */
  readonly data?: LaneData;
}

/**
 * The bytes behind a lane's accesses, for programs whose next access depends on what they read
 * (a traversal follows the pointers it loads) or whose stores are real fields (the CPU writing
 * a node's pointers). Only consulted with page data kept.
 */
export interface LaneData {
  /**
   * The words a store to page `vpn` writes, as flat pairs [byteOffset, u32 value, ...] (offsets
   * multiples of 4 below 4096), instead of the machine's counter word; undefined: the counter word.
   * The array is read before the next call, so a program may hand out the same one each time.
   */
  store?(vpn: number): readonly number[] | undefined;
  /** Called once an access to page `vpn` completed, with the frame it reached (to read its words). */
  loaded?(pfn: number, vpn: number): void;
}

/**
 * What a kernel lane's next() returns to wait at a barrier of its whole kernel (a grid sync):
 * the device calls next() again once every lane of the kernel still running waits there, all
 * resuming at the latest arrival. A level-synchronous traversal needs it because the next level's
 * frontier is only known once every lane has read its share of this one. CPU phases do not
 * support it (a CPU thread ends on any negative value).
 */
export const LANE_BARRIER = -2;

/** Encodes an access for LaneProgram.next. */
export function encodeAccess(vpn: number, write: boolean): number {
  return vpn * 2 + (write ? 1 : 0);
}
/** VPN of an encoded access. */
export function accessVpn(a: number): number {
  return Math.floor(a / 2);
}
/** True if an encoded access is a write. */
export function accessIsWrite(a: number): boolean {
  return a % 2 === 1;
}

/** A LaneProgram over a fixed list of encoded accesses (tests, small generators). */
export function listProgram(accesses: readonly number[]): LaneProgram {
  let i = 0;
  return { next: () => (i < accesses.length ? accesses[i++] : -1) };
}

/**
 * A device kernel: lanes that run concurrently on one device. Invariants: `computePs` ≥ 0
 * integer ps of work per access besides memory time; `accessBytes` in (0, 4096] bytes moved by
 * one access (it prices remote accesses and device-memory traffic).
 */
export interface KernelSpec {
  readonly name: string;
  readonly lanes: readonly LaneProgram[];
  /** Compute time per access, integer ps. */
  readonly computePs: number;
  /** Bytes one access moves, 1..4096. */
  readonly accessBytes: number;
  /**
   * Memory the kernel may touch, as [base, base+pages) VPN ranges. Required by the pinning
   * driver, which registers (pins) it before the lanes start; others ignore it.
   */
  readonly regions?: readonly { readonly base: number; readonly pages: number }[];
  /**
   * Every write of the kernel is an atomic read-modify-write. An HMM mirror device whose link to
   * system memory is not cache-coherent (PCIe) cannot do one on a page in system memory, so its
   * driver takes the page device-exclusive first (make_device_exclusive_range, as nouveau's
   * atomic fault does); other drivers treat atomics as writes.
   */
  readonly atomic?: boolean;
  /**
   * What the device's run queue reads (src/sim/scheduler.ts); ignored under policy concurrent.
   * `priority`: higher runs first under policy priority (default 0). `gang`, `gangSize`: under
   * policy gang, the `gangSize` kernels of one address space launched with one gang name are one
   * job that runs on all their devices in the same slices.
   */
  readonly sched?: { readonly priority?: number; readonly gang?: string; readonly gangSize?: number };
}

/**
 * A CPU phase: threads of one process that touch memory through the CPU page tables (faulting
 * device-private pages back, breaking COW, ...). Same invariants as KernelSpec.
 */
export interface CpuPhaseSpec {
  readonly name: string;
  readonly threads: readonly LaneProgram[];
  readonly computePs: number;
  readonly accessBytes: number;
}
