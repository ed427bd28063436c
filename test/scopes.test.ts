import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import { CLIENT_KINDS, connectClient, errorOf, eventually, type FrontClient, fixtureBackend, startTestGateway } from './helpers.js';

/**
 * Per-key scopes over all four meta-tools, end to end: real HTTP, real SDK clients sending
 * `Authorization: Bearer`, real fixture backends. A narrow key must not learn that a hidden server or
 * tool exists — from a list, a count, a search hit, an `unavailable` entry or a suggestion.
 */
const TOKENS = { narrow: 'narrow-token-0123456789', wide: 'wide-token-0123456789ab', limited: 'limited-token-0123456789' };

const config = {
  capability_dirs: [],
  auth: {
    keys: [
      { name: 'narrow', token: TOKENS.narrow, allow: ['fixture/echo', 'notes/*'] },
      { name: 'wide', token: TOKENS.wide, allow: ['*'], admin: true },
      { name: 'limited', token: TOKENS.limited, allow: ['fixture/*'], rate_limit: { calls: 1, per_ms: 600_000 } },
    ],
  },
  backends: {
    fixture: fixtureBackend(),
    notes: fixtureBackend(['--name', 'notes']),
    vault: fixtureBackend(['--name', 'vault', '--tools', '3']),
    // A hidden backend that cannot start: it must not show up as `unavailable` to a key that cannot see it.
    vaultbroken: fixtureBackend(['--exit-at-start']),
  },
};

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const names = (result: { structuredContent?: Record<string, unknown> }, key: string) =>
  (result.structuredContent?.[key] as Array<{ name?: string; server?: string; tool?: string }>).map(
    (e) => e.name ?? `${e.server}/${e.tool}`,
  );

