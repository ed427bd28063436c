import { readBounded } from './read-bounded.js';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { suggest } from '../search/suggest.js';
import { type EnvSecret, expandEnv } from './env.js';
import { resolveStdioPaths } from './paths.js';
import { ConfigSchema, type GatewayConfig, KNOWN_KEYS, DEFAULT_MAX_FILE_BYTES } from './schema.js';
import { misplacedHint, vocabularyHint, whereIs } from './vocabulary.js';
import { getAt, type Locate, lazyLocator, parseLocated, readMappingQuickly } from './yaml-text.js';

/** One problem in a config file, located by its YAML path (and line:col when known). */
export interface ConfigProblem {
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.line ? `${file}:${p.line}:${p.col}` : file;
  return `${where}: ${p.path || '(top level)'}: ${p.message}`;
}

export interface ParseOptions {
  /** Shown in messages; also the base for relative paths (see paths.ts). */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** A valid config, the values it took from the environment (to register for redaction) and its warnings. */
export interface LoadedConfig {
  config: GatewayConfig;
  /** Every value a `${VAR}` reference took from the environment; defaults written in the file are not here. */
  secrets: EnvSecret[];
  /** Not errors: e.g. a variable that is set but empty. */
  warnings: ConfigProblem[];
}

/**
 * Parse and validate config text; no process-wide effects. Throws ConfigError listing every problem.
 * Valid text is read with js-yaml; text with any problem is parsed again with `yaml`, to give every
 * problem its line:col (see yaml-text.ts).
 */
export function readConfig(text: string, options: ParseOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const quick = readMappingQuickly(text);
  if (quick !== undefined) {
    const checked = validate(quick, env, lazyLocator(text));
    if ('config' in checked) return { ...checked, config: resolvePaths(checked.config, options.file) };
  }
  const file = options.file ?? 'gateway.yaml';
  const located = parseLocated(text);
  if ('problems' in located)
    throw new ConfigError(
      file,
      located.problems.map((p) => ({ path: '', ...p })),
    );
  if (located.shape === 'other') throw new ConfigError(file, [{ path: '', message: 'the config must be a mapping (key: value)' }]);
  const checked = validate(located.value ?? {}, env, located.locate);
  if ('problems' in checked) throw new ConfigError(file, checked.problems);
  return { ...checked, config: resolvePaths(checked.config, file) };
}

/** The config alone (tests, tools that do not serve). */
export function parseConfig(text: string, options: ParseOptions = {}): GatewayConfig {
  return readConfig(text, options).config;
}

function validate(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  locate: Locate,
): { config: GatewayConfig; secrets: EnvSecret[]; warnings: ConfigProblem[] } | { problems: ConfigProblem[] } {
  const expanded = expandEnv(raw, env);
  const place = (p: { path: (string | number)[]; message: string }) => ({ ...p, path: p.path.join('.'), ...locate(p.path) });
  const problems: ConfigProblem[] = expanded.problems.map(place);
  const result = ConfigSchema.safeParse(expanded.value);
  if (!result.success) problems.push(...result.error.issues.flatMap((issue) => describeIssue(issue, expanded.value, locate)));
  if (problems.length > 0 || !result.success) return { problems };
  return { config: result.data, secrets: expanded.secrets, warnings: expanded.warnings.map(place) };
}

/** Relative paths in a config file mean "relative to that file", wherever the gateway is started from. */
function resolvePaths(config: GatewayConfig, file: string | undefined): GatewayConfig {
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  config.capability_dirs = config.capability_dirs.map((dir) => resolve(baseDir, dir));
  for (const backend of Object.values(config.backends)) if (backend.kind === 'stdio') resolveStdioPaths(backend, baseDir);
  return config;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Refuse a larger file before parsing it (default: DEFAULT_MAX_FILE_BYTES). */
  maxBytes?: number;
}

/**
 * Read and parse a config file. A file over `maxBytes` is refused before parsing (it is read no further,
 * so a device or a pipe cannot make the gateway read forever); a file over its own, lower
 * `limits.max_file_bytes` is refused after.
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  let bytes: Buffer | 'too large';
  try {
    bytes = await readBounded(file, maxBytes);
  } catch (error) {
    throw new ConfigError(file, [{ path: '', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? error}` }]);
  }
  if (bytes === 'too large')
    throw new ConfigError(file, [
      { path: '', message: `the file is larger than ${maxBytes} bytes (limits.max_file_bytes); it was not parsed` },
    ]);
  const loaded = readConfig(bytes.toString('utf8'), { file, env: options.env });
  const ownLimit = loaded.config.limits.max_file_bytes;
  if (bytes.length > ownLimit)
    throw new ConfigError(file, [
      { path: 'limits.max_file_bytes', message: `the file (${bytes.length} bytes) is larger than its own limit, ${ownLimit}` },
    ]);
  return loaded;
}

/** The config alone; see loadConfig. */
export async function loadConfigFile(file: string, env?: NodeJS.ProcessEnv): Promise<GatewayConfig> {
  return (await loadConfig(file, { env })).config;
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown, locate: Locate): ConfigProblem[] {
  const path = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path);
    const where = whereIs(path);
    return issue.keys.map((key) => {
      const other = where && vocabularyHint(where, key, getAt(value, [...path, key]));
      const near = suggest(key, known, 1)[0];
      const hint = other ? ` (${other})` : near ? ` (did you mean \`${near}\`?)` : '';
      return { path: [...path, key].join('.'), message: `unknown key${hint}`, ...locate([...path, key], true) };
    });
  }
  let message = issue.message;
  if (issue.code === 'invalid_type' && getAt(value, path) === undefined) message = 'required';
  if (issue.code === 'custom' && message.includes('only applies to')) message += misplacedHint(String(path.at(-1)));
  return [{ path: path.join('.'), message, ...locate(path) }];
}

/** The keys the schema accepts at a path, for "did you mean" on unknown keys. */
function knownKeysAt(path: (string | number)[]): string[] {
  if (path.length === 0) return KNOWN_KEYS.topLevel;
  if (path[0] === 'backends' && path.length === 2) return KNOWN_KEYS.backend;
  if (path[0] === 'auth' && path[1] === 'keys' && path.length === 3) return KNOWN_KEYS.keys;
  if (path[0] === 'endpoints' && path.length === 2) return KNOWN_KEYS.endpoint;
  // A section's keys are listed under its own name (server, limits, oauth, cluster, ...).
  const last = path.at(-1);
  if (typeof last === 'string' && last !== 'topLevel' && last !== 'backend' && Object.hasOwn(KNOWN_KEYS, last))
    return KNOWN_KEYS[last as keyof typeof KNOWN_KEYS];
  return [];
}
