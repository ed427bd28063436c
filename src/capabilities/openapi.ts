import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { parse as parseYaml, stringify } from 'yaml';
import { USER_AGENT } from './request.js';
import { DEFAULT_SERVER } from './schema.js';

/**
 * `mcp-gateway cap import`: an OpenAPI 3.0/3.1 or Swagger 2.0 document (YAML or JSON, a file or a
 * URL) becomes one capability file per operation. Reading, $ref resolution and validation are done by
 * @readme/openapi-parser; a spec that does not validate is still imported, with the problems as warnings.
 */

export interface ImportOptions {
  /** Put before every tool name (`p` → `p_find_pets_by_status`). */
  prefix?: string;
  /** Keep only operations with one of these tags or operationIds (operationId also snake_cased). */
  include?: string[];
  /** The server the tools are listed under. Default: from the API's title (e.g. `petstore`). */
  server?: string;
  /** Use this base URL instead of the spec's `servers` (or Swagger 2 host/basePath). */
  baseUrl?: string;
}

export interface ImportedFile {
  /** Relative file name, e.g. `find_pets_by_status.yaml`. */
  path: string;
  yaml: string;
}

export interface ImportResult {
  files: ImportedFile[];
  warnings: string[];
  /** The server name written into the files. */
  server: string;
  /** The environment variables the generated auth reads. */
  envVars: string[];
}

export class OpenApiImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenApiImportError';
  }
}

type Json = Record<string, unknown>;
type Param = { name: string; in: string; required?: boolean; description?: string; schema?: Json; content?: Json; [key: string]: unknown };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;
const BODY_METHODS = new Set(['post', 'put', 'patch']);
/** Header parameters OpenAPI says to ignore (the HTTP layer sets them). */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);
const SCHEMA_DROP = new Set(['xml', 'externalDocs', 'discriminator', 'example', 'nullable', 'readOnly', 'writeOnly']);
/** JSON Schema keywords a Swagger 2 non-body parameter may carry. */
const V2_PARAM_SCHEMA_KEYS = [
  'type',
  'format',
  'items',
  'enum',
  'default',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'multipleOf',
];
const MAX_SCHEMA_DEPTH = 12;

