import type { AuthConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { createKeyVerifier } from './api-keys.js';
import { createOAuthVerifier, looksLikeJwt } from './oauth.js';
import { LOCAL_USER, type Principal } from './principal.js';

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | {
      ok: false;
      status: 401 | 403;
      /** value of the WWW-Authenticate header */
      challenge: string;
      /** for logs only, never a token */
      reason: string;
    };

export interface Authenticator {
  /** `authorization` is the raw Authorization header (or undefined). Never throws. */
  authenticate(authorization: string | undefined): Promise<AuthOutcome>;
  /** RFC 9728 document for /.well-known/oauth-protected-resource, or undefined when OAuth is not configured. */
  protectedResourceMetadata(): Record<string, unknown> | undefined;
}

/** One key's answer whatever went wrong with it, so an unknown key and a wrong one cannot be told apart. */
export const KEY_REJECTED = 'unknown or wrong key';

const quoted = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** The bearer value of an Authorization header: scheme case-insensitive, the rest trimmed (a configured token may hold spaces). */
function bearerToken(authorization: string | undefined): { token: string } | { missing: string } {
  if (authorization === undefined || authorization.trim() === '') return { missing: 'no credentials' };
  const match = /^\s*bearer(?:\s+(.*))?$/is.exec(authorization);
  if (!match) return { missing: 'not a bearer token' };
  const token = (match[1] ?? '').trim();
  return token === '' ? { missing: 'empty bearer token' } : { token };
}

/** auth undefined → every request is LOCAL_USER. `resourceMetadataUrl` is the absolute URL of the metadata document. */
export function createAuthenticator(
  auth: AuthConfig | undefined,
  options: { resourceMetadataUrl: string; logger?: Logger },
): Authenticator {
  if (!auth) {
    const local: AuthOutcome = { ok: true, principal: LOCAL_USER };
    return { authenticate: async () => local, protectedResourceMetadata: () => undefined };
  }
  const keys = auth.keys.length > 0 ? createKeyVerifier(auth.keys) : undefined;
  const oauth = auth.oauth ? createOAuthVerifier(auth.oauth, options.logger) : undefined;
  if (auth.oauth && auth.oauth.admin_scope === undefined && oauth?.scopes.length === 0)
    options.logger?.warn('auth.oauth has no `scopes` and no `admin_scope`: every token will be refused (insufficient_scope)');

  // RFC 6750 §3 / RFC 9728 §5.1: with OAuth the challenge points at the metadata, so a client can find the issuer.
  const base = oauth ? `Bearer resource_metadata=${quoted(options.resourceMetadataUrl)}` : 'Bearer realm="mcp-gateway"';
  const deny = (reason: string, error?: 'invalid_token'): AuthOutcome => ({
    ok: false,
    status: 401,
    challenge: error ? `${base}, error="${error}"` : base,
    reason,
  });

  return {
    async authenticate(authorization) {
      try {
        const bearer = bearerToken(authorization);
        if ('missing' in bearer) return deny(bearer.missing, bearer.missing === 'empty bearer token' ? 'invalid_token' : undefined);
        const { token } = bearer;
        if (oauth && (!keys || looksLikeJwt(token))) {
          const result = await oauth.verify(token);
          if (result.ok) return result;
          if (result.error === 'invalid_token') return deny(result.reason, 'invalid_token');
          return {
            ok: false,
            status: 403,
            challenge: `Bearer error="insufficient_scope", scope=${quoted(oauth.scopes.join(' '))}, resource_metadata=${quoted(options.resourceMetadataUrl)}`,
            reason: result.reason,
          };
        }
        const principal = keys?.(token);
        return principal ? { ok: true, principal } : deny(KEY_REJECTED, 'invalid_token');
      } catch (error) {
        // Nothing above should throw; if it does, the request is refused, and only the error's class is logged.
        options.logger?.error({ err: (error as Error)?.name }, 'auth: unexpected failure');
        return deny('authentication failed', 'invalid_token');
      }
    },
    protectedResourceMetadata: () => oauth?.metadata(),
  };
}
