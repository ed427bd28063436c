import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import { CLIENT_KINDS, type CallResult, connectClient, eventually, type FrontClient, fixtureBackend, startTestGateway } from './helpers.js';

/** A JSON-RPC response as it comes over the wire. */
interface RpcResponse {
  jsonrpc?: string;
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

const MCP_ACCEPT = 'application/json, text/event-stream';
const META_TOOLS = ['list_servers', 'list_tools', 'search_tools', 'invoke'];

const toolsList = (id = 1) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' });
const initialize = (protocolVersion: string, id = 1) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-http-test', version: '1.0.0' } },
  });

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers }, body });
}

/** The one JSON-RPC message of a response, whether it came as JSON or as a one-message SSE stream. */
async function rpcBody(response: Response): Promise<RpcResponse> {
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const messages = text
      .split('\n')
      .filter((line) => line.startsWith('data:') && line.slice(5).trim() !== '')
      .map((line) => JSON.parse(line.slice('data:'.length)) as RpcResponse)
      .filter((m) => 'result' in m || 'error' in m);
    expect(messages, `one JSON-RPC response in the SSE stream: ${text}`).toHaveLength(1);
    return messages[0]!;
  }
  return JSON.parse(text) as RpcResponse;
}

function toolNames(message: RpcResponse): string[] {
  return ((message.result?.tools ?? []) as Array<{ name: string }>).map((t) => t.name);
}

/** node:http, because fetch does not let a caller set the Host header. */
function rawPost(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Pids of live processes whose command line contains `marker` as one argument (Linux /proc). */
function pidsWithArg(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(marker)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function healthUrl(gateway: RunningGateway): string {
  return gateway.url.replace(/\/mcp$/, '/health');
}

describe('GET /health', () => {
  const marker = `health-probe-${process.pid}-${Date.now()}`;
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ backends: { fx: fixtureBackend(['--name', marker]) } });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('answers 200 with every backend idle and starts nothing', async () => {
    const response = await fetch(healthUrl(gateway));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok', backends: { fx: 'idle' }, circuits: { fx: 'closed' }, sessions: 0 });

    expect(gateway.pool.get('fx')!.status().state).toBe('idle');
    expect(pidsWithArg(marker)).toEqual([]);
    expect(await (await fetch(healthUrl(gateway))).json()).toEqual({
      status: 'ok',
      backends: { fx: 'idle' },
      circuits: { fx: 'closed' },
      sessions: 0,
    });

    // Control: using the backend does start a process we can see, and /health reports it.
    const client = await connectClient('v2-2025', gateway.url);
    try {
      await client.call('list_tools', { server: 'fx' }); // waits for the backend's start
      expect(await (await fetch(healthUrl(gateway))).json()).toMatchObject({ sessions: 1 });
    } finally {
      await client.close();
    }
    expect(pidsWithArg(marker)).toHaveLength(1);
    expect(await (await fetch(healthUrl(gateway))).json()).toMatchObject({
      status: 'ok',
      backends: { fx: 'ready' },
      circuits: { fx: 'closed' },
    });
  });
});

