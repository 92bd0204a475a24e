import { describe, it, expect } from 'vitest';
import { grown } from '../../src/units/typed-array.ts';

describe('grown', () => {
  it('keeps the type and every element at its index, zero-fills the rest, leaves the source', () => {
    const a = Int32Array.of(3, -1, 7);
    const b = grown(a, 5);
    expect(b).toBeInstanceOf(Int32Array);
    expect([...b]).toEqual([3, -1, 7, 0, 0]);
    expect([...a]).toEqual([3, -1, 7]);
    expect(grown(Float64Array.of(0.5), 2)).toEqual(Float64Array.of(0.5, 0));
  });
});
