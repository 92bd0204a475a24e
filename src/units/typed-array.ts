// Growing the model's typed arrays (struct-of-arrays state indexed by pfn, unit or slot): one
// helper instead of a local copy-into-a-larger-array closure in each structure that grows.

/** The typed arrays the model's growable state is made of. */
export type GrowableArray = Float64Array | Int32Array | Uint32Array | Uint8Array;

/**
 * A new array of the same type and `length` elements holding `a`'s elements at the same
 * indices (`length >= a.length`), the rest zero. `a` is not changed.
 */
export function grown<T extends GrowableArray>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
