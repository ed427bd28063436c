/**
 * How the aggregating fronts (/mcp, /mcp/v/{name}) name what several backends offer, so nothing collides:
 *  - prompts and surfaced tools: `server__name` (the backend's name after the first `__` that follows a
 *    known server name; the longest server name wins);
 *  - resources and templates: the backend's own URI when no other visible backend lists the same one;
 *    otherwise `mcpgw://{server}/{original URI}`. resources/read accepts both forms at any time.
 * The passthrough front (/mcp/{backend}) names nothing: it serves the backend's own names.
 */
export const SEPARATOR = '__';
const URI_PREFIX = 'mcpgw://';

export function qualifiedName(server: string, name: string): string {
  return `${server}${SEPARATOR}${name}`;
}

/** `server__name` → its parts, for a server in `servers`; undefined when no server name fits. */
export function splitQualified(wire: string, servers: readonly string[]): { server: string; name: string } | undefined {
  let best: string | undefined;
  for (const server of servers) {
    if (
      wire.startsWith(`${server}${SEPARATOR}`) &&
      wire.length > server.length + SEPARATOR.length &&
      (!best || server.length > best.length)
    )
      best = server;
  }
  return best === undefined ? undefined : { server: best, name: wire.slice(best.length + SEPARATOR.length) };
}

export function gatewayUri(server: string, uri: string): string {
  return `${URI_PREFIX}${encodeURIComponent(server)}/${uri}`;
}

/** `mcpgw://{server}/{uri}` → its parts, else undefined. */
export function parseGatewayUri(uri: string): { server: string; uri: string } | undefined {
  if (!uri.startsWith(URI_PREFIX)) return undefined;
  const rest = uri.slice(URI_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  try {
    return { server: decodeURIComponent(rest.slice(0, slash)), uri: rest.slice(slash + 1) };
  } catch {
    return undefined;
  }
}
