import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SUBSCRIPTIONS_PER_SESSION } from '../src/fronts/subscriptions.js';
import type { RunningGateway } from '../src/server.js';
import { connectClient, eventually, fixtureBackend, startTestGateway } from './helpers.js';

/** list_servers counts, relayed resources/list_changed and resources/subscribe through the gateway (2025 sessions). */
let gateway: RunningGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    capability_dirs: [],
    backends: { fixture: fixtureBackend(['--resources']), plain: fixtureBackend(['--name', 'plain']) },
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
});

it('list_servers shows each backend’s resource and prompt counts', async () => {
  const client = await connectClient('v2-2026', gateway.url);
  try {
    const servers = await eventually(async () => {
      const listed = (await client.call('list_servers')).structuredContent?.servers as Array<Record<string, unknown>>;
      return listed.every((s) => s.tools !== null) && listed;
    }, 'both backends listed');
    expect(servers.find((s) => s.name === 'fixture')).toMatchObject({ resources: 1, prompts: 1 });
    expect(servers.find((s) => s.name === 'plain')).toMatchObject({ resources: 0, prompts: 0 });
  } finally {
    await client.close();
  }
});

describe.each(['v1', 'v2-2025'] as const)('changes reach a %s session', (kind) => {
  it('a backend’s resources/list_changed is relayed and the new resource is listed', async () => {
    const changed: string[] = [];
    const client = await open(kind, () => changed.push('resources'));
    try {
      await client.call('invoke', { server: 'fixture', tool: 'add_resource', arguments: {} });
      await eventually(() => changed.length > 0, 'resources/list_changed relayed');
      const uris = await eventually(async () => {
        const listed = (await client.listResources()).map((r) => r.uri);
        return listed.some((uri) => uri.startsWith('fixture://extra/')) && listed;
      }, 'the new resource listed');
      expect(uris).toContain('fixture://static/text');
    } finally {
      await client.close();
    }
  });

  it('resources/subscribe reaches the backend and its update comes back', async () => {
    const updated: string[] = [];
    const client = await open(kind, undefined, (uri) => updated.push(uri));
    try {
      await client.subscribe('fixture://static/text');
      const touched = await client.call('invoke', { server: 'fixture', tool: 'touch', arguments: { uri: 'fixture://static/text' } });
      expect(touched.content?.[0]).toMatchObject({ text: 'updated sent' });
      await eventually(() => updated.includes('fixture://static/text'), 'resources/updated relayed');
      await client.unsubscribe('fixture://static/text');
      const after = await client.call('invoke', { server: 'fixture', tool: 'touch', arguments: { uri: 'fixture://static/text' } });
      expect(after.content?.[0]).toMatchObject({ text: 'not subscribed' });
    } finally {
      await client.close();
    }
  });

  it('subscribing on a backend without subscriptions is a clear error', async () => {
    const client = await open(kind);
    try {
      await expect(client.subscribe('nowhere://x')).rejects.toThrow(/Resource not found/);
    } finally {
      await client.close();
    }
  });
});

it('a session holds at most MAX_SUBSCRIPTIONS_PER_SESSION subscriptions, even on a passthrough (any URI)', async () => {
  const client = new ClientV1({ name: 'subscriber', version: '1' });
  const transport = new HttpTransportV1(new URL(`${gateway.url}/fixture`));
  await client.connect(transport);
  try {
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_SESSION; i++) await client.subscribeResource({ uri: `fixture://many/${i}` });
    // The same URI again takes no new place; a new one is refused with the reason, and the session goes on.
    await client.subscribeResource({ uri: 'fixture://many/0' });
    await expect(client.subscribeResource({ uri: 'fixture://many/overflow' })).rejects.toThrow(/256 resource subscriptions/);
    await client.unsubscribeResource({ uri: 'fixture://many/0' });
    await client.subscribeResource({ uri: 'fixture://many/overflow' });
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
});

