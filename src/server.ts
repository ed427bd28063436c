import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { type Authenticator, createAuthenticator } from './access/authenticate.js';
import { BackendPool } from './backends/pool.js';
import { createInvokeLimiter } from './cluster/invoke-limiter.js';
import { loadCapabilitySources } from './capabilities/sources.js';
import { checkExposure } from './config/exposure.js';
import { ConfigError, loadConfig } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import { registerConfigSecrets } from './config/secrets.js';
import { watchPaths } from './config/watch.js';
import { createHttpApp } from './http/app.js';
import { type Logger, silentLogger } from './log.js';
import { metaToolDefinitions } from './meta/definitions.js';
import { metaServerFactory } from './meta/server.js';
import { AuditLog } from './observe/audit.js';
import { EventBus } from './observe/events.js';
import { createMetrics } from './observe/metrics.js';
import { UsageCounters } from './observe/usage.js';
import { registerOperations } from './admin/routes.js';
import { registerDashboard } from './ui/routes.js';
import { ToolIndex } from './search/rank.js';
import { createSemanticTier, SEMANTIC_FUSION } from './search/semantic/setup.js';
import { toolDoc } from './search/tool-doc.js';
import type { ToolSource } from './sources/source.js';

export interface RunningGateway {
  /** The MCP endpoint, e.g. http://127.0.0.1:39400/mcp */
  url: string;
  port: number;
  pool: BackendPool;
  /** The recent invoke records (newest first), as /admin/calls will show them. */
  audit: AuditLog;
  /** What the gateway reports as it works (invoke, search, reload): observers subscribe here. */
  events: EventBus;
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

/**
 * Wiring, top-down: config → pool → search index → meta-tools → access → HTTP. Nothing is started but
 * the listener. Throws when the config must not be served (a non-loopback bind without auth).
 */
export async function startGateway(initial: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? silentLogger();
  const exposed = checkExposure(initial);
  if (exposed) throw new Error(exposed);
  let config = initial;

  const index = new ToolIndex();
  // search.semantic: tool vectors are embedded in the background; applies at start (a reload warns).
  const semantic = createSemanticTier(config.search, logger);
  index.setSemantic(semantic, SEMANTIC_FUSION);
  const reindex = (source: ToolSource) =>
    index.replaceServer(
      source.name,
      (source.cachedTools ?? []).map((tool) => toolDoc(source, tool)),
    );
  const pool = new BackendPool({ logger, onToolsChanged: reindex, onRemoved: (name) => index.removeServer(name) });
  const capabilities = await loadCapabilities(config, logger);
  for (const problem of capabilities.problems) logger.warn({ problem }, 'capability file skipped');
  pool.apply(config.backends, capabilities.sources);

  let definitions = metaToolDefinitions(config.meta_mcp.tool_prefix, pool.names());
  const events = new EventBus();
  const audit = new AuditLog(logger, events);
  // Kept across reloads: its windows are keyed by principal name, and each check reads the current limit.
  const invokeLimiter = createInvokeLimiter(() => config.cluster?.shared_rate_limits, logger);
  const newMetaServer = metaServerFactory({ pool, index, limits: () => config.limits, events, invokeLimiter }, () => definitions);
  let boundPort = 0;
  let authenticator: Authenticator | undefined;
  const currentAuthenticator = () => {
    authenticator ??= createAuthenticator(config.auth, { resourceMetadataUrl: resourceMetadataUrl(config, boundPort), logger });
    return authenticator;
  };
  const http = createHttpApp({
    config: () => config,
    port: () => boundPort,
    authenticator: currentAuthenticator,
    newMcpServer: newMetaServer,
    health: () => ({
      status: pool.degraded() ? 'degraded' : 'ok',
      backends: Object.fromEntries(pool.all().map((b) => [b.name, b.status().state])),
      circuits: Object.fromEntries(pool.all().map((b) => [b.name, b.status().circuit])),
      sessions: http.sessionCount(),
    }),
    reload: options.configFile ? () => reload() : undefined,
    logger,
  });

  // Seeing and steering: usage counters, /metrics, the admin API beyond reload, and the dashboard at /ui.
  const usage = new UsageCounters(pool, events);
  const metrics = createMetrics({ events, pool, usage, sessions: () => http.sessionCount() });
  registerOperations(http.app, { pool, config: () => config, audit, usage, metrics, events, authenticator: currentAuthenticator, logger });
  registerDashboard(http.app);

  // Readiness for a load balancer: 200 once the config is loaded and the gateway listens, 503 from the
  // start of shutdown, so the balancer stops sending before connections close. /health stays "alive".
  let closing = false;
  http.app.get('/ready', (c) => (closing ? c.json({ ready: false, reason: 'shutting down' }, 503) : c.json({ ready: true })));

  /** Validate everything first; then swap atomically. An invalid edit changes nothing. */
  async function reload(): Promise<ReloadResult> {
    const result = await applyReload();
    events.emit('reload', { ok: result.ok });
    return result;
  }

  async function applyReload(): Promise<ReloadResult> {
    let next: Awaited<ReturnType<typeof loadConfig>>;
    try {
      next = await loadConfig(options.configFile!);
    } catch (error) {
      const problems = error instanceof ConfigError ? error.message.split('\n') : [String(error)];
      logger.error({ problems }, 'config reload rejected; the running config is kept');
      return { ok: false, problems };
    }
    // Bind settings apply on restart, so exposure is judged with the running host.
    const exposed = checkExposure({ ...next.config, server: { ...next.config.server, host: config.server.host } });
    if (exposed) {
      logger.error({ problems: [exposed] }, 'config reload rejected; the running config is kept');
      return { ok: false, problems: [exposed] };
    }
    const loaded = await loadCapabilities(next.config, logger);
    if (loaded.problems.length > 0) {
      logger.error({ problems: loaded.problems }, 'capability reload rejected; the running config is kept');
      return { ok: false, problems: loaded.problems };
    }
    if (next.config.server.host !== config.server.host || next.config.server.port !== config.server.port) {
      logger.warn('server.host and server.port take effect on restart');
    }
    if (JSON.stringify(next.config.search) !== JSON.stringify(config.search)) logger.warn('search takes effect on restart');
    registerConfigSecrets(next.secrets);
    config = next.config;
    authenticator = undefined; // rebuilt from the new `auth` on the next request
    const changes = pool.apply(config.backends, loaded.sources);
    const nextDefinitions = metaToolDefinitions(config.meta_mcp.tool_prefix, pool.names());
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
  boundPort = port;
  // Slow headers are bounded like slow bodies (Node's own default is 60 s).
  listener.headersTimeout = Math.min(60_000, config.limits.body_timeout_ms);
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;

  return {
    url: `http://${host}:${port}/mcp`,
    port,
    pool,
    audit,
    events,
    reload,
    close: async () => {
      closing = true;
      await watcher?.close();
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      await pool.drain(config.server.shutdown_timeout_ms);
      listener.closeAllConnections?.();
      await http.close();
      await pool.close();
      invokeLimiter.close();
      await semantic?.close();
      metrics.close();
      await closed;
    },
  };
}

/** Capability groups, with a clash against a gateway.yaml backend name reported as a problem. */
async function loadCapabilities(config: GatewayConfig, logger?: Logger) {
  const loaded = await loadCapabilitySources(config.capability_dirs, process.env, { maxFileBytes: config.limits.max_file_bytes });
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

/**
 * Where clients find the RFC 9728 metadata: beside the public resource URL when `oauth.resource` (or
 * `audience`) is one (behind a proxy the bind address is the wrong one to hand out), else on the bound address.
 */
function resourceMetadataUrl(config: GatewayConfig, port: number): string {
  const resource = config.auth?.oauth ? (config.auth.oauth.resource ?? config.auth.oauth.audience) : undefined;
  if (resource && URL.canParse(resource)) {
    const url = new URL(resource);
    return `${url.origin}/.well-known/oauth-protected-resource${url.pathname === '/' ? '' : url.pathname}`;
  }
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return `http://${host}:${port}/.well-known/oauth-protected-resource/mcp`;
}

function listen(
  fetch: Parameters<typeof serve>[0]['fetch'],
  hostname: string,
  port: number,
): Promise<ServerType & { closeAllConnections?: () => void; headersTimeout?: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}
