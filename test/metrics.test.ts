import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/load.js';
import { type RunningGateway, startGateway } from '../src/server.js';
import { connectClient, errorOf, type FrontClient, fixtureBackend, startTestGateway } from './helpers.js';

/** `name{labels} value` lines of a Prometheus text exposition. */
function samples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The value of the one sample with this name and exactly these labels (undefined when absent). */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples(text).find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value;
}

describe('GET /metrics after real calls', () => {
  let dir: string;
  let gateway: RunningGateway;
  let modern: FrontClient;
  let session: FrontClient;
  let metricsUrl: string;
  const argBytes: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-metrics-'));
    const file = join(dir, 'gateway.yaml');
    const config = {
      server: { port: 0, watch: false },
      capability_dirs: [],
      backends: {
        fx: fixtureBackend(),
        lim: fixtureBackend(['--name', 'lim'], { rate_limit: { calls: 1, per_ms: 600_000 } }),
      },
    };
    writeFileSync(file, JSON.stringify(config));
    gateway = await startGateway(await loadConfigFile(file), { configFile: file });
    metricsUrl = gateway.url.replace(/\/mcp$/, '/metrics');
    modern = await connectClient('v2-2026', gateway.url);
    session = await connectClient('v1', gateway.url); // a 2025-era session; its close sends DELETE

    const invoke = async (server: string, tool: string, args?: Record<string, unknown>) => {
      argBytes.push(args === undefined ? 0 : Buffer.byteLength(JSON.stringify(args)));
      return modern.call('invoke', { server, tool, ...(args ? { arguments: args } : {}) });
    };
    expect((await invoke('fx', 'echo', { a: 1 })).isError).toBeFalsy();
    expect((await invoke('fx', 'echo', { text: 'hello' })).isError).toBeFalsy();
    expect((await invoke('fx', 'fail_with_structure')).isError).toBe(true);
    expect(errorOf(await invoke('fx', 'secret_tool_name_typed_by_client'))?.code).toBe('unknown_tool');
    expect(errorOf(await invoke('ghost_server_typed_by_client', 'whatever'))?.code).toBe('unknown_server');
    expect((await invoke('lim', 'echo', {})).isError).toBeFalsy();
    expect(errorOf(await invoke('lim', 'echo', {}))?.code).toBe('rate_limited');
    await modern.call('search_tools', { query: 'echo' });
    await modern.call('search_tools', { query: 'zqxjv wwkkpq' });
    const reloaded = await fetch(gateway.url.replace(/\/mcp$/, '/admin/reload'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(reloaded.status).toBe(200);
  });
  afterAll(async () => {
    await modern?.close();
    await session?.close();
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts calls per server, tool and outcome; names the gateway does not know are "(unknown)"', async () => {
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const calls = (server: string, tool: string, outcome: string) => value(text, 'mcp_gateway_invoke_total', { server, tool, outcome });
    expect(calls('fx', 'echo', 'ok')).toBe(2);
    expect(calls('fx', 'fail_with_structure', 'tool_error')).toBe(1);
    expect(calls('fx', '(unknown)', 'unknown_tool')).toBe(1);
    expect(calls('(unknown)', '(unknown)', 'unknown_server')).toBe(1);
    expect(calls('lim', 'echo', 'ok')).toBe(1);
    expect(calls('lim', 'echo', 'rate_limited')).toBe(1);
    expect(text).not.toContain('typed_by_client');
    expect(value(text, 'mcp_gateway_rate_limited_total', { server: 'lim' })).toBe(1);
    // Latency: one observation per call, by server.
    expect(value(text, 'mcp_gateway_invoke_duration_seconds_count', { server: 'fx' })).toBe(4);
    expect(value(text, 'mcp_gateway_invoke_duration_seconds_count', { server: '(unknown)' })).toBe(1);
    expect(value(text, 'mcp_gateway_invoke_duration_seconds_bucket', { server: 'lim', le: '+Inf' })).toBe(2);
  });

  it('reports search, reloads, backend state and circuit, sessions, usage per key and process metrics', async () => {
    const text = await (await fetch(metricsUrl)).text();
    expect(value(text, 'mcp_gateway_search_total')).toBe(2);
    expect(value(text, 'mcp_gateway_search_empty_total')).toBe(1);
    expect(value(text, 'mcp_gateway_search_duration_seconds_count')).toBe(2);
    expect(value(text, 'mcp_gateway_reloads_total', { outcome: 'applied' })).toBe(1);
    expect(value(text, 'mcp_gateway_backend_state', { server: 'fx', state: 'ready' })).toBe(1);
    expect(value(text, 'mcp_gateway_backend_state', { server: 'fx', state: 'error' })).toBe(0);
    expect(value(text, 'mcp_gateway_backend_circuit', { server: 'fx', circuit: 'closed' })).toBe(1);
    expect(value(text, 'mcp_gateway_backend_tools', { server: 'fx' })).toBe(6);
    expect(value(text, 'mcp_gateway_sessions', { era: '2025' })).toBe(1);
    // No auth: every call is the "local" principal's.
    expect(value(text, 'mcp_gateway_key_calls_total', { key: 'local' })).toBe(7);
    expect(value(text, 'mcp_gateway_key_errors_total', { key: 'local' })).toBe(4);
    expect(value(text, 'mcp_gateway_key_bytes_in_total', { key: 'local' })).toBe(argBytes.reduce((a, b) => a + b, 0));
    expect(value(text, 'mcp_gateway_tool_bytes_in_total', { server: 'fx', tool: 'echo' })).toBe(
      Buffer.byteLength('{"a":1}') + Buffer.byteLength('{"text":"hello"}'),
    );
    expect(value(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('follows the backends: a stopped backend reads idle, the session count follows the clients', async () => {
    const stopped = await fetch(gateway.url.replace(/\/mcp$/, '/admin/servers/fx/stop'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(stopped.status).toBe(200);
    await session.close();
    const text = await (await fetch(metricsUrl)).text();
    expect(value(text, 'mcp_gateway_backend_state', { server: 'fx', state: 'idle' })).toBe(1);
    expect(value(text, 'mcp_gateway_backend_state', { server: 'fx', state: 'ready' })).toBe(0);
    expect(value(text, 'mcp_gateway_sessions', { era: '2025' })).toBe(0);
    expect(value(text, 'mcp_gateway_admin_operations_total', { server: 'fx', operation: 'stop', outcome: 'ok' })).toBe(1);
  });
});

describe('/metrics with auth', () => {
  const ADMIN = 'admin-token-0123456789abcdef';
  const USER = 'user-token-0123456789abcdef';
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({
      capability_dirs: [],
      auth: {
        keys: [
          { name: 'ops', token: ADMIN, admin: true },
          { name: 'app', token: USER },
        ],
      },
      backends: { fx: fixtureBackend() },
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('needs an admin key: 401 without one, 403 for a key without admin, 200 for an admin key', async () => {
    const url = gateway.url.replace(/\/mcp$/, '/metrics');
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(url, { headers: { authorization: `Bearer ${USER}` } })).status).toBe(403);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('mcp_gateway_invoke_total');
  });

  it('refuses a cross-site page like every other route', async () => {
    const url = gateway.url.replace(/\/mcp$/, '/metrics');
    const response = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}`, origin: 'http://evil.example.com' } });
    expect(response.status).toBe(403);
  });
});
