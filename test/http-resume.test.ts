import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedEventStore } from '../src/http/event-store.js';
import type { RunningGateway } from '../src/server.js';
import { eventually, startTestGateway } from './helpers.js';

const ledgerServer = fileURLToPath(new URL('./fixtures/ledger-server.mjs', import.meta.url));

/**
 * A fetch whose in-flight tools/call POSTs can be cut (the connection is aborted, as a network drop
 * would): `drop()` cuts them, later requests go through.
 */
function droppableFetch() {
  const live = new Set<AbortController>();
  const fetchFn = (url: string | URL, init?: RequestInit) => {
    if (init?.method !== 'POST' || !String(init.body).includes('"tools/call"')) return fetch(url, init);
    const cut = new AbortController();
    live.add(cut);
    const signal = init.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal;
    return fetch(url, { ...init, signal });
  };
  const drop = () => {
    for (const cut of live) cut.abort(new Error('network dropped'));
    live.clear();
  };
  return { fetch: fetchFn, drop };
}

interface Caller {
  sessionId(): string | undefined;
  /** callTool; resumption token updates go to `onToken`; with `resumptionToken`, resume instead of sending. */
  call(args: Record<string, unknown>, onToken?: (token: string) => void, resumptionToken?: string): Promise<unknown>;
  close(): Promise<void>;
}

/** A 2025-11-25 client of either SDK; with `sessionId`, it joins that session instead of initializing. */
async function caller(kind: 'v1' | 'v2', url: string, fetchFn?: typeof fetch, sessionId?: string): Promise<Caller> {
  const info = { name: `resume-${kind}`, version: '1.0.0' };
  if (kind === 'v1') {
    const transport = new TransportV1(new URL(url), { fetch: fetchFn, sessionId });
    const client = new ClientV1(info);
    await client.connect(transport);
    return {
      sessionId: () => transport.sessionId,
      call: (args, onToken, resumptionToken) =>
        client.callTool({ name: 'wait', arguments: args }, CallToolResultSchema, {
          onresumptiontoken: onToken,
          resumptionToken,
          timeout: 20_000,
        }),
      close: () => client.close(),
    };
  }
  const transport = new TransportV2(new URL(url), { fetch: fetchFn, sessionId });
  const client = new ClientV2(info, { versionNegotiation: { mode: 'legacy' } });
  await client.connect(transport);
  return {
    sessionId: () => transport.sessionId,
    call: (args, onToken, resumptionToken) =>
      client.callTool({ name: 'wait', arguments: args }, { onresumptiontoken: onToken, resumptionToken, timeout: 20_000 }),
    close: () => client.close(),
  };
}

const textOf = (result: unknown) => (result as { content: Array<{ text?: string }> }).content[0]?.text;

