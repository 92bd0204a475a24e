// What a profile's `sources` values say, without the schema (and zod): `hetmem profiles` reads
// the build-time table (precompiled.ts) and should not load a validator it does not need.

/** True for a `sources` value that marks a number as a judgement rather than a citation. */
export function isEstimate(source: string): boolean {
  return /^estimate\b/i.test(source.trim());
}
