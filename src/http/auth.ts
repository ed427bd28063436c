import type { Context, MiddlewareHandler } from 'hono';
import type { Authenticator } from '../access/authenticate.js';
import type { Principal } from '../access/principal.js';
import type { Logger } from '../log.js';

export type GatewayEnv = { Variables: { parsedBody: unknown; principal: Principal } };

/** One audit line per refused request: who (when known), where, why. Never a token or a header value beyond a clipped Host/Origin. */
export function logDenied(logger: Logger, c: Context, reason: string, key?: string): void {
  logger.info({ audit: 'denied', key, method: c.req.method, path: c.req.path, reason }, 'request denied');
}

/**
 * Authenticates with the current authenticator (it is rebuilt on reload) and stores the principal.
 * A refusal answers `status` with the authenticator's WWW-Authenticate challenge and `body(status)`.
 */
export function requireAuth(
  authenticator: () => Authenticator,
  logger: Logger,
  body: (status: 401 | 403) => Record<string, unknown>,
): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const outcome = await authenticator().authenticate(c.req.header('authorization'));
    if (!outcome.ok) {
      logDenied(logger, c, outcome.reason);
      c.header('WWW-Authenticate', outcome.challenge);
      return c.json(body(outcome.status), outcome.status);
    }
    c.set('principal', outcome.principal);
    return next();
  };
}
