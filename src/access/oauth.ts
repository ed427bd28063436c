import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { OAuthConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { discoverJwksUri } from './oauth-discovery.js';
import { allowMatcher, type Principal } from './principal.js';

/** Asymmetric JWS algorithms only: a symmetric (HS*) or `none` token is refused before any key is looked up. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Clock skew tolerated between the authorization server and this gateway on exp / nbf. */
export const CLOCK_TOLERANCE_S = 5;
/** After failed metadata discovery, wait this long before asking the issuer again (each request would otherwise). */
const DISCOVERY_RETRY_MS = 5_000;
/** Longest name-claim value taken as a principal name. */
const MAX_NAME_CHARS = 256;
/** Prefix of OAuth principal names; key names cannot contain `:`, so a token's subject never shares a key's name. */
export const OAUTH_NAME_PREFIX = 'oauth:';

export type OAuthResult = { ok: true; principal: Principal } | { ok: false; error: 'invalid_token' | 'insufficient_scope'; reason: string };

/**
 * Does this bearer value look like a JWT (three base64url parts whose first decodes to a JSON object
 * with an `alg`)? Only such values go to OAuth; an API key that merely has two dots stays a key.
 */
export function looksLikeJwt(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part, i) => /^[A-Za-z0-9_-]*$/.test(part) && (i === 2 || part.length > 0))) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/** `scope` (space-separated, RFC 9068) or `scp` (array, or a string as some servers send it). */
function tokenScopes(payload: JWTPayload): string[] {
  const split = (value: unknown): string[] =>
    typeof value === 'string'
      ? value.split(' ').filter(Boolean)
      : Array.isArray(value)
        ? value.filter((v): v is string => typeof v === 'string')
        : [];
  return [...new Set([...split(payload.scope), ...split(payload.scp)])];
}

/** A jose failure → a short reason for logs. Never a claim value: jose's own messages are not passed on. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'audience mismatch';
    if (error.claim === 'iss') return 'issuer mismatch';
    if (error.claim === 'nbf') return 'token not yet valid';
    return error.reason === 'missing' ? `claim ${error.claim} missing` : `claim ${error.claim} invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching signing key';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  return 'signing keys unavailable';
}

export interface OAuthVerifier {
  verify(token: string): Promise<OAuthResult>;
  /** RFC 9728 protected-resource metadata. */
  metadata(): Record<string, unknown>;
  /** Scopes a token may carry to see tools, for an insufficient_scope challenge. */
  readonly scopes: readonly string[];
}

/**
 * JWT access tokens from `config.issuer`: signature against the issuer's JWKS (jwks_uri from the config,
 * else from its metadata, discovered once), `iss`, `aud` containing `config.audience` (RFC 8707), exp
 * (required) and nbf. A token's allow list is the union of `config.scopes[s]` over its scopes; a token
 * with no mapped scope and no admin scope is refused as insufficient_scope (it could see nothing).
 */
export function createOAuthVerifier(config: OAuthConfig, logger?: Logger): OAuthVerifier {
  const mappedScopes = Object.keys(config.scopes);
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  let discoveryFailedAt = Number.NEGATIVE_INFINITY;

  // The key set is created on first use: the issuer need not be up when the gateway starts.
  const keys: JWTVerifyGetKey = async (header, token) => {
    if (!keySet) {
      if (Date.now() - discoveryFailedAt < DISCOVERY_RETRY_MS) throw new Error('discovery failed recently');
      const jwksUri = config.jwks_uri ? Promise.resolve(new URL(config.jwks_uri)) : discoverJwksUri(config.issuer);
      keySet = jwksUri.then((url) => createRemoteJWKSet(url));
      keySet.catch((error: Error) => {
        keySet = undefined;
        discoveryFailedAt = Date.now();
        logger?.warn({ issuer: config.issuer, err: error.message }, 'oauth: cannot find the issuer signing keys');
      });
    }
    return (await keySet)(header, token);
  };

  // A token's mapped scopes give its allow list; the few distinct lists are compiled once, not per request.
  const matchers = new Map<string, ReturnType<typeof allowMatcher>>();
  const matcherFor = (allow: string[]) => {
    const key = allow.join('\n');
    let matcher = matchers.get(key);
    if (!matcher) {
      matcher = allowMatcher(allow);
      if (matchers.size >= 1_000) matchers.clear();
      matchers.set(key, matcher);
    }
    return matcher;
  };

  const principalOf = (payload: JWTPayload): OAuthResult => {
    const name = payload[config.name_claim];
    if (typeof name !== 'string' || name === '' || name.length > MAX_NAME_CHARS || /[\p{Cc}]/u.test(name))
      return { ok: false, error: 'invalid_token', reason: `claim ${config.name_claim} missing or not a name` };
    const scopes = tokenScopes(payload);
    const admin = config.admin_scope !== undefined && scopes.includes(config.admin_scope);
    const allow = scopes.flatMap((scope) => (Object.hasOwn(config.scopes, scope) ? (config.scopes[scope] ?? []) : []));
    if (allow.length === 0 && !admin) return { ok: false, error: 'insufficient_scope', reason: 'no mapped scope' };
    const { rate_limit: rateLimit } = config;
    return {
      ok: true,
      principal: {
        name: `${OAUTH_NAME_PREFIX}${name}`,
        admin,
        allows: matcherFor(allow),
        ...(rateLimit ? { rateLimit: { calls: rateLimit.calls, perMs: rateLimit.per_ms } } : {}),
      },
    };
  };

  return {
    scopes: mappedScopes,
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_S,
          requiredClaims: ['exp'],
        });
        return principalOf(payload);
      } catch (error) {
        return { ok: false, error: 'invalid_token', reason: reasonOf(error) };
      }
    },
    metadata: () => ({
      resource: config.resource ?? config.audience,
      authorization_servers: [config.issuer],
      scopes_supported: [...new Set([...mappedScopes, ...(config.admin_scope ? [config.admin_scope] : [])])],
      bearer_methods_supported: ['header'],
    }),
  };
}
