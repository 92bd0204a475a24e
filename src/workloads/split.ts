// The contiguous split every generator uses to share items (pages, cells, list nodes, frontier
// vertices) among lanes. Computed from quotient and remainder rather than i × total / parts so it
// stays exact for totals near 2^51, where the product would lose bits.

/**
 * First item of part `i` when `total` items are split contiguously into `parts` parts. The
 * first `total % parts` parts hold ⌈total/parts⌉ items and the rest ⌊total/parts⌋, so part
 * sizes differ by at most one and parts are in item order (part i ends where part i+1 starts).
 * Requires total ≥ 0, parts ≥ 1, 0 ≤ i ≤ parts (i = parts gives `total`).
 */
export function partStart(total: number, parts: number, i: number): number {
  const q = Math.floor(total / parts);
  return i * q + Math.min(i, total % parts);
}

/** Number of items in part `i` of the split described at partStart (0 when parts > total). */
export function partLength(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}
