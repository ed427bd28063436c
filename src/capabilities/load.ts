import { readdir, stat } from 'node:fs/promises';
import { getAt, lazyLocator, type Locate, parseLocated, readMappingQuickly } from '../config/yaml-text.js';
import { join, resolve } from 'node:path';
import type { ToolAnnotations } from '@modelcontextprotocol/client';
import type { z } from 'zod';
import { type ConfigProblem, formatProblem } from '../config/load.js';
import { suggest } from '../search/suggest.js';
import {
  BODYLESS_METHODS,
  type CapabilityAuth,
  type CapabilityFile,
  capabilityFileSchemaFor,
  DEFAULT_MAX_CHARS,
  DEFAULT_SERVER,
  DEFAULT_TIMEOUT_MS,
  type HttpMethod,
  propertiesOf,
} from './schema.js';
import { argumentsIn, parseTemplate, stringsIn } from './template.js';
import { readBounded } from '../config/read-bounded.js';
import { DEFAULT_MAX_FILE_BYTES, type FailsafeInput } from '../config/schema.js';

/** One tool, normalized: file-level values merged in, defaults applied. */
export interface CapabilityDefinition {
  name: string;
  title?: string;
  description: string;
  /** The JSON Schema published as the tool's inputSchema (path parameters are always required). */
  inputSchema: { type: 'object'; properties?: Record<string, unknown>; required?: string[]; [key: string]: unknown };
  method: HttpMethod;
  /** Absolute (base_url joined), still a template. */
  url: string;
  /** undefined: the arguments not used elsewhere, for GET/HEAD/DELETE/OPTIONS. */
  query?: Record<string, string | number | boolean>;
  headers: Record<string, string | number | boolean>;
  /** undefined: the arguments not used elsewhere, for POST/PUT/PATCH; false: no body. */
  body?: unknown;
  bodyFormat: 'json' | 'form';
  auth?: Exclude<CapabilityAuth, { type: 'none' }>;
  timeoutMs: number;
  response: { path?: string; fields?: string[]; maxChars: number };
  annotations: ToolAnnotations;
  /** The file's allow_private_network: may call loopback and private addresses. */
  allowPrivateNetwork: boolean;
  /** The file's failsafe keys; the rest are the gateway's defaults. Calls of one file share one CallGuard. */
  failsafes: FailsafeInput;
  /** Where it was defined (not part of the fingerprint). */
  file: string;
}

/** The tools of one server name, from every file that names it. */
export interface CapabilityGroup {
  server: string;
  description?: string;
  tools: CapabilityDefinition[];
  files: string[];
}

export interface CapabilityProblem extends ConfigProblem {
  file: string;
}

/** Limits on what the loader reads (from gateway.yaml `limits`). */
export interface CapabilityLoadOptions {
  /** A larger file is skipped with a problem (limits.max_file_bytes). Default 1 MiB. */
  maxFileBytes?: number;
}

export interface CapabilityLoad {
  groups: CapabilityGroup[];
  /** Invalid files (skipped), duplicate names. Never thrown: the caller decides. */
  problems: CapabilityProblem[];
  /** Not errors: e.g. a variable referenced by auth is not set (its calls fail until it is). */
  warnings: string[];
}

export function formatCapabilityProblem(p: CapabilityProblem): string {
  return formatProblem(p.file, p);
}

const YAML_FILE = /\.ya?ml$/i;

/**
 * Read every *.yaml / *.yml file directly in the folders (not in sub-folders, so a folder such as
 * capabilities/examples is loaded only when it is listed itself; names starting with "." are skipped,
 * so editors' temporary files are too), validate each, and group the tools by server name.
 * A missing folder has no tools. An invalid file is reported and skipped; this never throws for
 * invalid content, so a reload can decide to keep the running config.
 */
