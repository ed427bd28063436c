import type { Principal } from '../access/principal.js';
import type { Logger } from '../log.js';
import { resolveUri } from './resources.js';
import { type FrontCore, type FrontSpec, frontLens } from './scope.js';
import { MAX_SUBSCRIPTIONS_PER_SESSION, type Subscriber, type SubscriptionHub } from './subscriptions.js';

/**
 * A 2026 client asks for resource updates with `subscriptions/listen` (`notifications.resourceSubscriptions`)
 * instead of `resources/subscribe`. The SDK's listen router acknowledges it and delivers updates published on
 * its bus; this subscribes the listed resources at their backends for as long as the listen stream is open,
 * through the same hub as 2025 sessions (one backend subscription per URI, the same per-holder limit). URIs
 * this caller cannot see, or that no backend serves, are left out; the router still filters what it sends.
 */
export function listenFollower(
  core: FrontCore & { subscriptions: SubscriptionHub },
  logger: Logger,
): (spec: FrontSpec, principal: Principal, uris: readonly string[], closed: AbortSignal) => void {
  return (spec, principal, uris, closed) => {
    if (closed.aborted || uris.length === 0) return;
    const lens = frontLens(core, spec, principal);
    // Updates reach 2026 listeners through the lanes' bus (gateway onResourceUpdated), not through this holder.
    const stream: Subscriber = { sendResourceUpdated: async () => {} };
    const subscriptions = core.subscriptions.forServer(stream);
    for (const uri of new Set(uris.slice(0, MAX_SUBSCRIPTIONS_PER_SESSION))) {
      let target: ReturnType<typeof resolveUri>;
      try {
        target = resolveUri(lens, uri);
      } catch {
        continue;
      }
      if (!target.source.subscribeResource || !target.source.canSubscribe?.()) continue;
      subscriptions.add(target.source, target.uri, uri).catch((error: unknown) => {
        logger.warn(
          { server: target.source.name, uri, err: error instanceof Error ? error.message : String(error) },
          'listen subscription failed',
        );
      });
    }
    closed.addEventListener('abort', () => stream.onclose?.(), { once: true });
  };
}
