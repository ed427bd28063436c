/**
 * Where an authorization server publishes its metadata (RFC 8414 §3, OpenID Connect Discovery §4), in
 * the order MCP clients try them: for an issuer with a path, the well-known segment goes between the
 * host and the path, and OpenID's appended form comes last.
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const at = (wellKnown: string) => `${url.origin}/.well-known/${wellKnown}${path}`;
  if (path === '') return [at('oauth-authorization-server'), at('openid-configuration')];
  return [at('oauth-authorization-server'), at('openid-configuration'), `${url.origin}${path}/.well-known/openid-configuration`];
}

const FETCH_TIMEOUT_MS = 5_000;

/**
 * The issuer's `jwks_uri`, from the first metadata document that answers 200 with JSON. The document
 * must name the same issuer (RFC 8414 §3.3), so a document served for someone else is not trusted.
 * Throws a short message (no document content) when none does.
 */
export async function discoverJwksUri(issuer: string, fetchImpl: typeof fetch = fetch): Promise<URL> {
  const problems: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let document: unknown;
    try {
      const response = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!response.ok) {
        await response.body?.cancel();
        problems.push(`${url}: HTTP ${response.status}`);
        continue;
      }
      document = await response.json();
    } catch (error) {
      problems.push(`${url}: ${(error as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable or not JSON'}`);
      continue;
    }
    const { issuer: named, jwks_uri: jwksUri } = (document ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
    if (named !== issuer) {
      problems.push(`${url}: names another issuer`);
      continue;
    }
    if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri) || !/^https?:$/.test(new URL(jwksUri).protocol)) {
      problems.push(`${url}: no http(s) jwks_uri`);
      continue;
    }
    return new URL(jwksUri);
  }
  throw new Error(`no usable authorization server metadata (${problems.join('; ')})`);
}
