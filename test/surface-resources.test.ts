import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import { CLIENT_KINDS, type ClientKind, fixtureBackend, repoRoot, startTestGateway } from './helpers.js';

const everything = {
  command: process.execPath,
  args: [join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')],
};

/** The calls these tests need, on the v1 or v2 SDK client, either era. */
interface SurfaceClient {
  listResources(): Promise<Array<{ uri: string; name: string }>>;
  listTemplates(): Promise<Array<{ uriTemplate: string }>>;
  read(uri: string): Promise<{ contents: Array<{ uri: string; text?: string; blob?: string }> }>;
  listPrompts(): Promise<Array<{ name: string }>>;
  getPrompt(name: string, args?: Record<string, string>): Promise<{ messages: Array<{ content: { type: string; text?: string } }> }>;
  complete(
    ref: { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string },
    name: string,
    value: string,
  ): Promise<string[]>;
  callTool(name: string, args: Record<string, unknown>): Promise<{ content?: Array<Record<string, unknown>>; isError?: boolean }>;
  close(): Promise<void>;
}

async function connect(kind: ClientKind, url: string): Promise<SurfaceClient> {
  const info = { name: `surface-${kind}`, version: '1.0.0' };
  if (kind === 'v1') {
    const client = new ClientV1(info);
    const transport = new HttpTransportV1(new URL(url));
    await client.connect(transport);
    return {
      listResources: async () => (await client.listResources()).resources,
      listTemplates: async () => (await client.listResourceTemplates()).resourceTemplates,
      read: async (uri) => (await client.readResource({ uri })) as never,
      listPrompts: async () => (await client.listPrompts()).prompts,
      getPrompt: async (name, args) => (await client.getPrompt({ name, arguments: args })) as never,
      complete: async (ref, name, value) => (await client.complete({ ref, argument: { name, value } })).completion.values,
      callTool: async (name, args) => (await client.callTool({ name, arguments: args })) as never,
      close: async () => {
        await transport.terminateSession().catch(() => {});
        await client.close();
      },
    };
  }
  const client = new ClientV2(info, { versionNegotiation: { mode: kind === 'v2-2026' ? { pin: '2026-07-28' } : 'legacy' } });
  await client.connect(new HttpTransportV2(new URL(url)));
  return {
    listResources: async () => (await client.listResources()).resources,
    listTemplates: async () => (await client.listResourceTemplates()).resourceTemplates,
    read: async (uri) => (await client.readResource({ uri })) as never,
    listPrompts: async () => (await client.listPrompts()).prompts,
    getPrompt: async (name, args) => (await client.getPrompt({ name, arguments: args })) as never,
    complete: async (ref, name, value) => (await client.complete({ ref, argument: { name, value } })).completion.values,
    callTool: async (name, args) => (await client.callTool({ name, arguments: args })) as never,
    close: () => client.close(),
  };
}

let gateway: RunningGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    backends: {
      everything,
      // The fixture offers the same resource URI as `twin` does: both get the mcpgw:// form.
      fixture: fixtureBackend(['--resources']),
      twin: fixtureBackend(['--resources', '--name', 'twin']),
    },
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
});

describe.each(CLIENT_KINDS)('resources and prompts on /mcp (%s)', (kind) => {
  let client: SurfaceClient;
  beforeAll(async () => {
    client = await connect(kind, gateway.url);
  });
  afterAll(async () => {
    await client?.close();
  });

  it('lists every backend resource: unique URIs as they are, a URI two servers list as mcpgw://server/uri', async () => {
    const uris = (await client.listResources()).map((r) => r.uri);
    expect(uris).toContain('demo://resource/static/document/architecture.md');
    expect(uris).toContain('mcpgw://fixture/fixture://static/text');
    expect(uris).toContain('mcpgw://twin/fixture://static/text');
    expect(uris).not.toContain('fixture://static/text');
  });

  it('reads a resource by its own URI and by the qualified form', async () => {
    const plain = await client.read('demo://resource/static/document/architecture.md');
    expect(plain.contents[0]?.text).toContain('Architecture');
    const twin = await client.read('mcpgw://twin/fixture://static/text');
    expect(twin.contents[0]?.text).toBe('static text from twin');
  });

  it('lists templates and reads a URI that only a template matches', async () => {
    const templates = (await client.listTemplates()).map((t) => t.uriTemplate);
    expect(templates).toContain('demo://resource/dynamic/text/{resourceId}');
    const read = await client.read('demo://resource/dynamic/text/7');
    expect(read.contents[0]?.uri).toBe('demo://resource/dynamic/text/7');
  });

  it('reads a resource_link that invoke returned', async () => {
    const result = await client.callTool('invoke', { server: 'fixture', tool: 'link', arguments: {} });
    const link = result.content?.find((c) => c.type === 'resource_link');
    expect(link?.uri).toBe('fixture://unlisted/secret-note');
    const read = await client.read(String(link?.uri));
    expect(read.contents[0]?.text).toBe('unlisted note from fixture');
  });

  it('lists prompts as server__prompt and gets one with arguments', async () => {
    const names = (await client.listPrompts()).map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining(['everything__simple-prompt', 'everything__args-prompt', 'fixture__greet', 'twin__greet']),
    );
    const got = await client.getPrompt('everything__args-prompt', { city: 'Lyon', state: 'Rhône' });
    expect(got.messages[0]?.content.text).toContain('Lyon');
    const greet = await client.getPrompt('twin__greet', { name: 'Ada' });
    expect(greet.messages[0]?.content.text).toBe('Hello Ada, from twin');
  });

  it('forwards completion/complete for prompt and template arguments', async () => {
    expect(await client.complete({ type: 'ref/prompt', name: 'fixture__greet' }, 'name', 'Ad')).toEqual(['Ada', 'Adele']);
    expect(await client.complete({ type: 'ref/resource', uri: 'mcpgw://twin/fixture://item/{id}' }, 'id', '4')).toEqual(['42', '43']);
  });

  it('an unknown URI is a -32002 error naming it, an unknown prompt a -32602', async () => {
    await expect(client.read('nowhere://x')).rejects.toThrow(/Resource not found: nowhere:\/\/x/);
    await expect(client.getPrompt('fixture__nope')).rejects.toThrow(/Unknown prompt: fixture__nope/);
  });
});
