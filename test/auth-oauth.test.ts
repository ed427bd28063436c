import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthOutcome, type Authenticator, createAuthenticator } from '../src/access/authenticate.js';
import { discoverJwksUri, metadataUrls } from '../src/access/oauth-discovery.js';
import { CLOCK_TOLERANCE_S, looksLikeJwt } from '../src/access/oauth.js';
import type { Principal } from '../src/access/principal.js';
import { parseConfig } from '../src/config/load.js';
import type { AuthConfig } from '../src/config/schema.js';
import { generateSigningKeys, type RunningIssuer, startIssuer } from './fixtures/oidc-issuer.mjs';
import { repoRoot } from './helpers.js';

// A real authorization server (oidc-provider) issues every token below through real token requests.
const AUDIENCE = 'http://127.0.0.1:39400/mcp';
const OTHER_AUDIENCE = 'https://other-resource.example/mcp';
const METADATA_URL = 'http://127.0.0.1:39400/.well-known/oauth-protected-resource';
const SECRET = 'client-secret-0123456789';
const KEY_TOKEN = 'ops-key-0123456789abcdef';

let issuer: RunningIssuer;
/** Same signing keys, another issuer URL: its tokens verify against the real JWKS but carry the wrong `iss`. */
let impostor: RunningIssuer;
let authenticator: Authenticator;
let shortLived: string;
let signingKeys: Array<Record<string, unknown>>;
const logLines: string[] = [];

function authConfig(auth: Record<string, unknown>): AuthConfig {
  const config = parseConfig(JSON.stringify({ auth }), { file: `${repoRoot}/test/inline.yaml` });
  if (!config.auth) throw new Error('no auth section');
  return config.auth;
}

function oauthSection(extra: Record<string, unknown> = {}) {
  return {
    issuer: issuer.issuer,
    audience: AUDIENCE,
    scopes: { 'tools:read': ['memory/read_*', 'github/get_*'], 'tools:all': ['*'] },
    admin_scope: 'gw:admin',
    rate_limit: { calls: 10, per_ms: 60_000 },
    ...extra,
  };
}

const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });

async function token(client: string, request: { resource?: string; scope?: string }, from: RunningIssuer = issuer): Promise<string> {
  return (await from.token(client, SECRET, request)).access_token;
}

async function principalFor(bearer: string, using: Authenticator = authenticator): Promise<Principal> {
  const outcome = await using.authenticate(`Bearer ${bearer}`);
  if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
  return outcome.principal;
}

const invalidToken = (reason: string): AuthOutcome => ({
  ok: false,
  status: 401,
  challenge: `Bearer resource_metadata="${METADATA_URL}", error="invalid_token"`,
  reason,
});

beforeAll(async () => {
  const keys = await generateSigningKeys();
  signingKeys = keys;
  const clients = [
    { id: 'reader', secret: SECRET, scope: 'tools:read unmapped' },
    { id: 'operator', secret: SECRET, scope: 'tools:read tools:all gw:admin' },
    { id: 'short', secret: SECRET, scope: 'tools:read', ttl: 1 },
  ];
  const resources = { [AUDIENCE]: 'tools:read tools:all gw:admin unmapped', [OTHER_AUDIENCE]: 'tools:read' };
  issuer = await startIssuer({ resources, clients, keys });
  impostor = await startIssuer({ resources, clients, keys });
  authenticator = createAuthenticator(authConfig({ oauth: oauthSection() }), { resourceMetadataUrl: METADATA_URL, logger });
  // Fetched now, checked valid in the first test, checked expired in the last (so the wait overlaps the others).
  shortLived = await token('short', { resource: AUDIENCE, scope: 'tools:read' });
});

afterAll(async () => {
  await issuer?.close();
  await impostor?.close();
});

