import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2, LOG_LEVEL_META_KEY } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import { CLIENT_KINDS, type ClientKind, fixtureBackend, repoRoot, startTestGateway } from './helpers.js';

const everything = {
  command: process.execPath,
  args: [join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')],
};

interface RequestClient {
  call(name: string, args: Record<string, unknown>): Promise<{ text: string; isError?: boolean }>;
  /** Log messages the gateway relayed to this client. */
  logs: unknown[];
  /** How many sampling requests reached this client. */
  asked: string[];
  /** logging/setLevel (2025), or the level every later 2026 request carries. */
  setLogLevel(level: 'info'): Promise<void>;
  close(): Promise<void>;
}

/** A real SDK client that answers sampling, elicitation and roots (or, with `bare`, declares none of them). */
async function connect(kind: ClientKind, url: string, bare = false): Promise<RequestClient> {
  const info = { name: `requests-${kind}`, version: '1.0.0' };
  const logs: unknown[] = [];
  const asked: string[] = [];
  const capabilities = bare ? {} : { sampling: {}, elicitation: { form: {} }, roots: {} };
  const sampled = (prompt: string) => ({
    role: 'assistant' as const,
    model: 'test-model',
    content: { type: 'text' as const, text: `model says ${prompt}` },
  });
  const textOf = (result: { content?: unknown; isError?: boolean }) => ({
    text: ((result.content as Array<{ text?: string }> | undefined) ?? []).map((c) => c.text ?? '').join(''),
    isError: result.isError,
  });
  if (kind === 'v1') {
    const client = new ClientV1(info, { capabilities });
    if (!bare) {
      client.setRequestHandler(CreateMessageRequestSchema, (request) => {
        const content = request.params.messages[0]?.content as { text?: string };
        asked.push('sampling');
        return sampled(String(content?.text));
      });
      client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'Ada' } }));
      client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///tmp/v1-root', name: 'root' }] }));
    }
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    const transport = new HttpTransportV1(new URL(url));
    await client.connect(transport);
    return {
      call: async (name, args) => textOf((await client.callTool({ name, arguments: args })) as never),
      logs,
      asked,
      setLogLevel: async (level) => void (await client.setLoggingLevel(level)),
      close: async () => {
        await transport.terminateSession().catch(() => {});
        await client.close();
      },
    };
  }
  const client = new ClientV2(info, {
    capabilities,
    versionNegotiation: { mode: kind === 'v2-2026' ? { pin: '2026-07-28' } : 'legacy' },
  });
  if (!bare) {
    client.setRequestHandler('sampling/createMessage', (request) => {
      const content = request.params.messages[0]?.content as { text?: string };
      asked.push('sampling');
      return sampled(String(content?.text));
    });
    client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { name: 'Ada' } }));
    client.setRequestHandler('roots/list', () => ({ roots: [{ uri: 'file:///tmp/v2-root', name: 'root' }] }));
  }
  client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params.data));
  await client.connect(new HttpTransportV2(new URL(url)));
  // 2026-07-28 has no logging/setLevel: each request says the level it wants in its _meta envelope.
  let logLevel: string | undefined;
  return {
    call: async (name, args) =>
      textOf(
        (await client.callTool({ name, arguments: args, ...(logLevel ? { _meta: { [LOG_LEVEL_META_KEY]: logLevel } } : {}) })) as never,
      ),
    logs,
    asked,
    setLogLevel: async (level) => {
      if (kind === 'v2-2026') logLevel = level;
      else await client.setLoggingLevel(level);
    },
    close: () => client.close(),
  };
}

let gateway: RunningGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    backends: { fixture: fixtureBackend(['--server-requests']), everything },
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
});

const invoke = (client: RequestClient, tool: string, args: Record<string, unknown> = {}, server = 'fixture') =>
  client.call('invoke', { server, tool, arguments: args });

describe.each(CLIENT_KINDS)('server-to-client requests through /mcp (%s)', (kind) => {
  let client: RequestClient;
  beforeAll(async () => {
    client = await connect(kind, gateway.url);
  });
  afterAll(async () => {
    await client?.close();
  });

  it("a backend's sampling request reaches the client and its answer goes back", async () => {
    const result = await invoke(client, 'ask_sampling', { prompt: 'haiku' });
    expect(result).toEqual({ text: 'sampled: model says haiku', isError: undefined });
  });

  it('elicitation and roots too', async () => {
    expect((await invoke(client, 'ask_elicitation')).text).toBe('elicited: {"action":"accept","content":{"name":"Ada"}}');
    const roots = kind === 'v1' ? 'file:///tmp/v1-root' : 'file:///tmp/v2-root';
    expect((await invoke(client, 'ask_roots')).text).toBe(`roots: ${roots}`);
  });

  it("the backend's log message reaches the client that made the call, at the level it asked for", async () => {
    await client.setLogLevel('info');
    expect((await invoke(client, 'log', { text: `log for ${kind}` })).text).toBe('logged');
    expect(client.logs).toContain(`log for ${kind}`);
  });

  it('the reference server-everything asks for sampling through the gateway', async () => {
    const result = await invoke(client, 'trigger-sampling-request', { prompt: 'ping' }, 'everything');
    expect(result.isError).toBeFalsy();
    expect(result.text).toContain('model says');
  });

  it('a passthrough client gets the request too', async () => {
    const direct = await connect(kind, `${gateway.url}/fixture`);
    try {
      expect(await direct.call('ask_sampling', { prompt: 'direct' })).toEqual({ text: 'sampled: model says direct', isError: undefined });
    } finally {
      await direct.close();
    }
  });

  it('a client that declared no sampling: the backend gets a clear error, the call ends', async () => {
    const bare = await connect(kind, gateway.url, true);
    try {
      const result = await invoke(bare, 'ask_sampling', { prompt: 'x' });
      expect(result.isError).toBe(true);
      expect(result.text).toMatch(
        /ask_sampling failed: .*cannot answer sampling\/createMessage: it did not declare the sampling capability/,
      );
    } finally {
      await bare.close();
    }
  });
});

describe('where nothing can carry the request', () => {
  it('a 2025 request without a session: the backend is told, never left waiting', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'invoke', arguments: { server: 'fixture', tool: 'ask_sampling', arguments: { prompt: 'x' } } },
      }),
    });
    const body = await response.text();
    expect(body).toContain('ask_sampling failed');
    expect(body).toContain('a 2025-era request without a session cannot be asked anything');
  });

  it('two calls in flight on one backend: neither client is asked the other one’s question', async () => {
    const one = await connect('v2-2025', gateway.url);
    const two = await connect('v2-2025', gateway.url);
    try {
      // `slow` keeps one call in flight while the other asks for sampling.
      const slow = invoke(one, 'slow', { ms: 800 });
      await new Promise((r) => setTimeout(r, 200));
      const asked = await invoke(two, 'ask_sampling', { prompt: 'whose?' });
      expect(asked.isError).toBe(true);
      expect(asked.text).toContain('2 calls are in flight on this server');
      expect(one.asked).toEqual([]);
      expect(two.asked).toEqual([]);
      await slow;
    } finally {
      await one.close();
      await two.close();
    }
  });
});
