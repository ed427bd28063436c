import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import {
  CLIENT_KINDS,
  type ClientKind,
  connectClient,
  errorOf,
  eventually,
  type FrontClient,
  fixtureBackend,
  fixturePath,
  repoRoot,
  startTestGateway,
} from './helpers.js';

/** The four meta-tools, over every client era, against real backends: the fixture server and two npm reference servers. */

const referenceServer = (pkg: string) => ({
  command: process.execPath,
  args: [join(repoRoot, 'node_modules/@modelcontextprotocol', pkg, 'dist/index.js')],
});

let gateway: RunningGateway;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-meta-'));
  gateway = await startTestGateway({
    backends: {
      fixture: { ...fixtureBackend(), description: 'Fixture server for tests' },
      paged: fixtureBackend(['--name', 'paged', '--tools', '300', '--page-size', '50']),
      memory: {
        ...referenceServer('server-memory'),
        env: { MEMORY_FILE_PATH: join(dataDir, 'memory.jsonl') },
        description: 'Knowledge graph memory',
      },
      everything: referenceServer('server-everything'),
    },
  });
});

afterAll(async () => {
  await gateway?.close();
});

describe.each(CLIENT_KINDS)('meta-tools through a %s client', (kind: ClientKind) => {
  let client: FrontClient;
  beforeAll(async () => {
    client = await connectClient(kind, gateway.url);
  });
  afterAll(async () => {
    await client?.close();
  });

  it('lists exactly the four meta-tools, with output schemas, in under 2,000 characters', async () => {
    const tools = await client.listToolsRaw();
    expect(tools.map((t) => t.name).sort()).toEqual(['invoke', 'list_servers', 'list_tools', 'search_tools']);
    for (const name of ['list_servers', 'list_tools', 'search_tools']) {
      expect(tools.find((t) => t.name === name)?.outputSchema, name).toBeDefined();
    }
    expect(JSON.stringify(tools).length).toBeLessThan(2000);
    // The search tool's description tells the model which servers are behind the gateway.
    expect(tools.find((t) => t.name === 'search_tools')?.description).toContain('memory');
  });

  it('list_servers reports every backend with state and tool count', async () => {
    // A backend still starting after list_servers' short wait is shown as `starting`; it becomes ready.
    const result = await eventually(async () => {
      const answer = await client.call('list_servers');
      const listed = answer.structuredContent?.servers as Array<Record<string, unknown>>;
      return listed.every((s) => s.state === 'ready') && answer;
    }, 'every backend ready');
    expect(result.isError).toBeFalsy();
    const servers = result.structuredContent?.servers as Array<Record<string, unknown>>;
    expect(servers.map((s) => s.name)).toEqual(['fixture', 'paged', 'memory', 'everything']);
    const byName = Object.fromEntries(servers.map((s) => [s.name, s]));
    expect(byName.memory).toMatchObject({ state: 'ready', tools: 9, transport: 'stdio', description: 'Knowledge graph memory' });
    expect(byName.paged?.tools).toBe(306); // 300 generated + the fixture's 6 core tools, over 7 pages
    // The same JSON as text, for clients that only read text.
    expect(JSON.parse((result.content?.[0] as { text: string }).text)).toEqual(result.structuredContent);
  });

  it('list_tools returns every page of a paginated backend', async () => {
    const result = await client.call('list_tools', { server: 'paged' });
    const tools = result.structuredContent?.tools as Array<{ name: string; inputSchema: unknown }>;
    expect(tools).toHaveLength(306);
    expect(tools.map((t) => t.name)).toContain('tool_299');
    expect(tools.find((t) => t.name === 'tool_042')?.inputSchema).toMatchObject({ properties: { value: { type: 'string' } } });
  });

  it('answers carry compact schemas: no $schema, no pretty-printing, the whole answer in the text', async () => {
    // The memory reference server's schemas declare $schema (draft-07); the answers drop it.
    const listed = await client.call('list_tools', { server: 'memory' });
    const text = (listed.content?.[0] as { text: string }).text;
    expect(text).not.toContain('$schema');
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)).toEqual(listed.structuredContent);
    const found = await client.call('search_tools', { query: 'create entities in the knowledge graph' });
    expect((found.content?.[0] as { text: string }).text).not.toContain('$schema');
    expect((found.structuredContent?.results as unknown[]).length).toBeLessThanOrEqual(5);
  });

  it('list_tools on an unknown server suggests the closest names', async () => {
    const result = await client.call('list_tools', { server: 'memroy' });
    expect(result.isError).toBe(true);
    expect(errorOf(result)).toMatchObject({ code: 'unknown_server', suggestions: ['memory'] });
  });

  it('search_tools ranks the matching tool first and searches across backends', async () => {
    const graph = await client.call('search_tools', { query: 'create entities in the knowledge graph' });
    const first = (graph.structuredContent?.results as Array<Record<string, unknown>>)[0];
    expect(first).toMatchObject({ server: 'memory', tool: 'create_entities' });
    expect(first?.inputSchema).toMatchObject({ type: 'object', properties: { entities: { type: 'array' } } });

    const echo = await client.call('search_tools', { query: 'echo', limit: 10 });
    const servers = new Set(
      (echo.structuredContent?.results as Array<{ server: string; tool: string }>).filter((r) => r.tool === 'echo').map((r) => r.server),
    );
    expect([...servers]).toEqual(expect.arrayContaining(['fixture', 'paged', 'everything'])); // each has an `echo`
  });

  it('search_tools puts an exact tool name first, honours server and limit, and answers no match with a hint', async () => {
    const exact = await client.call('search_tools', { query: 'read_graph' });
    expect((exact.structuredContent?.results as Array<Record<string, unknown>>)[0]).toMatchObject({ server: 'memory', tool: 'read_graph' });

    const scoped = await client.call('search_tools', { query: 'echo', server: 'everything', limit: 2 });
    const scopedResults = scoped.structuredContent?.results as Array<{ server: string }>;
    expect(scopedResults.length).toBeGreaterThan(0);
    expect(scopedResults.length).toBeLessThanOrEqual(2);
    expect(scopedResults.every((r) => r.server === 'everything')).toBe(true);

    const none = await client.call('search_tools', { query: 'xylophonequartz' });
    expect(none.isError).toBeFalsy();
    expect(none.structuredContent?.results).toEqual([]);
    expect(none.structuredContent?.hint).toMatch(/No tool matched/);
  });

  it('invoke round-trips arguments exactly', async () => {
    const args = {
      message: 'héllo ✓ 日本語',
      n: 3.25,
      big: Number.MAX_SAFE_INTEGER,
      nil: null,
      flag: false,
      nested: { list: [1, 'two', { three: [] }], empty: {} },
    };
    const result = await client.call('invoke', { server: 'fixture', tool: 'echo', arguments: args });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ echoed: args });
    expect(JSON.parse((result.content?.[0] as { text: string }).text)).toEqual(args);
  });

  it('invoke passes isError, structuredContent and _meta through unchanged', async () => {
    const result = await client.call('invoke', { server: 'fixture', tool: 'fail_with_structure' });
    const { _meta, ...rest } = result;
    expect(rest).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'deliberate failure' }],
      structuredContent: { reason: 'deliberate', code: 42, nested: { list: [1, 'two', null] } },
    });
    expect(_meta?.['fixture/trace']).toBe('abc');
  });

  it('invoke on a reference server returns its own result', async () => {
    const result = await client.call('invoke', { server: 'everything', tool: 'get-sum', arguments: { a: 2, b: 40 } });
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result.content)).toContain('42');
  });

  it('invoke suggests servers and tools before anything is sent', async () => {
    const server = await client.call('invoke', { server: 'everythin', tool: 'echo' });
    expect(server.isError).toBe(true);
    expect(errorOf(server)).toMatchObject({ code: 'unknown_server', suggestions: ['everything'] });

    const tool = await client.call('invoke', { server: 'fixture', tool: 'ecoh', arguments: { message: 'x' } });
    expect(tool.isError).toBe(true);
    expect(errorOf(tool)).toMatchObject({ code: 'unknown_tool', suggestions: ['echo'] });
    expect(errorOf(tool)?.message).toContain('Did you mean "echo"');

    const elsewhere = await client.call('invoke', { server: 'fixture', tool: 'read_graph' });
    expect(errorOf(elsewhere)).toMatchObject({ code: 'unknown_tool', available_on: ['memory'] });
  });

  it('rejects bad meta-tool arguments with a clear isError result', async () => {
    const result = await client.call('invoke', { tool: 'echo' });
    expect(result.isError).toBe(true);
    expect(errorOf(result)).toMatchObject({ code: 'invalid_arguments' });
    expect((result.content?.[0] as { text: string }).text).toContain('server');
  });

  it('answers an unknown meta-tool name with a JSON-RPC error', async () => {
    await expect(client.call('no_such_meta_tool')).rejects.toThrow(/Unknown tool/);
  });
});

