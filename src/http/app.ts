import { hostHeaderValidation, originValidation } from '@modelcontextprotocol/hono';
import {
  createMcpHandler,
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  isJsonContentType,
  readRequestBody,
  isInitializeRequest,
  isLegacyRequest,
  legacyStatelessFallback,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  type Server,
} from '@modelcontextprotocol/server';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { SessionStore } from './sessions.js';

export interface HttpApp {
  app: Hono<{ Variables: { parsedBody: unknown } }>;
  /** Tell connected clients that the gateway's own tool list changed (2025 sessions and 2026 listeners). */
  notifyToolsChanged(): Promise<void>;
  close(): Promise<void>;
}

export interface HttpDeps {
  server: GatewayConfig['server'];
  newMcpServer: () => Server;
  health: () => Record<string, unknown>;
  /** Present when the gateway knows its config file: POST /admin/reload applies it again. */
  reload?: () => Promise<{ ok: boolean }>;
  logger: Logger;
}

/**
 * The HTTP face: `/mcp` for both protocol eras, `/health`.
 *  - 2026-07-28 requests (per-request envelope, no session) → the SDK's stateless handler;
 *  - 2025-era `initialize` → a new session; requests with `Mcp-Session-Id` → that session (unknown id → 404);
 *  - 2025-era requests without a session → served statelessly, for clients that never initialize.
 * Host and Origin are checked before anything else (DNS rebinding).
 */
export function createHttpApp({ server, newMcpServer, health, reload, logger }: HttpDeps): HttpApp {
  const onerror = (error: Error) => logger.debug({ err: error.message }, 'mcp request rejected');
  const modern = createMcpHandler(newMcpServer, { legacy: 'reject', onerror });
  const stateless = legacyStatelessFallback(newMcpServer, onerror);
  const sessions = new SessionStore(newMcpServer);

  // Like createMcpHonoApp (Host/Origin checks, then a JSON body parser), except that a body that is
  // not JSON gets a JSON-RPC Parse error (-32700) instead of a plain-text 400.
  const app = new Hono<{ Variables: { parsedBody: unknown } }>();
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(server.host);
  if (server.allowed_hosts)
    app.use('*', memoizedHostCheck(hostHeaderValidation([...localhostAllowedHostnames(), ...server.allowed_hosts])));
  else if (loopback) app.use('*', memoizedHostCheck(hostHeaderValidation(localhostAllowedHostnames())));
  else logger.warn({ host: server.host }, 'binding beyond loopback without server.allowed_hosts: no DNS rebinding protection');
  if (server.allowed_origins) app.use('*', originValidation([...localhostAllowedOrigins(), ...server.allowed_origins]));
  else if (loopback) app.use('*', originValidation(localhostAllowedOrigins()));
  app.use('*', async (c, next) => {
    if (c.req.method !== 'POST' || !isJsonContentType(c.req.header('content-type'))) return next();
    // With a Content-Length within the limit, read through @hono/node-server's direct path: no web
    // Request, ReadableStream or clone is built. Otherwise the bounded streaming reader. Nothing after
    // this reads the body (every handler gets parsedBody), so no clone is needed either way.
    const declared = Number(c.req.header('content-length'));
    const body =
      declared > 0 && declared <= DEFAULT_MAX_REQUEST_BODY_SIZE
        ? { tooLarge: false as const, text: await c.req.raw.text() }
        : await readRequestBody(c.req.raw, DEFAULT_MAX_REQUEST_BODY_SIZE);
    if (body.tooLarge)
      return c.json(rpcError(-32000, `Payload Too Large: Request body must not exceed ${DEFAULT_MAX_REQUEST_BODY_SIZE} bytes`), 413);
    try {
      c.set('parsedBody', JSON.parse(body.text) as unknown);
    } catch {
      return c.json(rpcError(-32700, 'Parse error: the request body is not valid JSON'), 400);
    }
    return next();
  });

  app.get('/health', (c) => c.json(health()));
  app.post('/admin/reload', async (c) => {
    if (!reload) return c.json({ ok: false, problems: ['this gateway was not started from a config file'] }, 409);
    const result = await reload();
    return c.json(result, result.ok ? 200 : 422);
  });

  app.all('/mcp', async (c: Context) => {
    const request = c.req.raw;
    const parsedBody = c.get('parsedBody') as unknown;
    if (!(await isLegacyRequest(request, parsedBody))) return modern.fetch(request, { parsedBody });

    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const response = await sessions.handle(sessionId, request, parsedBody);
      return response ?? c.json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }, 404);
    }
    if (request.method === 'POST' && containsInitialize(parsedBody)) return sessions.open(request, parsedBody);
    return stateless(request, { parsedBody });
  });

  return {
    app,
    notifyToolsChanged: async () => {
      await sessions.notifyToolsChanged();
      await modern.notify.toolsChanged();
    },
    close: async () => {
      await sessions.closeAll();
      await modern.close();
    },
  };
}

/**
 * The SDK's Host check parses the header with new URL() on every request. The verdict depends on the
 * header value alone, so a value that passed once passes again without the parse (at most 64 remembered).
 */
function memoizedHostCheck(check: MiddlewareHandler): MiddlewareHandler {
  const passed = new Set<string>();
  return async (c, next) => {
    const host = c.req.header('host');
    if (host !== undefined && passed.has(host)) return next();
    let allowed = false;
    const response = await check(c, async () => {
      allowed = true;
    });
    if (!allowed) return response;
    if (host !== undefined && passed.size < 64) passed.add(host);
    return next();
  };
}

function containsInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

function rpcError(code: number, message: string) {
  return { jsonrpc: '2.0' as const, error: { code, message }, id: null };
}
