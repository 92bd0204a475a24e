// Every field live: each leaf field of the device-profile, scenario, topology and sweep schemas must be
// exercised by a test that changes it and checks its effect. The schemas are walked (not a list
// kept by hand), so a new field fails here until a test for it is registered in fields.ts, and
// the registry is checked against the tests themselves: the file exists, holds a test with that
// exact title, and that test names the field. A field no test can exercise must leave the schema.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { z } from 'zod';
import { allSchemaPaths, leafPaths } from './schema-paths.ts';
import { FIELD_TESTS } from './fields.ts';
import { testBlocks, type TestBlock } from './test-blocks.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The field's own name: the last key of its path, without list brackets ("pageSizes"). */
const fieldName = (path: string) => path.split(/[:.]/).pop()!.replace(/\[\]/g, '');

describe('every schema field is exercised by a test', () => {
  const paths = allSchemaPaths();

  it('walks the schemas into leaf paths (sanity of the walker)', () => {
    expect(paths).toContain('profile:memory.pageSizes[]');
    expect(paths).toContain('profile:policy.thrashing.lapse');
    expect(paths).toContain('scenario:steps[].kernel.workload.writeEvery');
    expect(paths).toContain('scenario:devices[].policies.thrashing.pinLapses');
    expect(paths).toContain('topology:sockets[].memoryBytes');
    expect(paths).toContain('sweep:random.samples');
    // A schema the walker has not seen before is walked too: objects, arrays, optionals,
    // defaults, unions, pipes.
    const s = z.strictObject({
      a: z.array(z.strictObject({ b: z.number().default(1) })).optional(),
      c: z.union([z.strictObject({ d: z.string() }), z.strictObject({ e: z.boolean() })]),
      f: z.unknown().transform((v) => v),
    });
    expect(leafPaths(s).sort()).toEqual(['a[].b', 'c.d', 'c.e', 'f']);
  });

  it('every leaf field of the schemas has a registered test', () => {
    const missing = paths.filter((p) => !Object.hasOwn(FIELD_TESTS, p));
    expect(missing, 'fields without a test in test/schema/fields.ts: wire each with a test that changes it, or remove it from the schema').toEqual([]);
  });

  it('the registry names no field the schemas lack', () => {
    const known = new Set(paths);
    expect(Object.keys(FIELD_TESTS).filter((p) => !known.has(p))).toEqual([]);
  });

  it('each registered test exists under its exact title and names its field', () => {
    const blocks = new Map<string, TestBlock[]>();
    const problems: string[] = [];
    for (const [path, t] of Object.entries(FIELD_TESTS)) {
      const file = join(ROOT, t.file);
      if (!existsSync(file)) {
        problems.push(`${path}: no file ${t.file}`);
        continue;
      }
      if (!blocks.has(file)) blocks.set(file, testBlocks(file));
      const found = blocks.get(file)!.filter((b) => b.title === t.test);
      if (found.length !== 1) {
        problems.push(`${path}: ${found.length === 0 ? 'no' : 'more than one'} test titled ${JSON.stringify(t.test)} in ${t.file}`);
        continue;
      }
      const name = fieldName(path);
      if (!new RegExp(`\\b${name}\\b`).test(found[0].title + found[0].body)) problems.push(`${path}: test ${JSON.stringify(t.test)} does not name ${name}`);
    }
    expect(problems).toEqual([]);
  });
});
