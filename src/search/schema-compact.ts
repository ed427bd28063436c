/**
 * A tool's JSON Schema as a model needs it to call the tool: the same schema without the keywords that
 * change nothing about which arguments are valid or what they mean.
 *
 * Removed, at every level: `$schema` (which draft the schema is written in: 69 of the 94 npm reference
 * tools carry it, ~11 % of their schemas' characters) and `$comment` (notes for schema authors,
 * ignored by validation by definition).
 * Kept: everything that decides validity or explains a value (`type`, `properties`, `required`, `enum`,
 * `const`, `format`, `default`, `description`, `title`, `examples`, …), and also
 * `additionalProperties: false` (a model that adds a key gets rejected, so it is a real constraint) and
 * `$id` (`$ref`s may resolve against it).
 *
 * Keyword-aware: a property *named* `$schema` stays, and values of `enum`, `const`, `default` and
 * `examples` are data, copied untouched.
 */

/** Keywords whose value is one subschema. */
const SCHEMA_KEYWORDS = new Set([
  'additionalProperties',
  'additionalItems',
  'items',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]);
/** Keywords whose value is an array of subschemas. */
const SCHEMA_ARRAY_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items']);
/** Keywords whose value maps names to subschemas. */
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies']);
const DROPPED = new Set(['$schema', '$comment']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schema without `$schema` and `$comment` at any level. Never mutates its input; values it has no
 * reason to change (enum lists, defaults) are shared with the input, not copied. Anything that is not a
 * schema object (a boolean schema, undefined) comes back as it is.
 */
export function compactSchema<T>(schema: T): T {
  return compact(schema, new Set()) as T;
}

/** out[key] = value, also for a key "__proto__" (JSON.parse makes it an own property; plain assignment would set the prototype). */
function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function compact(node: unknown, ancestors: Set<object>): unknown {
  if (!isObject(node) || ancestors.has(node)) return node; // a cycle (only possible in-process) stays as it is
  ancestors.add(node);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!DROPPED.has(key)) put(out, key, compactValue(key, value, ancestors));
  }
  ancestors.delete(node);
  return out;
}

/** The value of keyword `key`, its subschemas compacted. */
function compactValue(key: string, value: unknown, ancestors: Set<object>): unknown {
  if (Array.isArray(value)) return SCHEMA_ARRAY_KEYWORDS.has(key) ? value.map((v) => compact(v, ancestors)) : value;
  if (SCHEMA_KEYWORDS.has(key)) return compact(value, ancestors);
  if (!SCHEMA_MAP_KEYWORDS.has(key) || !isObject(value)) return value;
  const map: Record<string, unknown> = {};
  // draft-7 `dependencies` may map a name to a list of property names: compact() leaves arrays alone.
  for (const [name, sub] of Object.entries(value)) put(map, name, compact(sub, ancestors));
  return map;
}
