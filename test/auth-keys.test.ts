import { createHash } from 'node:crypto';
import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createAuthenticator, KEY_REJECTED } from '../src/access/authenticate.js';
import { LOCAL_USER, type Principal } from '../src/access/principal.js';
import { PrincipalRateLimiter } from '../src/access/rate-limit.js';
import { parseConfig } from '../src/config/load.js';
import type { AuthConfig } from '../src/config/schema.js';
import { repoRoot } from './helpers.js';

// Counts the constant-time comparisons the key check makes (the real function still does the work).
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

const METADATA_URL = 'http://127.0.0.1:39400/.well-known/oauth-protected-resource';
const CI_TOKEN = 'ci-bot-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin token with spaces 0123456789';
const HASHED_TOKEN = 'hashed-token-fedcba9876543210';
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The `auth` section as a config file would give it (validated, defaults applied). */
function authConfig(auth: Record<string, unknown>): AuthConfig {
  const config = parseConfig(JSON.stringify({ auth }), { file: `${repoRoot}/test/inline.yaml` });
  if (!config.auth) throw new Error('no auth section');
  return config.auth;
}

const keysConfig = authConfig({
  keys: [
    { name: 'ci-bot', token: CI_TOKEN, allow: ['github/*', 'memory/read_graph'], rate_limit: { calls: 2, per_ms: 1000 } },
    { name: 'ops', token: ADMIN_TOKEN, admin: true },
    { name: 'hashed', token_sha256: sha256Hex(HASHED_TOKEN).toUpperCase(), allow: ['files/read_*'] },
  ],
});
const authenticator = createAuthenticator(keysConfig, { resourceMetadataUrl: METADATA_URL });

async function principalFor(header: string): Promise<Principal> {
  const outcome = await authenticator.authenticate(header);
  if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
  return outcome.principal;
}

describe('API keys', () => {
  it('a configured key authenticates as its name, with its admin flag and rate limit', async () => {
    const ci = await principalFor(`Bearer ${CI_TOKEN}`);
    expect(ci).toMatchObject({ name: 'ci-bot', admin: false, rateLimit: { calls: 2, perMs: 1000 } });
    const ops = await principalFor(`Bearer ${ADMIN_TOKEN}`);
    expect(ops).toMatchObject({ name: 'ops', admin: true });
    expect(ops.rateLimit).toBeUndefined();
    expect(ops.allows('anything', 'at_all')).toBe(true);
  });

  it("the principal's allows follows the key's globs", async () => {
    const ci = await principalFor(`Bearer ${CI_TOKEN}`);
    expect(ci.allows('github', 'create_issue')).toBe(true);
    expect(ci.allows('github')).toBe(true);
    expect(ci.allows('memory', 'read_graph')).toBe(true);
    expect(ci.allows('memory')).toBe(true);
    expect(ci.allows('memory', 'create_entities')).toBe(false);
    expect(ci.allows('filesystem')).toBe(false);
    expect(ci.allows('githubx', 'create_issue')).toBe(false);
  });

  it('token_sha256 (hex in any case) authenticates the token it hashes, and not the hash itself', async () => {
    const hashed = await principalFor(`Bearer ${HASHED_TOKEN}`);
    expect(hashed.name).toBe('hashed');
    expect(hashed.allows('files', 'read_file')).toBe(true);
    expect(hashed.allows('files', 'write_file')).toBe(false);
    const byDigest = await authenticator.authenticate(`Bearer ${sha256Hex(HASHED_TOKEN)}`);
    expect(byDigest.ok).toBe(false);
  });

  it('the scheme is case-insensitive and surrounding spaces are ignored', async () => {
    expect((await principalFor(`bearer   ${CI_TOKEN}  `)).name).toBe('ci-bot');
    expect((await principalFor(`BEARER ${CI_TOKEN}`)).name).toBe('ci-bot');
  });

  it('an unknown key and a wrong key (one character off) get the same answer', async () => {
    const unknown = await authenticator.authenticate('Bearer zzzzzzzzzzzzzzzzzzzzzzzzzzzzz');
    const wrong = await authenticator.authenticate(`Bearer ${CI_TOKEN.slice(0, -1)}X`);
    const prefix = await authenticator.authenticate(`Bearer ${CI_TOKEN.slice(0, -1)}`);
    const expected = { ok: false, status: 401, challenge: 'Bearer realm="mcp-gateway", error="invalid_token"', reason: KEY_REJECTED };
    expect(unknown).toEqual(expected);
    expect(wrong).toEqual(expected);
    expect(prefix).toEqual(expected);
  });

  it("every key's digest is compared, whichever key matches (no early exit)", async () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const header of [`Bearer ${CI_TOKEN}`, `Bearer ${ADMIN_TOKEN}`, 'Bearer no-such-key-0123456789']) {
      compare.mockClear();
      await authenticator.authenticate(header);
      expect(compare).toHaveBeenCalledTimes(3);
    }
  });

  it('a missing or non-Bearer header is 401 with a challenge and no error code; an empty Bearer is invalid_token', async () => {
    const bare = { ok: false, status: 401, challenge: 'Bearer realm="mcp-gateway"' };
    expect(await authenticator.authenticate(undefined)).toEqual({ ...bare, reason: 'no credentials' });
    expect(await authenticator.authenticate('')).toEqual({ ...bare, reason: 'no credentials' });
    expect(await authenticator.authenticate(`Basic ${Buffer.from(`ci-bot:${CI_TOKEN}`).toString('base64')}`)).toEqual({
      ...bare,
      reason: 'not a bearer token',
    });
    expect(await authenticator.authenticate(`Token ${CI_TOKEN}`)).toEqual({ ...bare, reason: 'not a bearer token' });
    expect(await authenticator.authenticate('Bearer   ')).toEqual({
      ...bare,
      challenge: 'Bearer realm="mcp-gateway", error="invalid_token"',
      reason: 'empty bearer token',
    });
  });

  it('a refusal never carries the presented token', async () => {
    const outcome = await authenticator.authenticate(`Bearer ${CI_TOKEN}-and-more`);
    expect(JSON.stringify(outcome)).not.toContain(CI_TOKEN);
  });

  it('no auth configured: every request is the local user, and there is no protected-resource metadata', async () => {
    const open = createAuthenticator(undefined, { resourceMetadataUrl: METADATA_URL });
    expect(await open.authenticate(undefined)).toEqual({ ok: true, principal: LOCAL_USER });
    expect(await open.authenticate('Bearer whatever')).toEqual({ ok: true, principal: LOCAL_USER });
    expect(open.protectedResourceMetadata()).toBeUndefined();
    expect(authenticator.protectedResourceMetadata()).toBeUndefined();
  });
});

