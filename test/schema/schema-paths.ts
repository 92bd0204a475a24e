// Every leaf field of the four input schemas (device profile, scenario, topology, sweep), as dotted
// paths: what test/schema/coverage.test.ts holds against the registry of field tests.
import { z } from 'zod';
import { ProfileSchema } from '../../src/devices/profile/schema.ts';
import { ScenarioSchema } from '../../src/scenario/schema.ts';
import { TopologySpecSchema } from '../../src/topology/spec.ts';
import { SweepSchema } from '../../src/sweep/schema.ts';

/** The schemas whose fields must all be live, by the prefix their paths carry. */
export const SCHEMAS = { profile: ProfileSchema, scenario: ScenarioSchema, topology: TopologySpecSchema, sweep: SweepSchema } as const;

type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType; options?: z.ZodType[]; in?: z.ZodType };

/**
 * Leaf paths of `schema` ("memory.pageSizes[]", "steps[].kernel.workload.buffer"): objects are
 * descended key by key, arrays add "[]", optional/default/prefault/nullable/readonly/catch
 * wrappers and the input side of a pipe (quantities) are looked through, every option of a
 * union or discriminated union is walked (their fields merge by name). A record is a leaf. A
 * sub-schema registered with a meta `id` (Workload, Kernel, Activity...) is walked once, at its
 * first path: the same schema object under another path has the same fields.
 */
export function leafPaths(schema: z.ZodType): string[] {
  const out = new Set<string>();
  const seen = new Set<z.ZodType>();
  const walk = (s: z.ZodType, path: string) => {
    if (z.globalRegistry.get(s)?.id !== undefined) {
      if (seen.has(s)) return;
      seen.add(s);
    }
    const d = (s as unknown as { _zod: { def: Def } })._zod.def;
    switch (d.type) {
      case 'object':
        for (const [k, v] of Object.entries(d.shape!)) walk(v, path === '' ? k : `${path}.${k}`);
        return;
      case 'optional': case 'default': case 'prefault': case 'nullable': case 'readonly': case 'catch': case 'nonoptional':
        walk(d.innerType!, path);
        return;
      case 'array':
        walk(d.element!, `${path}[]`);
        return;
      case 'union':
        for (const o of d.options!) walk(o, path);
        return;
      case 'pipe':
        walk(d.in!, path);
        return;
      default:
        out.add(path);
    }
  };
  walk(schema, '');
  return [...out];
}

/** Every leaf path of every schema, prefixed "profile:", "scenario:", "topology:" or "sweep:". */
export function allSchemaPaths(): string[] {
  return Object.entries(SCHEMAS).flatMap(([name, s]) => leafPaths(s as z.ZodType).map((p) => `${name}:${p}`));
}
