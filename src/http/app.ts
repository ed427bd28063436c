import {
  type AuthInfo,
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  legacyStatelessFallback,
  type Server,
} from '@modelcontextprotocol/server';
import { type Context, Hono } from 'hono';
import type { Authenticator } from '../access/authenticate.js';
import type { Principal } from '../access/principal.js';
import type { GatewayConfig, LimitsConfig } from '../config/schema.js';
import type { ListenPlan } from '../fronts/listen.js';
import type { FrontSpec } from '../fronts/scope.js';
import type { ListKind } from '../sources/source.js';
import type { Logger } from '../log.js';
import { registerAdmin } from './admin.js';
import { type GatewayEnv, logDenied, requireAuth } from './auth.js';
import { type BodyLimits, readJsonBody } from './body.js';
import { ListenStreams } from './listens.js';
import { OriginPolicy } from './origin.js';
import { SessionStore } from './sessions.js';
import { notifyListChanged } from '../fronts/front.js';

export interface HttpApp {
  app: Hono<GatewayEnv>;
  /** Tell connected clients that a tool, resource or prompt list changed (2025 sessions and 2026 listeners). */
  notifyListChanged(kind: ListKind): Promise<void>;
  /** A subscribed resource changed: tell 2026 listeners (2025 sessions are told by their fronts). */
  notifyResourceUpdated(uri: string): void;
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
  /**
   * The MCP server of a front for one request (2026, stateless 2025) or one session; the getter returns the
   * principal being served. /mcp → `{kind: 'meta'}`, /mcp/{backend} → passthrough, /mcp/v/{name} → endpoint.
   */
  newFront?: (spec: FrontSpec, principal: () => Principal) => Server;
  /** A 2026 `subscriptions/listen`'s resources: the ones this caller can see, and how to hold them (see Gateway.listen). */
  onListen?: (spec: FrontSpec, principal: Principal, uris: readonly string[]) => ListenPlan;
  /** Is there such a backend or endpoint for this principal? Otherwise the path answers 404. */
  frontExists?: (spec: FrontSpec, principal: Principal) => boolean;
  /** Only /mcp, from this server (for harnesses that have no gateway core): the other paths answer 404. */
  newMcpServer?: (principal: () => Principal) => Server;
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
  const { config, port, authenticator, health, reload, logger } = deps;
  const newFront = deps.newFront ?? ((_spec: FrontSpec, principal: () => Principal) => deps.newMcpServer!(principal));
  const frontExists = deps.frontExists ?? ((spec: FrontSpec) => spec.kind === 'meta');
  const onerror = (error: Error) => logger.debug({ err: error.message }, 'mcp request rejected');
  const lanes = new Lanes(newFront, onerror);
  const listens = new ListenStreams(() => ({ total: deps.config().limits.max_sessions }));
  const sessions = new SessionStore(
    (route, principal) => newFront(specOf(route), principal),
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

  // '/mcp/*' covers /mcp itself as well as /mcp/{backend} and /mcp/v/{name}.
  app.use(
    '/mcp/*',
    requireAuth(authenticator, logger, (status) => rpcError(-32001, status === 401 ? 'Unauthorized' : 'Forbidden')),
  );
  app.use('/mcp/*', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    // Only JSON bodies are read, under the size and time limits; anything else is refused unread.
    const body = await readJsonBody(c, bodyLimits());
    if (!body.ok) {
      const { limits } = config();
      const message = {
        'not-json-content': [-32000, 'Unsupported Media Type: Content-Type must be application/json'],
        'too-large': [-32000, `Payload Too Large: Request body must not exceed ${limits.max_body_bytes} bytes`],
        timeout: [-32000, `Request Timeout: the body did not arrive within ${limits.body_timeout_ms} ms`],
        'invalid-json': [-32700, 'Parse error: the request body is not valid JSON'],
      } as const;
      const [code, text] = message[body.refusal];
      return c.json(rpcError(code, text), body.status);
    }
    c.set('parsedBody', body.value);
    return next();
  });

  // An unexpected fault answers a JSON-RPC error and is logged through the (redacting) logger, never console.error.
  app.onError((error, c) => {
    logger.error({ err: error.message, path: c.req.path }, 'request failed');
    return c.json(rpcError(-32603, 'Internal error'), 500);
  });

