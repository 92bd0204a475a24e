// Default costs and sizes shared by the workload generators. Each value is a modelling choice,
// so each says why it was picked; a generator's own doc names which default it uses.

/**
 * Bytes moved by one page-granular access: the whole 4 KiB page. Streaming, strided, stencil,
 * copy and CPU-touch patterns consume every byte of each page they visit, so pricing an access
 * as a full page makes remote and device-memory traffic equal to the bytes the pattern moves.
 */
export const PAGE_ACCESS_BYTES = 4096;

/**
 * Bytes moved by one fine-grained access: a 64-byte cache line. Pointer chasing and random
 * lookups read a node header or one table row per visit, not the page around it; pricing the
 * whole page would overstate remote-access traffic by 64×.
 */
export const LINE_ACCESS_BYTES = 64;

/**
 * Compute time per access, in integer ps: 1 ns, a handful of instructions. That is below the
 * cost of any memory access in the model (a 4 KiB page over even the fastest link takes
 * ~11 ns), so default kernels are memory-bound, the regime these access patterns exist to study.
 */
export const DEFAULT_COMPUTE_PS = 1000;

/**
 * Pages per arena of the pointer-structure allocator: 512 pages = 2 MiB. That is the THP size
 * and the driver's VA-block unit, so default placements scatter nodes both within and across
 * the blocks that prefetch and eviction decisions work on.
 */
export const DEFAULT_ARENA_PAGES = 512;

/**
 * One past the largest VPN an access may name: LaneProgram encodes `vpn * 2 + write` in a
 * double, which is exact only below 2^52, so VPNs must stay below 2^51.
 */
export const VPN_LIMIT = 2 ** 51;
