import { type CapabilityDefinition, leftoverTarget, usedArguments } from './load.js';
import {
  envIn,
  parseTemplate,
  type RenderContext,
  render,
  renderForDisplay,
  urlComponent,
  valueToText,
  wholeArgument,
} from './template.js';
import type { ArgumentProblem } from './validate.js';

/**
 * The arguments do not fit the tool (a required one is missing, a URL does not parse, a value would
 * leave the tool's origin or climb its path): nothing was sent. The source turns it into InvalidArgumentsError.
 */
export class ArgumentError extends Error {
  readonly problems: ArgumentProblem[];
  constructor(message: string, path = '(arguments)') {
    super(message);
    this.name = 'ArgumentError';
    this.problems = [{ path, message }];
  }
}

export interface PreparedRequest {
  method: string;
  url: URL;
  /** The URL as it may be printed: environment values and api-key query values masked. */
  displayUrl: string;
  headers: Headers;
  body?: string;
  /** Every value that came from the environment (and a basic-auth token) → its variable's name: redacted from anything returned. */
  secrets: Map<string, string>;
}

export const USER_AGENT = 'meta-mcp-gateway (REST capability)';
const DEFAULT_ACCEPT = 'application/json, text/plain;q=0.9, */*;q=0.8';

/**
 * Build the HTTP request of one call from the tool's templates and the model's arguments.
 * Throws ArgumentError, or MissingEnvError for a variable that is not set.
 */
export function prepareRequest(def: CapabilityDefinition, given: Record<string, unknown>, env: NodeJS.ProcessEnv): PreparedRequest {
  const args = withDefaults(def, given);
  const required = def.inputSchema.required ?? [];
  const missing = required.filter((name) => args[name] === undefined || args[name] === null);
  if (missing.length > 0) throw new ArgumentError(`missing required argument${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);

  const secrets = new Map<string, string>();
  const ctx: RenderContext = { args, env, secrets };

  // URL with its path parameters (percent-encoded). No value may climb the path: `..` or an encoded dot or slash.
  for (const name of pathArguments(def.url)) {
    const bad = climbingValue(args[name]);
    if (bad !== undefined) throw new ArgumentError(`"${bad}" is not allowed in a URL path ("." and ".." segments, %2e, %2f and %5c)`, name);
  }
  const displayBase = renderForDisplay(def.url, args, urlComponent);
  const rendered = render(def.url, ctx, urlComponent);
  if (rendered === undefined) throw new ArgumentError(`an argument of the URL is missing: ${displayBase}`);
  let url: URL;
  try {
    url = new URL(rendered);
  } catch {
    throw new ArgumentError(`the URL is not valid: ${displayBase}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ArgumentError(`the URL must be http or https: ${displayBase}`);
  // The arguments may choose the path, never the server: checked before any credential is attached.
  const origin = templateOrigin(def.url, env);
  if (url.origin !== origin) throw new ArgumentError(`the arguments would send the request to ${url.origin} instead of ${origin}`);
  const masked = new Set<string>();

  // Query: the given templates, or (for body-less methods without `query`) the leftover arguments.
  const target = leftoverTarget(def);
  const used = usedArguments(def);
  const leftovers = Object.entries(args).filter(([name, value]) => !used.has(name) && value !== undefined && value !== null);
  /** A list is one parameter per element when exploded, else one comma-joined parameter. */
  const appendQuery = (name: string, value: unknown, explode: boolean, secret: boolean) => {
    if (value === undefined || value === null) return;
    for (const item of Array.isArray(value) && explode ? value : [value]) {
      if (item !== undefined && item !== null) url.searchParams.append(name, valueToText(item));
    }
    if (secret) masked.add(name);
  };
  for (const [name, template] of Object.entries(def.query ?? {})) {
    if (typeof template !== 'string') appendQuery(name, template, false, false);
    else {
      const whole = wholeArgument(template);
      const usesEnv = parseTemplate(template).some((s) => s.kind === 'env');
      if (whole) appendQuery(name, args[whole.name], whole.explode, false);
      else appendQuery(name, render(template, ctx), false, usesEnv);
    }
  }
  if (target === 'query') for (const [name, value] of leftovers) appendQuery(name, value, true, false);

  // Headers: ours, then the file's (templates), then auth.
  const headers = new Headers({ 'user-agent': USER_AGENT, accept: DEFAULT_ACCEPT });
  for (const [name, template] of Object.entries(def.headers)) {
    const value = typeof template !== 'string' ? String(template) : renderHeader(template, ctx);
    if (value !== undefined) headers.set(name, value);
  }
  if (def.auth) {
    const auth = def.auth;
    const value = (template: string) => render(template, ctx) ?? '';
    if (auth.type === 'bearer') headers.set('authorization', `Bearer ${value(auth.token)}`);
    else if (auth.type === 'basic') {
      const token = Buffer.from(`${value(auth.username)}:${value(auth.password)}`).toString('base64');
      secrets.set(token, envIn(auth.password)[0] ?? 'password');
      headers.set('authorization', `Basic ${token}`);
    } else if (auth.in === 'header') headers.set(auth.name, `${auth.prefix ?? ''}${value(auth.value)}`);
    else {
      url.searchParams.set(auth.name, `${auth.prefix ?? ''}${value(auth.value)}`);
      masked.add(auth.name);
    }
  }

  // Body: the template, or (for POST/PUT/PATCH without `body`) the leftover arguments.
  let payload: unknown;
  if (def.body !== undefined && def.body !== false) payload = renderBody(def.body, ctx);
  else if (target === 'body' && leftovers.length > 0) payload = Object.fromEntries(leftovers);
  let body: string | undefined;
  if (payload !== undefined) {
    if (def.bodyFormat === 'form') {
      const form = new URLSearchParams();
      for (const [name, value] of Object.entries(payload as Record<string, unknown>)) {
        // A form repeats a field per element of a list (what servers parse as an array).
        for (const item of Array.isArray(value) ? value : [value])
          if (item !== undefined && item !== null) form.append(name, valueToText(item));
      }
      body = form.toString();
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    } else {
      body = JSON.stringify(payload);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
  }

  return {
    method: def.method,
    url,
    displayUrl: displayUrl(url, displayBase, masked, secrets),
    headers,
    ...(body !== undefined ? { body } : {}),
    secrets,
  };
}

/** Top-level `default`s of the input schema fill arguments the model left out. */
export function withDefaults(def: CapabilityDefinition, given: Record<string, unknown>): Record<string, unknown> {
  const args = { ...given };
  for (const [name, schema] of Object.entries(def.inputSchema.properties ?? {})) {
    if (args[name] === undefined && schema && typeof schema === 'object' && 'default' in schema)
      args[name] = (schema as { default: unknown }).default;
  }
  return args;
}

function renderHeader(template: string, ctx: RenderContext): string | undefined {
  const whole = wholeArgument(template);
  if (whole === undefined) return render(template, ctx);
  const value = ctx.args[whole.name];
  return value === undefined || value === null ? undefined : valueToText(value);
}

/** A JSON template: "{arg}" is the argument's value (any type), left out when not given; other strings are interpolated. */
function renderBody(template: unknown, ctx: RenderContext): unknown {
  if (typeof template === 'string') {
    const whole = wholeArgument(template);
    if (whole !== undefined) return ctx.args[whole.name] ?? undefined;
    return render(template, ctx);
  }
  if (Array.isArray(template)) return template.map((item) => renderBody(item, ctx)).filter((item) => item !== undefined);
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) {
      const rendered = renderBody(value, ctx);
      if (rendered !== undefined) out[key] = rendered;
    }
    return out;
  }
  return template;
}

