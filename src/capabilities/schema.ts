import { z } from 'zod';
import { CircuitBreaker, RateLimit } from '../config/schema.js';
import { parsePath } from './json-path.js';
import { argumentsIn, parseTemplate, stringsIn } from './template.js';

/**
 * The schema of a capability file (documented key by key in capabilities/README.md): one tool,
 * or a `tools:` list sharing `server`, `base_url`, `headers`, `auth` and `timeout_ms`.
 * Every object is strict: an unknown key is an error with its path.
 *
 * Secrets: `auth` takes only environment references (`token: "${GITHUB_TOKEN}"`); a literal value is
 * rejected, and so is a literal value for a header or query parameter whose name says it holds a
 * credential. References are read when a request is made, never at load time, so an unset variable
 * fails that call (naming the variable) and the file's other tools still work.
 */

export const DEFAULT_SERVER = 'capabilities';
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_CHARS = 50_000;

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof METHODS)[number];
/** Methods whose leftover arguments go to the query string (the others send them as the body). */
export const BODYLESS_METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'DELETE', 'OPTIONS'];

/** Tool names as most model providers accept them. */
const TOOL_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;
/** The same rule as a backend name in gateway.yaml. */
const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** A reference and nothing else: `${NAME}`. */
export const ENV_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** Header and query names that carry credentials: their values must come from the environment or the arguments. */
export const CREDENTIAL_NAME = /^(authorization|proxy-authorization|cookie)$|token|secret|passw|api[-_]?key|^key$|signature|session/i;

const int = (min: number) => z.number().int().min(min);

const secret = () =>
  z
    .string()
    .regex(
      ENV_REFERENCE,
      'must be a reference to an environment variable, like "$' + '{API_TOKEN}": a secret is never written in a capability file',
    );

const Auth = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({ type: z.literal('bearer'), token: secret() }),
    z.strictObject({
      type: z.literal('api_key'),
      in: z.enum(['header', 'query']).default('header'),
      name: z.string().min(1),
      value: secret(),
      /** Put before the value, e.g. "Token " */
      prefix: z.string().optional(),
    }),
    z.strictObject({
      type: z.literal('basic'),
      /** Not a secret (an account name or e-mail): a literal or a reference. */
      username: z.string().min(1),
      password: secret(),
    }),
  ],
  { error: 'must be one of none, bearer, api_key, basic' },
);
export type CapabilityAuth = z.output<typeof Auth>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const HeaderMap = z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid header name'), Scalar);

