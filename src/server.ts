import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { type Authenticator, createAuthenticator } from './access/authenticate.js';
import { registerOperations } from './admin/routes.js';
import type { BackendPool } from './backends/pool.js';
import { checkExposure } from './config/exposure.js';
import type { GatewayConfig } from './config/schema.js';
import { watchConfig } from './config/watch.js';
import { createGateway, type GatewayOptions, type ReloadResult } from './gateway.js';
import { createHttpApp } from './http/app.js';
import type { AuditLog } from './observe/audit.js';
import type { EventBus } from './observe/events.js';
import { createMetrics } from './observe/metrics.js';
import { UsageCounters } from './observe/usage.js';
import { registerDashboard } from './ui/routes.js';

export type { GatewayOptions, ReloadResult };

export interface RunningGateway {
  /** The MCP endpoint, e.g. http://127.0.0.1:39400/mcp */
  url: string;
  port: number;
  pool: BackendPool;
  /** The recent invoke records (newest first), as /admin/calls shows them. */
  audit: AuditLog;
  /** What the gateway reports as it works (invoke, search, reload): observers subscribe here. */
  events: EventBus;
  /** Re-read the config file and capability folders and apply them; the running config stays on any problem. */
  reload(): Promise<ReloadResult>;
  /** Stop accepting, let in-flight calls finish (up to server.shutdown_timeout_ms), stop every backend. */
  close(): Promise<void>;
}

/**
 * The gateway served over HTTP: the core (gateway.ts), then access → HTTP (/mcp, /admin, /metrics, /ui,
 * /health, /ready). Nothing is started but the listener. Throws when the config must not be served (a
 * non-loopback bind without auth).
 */
export async function startGateway(initial: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const exposed = checkExposure(initial);
  if (exposed) throw new Error(exposed);
  const gateway = await createGateway(initial, options);
  const { pool, events, audit, logger } = gateway;
  const config = gateway.config;

  let boundPort = 0;
  let authenticator: { auth: GatewayConfig['auth']; value: Authenticator } | undefined;
  // Rebuilt when a reload changes `auth`.
  const currentAuthenticator = () => {
    const auth = config().auth;
    if (authenticator && authenticator.auth === auth) return authenticator.value;
    const value = createAuthenticator(auth, { resourceMetadataUrl: resourceMetadataUrl(config(), boundPort), logger });
    authenticator = { auth, value };
    return value;
  };
  const http = createHttpApp({
    config,
    port: () => boundPort,
    authenticator: currentAuthenticator,
    newFront: gateway.newFront,
    onListen: gateway.listen,
    frontExists: (spec, principal) =>
      spec.kind === 'meta' ||
      (spec.kind === 'passthrough'
        ? pool.get(spec.server) !== undefined && principal.allows(spec.server)
        : Object.hasOwn(config().endpoints, spec.name)),
    // /health needs no token, so with `auth` it names no backend (a key may not be allowed to know one
    // exists); the details are on /admin/servers and /metrics behind the admin check.
    health: () => {
      const status = pool.degraded() ? 'degraded' : 'ok';
      if (config().auth) return { status };
      return {
        status,
        backends: Object.fromEntries(pool.all().map((b) => [b.name, b.status().state])),
        circuits: Object.fromEntries(pool.all().map((b) => [b.name, b.status().circuit])),
        sessions: http.sessionCount(),
      };
    },
    reload: options.configFile ? () => gateway.reload() : undefined,
    logger,
  });
  gateway.onListChanged((kind) => http.notifyListChanged(kind));
  gateway.onResourceUpdated((uri) => http.notifyResourceUpdated(uri));

  // Seeing and steering: usage counters, /metrics, the admin API beyond reload, and the dashboard at /ui.
  const usage = new UsageCounters(pool, events);
  const metrics = createMetrics({ events, pool, usage, sessions: () => http.sessionCount() });
  registerOperations(http.app, { pool, config, audit, usage, metrics, events, authenticator: currentAuthenticator, logger });
  registerDashboard(http.app);

  // Readiness for a load balancer: 200 once the config is loaded and the gateway listens, 503 from the
  // start of shutdown, so the balancer stops sending before connections close. /health stays "alive".
  let closing = false;
  http.app.get('/ready', (c) => (closing ? c.json({ ready: false, reason: 'shutting down' }, 503) : c.json({ ready: true })));

  const listener = await listen(http.app.fetch, initial.server.host, initial.server.port);
  // Watching starts once the gateway serves, so start-up does not wait for the file watcher.
  const watcher = watchConfig(options.configFile, gateway, (error) => logger.error({ err: String(error) }, 'reload failed'));
  const port = (listener.address() as AddressInfo).port;
  boundPort = port;
  // Slow headers are bounded like slow bodies (Node's own default is 60 s).
  listener.headersTimeout = Math.min(60_000, initial.limits.body_timeout_ms);
  const host = initial.server.host.includes(':') ? `[${initial.server.host}]` : initial.server.host;

  return {
    url: `http://${host}:${port}/mcp`,
    port,
    pool,
    audit,
    events,
    reload: () => gateway.reload(),
    close: async () => {
      closing = true;
      await watcher?.close();
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      await pool.drain(config().server.shutdown_timeout_ms);
      listener.closeAllConnections?.();
      await http.close();
      await gateway.close();
      metrics.close();
      await closed;
    },
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
