import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, formatProblem, type LoadedConfig, loadConfig } from '../config/load.js';
import { registerConfigSecrets } from '../config/secrets.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from '../log.js';

export function configCandidates(): string[] {
  return [
    process.env.MCP_GATEWAY_CONFIG,
    'gateway.yaml',
    join(homedir(), '.config', 'mcp-gateway', 'gateway.yaml'),
    '/etc/mcp-gateway/gateway.yaml',
  ].filter((f): f is string => Boolean(f));
}

export function discoverConfig(): string | undefined {
  const fromEnv = process.env.MCP_GATEWAY_CONFIG;
  if (fromEnv) return fromEnv; // named explicitly: use it, and let a missing file be an error
  return configCandidates().find((f) => existsSync(f));
}

/** The config named by --config or discovered; on any problem it is printed and the exit code returned. */
export async function loadForCli(
  flag: string | undefined,
  env?: NodeJS.ProcessEnv,
): Promise<{ file: string; loaded: LoadedConfig } | number> {
  const file = flag ?? discoverConfig();
  if (!file) {
    process.stderr.write(`mcp-gateway: no config file found (looked in ${configCandidates().join(', ')}); pass --config FILE\n`);
    return 2;
  }
  try {
    return { file, loaded: await loadConfig(file, { env }) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n${error.problems.length} problem(s) in ${file}\n`);
    return 2;
  }
}

/** The environment with every unset variable standing in as a placeholder: for reading a config's shape only. */
export function placeholderEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return new Proxy(env, { get: (target, name) => (typeof name === 'string' && target[name] ? target[name] : 'placeholder-value-0000') });
}

/** For the commands that serve: --log-level checked, then the config loaded (problems printed, exit code returned). */
export async function loadForServing(flags: {
  config?: string;
  'log-level'?: string;
}): Promise<{ file: string; loaded: LoadedConfig; level: LogLevel } | number> {
  const level = flags['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    process.stderr.write(`mcp-gateway: --log-level must be one of ${LOG_LEVELS.join(', ')}\n`);
    return 2;
  }
  const found = await loadForCli(flags.config);
  return typeof found === 'number' ? found : { ...found, level: level as LogLevel };
}

/**
 * The values the config took from the environment are redacted from every log line and answer from here
 * on; then the logger (stderr), with the config's warnings logged.
 */
export function startLogging(file: string, loaded: LoadedConfig, level: LogLevel): Logger {
  registerConfigSecrets(loaded.secrets);
  const logger = createLogger(level);
  for (const warning of loaded.warnings) logger.warn(formatProblem(file, warning));
  return logger;
}
