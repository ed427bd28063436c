import {
  type AuthInfo,
  createMcpHandler,
  isInitializeRequest,
  isJsonContentType,
  isLegacyRequest,
  legacyStatelessFallback,
  type Server,
} from '@modelcontextprotocol/server';
import { type Context, Hono } from 'hono';
import type { Authenticator } from '../access/authenticate.js';
import type { Principal } from '../access/principal.js';
import type { GatewayConfig, LimitsConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { registerAdmin } from './admin.js';
import { type GatewayEnv, logDenied, requireAuth } from './auth.js';
import { type BodyLimits, closeAfterResponse, type NodeBindings, readBody } from './body.js';
import { OriginPolicy } from './origin.js';
import { SessionStore } from './sessions.js';

export interface HttpApp {
  app: Hono<GatewayEnv>;
  /** Tell connected clients that the gateway's own tool list changed (2025 sessions and 2026 listeners). */
  notifyToolsChanged(): Promise<void>;
  /** Live 2025-era sessions (for /health). */
  sessionCount(): number;
  close(): Promise<void>;
}

export interface HttpDeps {
  /** Read per request, so a reload's allowed_hosts, allowed_origins and limits apply to the next request. */
  config: () => { server: GatewayConfig['server']; limits: LimitsConfig };
  /** The port actually bound (known only once listening): the gateway's own origins and Host names carry it. */
  port: () => number;
  /** The current authenticator (rebuilt on reload). */
  authenticator: () => Authenticator;
  /** An MCP server for one request (2026, stateless 2025) or one session; the getter returns the principal being served. */
  newMcpServer: (principal: () => Principal) => Server;
  health: () => Record<string, unknown>;
  /** Present when the gateway knows its config file: POST /admin/reload applies it again. */
  reload?: () => Promise<{ ok: boolean }>;
  logger: Logger;
}

/** Serves no tool anywhere: what a per-request server gets if its principal went missing (never expected). */
const NOBODY: Principal = { name: 'nobody', admin: false, allows: () => false };

/**
 * The HTTP face.
 *  - every route: Host and Origin checks (DNS rebinding, cross-site pages);
 *  - `/mcp` and `/admin/*`: authentication; then the body, read within `limits` (size, deadline);
 *  - `/mcp`: 2026-07-28 requests → the SDK's stateless handler; 2025-era `initialize` → a new session;
 *    requests with `Mcp-Session-Id` → that session (unknown, or another principal's → 404); 2025-era
 *    requests without a session → served statelessly, for clients that never initialize;
 *  - `/health`, `/.well-known/oauth-protected-resource`: no authentication.
 */
export function createHttpApp(deps: HttpDeps): HttpApp {
  const { config, port, authenticator, newMcpServer, health, reload, logger } = deps;
  const onerror = (error: Error) => logger.debug({ err: error.message }, 'mcp request rejected');
  // Per-request servers learn their principal from the authInfo the request was served with.
  const perRequest = (ctx?: { authInfo?: AuthInfo }) => {
    const principal = (ctx?.authInfo?.extra?.principal as Principal | undefined) ?? NOBODY;
    return newMcpServer(() => principal);
  };
  const modern = createMcpHandler(perRequest, { legacy: 'reject', onerror });
  const stateless = legacyStatelessFallback(perRequest, onerror);
  const sessions = new SessionStore(
    newMcpServer,
    () => ({ maxSessions: config().limits.max_sessions, idleMs: config().limits.session_idle_ms }),
    ({ owner, why }) => logger.debug({ key: owner, why }, 'session closed'),
  );
  const bodyLimits = (): BodyLimits => ({ maxBytes: config().limits.max_body_bytes, timeoutMs: config().limits.body_timeout_ms });

  const server = config().server;
  if (!['127.0.0.1', 'localhost', '::1'].includes(server.host) && !server.allowed_hosts?.length)
    logger.warn(
      { host: server.host },
      'binding beyond loopback: only loopback Host names are accepted until server.allowed_hosts lists the names clients use',
    );

  let policy: { server: object; port: number; checks: OriginPolicy } | undefined;
  const currentPolicy = () => {
    const settings = config().server;
    const bound = port();
    if (policy?.server !== settings || policy.port !== bound)
      policy = { server: settings, port: bound, checks: new OriginPolicy(settings, bound) };
    return policy.checks;
  };

  const app = new Hono<GatewayEnv>();
  app.use('*', async (c, next) => {
    const checks = currentPolicy();
    // Node refuses an HTTP/1.1 request without Host; only an in-process caller lacks one, and its URL names the target.
    const verdict = checks.checkHost(c.req.header('host') ?? new URL(c.req.url).host);
    const refused = verdict.ok ? checks.checkOrigin(c.req.header('origin')) : verdict;
    if (refused.ok) return next();
    logDenied(logger, c, refused.reason);
    return c.json(rpcError(-32000, `Forbidden: ${refused.reason}`), 403);
  });

  app.get('/health', (c) => c.json(health()));
  const metadata = (c: Context) => {
    const document = authenticator().protectedResourceMetadata();
    return document ? c.json(document) : c.json({ error: 'OAuth is not configured' }, 404);
  };
  app.get('/.well-known/oauth-protected-resource', metadata);
  app.get('/.well-known/oauth-protected-resource/mcp', metadata);

  app.use(
    '/admin/*',
    requireAuth(authenticator, logger, (status) => ({ ok: false, error: status === 401 ? 'unauthorized' : 'forbidden' })),
  );
  registerAdmin(app, { reload, bodyLimits, logger });

  app.use(
    '/mcp',
    requireAuth(authenticator, logger, (status) => rpcError(-32001, status === 401 ? 'Unauthorized' : 'Forbidden')),
  );
  app.use('/mcp', async (c, next) => {
    if (c.req.method !== 'POST' || !isJsonContentType(c.req.header('content-type'))) return next();
    const node = c.env as NodeBindings | undefined;
    const bindings = node?.incoming ? node : undefined;
    const body = await readBody(c.req.raw, bindings, bodyLimits());
    switch (body.kind) {
      case 'ok':
        break;
      case 'too-large':
        closeAfterResponse(bindings);
        c.header('Connection', 'close');
        return c.json(rpcError(-32000, `Payload Too Large: Request body must not exceed ${config().limits.max_body_bytes} bytes`), 413);
      case 'timeout':
      case 'aborted':
        closeAfterResponse(bindings);
        c.header('Connection', 'close');
        return c.json(rpcError(-32000, `Request Timeout: the body did not arrive within ${config().limits.body_timeout_ms} ms`), 408);
    }
    try {
      c.set('parsedBody', JSON.parse(body.text) as unknown);
    } catch {
      return c.json(rpcError(-32700, 'Parse error: the request body is not valid JSON'), 400);
    }
    return next();
  });

  app.all('/mcp', async (c) => {
    const request = c.req.raw;
    const parsedBody = c.get('parsedBody');
    const principal = c.get('principal');
    const authInfo: AuthInfo = { token: '', clientId: principal.name, scopes: [], extra: { principal } };
    if (!(await isLegacyRequest(request, parsedBody))) return modern.fetch(request, { parsedBody, authInfo });

    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const response = await sessions.handle(sessionId, principal, request, parsedBody);
      return response ?? c.json(rpcError(-32001, 'Session not found'), 404);
    }
    if (request.method === 'POST' && containsInitialize(parsedBody)) return sessions.open(principal, request, parsedBody);
    return stateless(request, { parsedBody, authInfo });
  });

  return {
    app,
    notifyToolsChanged: async () => {
      await sessions.notifyToolsChanged();
      await modern.notify.toolsChanged();
    },
    sessionCount: () => sessions.size,
    close: async () => {
      await sessions.closeAll();
      await modern.close();
    },
  };
}

function containsInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

function rpcError(code: number, message: string) {
  return { jsonrpc: '2.0' as const, error: { code, message }, id: null };
}
