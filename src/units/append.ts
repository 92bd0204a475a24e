// Appending one array to another without `push(...src)`, whose spread puts every element on the
// call stack and throws RangeError past roughly 10^5 elements: per-fault and per-page arrays
// grow far beyond that in real working sets.

/** Appends every element of `src` to `dst`, in order; safe for any length. */
export function appendAll<T>(dst: T[], src: readonly T[]): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]);
}