const Method = z.preprocess(
  (v) => (typeof v === 'string' ? v.toUpperCase() : v),
  z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` }),
);

const Request = z.strictObject({
  method: Method.default('GET'),
  /** Absolute, or relative to `base_url`. `{arg}` path parameters, `${VAR}` environment references. */
  url: z.string().min(1, 'required'),
  /** Omitted: for GET/HEAD/DELETE/OPTIONS, every argument not used in the URL or headers. */
  query: z.record(z.string().min(1), Scalar).optional(),
  headers: HeaderMap.optional(),
  /** A JSON template; `false` sends no body. Omitted: for POST/PUT/PATCH, every argument not used elsewhere. */
  body: z.unknown().optional(),
  body_format: z.enum(['json', 'form']).default('json'),
});

const Response = z.strictObject({
  /** Pick one value from a JSON response (e.g. `data.items`). */
  path: z.string().min(1).optional(),
  /** Keep only these paths of the (picked) object, or of each element of a picked list. */
  fields: z.array(z.string().min(1)).min(1).optional(),
  /** Longer results are cut, with a note saying so. */
  max_chars: int(100).default(DEFAULT_MAX_CHARS),
});

const Annotations = z.strictObject({
  title: z.string().min(1).optional(),
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});

/** The tool's arguments, as JSON Schema: an object schema. */
const InputSchema = z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
  if (schema.type !== undefined && schema.type !== 'object') {
    ctx.addIssue({ code: 'custom', path: ['type'], message: 'the input schema must have type: object (arguments are named)' });
  }
  const props = schema.properties;
  if (props !== undefined && (props === null || typeof props !== 'object' || Array.isArray(props))) {
    ctx.addIssue({ code: 'custom', path: ['properties'], message: 'properties must be a mapping of argument name to JSON Schema' });
  }
  const required = schema.required;
  if (required !== undefined && !(Array.isArray(required) && required.every((r) => typeof r === 'string'))) {
    ctx.addIssue({ code: 'custom', path: ['required'], message: 'required must be a list of argument names' });
  }
});

const ToolKeys = {
  name: z.string().regex(TOOL_NAME, 'a tool name is 1-64 letters, digits, _ . and -'),
  title: z.string().min(1).optional(),
  description: z.string().trim().min(1, 'required: the model chooses tools by their description'),
  input: InputSchema.optional(),
  request: Request,
  auth: Auth.optional(),
  timeout_ms: int(1).optional(),
  response: Response.optional(),
  annotations: Annotations.optional(),
};

const FileKeys = {
  /** The server the tools are listed under (default `capabilities`); files may share one. */
  server: z.string().regex(SERVER_NAME, 'a server name uses letters, digits, _ . and - only').optional(),
  /** Shown by list_servers; files of one server must not disagree. */
  server_description: z.string().trim().min(1).optional(),
  /** Relative `request.url`s are appended to it. */
  base_url: z.string().min(1).optional(),
  /** Headers for every tool of the file (a tool's own `request.headers` win). */
  headers: HeaderMap.optional(),
  auth: Auth.optional(),
  timeout_ms: int(1).optional(),
  /** Let the file's tools call loopback, link-local, private and unique-local addresses (refused by default). */
  allow_private_network: z.boolean().optional(),
  /** Failsafes for the file's calls, as for a backend in gateway.yaml (defaults: the gateway's built-in ones). */
  max_concurrent: int(1).optional(),
  max_queue: int(0).optional(),
  rate_limit: RateLimit.optional(),
  circuit_breaker: CircuitBreaker.optional(),
};

type Ctx = z.core.$RefinementCtx;
type ToolInput = z.output<z.ZodObject<typeof ToolKeys>>;
type FileInput = { [K in keyof typeof FileKeys]?: z.output<(typeof FileKeys)[K]> };

export const CapabilityToolSchema = z.strictObject(ToolKeys);

export const CapabilityListFileSchema = z
  .strictObject({ ...FileKeys, tools: z.array(CapabilityToolSchema).min(1, 'list at least one tool') })
  .superRefine((file, ctx) => {
    checkShared(file, ctx);
    file.tools.forEach((tool, i) => {
      checkTool(tool, file, ctx, ['tools', i]);
    });
  });

export const CapabilitySingleFileSchema = z.strictObject({ ...FileKeys, ...ToolKeys }).superRefine((file, ctx) => {
  checkShared(file, ctx);
  checkTool(file, file, ctx, []);
});

/** A capability file: one tool (its keys at the top level), or a `tools:` list. */
export const CapabilityFileSchema = z.union([CapabilityListFileSchema, CapabilitySingleFileSchema]);
export type CapabilityFile = z.output<typeof CapabilityFileSchema>;

/** Parse as the list form when there is a `tools` key, else as one tool (so errors are about the form meant). */
export function capabilityFileSchemaFor(raw: unknown): typeof CapabilityListFileSchema | typeof CapabilitySingleFileSchema {
  return raw !== null && typeof raw === 'object' && 'tools' in raw ? CapabilityListFileSchema : CapabilitySingleFileSchema;
}

function checkShared(file: FileInput, ctx: Ctx): void {
  if (file.base_url !== undefined) {
    if (argumentsIn(file.base_url).length > 0)
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'base_url cannot use {arguments}; put them in request.url' });
    else checkUrl(file.base_url, ctx, ['base_url']);
  }
  checkCredentials(file.headers, ctx, ['headers'], 'header');
}

function checkTool(tool: ToolInput, file: FileInput, ctx: Ctx, at: (string | number)[]): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path: [...at, ...path], message });
  const props = propertiesOf(tool.input);
  const declared = (name: string) => props === undefined || Object.hasOwn(props, name);
  const checkArgs = (template: string, path: (string | number)[]) => {
    for (const name of argumentsIn(template)) {
      if (!declared(name)) issue(path, `{${name}} is not an argument: add it to input.properties`);
    }
  };
  const { request } = tool;

  // URL: absolute, or relative to base_url; every placeholder a declared argument, none in the host.
  const url = request.url;
  checkArgs(url, ['request', 'url']);
  const host = placeholderDecidingHost(url);
  if (host !== undefined) issue(['request', 'url'], host);
  if (/^\/(?!\/)/.test(url) || !/^(https?:|\$\{)/i.test(url)) {
    if (file.base_url === undefined) issue(['request', 'url'], 'a relative URL needs base_url (or give an absolute http(s) URL)');
    else if (!url.startsWith('/')) issue(['request', 'url'], 'a URL relative to base_url starts with "/"');
  } else {
    checkUrl(url, ctx, [...at, 'request', 'url']);
  }

  for (const [key, value] of Object.entries(request.query ?? {})) {
    if (typeof value === 'string') checkArgs(value, ['request', 'query', key]);
  }
  for (const [key, value] of Object.entries(request.headers ?? {})) {
    if (typeof value === 'string') checkArgs(value, ['request', 'headers', key]);
  }
  checkCredentials(request.query, ctx, [...at, 'request', 'query'], 'query parameter');
  checkCredentials(request.headers, ctx, [...at, 'request', 'headers'], 'header');

  if (request.body !== undefined && request.body !== false) {
    if (request.method === 'GET' || request.method === 'HEAD') issue(['request', 'body'], `a ${request.method} request has no body`);
    if (request.body === null || request.body === true) issue(['request', 'body'], 'body is a JSON template, or false for no body');
    for (const s of stringsIn(request.body)) checkArgs(s, ['request', 'body']);
    if (request.body_format === 'form' && (typeof request.body !== 'object' || Array.isArray(request.body) || request.body === null)) {
      issue(['request', 'body'], 'a form body is a mapping of field names to values');
    }
  }

  if (tool.response?.path !== undefined) checkPath(tool.response.path, ctx, [...at, 'response', 'path']);
  tool.response?.fields?.forEach((f, i) => {
    checkPath(f, ctx, [...at, 'response', 'fields', i]);
  });
}

/**
 * Why an argument in this URL could decide which server is called, or undefined. The host must be
 * fixed by the file (or the environment): no placeholder in the authority, and none right after a
 * leading `${BASE}` without a "/" between (`${BASE}{+path}` with "@evil.example" would change the host).
 */
export function placeholderDecidingHost(url: string): string | undefined {
  const segments = parseTemplate(url);
  let text = '';
  for (const s of segments) {
    if (s.kind === 'arg') {
      const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text);
      const afterScheme = scheme ? text.slice(scheme[0].length) : text;
      const startsWithEnv = segments[0]?.kind === 'env';
      if (scheme && !/[/?#]/.test(afterScheme))
        return `{${s.name}} is in the host part of the URL: an argument may not decide which server is called`;
      if (!scheme && startsWithEnv && !/[/?#]/.test(afterScheme))
        return `{${s.name}} follows the environment's base URL directly: put a "/" before it, so an argument cannot change the host`;
      return undefined;
    }
    text += s.kind === 'text' ? s.text : 'E';
  }
  return undefined;
}