export async function importOpenApi(spec: string, options: ImportOptions = {}): Promise<ImportResult> {
  const warnings: string[] = [];
  const isUrl = /^https?:\/\//i.test(spec);

  // A URL is downloaded here rather than by the parser, whose resolver refuses loopback and private
  // addresses: importing the spec of a service running on this machine is a main use.
  const source: string | Json = isUrl ? await download(spec) : spec;
  const copy = () => (typeof source === 'string' ? source : (structuredClone(source) as never));

  let validation: Awaited<ReturnType<typeof validate>>;
  try {
    validation = await validate(copy());
  } catch (error) {
    throw new OpenApiImportError(`cannot read ${spec}: ${(error as Error).message}`);
  }
  if (validation.specification === null) {
    throw new OpenApiImportError(
      `${spec} is not an OpenAPI 3 or Swagger 2 document${validation.valid ? '' : `: ${firstLines(compileErrors(validation), 3)}`}`,
    );
  }
  if (!validation.valid) warnings.push(`the spec does not fully validate (imported anyway): ${firstLines(compileErrors(validation), 6)}`);
  for (const w of validation.warnings) warnings.push(`spec: ${w.message}`);

  let doc: Json;
  try {
    doc = (await dereference(copy(), { dereference: { circular: 'ignore' } })) as unknown as Json;
  } catch (error) {
    throw new OpenApiImportError(`cannot resolve the $refs of ${spec}: ${(error as Error).message}`);
  }
  const swagger2 = typeof doc.swagger === 'string';
  const info = (doc.info ?? {}) as Json;
  const title = String(info.title ?? 'API');
  const server = options.server ?? (options.prefix ? slug(options.prefix) : undefined) ?? titleSlug(title);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(server))
    throw new OpenApiImportError(`"${server}" is not a valid server name (letters, digits, _ . -)`);
  const envPrefix =
    server
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, '_')
      .replace(/^_|_$/g, '') || 'API';
  const baseUrl = options.baseUrl?.replace(/\/+$/, '') ?? findBaseUrl(doc, swagger2, spec, isUrl, envPrefix, warnings);

  const ctx: OperationContext = { doc, swagger2, envPrefix, warnings, envVars: new Set(), warnedSchemes: new Set() };
  const include = options.include?.filter((i) => i.trim() !== '') ?? [];
  const matched = new Set<string>();
  const names = new Set<string>();
  const files: ImportedFile[] = [];

  const paths = (doc.paths ?? {}) as Record<string, Json>;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const operationId = typeof op.operationId === 'string' ? op.operationId : undefined;
      const label = operationId ?? `${method.toUpperCase()} ${path}`;
      if (include.length > 0) {
        const keys = [...((op.tags as string[] | undefined) ?? []), ...(operationId ? [operationId, snakeCase(operationId)] : [])].map(
          (k) => k.toLowerCase(),
        );
        const hits = include.filter((i) => keys.includes(i.toLowerCase()));
        if (hits.length === 0) continue;
        for (const h of hits) matched.add(h);
      }

      let name = joinPrefix(options.prefix, operationId ? snakeCase(operationId) : snakeCase(`${method}_${path}`)).slice(0, 64);
      for (let n = 2; names.has(name); n++) name = `${name.slice(0, 60)}_${n}`;

      const capability = operationToCapability(
        { ...ctx, label },
        { path, method, op, pathParams: (item.parameters as Param[] | undefined) ?? [], baseUrl },
      );
      if (!capability) continue;
      names.add(name);
      const document = {
        server,
        server_description: serverDescription(info),
        name,
        ...capability,
      };
      const header = `# Imported by \`mcp-gateway cap import\` from ${spec}\n# ${title}${info.version ? ` ${info.version}` : ''}: ${method.toUpperCase()} ${path}${operationId ? ` (${operationId})` : ''}\n`;
      files.push({ path: `${name}.yaml`, yaml: header + stringify(document, { lineWidth: 0, aliasDuplicateObjects: false }) });
    }
  }
  for (const entry of include) if (!matched.has(entry)) warnings.push(`--include ${entry}: no operation has this tag or operationId`);
  if (files.length === 0) warnings.push('no operation was imported');
  return { files, warnings, server, envVars: [...ctx.envVars].sort() };
}

const DOWNLOAD_TIMEOUT_MS = 30_000;

/** Fetch a spec (JSON or YAML) from a URL; redirects are followed. */
async function download(url: string): Promise<Json> {
  let text: string;
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json, application/yaml;q=0.9, text/yaml;q=0.9, */*;q=0.5', 'user-agent': USER_AGENT },
      signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    text = await response.text();
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    throw new OpenApiImportError(`cannot read ${url}: ${(error as Error).message}${cause ? `: ${cause}` : ''}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      value = parseYaml(text);
    } catch {
      throw new OpenApiImportError(`${url} is neither JSON nor YAML`);
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new OpenApiImportError(`${url} is not an OpenAPI 3 or Swagger 2 document`);
  return value as Json;
}

export interface WriteOptions {
  /** Replace files that exist (default: refuse, and write nothing). */
  overwrite?: boolean;
}

/**
 * Write the files into a folder (created if needed). Each file is written to a dot-named temporary
 * file and renamed, so a watching gateway never reads half a file. Returns the paths written.
 */
