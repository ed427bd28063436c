import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { BackendPool } from './backends/pool.js';
import type { ToolSource } from './backends/source.js';
import type { GatewayConfig } from './config/schema.js';
import { createHttpApp } from './http/app.js';
import { type Logger, silentLogger } from './log.js';
import { metaToolDefinitions } from './meta/definitions.js';
import { metaServerFactory } from './meta/server.js';
import { ToolIndex } from './search/rank.js';

export interface RunningGateway {
  /** The MCP endpoint, e.g. http://127.0.0.1:39400/mcp */
  url: string;
  port: number;
  pool: BackendPool;
  /** Stop accepting, let in-flight calls finish (up to server.shutdown_timeout_ms), stop every backend. */
  close(): Promise<void>;
}

/** Wiring, top-down: config → pool → search index → meta-tools → HTTP. Nothing is started but the listener. */
export async function startGateway(config: GatewayConfig, logger: Logger = silentLogger()): Promise<RunningGateway> {
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
  pool.apply(config.backends);

  const definitions = metaToolDefinitions(config.meta_mcp.tool_prefix, pool.names());
  const http = createHttpApp({
    server: config.server,
    newMcpServer: metaServerFactory({ pool, index }, () => definitions),
    health: () => ({
      status: pool.degraded() ? 'degraded' : 'ok',
      backends: Object.fromEntries(pool.all().map((b) => [b.name, b.status().state])),
      circuits: Object.fromEntries(pool.all().map((b) => [b.name, b.status().circuit])),
    }),
    logger,
  });

  const listener = await listen(http.app.fetch, config.server.host, config.server.port);
  const port = (listener.address() as AddressInfo).port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;

  return {
    url: `http://${host}:${port}/mcp`,
    port,
    pool,
    close: async () => {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      await pool.drain(config.server.shutdown_timeout_ms);
      listener.closeAllConnections?.();
      await http.close();
      await pool.close();
      await closed;
    },
  };
}

function listen(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number): Promise<ServerType & { closeAllConnections?: () => void }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}