/** The display base (env references as written) with the real query string, masked where secret. */
function displayUrl(url: URL, displayBase: string, masked: Set<string>, secrets: Map<string, string>): string {
  const base = displayBase.replace(/[?#].*$/, '');
  const params = new URLSearchParams();
  const secret = (value: string) => [...secrets.keys()].some((s) => value.includes(s));
  for (const [name, value] of url.searchParams) params.append(name, masked.has(name) || secret(value) ? '***' : value);
  const query = params.toString().replaceAll('%2A%2A%2A', '***');
  return query ? `${base}?${query}` : base;
}

/** The arguments placed in the URL's path (before its query or fragment). */
export function pathArguments(template: string): string[] {
  const names: string[] = [];
  for (const s of parseTemplate(template)) {
    if (s.kind === 'text' && /[?#]/.test(s.text)) break;
    if (s.kind === 'arg') names.push(s.name);
  }
  return names;
}

/** The part of a path value that could climb or re-root the path, or undefined when it is harmless. */
function climbingValue(value: unknown): string | undefined {
  for (const item of Array.isArray(value) ? value : [value]) {
    if (item === undefined || item === null) continue;
    const text = valueToText(item);
    const encoded = /%(2e|2f|5c)/i.exec(text);
    if (encoded) return encoded[0];
    const dots = text.split(/[\\/]/).find((part) => part === '.' || part === '..');
    if (dots !== undefined) return dots;
  }
  return undefined;
}

/** The origin a tool's URL has whatever its arguments are: every argument left empty. */
function templateOrigin(template: string, env: NodeJS.ProcessEnv): string {
  const anyArgument = new Proxy({}, { get: () => '' }) as Record<string, unknown>;
  try {
    return new URL(render(template, { args: anyArgument, env }, urlComponent)!).origin;
  } catch {
    throw new ArgumentError('the URL is not valid without its arguments');
  }
}
