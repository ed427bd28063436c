import { createMcpHonoApp } from '@modelcontextprotocol/hono';
import {
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  legacyStatelessFallback,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  type Server,
} from '@modelcontextprotocol/server';
import type { Context, Hono } from 'hono';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { SessionStore } from './sessions.js';

export interface HttpApp {
  app: Hono;
  sessions: SessionStore;
  close(): Promise<void>;
}

export interface HttpDeps {
  server: GatewayConfig['server'];
  newMcpServer: () => Server;
  health: () => { status: string; backends: Record<string, string> };
  logger: Logger;
}

/**
 * The HTTP face: `/mcp` for both protocol eras, `/health`.
 *  - 2026-07-28 requests (per-request envelope, no session) → the SDK's stateless handler;
 *  - 2025-era `initialize` → a new session; requests with `Mcp-Session-Id` → that session (unknown id → 404);
 *  - 2025-era requests without a session → served statelessly, for clients that never initialize.
 * Host and Origin are checked before anything else (DNS rebinding).
 */
export function createHttpApp({ server, newMcpServer, health, logger }: HttpDeps): HttpApp {
  const onerror = (error: Error) => logger.debug({ err: error.message }, 'mcp request rejected');
  const modern = createMcpHandler(newMcpServer, { legacy: 'reject', onerror });
  const stateless = legacyStatelessFallback(newMcpServer, onerror);
  const sessions = new SessionStore(newMcpServer);

  const app = createMcpHonoApp({
    host: server.host,
    allowedHosts: server.allowed_hosts ? [...localhostAllowedHostnames(), ...server.allowed_hosts] : undefined,
    allowedOrigins: server.allowed_origins ? [...localhostAllowedOrigins(), ...server.allowed_origins] : undefined,
  });

  app.get('/health', (c) => c.json(health()));

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
    sessions,
    close: async () => {
      await sessions.closeAll();
      await modern.close();
    },
  };
}

function containsInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}
