import type { Server } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { ToolSource } from '../sources/source.js';
import type { FrontSubscriptions } from './resources.js';

/**
 * resources/subscribe across fronts: the backend is subscribed once per URI however many front servers
 * (2025 sessions, stdio) asked, unsubscribed when the last one leaves, and each update goes to the front
 * servers that subscribed, under the URI they used.
 */
export class SubscriptionHub {
  /** `server\0uri` → the front servers subscribed, each with the URI it knows. */
  private readonly subscribers = new Map<string, Map<Server, string>>();

  /** The subscriptions of one front server; all of them end when it closes. */
  forServer(server: Server): FrontSubscriptions {
    const mine = new Map<string, ToolSource>();
    const previous = server.onclose;
    server.onclose = () => {
      previous?.();
      for (const [key, source] of mine) void this.leave(server, source, key.slice(source.name.length + 1)).catch(() => {});
    };
    return {
      add: async (source, uri, wireUri) => {
        if (!source.subscribeResource || !source.canSubscribe?.())
          throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `Server "${source.name}" does not support resources/subscribe`);
        const key = keyOf(source, uri);
        let servers = this.subscribers.get(key);
        if (!servers) {
          await source.subscribeResource(uri, true);
          servers = this.subscribers.get(key) ?? new Map();
          this.subscribers.set(key, servers);
        }
        servers.set(server, wireUri);
        mine.set(key, source);
      },
      remove: async (source, uri) => {
        mine.delete(keyOf(source, uri));
        await this.leave(server, source, uri);
      },
    };
  }

  /** A backend said a resource changed: tell the front servers subscribed to it. */
  async updated(source: ToolSource, uri: string): Promise<void> {
    const servers = this.subscribers.get(keyOf(source, uri));
    if (!servers) return;
    await Promise.allSettled([...servers].map(([server, wireUri]) => server.sendResourceUpdated({ uri: wireUri })));
  }

  private async leave(server: Server, source: ToolSource, uri: string): Promise<void> {
    const key = keyOf(source, uri);
    const servers = this.subscribers.get(key);
    if (!servers?.delete(server) || servers.size > 0) return;
    this.subscribers.delete(key);
    await source.subscribeResource?.(uri, false);
  }
}

function keyOf(source: ToolSource, uri: string): string {
  return `${source.name}\0${uri}`;
}
