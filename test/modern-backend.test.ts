import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RunningGateway } from '../src/server.js';
import { connectClient, type FrontClient, startTestGateway } from './helpers.js';

/**
 * A 2026-07-28 backend (the v2 server SDK's per-request handler) with a tool that declares an
 * `x-mcp-header` parameter: the server rejects a call whose Mcp-Param header does not mirror it.
 */
function modernBackend(): McpServer {
  const server = new McpServer({ name: 'modern-backend', version: '1.0.0' });
  server.registerTool(
    'regional_echo',
    {
      description: 'Echo text, routed by region',
      inputSchema: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }), text: z.string() }),
    },
    async ({ region, text }) => ({ content: [{ type: 'text', text: `${region}: ${text}` }] }),
  );
  server.registerTool('plain_echo', { description: 'Echo text', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}

describe('a 2026-07-28 Streamable HTTP backend', () => {
  let http: ServerType;
  let gateway: RunningGateway;
  let client: FrontClient;

  beforeAll(async () => {
    const handler = createMcpHandler(modernBackend);
    http = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: (request) => handler.fetch(request), hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    const port = (http.address() as AddressInfo).port;
    gateway = await startTestGateway({ backends: { modern: { url: `http://127.0.0.1:${port}/mcp` } } });
    client = await connectClient('v2-2026', gateway.url);
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await new Promise((resolve) => http?.close(resolve));
  });

  it('is invoked through the gateway, header-mirrored parameters included', async () => {
    const plain = await client.call('invoke', { server: 'modern', tool: 'plain_echo', arguments: { text: 'hi' } });
    expect(plain.isError ?? false).toBe(false);
    expect(plain.content?.[0]).toMatchObject({ text: 'hi' });
    const regional = await client.call('invoke', { server: 'modern', tool: 'regional_echo', arguments: { region: 'eu-west', text: 'hi' } });
    expect(regional.content?.[0]).toMatchObject({ text: 'eu-west: hi' });
    expect(regional.isError ?? false).toBe(false);
  });
});
