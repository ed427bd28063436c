/**
 * The template language of capability files, parsed in one pass so a substituted value is never
 * scanned again (an argument holding "${GITHUB_TOKEN}" stays that literal text):
 *
 *   {name}      an argument, percent-encoded in a URL; a list is joined with commas
 *   {+name}     an argument, in a URL with reserved characters (/ @ : …) kept, as RFC 6570 `{+var}`
 *   {name*}     as a whole query value: a list becomes one parameter per element (RFC 6570 explode)
 *   ${VAR}      an environment variable, read when the request is made; ${VAR:-default} has a default
 *   {{  }}      a literal { and }
 *
 * Any other brace (JSON, GraphQL) is plain text.
 */
const TOKEN = /\{\{|\}\}|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\{(\+?)([A-Za-z_][A-Za-z0-9_.-]*)(\*?)\}/g;

export type Segment =
  | { kind: 'text'; text: string }
  | { kind: 'env'; name: string; fallback?: string }
  | { kind: 'arg'; name: string; reserved: boolean; explode: boolean };

/**
 * Templates come from capability files, so there are few of them, and each call renders the same ones
 * again: parsed once. Bounded in case a caller passes ever-new strings (the map is dropped when full).
 */
const parsed = new Map<string, readonly Segment[]>();
const PARSED_MAX = 2_000;

/** A template's segments (shared: do not modify). */
export function parseTemplate(template: string): readonly Segment[] {
  let segments = parsed.get(template);
  if (!segments) {
    segments = parseOnce(template);
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(template, segments);
  }
  return segments;
}

function parseOnce(template: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  const text = (t: string) => {
    if (!t) return;
    const prev = segments.at(-1);
    if (prev?.kind === 'text') prev.text += t;
    else segments.push({ kind: 'text', text: t });
  };
  for (const m of template.matchAll(TOKEN)) {
    text(template.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0] === '{{') text('{');
    else if (m[0] === '}}') text('}');
    else if (m[1] !== undefined)
      segments.push(m[2] === undefined ? { kind: 'env', name: m[1] } : { kind: 'env', name: m[1], fallback: m[2] });
    else segments.push({ kind: 'arg', name: m[4]!, reserved: m[3] === '+', explode: m[5] === '*' });
  }
  text(template.slice(last));
  return segments;
}

/**
 * The argument a string stands for when it is exactly one placeholder, `"{name}"` or `"{name*}"`:
 * its value is used as is (any JSON type in a body; in a query, `*` repeats the parameter per element).
 */
export function wholeArgument(template: string): { name: string; explode: boolean } | undefined {
  const segments = parseTemplate(template);
  const only = segments.length === 1 ? segments[0]! : undefined;
  return only?.kind === 'arg' && !only.reserved ? { name: only.name, explode: only.explode } : undefined;
}

export function argumentsIn(template: string): string[] {
  return parseTemplate(template).flatMap((s) => (s.kind === 'arg' ? [s.name] : []));
}

export function envIn(template: string): string[] {
  return parseTemplate(template).flatMap((s) => (s.kind === 'env' ? [s.name] : []));
}

/** Every string inside a JSON-like value (for placeholder checks on body templates). */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** A variable the request needs is not set: the call fails naming it (never its value). */
export class MissingEnvError extends Error {
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set`);
    this.name = 'MissingEnvError';
  }
}

export interface RenderContext {
  args: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /**
   * Values read from the environment (value → variable name) are collected here, so they can be
   * redacted from anything printed (a value that is a URL, like a base URL, is not a secret and is not collected).
   */
  secrets?: Map<string, string>;
}

/** How one argument value becomes text: encoded for a URL, or raw. */
export type Encoder = (value: unknown, reserved: boolean) => string;

export const plainText: Encoder = (value) => valueToText(value);

export const urlComponent: Encoder = (value, reserved) => {
  if (Array.isArray(value)) return value.map((v) => urlComponent(v, reserved)).join(',');
  const text = valueToText(value);
  return reserved ? encodeURI(text).replace(/[?#]/g, encodeURIComponent) : encodeURIComponent(text);
};

export function valueToText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(valueToText).join(',');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Render a template. Returns undefined when an argument it uses was not given (the caller leaves
 * the parameter out); throws MissingEnvError for an unset variable without a default.
 */
export function render(template: string, ctx: RenderContext, encode: Encoder = plainText): string | undefined {
  let out = '';
  for (const s of parseTemplate(template)) {
    if (s.kind === 'text') out += s.text;
    else if (s.kind === 'env') out += readEnv(s, ctx);
    else {
      const value = ctx.args[s.name];
      if (value === undefined || value === null) return undefined;
      out += encode(value, s.reserved);
    }
  }
  return out;
}

/**
 * The same template for display: arguments filled in, but every `${VAR}` left as written, so a
 * printed URL never carries a value from the environment.
 */
export function renderForDisplay(template: string, args: Record<string, unknown>, encode: Encoder = plainText): string {
  let out = '';
  for (const s of parseTemplate(template)) {
    if (s.kind === 'text') out += s.text;
    else if (s.kind === 'env') out += `\${${s.name}}`;
    else {
      const value = args[s.name];
      out += value === undefined || value === null ? `{${s.name}}` : encode(value, s.reserved);
    }
  }
  return out;
}

function readEnv(s: { name: string; fallback?: string }, ctx: RenderContext): string {
  const set = ctx.env[s.name];
  if (set === undefined || set === '') {
    // An empty variable is as good as unset: an empty token would only fail later, less clearly.
    if (s.fallback === undefined) throw new MissingEnvError(s.name);
    return s.fallback;
  }
  if (!/^https?:\/\//i.test(set)) ctx.secrets?.set(set, s.name);
  return set;
}
