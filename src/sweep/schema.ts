// The sweep file format: a base scenario and the scenario fields to vary, by path, as a grid (every
// combination), a list of points, or a seeded random sample; `seeds` runs every point once per
// seed. This zod schema is the shape; load.ts validates with it and expands the points, and
// `hetmem sweep --schema` publishes it as JSON Schema.
import { z } from 'zod';

/** A field path into a scenario: keys and list indices, `devices[0].policies.eviction.policy`. */
export const PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\]|\.[A-Za-z_][A-Za-z0-9_]*)*$/;

const Values = z.array(z.unknown()).min(1).meta({ description: 'the values this field takes (anything the scenario field accepts)' });

const RangeSchema = z.strictObject({
  min: z.number().meta({ description: 'lowest value' }),
  max: z.number().meta({ description: 'highest value' }),
  int: z.boolean().optional().meta({ description: 'draw integers in [min, max] (default: reals in [min, max))' }),
}).refine((r) => r.max >= r.min, { message: 'expected max >= min' }).meta({ description: 'a numeric range to draw from uniformly' });

export const SweepSchema = z.strictObject({
  name: z.string().min(1).meta({ description: 'sweep name (database rows, report title)' }),
  description: z.string().optional().meta({ description: 'one line for the report' }),
  scenario: z.string().min(1).meta({ description: 'the base scenario file, relative to the sweep file; every point is it with the axes set' }),
  scale: z.number().positive().optional().meta({ description: 'size factor for every point, as hetmem run --scale (default 1)' }),
  grid: z.record(z.string(), Values).optional()
    .meta({ description: 'field path -> values: every combination is a point (the first path varies slowest)' }),
  points: z.array(z.record(z.string(), z.unknown())).min(1).optional()
    .meta({ description: 'a list of points, each a mapping of field path -> value' }),
  random: z.strictObject({
    samples: z.int().min(1).meta({ description: 'points to draw' }),
    seed: z.int().min(0).default(1).meta({ description: 'seed of the draw (the same seed draws the same points)' }),
    axes: z.record(z.string(), z.union([Values, RangeSchema])).meta({ description: 'field path -> values to pick from, or a {min, max} range' }),
  }).optional().meta({ description: 'a seeded random sample of points' }),
  seeds: z.array(z.int().min(0)).min(1).optional().meta({ description: 'run every point once per seed (the scenario\'s seed field); the report draws seeds as error bars' }),
}).superRefine((s, ctx) => {
  const given = (['grid', 'points', 'random'] as const).filter((k) => s[k] !== undefined);
  const paths: [string, (string | number)[]][] = [
    ...Object.keys(s.grid ?? {}).map((k) => [k, ['grid', k]] as [string, (string | number)[]]),
    ...(s.points ?? []).flatMap((p, i) => Object.keys(p).map((k) => [k, ['points', i, k]] as [string, (string | number)[]])),
    ...Object.keys(s.random?.axes ?? {}).map((k) => [k, ['random', 'axes', k]] as [string, (string | number)[]]),
  ];
  for (const [k, path] of paths) if (!PATH_RE.test(k)) ctx.addIssue({ code: 'custom', path, message: `expected a field path such as devices[0].policies.eviction.policy, got ${JSON.stringify(k)}` });
  if (given.length !== 1) ctx.addIssue({ code: 'custom', path: [], message: given.length === 0 ? 'expected one of grid, points, random' : `expected only one of grid, points, random (got ${given.join(' and ')})` });
}).meta({ title: 'hetmem sweep', description: 'A hetmem parameter sweep: a base scenario and the fields to vary (see examples/sweeps/)' });

export type SweepInput = z.output<typeof SweepSchema>;

/** The JSON Schema of sweep files (draft 2020-12). */
export function sweepJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(SweepSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
