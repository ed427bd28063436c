/**
 * `npm run fuzz` — bounded, loopback-only robustness run against a real gateway (in this process, one
 * fixture backend): malformed JSON-RPC, random methods and arguments in both protocol eras, huge and
 * slow bodies, bad headers, random HTTP methods and paths. Prints requests tried, crashes (uncaught
 * exceptions or unhandled rejections in the process), 5xx answers, status counts, and the event loop's
 * max delay measured inside the process with perf_hooks.monitorEventLoopDelay (the gateway and this
 * fuzzer share the loop, so the figure is an upper bound for the gateway's own; a warm-up call that loads
 * the client SDK and starts the backend comes before the measurement).
 *
 *   node --import tsx bench/fuzz.ts [--requests N] [--concurrency C] [--seed S]
 * Exits 1 when there was a crash or a 5xx.
 */
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { startGateway } from '../src/server.js';
import { fixturePath } from './util.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
  },
});
const TOTAL = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const BODY_LIMIT = 64 * 1024;
const BODY_TIMEOUT_MS = 200;

/** mulberry32: a seeded generator, so a run can be repeated. */
let state = Number(values.seed) >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (max: number) => Math.floor(random() * max);

function randomValue(depth = 0): unknown {
  switch (int(depth > 2 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return pick([0, -1, 1e308, 2 ** 53 + 1, Number.NaN, 3.14]);
    case 3:
      return pick(['', 'fx', 'echo', 'slow', '*', '../../etc/passwd', '\u0000', 'é✓𝄞', 'x'.repeat(int(5000))]);
    case 4:
      return pick(['list_servers', 'list_tools', 'search_tools', 'invoke', 'tools/call']);
    case 5:
      return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: int(4) }, () => [
          pick(['server', 'tool', 'arguments', 'query', 'limit', 'ms', '__proto__', 'a']),
          randomValue(depth + 1),
        ]),
      );
  }
}

const METHODS = [
  'initialize',
  'tools/list',
  'tools/call',
  'ping',
  'server/discover',
  'resources/list',
  'prompts/get',
  'subscriptions/listen',
  'notifications/initialized',
  'notifications/cancelled',
  'completion/complete',
  'logging/setLevel',
  'nonsense/method',
  '',
];
const META_2026 = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' },
};

interface Shot {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Send only this many bytes of the body, then stall (slow body). */
  stallAfter?: number;
  /** Send the body without Content-Length (chunked). */
  chunked?: boolean;
}

function rpcMessage(era: '2025' | '2026'): Record<string, unknown> {
  const method = pick(METHODS);
  const message: Record<string, unknown> = { jsonrpc: pick(['2.0', '2.0', '2.0', '1.0', 2]), method };
  if (random() < 0.85) message.id = pick([int(1e6), `id-${int(100)}`, null, {}, -1]);
  let params: unknown = randomValue();
  if (method === 'tools/call') {
    const tool = pick(['list_servers', 'list_tools', 'search_tools', 'invoke', 'nope']);
    const args =
      tool === 'invoke'
        ? { server: pick(['fx', 'nope', '']), tool: pick(['echo', 'fail_with_structure', 'pid', 'nope', 'slow']), arguments: randomValue() }
        : tool === 'search_tools'
          ? { query: pick(['echo', 'x'.repeat(int(20_000)), '', 'slow tool']), limit: pick([1, 5, 0, -1, 1e9]) }
          : randomValue();
    if (tool === 'invoke' && (args as { tool: string }).tool === 'slow') (args as { arguments: unknown }).arguments = { ms: int(300) };
    params = { name: tool, arguments: args };
  }
  if (method === 'initialize')
    params = { protocolVersion: pick(['2025-11-25', '2025-03-26', '1999-01-01', 7]), capabilities: {}, clientInfo: {} };
  if (era === '2026' && params && typeof params === 'object' && !Array.isArray(params) && random() < 0.8)
    (params as Record<string, unknown>)._meta = META_2026;
  if (random() < 0.9) message.params = params;
  return message;
}