export async function loadCapabilityDirs(
  dirs: string[],
  env: NodeJS.ProcessEnv = process.env,
  options: CapabilityLoadOptions = {},
): Promise<CapabilityLoad> {
  const problems: CapabilityProblem[] = [];
  const files: string[] = [];
  // A folder listed twice (or as ./x and x) is read once.
  const unique = new Map(dirs.map((d) => [resolve(d), d]));
  for (const dir of unique.values()) files.push(...(await listYamlFiles(dir, problems)));

  const groups = new Map<string, CapabilityGroup>();
  /** Where each tool name was first defined, per server: for duplicate errors naming both places (the line only then). */
  const seen = new Map<string, { file: string; line: () => number | undefined }>();
  const descriptionFrom = new Map<string, string>();

  for (const file of files) {
    const parsed = await parseCapabilityFile(file, options.maxFileBytes);
    if ('problems' in parsed) {
      problems.push(...parsed.problems);
      continue;
    }
    const { definitions, server, serverDescription, locate } = parsed;
    const group = groups.get(server) ?? { server, tools: [], files: [] };
    const fileProblems: CapabilityProblem[] = [];

    if (serverDescription !== undefined) {
      const earlier = descriptionFrom.get(server);
      if (earlier !== undefined && group.description !== serverDescription) {
        fileProblems.push({
          file,
          path: 'server_description',
          message: `server "${server}" already has a different server_description in ${earlier}`,
          ...locate(['server_description']),
        });
      }
    }
    const namePath = (i: number) => (parsed.list ? ['tools', i, 'name'] : ['name']);
    definitions.forEach((def, i) => {
      const first = seen.get(`${server}\u0000${def.name}`);
      if (first) {
        const line = first.line();
        const at = line ? `${first.file}:${line}` : first.file;
        fileProblems.push({
          file,
          path: namePath(i).join('.'),
          message: `duplicate tool name "${def.name}" in server "${server}": also defined in ${at}`,
          ...locate(namePath(i)),
        });
      }
    });
    if (fileProblems.length > 0) {
      problems.push(...fileProblems);
      continue;
    }
    definitions.forEach((def, i) => {
      seen.set(`${server}\u0000${def.name}`, { file, line: () => locate(namePath(i)).line });
    });
    if (serverDescription !== undefined && !descriptionFrom.has(server)) {
      descriptionFrom.set(server, file);
      group.description = serverDescription;
    }
    group.tools.push(...definitions);
    group.files.push(file);
    groups.set(server, group);
  }

  const warnings: string[] = [];
  for (const group of groups.values()) {
    for (const tool of group.tools) {
      const missing = requiredEnv(tool).filter((name) => env[name] === undefined || env[name] === '');
      if (missing.length > 0) {
        warnings.push(
          `${tool.file}: ${group.server}/${tool.name} needs ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not set; its calls fail until ${missing.length > 1 ? 'they are' : 'it is'}`,
        );
      }
    }
  }
  return { groups: [...groups.values()].sort((a, b) => a.server.localeCompare(b.server)), problems, warnings };
}

/** The variables a tool reads without a default: auth, URL, query, headers, body. */
export function requiredEnv(tool: CapabilityDefinition): string[] {
  const templates = [tool.url, ...Object.values(tool.query ?? {}), ...Object.values(tool.headers), ...stringsIn(tool.body)].filter(
    (t): t is string => typeof t === 'string',
  );
  if (tool.auth) templates.push(...Object.values(tool.auth).filter((v): v is string => typeof v === 'string'));
  const names = templates.flatMap((t) => parseTemplate(t).flatMap((s) => (s.kind === 'env' && s.fallback === undefined ? [s.name] : [])));
  return [...new Set(names)];
}

async function listYamlFiles(dir: string, problems: CapabilityProblem[]): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []; // no folder, no tools
    problems.push({ file: dir, path: '', message: `cannot read the folder: ${(error as NodeJS.ErrnoException).code ?? error}` });
    return [];
  }
  if (!info.isDirectory()) {
    problems.push({ file: dir, path: '', message: 'a capability folder must be a directory' });
    return [];
  }
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && YAML_FILE.test(e.name) && !e.name.startsWith('.'))
    .map((e) => join(dir, e.name))
    .sort();
}

export type ParsedCapabilityFile =
  | { problems: CapabilityProblem[] }
  | { server: string; serverDescription?: string; definitions: CapabilityDefinition[]; list: boolean; locate: Locate };