describe('invoke results against the backend called directly', () => {
  it('is deep-equal to what the fixture returns to a direct client', async () => {
    const direct = new Client({ name: 'direct', version: '1' });
    await direct.connect(new StdioClientTransport({ command: process.execPath, args: [fixturePath] }));
    const front = await connectClient('v2-2025', gateway.url);
    try {
      for (const [tool, args] of [
        ['fail_with_structure', {}],
        ['echo', { message: 'same', deep: { a: [1, { b: null }] } }],
        ['pid', {}],
      ] as const) {
        const viaDirect = await direct.request({ method: 'tools/call', params: { name: tool, arguments: args } });
        const viaGateway = await front.call('invoke', { server: 'fixture', tool, arguments: args });
        if (tool === 'pid') {
          // Different processes, same shape.
          expect(Object.keys(viaGateway.structuredContent ?? {})).toEqual(Object.keys(viaDirect.structuredContent ?? {}));
        } else {
          expect(viaGateway).toEqual(viaDirect);
        }
      }
    } finally {
      await front.close();
      await direct.close();
    }
  });
});

describe('tool_prefix', () => {
  it('renames the meta-tools and they still work', async () => {
    const prefixed = await startTestGateway({ meta_mcp: { tool_prefix: 'gateway_' }, backends: { fixture: fixtureBackend() } });
    const client = await connectClient('v2-2025', prefixed.url);
    try {
      expect((await client.listToolNames()).sort()).toEqual([
        'gateway_invoke',
        'gateway_list_servers',
        'gateway_list_tools',
        'gateway_search_tools',
      ]);
      const result = await client.call('gateway_invoke', { server: 'fixture', tool: 'echo', arguments: { message: 'p' } });
      expect(result.structuredContent).toEqual({ echoed: { message: 'p' } });
      await expect(client.call('invoke', { server: 'fixture', tool: 'echo' })).rejects.toThrow(/Unknown tool/);
    } finally {
      await client.close();
      await prefixed.close();
    }
  });
});