  const serve = async (c: Context<GatewayEnv>, route: string) => {
    const request = c.req.raw;
    const parsedBody = c.get('parsedBody');
    const principal = c.get('principal');
    // A backend or endpoint that does not exist, or that this key cannot see, is not found either way.
    if (!frontExists(specOf(route), principal)) return c.json(rpcError(-32001, 'Not found'), 404);
    const authInfo: AuthInfo = { token: '', clientId: principal.name, scopes: [], extra: { principal } };
    const lane = lanes.get(route);
    if (!(await isLegacyRequest(request, parsedBody))) {
      if (!isListen(parsedBody)) return lane.modern.fetch(request, { parsedBody, authInfo });
      const refused = listens.refusal(principal.name);
      if (refused) return c.json({ jsonrpc: '2.0', id: parsedBody.id, error: { code: -32603, message: refused } });
      // Only the resources this caller can see are listened for (the SDK filters what it sends by this list).
      const plan = deps.onListen?.(specOf(route), principal, listenedResources(parsedBody));
      const body = plan ? withResources(parsedBody, plan.uris) : parsedBody;
      return listens.serve(principal.name, request.signal, () => lane.modern.fetch(request, { parsedBody: body, authInfo }), plan?.hold);
    }

    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const response = await sessions.handle(sessionId, principal, request, parsedBody, route);
      return response ?? c.json(rpcError(-32001, 'Session not found'), 404);
    }
    if (request.method === 'POST' && containsInitialize(parsedBody)) return sessions.open(principal, request, parsedBody, route);
    return lane.stateless(request, { parsedBody, authInfo });
  };
  app.all('/mcp', (c) => serve(c, META_ROUTE));
  app.all('/mcp/v/:name', (c) => serve(c, `${ENDPOINT_ROUTE}${c.req.param('name')}`));
  app.all('/mcp/:backend', (c) => serve(c, `${BACKEND_ROUTE}${c.req.param('backend')}`));

  return {
    app,
    notifyListChanged: async (kind) => {
      await sessions.notify((server) => notifyListChanged(server, kind));
      lanes.notify((notifier) =>
        kind === 'tools' ? notifier.toolsChanged() : kind === 'resources' ? notifier.resourcesChanged() : notifier.promptsChanged(),
      );
    },
    notifyResourceUpdated: (uri) => lanes.notify((notifier) => notifier.resourceUpdated(uri)),
    sessionCount: () => sessions.size,
    close: async () => {
      await sessions.closeAll();
      await lanes.close();
    },
  };
}

const META_ROUTE = 'meta';
const BACKEND_ROUTE = 'backend:';
const ENDPOINT_ROUTE = 'endpoint:';

function specOf(route: string): FrontSpec {
  if (route.startsWith(BACKEND_ROUTE)) return { kind: 'passthrough', server: route.slice(BACKEND_ROUTE.length) };
  if (route.startsWith(ENDPOINT_ROUTE)) return { kind: 'endpoint', name: route.slice(ENDPOINT_ROUTE.length) };
  return { kind: 'meta' };
}

type ModernHandler = ReturnType<typeof createMcpHandler>;

/** Per front path: the SDK's 2026 handler and the stateless 2025 fallback, made on first use. */
class Lanes {
  private readonly lanes = new Map<string, { modern: ModernHandler; stateless: ReturnType<typeof legacyStatelessFallback> }>();

  constructor(
    private readonly newFront: NonNullable<HttpDeps['newFront']>,
    private readonly onerror: (error: Error) => void,
  ) {}

  get(route: string) {
    let lane = this.lanes.get(route);
    if (!lane) {
      const spec = specOf(route);
      // Per-request servers learn their principal from the authInfo the request was served with.
      const perRequest = (ctx?: { authInfo?: AuthInfo }) => {
        const principal = (ctx?.authInfo?.extra?.principal as Principal | undefined) ?? NOBODY;
        return this.newFront(spec, () => principal);
      };
      lane = {
        modern: createMcpHandler(perRequest, { legacy: 'reject', onerror: this.onerror }),
        stateless: legacyStatelessFallback(perRequest, this.onerror),
      };
      this.lanes.set(route, lane);
    }
    return lane;
  }

  notify(send: (notifier: ModernHandler['notify']) => void): void {
    for (const lane of this.lanes.values()) send(lane.modern.notify);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.lanes.values()].map((lane) => lane.modern.close()));
  }
}

type ListenRequest = { method: 'subscriptions/listen'; id?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } };

/** A single `subscriptions/listen` request (a batch is not one: the SDK refuses listen inside a batch). */
function isListen(body: unknown): body is ListenRequest {
  return (
    typeof body === 'object' && body !== null && !Array.isArray(body) && (body as { method?: unknown }).method === 'subscriptions/listen'
  );
}

/** The resource URIs a listen request asks updates for. */
function listenedResources(body: ListenRequest): string[] {
  const uris = body.params?.notifications?.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === 'string') : [];
}

/** The same listen request asking for `uris` only (when it named any). */
function withResources(body: ListenRequest, uris: readonly string[]): ListenRequest {
  const notifications = body.params?.notifications;
  if (!notifications || notifications.resourceSubscriptions === undefined) return body;
  return { ...body, params: { ...body.params, notifications: { ...notifications, resourceSubscriptions: [...uris] } } };
}

function containsInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

function rpcError(code: number, message: string) {
  return { jsonrpc: '2.0' as const, error: { code, message }, id: null };
}