/** Read and validate one file. Problems carry the file, the YAML path and line:col. A file over maxFileBytes is not read. */
export async function parseCapabilityFile(file: string, maxFileBytes = DEFAULT_MAX_FILE_BYTES): Promise<ParsedCapabilityFile> {
  let text: string;
  try {
    // Only regular files (a symlink is followed): a device or a pipe is no capability, and reading one
    // could take forever. And no further than the limit: a file can grow while it is read.
    const bytes = await readBounded(file, maxFileBytes, { regularOnly: true });
    if (bytes === 'not a regular file')
      return { problems: [{ file, path: '', message: 'not a regular file (a device, a pipe, …); it was skipped' }] };
    if (bytes === 'too large') {
      return {
        problems: [{ file, path: '', message: `the file is over limits.max_file_bytes (${maxFileBytes} bytes); it was skipped` }],
      };
    }
    text = bytes.toString('utf8');
  } catch (error) {
    return { problems: [{ file, path: '', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? error}` }] };
  }
  return parseCapabilityText(text, file);
}

export function parseCapabilityText(text: string, file: string): ParsedCapabilityFile {
  // Valid text is read with js-yaml and located only if asked; anything else goes the located way.
  const quick = readMappingQuickly(text);
  if (quick !== undefined) {
    const result = capabilityFileSchemaFor(quick).safeParse(quick);
    if (result.success) return capabilityFile(result.data as CapabilityFile, file, lazyLocator(text));
  }
  const located = parseLocated(text);
  // The first errors only: the rest usually follow from them.
  if ('problems' in located) return { problems: located.problems.slice(0, 3).map((p) => ({ file, path: '', ...p })) };
  if (located.shape !== 'mapping') {
    return {
      problems: [
        { file, path: '', message: located.shape === 'empty' ? 'the file is empty' : 'a capability file is a mapping (key: value)' },
      ],
    };
  }
  const raw = located.value;
  const result = capabilityFileSchemaFor(raw).safeParse(raw);
  if (!result.success) return { problems: result.error.issues.flatMap((issue) => describeIssue(issue, raw, file, located.locate)) };
  return capabilityFile(result.data as CapabilityFile, file, located.locate);
}

function capabilityFile(parsed: CapabilityFile, file: string, locate: Locate): ParsedCapabilityFile {
  const server = parsed.server ?? DEFAULT_SERVER;
  const tools = 'tools' in parsed ? parsed.tools : [parsed];
  return {
    server,
    serverDescription: parsed.server_description,
    definitions: tools.map((tool) => normalize(tool, parsed, file)),
    list: 'tools' in parsed,
    locate,
  };
}

type ToolEntry = Extract<CapabilityFile, { tools: unknown }>['tools'][number];

function normalize(tool: ToolEntry, file: CapabilityFile, path: string): CapabilityDefinition {
  const { request } = tool;
  const url = /^\//.test(request.url) && file.base_url !== undefined ? file.base_url.replace(/\/+$/, '') + request.url : request.url;
  const auth = tool.auth ?? file.auth;
  const { title: annotationTitle, ...hints } = tool.annotations ?? {};
  const title = tool.title ?? annotationTitle;
  return {
    name: tool.name,
    ...(title !== undefined ? { title } : {}),
    description: tool.description,
    inputSchema: publishedInputSchema(tool.input, url, request),
    method: request.method,
    url,
    ...(request.query !== undefined ? { query: request.query } : {}),
    headers: { ...file.headers, ...request.headers },
    ...(request.body !== undefined ? { body: request.body } : {}),
    bodyFormat: request.body_format,
    ...(auth && auth.type !== 'none' ? { auth } : {}),
    timeoutMs: tool.timeout_ms ?? file.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    response: {
      ...(tool.response?.path !== undefined ? { path: tool.response.path } : {}),
      ...(tool.response?.fields !== undefined ? { fields: tool.response.fields } : {}),
      maxChars: tool.response?.max_chars ?? DEFAULT_MAX_CHARS,
    },
    annotations: { ...(title !== undefined ? { title } : {}), ...annotationsFor(request.method), ...hints },
    allowPrivateNetwork: file.allow_private_network === true,
    failsafes: {
      max_concurrent: file.max_concurrent,
      max_queue: file.max_queue,
      rate_limit: file.rate_limit,
      circuit_breaker: file.circuit_breaker,
    },
    file: path,
  };
}

/** Hints from the HTTP method; a file's `annotations` override them. Every REST API is an open world. */
export function annotationsFor(method: HttpMethod): ToolAnnotations {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
      return { readOnlyHint: true, openWorldHint: true };
    case 'POST':
      return { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };
    case 'PUT':
      return { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true };
    case 'PATCH':
      return { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };
    case 'DELETE':
      return { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true };
  }
}

/**
 * The input schema as written, with `type: object`, and every URL placeholder without a `default`
 * required (a request cannot be made without it). Without `input`, one string argument per
 * placeholder used anywhere.
 */
function publishedInputSchema(
  input: Record<string, unknown> | undefined,
  url: string,
  request: { query?: Record<string, unknown>; headers?: Record<string, unknown>; body?: unknown },
): CapabilityDefinition['inputSchema'] {
  const inUrl = argumentsIn(url);
  if (input === undefined) {
    const used = [url, ...stringsIn(request.query), ...stringsIn(request.headers), ...stringsIn(request.body)].flatMap(argumentsIn);
    const properties = Object.fromEntries([...new Set(used)].map((name) => [name, { type: 'string' }]));
    return { type: 'object', properties, ...(inUrl.length > 0 ? { required: [...new Set(inUrl)] } : {}) };
  }
  const required = Array.isArray(input.required) ? (input.required as string[]) : [];
  const properties = propertiesOf(input);
  const hasDefault = (name: string) => {
    const prop = properties?.[name];
    return prop !== null && typeof prop === 'object' && 'default' in prop;
  };
  const allRequired = [...new Set([...required, ...inUrl.filter((name) => !hasDefault(name))])];
  return {
    ...input,
    type: 'object',
    ...(properties === undefined && input.properties === undefined ? { properties: {} } : {}),
    ...(allRequired.length > 0 ? { required: allRequired } : {}),
  };
}

/** The argument names a request uses explicitly (URL, headers, and query/body when they are given). */
export function usedArguments(def: CapabilityDefinition): Set<string> {
  const templates = [def.url, ...stringsIn(def.headers), ...stringsIn(def.query), ...(def.body === undefined ? [] : stringsIn(def.body))];
  return new Set(templates.flatMap(argumentsIn));
}

/** Where leftover arguments go: the query string of a body-less request, else the body. */
export function leftoverTarget(def: CapabilityDefinition): 'query' | 'body' | 'none' {
  if (BODYLESS_METHODS.includes(def.method)) return def.query === undefined ? 'query' : 'none';
  return def.body === undefined ? 'body' : 'none';
}

// ---------------------------------------------------------------------------------------------
// Problems: zod issues → file:line:col: path: message

const TOOL_KEYS = ['name', 'title', 'description', 'input', 'request', 'auth', 'timeout_ms', 'response', 'annotations'];
const FILE_KEYS = [
  'server',
  'server_description',
  'base_url',
  'headers',
  'auth',
  'timeout_ms',
  'allow_private_network',
  'max_concurrent',
  'max_queue',
  'rate_limit',
  'circuit_breaker',
];
const KNOWN_KEYS: Record<string, string[]> = {
  request: ['method', 'url', 'query', 'headers', 'body', 'body_format'],
  response: ['path', 'fields', 'max_chars'],
  annotations: ['title', 'readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'],
  auth: ['type', 'token', 'in', 'name', 'value', 'prefix', 'username', 'password'],
  rate_limit: ['calls', 'per_ms'],
  circuit_breaker: ['failures', 'reset_ms'],
};

function knownKeysAt(path: (string | number)[], raw: unknown): string[] {
  const isList = raw !== null && typeof raw === 'object' && 'tools' in raw;
  if (path.length === 0) return isList ? [...FILE_KEYS, 'tools'] : [...FILE_KEYS, ...TOOL_KEYS];
  if (path.length === 2 && path[0] === 'tools') return TOOL_KEYS;
  return KNOWN_KEYS[String(path.at(-1))] ?? [];
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, file: string, locate: Locate): CapabilityProblem[] {
  const path = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path, raw);
    return issue.keys.map((key) => {
      const hint = suggest(key, known, 1)[0];
      return {
        file,
        path: [...path, key].join('.'),
        message: `unknown key${hint ? ` (did you mean \`${hint}\`?)` : ''}`,
        ...locate([...path, key], true),
      };
    });
  }
  let message = issue.message;
  if (issue.code === 'invalid_type' && getAt(raw, path) === undefined) message = 'required';
  return [{ file, path: path.join('.'), message, ...locate(path) }];
}
