import { request as httpRequest } from 'node:http';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHttp } from './http-harness.js';
import { coalesce } from '../src/http/admin.js';
import { CLIENT_KINDS, type ClientKind, eventually } from './helpers.js';

const ALICE = 'alice-token-0123456789abcdef'; // admin
const BOB = 'bob-token-0123456789abcdefgh';
const AUTH = {
  keys: [
    { name: 'alice', token: ALICE, admin: true },
    { name: 'bob', token: BOB },
  ],
};
const ACCEPT = 'application/json, text/event-stream';
const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

/** node:http, because fetch does not let a caller set Host. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: options.method ?? 'POST', headers: options.headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const mcpHeaders = (extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  accept: ACCEPT,
  'mcp-protocol-version': '2025-11-25',
  ...extra,
});

async function whoami(kind: ClientKind, url: string, token: string): Promise<string> {
  const requestInit = { headers: { Authorization: `Bearer ${token}` } };
  const info = { name: `sec-${kind}`, version: '1.0.0' };
  if (kind === 'v1') {
    const client = new ClientV1(info);
    await client.connect(new TransportV1(new URL(url), { requestInit }));
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      return (result.content as Array<{ text: string }>)[0]!.text;
    } finally {
      await client.close();
    }
  }
  const client = new ClientV2(info, { versionNegotiation: { mode: kind === 'v2-2026' ? { pin: '2026-07-28' } : 'legacy' } });
  await client.connect(new TransportV2(new URL(url), { requestInit }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return (result.content as Array<{ text: string }>)[0]!.text;
  } finally {
    await client.close();
  }
}

const denials = (h: Harness) => h.logs.filter((line) => line.audit === 'denied');

describe('authentication on /mcp', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHttp({ config: { auth: AUTH } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a request without a token or with a wrong one: 401, WWW-Authenticate, JSON-RPC body, one audit line without the token', async () => {
    const before = denials(h).length;
    const none = await raw(h.url, { headers: mcpHeaders(), body: toolsList });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(JSON.parse(none.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 }, id: null });

    const wrongToken = 'wrong-token-0123456789abcdef';
    const wrong = await raw(h.url, { headers: mcpHeaders({ authorization: `Bearer ${wrongToken}` }), body: toolsList });
    expect(wrong.status).toBe(401);

    const lines = denials(h).slice(before);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatchObject({ path: '/mcp', reason: expect.any(String), time: expect.any(Number) });
    expect(JSON.stringify(h.logs)).not.toContain(wrongToken);
  });

  it.each(CLIENT_KINDS)('serves a %s client as the key it presented', async (kind) => {
    expect(await whoami(kind, h.url, ALICE)).toBe('alice');
    expect(await whoami(kind, h.url, BOB)).toBe('bob');
  });

  it('a 2025 session belongs to the key that opened it: another key gets 404 Session not found', async () => {
    const init = await raw(h.url, { headers: mcpHeaders({ authorization: `Bearer ${ALICE}` }), body: initialize });
    expect(init.status).toBe(200);
    const session = init.headers['mcp-session-id'] as string;
    expect(session).toBeTruthy();

    const stranger = await raw(h.url, {
      headers: mcpHeaders({ authorization: `Bearer ${BOB}`, 'mcp-session-id': session }),
      body: toolsList,
    });
    expect(stranger.status).toBe(404);
    expect(JSON.parse(stranger.body).error.message).toBe('Session not found');

    const owner = await raw(h.url, {
      headers: mcpHeaders({ authorization: `Bearer ${ALICE}`, 'mcp-session-id': session }),
      body: toolsList,
    });
    expect(owner.status).toBe(200);
  });

  it('/health needs no token; the OAuth metadata is 404 when OAuth is not configured', async () => {
    expect((await fetch(`${h.origin}/health`)).status).toBe(200);
    expect((await fetch(`${h.origin}/.well-known/oauth-protected-resource`)).status).toBe(404);
  });
});

describe('/admin', () => {
  let h: Harness;
  let reloads = 0;
  let release: () => void = () => {};
  beforeAll(async () => {
    h = await startHttp({
      config: { auth: AUTH },
      reload: async () => {
        reloads++;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return { ok: true, run: reloads };
      },
    });
  });
  afterAll(async () => {
    release();
    await h?.close();
  });

  const reload = (token: string | undefined, contentType = 'application/json', body = '{}') =>
    fetch(`${h.origin}/admin/reload`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });

  it('needs a token (401) and an admin key (403, logged with the key name)', async () => {
    expect((await reload(undefined)).status).toBe(401);
    const before = denials(h).length;
    const bob = await reload(BOB);
    expect(bob.status).toBe(403);
    expect(denials(h).slice(before)).toEqual([expect.objectContaining({ key: 'bob', path: '/admin/reload' })]);
    expect(reloads).toBe(0);
  });

  it('refuses a text/plain POST (what a cross-site form can send) with 415 and does not reload', async () => {
    const response = await reload(ALICE, 'text/plain', '{}');
    expect(response.status).toBe(415);
    expect(reloads).toBe(0);
  });

  it('coalesces concurrent reloads into one run; a request after it finished starts a new one', async () => {
    const first = reload(ALICE);
    await eventually(() => reloads === 1, 'the first reload started');
    const others = [reload(ALICE, 'application/json', ''), reload(ALICE)];
    // The two later requests must reach the gateway while the run is held open; loopback needs far less than this.
    await new Promise((r) => setTimeout(r, 300));
    release();
    const answers = await Promise.all([first, ...others].map(async (r) => [(await r).status, await (await r).json()]));
    expect(answers).toEqual([
      [200, { ok: true, run: 1 }],
      [200, { ok: true, run: 1 }],
      [200, { ok: true, run: 1 }],
    ]);
    const next = reload(ALICE);
    await eventually(() => reloads === 2, 'a reload after the first finished started a new run');
    release();
    expect(await (await next).json()).toEqual({ ok: true, run: 2 });
  });

  it('coalesce(): callers during a run share it, a caller after it starts another', async () => {
    let runs = 0;
    let finish: (value: number) => void = () => {};
    const run = coalesce(() => {
      runs++;
      return new Promise<number>((resolve) => {
        finish = resolve;
      });
    });
    const a = run();
    const b = run();
    expect(a).toBe(b);
    finish(1);
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    const c = run();
    expect(c).not.toBe(a);
    finish(2);
    expect(await c).toBe(2);
    expect(runs).toBe(2);
  });
});

describe('loopback without auth: the local user is admin', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHttp({ reload: async () => ({ ok: true }) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reloads without a token', async () => {
    const response = await fetch(`${h.origin}/admin/reload`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
  });
});

describe('Origin and Host checks compare the port', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHttp({
      config: {
        server: {
          allowed_origins: ['https://app.example.com'],
          allowed_hosts: ['gw.example.com', 'pinned.example.com:8443'],
        },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const withOrigin = (origin: string) => raw(h.url, { headers: mcpHeaders({ origin }), body: toolsList });
  const withHost = (host: string) => raw(h.url, { headers: mcpHeaders({ host }), body: toolsList });

  it("accepts the gateway's own origins, on its own port, and the configured one exactly", async () => {
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) expect((await withOrigin(`http://${name}:${h.port}`)).status).toBe(200);
    expect((await withOrigin('https://app.example.com')).status).toBe(200);
    expect((await raw(h.url, { headers: mcpHeaders(), body: toolsList })).status).toBe(200); // no Origin: not a browser
  });

  it('refuses a page on another local port, another scheme, another port of an allowed origin: 403, logged', async () => {
    const before = denials(h).length;
    const refused = [
      `http://localhost:${h.port === 1234 ? 1235 : 1234}`,
      `https://localhost:${h.port}`,
      'https://app.example.com:8443',
      'http://app.example.com',
      'null',
    ];
    for (const origin of refused) {
      const response = await withOrigin(origin);
      expect(response.status, origin).toBe(403);
      expect(JSON.parse(response.body).error.message).toMatch(/origin/i);
    }
    expect(denials(h).length - before).toBe(refused.length);
  });

  it('Host: loopback names need the bound port; a bare allowed name takes any port; name:port only that port', async () => {
    expect((await withHost(`localhost:${h.port}`)).status).toBe(200);
    expect((await withHost(`[::1]:${h.port}`)).status).toBe(200);
    expect((await withHost('gw.example.com')).status).toBe(200);
    expect((await withHost('gw.example.com:443')).status).toBe(200);
    expect((await withHost('pinned.example.com:8443')).status).toBe(200);
    for (const host of [
      `localhost:${h.port + 1}`,
      'localhost',
      'evil.example.com',
      `evil.example.com:${h.port}`,
      'pinned.example.com',
      'pinned.example.com:443',
    ]) {
      const response = await withHost(host);
      expect(response.status, host).toBe(403);
      expect(JSON.parse(response.body).error.message).toMatch(/host/i);
    }
  });
});
