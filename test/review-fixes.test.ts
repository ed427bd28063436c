import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowMatcher } from '../src/access/principal.js';
import { parseConfig } from '../src/config/load.js';
import { type RunningGateway, startGateway } from '../src/server.js';
import { fixtureBackend, startTestGateway } from './helpers.js';

/** Defects a review of this change set found, each pinned by a test that failed before its fix. */

describe('scopes: a tool glob does not reach resources or prompts', () => {
  it('only a whole-server pattern or one naming the kind does', () => {
    const allows = allowMatcher(['github/*_issue', 'fs/*read*', 'mem', 'x/*', 'y/prompt:*']);
    expect(allows('github', 'prompt:triage_issue')).toBe(false);
    expect(allows('fs', 'resource:file:///secret/readme')).toBe(false);
    expect(allows('github', 'create_issue')).toBe(true);
    expect(allows('mem', 'prompt:a')).toBe(true);
    expect(allows('x', 'resource:u')).toBe(true);
    expect(allows('y', 'prompt:p')).toBe(true);
    expect(allows('y', 'resource:r')).toBe(false);
  });
});

describe('with auth', () => {
  let gateway: RunningGateway;
  const token = 'review-token-0123456789';
  beforeAll(async () => {
    gateway = await startTestGateway({
      capability_dirs: [],
      auth: { keys: [{ name: 'k', token }] },
      backends: { secretname: fixtureBackend() },
    });
  });
  afterAll(() => gateway?.close());

  it('/health names no backend to callers without a token', async () => {
    const health = await (await fetch(gateway.url.replace('/mcp', '/health'))).text();
    expect(JSON.parse(health)).toEqual({ status: 'ok' });
    expect(health).not.toContain('secretname');
  });

  it('an endpoint named like an Object.prototype member is not found, not a 500', async () => {
    for (const name of ['constructor', '__proto__', 'toString']) {
      const response = await fetch(gateway.url.replace('/mcp', `/mcp/v/${name}`), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
      expect(response.status, name).toBe(404);
    }
  });

  it('a POST that is not JSON is refused unread (415)', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: 'x'.repeat(100_000),
    });
    expect(response.status).toBe(415);
  });
});

describe('reloads keep the bound host: two reloads cannot drop auth on a network bind', () => {
  let gateway: RunningGateway;
  const dir = mkdtempSync(join(tmpdir(), 'gw-review-'));
  const file = join(dir, 'gateway.yaml');
  const write = (host: string, withAuth: boolean) =>
    writeFileSync(
      file,
      JSON.stringify({
        server: { host, port: 0, watch: false, allowed_hosts: ['localhost'] },
        capability_dirs: [],
        ...(withAuth ? { auth: { keys: [{ name: 'k', token: 'reload-token-0123456789' }] } } : {}),
        backends: {},
      }),
    );
  beforeAll(async () => {
    write('0.0.0.0', true);
    gateway = await startGateway(parseConfig(readFileSync(file, 'utf8'), { file }), { configFile: file });
  });
  afterAll(() => gateway?.close());

  it('a reload that moves the host to loopback, then one that removes auth, is refused', async () => {
    write('127.0.0.1', true);
    expect((await gateway.reload()).ok).toBe(true);
    write('127.0.0.1', false);
    const second = await gateway.reload();
    expect(second.ok).toBe(false);
  });
});
