import { readFile } from 'node:fs/promises';
import { getAt, type Locate, parseLocated, readMappingQuickly } from './yaml-text.js';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { suggest } from '../search/suggest.js';
import { ConfigSchema, type GatewayConfig, KNOWN_KEYS } from './schema.js';
import { expandEnv } from './env.js';

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
  /** Shown in messages; also the base for relative `cwd` values. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Parse and validate config text. Throws ConfigError listing every problem. Valid text is read with
 * js-yaml; text with any problem is parsed again with `yaml`, to give every problem its line:col
 * (see yaml-text.ts).
 */
export function parseConfig(text: string, options: ParseOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  const quick = readMappingQuickly(text);
  if (quick !== undefined) {
    const checked = validate(quick, env, () => ({}));
    if ('config' in checked) return resolvePaths(checked.config, options.file);
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
  return resolvePaths(checked.config, file);
}

function validate(raw: unknown, env: NodeJS.ProcessEnv, locate: Locate): { config: GatewayConfig } | { problems: ConfigProblem[] } {
  const expanded = expandEnv(raw, env);
  const problems: ConfigProblem[] = expanded.problems.map((p) => ({ ...p, path: p.path.join('.'), ...locate(p.path) }));
  const result = ConfigSchema.safeParse(expanded.value);
  if (!result.success) problems.push(...result.error.issues.flatMap((issue) => describeIssue(issue, expanded.value, locate)));
  return problems.length > 0 || !result.success ? { problems } : { config: result.data };
}

/** Relative paths in a config file mean "relative to that file", wherever the gateway is started from. */
function resolvePaths(config: GatewayConfig, file: string | undefined): GatewayConfig {
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  config.capability_dirs = config.capability_dirs.map((dir) => resolve(baseDir, dir));
  for (const backend of Object.values(config.backends)) {
    if (backend.kind === 'stdio') backend.cwd = resolve(baseDir, backend.cwd ?? '.');
  }
  return config;
}

export async function loadConfigFile(file: string, env?: NodeJS.ProcessEnv): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ path: '', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? error}` }]);
  }
  return parseConfig(text, { file, env });
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown, locate: Locate): ConfigProblem[] {
  const path = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path);
    return issue.keys.map((key) => {
      const hint = suggest(key, known, 1)[0];
      return {
        path: [...path, key].join('.'),
        message: `unknown key${hint ? ` (did you mean \`${hint}\`?)` : ''}`,
        ...locate([...path, key], true),
      };
    });
  }
  let message = issue.message;
  if (issue.code === 'invalid_type' && getAt(value, path) === undefined) message = 'required';
  return [{ path: path.join('.'), message, ...locate(path) }];
}

/** The keys the schema accepts at a path, for "did you mean" on unknown keys. */
function knownKeysAt(path: (string | number)[]): string[] {
  if (path.length === 0) return KNOWN_KEYS.topLevel;
  if (path[0] === 'backends' && path.length === 2) return KNOWN_KEYS.backend;
  const last = path.at(-1);
  if (last === 'server' || last === 'meta_mcp' || last === 'defaults' || last === 'rate_limit' || last === 'circuit_breaker')
    return KNOWN_KEYS[last];
  return [];
}