describe.each(CLIENT_KINDS)('per-key scopes through a %s client', (kind) => {
  let gateway: RunningGateway;
  let narrow: FrontClient;
  let wide: FrontClient;

  beforeAll(async () => {
    gateway = await startTestGateway(config);
    narrow = await connectClient(kind, gateway.url, bearer(TOKENS.narrow));
    wide = await connectClient(kind, gateway.url, bearer(TOKENS.wide));
  });
  afterAll(async () => {
    await narrow?.close();
    await wide?.close();
    await gateway?.close();
  });

  it('list_servers shows only allowed servers, with counts of allowed tools', async () => {
    // Backends still starting after list_servers' short wait show `tools: null`; wait until both are listed.
    const mine = await eventually(async () => {
      const answer = await narrow.call('list_servers');
      return (answer.structuredContent?.servers as Array<{ tools: number | null }>).every((s) => s.tools !== null) && answer;
    }, 'both visible servers listed');
    expect(names(mine, 'servers')).toEqual(['fixture', 'notes']);
    const byName = Object.fromEntries((mine.structuredContent?.servers as Array<{ name: string; tools: number }>).map((s) => [s.name, s]));
    expect(byName.fixture?.tools).toBe(1);
    expect(JSON.stringify(mine.content)).not.toContain('vault');

    const all = await wide.call('list_servers');
    expect(names(all, 'servers')).toEqual(['fixture', 'notes', 'vault', 'vaultbroken']);
  });

  it('list_tools shows allowed tools only; a hidden server is unknown, with no hint of it', async () => {
    expect(names(await narrow.call('list_tools', { server: 'fixture' }), 'tools')).toEqual(['echo']);
    const hidden = await narrow.call('list_tools', { server: 'vaul' });
    expect(errorOf(hidden)).toMatchObject({ code: 'unknown_server', suggestions: [] });
    expect(errorOf(hidden)?.message).not.toContain('vault');
    expect(names(await wide.call('list_tools', { server: 'vault' }), 'tools')).toContain('tool_000');
  });

  it('search_tools returns, names as unavailable, and suggests nothing outside the scope', async () => {
    const generated = await narrow.call('search_tools', { query: 'generated tool number', limit: 10 });
    expect(names(generated, 'results')).toEqual([]);
    expect(generated.structuredContent?.unavailable).toBeUndefined();
    expect(JSON.stringify(generated.content)).not.toContain('vault');

    const slow = await narrow.call('search_tools', { query: 'slow', limit: 10 });
    expect(names(slow, 'results')).not.toContain('fixture/slow');
    const echo = await narrow.call('search_tools', { query: 'echo', limit: 10 });
    expect(new Set(names(echo, 'results'))).toEqual(new Set(['fixture/echo', 'notes/echo']));

    const hiddenServer = await narrow.call('search_tools', { query: 'echo', server: 'vault' });
    expect(errorOf(hiddenServer)?.code).toBe('unknown_server');

    const wideSearch = await wide.call('search_tools', { query: 'generated tool number', limit: 10 });
    expect(names(wideSearch, 'results').some((n) => n.startsWith('vault/'))).toBe(true);
    expect(wideSearch.structuredContent?.unavailable).toEqual([expect.objectContaining({ server: 'vaultbroken' })]);
  });

  it('invoke refuses hidden tools and servers as unknown, suggesting allowed names only', async () => {
    const ok = await narrow.call('invoke', { server: 'fixture', tool: 'echo', arguments: { message: 'hi' } });
    expect(ok.structuredContent).toEqual({ echoed: { message: 'hi' } });

    const hiddenTool = await narrow.call('invoke', { server: 'fixture', tool: 'slow', arguments: { ms: 1 } });
    expect(errorOf(hiddenTool)).toMatchObject({ code: 'unknown_tool' });
    expect(errorOf(hiddenTool)?.suggestions).not.toContain('slow');

    // `tool_000` exists only on the hidden vault server: no `available_on`, no mention.
    const elsewhere = await narrow.call('invoke', { server: 'fixture', tool: 'tool_000' });
    expect(errorOf(elsewhere)?.available_on).toBeUndefined();
    expect(errorOf(elsewhere)?.message).not.toContain('vault');

    const hiddenServer = await narrow.call('invoke', { server: 'vault', tool: 'echo' });
    expect(errorOf(hiddenServer)).toMatchObject({ code: 'unknown_server' });
    expect(errorOf(hiddenServer)?.message).toContain('Servers: "fixture", "notes".');

    expect((await wide.call('invoke', { server: 'vault', tool: 'echo', arguments: {} })).isError).toBeFalsy();
  });

  it('each invoke leaves an audit record with the key name and no argument values', async () => {
    await narrow.call('invoke', { server: 'notes', tool: 'echo', arguments: { secretish: 'value-not-logged' } });
    const record = gateway.audit.recent(1)[0];
    expect(record).toMatchObject({ key: 'narrow', server: 'notes', tool: 'echo', outcome: 'ok' });
    expect(record?.arg_bytes).toBe(JSON.stringify({ secretish: 'value-not-logged' }).length);
    expect(JSON.stringify(record)).not.toContain('value-not-logged');
  });
});

describe('authentication at the door', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startTestGateway(config);
  });
  afterAll(() => gateway?.close());

  const post = (headers: Record<string, string>) =>
    fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });

  it('answers 401 with a challenge, the same for an unknown and a wrong key', async () => {
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const unknown = await post(bearer('completely-unknown-token-xyz'));
    const wrong = await post(bearer(`${TOKENS.narrow.slice(0, -1)}X`));
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toBe(await unknown.text());
    expect(wrong.headers.get('www-authenticate')).toBe(unknown.headers.get('www-authenticate'));
  });

  it("a key's own invoke rate limit answers rate_limited, apart from any backend limit", async () => {
    const client = await connectClient('v2-2026', gateway.url, bearer(TOKENS.limited));
    try {
      expect((await client.call('invoke', { server: 'fixture', tool: 'echo', arguments: {} })).isError).toBeFalsy();
      const second = await client.call('invoke', { server: 'fixture', tool: 'echo', arguments: {} });
      expect(errorOf(second)).toMatchObject({ code: 'rate_limited', limit: 'key' });
      // Listing and searching are not invoke calls: still served.
      expect((await client.call('list_tools', { server: 'fixture' })).isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('/admin needs an admin key', async () => {
    const admin = (token: string) =>
      fetch(gateway.url.replace('/mcp', '/admin/reload'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(token) },
        body: '{}',
      });
    expect((await admin(TOKENS.narrow)).status).toBe(403);
    // The wide key is admin; this gateway has no config file to reload, which is its own answer.
    expect((await admin(TOKENS.wide)).status).not.toBe(403);
  });
});
