import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { registerConfigSecrets } from '../src/config/secrets.js';
import { type RunningGateway, startGateway } from '../src/server.js';
import { connectClient, type FrontClient, fixtureBackend } from './helpers.js';

/** The admin API through real HTTP: servers and their operations, the masked config, recent calls, usage. */
const ENV = {
  H10_ADMIN: 'admin-secret-token-0123456789',
  H10_HTTP_TOKEN: 'http-header-secret-9876543210',
  H10_STDERR_SECRET: 'stderr-secret-value-424242',
};
const USER = 'user-literal-token-0123456789';

describe('admin API', () => {
  let dir: string;
  let gateway: RunningGateway;
  let base: string;
  let client: FrontClient;
  const asAdmin = { authorization: `Bearer ${ENV.H10_ADMIN}` };

  const get = (path: string, headers: Record<string, string> = asAdmin) => fetch(`${base}${path}`, { headers });
  const post = (path: string, headers: Record<string, string> = asAdmin, body = '{}') =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const servers = async () => {
    const body = (await (await get('/admin/servers')).json()) as { servers: Array<Record<string, unknown>> };
    return Object.fromEntries(body.servers.map((s) => [s.name as string, s]));
  };
  const pidOf = async () => (await client.call('invoke', { server: 'fx', tool: 'pid' })).structuredContent?.pid;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-admin-'));
    const file = join(dir, 'gateway.yaml');
    const config = {
      server: { port: 0, watch: false },
      capability_dirs: [],
      auth: {
        keys: [
          { name: 'ops', token: '${H10_ADMIN}', admin: true },
          { name: 'app', token: USER },
        ],
      },
      backends: {
        fx: fixtureBackend([], { env: { LITERAL_ENV: 'literal-env-value-1234' } }),
        fresh: fixtureBackend(['--name', 'fresh', '--tools', '2']),
        // Fails at start, quoting on stderr a value that came from the environment.
        broken: { command: 'sh', args: ['-c', 'echo "token is $LEAK" >&2; exit 1'], env: { LEAK: '${H10_STDERR_SECRET}' } },
        remote: {
          url: 'http://127.0.0.1:9/mcp',
          headers: { Authorization: 'Bearer ${H10_HTTP_TOKEN}', 'X-Literal': 'literal-header-value-5678' },
        },
      },
    };
    writeFileSync(file, JSON.stringify(config));
    const loaded = await loadConfig(file, { env: { ...process.env, ...ENV } });
    registerConfigSecrets(loaded.secrets);
    gateway = await startGateway(loaded.config, { configFile: file });
    base = gateway.url.replace(/\/mcp$/, '');
    client = await connectClient('v2-2026', gateway.url, asAdmin);
  });
  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs an admin key for every route: 401 without a key, 403 with a key that is not admin', async () => {
    for (const path of ['/admin/servers', '/admin/config', '/admin/calls', '/admin/usage']) {
      expect((await get(path, {})).status).toBe(401);
      expect((await get(path, { authorization: `Bearer ${USER}` })).status).toBe(403);
    }
    expect((await post('/admin/servers/fx/restart', {})).status).toBe(401);
    expect((await post('/admin/servers/fx/restart', { authorization: `Bearer ${USER}` })).status).toBe(403);
  });

  it('GET /admin/servers: state, counts, circuit and the last error, redacted', async () => {
    await client.call('invoke', { server: 'fx', tool: 'echo', arguments: { a: 1 } });
    await client.call('invoke', { server: 'broken', tool: 'echo' });
    const all = await servers();
    expect(Object.keys(all)).toEqual(['fx', 'fresh', 'broken', 'remote']);
    expect(all.fx).toMatchObject({ state: 'ready', transport: 'stdio', tools: 6, circuit: 'closed', error: null });
    expect(all.fresh).toMatchObject({ state: 'idle', tools: null });
    for (const key of ['pid', 'uptime_s', 'restarts', 'queued', 'in_flight', 'resources', 'retry_in_ms'])
      expect(all.fx).toHaveProperty(key);
    expect(all.broken?.state).toBe('error');
    expect(all.broken?.error).toContain('«redacted:H10_STDERR_SECRET»');
    expect(JSON.stringify(all)).not.toContain(ENV.H10_STDERR_SECRET);
  });

  it('POST /admin/servers/{name}/start starts a server that was never listed', async () => {
    const response = await post('/admin/servers/fresh/start');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ok: boolean; server: Record<string, unknown> };
    expect(body.ok).toBe(true);
    expect(body.server).toMatchObject({ name: 'fresh', state: 'ready', tools: 8 });
  });

  it('restart ends the process: the next call runs in a new one; stop leaves it idle', async () => {
    const before = await pidOf();
    expect(typeof before).toBe('number');
    const restarted = await post('/admin/servers/fx/restart');
    expect(restarted.status).toBe(200);
    expect(((await restarted.json()) as { ok: boolean }).ok).toBe(true);
    const after = await pidOf();
    expect(typeof after).toBe('number');
    expect(after).not.toBe(before);
    // The backend reports its process: the running pid, an uptime, and the restart counted.
    const running = (await servers()).fx;
    expect(running).toMatchObject({ pid: after, restarts: 1, in_flight: 0, queued: 0 });
    expect(typeof running?.uptime_s).toBe('number');

    const stopped = (await (await post('/admin/servers/fx/stop')).json()) as { server: { state: string } };
    expect(stopped.server.state).toBe('idle');
    expect((await servers()).fx?.state).toBe('idle');
  });

  it('a failed start answers 502 with the redacted reason', async () => {
    const response = await post('/admin/servers/broken/restart');
    expect(response.status).toBe(502);
    const body = (await response.json()) as { ok: boolean; error: string };
    expect(body.ok).toBe(false);
    expect(body.error).toMatch(/redacted:H10_STDERR_SECRET|next restart attempt/);
    expect(body.error).not.toContain(ENV.H10_STDERR_SECRET);
  });

  it('refuses an unknown server (with suggestions), an unknown operation and a non-JSON POST', async () => {
    const unknown = await post('/admin/servers/fz/start');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ ok: false, suggestions: ['fx'] });
    expect((await post('/admin/servers/fx/explode')).status).toBe(404);
    const form = await fetch(`${base}/admin/servers/fx/start`, {
      method: 'POST',
      headers: { ...asAdmin, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(form.status).toBe(415);
  });

  it('GET /admin/config: the effective config with every header, env value and token masked', async () => {
    const response = await get('/admin/config');
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const secret of [...Object.values(ENV), USER, 'literal-env-value-1234', 'literal-header-value-5678'])
      expect(text).not.toContain(secret);
    const { config } = JSON.parse(text) as { config: Record<string, Record<string, Record<string, unknown>>> };
    expect(config.backends?.remote?.headers).toEqual({ Authorization: '«masked»', 'X-Literal': '«masked»' });
    expect(config.backends?.fx?.env).toEqual({ LITERAL_ENV: '«masked»' });
    expect(config.backends?.remote?.url).toBe('http://127.0.0.1:9/mcp');
    expect((config.auth?.keys as unknown as Array<Record<string, unknown>>).map((k) => [k.name, k.token, k.admin])).toEqual([
      ['ops', '«masked»', true],
      ['app', '«masked»', false],
    ]);
  });

  it('GET /admin/calls: the newest records first, limit bounded', async () => {
    await client.call('invoke', { server: 'fresh', tool: 'tool_001', arguments: { value: 'x' } });
    const body = (await (await get('/admin/calls?limit=2')).json()) as { calls: Array<Record<string, unknown>> };
    expect(body.calls).toHaveLength(2);
    expect(body.calls[0]).toMatchObject({
      key: 'ops',
      server: 'fresh',
      tool: 'tool_001',
      outcome: 'ok',
      arg_bytes: Buffer.byteLength('{"value":"x"}'),
    });
    expect(body.calls[1]).toMatchObject({ server: 'fx', tool: 'pid' });
    for (const bad of ['0', '501', 'ten', '1.5']) expect((await get(`/admin/calls?limit=${bad}`)).status).toBe(400);
  });

  it('GET /admin/usage: calls, errors, time and bytes per tool and per key', async () => {
    const usage = (await (await get('/admin/usage')).json()) as {
      since: string;
      tools: Array<Record<string, unknown>>;
      keys: Array<Record<string, unknown>>;
    };
    expect(Date.parse(usage.since)).not.toBeNaN();
    expect(usage.tools.find((t) => t.server === 'fx' && t.tool === 'echo')).toMatchObject({ calls: 1, errors: 0, bytes_in: 7 });
    expect(usage.tools.find((t) => t.server === 'broken')).toMatchObject({ tool: '(unknown)', calls: 1, errors: 1 });
    const ops = usage.keys.find((k) => k.key === 'ops');
    const total = usage.tools.reduce((sum, t) => sum + (t.calls as number), 0);
    expect(ops).toMatchObject({ calls: total });
    expect(ops?.errors).toBe(1);
  });
});