describe('PrincipalRateLimiter', () => {
  const limited = (name: string, calls: number, perMs: number): Principal => ({
    name,
    admin: false,
    allows: () => true,
    rateLimit: { calls, perMs },
  });

  it('admits `calls` per sliding window, then answers the ms until the oldest call leaves it', () => {
    const limiter = new PrincipalRateLimiter();
    const bot = limited('bot', 2, 1000);
    expect(limiter.check(bot, 10_000)).toBeUndefined();
    expect(limiter.check(bot, 10_400)).toBeUndefined();
    expect(limiter.check(bot, 10_500)).toBe(500);
    expect(limiter.check(bot, 10_999)).toBe(1);
    expect(limiter.check(bot, 11_000)).toBeUndefined(); // the call at 10,000 has left the window
    expect(limiter.check(bot, 11_100)).toBe(300); // 10,400 leaves at 11,400
  });

  it('keeps each principal to its own window, and never limits one without a rateLimit', () => {
    const limiter = new PrincipalRateLimiter();
    const a = limited('a', 1, 1000);
    const b = limited('b', 1, 1000);
    expect(limiter.check(a, 0)).toBeUndefined();
    expect(limiter.check(b, 0)).toBeUndefined();
    expect(limiter.check(a, 1)).toBe(999);
    const free: Principal = { name: 'free', admin: false, allows: () => true };
    for (let i = 0; i < 100; i++) expect(limiter.check(free, 0)).toBeUndefined();
    expect(limiter.size).toBe(2);
  });

  it('applies a lowered limit (after a reload) to calls already in the window', () => {
    const limiter = new PrincipalRateLimiter();
    for (let t = 0; t < 5; t++) expect(limiter.check(limited('bot', 10, 1000), t)).toBeUndefined();
    // 5 calls at t=0..4 in the window; the new limit is 2: admitted once only one is left, when t=3 leaves at 1,003.
    expect(limiter.check(limited('bot', 2, 1000), 500)).toBe(503);
  });

  it('forgets names whose window has emptied, so many distinct names do not grow it forever', () => {
    const limiter = new PrincipalRateLimiter();
    // A new subject every ms with a 1 s window: about 1,000 are live at any time, 5,000 are seen.
    let largest = 0;
    for (let i = 0; i < 5_000; i++) {
      limiter.check(limited(`subject-${i}`, 5, 1000), 1_000_000 + i);
      largest = Math.max(largest, limiter.size);
    }
    expect(largest).toBeLessThanOrEqual(2_048);
    // Later, past every window, one more check sweeps them all away.
    limiter.check(limited('late', 5, 1000), 1_000_000 + 120_000);
    expect(limiter.size).toBe(1);
    // A name still inside its window is kept and still limited.
    const busy = limited('busy', 1, 300_000);
    expect(limiter.check(busy, 2_000_000)).toBeUndefined();
    limiter.check(limited('later', 5, 1000), 2_000_000 + 120_000);
    expect(limiter.check(busy, 2_000_000 + 120_001)).toBe(179_999);
  });
});