function shot(port: number): Shot {
  const era = pick(['2025', '2026'] as const);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': era === '2026' ? '2026-07-28' : pick(['2025-11-25', '2025-06-18', '2025-03-26']),
  };
  const base: Shot = { method: 'POST', path: '/mcp', headers };
  switch (int(10)) {
    case 0: // malformed JSON
      return { ...base, body: pick(['{', '{"jsonrpc":"2.0",', 'null', '[]', '[[[[', '\u0000\u0001', '{"a":1}}', 'x'.repeat(int(1000))]) };
    case 1: // a batch
      return { ...base, body: JSON.stringify(Array.from({ length: int(6) }, () => rpcMessage(era))) };
    case 2: // huge body: declared or chunked
      return { ...base, body: Buffer.alloc(BODY_LIMIT + 1 + int(BODY_LIMIT), 0x61), chunked: random() < 0.5 };
    case 3: // slow body
      return { ...base, body: JSON.stringify(rpcMessage(era)), stallAfter: int(20) };
    case 4: {
      // bad headers
      const bad = { ...headers };
      const which = int(7);
      if (which === 0)
        bad['content-type'] = pick(['text/plain', 'application/x-www-form-urlencoded', '', 'application/json; charset=utf-16']);
      if (which === 1) bad.accept = pick(['text/html', '', '*/*']);
      if (which === 2) bad['mcp-protocol-version'] = pick(['', 'garbage', '2099-01-01', '2026-07-28, 2025-11-25']);
      if (which === 3) bad['mcp-session-id'] = pick(['', 'nope', 'x'.repeat(2000), '../../']);
      if (which === 4) bad.host = pick(['evil.example.com', `localhost:${port + 1}`, '[::1', 'a b']);
      if (which === 5) bad.origin = pick(['http://evil.example.com', 'null', `http://localhost:${port + 1}`, 'garbage']);
      if (which === 6) bad.authorization = pick(['Bearer', 'Basic Zm9vOmJhcg==', `Bearer ${'x'.repeat(5000)}`]);
      return { ...base, headers: bad, body: JSON.stringify(rpcMessage(era)) };
    }
    case 5: // random HTTP method / path
      return {
        method: pick(['GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD', 'POST']),
        path: pick(['/mcp', '/health', '/admin/reload', '/admin/x', '/.well-known/oauth-protected-resource', '/nope', '/mcp/../health']),
        headers,
        body: random() < 0.5 ? JSON.stringify(rpcMessage(era)) : undefined,
      };
    default:
      return { ...base, body: JSON.stringify(rpcMessage(era)) };
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** Resolves with the status (0 when the connection ended without one). Never rejects. */
function send(port: number, s: Shot): Promise<number> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number) => {
      if (!done) {
        done = true;
        resolve(status);
      }
    };
    const headers = { ...s.headers };
    if (s.body !== undefined && !s.chunked) headers['content-length'] = String(Buffer.byteLength(s.body));
    const req = request(
      { host: '127.0.0.1', port, method: s.method, path: s.path, headers, agent: s.stallAfter === undefined ? agent : false },
      (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode ?? 0));
        res.on('error', () => finish(res.statusCode ?? 0));
        // An SSE stream that stays open (a GET listener) is read briefly, then dropped.
        setTimeout(() => {
          finish(res.statusCode ?? 0);
          req.destroy();
        }, 2_000).unref();
      },
    );
    req.on('error', () => finish(0));
    if (s.body === undefined) req.end();
    else if (s.stallAfter !== undefined)
      req.write(Buffer.from(s.body).subarray(0, s.stallAfter)); // never ended: the gateway must cut it off
    else req.end(s.body);
  });
}

async function main(): Promise<void> {
  let crashes = 0;
  process.on('uncaughtException', (error) => {
    crashes++;
    console.error('uncaught:', error);
  });
  process.on('unhandledRejection', (error) => {
    crashes++;
    console.error('unhandled rejection:', error);
  });

  const config = parseConfig(
    JSON.stringify({
      server: { port: 0, watch: false },
      limits: { max_body_bytes: BODY_LIMIT, body_timeout_ms: BODY_TIMEOUT_MS, max_sessions: 50 },
      backends: { fx: { command: process.execPath, args: [fixturePath] } },
      capability_dirs: [],
    }),
    { file: `${process.cwd()}/fuzz.yaml` },
  );
  const gateway = await startGateway(config);
  // Warm-up outside the measurement: the first call loads the client SDK and starts the backend.
  await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'tools/call', params: { name: 'list_servers', arguments: {} } }),
  }).then((r) => r.text());
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const statuses = new Map<number, number>();
  let tried = 0;
  const started = performance.now();
  const worker = async () => {
    while (tried < TOTAL) {
      tried++;
      const status = await send(gateway.port, shot(gateway.port));
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  loop.disable();
  const health = await fetch(gateway.url.replace(/\/mcp$/, '/health')).then((r) => r.status);
  agent.destroy();
  await gateway.close();

  const fiveXx = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
  const table = [...statuses].sort(([a], [b]) => a - b).map(([s, c]) => `${s === 0 ? 'no answer' : s}: ${c}`);
  console.log(
    `requests tried: ${tried} in ${((performance.now() - started) / 1000).toFixed(1)} s (seed ${values.seed}, concurrency ${CONCURRENCY})`,
  );
  console.log(`crashes: ${crashes}`);
  console.log(`5xx: ${fiveXx}`);
  console.log(`statuses: ${table.join(', ')}`);
  console.log(`event loop delay (in process): max ${(loop.max / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms`);
  console.log(`/health after the run: ${health}`);
  process.exitCode = crashes > 0 || fiveXx > 0 || health !== 200 ? 1 : 0;
}

await main();
