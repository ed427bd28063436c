import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import { connectClient, errorOf, eventually, type FrontClient, fixtureBackend, fixturePath, startTestGateway } from './helpers.js';

/** A failing backend is reported, never hidden; the gateway and the other backends keep serving. */

const dir = mkdtempSync(join(tmpdir(), 'gw-fail-'));
const readyFlag = join(dir, 'ready');
let gateway: RunningGateway;
let client: FrontClient;

const servers = async () => {
  const result = await client.call('list_servers');
  return Object.fromEntries((result.structuredContent?.servers as Array<Record<string, unknown>>).map((s) => [s.name, s]));
};
const text = (result: { content?: Array<Record<string, unknown>> }) => String(result.content?.[0]?.text);

beforeAll(async () => {
  gateway = await startTestGateway({
    backends: {
      good: fixtureBackend(),
      broken: fixtureBackend(['--exit-at-start']),
      slowlist: { ...fixtureBackend(['--slow-list', '5000']), connect_timeout_ms: 700 },
      crashy: fixtureBackend(['--crash-on-call', 'echo'], { timeout_ms: 20_000 }),
      hangs: { ...fixtureBackend(), timeout_ms: 400, env: { FIXTURE_CANCEL_FILE: join(dir, 'cancelled') } },
      // Fails until the flag file exists: proves a failure is not cached and the next request retries.
      flaky: {
        command: 'sh',
        args: ['-c', `test -f "${readyFlag}" && exec "${process.execPath}" "${fixturePath}"; echo "not ready yet" >&2; exit 1`],
      },
      rpcerror: fixtureBackend(['--rpc-error-on-call', 'echo']),
      disabled: { ...fixtureBackend(), enabled: false },
    },
  });
  client = await connectClient('v2-2025', gateway.url);
});

afterAll(async () => {
  await client?.close();
  await gateway?.close();
});

describe('a backend that cannot start', () => {
  it('shows in list_servers with state error and its stderr, while the others are ready', async () => {
    // list_servers waits 750 ms for starts; the rest is reported as starting and keeps starting.
    const all = await eventually(async () => {
      const found = await servers();
      return found.good?.state === 'ready' && found.broken?.state === 'error' && found.slowlist?.state === 'error' && found;
    }, 'good ready, broken and slowlist failed');
    expect(Object.keys(all)).not.toContain('disabled');
    expect(all.good).toMatchObject({ state: 'ready', tools: 6 });
    expect(all.broken).toMatchObject({ state: 'error', tools: null });
    expect(String(all.broken?.error)).toContain('fixture refusing to start');
    expect(all.slowlist).toMatchObject({ state: 'error', tools: null });
    expect(String(all.slowlist?.error)).toMatch(/timed out after 700 ms/);
  });

  it('is named in search_tools as unavailable, and the rest is still searched', async () => {
    const result = await client.call('search_tools', { query: 'echo the arguments' });
    const unavailable = result.structuredContent?.unavailable as Array<{ server: string; state: string }>;
    expect(unavailable.map((u) => u.server)).toEqual(expect.arrayContaining(['broken', 'slowlist', 'flaky']));
    // Its first restart is immediate, so a search may find it restarting: `error` or `starting`, never listed as ready.
    expect(['error', 'starting']).toContain(unavailable.find((u) => u.server === 'broken')?.state);
    expect(
      (result.structuredContent?.results as Array<{ server: string; tool: string }>).some((r) => r.server === 'good' && r.tool === 'echo'),
    ).toBe(true);
  });

  it('gives an isError result for list_tools and invoke', async () => {
    const list = await client.call('list_tools', { server: 'broken' });
    expect(list.isError).toBe(true);
    expect(errorOf(list)).toMatchObject({ code: 'backend_unavailable', server: 'broken' });
    const call = await client.call('invoke', { server: 'broken', tool: 'echo' });
    expect(call.isError).toBe(true);
    expect(text(call)).toContain('fixture refusing to start');
  });

  it('is retried on the next request, not cached as having no tools', async () => {
    const before = await client.call('list_tools', { server: 'flaky' });
    expect(before.isError).toBe(true);
    expect(text(before)).toContain('not ready yet');
    writeFileSync(readyFlag, '');
    // Repeated failures back off (1 s after the second); the backend is tried again after that.
    const after = await eventually(async () => {
      const result = await client.call('list_tools', { server: 'flaky' });
      return result.isError ? undefined : result;
    }, 'flaky starts once its flag exists');
    expect((after.structuredContent?.tools as unknown[]).length).toBe(6);
    expect((await servers()).flaky).toMatchObject({ state: 'ready', tools: 6 });
  });
});

