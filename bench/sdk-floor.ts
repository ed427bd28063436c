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
 *
 * The backend leg is measured the same way: the SDK client the gateway uses (results passed through
 * unvalidated, as src/backends/backend.ts does) against what the relay does instead — newline JSON-RPC
 * to the stdio fixture, or one fetch per call to the HTTP fixture's 2025 session — on the same fixture.
 *
 * These are CPU per call in one thread; in the served gateway, work done after a response is written
 * (closing the per-request server, say) overlaps the client instead of adding to its latency.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, Server } from '@modelcontextprotocol/server';
import { createAuthenticator } from '../src/access/authenticate.js';
import { parseConfig } from '../src/config/load.js';
import { createHttpApp } from '../src/http/app.js';
import { silentLogger } from '../src/log.js';
import { ECHO_ARGS, type Era, fixturePath, median, startHttpFixture, stdioClient, trackPid } from './util.js';

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

function fixedServer(): Server {
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
    if (era === '2026' && body.method !== 'tools/call')
      return setup.fetch(new Request(request.url, { method: 'POST', headers: request.headers, body: text }));
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
  // In-process: a constructed Request carries no Host header, so the Host check reads the URL's host
  // (127.0.0.1, no port: port 80). The checks and the no-auth authenticator run as in a served gateway.
  const config = parseConfig('{}', { file: 'sdk-floor.yaml' });
  const open = createAuthenticator(undefined, { resourceMetadataUrl: 'http://127.0.0.1/.well-known/oauth-protected-resource' });
  const http = createHttpApp({
    config: () => config,
    port: () => 80,
    authenticator: () => open,
    newMcpServer: fixedServer,
    health: () => ({}),
    logger: silentLogger(),
  });
  return { handler: async (request) => http.app.fetch(request), close: () => http.close() };
}

async function connect(era: Era, handler: Handler): Promise<Client> {
  const client = new Client(
    { name: `floor-${era}`, version: '1.0.0' },
    { versionNegotiation: { mode: era === '2026' ? { pin: '2026-07-28' } : 'legacy' } },
  );
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), {
    fetch: (url, init) => handler(new Request(url, init)),
  });
  await client.connect(transport);
  return client;
}

const call = (client: Client) => client.request({ method: 'tools/call', params: { name: 'fixed', arguments: {} } });

/** Two ways of making the same call, warmed up, then timed in rounds that alternate which goes first: µs per call, median of rounds. */
async function alternate(a: () => Promise<unknown>, b: () => Promise<unknown>, options: SdkFloorOptions): Promise<[number, number]> {
  const ways = [a, b];
  const perRound: [number[], number[]] = [[], []];
  for (const way of ways) for (let i = 0; i < options.warmup; i++) await way();
  for (let r = 0; r < options.rounds; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = performance.now();
      for (let i = 0; i < options.callsPerRound; i++) await ways[k]!();
      perRound[k]!.push(((performance.now() - t0) * 1000) / options.callsPerRound);
    }
  }
  return [median(perRound[0]), median(perRound[1])];
}

export async function measureSdkFloor(era: '2025' | '2026', options: SdkFloorOptions): Promise<SdkFloorResult> {
  const gateway = gatewayHandler();
  const opened: Client[] = [];
  const open = async (handler: Handler) => {
    const client = await connect(era, handler);
    opened.push(client);
    return client;
  };
  try {
    const plain = await open(plainHandler(era));
    const served = await open(gateway.handler);
    const [plainUs, gatewayUs] = await alternate(
      () => call(plain),
      () => call(served),
      options,
    );
    return { era, plainUs, gatewayUs };
  } finally {
    await Promise.all(opened.map((c) => c.close().catch(() => {})));
    await gateway.close();
  }
}

export interface BackendLegResult {
  backend: 'stdio' | 'http';
  /** µs per call, median over rounds */
  rawUs: number;
  sdkUs: number;
}

/**
 * As src/backends/backend.ts forwards a call: the result not validated, and the front request's abort
 * signal passed along (a fresh one per call here), which also keeps undici from hanging one listener
 * per request on the transport's shared signal.
 */
const forward = () => ({ signal: new AbortController().signal });
/** No validation of the result on the backend leg, as the gateway forwards it. */
const PASS_THROUGH = { '~standard': { version: 1 as const, vendor: 'bench', validate: (value: unknown) => ({ value }) } };
const ECHO = { method: 'tools/call', params: { name: 'echo', arguments: ECHO_ARGS } };

type Caller = { call: () => Promise<unknown>; close: () => Promise<void> };

async function sdkCaller(backend: 'stdio' | 'http'): Promise<Caller> {
  if (backend === 'stdio') {
    const client = await stdioClient(['--name', 'leg-sdk']);
    return { call: () => client.request(ECHO, PASS_THROUGH, forward()), close: () => client.close() };
  }
  const fixture = await startHttpFixture();
  const client = new Client({ name: 'leg-sdk', version: '1.0.0' }, { versionNegotiation: { mode: 'legacy' } });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(fixture.url)));
  } catch (error) {
    await fixture.child.stop();
    throw error;
  }
  return {
    call: () => client.request(ECHO, PASS_THROUGH, forward()),
    close: async () => {
      await client.close();
      await fixture.child.stop();
    },
  };
}

/** The relay's way: one JSON line per call to the child's stdin, the answer matched by id. */
async function rawStdioCaller(): Promise<Caller> {
  const child = spawn(process.execPath, [fixturePath, '--name', 'leg-raw'], { stdio: ['pipe', 'pipe', 'ignore'] });
  trackPid(child.pid);
  const waiting = new Map<number, (message: unknown) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as { id?: number };
    if (message.id === undefined) return;
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  let nextId = 0;
  const send = (method: string, params: unknown) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve);
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  await send('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'leg-raw', version: '1.0.0' } });
  child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  return {
    call: () => send(ECHO.method, ECHO.params),
    close: async () => {
      child.stdin!.end();
      child.kill('SIGTERM');
    },
  };
}

/** The relay's way over HTTP: one fetch per call in the 2025 session, the body read and its JSON-RPC message parsed. */
async function rawHttpCaller(): Promise<Caller> {
  const fixture = await startHttpFixture();
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const post = async (body: unknown) => {
    const res = await fetch(fixture.url, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    return { res, text };
  };
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'leg-raw', version: '1.0.0' } },
  });
  headers['mcp-session-id'] = init.res.headers.get('mcp-session-id') ?? '';
  headers['mcp-protocol-version'] = '2025-06-18';
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  let nextId = 0;
  return {
    call: async () => {
      const { text } = await post({ jsonrpc: '2.0', id: ++nextId, ...ECHO });
      const json = text.startsWith('{') ? text : (text.split('\n').find((l) => l.startsWith('data: ')) ?? '').slice('data: '.length);
      return JSON.parse(json) as unknown;
    },
    close: () => fixture.child.stop(),
  };
}

export async function measureBackendLeg(backend: 'stdio' | 'http', options: SdkFloorOptions): Promise<BackendLegResult> {
  const callers: Record<'raw' | 'sdk', Caller | undefined> = { raw: undefined, sdk: undefined };
  try {
    callers.raw = backend === 'stdio' ? await rawStdioCaller() : await rawHttpCaller();
    callers.sdk = await sdkCaller(backend);
    const [rawUs, sdkUs] = await alternate(callers.raw.call, callers.sdk.call, options);
    return { backend, rawUs, sdkUs };
  } finally {
    await Promise.all(Object.values(callers).map((c) => c?.close().catch(() => {})));
  }
}