export async function writeCapabilities(outputDir: string, files: ImportedFile[], options: WriteOptions = {}): Promise<string[]> {
  const root = resolve(outputDir);
  const targets = files.map((f) => {
    const target = resolve(root, normalize(f.path));
    if (!target.startsWith(root + sep)) throw new OpenApiImportError(`refusing to write outside ${outputDir}: ${f.path}`);
    return { target, yaml: f.yaml };
  });
  if (!options.overwrite) {
    const existing: string[] = [];
    for (const { target } of targets) if (await exists(target)) existing.push(target);
    if (existing.length > 0) {
      throw new OpenApiImportError(
        `${existing.length} file(s) exist already (use --force to replace them): ${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ', …' : ''}`,
      );
    }
  }
  for (const { target, yaml } of targets) {
    await mkdir(dirname(target), { recursive: true });
    const temp = join(dirname(target), `.${process.pid}.${Date.now()}.tmp`);
    await writeFile(temp, yaml, 'utf8');
    await rename(temp, target);
  }
  return targets.map((t) => t.target);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

interface OperationContext {
  doc: Json;
  swagger2: boolean;
  envPrefix: string;
  warnings: string[];
  envVars: Set<string>;
  warnedSchemes: Set<string>;
}

interface Operation {
  path: string;
  method: (typeof METHODS)[number];
  op: Json;
  pathParams: Param[];
  baseUrl: string;
}

/** The capability keys of one operation (without server and name), or undefined when it cannot be called with JSON arguments. */
function operationToCapability(
  ctx: OperationContext & { label: string },
  { path, method, op, pathParams, baseUrl }: Operation,
): Json | undefined {
  const warn = (message: string) => ctx.warnings.push(`${ctx.label}: ${message}`);
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  const query: Record<string, string> = {};
  const headers: Record<string, string> = {};
  let body: unknown;
  let bodyFormat: 'json' | 'form' = 'json';

  /** An argument name the template language and model providers accept, unique in this tool. */
  const argName = (raw: string): string => {
    let n = raw.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'arg';
    if (/^[0-9]/.test(n)) n = `_${n}`;
    n = n.slice(0, 64);
    let unique = n;
    for (let i = 2; Object.hasOwn(properties, unique); i++) unique = `${n}_${i}`;
    return unique;
  };
  const addArg = (raw: string, schema: Json, isRequired: boolean, description?: string): string => {
    const name = argName(raw);
    properties[name] = { ...cleanSchema(schema, 0), ...(description && !schema.description ? { description } : {}) };
    if (isRequired) required.push(name);
    return name;
  };

  // Parameters: the operation's override the path item's of the same name and location.
  const params = new Map<string, Param>();
  for (const p of [...pathParams, ...((op.parameters as Param[] | undefined) ?? [])]) params.set(`${p.in}:${p.name}`, p);
  let urlPath = path;
  const formFields: Record<string, string> = {};
  for (const p of params.values()) {
    const schema = paramSchema(p, ctx.swagger2);
    switch (p.in) {
      case 'path': {
        const name = addArg(p.name, schema, true, p.description);
        urlPath = urlPath.split(`{${p.name}}`).join(`{${name}}`);
        break;
      }
      case 'query': {
        const name = addArg(p.name, schema, p.required === true, p.description);
        query[p.name] = schema.type === 'array' && explodes(p, ctx.swagger2) ? `{${name}*}` : `{${name}}`;
        break;
      }
      case 'header':
        if (IGNORED_HEADERS.has(p.name.toLowerCase())) break;
        headers[p.name] = `{${addArg(p.name, schema, p.required === true, p.description)}}`;
        break;
      case 'cookie':
        warn(`cookie parameter "${p.name}" is not supported; left out`);
        break;
      case 'formData':
        if (p.type === 'file') {
          warn('file uploads (formData type: file) are not supported; operation skipped');
          return undefined;
        }
        formFields[p.name] = `{${addArg(p.name, schema, p.required === true, p.description)}}`;
        break;
      case 'body': {
        const mapped = mapBody((p.schema ?? {}) as Json, p.required === true, addArg);
        body = mapped;
        break;
      }
    }
  }
  // A {placeholder} of the path with no parameter declared (an invalid spec): still an argument.
  for (const m of [...urlPath.matchAll(/\{([^}]+)\}/g)]) {
    if (Object.hasOwn(properties, m[1]!)) continue;
    warn(`path parameter {${m[1]}} is not declared; taken as a string`);
    urlPath = urlPath.split(m[0]).join(`{${addArg(m[1]!, { type: 'string' }, true)}}`);
  }
  if (Object.keys(formFields).length > 0) {
    const consumes = ((op.consumes ?? ctx.doc.consumes) as string[] | undefined) ?? [];
    if (consumes.length > 0 && !consumes.includes('application/x-www-form-urlencoded')) {
      warn(`form data as ${consumes.join(', ')} is not supported (only application/x-www-form-urlencoded); operation skipped`);
      return undefined;
    }
    body = formFields;
    bodyFormat = 'form';
  }

  // OpenAPI 3 requestBody: JSON, or a URL-encoded form.
  const requestBody = op.requestBody as Json | undefined;
  if (requestBody) {
    const content = (requestBody.content ?? {}) as Record<string, Json>;
    const types = Object.keys(content);
    const json = types.find((t) => /^application\/(.+\+)?json\b/i.test(t)) ?? types.find((t) => t === '*/*');
    const form = types.find((t) => t.toLowerCase() === 'application/x-www-form-urlencoded');
    const chosen = json ?? form;
    if (!chosen) {
      warn(
        `request body as ${types.join(', ') || 'nothing'} is not supported (JSON or application/x-www-form-urlencoded only); operation skipped`,
      );
      return undefined;
    }
    if (!json) bodyFormat = 'form';
    const schema = (content[chosen]!.schema ?? {}) as Json;
    if (bodyFormat === 'form' && !isObjectSchema(mergeAllOf(schema))) {
      warn('a form body that is not an object is not supported; operation skipped');
      return undefined;
    }
    body = mapBody(schema, requestBody.required === true, addArg, requestBody.description as string | undefined);
  }

  const auth = mapSecurity(op, ctx, warn);
  const summary = typeof op.summary === 'string' ? op.summary.trim() : '';
  const details = typeof op.description === 'string' ? op.description.trim() : '';
  const description =
    [op.deprecated ? 'Deprecated.' : '', summary, details && details !== summary ? details : ''].filter(Boolean).join('\n\n') ||
    `${method.toUpperCase()} ${path}`;

  const request: Json = { method: method.toUpperCase(), url: baseUrl + urlPath };
  if (Object.keys(query).length > 0) request.query = query;
  if (Object.keys(headers).length > 0) request.headers = headers;
  if (body !== undefined) request.body = body;
  else if (BODY_METHODS.has(method)) request.body = false;
  if (bodyFormat === 'form') request.body_format = 'form';

  return {
    ...(summary ? { title: summary.replace(/\.$/, '') } : {}),
    description,
    input: { type: 'object', properties, ...(required.length > 0 ? { required } : {}) },
    request,
    ...(auth ? { auth } : {}),
  };
}