describe('OAuth resource server (JWT access tokens from a real oidc-provider)', () => {
  it('a fresh token for this audience authenticates; its scopes map to allow patterns', async () => {
    expect((await principalFor(shortLived)).name).toBe('oauth:short');
    const reader = await principalFor(await token('reader', { resource: AUDIENCE, scope: 'tools:read' }));
    expect(reader).toMatchObject({ name: 'oauth:reader', admin: false, rateLimit: { calls: 10, perMs: 60_000 } });
    expect(reader.allows('memory', 'read_graph')).toBe(true);
    expect(reader.allows('github', 'get_issue')).toBe(true);
    expect(reader.allows('memory', 'create_entities')).toBe(false);
    expect(reader.allows('filesystem')).toBe(false);
    expect(reader.allows('memory')).toBe(true);
  });

  it("a token's allow list is the union over its scopes; the admin scope makes it admin", async () => {
    const operator = await principalFor(await token('operator', { resource: AUDIENCE, scope: 'tools:read tools:all gw:admin' }));
    expect(operator).toMatchObject({ name: 'oauth:operator', admin: true });
    expect(operator.allows('filesystem', 'write_file')).toBe(true);
    const adminOnly = await principalFor(await token('operator', { resource: AUDIENCE, scope: 'gw:admin' }));
    expect(adminOnly.admin).toBe(true);
    expect(adminOnly.allows('memory', 'read_graph')).toBe(false);
  });

  it('a valid token with no mapped scope is refused 403 insufficient_scope, naming the scopes that would do', async () => {
    for (const scope of ['unmapped', undefined]) {
      const outcome = await authenticator.authenticate(`Bearer ${await token('reader', { resource: AUDIENCE, scope })}`);
      expect(outcome).toEqual({
        ok: false,
        status: 403,
        challenge: `Bearer error="insufficient_scope", scope="tools:read tools:all", resource_metadata="${METADATA_URL}"`,
        reason: 'no mapped scope',
      });
    }
  });

  it('a token issued for another resource (aud) is refused', async () => {
    const other = await token('reader', { resource: OTHER_AUDIENCE, scope: 'tools:read' });
    expect(decodeJwt(other).aud).toBe(OTHER_AUDIENCE);
    expect(await authenticator.authenticate(`Bearer ${other}`)).toEqual(invalidToken('audience mismatch'));
  });

  it('a token from another issuer is refused even when its signature verifies', async () => {
    const foreign = await token('reader', { resource: AUDIENCE, scope: 'tools:read' }, impostor);
    expect(await authenticator.authenticate(`Bearer ${foreign}`)).toEqual(invalidToken('issuer mismatch'));
  });

  it('a tampered token (claims changed, signature kept) is refused', async () => {
    const real = await token('reader', { resource: AUDIENCE, scope: 'tools:read' });
    const [header, payload, signature] = real.split('.') as [string, string, string];
    const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'tools:all gw:admin' };
    const tampered = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
    expect(await authenticator.authenticate(`Bearer ${tampered}`)).toEqual(invalidToken('bad signature'));
  });

  it('a symmetric (HS256) or unsigned token with the right claims is refused before any key is used', async () => {
    const claims = { ...decodeJwt(await token('operator', { resource: AUDIENCE, scope: 'tools:all' })) };
    const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    expect(await authenticator.authenticate(`Bearer ${hs256}`)).toEqual(invalidToken('algorithm not allowed'));
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    expect(await authenticator.authenticate(`Bearer ${none}`)).toEqual(invalidToken('algorithm not allowed'));
  });

  it("tokens signed with the issuer's own key but without exp, not yet valid, or without a name are refused", async () => {
    const es256 = signingKeys.find((key) => key.alg === 'ES256') as Record<string, unknown>;
    const key = await importJWK(es256, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ iss: issuer.issuer, aud: AUDIENCE, sub: 'crafted', scope: 'tools:read', iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: es256.kid as string, typ: 'at+jwt' })
        .sign(key);
    // The same signing path with complete claims is accepted, so each refusal below is the claim's doing.
    expect((await principalFor(await sign({}))).name).toBe('oauth:crafted');
    expect(await authenticator.authenticate(`Bearer ${await sign({ exp: undefined })}`)).toEqual(invalidToken('claim exp missing'));
    expect(await authenticator.authenticate(`Bearer ${await sign({ nbf: now + 120 })}`)).toEqual(invalidToken('token not yet valid'));
    expect(await authenticator.authenticate(`Bearer ${await sign({ sub: undefined })}`)).toEqual(
      invalidToken('claim sub missing or not a name'),
    );
    expect(await authenticator.authenticate(`Bearer ${await sign({ sub: 'x'.repeat(300) })}`)).toEqual(
      invalidToken('claim sub missing or not a name'),
    );
  });

  it('no token: 401 pointing at the protected-resource metadata, without an error code', async () => {
    const bare = { ok: false, status: 401, challenge: `Bearer resource_metadata="${METADATA_URL}"` };
    expect(await authenticator.authenticate(undefined)).toEqual({ ...bare, reason: 'no credentials' });
    expect(await authenticator.authenticate('Basic dXNlcjpwYXNz')).toEqual({ ...bare, reason: 'not a bearer token' });
    // With OAuth alone, a bearer value that is not a JWT is simply a malformed token.
    expect(await authenticator.authenticate(`Bearer ${KEY_TOKEN}`)).toEqual(invalidToken('malformed token'));
  });

  it('serves the RFC 9728 protected-resource metadata', () => {
    expect(authenticator.protectedResourceMetadata()).toEqual({
      resource: AUDIENCE,
      authorization_servers: [issuer.issuer],
      scopes_supported: ['tools:read', 'tools:all', 'gw:admin'],
      bearer_methods_supported: ['header'],
    });
    const withResource = createAuthenticator(authConfig({ oauth: oauthSection({ resource: 'https://gw.example/mcp' }) }), {
      resourceMetadataUrl: METADATA_URL,
    });
    expect(withResource.protectedResourceMetadata()).toMatchObject({ resource: 'https://gw.example/mcp' });
  });

  it('an explicit jwks_uri is used as given', async () => {
    const explicit = createAuthenticator(authConfig({ oauth: oauthSection({ jwks_uri: `${issuer.issuer}/jwks` }) }), {
      resourceMetadataUrl: METADATA_URL,
    });
    expect((await principalFor(await token('reader', { resource: AUDIENCE, scope: 'tools:read' }), explicit)).name).toBe('oauth:reader');
    // A jwks_uri that does not hold the issuer's key: the configured URL is what decides, not the issuer's metadata.
    const wrongKeys = createAuthenticator(authConfig({ oauth: oauthSection({ jwks_uri: `${(await startKeylessJwks()).url}/jwks` }) }), {
      resourceMetadataUrl: METADATA_URL,
    });
    expect(await wrongKeys.authenticate(`Bearer ${await token('reader', { resource: AUDIENCE, scope: 'tools:read' })}`)).toEqual(
      invalidToken('no matching signing key'),
    );
  });

  it('an unreachable issuer refuses tokens (never throws) and logs why, without the token', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadIssuer = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const dead = createAuthenticator(authConfig({ oauth: oauthSection({ issuer: deadIssuer }) }), {
      resourceMetadataUrl: METADATA_URL,
      logger,
    });
    const bearer = await token('reader', { resource: AUDIENCE, scope: 'tools:read' });
    logLines.length = 0;
    expect(await dead.authenticate(`Bearer ${bearer}`)).toEqual(invalidToken('signing keys unavailable'));
    // The failed discovery is not repeated for every request (a retry waits a few seconds).
    expect(await dead.authenticate(`Bearer ${bearer}`)).toEqual(invalidToken('signing keys unavailable'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toContain('cannot find the issuer signing keys');
    expect(logLines.join('')).not.toContain(bearer.split('.')[1]);
  });

  it('keys and OAuth together: a JWT goes to OAuth, any other bearer value to the keys', async () => {
    const dotted = 'dotted.key-token.0123456789';
    const both = createAuthenticator(
      authConfig({
        keys: [
          { name: 'ops', token: KEY_TOKEN, admin: true },
          { name: 'dotted', token: dotted },
        ],
        oauth: oauthSection(),
      }),
      { resourceMetadataUrl: METADATA_URL },
    );
    expect((await principalFor(KEY_TOKEN, both)).name).toBe('ops');
    expect((await principalFor(dotted, both)).name).toBe('dotted');
    expect((await principalFor(await token('reader', { resource: AUDIENCE, scope: 'tools:read' }), both)).name).toBe('oauth:reader');
    expect(await both.authenticate('Bearer not-a-configured-key-000')).toEqual(invalidToken('unknown or wrong key'));
    const other = await token('reader', { resource: OTHER_AUDIENCE, scope: 'tools:read' });
    expect(await both.authenticate(`Bearer ${other}`)).toEqual(invalidToken('audience mismatch'));
  });

  it('tells JWTs from other bearer values by shape and header', () => {
    expect(looksLikeJwt(shortLived)).toBe(true);
    expect(looksLikeJwt('dotted.key-token.0123456789')).toBe(false);
    expect(looksLikeJwt(`${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`)).toBe(true);
    expect(looksLikeJwt(`${Buffer.from('{"typ":"x"}').toString('base64url')}.e30.sig`)).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
  });

  it('an expired token is refused once exp (plus the clock tolerance) has passed', async () => {
    const { exp } = decodeJwt(shortLived);
    const waitMs = ((exp as number) + CLOCK_TOLERANCE_S + 1) * 1000 - Date.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    expect(await authenticator.authenticate(`Bearer ${shortLived}`)).toEqual(invalidToken('token expired'));
  });
});