describe('a 2025-11-25 session whose stream drops mid-call resumes it with Last-Event-ID', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-http-resume-'));
  const ledgerFile = join(dir, 'ledger.log');
  const ledger = (): string[] => {
    try {
      return readFileSync(ledgerFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  let gateway: RunningGateway;
  let url: string;
  beforeAll(async () => {
    gateway = await startTestGateway({
      backends: { lg: { command: process.execPath, args: [ledgerServer], env: { LEDGER_FILE: ledgerFile } } },
    });
    url = `${gateway.url}/lg`;
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['v1', 'v2'] as const)('a %s client cut off mid-call; a new client resumes with the token and gets the result', async (kind) => {
    const tag = `token-${kind}`;
    const net = droppableFetch();
    const first = await caller(kind, url, net.fetch as typeof fetch);
    let token: string | undefined;
    const abandoned = first.call({ ms: 4000, tag }, (t) => {
      token = t;
    });
    abandoned.catch(() => {}); // it ends when its client closes
    await eventually(() => ledger().includes(`start ${tag}`) && token, `the call of ${kind} reached the backend with a resumption token`);
    net.drop();
    await first.close(); // no DELETE: the session lives on, and this client cannot reconnect by itself
    const second = await caller(kind, url, undefined, first.sessionId());
    const result = await second.call({ ms: 4000, tag }, undefined, token);
    expect(textOf(result)).toBe('waited 4000');
    expect(ledger()).toContain(`done ${tag}`);
    expect(ledger()).not.toContain(`cancel ${tag}`);
    await second.close();
  });

  it.each(['v1', 'v2'] as const)('a %s client cut off mid-call reconnects by itself and its callTool returns the result', async (kind) => {
    const tag = `auto-${kind}`;
    const net = droppableFetch();
    const client = await caller(kind, url, net.fetch as typeof fetch);
    const call = client.call({ ms: 3000, tag });
    await eventually(() => ledger().includes(`start ${tag}`), `the call of ${kind} reached the backend`);
    net.drop();
    expect(textOf(await call)).toBe('waited 3000');
    expect(ledger()).not.toContain(`cancel ${tag}`);
    await client.close();
  });

  it('a client cut off mid-call that never comes back has its call cancelled at the backend', async () => {
    const tag = 'gone';
    const net = droppableFetch();
    const client = await caller('v2', url, net.fetch as typeof fetch);
    client.call({ ms: 30_000, tag }).catch(() => {});
    await eventually(() => ledger().includes(`start ${tag}`), 'the call reached the backend');
    net.drop();
    await client.close();
    await eventually(() => ledger().includes(`cancel ${tag}`), 'the backend saw the call cancelled', 150);
    expect(ledger()).not.toContain(`done ${tag}`);
  });
});

describe('BoundedEventStore', () => {
  const message = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { n } });
  const replay = async (store: BoundedEventStore, after: string) => {
    const seen: Array<[string, unknown]> = [];
    const stream = await store.replayEventsAfter(after, { send: async (id, m) => void seen.push([id, m]) });
    return { stream, seen };
  };

  it('replays the events of the same stream after the given id, in order', async () => {
    const store = new BoundedEventStore({ maxEvents: 10, maxBytes: 10_000 });
    const a0 = await store.storeEvent('a', message(0));
    await store.storeEvent('b', message(1));
    const a2 = await store.storeEvent('a', message(2));
    const { stream, seen } = await replay(store, a0);
    expect(stream).toBe('a');
    expect(seen).toEqual([[a2, message(2)]]);
    expect(store.streamOf(a2)).toBe('a');
  });

  it('keeps only the newest events within both bounds; a resume from a forgotten event is refused', async () => {
    const store = new BoundedEventStore({ maxEvents: 3, maxBytes: 10_000 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await store.storeEvent('a', message(i)));
    expect(store.streamOf(ids[1] as string)).toBeUndefined();
    await expect(replay(store, ids[1] as string)).rejects.toThrow(/no longer held/);
    expect((await replay(store, ids[2] as string)).seen.map(([, m]) => m)).toEqual([message(3), message(4)]);

    const small = new BoundedEventStore({ maxEvents: 100, maxBytes: 2 * JSON.stringify(message(0)).length });
    const s = [];
    for (let i = 0; i < 3; i++) s.push(await small.storeEvent('a', message(i)));
    expect(small.streamOf(s[0] as string)).toBeUndefined();
    expect(small.streamOf(s[1] as string)).toBe('a');
  });

  it('a message larger than the byte bound is not kept, and no resume can skip it', async () => {
    const store = new BoundedEventStore({ maxEvents: 100, maxBytes: 200 });
    const before = await store.storeEvent('a', message(0));
    await store.storeEvent('a', { jsonrpc: '2.0', method: 'notifications/message', params: { big: 'x'.repeat(500) } });
    const after = await store.storeEvent('a', message(2));
    expect(store.streamOf(before)).toBeUndefined();
    expect(store.streamOf(after)).toBe('a');
  });

  it('an event id that is not a number it issued is unknown', async () => {
    const store = new BoundedEventStore({ maxEvents: 10, maxBytes: 10_000 });
    await store.storeEvent('a', message(0));
    for (const id of ['', '-1', '0x0', '1', 'a', '0.0', '99999999999999999999']) expect(store.streamOf(id)).toBeUndefined();
  });
});
