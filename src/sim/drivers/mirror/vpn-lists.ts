// Lists of page numbers as a fault batch combines them (faults, window, prefetch, what moved),
// without comparator sorts or a Set per page.

/**
 * The distinct numbers of `lists`, ascending. The lists of a batch lie within a block or a few
 * (faults, window, prefetch), so they are marked in a byte per page of their span and read back
 * in order, O(pages + span); a wider span sorts. A few numbers spread over a block (two lanes'
 * faults half a block apart, without prefetch) are inserted in order instead: reading the span
 * would cost hundreds of steps for two pages.
 */
export function sortedUnion(...lists: readonly (readonly number[])[]): number[] {
  let lo = Infinity, hi = -Infinity, count = 0;
  for (const l of lists) {
    count += l.length;
    for (const v of l) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const out: number[] = [];
  if (lo > hi) return out;
  if (count <= INSERT_MAX && count * count < hi - lo) {
    for (const l of lists) for (const v of l) insertDistinct(out, v);
    return out;
  }
  if (hi - lo < UNION_SPAN_MAX) {
    const seen = UNION_SCRATCH;
    for (const l of lists) for (const v of l) seen[v - lo] = 1;
    for (let i = 0; i <= hi - lo; i++) {
      if (seen[i] === 0) continue;
      out.push(lo + i);
      seen[i] = 0;
    }
    return out;
  }
  const all = Float64Array.from(lists.flat()).sort();
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) out.push(all[i]);
  return out;
}

/** Puts `v` into ascending `out` unless it is there already (insertion sort, for a few numbers). */
function insertDistinct(out: number[], v: number): void {
  let i = out.length;
  while (i > 0 && out[i - 1] > v) i--;
  if (i > 0 && out[i - 1] === v) return;
  out.push(v);
  for (let j = out.length - 1; j > i; j--) out[j] = out[j - 1];
  out[i] = v;
}

/** Most numbers sortedUnion inserts one by one (O(count²)) rather than marking their span. */
const INSERT_MAX = 16;
/** Widest span of pages sortedUnion marks in a byte array (4 VA blocks) rather than sorting. */
const UNION_SPAN_MAX = 4 * 512;
/**
 * sortedUnion's marks, all zero between calls. Reused: a typed array above 64 bytes gets an
 * off-heap backing store whose allocation and release cost more than the marking itself.
 */
const UNION_SCRATCH = new Uint8Array(UNION_SPAN_MAX);

/**
 * The members of `xs` (in its order) that `ascending` holds; `ascending` sorted ascending. An
 * ascending `xs` (the prefetcher's pages) is merged in one pass; any other order searches.
 */
export function intersectSorted(xs: readonly number[], ascending: readonly number[]): number[] {
  const out: number[] = [];
  if (isAscending(xs)) {
    let j = 0;
    for (const v of xs) {
      while (j < ascending.length && ascending[j] < v) j++;
      if (j < ascending.length && ascending[j] === v) out.push(v);
    }
    return out;
  }
  for (const v of xs) {
    let lo = 0, hi = ascending.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ascending[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo < ascending.length && ascending[lo] === v) out.push(v);
  }
  return out;
}

function isAscending(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i] < xs[i - 1]) return false;
  return true;
}