type AddArg = (raw: string, schema: Json, isRequired: boolean, description?: string) => string;

/**
 * A body schema becomes arguments: an object's properties one by one (read-only ones left out),
 * anything else (a list, a oneOf) one `body` argument. Returns the body template.
 */
function mapBody(schema: Json, isRequired: boolean, addArg: AddArg, description?: string): unknown {
  const merged = mergeAllOf(schema);
  if (isObjectSchema(merged) && merged.properties && Object.keys(merged.properties as Json).length > 0) {
    const requiredProps = new Set((merged.required as string[] | undefined) ?? []);
    const template: Record<string, string> = {};
    for (const [prop, propSchema] of Object.entries(merged.properties as Record<string, Json>)) {
      if (propSchema?.readOnly === true) continue;
      const name = addArg(prop, propSchema ?? {}, isRequired && requiredProps.has(prop));
      template[prop] = `{${name}}`;
    }
    return template;
  }
  const name = addArg('body', merged, isRequired, description);
  return `{${name}}`;
}

function isObjectSchema(schema: Json): boolean {
  return (schema.type === 'object' || (schema.type === undefined && schema.properties !== undefined)) && !schema.oneOf && !schema.anyOf;
}

/** allOf parts merged into one object schema (properties and required), as the dereferenced spec has them. */
function mergeAllOf(schema: Json): Json {
  if (!Array.isArray(schema.allOf)) return schema;
  const { allOf, ...rest } = schema;
  const out: Json = { ...rest };
  const properties: Json = { ...((rest.properties as Json | undefined) ?? {}) };
  const required = new Set<string>((rest.required as string[] | undefined) ?? []);
  for (const part of allOf as Json[]) {
    const m = mergeAllOf(part ?? {});
    Object.assign(properties, m.properties ?? {});
    for (const r of (m.required as string[] | undefined) ?? []) required.add(r);
    if (m.type && !out.type) out.type = m.type;
    if (m.description && !out.description) out.description = m.description;
  }
  if (Object.keys(properties).length > 0) out.properties = properties;
  if (required.size > 0) out.required = [...required];
  return out;
}

