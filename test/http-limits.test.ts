import { connect } from 'node:net';
import { Client as ClientV2, SdkHttpError, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHttp } from './http-harness.js';
import { eventually } from './helpers.js';

const toolsList = (padding = '') => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { padding } } });
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };

/**
 * Raw bytes over one TCP connection: sends the head and `body` (maybe less than Content-Length says),
 * then waits for the server to answer and close. Resolves with what came back.
 */
function rawExchange(port: number, head: string, body: string): Promise<{ response: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('end', () => resolve({ response, closedByServer: true }));
    socket.on('error', reject);
    socket.write(head + body);
  });
}

describe('request body limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHttp({ config: { limits: { max_body_bytes: 2048, body_timeout_ms: 300 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 413 for a body over max_body_bytes, declared or chunked, and serves one under it', async () => {
    const small = await fetch(h.url, { method: 'POST', headers: HEADERS, body: toolsList('x'.repeat(1500)) });
    expect(small.status).toBe(200);
    const big = toolsList('x'.repeat(3000));
    const declared = await fetch(h.url, { method: 'POST', headers: HEADERS, body: big });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.message).toMatch(/2048 bytes/);
    // No Content-Length: the limit holds on the bytes that actually arrive.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const chunked = await fetch(h.url, { method: 'POST', headers: HEADERS, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it('answers 408 and closes the connection when the body stalls past body_timeout_ms (slowloris)', async () => {
    const body = toolsList();
    const head = [
      'POST /mcp HTTP/1.1',
      `Host: 127.0.0.1:${h.port}`,
      'Content-Type: application/json',
      'Accept: application/json, text/event-stream',
      'MCP-Protocol-Version: 2025-11-25',
      `Content-Length: ${body.length}`,
      '',
      '',
    ].join('\r\n');
    // Half the body, then nothing: the server must not wait for the rest forever.
    const { response, closedByServer } = await rawExchange(h.port, head, body.slice(0, 10));
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(response).toMatch(/Request Timeout/);
    expect(closedByServer).toBe(true);
  });
});

describe('session cap (least recently used closed first) and idle limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHttp({ config: { limits: { max_sessions: 2 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a v2 client whose session was evicted gets 404 and works again after connecting anew', async () => {
    const open = async () => {
      const client = new ClientV2({ name: 'cap-v2', version: '1' }, { versionNegotiation: { mode: 'legacy' } });
      await client.connect(new TransportV2(new URL(h.url)));
      return client;
    };
    const a = await open();
    const b = await open();
    await a.listTools(); // a is now the most recently used, b the least
    const c = await open();
    expect(h.http.sessionCount()).toBe(2);
    expect((await a.listTools()).tools.map((t) => t.name)).toEqual(['whoami']);
    expect((await c.listTools()).tools.map((t) => t.name)).toEqual(['whoami']);

    // b was evicted: the SDK surfaces the 404 (it does not re-initialize by itself) ...
    const error = await b.listTools().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SdkHttpError);
    expect((error as SdkHttpError).status).toBe(404);
    // ... and a new connection (initialize) recovers.
    await b.close();
    const again = await open();
    expect((await again.listTools()).tools.map((t) => t.name)).toEqual(['whoami']);
    expect(h.http.sessionCount()).toBe(2);
    await Promise.all([a.close(), c.close(), again.close()]);
  });

  it('a v1 client whose session was evicted gets 404 and works again after connecting anew', async () => {
    const open = async () => {
      const client = new ClientV1({ name: 'cap-v1', version: '1' });
      await client.connect(new TransportV1(new URL(h.url)));
      return client;
    };
    const a = await open();
    await open();
    await open(); // evicts a
    const error = await a.listTools().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(404);
    await a.close();
    const again = await open();
    expect((await again.listTools()).tools.map((t) => t.name)).toEqual(['whoami']);
    expect(h.http.sessionCount()).toBe(2);
  });
});

describe('the session cap is fair between keys', () => {
  let h: Harness;
  const keys = { flood: 'flood-token-0123456789', quiet: 'quiet-token-0123456789' };
  beforeAll(async () => {
    h = await startHttp({
      config: {
        limits: { max_sessions: 3 },
        auth: {
          keys: [
            { name: 'flood', token: keys.flood },
            { name: 'quiet', token: keys.quiet },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a key opening sessions in a loop evicts its own, not another key’s', async () => {
    const open = async (token: string) => {
      const client = new ClientV2({ name: 'fair', version: '1' }, { versionNegotiation: { mode: 'legacy' } });
      await client.connect(new TransportV2(new URL(h.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      return client;
    };
    const quiet = await open(keys.quiet); // the least recently used session of all
    const flood = [];
    for (let i = 0; i < 5; i++) flood.push(await open(keys.flood));
    expect(h.http.sessionCount()).toBe(3);
    expect((await quiet.listTools()).tools.map((t) => t.name)).toEqual(['whoami']);
    await Promise.all([quiet, ...flood].map((c) => c.close()));
  });
});

describe('idle sessions are closed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHttp({ config: { limits: { session_idle_ms: 1000 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('after session_idle_ms without a request the session is gone (count 0, its client gets 404)', async () => {
    const client = new ClientV1({ name: 'idle-v1', version: '1' });
    await client.connect(new TransportV1(new URL(h.url)));
    expect(h.http.sessionCount()).toBe(1);
    await eventually(() => h.http.sessionCount() === 0, 'the idle session was closed', 50);
    const error = await client.listTools().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as StreamableHTTPError).code).toBe(404);
    await client.close();
  });
});