function checkUrl(url: string, ctx: Ctx, path: (string | number)[]): void {
  if (url.startsWith('${')) return; // the whole base comes from the environment: checked when used
  const sample = url.replace(/\$\{[^}]*\}/g, 'x').replace(/\{\+?[^}]*\}/g, 'x');
  let parsed: URL;
  try {
    parsed = new URL(sample);
  } catch {
    ctx.addIssue({ code: 'custom', path, message: 'not a valid URL' });
    return;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    ctx.addIssue({ code: 'custom', path, message: 'the URL must be http or https' });
  if (parsed.username || parsed.password)
    ctx.addIssue({ code: 'custom', path, message: 'no credentials in the URL: use auth with an environment reference' });
}

function checkPath(path: string, ctx: Ctx, at: (string | number)[]): void {
  try {
    parsePath(path);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: at, message: (error as Error).message });
  }
}

/** A header or query parameter named like a credential must not hold a literal value. */
function checkCredentials(
  values: Record<string, string | number | boolean> | undefined,
  ctx: Ctx,
  at: (string | number)[],
  what: string,
): void {
  for (const [name, value] of Object.entries(values ?? {})) {
    if (!CREDENTIAL_NAME.test(name)) continue;
    const segments = typeof value === 'string' ? parseTemplate(value) : [];
    if (segments.some((s) => s.kind === 'env' || s.kind === 'arg')) continue;
    ctx.addIssue({
      code: 'custom',
      path: [...at, name],
      message: `the ${what} ${name} looks like a credential: take it from the environment ("\${MY_SECRET}") or use auth; a secret is never written in a capability file`,
    });
  }
}

export function propertiesOf(input: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const props = input?.properties;
  return props && typeof props === 'object' && !Array.isArray(props) ? (props as Record<string, unknown>) : undefined;
}