function paramSchema(p: Param, swagger2: boolean): Json {
  if (swagger2) {
    if (p.in === 'body') return (p.schema ?? {}) as Json;
    return Object.fromEntries(V2_PARAM_SCHEMA_KEYS.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
  }
  if (p.schema) return p.schema;
  const content = p.content as Record<string, Json> | undefined;
  const first = content ? Object.values(content)[0] : undefined;
  return (first?.schema as Json | undefined) ?? { type: 'string' };
}

/** OpenAPI 3 query arrays explode unless `explode: false`; Swagger 2 only with collectionFormat: multi. */
function explodes(p: Param, swagger2: boolean): boolean {
  if (swagger2) return p.collectionFormat === 'multi';
  const style = (p.style as string | undefined) ?? 'form';
  return style === 'form' && p.explode !== false;
}

/**
 * A JSON Schema fit for a tool's inputSchema: OpenAPI-only keywords dropped (xml, example → examples,
 * nullable → a "null" type), read-only properties left out, extensions dropped, circular $refs cut.
 */
function cleanSchema(schema: unknown, depth: number): Json {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return {};
  const s = schema as Json;
  if (typeof s.$ref === 'string') {
    return { description: `(recursive: see ${s.$ref.replace(/^#\/(components\/schemas|definitions)\//, '')})` };
  }
  if (depth > MAX_SCHEMA_DEPTH) return {};
  const out: Json = {};
  for (const [key, value] of Object.entries(s)) {
    if (SCHEMA_DROP.has(key) || key.startsWith('x-')) continue;
    if (key === 'properties' && value && typeof value === 'object') {
      const props: Json = {};
      for (const [name, prop] of Object.entries(value as Json)) {
        if ((prop as Json | null)?.readOnly === true) continue;
        props[name] = cleanSchema(prop, depth + 1);
      }
      out.properties = props;
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && value && typeof value === 'object') {
      out[key] = cleanSchema(value, depth + 1);
    } else if ((key === 'allOf' || key === 'oneOf' || key === 'anyOf') && Array.isArray(value)) {
      out[key] = value.map((v) => cleanSchema(v, depth + 1));
    } else {
      out[key] = structuredClone(value);
    }
  }
  if (s.example !== undefined && s.examples === undefined) out.examples = [structuredClone(s.example)];
  if (s.nullable === true && typeof s.type === 'string') out.type = [s.type, 'null'];
  if (Array.isArray(out.required) && out.properties) {
    const props = out.properties as Json;
    out.required = (out.required as string[]).filter((r) => Object.hasOwn(props, r));
    if ((out.required as string[]).length === 0) delete out.required;
  }
  return out;
}

/**
 * The auth of the first security requirement that can be expressed (an optional one, `{}`, means none).
 * Secrets become environment references named after the server and the scheme: api_key → ${PETSTORE_API_KEY}.
 */
function mapSecurity(op: Json, ctx: OperationContext, warn: (m: string) => void): Json | undefined {
  const requirements = ((op.security ?? ctx.doc.security) as Json[] | undefined) ?? [];
  if (requirements.length === 0 || requirements.some((r) => Object.keys(r).length === 0)) return undefined;
  const schemes = (ctx.swagger2 ? ctx.doc.securityDefinitions : (ctx.doc.components as Json | undefined)?.securitySchemes) as
    | Record<string, Json>
    | undefined;
  for (const requirement of requirements) {
    const names = Object.keys(requirement);
    const mapped = names.map((n) => (schemes?.[n] ? mapScheme(n, schemes[n]!, ctx) : undefined));
    if (mapped.some((m) => m === undefined)) continue;
    if (names.length > 1) warn(`security requires ${names.join(' + ')} together; only ${names[0]} is sent`);
    return mapped[0];
  }
  warn(`no supported security scheme among ${requirements.map((r) => Object.keys(r).join('+')).join(', ')}; no auth written`);
  return undefined;
}

function mapScheme(name: string, scheme: Json, ctx: OperationContext): Json | undefined {
  const env = envName(ctx.envPrefix, name);
  const ref = (v: string) => {
    ctx.envVars.add(v);
    return `\${${v}}`;
  };
  const type = String(scheme.type);
  if (type === 'apiKey') {
    if (scheme.in !== 'header' && scheme.in !== 'query') return undefined;
    return { type: 'api_key', in: scheme.in, name: scheme.name, value: ref(env) };
  }
  if (type === 'basic' || (type === 'http' && String(scheme.scheme).toLowerCase() === 'basic')) {
    return { type: 'basic', username: ref(`${env}_USERNAME`), password: ref(`${env}_PASSWORD`) };
  }
  if (type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer') return { type: 'bearer', token: ref(env) };
  if (type === 'oauth2' || type === 'openIdConnect') {
    if (!ctx.warnedSchemes.has(name)) {
      ctx.warnedSchemes.add(name);
      ctx.warnings.push(
        `security scheme ${name} is ${type}: the gateway does not run the OAuth flow; put an access token in ${env} (sent as a bearer token)`,
      );
    }
    return { type: 'bearer', token: ref(env) };
  }
  return undefined;
}

/** PETSTORE + api_key → PETSTORE_API_KEY; PETSTORE + petstore_auth → PETSTORE_AUTH (no stutter). */
function envName(prefix: string, scheme: string): string {
  const s = scheme
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
  return s === prefix || s.startsWith(`${prefix}_`) ? s : `${prefix}_${s}`;
}

/**
 * The base URL: OpenAPI 3 `servers[0]` (variables at their defaults), Swagger 2 scheme://host/basePath.
 * A relative one is resolved against the spec's URL; for a local file it becomes `${PREFIX_BASE_URL}` + path.
 */
function findBaseUrl(doc: Json, swagger2: boolean, spec: string, isUrl: boolean, envPrefix: string, warnings: string[]): string {
  let url: string;
  if (swagger2) {
    const schemes = (doc.schemes as string[] | undefined) ?? [];
    const scheme = schemes.includes('https') ? 'https' : (schemes[0] ?? (isUrl ? new URL(spec).protocol.replace(':', '') : 'https'));
    const basePath = typeof doc.basePath === 'string' ? doc.basePath : '';
    url = typeof doc.host === 'string' && doc.host ? `${scheme}://${doc.host}${basePath}` : basePath || '/';
  } else {
    const first = ((doc.servers as Json[] | undefined) ?? [])[0];
    url = typeof first?.url === 'string' ? first.url : '/';
    const variables = (first?.variables ?? {}) as Record<string, Json>;
    url = url.replace(/\{([^}]+)\}/g, (_m, v: string) => {
      if (variables[v]?.default !== undefined) return String(variables[v]!.default);
      const variable = `${envPrefix}_${v.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
      warnings.push(`servers[0].url variable {${v}} has no default: the URLs read it from \${${variable}}`);
      return `\${${variable}}`;
    });
  }
  if (/^https?:\/\//i.test(url)) return url.replace(/\/+$/, '');
  if (isUrl) return new URL(url, spec).href.replace(/\/+$/, '');
  const variable = `${envPrefix}_BASE_URL`;
  warnings.push(
    `the spec's server URL "${url}" is relative and the spec is a local file: the URLs start with \${${variable}} (set it to the API's origin, e.g. https://api.example.com) — or import again with --base-url`,
  );
  return `\${${variable}}${url === '/' ? '' : url.replace(/\/+$/, '')}`;
}

function serverDescription(info: Json): string {
  const title = String(info.title ?? 'API');
  const text = typeof info.description === 'string' ? firstSentence(info.description) : '';
  return `${title}${info.version ? ` (${info.version})` : ''}${text ? `: ${text}` : ''}`;
}

function firstSentence(text: string): string {
  const plain = text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  const end = plain.search(/\.(\s|$)/);
  const sentence = end > 0 ? plain.slice(0, end + 1) : plain;
  return sentence.length > 200 ? `${sentence.slice(0, 199)}…` : sentence;
}

/** findPetsByStatus → find_pets_by_status; GET /pet/{petId} → get_pet_pet_id. */
export function snakeCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function joinPrefix(prefix: string | undefined, name: string): string {
  if (!prefix) return name;
  return /[_-]$/.test(prefix) ? prefix + name : `${prefix}_${name}`;
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || DEFAULT_SERVER
  );
}

/** "Swagger Petstore - OpenAPI 3.0" → petstore: the words that name the API, without the generic ones. */
function titleSlug(title: string): string {
  const generic = new Set([
    'swagger',
    'openapi',
    'api',
    'apis',
    'rest',
    'restful',
    'the',
    'http',
    'service',
    'spec',
    'specification',
    'definition',
  ]);
  const words = title
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w && !generic.has(w) && !/^v?\d+$/.test(w));
  return words.slice(0, 2).join('-') || 'api';
}

function firstLines(text: string, n: number): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.slice(0, n).join(' | ') + (lines.length > n ? ` | … (${lines.length - n} more lines)` : '');
}
