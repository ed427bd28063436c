#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import { createLogger, LOG_LEVELS, type LogLevel } from './log.js';
import { startGateway } from './server.js';

const USAGE = `Usage:
  mcp-gateway [--config FILE] [--host H] [--port N] [--log-level LEVEL]   serve
  mcp-gateway validate [--config FILE]                                    check a config; exit 0 or 2
  mcp-gateway cap import SPEC --output DIR [--prefix P] [--include TAG|OPERATION_ID]... [--server NAME] [--base-url URL] [--force]
                                                                          OpenAPI 3.x / Swagger 2 → capability files
  mcp-gateway cap validate [DIR]...                                       check capability files; exit 0 or 2

Without --config: $MCP_GATEWAY_CONFIG, ./gateway.yaml, ~/.config/mcp-gateway/gateway.yaml, /etc/mcp-gateway/gateway.yaml.
Log levels: ${LOG_LEVELS.join(', ')}. Logs go to stderr.`;

/** Exit codes: 0 ok, 1 runtime failure (e.g. port in use), 2 usage or config error. */
async function main(argv: string[]): Promise<number> {
  // Loaded on demand: the OpenAPI parser behind `cap` costs ~0.1 s of start-up that `serve` does not need.
  if (argv[0] === 'cap') return (await import('./capabilities/cli.js')).runCapCommand(argv.slice(1));
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`mcp-gateway: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'serve';
  if (!['serve', 'validate'].includes(command) || positionals.length > 1) {
    process.stderr.write(`mcp-gateway: unknown command "${positionals.join(' ')}"\n\n${USAGE}\n`);
    return 2;
  }
  const level = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    process.stderr.write(`mcp-gateway: --log-level must be one of ${LOG_LEVELS.join(', ')}\n`);
    return 2;
  }

  const file = values.config ?? discoverConfig();
  if (!file) {
    process.stderr.write(`mcp-gateway: no config file found (looked in ${configCandidates().join(', ')}); pass --config FILE\n`);
    return 2;
  }
  let config: GatewayConfig;
  try {
    config = await loadConfigFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n${error.problems.length} problem(s) in ${file}\n`);
    return 2;
  }
  if (command === 'validate') {
    process.stdout.write(`${file}: ok (${Object.keys(config.backends).length} backends)\n`);
    return 0;
  }

  if (values.host) config.server.host = values.host;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      process.stderr.write('mcp-gateway: --port must be an integer from 0 to 65535\n');
      return 2;
    }
    config.server.port = port;
  }
  return serveUntilSignal(config, file, createLogger(level as LogLevel));
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function serveUntilSignal(config: GatewayConfig, file: string, logger: ReturnType<typeof createLogger>): Promise<number> {
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, { logger, configFile: file });
  } catch (error) {
    logger.fatal({ err: (error as Error).message, host: config.server.host, port: config.server.port }, 'cannot listen');
    return 1;
  }
  logger.info({ config: file, backends: gateway.pool.names() }, `mcp-gateway serving ${gateway.url}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await gateway.close();
  return 0;
}

function configCandidates(): string[] {
  return [
    process.env.MCP_GATEWAY_CONFIG,
    'gateway.yaml',
    join(homedir(), '.config', 'mcp-gateway', 'gateway.yaml'),
    '/etc/mcp-gateway/gateway.yaml',
  ].filter((f): f is string => Boolean(f));
}

function discoverConfig(): string | undefined {
  const fromEnv = process.env.MCP_GATEWAY_CONFIG;
  if (fromEnv) return fromEnv; // named explicitly: use it, and let a missing file be an error
  return configCandidates().find((f) => existsSync(f));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`mcp-gateway: ${error instanceof Error ? error.stack : error}\n`);
    process.exit(1);
  },
);
