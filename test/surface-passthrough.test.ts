import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2 } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSecrets } from '../src/secrets/redact.js';
import type { RunningGateway } from '../src/server.js';
import { CLIENT_KINDS, connectClient, fixtureBackend, fixturePath, startTestGateway } from './helpers.js';

/**
 * /mcp/{backend} (one backend as it is), `surface` (chosen tools beside the meta-tools) and endpoints
 * /mcp/v/{name} (a subset, intersected with the key's scope), through real HTTP and real SDK clients.
 */
const TOKENS = { all: 'all-token-0123456789abc', twin: 'twin-token-0123456789ab', echo: 'echo-token-0123456789ab' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const SECRET = 'sekret-value-0123456789';

let gateway: RunningGateway;

beforeAll(async () => {
  process.env.H12_PASSTHROUGH_SECRET = SECRET;
  // What the CLI does with a loaded config's ${VAR} values (startTestGateway parses without registering).
  setSecrets([{ value: SECRET, name: 'H12_PASSTHROUGH_SECRET' }]);
  gateway = await startTestGateway({
    capability_dirs: [],
    auth: {
      keys: [
        { name: 'all', token: TOKENS.all, allow: ['*'] },
        { name: 'twin-only', token: TOKENS.twin, allow: ['twin'] },
        { name: 'echo-only', token: TOKENS.echo, allow: ['fixture/echo'] },
      ],
    },
    surface: ['fixture/echo', 'twin/pid'],
    endpoints: {
      ops: { allow: ['fixture/echo', 'twin'], surface: ['fixture/echo'], meta_tools: false },
      browse: { allow: ['twin'] },
    },
    backends: {
      fixture: fixtureBackend(['--resources']),
      twin: fixtureBackend(['--resources', '--name', 'twin']),
      // Fails to start with a secret in its arguments: the passthrough's error must not show it.
      // (the fixture rejects the unknown flag on stderr, naming it, and exits).
      broken: { command: process.execPath, args: [fixturePath, '--x-${H12_PASSTHROUGH_SECRET}'] },
    },
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  setSecrets([]);
});

const at = (path: string) => `${gateway.url}${path}`;

describe.each(CLIENT_KINDS)('passthrough /mcp/{backend} (%s)', (kind) => {
  it("serves the backend's own tools, unprefixed, and forwards calls unchanged", async () => {
    const client = await connectClient(kind, at('/fixture'), bearer(TOKENS.all));
    try {
      const names = await client.listToolNames();
      expect(names).toContain('echo');
      expect(names).toContain('link');
      expect(names).not.toContain('invoke');
      const result = await client.call('echo', { message: 'hi', n: 1 });
      expect(result.structuredContent).toEqual({ echoed: { message: 'hi', n: 1 } });
      const failed = await client.call('fail_with_structure');
      expect(failed).toMatchObject({ isError: true, structuredContent: { reason: 'deliberate', code: 42 } });
    } finally {
      await client.close();
    }
  });

  it('a key sees only its scope of the backend; another backend is not found', async () => {
    const client = await connectClient(kind, at('/fixture'), bearer(TOKENS.echo));
    try {
      expect(await client.listToolNames()).toEqual(['echo']);
    } finally {
      await client.close();
    }
    await expect(connectClient(kind, at('/twin'), bearer(TOKENS.echo))).rejects.toThrow();
    await expect(connectClient(kind, at('/nowhere'), bearer(TOKENS.all))).rejects.toThrow();
  });
});

describe('passthrough resources, prompts and failures', () => {
  let client: ClientV2;
  beforeAll(async () => {
    client = new ClientV2({ name: 'pt', version: '1' });
    await client.connect(new HttpTransportV2(new URL(at('/twin')), { requestInit: { headers: bearer(TOKENS.all) } }));
  });
  afterAll(async () => {
    await client?.close();
  });

  it("lists the backend's resources and prompts with their own names, and reads and gets them", async () => {
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['fixture://static/text']);
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['greet']);
    expect((await client.readResource({ uri: 'fixture://item/9' })).contents[0]).toMatchObject({ text: 'item 9 from twin' });
    const greeting = await client.getPrompt({ name: 'greet', arguments: { name: 'Bo' } });
    expect(greeting.messages[0]?.content).toEqual({ type: 'text', text: 'Hello Bo, from twin' });
  });

  it('a backend that cannot start answers with an error that does not show the secret', async () => {
    const broken = new ClientV2({ name: 'pt', version: '1' });
    await broken.connect(new HttpTransportV2(new URL(at('/broken')), { requestInit: { headers: bearer(TOKENS.all) } }));
    try {
      const error = await broken.listTools().catch((e: Error) => e);
      expect(String(error)).toMatch(/unavailable/);
      expect(String(error)).toContain('«redacted:H12_PASSTHROUGH_SECRET»');
      expect(String(error)).not.toContain(SECRET);
    } finally {
      await broken.close();
    }
  });
});

describe.each(CLIENT_KINDS)('surface and endpoints (%s)', (kind) => {
  it('/mcp lists the surfaced tools as server__tool beside the meta-tools, and calls them', async () => {
    const client = await connectClient(kind, gateway.url, bearer(TOKENS.all));
    try {
      expect(await client.listToolNames()).toEqual(['list_servers', 'list_tools', 'search_tools', 'invoke', 'fixture__echo', 'twin__pid']);
      const result = await client.call('fixture__echo', { message: 'surfaced' });
      expect(result.structuredContent).toEqual({ echoed: { message: 'surfaced' } });
    } finally {
      await client.close();
    }
  });

  it("a key's scope narrows the surfaced tools too", async () => {
    const client = await connectClient(kind, gateway.url, bearer(TOKENS.twin));
    try {
      expect(await client.listToolNames()).toEqual(['list_servers', 'list_tools', 'search_tools', 'invoke', 'twin__pid']);
    } finally {
      await client.close();
    }
  });

  it('an endpoint without meta-tools serves only its surfaced tools', async () => {
    const client = await connectClient(kind, at('/v/ops'), bearer(TOKENS.all));
    try {
      expect(await client.listToolNames()).toEqual(['fixture__echo']);
      expect((await client.call('fixture__echo', { a: 1 })).structuredContent).toEqual({ echoed: { a: 1 } });
    } finally {
      await client.close();
    }
  });

  it("a key sees the intersection of its scope and the endpoint's", async () => {
    const all = await connectClient(kind, at('/v/browse'), bearer(TOKENS.all));
    const echoOnly = await connectClient(kind, at('/v/ops'), bearer(TOKENS.twin));
    try {
      const servers = (await all.call('list_servers')).structuredContent?.servers as Array<{ name: string }>;
      expect(servers.map((s) => s.name)).toEqual(['twin']);
      const hidden = await all.call('invoke', { server: 'fixture', tool: 'echo', arguments: {} });
      expect(hidden.isError).toBe(true);
      // ops allows fixture/echo and twin; this key allows only twin: nothing surfaced remains.
      expect(await echoOnly.listToolNames()).toEqual([]);
    } finally {
      await all.close();
      await echoOnly.close();
    }
  });

  it('an endpoint that is not configured is not found', async () => {
    await expect(connectClient(kind, at('/v/nope'), bearer(TOKENS.all))).rejects.toThrow();
  });
});
