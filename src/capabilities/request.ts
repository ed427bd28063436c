import { type CapabilityDefinition, leftoverTarget, usedArguments } from './load.js';
import { parseTemplate, type RenderContext, render, renderForDisplay, urlComponent, valueToText, wholeArgument } from './template.js';

/** The arguments do not fit the tool (a required one is missing, a URL does not parse): nothing was sent. */
export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

export interface PreparedRequest {
  method: string;
  url: URL;
  /** The URL as it may be printed: environment values and api-key query values masked. */
  displayUrl: string;
  headers: Headers;
  body?: string;
  /** Every value that came from the environment (and a basic-auth token): scrubbed from anything returned. */
  secrets: Set<string>;
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

  const secrets = new Set<string>();
  const ctx: RenderContext = { args, env, secrets };

  // URL with its path parameters (percent-encoded).
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
      secrets.add(token);
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
function withDefaults(def: CapabilityDefinition, given: Record<string, unknown>): Record<string, unknown> {
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
function displayUrl(url: URL, displayBase: string, masked: Set<string>, secrets: Set<string>): string {
  const base = displayBase.replace(/[?#].*$/, '');
  const params = new URLSearchParams();
  const secret = (value: string) => [...secrets].some((s) => value.includes(s));
  for (const [name, value] of url.searchParams) params.append(name, masked.has(name) || secret(value) ? '***' : value);
  const query = params.toString().replaceAll('%2A%2A%2A', '***');
  return query ? `${base}?${query}` : base;
}
