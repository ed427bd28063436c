import type { Server } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { MAX_SUBSCRIPTIONS_PER_SESSION, SubscriptionHub } from '../src/fronts/subscriptions.js';
import type { ToolSource } from '../src/sources/source.js';

/**
 * The hub's bookkeeping under concurrency: what the backend holds must match what sessions hold, and a
 * closed session holds nothing. The backend here answers subscribe/unsubscribe after a delay, as a
 * remote one does; the session stands in for an SDK Server (only onclose and sendResourceUpdated are used).
 */
function slowBackend(delayMs = 5) {
  const subscribed = new Set<string>();
  const source = {
    name: 'slow',
    canSubscribe: () => true,
    subscribeResource: async (uri: string, on: boolean) => {
      await new Promise((r) => setTimeout(r, delayMs));
      if (on) subscribed.add(uri);
      else subscribed.delete(uri);
    },
  } as unknown as ToolSource;
  return { source, subscribed };
}

function session() {
  const updates: string[] = [];
  const server = { onclose: undefined, sendResourceUpdated: async ({ uri }: { uri: string }) => void updates.push(uri) };
  return { server: server as unknown as Server & { onclose?: () => void }, updates };
}

describe('SubscriptionHub', () => {
  it('a subscribe and an unsubscribe sent together leave nothing behind, at the backend or in the hub', async () => {
    const hub = new SubscriptionHub();
    const backend = slowBackend();
    const { server } = session();
    const subs = hub.forServer(server);
    const uris = Array.from({ length: 300 }, (_, i) => `r://${i}`);
    // (Past 256 at once, some subscribes are refused by the limit: what matters is what is held after.)
    await Promise.allSettled(uris.flatMap((uri) => [subs.add(backend.source, uri, uri), subs.remove(backend.source, uri)]));
    expect(backend.subscribed.size).toBe(0);
    // The limit counts what the session holds: all 256 places are free again.
    const held = Array.from({ length: MAX_SUBSCRIPTIONS_PER_SESSION }, (_, i) => `s://${i}`);
    await Promise.all(held.map((uri) => subs.add(backend.source, uri, uri)));
    expect(backend.subscribed.size).toBe(MAX_SUBSCRIPTIONS_PER_SESSION);
  });

  it('holds the limit when many subscribes arrive at once', async () => {
    const hub = new SubscriptionHub();
    const backend = slowBackend();
    const subs = hub.forServer(session().server);
    const results = await Promise.allSettled(
      Array.from({ length: MAX_SUBSCRIPTIONS_PER_SESSION + 40 }, (_, i) => subs.add(backend.source, `r://${i}`, `r://${i}`)),
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(MAX_SUBSCRIPTIONS_PER_SESSION);
    expect(backend.subscribed.size).toBe(MAX_SUBSCRIPTIONS_PER_SESSION);
  });

  it('a session that closes while its subscribes are under way ends holding none', async () => {
    const hub = new SubscriptionHub();
    const backend = slowBackend(10);
    const { server, updates } = session();
    const subs = hub.forServer(server);
    const pending = Promise.allSettled(Array.from({ length: 20 }, (_, i) => subs.add(backend.source, `r://${i}`, `r://${i}`)));
    await new Promise((r) => setTimeout(r, 15));
    server.onclose?.();
    await pending;
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.subscribed.size).toBe(0);
    await hub.updated(backend.source, 'r://0');
    expect(updates).toEqual([]);
  });

  it('a URI two sessions hold stays subscribed at the backend until the last one leaves', async () => {
    const hub = new SubscriptionHub();
    const backend = slowBackend();
    const a = session();
    const b = session();
    const subsA = hub.forServer(a.server);
    const subsB = hub.forServer(b.server);
    await Promise.all([subsA.add(backend.source, 'r://x', 'r://x'), subsB.add(backend.source, 'r://x', 'mcpgw://slow/r://x')]);
    await subsA.remove(backend.source, 'r://x');
    expect(backend.subscribed.has('r://x')).toBe(true);
    await hub.updated(backend.source, 'r://x');
    expect([a.updates, b.updates]).toEqual([[], ['mcpgw://slow/r://x']]);
    b.server.onclose?.();
    await new Promise((r) => setTimeout(r, 30));
    expect(backend.subscribed.has('r://x')).toBe(false);
  });
});
