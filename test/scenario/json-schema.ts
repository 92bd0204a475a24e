// A small JSON Schema (draft 2020-12) checker for the keywords `hetmem schema` emits: enough to
// check that the published schema accepts every example and rejects what the loader rejects,
// without depending on a validator package. Unknown keywords fail loudly, so the subset cannot
// silently drift from what zod generates.

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema', '$defs', '$ref', 'id', 'title', 'description', 'default', 'examples', 'type', 'properties', 'required',
  'additionalProperties', 'items', 'anyOf', 'oneOf', 'allOf', 'const', 'enum', 'minimum', 'maximum', 'exclusiveMinimum',
  'exclusiveMaximum', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'propertyNames',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Problems of `value` against `schema` (an empty list = valid). `root` resolves `#/$defs/...`. */
export function validateJsonSchema(schema: Schema, value: unknown, root: Schema = schema, at = '$'): string[] {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new Error(`json-schema checker: unsupported keyword ${k} at ${at}`);
  const out: string[] = [];
  if (typeof schema.$ref === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
    if (!m) throw new Error(`json-schema checker: unsupported $ref ${schema.$ref}`);
    const target = (root.$defs as Record<string, Schema> | undefined)?.[m[1]];
    if (!target) return [`${at}: $ref ${schema.$ref} does not resolve`];
    out.push(...validateJsonSchema(target, value, root, at));
  }
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((x) => x === t || (x === 'number' && t === 'integer'))) return [...out, `${at}: expected ${types.join('|')}, got ${t}`];
  }
  if ('const' in schema && value !== schema.const) out.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) out.push(`${at}: expected one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) out.push(`${at}: below minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) out.push(`${at}: above maximum`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) out.push(`${at}: not above exclusiveMinimum`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) out.push(`${at}: not below exclusiveMaximum`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) out.push(`${at}: too short`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) out.push(`${at}: does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) out.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.items && typeof schema.items === 'object') value.forEach((v, i) => out.push(...validateJsonSchema(schema.items as Schema, v, root, `${at}[${i}]`)));
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) out.push(`${at}: missing ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) out.push(...validateJsonSchema(props[k], v, root, `${at}.${k}`));
      else if (schema.additionalProperties === false) out.push(`${at}: unknown key ${k}`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.push(...validateJsonSchema(schema.additionalProperties as Schema, v, root, `${at}.${k}`));
    }
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key] as Schema[] | undefined;
    if (!options) continue;
    const passing = options.filter((o) => validateJsonSchema(o, value, root, at).length === 0).length;
    if (key === 'anyOf' ? passing === 0 : passing !== 1) out.push(`${at}: ${passing} of the ${key} options match`);
  }
  for (const o of (schema.allOf ?? []) as Schema[]) out.push(...validateJsonSchema(o, value, root, at));
  return out;
}
