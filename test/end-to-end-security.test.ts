import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { registerConfigSecrets } from '../src/config/secrets.js';
import { createLogger } from '../src/log.js';
import { type RunningGateway, startGateway } from '../src/server.js';
import { type RunningIssuer, startIssuer } from './fixtures/oidc-issuer.mjs';
import { connectClient, errorOf, eventually, fixtureBackend, repoRoot, startTestGateway } from './helpers.js';

/**
 * Whole-gateway checks that cut across modules: OAuth through /mcp with real SDK clients and a real
 * authorization server; a secret from the environment that a backend prints or an HTTP backend echoes
 * appears nowhere (answers, admin, logs); a backend that never answers initialize costs the others nothing.
 */

describe('OAuth 2.1 through /mcp (real oidc-provider, real SDK clients)', () => {
  let issuer: RunningIssuer;
  let gateway: RunningGateway;
  const SECRET = 'client-secret-0123456789';

  beforeAll(async () => {
    // The audience names the resource; the gateway's port is only known after it listens, so a fixed one is used here.
    const audience = 'https://gateway.example.test/mcp';
    issuer = await startIssuer({
      resources: { [audience]: 'tools:echo tools:all' },
      clients: [
        { id: 'narrow', secret: SECRET, scope: 'tools:echo' },
        { id: 'wide', secret: SECRET, scope: 'tools:all' },
      ],
    });
    gateway = await startTestGateway({
      capability_dirs: [],
      auth: { oauth: { issuer: issuer.issuer, audience, scopes: { 'tools:echo': ['fx/echo'], 'tools:all': ['*'] } } },
      backends: { fx: fixtureBackend(), other: fixtureBackend(['--name', 'other']) },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await issuer?.close();
  });

  const tokenFor = async (client: string) =>
    (
      await issuer.token(client, SECRET, {
        resource: 'https://gateway.example.test/mcp',
        scope: client === 'wide' ? 'tools:all' : 'tools:echo',
      })
    ).access_token;

  it('answers 401 with the RFC 9728 metadata location, and serves that document', async () => {
    const refused = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);
    const challenge = refused.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('resource_metadata="https://gateway.example.test/.well-known/oauth-protected-resource/mcp"');
    const metadata = (await (await fetch(gateway.url.replace('/mcp', '/.well-known/oauth-protected-resource/mcp'))).json()) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({ resource: 'https://gateway.example.test/mcp', authorization_servers: [issuer.issuer] });
  });

  it.each(['v1', 'v2-2025', 'v2-2026'] as const)('a %s client with a JWT sees exactly its scopes', async (kind) => {
    const narrow = await connectClient(kind, gateway.url, { authorization: `Bearer ${await tokenFor('narrow')}` });
    const wide = await connectClient(kind, gateway.url, { authorization: `Bearer ${await tokenFor('wide')}` });
    try {
      const mine = await narrow.call('list_tools', { server: 'fx' });
      expect((mine.structuredContent?.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(['echo']);
      expect(errorOf(await narrow.call('list_tools', { server: 'other' }))?.code).toBe('unknown_server');
      expect((await narrow.call('invoke', { server: 'fx', tool: 'echo', arguments: { a: 1 } })).structuredContent).toEqual({
        echoed: { a: 1 },
      });
      expect((await wide.call('list_tools', { server: 'other' })).isError).toBeFalsy();
    } finally {
      await narrow.close();
      await wide.close();
    }
  });
});

describe('a secret from the environment appears nowhere', () => {
  const SECRET = 'sk-live-e2e-0123456789abcdef';
  const logged: string[] = [];
  let echoServer: Server;
  let gateway: RunningGateway;

  beforeAll(async () => {
    // An "HTTP backend" that refuses every request with a body echoing the Authorization header it got.
    echoServer = createServer((request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`upstream rejected credentials: ${request.headers.authorization}`);
    });
    await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
    const echoUrl = `http://127.0.0.1:${(echoServer.address() as AddressInfo).port}/mcp`;
    const yaml = JSON.stringify({
      server: { port: 0, watch: false },
      capability_dirs: [],
      backends: {
        // Prints the token it was given to stderr, then exits: its stderr tail goes into errors and logs.
        leaky: { command: 'sh', args: ['-c', 'echo "starting with token $LEAK" >&2; exit 1'], env: { LEAK: '${E2E_TOKEN}' } },
        remote: { url: echoUrl, headers: { Authorization: 'Bearer ${E2E_TOKEN}' }, connect_timeout_ms: 5_000 },
      },
    });
    const env = { ...process.env, E2E_TOKEN: SECRET };
    const config = parseConfig(yaml, { file: `${repoRoot}/test/inline.yaml`, env });
    registerConfigSecrets([{ value: SECRET, name: 'E2E_TOKEN' }]);
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logged.push(String(chunk));
        done();
      },
    });
    gateway = await startGateway(config, { logger: createLogger('debug', sink as never) });
  });
  afterAll(async () => {
    await gateway?.close();
    echoServer?.close();
    registerConfigSecrets([]);
  });

  it('from a crashing backend’s stderr and an HTTP backend’s error body: not in answers, admin or logs', async () => {
    const client = await connectClient('v2-2026', gateway.url);
    try {
      const crashed = await client.call('invoke', { server: 'leaky', tool: 'anything' });
      expect(errorOf(crashed)?.code).toBe('backend_unavailable');
      expect(errorOf(crashed)?.message).toContain('starting with token «redacted:E2E_TOKEN»');
      const remote = await client.call('list_tools', { server: 'remote' });
      expect(errorOf(remote)?.code).toBe('backend_unavailable');
      const servers = await eventually(async () => {
        const answer = await client.call('list_servers');
        const listed = answer.structuredContent?.servers as Array<{ name: string; state: string }>;
        return listed.every((s) => s.state !== 'starting') && answer;
      }, 'both backends settled');
      const admin = await (await fetch(gateway.url.replace('/mcp', '/admin/servers'))).text();
      for (const text of [JSON.stringify(crashed), JSON.stringify(remote), JSON.stringify(servers), admin, logged.join('')]) {
        expect(text).not.toContain(SECRET);
      }
      expect(logged.join('')).toContain('«redacted:E2E_TOKEN»');
    } finally {
      await client.close();
    }
  });
});

describe('a backend that never answers initialize', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      capability_dirs: [],
      backends: {
        good: fixtureBackend(),
        hung: fixtureBackend(['--hang-initialize'], { connect_timeout_ms: 600_000 }),
      },
    });
  });
  afterAll(() => gateway?.close());

  it('search_tools and list_servers answer from what is indexed, naming it as starting, every time', async () => {
    const client = await connectClient('v2-2026', gateway.url);
    try {
      // Its connect timeout is ten minutes: an answer that names it as `starting` did not wait for it.
      await eventually(async () => !(await client.call('list_tools', { server: 'good' })).isError, 'good listed');
      for (let i = 0; i < 3; i++) {
        const found = await client.call('search_tools', { query: 'echo' });
        expect((found.structuredContent?.results as Array<{ server: string }>).map((r) => r.server)).toContain('good');
        expect(found.structuredContent?.unavailable).toEqual([expect.objectContaining({ server: 'hung', state: 'starting' })]);
        expect(found.structuredContent?.hint).toContain('still starting');
        const listed = await client.call('list_servers');
        const hung = (listed.structuredContent?.servers as Array<{ name: string; state: string }>).find((s) => s.name === 'hung');
        expect(hung?.state).toBe('starting');
      }
    } finally {
      await client.close();
    }
  });
});
