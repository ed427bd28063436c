/**
 * The small JSON path of `response.path` and `response.fields`:
 *   items            a key            (a leading `$` or `$.` is allowed and ignored)
 *   items[0].name    an index         ([-1] is the last element)
 *   items[*].name    every element    (of an array, or every value of an object)
 *   ['odd.key']      a key with dots, spaces or brackets in it
 */
export type PathStep = { key: string } | { index: number } | { all: true };

const STEP = /\.?([A-Za-z_$][\w$-]*)|\[(-?\d+)\]|\[\*\]|\.\*|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/y;

/** Parse a path; throws an Error saying where it stops making sense. */
export function parsePath(path: string): PathStep[] {
  let rest = path.trim();
  if (rest === '$') return [];
  if (rest.startsWith('$.') || rest.startsWith('$[')) rest = rest.slice(rest[1] === '.' ? 2 : 1);
  const steps: PathStep[] = [];
  let pos = 0;
  while (pos < rest.length) {
    STEP.lastIndex = pos;
    const m = STEP.exec(rest);
    const badDot = pos === 0 ? m?.[0].startsWith('.') : m?.[1] !== undefined && !m[0].startsWith('.');
    if (!m || badDot) throw new Error(`invalid JSON path "${path}" at "${rest.slice(pos)}"`);
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined || m[4] !== undefined) steps.push({ key: (m[3] ?? m[4])!.replace(/\\(.)/g, '$1') });
    else steps.push({ all: true });
    pos = STEP.lastIndex;
  }
  if (steps.length === 0) throw new Error(`invalid JSON path "${path}": it is empty`);
  return steps;
}

/** The value at the path; undefined when nothing is there. After a wildcard the result is a list. */
export function getPath(value: unknown, steps: PathStep[]): unknown {
  let current = value;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (current === null || typeof current !== 'object') return undefined;
    if ('all' in step) {
      const items = Array.isArray(current) ? current : Object.values(current);
      const rest = steps.slice(i + 1);
      return items.map((item) => getPath(item, rest)).filter((v) => v !== undefined);
    }
    if ('index' in step) {
      if (!Array.isArray(current)) return undefined;
      current = current.at(step.index);
    } else {
      current = Object.hasOwn(current, step.key) ? (current as Record<string, unknown>)[step.key] : undefined;
    }
  }
  return current;
}

/** `fields` of an object, keyed by the path as written; applied to each element of a list. */
export function pickFields(value: unknown, fields: { path: string; steps: PathStep[] }[]): unknown {
  if (Array.isArray(value)) return value.map((item) => pickFields(item, fields));
  if (value === null || typeof value !== 'object') return value;
  const picked: Record<string, unknown> = {};
  for (const field of fields) {
    const v = getPath(value, field.steps);
    if (v !== undefined) picked[field.path] = v;
  }
  return picked;
}
