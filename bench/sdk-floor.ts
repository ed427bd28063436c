/**
 * What the gateway's HTTP layer (hono + the MCP server SDK) costs per call by itself, in one process and
 * without sockets: a v2 SDK client whose `fetch` hands each Request straight to a handler.
 *
 *   plain   — a handler written for the bench: parse the JSON-RPC body, answer tools/call with a fixed
 *             result in the framing the gateway's lane uses (2026: one JSON body; 2025: one SSE event)
 *   gateway — the gateway's own HTTP app (src/http/app.ts) with an MCP server whose tools/call returns
 *             the same fixed result: routing, body parsing, era classification, the SDK's transport,
 *             JSON-RPC validation and dispatch, but no backend
 *
 * Both answer the same client the same way, so gateway − plain is the server-side work of the layer.
 * Set beside the relay's added latency (bench/latency.ts), it shows how much of the ≤ 1.25× goal's
 * headroom this layer alone uses before any backend is called.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, type Server as McpServer, Server } from '@modelcontextprotocol/server';
import { createHttpApp } from '../src/http/app.js';
import { silentLogger } from '../src/log.js';
import type { Era } from './util.js';

export interface SdkFloorOptions {
  rounds: number;
  callsPerRound: number;
  warmup: number;
}

export interface SdkFloorResult {
  era: '2025' | '2026';
  /** µs per call, median over rounds */
  plainUs: number;
  gatewayUs: number;
}

const RESULT = { content: [{ type: 'text' as const, text: 'fixed' }] };

function fixedServer(): McpServer {
  const server = new Server({ name: 'floor', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', () => ({ tools: [] }));
  server.setRequestHandler('tools/call', () => RESULT);
  return server;
}

type Handler = (request: Request) => Promise<Response>;

/** The least a handler can do for this client: JSON in, the lane's framing out. */
function plainHandler(era: '2025' | '2026'): Handler {
  // A 2026 client first asks server/discover; that one-time setup goes to the SDK.
  const setup = createMcpHandler(fixedServer, { legacy: 'reject' });
  return async (request) => {
    if (request.method !== 'POST') return new Response(null, { status: 405 });
    const text = await request.text();
    const body = JSON.parse(text) as { id?: number | string; method: string; params?: { protocolVersion?: string } };
    if (era === '2026' && body.method !== 'tools/call') return setup.fetch(new Request(request.url, { method: 'POST', headers: request.headers, body: text }));
    if (body.id === undefined) return new Response(null, { status: 202 });
    if (era === '2026') return Response.json({ jsonrpc: '2.0', id: body.id, result: { ...RESULT, resultType: 'complete' } });
    const result =
      body.method === 'initialize'
        ? { protocolVersion: body.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'plain', version: '1.0.0' } }
        : RESULT;
    const event = `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: body.id, result })}\n\n`;
    return new Response(event, { headers: { 'content-type': 'text/event-stream' } });
  };
}

function gatewayHandler(): { handler: Handler; close: () => Promise<void> } {
  // 0.0.0.0 without allowed_hosts: no Host/Origin checks, because a constructed Request cannot carry a
  // Host header. Both checks remember a verdict per header value, so in a served gateway they are a Set lookup.
  const http = createHttpApp({
    server: { host: '0.0.0.0', port: 0, shutdown_timeout_ms: 1_000, watch: false },
    newMcpServer: fixedServer,
    health: () => ({}),
    logger: silentLogger(),
  });
  return { handler: async (request) => http.app.fetch(request), close: () => http.close() };
}

async function connect(era: Era, handler: Handler): Promise<Client> {
  const client = new Client({ name: `floor-${era}`, version: '1.0.0' }, { versionNegotiation: { mode: era === '2026' ? { pin: '2026-07-28' } : 'legacy' } });
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), { fetch: (url, init) => handler(new Request(url, init)) });
  await client.connect(transport);
  return client;
}

const call = (client: Client) => client.request({ method: 'tools/call', params: { name: 'fixed', arguments: {} } });

export async function measureSdkFloor(era: '2025' | '2026', options: SdkFloorOptions): Promise<SdkFloorResult> {
  const gateway = gatewayHandler();
  const clients = { plain: await connect(era, plainHandler(era)), gateway: await connect(era, gateway.handler) };
  try {
    const perRound: Record<keyof typeof clients, number[]> = { plain: [], gateway: [] };
    for (const client of Object.values(clients)) for (let i = 0; i < options.warmup; i++) await call(client);
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? (['plain', 'gateway'] as const) : (['gateway', 'plain'] as const);
      for (const name of order) {
        const t0 = performance.now();
        for (let i = 0; i < options.callsPerRound; i++) await call(clients[name]);
        perRound[name].push(((performance.now() - t0) * 1000) / options.callsPerRound);
      }
    }
    return { era, plainUs: median(perRound.plain), gatewayUs: median(perRound.gateway) };
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.close().catch(() => {})));
    await gateway.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
