import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import { fixtureBackend, startTestGateway } from './helpers.js';

/** /ready is for load balancers: no token needed, nothing started, 200 while serving. */
describe('GET /ready', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      capability_dirs: [],
      auth: { keys: [{ name: 'k', token: 'a-token-of-sixteen-chars' }] },
      backends: { fx: fixtureBackend() },
    });
  });
  afterAll(() => gateway?.close());

  it('answers 200 without a token and starts no backend', async () => {
    const response = await fetch(gateway.url.replace('/mcp', '/ready'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true });
    expect(gateway.pool.get('fx')?.status().state).toBe('idle');
    // The MCP endpoint itself still wants the token.
    expect((await fetch(gateway.url, { method: 'POST' })).status).toBe(401);
  });
});
