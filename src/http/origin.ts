/**
 * DNS-rebinding and cross-site protection: the Host header must name the gateway, and a browser's Origin
 * must be the gateway's own page or one the config lists. Both compare the port too: a page served by
 * another local program (http://localhost:3000) is another origin.
 */

export interface OriginSettings {
  /** Extra Host names: `name` (any port, or none: reverse proxies) or `name:port` (exactly). */
  allowed_hosts?: readonly string[];
  /** Extra origins, `scheme://host[:port]`, compared exactly (after URL normalisation). */
  allowed_origins?: readonly string[];
}

export type Verdict = { ok: true } | { ok: false; reason: string };

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const OK: Verdict = { ok: true };
/** Verdicts remembered per header value; the set of distinct values a real deployment sees is tiny. */
const MEMO_LIMIT = 256;

/** `new URL(x).origin`, or undefined when x is not an http(s) origin (e.g. "null", garbage). */
function normalOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** Host header → lowercase hostname (IPv6 kept in brackets) and port ('' when absent), or undefined if malformed. */
function splitHost(value: string): { name: string; port: string } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]\s/@?#]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return undefined;
  return { name: match[1]!.toLowerCase(), port: match[2] ?? '' };
}

/**
 * The checks for one configuration and one bound port. Rebuilt (cheaply) when either changes, so a
 * reload's allowed_hosts / allowed_origins apply to the next request.
 */
export class OriginPolicy {
  private readonly hostMemo = new Map<string, Verdict>();
  private readonly originMemo = new Map<string, Verdict>();
  private readonly origins: Set<string>;
  /** name → ports accepted ('*' any port or none). */
  private readonly hosts = new Map<string, Set<string>>();

  constructor(settings: OriginSettings, port: number) {
    const portText = String(port);
    // A Host without a port means port 80 (RFC 9110 §7.2), so it names the gateway only when it listens there.
    const own = port === 80 ? [portText, ''] : [portText];
    for (const name of LOOPBACK_NAMES) this.hosts.set(name, new Set(own));
    for (const entry of settings.allowed_hosts ?? []) {
      const parsed = splitHost(entry);
      if (!parsed) continue; // the config schema only promises a non-empty string; a malformed entry matches nothing
      const ports = this.hosts.get(parsed.name) ?? new Set<string>();
      ports.add(parsed.port === '' ? '*' : parsed.port);
      this.hosts.set(parsed.name, ports);
    }
    this.origins = new Set(LOOPBACK_NAMES.map((name) => `http://${name}:${port}`).map((o) => normalOrigin(o)!));
    for (const entry of settings.allowed_origins ?? []) {
      const origin = normalOrigin(entry);
      if (origin) this.origins.add(origin);
    }
  }

  /** A request without Host cannot come from a browser over HTTP/1.1; Node refuses it, so only in-process callers reach here without one. */
  checkHost(host: string): Verdict {
    return memo(this.hostMemo, host, () => {
      const parsed = splitHost(host);
      if (!parsed) return { ok: false, reason: 'malformed Host header' };
      const ports = this.hosts.get(parsed.name);
      if (ports && (ports.has('*') || ports.has(parsed.port))) return OK;
      return { ok: false, reason: `Host not allowed: ${host.slice(0, 200)}` };
    });
  }

  /** No Origin header: not a browser's cross-site request (curl, SDK clients) → allowed. */
  checkOrigin(origin: string | undefined): Verdict {
    if (origin === undefined || origin === '') return OK;
    return memo(this.originMemo, origin, () => {
      const normal = normalOrigin(origin);
      if (normal && this.origins.has(normal)) return OK;
      return { ok: false, reason: `Origin not allowed: ${origin.slice(0, 200)}` };
    });
  }
}

function memo(cache: Map<string, Verdict>, key: string, compute: () => Verdict): Verdict {
  const known = cache.get(key);
  if (known) return known;
  const verdict = compute();
  if (cache.size < MEMO_LIMIT) cache.set(key, verdict);
  return verdict;
}
