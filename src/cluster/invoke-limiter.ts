import type { Principal } from '../access/principal.js';
import { PrincipalRateLimiter } from '../access/rate-limit.js';
import type { SharedRateLimitsConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { SharedRateLimiter } from './shared-rate-limit.js';

/** What meta/handlers.ts asks before an invoke: undefined when admitted, else ms until a call is admitted. */
export interface InvokeLimiter {
  check(principal: Principal): number | undefined | Promise<number | undefined>;
  close(): void;
}

/**
 * The per-key invoke limiter for the current config: counted in this replica alone (the default), or
 * in Redis when `cluster.shared_rate_limits` is set. `settings` is read on every check, so a reload
 * that adds, changes or removes the section applies to the next call; the local windows are kept
 * across reloads (and serve as the fallback while Redis is unreachable).
 */
export function createInvokeLimiter(settings: () => SharedRateLimitsConfig | undefined, logger: Logger): InvokeLimiter {
  const local = new PrincipalRateLimiter();
  let shared: { settings: SharedRateLimitsConfig; limiter: SharedRateLimiter } | undefined;
  return {
    check(principal) {
      const wanted = settings();
      // A reload brings a new settings object: compared by value once, then adopted, so later checks are `===`.
      if (shared && shared.settings !== wanted) {
        if (wanted && JSON.stringify(shared.settings) === JSON.stringify(wanted)) shared.settings = wanted;
        else {
          shared.limiter.close();
          shared = undefined;
        }
      }
      if (!wanted) return local.check(principal);
      shared ??= { settings: wanted, limiter: new SharedRateLimiter(wanted, logger, local) };
      return shared.limiter.check(principal);
    },
    close() {
      shared?.limiter.close();
      shared = undefined;
    },
  };
}
