/**
 * Every value that reached the config through a `${VAR}` reference to the environment is a secret:
 * it is replaced by «redacted:VAR» wherever text leaves the gateway (answers, errors, logs, admin).
 * One process-wide registry, refilled on each config load, so every boundary calls the same redact().
 */

/** Shorter values are not redacted: replacing every "1" or "true" in a text would destroy it, and hides no credential. */
export const MIN_SECRET_LENGTH = 6;

let secrets: Array<{ value: string; label: string }> = [];
let pattern: RegExp | undefined;

/** Replace the registry (a reload's values replace the old ones; values shorter than MIN_SECRET_LENGTH are ignored). */
export function setSecrets(entries: Iterable<{ value: string; name: string }>): void {
  const byValue = new Map<string, string>();
  for (const { value, name } of entries) if (value.length >= MIN_SECRET_LENGTH && !byValue.has(value)) byValue.set(value, name);
  // Longest first, so a secret that contains another is replaced whole.
  secrets = [...byValue].sort((a, b) => b[0].length - a[0].length).map(([value, name]) => ({ value, label: `«redacted:${name}»` }));
  pattern = secrets.length > 0 ? new RegExp(secrets.map((s) => s.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : undefined;
}

/** Add values (e.g. capability auth read from the environment) without dropping the others. */
export function addSecrets(entries: Iterable<{ value: string; name: string }>): void {
  setSecrets([...secrets.map((s) => ({ value: s.value, name: s.label.slice('«redacted:'.length, -1) })), ...entries]);
}

/** The text with every registered secret replaced by «redacted:NAME». */
export function redact(text: string): string {
  if (!pattern || text.length < MIN_SECRET_LENGTH) return text;
  const labels = new Map(secrets.map((s) => [s.value, s.label]));
  return text.replace(pattern, (match) => labels.get(match) ?? '«redacted»');
}

/** Deep copy of a JSON-like value with every string redacted (for admin answers and structured results). */
export function redactDeep<T>(value: T): T {
  if (!pattern) return value;
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
