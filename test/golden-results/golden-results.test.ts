// The safety net for changes meant to keep results (speed-ups, refactors): every example's
// results.json at 1/8 scale is byte for byte the committed one. When a change is meant to change
// results, regenerate with `npx tsx tools/regen-golden.ts "REASON"` (see REASONS.md).
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exampleNames, firstDifference, goldenText, GOLDEN_DIR } from './golden.ts';

const names = exampleNames();

describe('golden results', () => {
  it('has one committed file per example and none for an example that is gone', () => {
    const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
    expect(files).toEqual(names);
  });
  for (const name of names) {
    it(`${name}: results.json is byte-identical to the committed one`, () => {
      const file = join(GOLDEN_DIR, `${name}.json`);
      expect(existsSync(file), `${file} is missing: run tools/regen-golden.ts`).toBe(true);
      const want = readFileSync(file, 'utf8');
      const got = goldenText(name);
      if (got !== want) {
        const where = firstDifference(JSON.parse(want), JSON.parse(got)) ?? 'same values, different bytes';
        expect.fail(`${name}: results differ from ${file} at ${where}; if the change is meant, regenerate with a reason (tools/regen-golden.ts)`);
      }
      expect(got).toBe(want);
    });
  }
  it('reports where two results first differ', () => {
    expect(firstDifference({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe('$.a[1].b: expected 2, got 3');
    expect(firstDifference({ a: [1] }, { a: [1, 2] })).toBe('$.a: expected 1 entries, got 2');
    expect(firstDifference({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe('$: expected key b at position 1, got c');
    expect(firstDifference({ a: 1 }, { a: 1 })).toBeUndefined();
  });
});
