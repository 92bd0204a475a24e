// What the golden results are: every shipped example run at the examples test's reduced scale,
// serialised exactly as `hetmem run --out` writes results.json. Shared by the test and by
// tools/regen-golden.ts so the two can never disagree on how a file is produced.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES_DIR, loadScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';

/** Size factor of the golden runs (the one test/scenario/examples.test.ts uses). */
export const GOLDEN_SCALE = 0.125;

/** Where the committed files live: NAME.json per example, and REASONS.md. */
export const GOLDEN_DIR = join(import.meta.dirname);

/** Example names (file names without `.yaml`), sorted. */
export function exampleNames(): string[] {
  return readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/** The results.json text of one example at GOLDEN_SCALE, byte for byte what `hetmem run --out` writes. */
export function goldenText(name: string): string {
  return JSON.stringify(runScenario(loadScenario(join(EXAMPLES_DIR, `${name}.yaml`)), { scale: GOLDEN_SCALE })) + '\n';
}

/**
 * The first place two results differ, as a JSON path with both values (shortened), or undefined
 * when they are equal. A one-line results file makes a raw text diff unreadable.
 */
export function firstDifference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (Object.is(a, b)) return undefined;
  const short = (v: unknown) => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 80 ? `${s.slice(0, 80)}…` : s;
  };
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return `${path}: expected ${short(a)}, got ${short(b)}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return a.length === b.length ? undefined : `${path}: expected ${a.length} entries, got ${b.length}`;
  }
  const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
  const ak = Object.keys(ao), bk = Object.keys(bo);
  for (let i = 0; i < Math.min(ak.length, bk.length); i++) {
    if (ak[i] !== bk[i]) return `${path}: expected key ${ak[i]} at position ${i}, got ${bk[i]}`;
    const d = firstDifference(ao[ak[i]], bo[bk[i]], `${path}.${ak[i]}`);
    if (d) return d;
  }
  return ak.length === bk.length ? undefined : `${path}: expected keys ${ak.join(',')}, got ${bk.join(',')}`;
}