describe('a 2026 client listening for resource updates (subscriptions/listen)', () => {
  it('has the listed resource subscribed at its backend while the stream is open, and gets its updates', async () => {
    const client = new ClientV2({ name: 'listener', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    const updated: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
    await client.connect(new HttpTransportV2(new URL(gateway.url)));
    const touch = async () =>
      (
        (
          await client.callTool({
            name: 'invoke',
            arguments: { server: 'fixture', tool: 'touch', arguments: { uri: 'fixture://static/text' } },
          })
        ).content as Array<{ text?: string }>
      )[0]?.text;
    try {
      expect(await touch()).toBe('not subscribed');
      const subscription = await client.listen({ resourceSubscriptions: ['fixture://static/text', 'nowhere://x'] });
      await eventually(async () => (await touch()) === 'updated sent', 'the backend is subscribed while the listen stream is open');
      await eventually(() => updated.includes('fixture://static/text'), 'the update reaches the listening client');
      await subscription.close();
      await eventually(async () => (await touch()) === 'not subscribed', 'the backend is unsubscribed once the stream closes');
    } finally {
      await client.close();
    }
  });
});

describe('2026 listen streams, with keys', () => {
  const TOKENS = { all: 'listen-key-all-0123456789', plain: 'listen-key-plain-0123456789' };
  let keyed: RunningGateway;
  beforeAll(async () => {
    keyed = await startTestGateway({
      capability_dirs: [],
      auth: {
        keys: [
          { name: 'all', token: TOKENS.all, allow: ['*'] },
          { name: 'plain', token: TOKENS.plain, allow: ['plain/*'] },
        ],
      },
      limits: { max_sessions: 4 },
      backends: { fixture: fixtureBackend(['--resources']), plain: fixtureBackend(['--name', 'plain']) },
    });
  }, 30_000);
  afterAll(async () => {
    await keyed?.close();
  });
  const open = async (token: string) => {
    const client = new ClientV2({ name: 'listener', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    const updated: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
    await client.connect(new HttpTransportV2(new URL(keyed.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    return { client, updated };
  };
  const touch = async (client: ClientV2) =>
    (
      (
        await client.callTool({
          name: 'invoke',
          arguments: { server: 'fixture', tool: 'touch', arguments: { uri: 'fixture://static/text' } },
        })
      ).content as Array<{ text?: string }>
    )[0]?.text;

  it('a key that cannot see a resource neither subscribes it nor gets its updates', async () => {
    const narrow = await open(TOKENS.plain);
    const wide = await open(TOKENS.all);
    try {
      await narrow.client.listen({ resourceSubscriptions: ['fixture://static/text'] });
      expect(await touch(wide.client)).toBe('not subscribed');
      await wide.client.listen({ resourceSubscriptions: ['fixture://static/text'] });
      await eventually(async () => (await touch(wide.client)) === 'updated sent', 'the wide key subscribed it');
      await eventually(() => wide.updated.includes('fixture://static/text'), 'the wide key gets the update');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(narrow.updated).toEqual([]);
    } finally {
      await narrow.client.close();
      await wide.client.close();
    }
  });

  it('one key holds at most a quarter of limits.max_sessions listen streams', async () => {
    const first = await open(TOKENS.plain);
    const second = await open(TOKENS.plain);
    const other = await open(TOKENS.all);
    try {
      await first.client.listen({ toolsListChanged: true });
      await expect(second.client.listen({ toolsListChanged: true })).rejects.toThrow(/Subscription limit reached: this key holds 1/);
      // Another key is not shut out.
      const held = await other.client.listen({ toolsListChanged: true });
      await held.close();
    } finally {
      await first.client.close();
      await second.client.close();
      await other.client.close();
    }
  });
});

interface SessionClient {
  call(name: string, args: Record<string, unknown>): Promise<{ content?: Array<Record<string, unknown>> }>;
  listResources(): Promise<Array<{ uri: string }>>;
  subscribe(uri: string): Promise<unknown>;
  unsubscribe(uri: string): Promise<unknown>;
  close(): Promise<void>;
}

async function open(kind: 'v1' | 'v2-2025', onListChanged?: () => void, onUpdated?: (uri: string) => void): Promise<SessionClient> {
  if (kind === 'v1') {
    const client = new ClientV1({ name: 'changes', version: '1' });
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => onListChanged?.());
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => onUpdated?.(n.params.uri));
    const transport = new HttpTransportV1(new URL(gateway.url));
    await client.connect(transport);
    return {
      call: async (name, args) => (await client.callTool({ name, arguments: args })) as never,
      listResources: async () => (await client.listResources()).resources,
      subscribe: (uri) => client.subscribeResource({ uri }),
      unsubscribe: (uri) => client.unsubscribeResource({ uri }),
      close: async () => {
        await transport.terminateSession().catch(() => {});
        await client.close();
      },
    };
  }
  const client = new ClientV2({ name: 'changes', version: '1' }, { versionNegotiation: { mode: 'legacy' } });
  client.setNotificationHandler('notifications/resources/list_changed', () => onListChanged?.());
  client.setNotificationHandler('notifications/resources/updated', (n) => onUpdated?.(n.params.uri));
  await client.connect(new HttpTransportV2(new URL(gateway.url)));
  return {
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as never,
    listResources: async () => (await client.listResources({}, { cacheMode: 'bypass' } as never)).resources,
    subscribe: (uri) => client.subscribeResource({ uri }),
    unsubscribe: (uri) => client.unsubscribeResource({ uri }),
    close: () => client.close(),
  };
}
