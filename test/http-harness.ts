/**
 * The HTTP layer alone, served for real: createHttpApp on a loopback port with @hono/node-server, the
 * real authenticator built from an `auth` config section, and a small MCP server of the test's choosing.
 * Used where a test needs to see the layer's own behaviour (principals, limits, sessions) without the
 * whole gateway around it.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { type CallToolResult, Server } from '@modelcontextprotocol/server';
import pino from 'pino';
import { createAuthenticator } from '../src/access/authenticate.js';
import type { Principal } from '../src/access/principal.js';
import { parseConfig } from '../src/config/load.js';
import { createHttpApp, type HttpApp, type HttpDeps } from '../src/http/app.js';
import { repoRoot } from './helpers.js';

export interface Harness {
  /** http://127.0.0.1:PORT/mcp */
  url: string;
  origin: string;
  port: number;
  http: HttpApp;
  /** Structured log lines the layer wrote (info and above). */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Config sections (server, limits, auth) as in gateway.yaml. */
  config?: Record<string, unknown>;
  newMcpServer?: HttpDeps['newMcpServer'];
  reload?: HttpDeps['reload'];
}

export async function startHttp(options: HarnessOptions = {}): Promise<Harness> {
  const config = parseConfig(JSON.stringify({ ...options.config, server: { port: 0, ...(options.config?.server as object) } }), {
    file: `${repoRoot}/test/inline.yaml`,
  });
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  let port = 0;
  const authenticator = createAuthenticator(config.auth, {
    resourceMetadataUrl: 'http://127.0.0.1/.well-known/oauth-protected-resource',
    logger,
  });
  const http = createHttpApp({
    config: () => config,
    port: () => port,
    authenticator: () => authenticator,
    newMcpServer: options.newMcpServer ?? whoamiServer,
    health: () => ({ status: 'ok', sessions: http.sessionCount() }),
    reload: options.reload,
    logger,
  });
  const listener = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const server = serve({ fetch: http.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(server));
    server.once('error', reject);
  });
  port = (listener.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/mcp`,
    origin,
    port,
    http,
    logs,
    close: async () => {
      await http.close();
      await new Promise<void>((resolve) => {
        listener.close(() => resolve());
        (listener as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

/** One tool, `whoami`, answering the name of the principal the request is served for. */
export function whoamiServer(principal: () => Principal): Server {
  const server = new Server({ name: 'whoami', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', () => ({
    tools: [{ name: 'whoami', description: 'the caller', inputSchema: { type: 'object' } }],
  }));
  server.setRequestHandler('tools/call', () => ({ content: [{ type: 'text', text: principal().name }] }));
  return server;
}

/**
 * A front server whose one tool, `wait`, forwards to a stdio backend with the handler's abort signal,
 * as `invoke` does: when the HTTP layer aborts the handler, the SDK client sends the backend
 * notifications/cancelled.
 */
export async function relayTo(command: string, args: string[], env: Record<string, string>) {
  const backend = new Client({ name: 'relay', version: '1.0.0' });
  await backend.connect(new StdioClientTransport({ command, args, env: { ...env, PATH: process.env.PATH ?? '' } }));
  const newMcpServer = (): Server => {
    const server = new Server({ name: 'relay', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler('tools/list', () => ({ tools: [{ name: 'wait', inputSchema: { type: 'object' } }] }));
    server.setRequestHandler(
      'tools/call',
      async (request, ctx) =>
        (await backend.callTool({ name: 'wait', arguments: request.params.arguments }, { signal: ctx.mcpReq.signal })) as CallToolResult,
    );
    return server;
  };
  return { newMcpServer, close: () => backend.close() };
}