describe('POST /mcp: raw HTTP', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ backends: { fx: fixtureBackend() } });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  describe('DNS rebinding protection', () => {
    it('rejects a foreign Host header with 403', async () => {
      const rejected = await rawPost(gateway.url, toolsList(), { host: 'evil.example.com', 'mcp-protocol-version': '2025-11-25' });
      expect(rejected.status).toBe(403);
      expect((JSON.parse(rejected.body) as RpcResponse).error?.message).toMatch(/host/i);

      // Control: the same raw request with a localhost Host header is served.
      const accepted = await rawPost(gateway.url, toolsList(), { host: `localhost:${gateway.port}`, 'mcp-protocol-version': '2025-11-25' });
      expect(accepted.status).toBe(200);
    });

    it('rejects a foreign Origin with 403', async () => {
      const response = await post(gateway.url, toolsList(), { origin: 'http://evil.example.com', 'mcp-protocol-version': '2025-11-25' });
      expect(response.status).toBe(403);
      expect((await rpcBody(response)).error?.message).toMatch(/origin/i);
    });

    it("accepts a localhost Origin only on the gateway's own port", async () => {
      const own = await post(gateway.url, toolsList(), {
        origin: `http://localhost:${gateway.port}`,
        'mcp-protocol-version': '2025-11-25',
      });
      expect(own.status).toBe(200);
      expect(toolNames(await rpcBody(own))).toEqual(META_TOOLS);
      const otherPort = await post(gateway.url, toolsList(), { origin: 'http://localhost:1234', 'mcp-protocol-version': '2025-11-25' });
      expect(otherPort.status).toBe(403);
    });
  });

  describe('bad bodies', () => {
    it('answers malformed JSON with a JSON-RPC Parse error (-32700), not plain text', async () => {
      const response = await post(gateway.url, '{not json', { 'mcp-protocol-version': '2025-11-25' });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = JSON.parse(await response.text()) as RpcResponse;
      expect(body.jsonrpc).toBe('2.0');
      expect(body.error?.code).toBe(-32700);
      expect(body.id).toBeNull();
    });

    it('answers JSON that is not JSON-RPC with Invalid Request (-32600) and keeps serving', async () => {
      const eras: Array<Record<string, string>> = [{ 'mcp-protocol-version': '2025-11-25' }, {}];
      for (const headers of eras) {
        const response = await post(gateway.url, '{"foo":1}', headers);
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        const body = await rpcBody(response);
        expect(body.jsonrpc).toBe('2.0');
        expect(body.error?.code).toBe(-32600);
      }
      const after = await post(gateway.url, toolsList(7), { 'mcp-protocol-version': '2025-11-25' });
      expect(after.status).toBe(200);
      const message = await rpcBody(after);
      expect(message.id).toBe(7);
      expect(toolNames(message)).toEqual(META_TOOLS);
    });
  });

  describe('2025 sessionful lane', () => {
    it('issues a session id on initialize; unknown ids get 404; DELETE ends the session', async () => {
      const init = await post(gateway.url, initialize('2025-11-25'));
      expect(init.status).toBe(200);
      const sessionId = init.headers.get('mcp-session-id');
      expect(sessionId).toBeTruthy();
      const initResult = await rpcBody(init);
      expect(initResult.result?.protocolVersion).toBe('2025-11-25');
      expect(initResult.result?.serverInfo).toMatchObject({ name: 'meta-mcp-gateway' });

      const sessionHeaders = { 'mcp-session-id': sessionId!, 'mcp-protocol-version': '2025-11-25' };
      const initialized = await post(gateway.url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), sessionHeaders);
      expect(initialized.status).toBe(202);
      const inSession = await post(gateway.url, toolsList(2), sessionHeaders);
      expect(inSession.status).toBe(200);
      expect(toolNames(await rpcBody(inSession))).toEqual(META_TOOLS);

      const unknown = await post(gateway.url, toolsList(3), { 'mcp-session-id': 'does-not-exist', 'mcp-protocol-version': '2025-11-25' });
      expect(unknown.status).toBe(404);
      const unknownBody = await rpcBody(unknown);
      expect(unknownBody.jsonrpc).toBe('2.0');
      expect(unknownBody.error?.code).toEqual(expect.any(Number));

      const deleted = await fetch(gateway.url, { method: 'DELETE', headers: sessionHeaders });
      expect(deleted.status).toBe(200);
      const afterDelete = await post(gateway.url, toolsList(4), sessionHeaders);
      expect(afterDelete.status).toBe(404);
      expect((await rpcBody(afterDelete)).error).toBeDefined();
    });

    it.each(['2025-06-18', '2025-03-26'])('accepts initialize with protocol version %s and echoes it', async (version) => {
      const init = await post(gateway.url, initialize(version));
      expect(init.status).toBe(200);
      const sessionId = init.headers.get('mcp-session-id');
      expect(sessionId).toBeTruthy();
      expect((await rpcBody(init)).result?.protocolVersion).toBe(version);
      const deleted = await fetch(gateway.url, {
        method: 'DELETE',
        headers: { 'mcp-session-id': sessionId!, 'mcp-protocol-version': version },
      });
      expect(deleted.status).toBe(200);
    });

    it('serves a bare 2025 tools/list without session or initialize (stateless lane)', async () => {
      const response = await post(gateway.url, toolsList(11), { 'mcp-protocol-version': '2025-11-25' });
      expect(response.status).toBe(200);
      expect(response.headers.get('mcp-session-id')).toBeNull();
      const message = await rpcBody(response);
      expect(message.id).toBe(11);
      expect(toolNames(message)).toEqual(META_TOOLS);
    });
  });
});

describe('cancellation and progress through invoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-http-test-'));
  const cancelFile = join(dir, 'cancellations.log');
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ backends: { fx: fixtureBackend([], { env: { FIXTURE_CANCEL_FILE: cancelFile } }) } });
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cancelledLines = () => {
    try {
      return readFileSync(cancelFile, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  const cancellationCount = async (client: FrontClient) => {
    const result = await client.call('invoke', { server: 'fx', tool: 'cancellations' });
    expect(result.isError).toBeFalsy();
    return (result.structuredContent as { count: number }).count;
  };

  it.each(CLIENT_KINDS)('a %s client cancelling invoke(slow) cancels the backend call', async (kind) => {
    const client = await connectClient(kind, gateway.url);
    try {
      const before = await cancellationCount(client); // also starts the backend, so the slow call reaches it at once
      const linesBefore = cancelledLines();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('test cancels')), 300);
      try {
        await expect(
          client.call('invoke', { server: 'fx', tool: 'slow', arguments: { ms: 20_000 } }, { signal: controller.signal }),
        ).rejects.toThrow();
      } finally {
        clearTimeout(timer);
      }
      await eventually(async () => (await cancellationCount(client)) > before, `the fixture counted a cancellation (${kind})`, 50);
      expect(await cancellationCount(client)).toBe(before + 1);
      expect(cancelledLines()).toBe(linesBefore + 1);
    } finally {
      await client.close();
    }
  });

  it.each(CLIENT_KINDS)('a %s client receives the backend progress notifications of invoke(slow)', async (kind) => {
    const client = await connectClient(kind, gateway.url);
    try {
      const progress: number[] = [];
      const result: CallResult = await client.call(
        'invoke',
        { server: 'fx', tool: 'slow', arguments: { ms: 600 } },
        { onprogress: (p) => progress.push(p.progress) },
      );
      expect(result.isError).toBeFalsy();
      expect(result.content).toEqual([{ type: 'text', text: 'slept 600' }]);
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    } finally {
      await client.close();
    }
  });
});
