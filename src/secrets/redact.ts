/**
 * Every value that reached the config through a `${VAR}` reference to the environment is a secret:
 * it is replaced by «redacted:VAR» wherever text leaves the gateway (answers, errors, logs, admin).
 * One process-wide registry, refilled on each config load, so every boundary calls the same redact().
 */

/** Shorter values are not redacted: replacing every "1" or "true" in a text would destroy it, and hides no credential. */
export const MIN_SECRET_LENGTH = 6;

type Entry = { value: string; name: string };

/** The loaded config's values (replaced by each load) and values added by other sources (kept). */
let fromConfig: Entry[] = [];
let added: Entry[] = [];
let labels = new Map<string, string>();
let pattern: RegExp | undefined;

function rebuild(): void {
  labels = new Map();
  for (const { value, name } of [...fromConfig, ...added]) {
    if (value.length >= MIN_SECRET_LENGTH && !labels.has(value)) labels.set(value, `«redacted:${name}»`);
  }
  // Longest first, so a secret that contains another is replaced whole.
  const values = [...labels.keys()].sort((a, b) => b.length - a.length);
  pattern = values.length > 0 ? new RegExp(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : undefined;
}

/** The config's secrets: a load's values replace the previous load's (values added with addSecrets stay). */
export function setSecrets(entries: Iterable<Entry>): void {
  fromConfig = [...entries];
  rebuild();
}

/**
 * Add values (e.g. capability auth read from the environment). They are kept for the life of the
 * process: a credential that was once in use stays redacted after a reload drops it.
 */
export function addSecrets(entries: Iterable<Entry>): void {
  const known = new Set(added.map((e) => e.value));
  const fresh = [...entries].filter((e) => !known.has(e.value));
  if (fresh.length === 0) return;
  added = [...added, ...fresh];
  rebuild();
}

/** The text with every registered secret replaced by «redacted:NAME». */
export function redact(text: string): string {
  if (!pattern || text.length < MIN_SECRET_LENGTH) return text;
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