describe('a backend that dies or hangs during a call', () => {
  it('crash mid-call: an isError result with the stderr tail; the next call restarts it', async () => {
    const pid1 = (await client.call('invoke', { server: 'crashy', tool: 'pid' })).structuredContent?.pid;
    const crashed = await client.call('invoke', { server: 'crashy', tool: 'echo', arguments: { message: 'boom' } });
    expect(crashed.isError).toBe(true);
    expect(errorOf(crashed)).toMatchObject({ code: 'backend_unavailable', server: 'crashy' });
    expect(text(crashed)).toContain('fixture crashing on purpose');

    const pid2 = (await client.call('invoke', { server: 'crashy', tool: 'pid' })).structuredContent?.pid;
    expect(typeof pid2).toBe('number');
    expect(pid2).not.toBe(pid1);
    // Other backends were never affected.
    expect((await client.call('invoke', { server: 'good', tool: 'echo', arguments: { message: 'still here' } })).isError).toBeFalsy();
  });

  it('timeout: isError "timed out", and a cancellation reaches the backend', async () => {
    const result = await client.call('invoke', { server: 'hangs', tool: 'slow', arguments: { ms: 10_000 } });
    expect(result.isError).toBe(true);
    expect(errorOf(result)).toMatchObject({ code: 'timeout', server: 'hangs' });
    expect(text(result)).toContain('timed out after 400 ms');
    await eventually(
      () => existsSync(join(dir, 'cancelled')) && readFileSync(join(dir, 'cancelled'), 'utf8').includes('cancelled'),
      'the backend records the cancellation',
    );
    // The backend is still usable.
    const echo = await client.call('invoke', { server: 'hangs', tool: 'echo', arguments: { message: 'after timeout' } });
    expect(echo.structuredContent).toEqual({ echoed: { message: 'after timeout' } });
  });

  it('a backend JSON-RPC error becomes an isError result with its code', async () => {
    const result = await client.call('invoke', { server: 'rpcerror', tool: 'echo', arguments: { message: 'ok' } });
    expect(result.isError).toBe(true);
    expect(errorOf(result)).toMatchObject({ code: 'backend_error', server: 'rpcerror', rpcCode: -32603 });
    expect(text(result)).toContain('deliberate JSON-RPC error');
  });
});

describe('list_changed from a backend', () => {
  it('refetches that backend and re-indexes it for search', async () => {
    const lc = await startTestGateway({ backends: { changing: fixtureBackend(['--list-changed']) } });
    const c = await connectClient('v2-2026', lc.url);
    try {
      const find = async () =>
        ((await c.call('search_tools', { query: 'quantum flux readings' })).structuredContent?.results as Array<{ tool: string }>).some(
          (r) => r.tool === 'surprise_tool',
        );
      expect(await find()).toBe(false);
      await c.call('invoke', { server: 'changing', tool: 'toggle' });
      await eventually(find, 'surprise_tool becomes searchable');
      const list = await c.call('list_tools', { server: 'changing' });
      expect((list.structuredContent?.tools as Array<{ name: string }>).map((t) => t.name)).toContain('surprise_tool');

      await c.call('invoke', { server: 'changing', tool: 'toggle' });
      await eventually(async () => !(await find()), 'surprise_tool leaves the index again');
      // A removed tool is refused before anything is sent.
      const gone = await c.call('invoke', { server: 'changing', tool: 'surprise_tool' });
      expect(errorOf(gone)).toMatchObject({ code: 'unknown_tool' });
    } finally {
      await c.close();
      await lc.close();
    }
  });
});
