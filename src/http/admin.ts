import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { Logger } from '../log.js';
import { type GatewayEnv, logDenied } from './auth.js';
import { type BodyLimits, readJsonBody } from './body.js';

export interface AdminDeps {
  /** Present when the gateway knows its config file. */
  reload?: () => Promise<{ ok: boolean }>;
  bodyLimits: () => BodyLimits;
  logger: Logger;
}

/**
 * `/admin/*`, after authentication: the principal must be an admin. A POST must say
 * `Content-Type: application/json` (a cross-site form or `text/plain` POST, which a browser sends
 * without a preflight, cannot), and its body, if any, must be JSON. Reloads coalesce.
 */
export function registerAdmin(app: Hono<GatewayEnv>, { reload, bodyLimits, logger }: AdminDeps): void {
  const coalescedReload = reload ? coalesce(reload) : undefined;

  app.use('/admin/*', async (c, next) => {
    const refused = refuseNonAdmin(c, logger);
    if (refused) return refused;
    if (c.req.method !== 'POST') return next();
    const body = await readJsonBody(c, bodyLimits(), { allowEmpty: true });
    if (!body.ok) {
      const error = {
        'not-json-content': 'Content-Type must be application/json',
        'too-large': 'request body too large',
        timeout: 'request body not received in time',
        'invalid-json': 'the request body is not valid JSON',
      }[body.refusal];
      return c.json({ ok: false, error }, body.status);
    }
    return next();
  });

  app.post('/admin/reload', async (c) => {
    if (!coalescedReload) return c.json({ ok: false, problems: ['this gateway was not started from a config file'] }, 409);
    const result = await coalescedReload();
    return c.json(result, result.ok ? 200 : 422);
  });
}

/** After authentication: only an admin principal passes (/admin/* and /metrics). */
export function adminOnly(logger: Logger): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => refuseNonAdmin(c, logger) ?? next();
}

function refuseNonAdmin(c: Context<GatewayEnv>, logger: Logger): Response | undefined {
  const principal = c.get('principal');
  if (principal.admin) return undefined;
  logDenied(logger, c, 'not an admin key', principal.name);
  return c.json({ ok: false, error: 'this key may not use /admin' }, 403);
}

/**
 * Callers that arrive while a run is under way share its result; the first caller after it has
 * settled starts a new run (so an edit saved during a reload is picked up by the next request).
 */
export function coalesce<T>(run: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
}
