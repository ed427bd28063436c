import type { Principal } from '../access/principal.js';
import type { Logger } from '../log.js';
import type { ToolSource } from '../sources/source.js';
import { resolveUri } from './resources.js';
import { type FrontCore, type FrontSpec, frontLens } from './scope.js';
import { MAX_SUBSCRIPTIONS_PER_SESSION, type Subscriber, type SubscriptionHub } from './subscriptions.js';

/** What a listen request may ask for, and how its stream holds it at the backends. */
export interface ListenPlan {
  /** The listed URIs this caller can see on this front and a backend serves (the rest are dropped from the filter). */
  uris: string[];
  /** Subscribe them at their backends until `closed` aborts. */
  hold(closed: AbortSignal): void;
}

/**
 * A 2026 client asks for resource updates with `subscriptions/listen` (`notifications.resourceSubscriptions`)
 * instead of `resources/subscribe`. The SDK's listen router acknowledges it and sends the updates published on
 * its bus whose URI the request listed; so the list is cut to what this caller can see, and those resources
 * are subscribed at their backends while the stream is open, through the same hub as 2025 sessions (one
 * backend subscription per URI, the same per-holder limit).
 */
export function listenPlanner(
  core: FrontCore & { subscriptions: SubscriptionHub },
  logger: Logger,
): (spec: FrontSpec, principal: Principal, uris: readonly string[]) => ListenPlan {
  return (spec, principal, uris) => {
    const lens = frontLens(core, spec, principal);
    const targets: Array<{ source: ToolSource; uri: string; wire: string }> = [];
    for (const wire of new Set(uris)) {
      if (targets.length >= MAX_SUBSCRIPTIONS_PER_SESSION) break;
      try {
        const { source, uri } = resolveUri(lens, wire);
        if (source.subscribeResource && source.canSubscribe?.()) targets.push({ source, uri, wire });
      } catch {
        // not visible to this caller, or no backend serves it: not listened for
      }
    }
    return {
      uris: targets.map((t) => t.wire),
      hold: (closed) => {
        if (closed.aborted || targets.length === 0) return;
        // Updates reach 2026 listeners through the lanes' bus (gateway onResourceUpdated), not through this holder.
        const stream: Subscriber = { sendResourceUpdated: async () => {} };
        const subscriptions = core.subscriptions.forServer(stream);
        for (const { source, uri, wire } of targets) {
          subscriptions.add(source, uri, wire).catch((error: unknown) => {
            logger.warn(
              { server: source.name, uri, err: error instanceof Error ? error.message : String(error) },
              'listen subscription failed',
            );
          });
        }
        closed.addEventListener('abort', () => stream.onclose?.(), { once: true });
      },
    };
  };
}
