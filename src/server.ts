import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { BackendPool } from './backends/pool.js';
import type { ToolSource } from './sources/source.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import { watchPaths } from './config/watch.js';
import { createHttpApp } from './http/app.js';
import { type Logger, silentLogger } from './log.js';
import { metaToolDefinitions } from './meta/definitions.js';
import { metaServerFactory } from './meta/server.js';
import { LOCAL_USER } from './access/principal.js';
import { AuditLog } from './observe/audit.js';
import { ToolIndex } from './search/rank.js';
import { loadCapabilitySources } from './capabilities/sources.js';

export interface RunningGateway {
  /** The MCP endpoint, e.g. http://127.0.0.1:39400/mcp */
  url: string;
  port: number;
  pool: BackendPool;
  /** Re-read the config file and capability folders and apply them; the running config stays on any problem. */
  reload(): Promise<ReloadResult>;
  /** Stop accepting, let in-flight calls finish (up to server.shutdown_timeout_ms), stop every backend. */
  close(): Promise<void>;
}

export type ReloadResult = { ok: true; added: string[]; removed: string[]; changed: string[] } | { ok: false; problems: string[] };

export interface GatewayOptions {
  logger?: Logger;
  /** The file the config came from: enables reload (POST /admin/reload, and watching if server.watch). */
  configFile?: string;
}

/** Wiring, top-down: config → pool → search index → meta-tools → HTTP. Nothing is started but the listener. */
export async function startGateway(initial: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? silentLogger();
  let config = initial;

  const index = new ToolIndex();
  const reindex = (source: ToolSource) => {
    const tools = source.cachedTools ?? [];
    index.replaceServer(
      source.name,
      tools.map((t) => ({
        server: source.name,
        serverDescription: source.description,
        name: t.name,
        title: t.title ?? t.annotations?.title,
        description: t.description,
        inputSchema: t.inputSchema as Record<string, unknown>,
      })),
    );
  };
  const pool = new BackendPool({ logger, onToolsChanged: reindex, onRemoved: (name) => index.removeServer(name) });
  const capabilities = await loadCapabilities(config, logger);
  for (const problem of capabilities.problems) logger.warn({ problem }, 'capability file skipped');
  pool.apply(config.backends, capabilities.sources);

  let definitions = metaToolDefinitions(config.meta_mcp.tool_prefix, pool.names());
  const audit = new AuditLog(logger);
  const newMetaServer = metaServerFactory({ pool, index, limits: () => config.limits, audit }, () => definitions);
  const http = createHttpApp({
    server: config.server,
    newMcpServer: () => newMetaServer(() => LOCAL_USER),
    health: () => ({
      status: pool.degraded() ? 'degraded' : 'ok',
      backends: Object.fromEntries(pool.all().map((b) => [b.name, b.status().state])),
      circuits: Object.fromEntries(pool.all().map((b) => [b.name, b.status().circuit])),
    }),
    reload: options.configFile ? () => reload() : undefined,
    logger,
  });

  /** Validate everything first; then swap atomically. An invalid edit changes nothing. */
  async function reload(): Promise<ReloadResult> {
    let next: GatewayConfig;
    try {
      next = await loadConfigFile(options.configFile!);
    } catch (error) {
      const problems = error instanceof ConfigError ? error.message.split('\n') : [String(error)];
      logger.error({ problems }, 'config reload rejected; the running config is kept');
      return { ok: false, problems };
    }
    const loaded = await loadCapabilities(next, logger);
    if (loaded.problems.length > 0) {
      logger.error({ problems: loaded.problems }, 'capability reload rejected; the running config is kept');
      return { ok: false, problems: loaded.problems };
    }
    if (next.server.host !== config.server.host || next.server.port !== config.server.port) {
      logger.warn('server.host and server.port take effect on restart');
    }
    config = next;
    const changes = pool.apply(next.backends, loaded.sources);
    const nextDefinitions = metaToolDefinitions(next.meta_mcp.tool_prefix, pool.names());
    if (JSON.stringify(nextDefinitions) !== JSON.stringify(definitions)) {
      definitions = nextDefinitions;
      await http.notifyToolsChanged();
    }
    logger.info(changes, 'config reloaded');
    return { ok: true, ...changes };
  }

  const listener = await listen(http.app.fetch, config.server.host, config.server.port);
  // Watching starts once the gateway serves, so start-up does not wait for the file watcher.
  const watcher =
    options.configFile && initial.server.watch
      ? watchPaths(
          [options.configFile, ...initial.capability_dirs],
          () => void reload().catch((error) => logger.error({ err: String(error) }, 'reload failed')),
        )
      : undefined;
  const port = (listener.address() as AddressInfo).port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;

  return {
    url: `http://${host}:${port}/mcp`,
    port,
    pool,
    reload,
    close: async () => {
      await watcher?.close();
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      await pool.drain(config.server.shutdown_timeout_ms);
      listener.closeAllConnections?.();
      await http.close();
      await pool.close();
      await closed;
    },
  };
}

/** Capability groups, with a clash against a gateway.yaml backend name reported as a problem. */
async function loadCapabilities(config: GatewayConfig, logger?: Logger) {
  const loaded = await loadCapabilitySources(config.capability_dirs);
  for (const warning of loaded.warnings) logger?.warn({ warning }, 'capability');
  const clashes = loaded.sources.filter((source) => source.name in config.backends);
  return {
    sources: loaded.sources.filter((source) => !clashes.includes(source)),
    problems: [
      ...loaded.problems,
      ...clashes.map((source) => `capability server "${source.name}" has the name of a backend in the config; rename one of them`),
    ],
  };
}

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  hostname: string,
  port: number,
): Promise<ServerType & { closeAllConnections?: () => void }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}
