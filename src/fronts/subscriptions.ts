import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { ToolSource } from '../sources/source.js';
import type { FrontSubscriptions } from './resources.js';

/**
 * Resource subscriptions one front server (a session, or stdio) may hold at once. Each is state here and
 * at the backend; on a passthrough any URI is accepted, so without a bound one client could grow both
 * without end. Generous for real clients, which subscribe to the few resources they show.
 */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 256;

/**
 * Who holds subscriptions: a front server (2025 session or stdio: an SDK Server, told of updates itself), or
 * a 2026 `subscriptions/listen` stream (its updates go out through the SDK's listen router).
 */
export interface Subscriber {
  onclose?: (() => void) | undefined;
  sendResourceUpdated(params: { uri: string }): Promise<void>;
}

/**
 * resources/subscribe across fronts: the backend is subscribed once per URI however many front servers
 * (2025 sessions, stdio) asked, unsubscribed when the last one leaves, and each update goes to the front
 * servers that subscribed, under the URI they used.
 */
export class SubscriptionHub {
  /** `server\0uri` → the front servers subscribed, each with the URI it knows. */
  private readonly subscribers = new Map<string, Map<Subscriber, string>>();

  /** Per `server\0uri`, the operation under way: subscribes and unsubscribes of one URI run one at a time. */
  private readonly ops = new Map<string, Promise<unknown>>();

  /** The subscriptions of one front server; all of them end when it closes. */
  forServer(server: Subscriber): FrontSubscriptions {
    const mine = new Map<string, ToolSource>();
    let closed = false;
    const previous = server.onclose;
    server.onclose = () => {
      closed = true;
      previous?.();
      for (const [key, source] of mine) {
        mine.delete(key);
        void this.serially(key, () => this.leave(server, source, key.slice(source.name.length + 1))).catch(() => {});
      }
    };
    return {
      add: (source, uri, wireUri) => {
        if (!source.subscribeResource || !source.canSubscribe?.())
          throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `Server "${source.name}" does not support resources/subscribe`);
        const key = keyOf(source, uri);
        return this.serially(key, async () => {
          if (closed) return;
          const fresh = !mine.has(key);
          if (fresh && mine.size >= MAX_SUBSCRIPTIONS_PER_SESSION)
            throw new ProtocolError(
              ProtocolErrorCode.InvalidRequest,
              `This session already holds ${MAX_SUBSCRIPTIONS_PER_SESSION} resource subscriptions (the limit); unsubscribe from one first`,
            );
          // Counted before the backend answers, so concurrent requests for other URIs cannot pass the limit together.
          if (fresh) mine.set(key, source);
          try {
            let servers = this.subscribers.get(key);
            if (!servers) {
              await source.subscribeResource!(uri, true);
              servers = new Map();
              this.subscribers.set(key, servers);
            }
            servers.set(server, wireUri);
          } catch (error) {
            if (fresh) mine.delete(key);
            throw error;
          }
          // The session closed while the backend answered: let this one go too.
          if (closed) {
            mine.delete(key);
            await this.leave(server, source, uri);
          }
        });
      },
      remove: (source, uri) => {
        const key = keyOf(source, uri);
        return this.serially(key, async () => {
          mine.delete(key);
          await this.leave(server, source, uri);
        });
      },
    };
  }

  /** Run `op` after every operation already queued for `key` (whatever their outcome). */
  private serially<T>(key: string, op: () => Promise<T>): Promise<T> {
    const run = (this.ops.get(key) ?? Promise.resolve()).catch(() => {}).then(op);
    const settled = run.catch(() => {});
    this.ops.set(key, settled);
    void settled.then(() => {
      if (this.ops.get(key) === settled) this.ops.delete(key);
    });
    return run;
  }

  /** A backend said a resource changed: tell the front servers subscribed to it. */
  async updated(source: ToolSource, uri: string): Promise<void> {
    const servers = this.subscribers.get(keyOf(source, uri));
    if (!servers) return;
    await Promise.allSettled([...servers].map(([server, wireUri]) => server.sendResourceUpdated({ uri: wireUri })));
  }

  private async leave(server: Subscriber, source: ToolSource, uri: string): Promise<void> {
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
