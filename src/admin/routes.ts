import type { Hono } from 'hono';
import type { Authenticator } from '../access/authenticate.js';
import type { GatewayConfig } from '../config/schema.js';
import { adminOnly } from '../http/admin.js';
import { type GatewayEnv, requireAuth } from '../http/auth.js';
import type { Logger } from '../log.js';
import { type AuditLog, RECENT_RECORDS } from '../observe/audit.js';
import type { EventBus } from '../observe/events.js';
import type { GatewayMetrics } from '../observe/metrics.js';
import type { UsageCounters } from '../observe/usage.js';
import { suggest } from '../search/suggest.js';
import type { ToolSource } from '../sources/source.js';
import { maskedConfig } from './config-view.js';
import { describeServer, OPERATIONS, type Operation, operate } from './servers.js';

export interface OperationsDeps {
  pool: { get(name: string): ToolSource | undefined; all(): ToolSource[]; names(): string[] };
  config: () => GatewayConfig;
  audit: AuditLog;
  usage: UsageCounters;
  metrics: GatewayMetrics;
  events: EventBus;
  authenticator: () => Authenticator;
  logger: Logger;
}

/** The most /admin/calls returns at once: what the audit ring keeps. */
const MAX_CALLS_LIMIT = RECENT_RECORDS;

/**
 * The admin API beyond reload, and /metrics. Registered after the HTTP layer's `/admin/*` guards
 * (authentication, admin scope, JSON-only POST bodies), so every route here is behind them; /metrics
 * gets the same authentication and admin check (open on a loopback gateway without `auth`).
 */
export function registerOperations(app: Hono<GatewayEnv>, deps: OperationsDeps): void {
  const { pool, logger } = deps;

  app.use(
    '/metrics',
    requireAuth(deps.authenticator, logger, (status) => ({ ok: false, error: status === 401 ? 'unauthorized' : 'forbidden' })),
    adminOnly(logger),
  );
  app.get('/metrics', async (c) => c.body(await deps.metrics.scrape(), 200, { 'Content-Type': deps.metrics.contentType }));

  app.get('/admin/servers', (c) => c.json({ servers: pool.all().map((source) => describeServer(source)) }));

  // One operation per server at a time: a second click while a restart runs is told so, not queued.
  const busy = new Set<string>();
  app.post('/admin/servers/:name/:operation', async (c) => {
    const { name, operation } = c.req.param();
    if (!(OPERATIONS as readonly string[]).includes(operation))
      return c.json({ ok: false, error: `unknown operation "${operation}"; use ${OPERATIONS.join(', ')}` }, 404);
    const source = pool.get(name);
    if (!source) {
      const suggestions = suggest(name, pool.names());
      return c.json({ ok: false, error: `no server "${name}"`, suggestions }, 404);
    }
    if (busy.has(name)) return c.json({ ok: false, error: `an operation on "${name}" is under way; try again when it ends` }, 409);
    busy.add(name);
    try {
      const result = await operate(source, operation as Operation);
      const key = c.get('principal').name;
      logger.info({ audit: 'operation', key, server: name, operation, ok: result.ok }, 'admin operation');
      deps.events.emit('operation', { key, server: name, operation: operation as Operation, ok: result.ok });
      return c.json(result, result.ok ? 200 : 502);
    } finally {
      busy.delete(name);
    }
  });

  app.get('/admin/config', (c) => c.json({ config: maskedConfig(deps.config()) }));

  app.get('/admin/calls', (c) => {
    const text = c.req.query('limit');
    const limit = text === undefined ? 50 : Number(text);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CALLS_LIMIT)
      return c.json({ ok: false, error: `limit must be an integer from 1 to ${MAX_CALLS_LIMIT}` }, 400);
    return c.json({ calls: deps.audit.recent(limit) });
  });

  app.get('/admin/usage', (c) => c.json(deps.usage.snapshot()));
}