/** A JWKS endpoint with one unrelated key, for a jwks_uri that does not hold the issuer's keys. */
let keylessServer: Server | undefined;
async function startKeylessJwks(): Promise<{ url: string }> {
  const [unrelated] = await generateSigningKeys();
  const { d: _private, ...publicJwk } = unrelated as Record<string, unknown>;
  keylessServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [{ ...publicJwk, kid: 'unrelated' }] }));
  });
  await new Promise<void>((resolve) => keylessServer?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(keylessServer.address() as AddressInfo).port}` };
}
afterAll(() => keylessServer?.close());

describe('authorization server metadata discovery', () => {
  it('tries RFC 8414 then OpenID locations, inserting the well-known segment before an issuer path', () => {
    expect(metadataUrls('https://as.example')).toEqual([
      'https://as.example/.well-known/oauth-authorization-server',
      'https://as.example/.well-known/openid-configuration',
    ]);
    expect(metadataUrls('https://as.example/tenant1/')).toEqual([
      'https://as.example/.well-known/oauth-authorization-server/tenant1',
      'https://as.example/.well-known/openid-configuration/tenant1',
      'https://as.example/tenant1/.well-known/openid-configuration',
    ]);
  });

  it('finds the real issuer jwks_uri; falls back to openid-configuration; refuses metadata naming another issuer', async () => {
    expect((await discoverJwksUri(issuer.issuer)).href).toBe(`${issuer.issuer}/jwks`);
    // A server with only OpenID discovery, naming itself or someone else.
    let named = '';
    const oidcOnly = createServer((req, res) => {
      if (req.url !== '/.well-known/openid-configuration') return void res.writeHead(404).end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: named, jwks_uri: `${named}/keys` }));
    });
    await new Promise<void>((resolve) => oidcOnly.listen(0, '127.0.0.1', resolve));
    try {
      const own = `http://127.0.0.1:${(oidcOnly.address() as AddressInfo).port}`;
      named = own;
      expect((await discoverJwksUri(own)).href).toBe(`${own}/keys`);
      named = issuer.issuer;
      await expect(discoverJwksUri(own)).rejects.toThrow(/openid-configuration: names another issuer/);
    } finally {
      oidcOnly.close();
    }
  });
});
