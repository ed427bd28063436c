import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/schema.js';
import { allowMatcher, type Principal } from './principal.js';

/** SHA-256 of a presented token: every comparison is between two 32-byte digests, whatever the token's length. */
function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function principalOf(key: ApiKeyConfig): Principal {
  return {
    name: key.name,
    admin: key.admin,
    allows: allowMatcher(key.allow),
    ...(key.rate_limit ? { rateLimit: { calls: key.rate_limit.calls, perMs: key.rate_limit.per_ms } } : {}),
  };
}

/**
 * Configured keys → a lookup from a presented token to its key's Principal (undefined: no key).
 * The token's digest is compared with EVERY key's digest in constant time, with no early exit, so the
 * time taken does not depend on which key (if any) matched or on how much of a token was right.
 */
export function createKeyVerifier(keys: readonly ApiKeyConfig[]): (token: string) => Principal | undefined {
  const entries = keys.map((key) => ({
    // A token_sha256 digest is the same 32 bytes a token's digest would be; hex case does not matter.
    digest: key.token !== undefined ? sha256(key.token) : Buffer.from((key.token_sha256 ?? '').toLowerCase(), 'hex'),
    principal: principalOf(key),
  }));
  return (token) => {
    const presented = sha256(token);
    let found: Principal | undefined;
    for (const entry of entries) {
      const equal = timingSafeEqual(presented, entry.digest);
      if (equal && found === undefined) found = entry.principal;
    }
    return found;
  };
}
