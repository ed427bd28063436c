import { z } from 'zod';
import { splitCommandLine } from './command-line.js';

/**
 * The gateway.yaml schema: the single source of every config type.
 * Every object is strict, so a typo in a key is an error with its path, never silently ignored.
 */

export const backendName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const stringMap = z.record(z.string(), z.string());

/** Per-backend limits and failsafes: settable per backend, or for all under `defaults`. */
const int = (min: number) => z.number().int().min(min);
export const RateLimit = z.strictObject({ calls: int(1), per_ms: int(1) });
export const CircuitBreaker = z.strictObject({ failures: int(1).optional(), reset_ms: int(1).optional() });

/** The numeric failsafes: YAML key, schema and default, each written once. */
const NUMERIC_FAILSAFES = {
  timeoutMs: { key: 'timeout_ms', schema: int(1), default: 60_000 },
  connectTimeoutMs: { key: 'connect_timeout_ms', schema: int(1), default: 30_000 },
  idleTimeoutMs: { key: 'idle_timeout_ms', schema: int(0), default: 300_000 },
  maxConcurrent: { key: 'max_concurrent', schema: int(1), default: 16 },
  maxQueue: { key: 'max_queue', schema: int(0), default: 256 },
  /** A queued call waiting longer than this is answered `busy` (0 = no limit). */
  maxQueueWaitMs: { key: 'max_queue_wait_ms', schema: int(0), default: 10_000 },
  retries: { key: 'retries', schema: int(0).max(5), default: 1 },
} as const;
type NumericFailsafe = keyof typeof NUMERIC_FAILSAFES;
type NumericKey = (typeof NUMERIC_FAILSAFES)[NumericFailsafe]['key'];
const numericEntries = Object.entries(NUMERIC_FAILSAFES) as Array<[NumericFailsafe, (typeof NUMERIC_FAILSAFES)[NumericFailsafe]]>;

const FailsafeKeys = {
  ...(Object.fromEntries(numericEntries.map(([, f]) => [f.key, f.schema.optional()])) as Record<NumericKey, z.ZodOptional<z.ZodNumber>>),
  /** null switches off a rate limit set under `defaults`. */
  rate_limit: RateLimit.nullable().optional(),
  circuit_breaker: CircuitBreaker.optional(),
};
export type FailsafeInput = { [K in keyof typeof FailsafeKeys]?: z.output<(typeof FailsafeKeys)[K]> };

export type Failsafes = Record<NumericFailsafe, number> & {
  rateLimit: { calls: number; perMs: number } | null;
  breaker: { failures: number; resetMs: number };
};
export const FAILSAFE_DEFAULTS: Failsafes = {
  ...(Object.fromEntries(numericEntries.map(([name, f]) => [name, f.default])) as Record<NumericFailsafe, number>),
  rateLimit: null,
  breaker: { failures: 5, resetMs: 30_000 },
};

/** Backend value, else `defaults` value, else the built-in default. */
export function resolveFailsafes(own: FailsafeInput, shared: FailsafeInput): Failsafes {
  const pick = <K extends keyof FailsafeInput>(key: K) => (own[key] !== undefined ? own[key] : shared[key]);
  const rate = pick('rate_limit');
  const d = FAILSAFE_DEFAULTS;
  return {
    ...(Object.fromEntries(numericEntries.map(([name, f]) => [name, pick(f.key) ?? f.default])) as Record<NumericFailsafe, number>),
    rateLimit: rate ? { calls: rate.calls, perMs: rate.per_ms } : null,
    breaker: {
      failures: own.circuit_breaker?.failures ?? shared.circuit_breaker?.failures ?? d.breaker.failures,
      resetMs: own.circuit_breaker?.reset_ms ?? shared.circuit_breaker?.reset_ms ?? d.breaker.resetMs,
    },
  };
}

/** What a user may write for one backend; normalized below into a stdio or HTTP backend. */
const BackendKeys = z.strictObject({
  command: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  env: stringMap.optional(),
  cwd: z.string().min(1).optional(),
  url: z.url({ protocol: /^https?$/ }).optional(),
  http_url: z.url({ protocol: /^https?$/ }).optional(),
  transport: z.enum(['stdio', 'streamable-http', 'sse']).optional(),
  headers: stringMap.optional(),
  description: z.string().optional(),
  enabled: z.boolean().default(true),
  ...FailsafeKeys,
});

const BackendInput = BackendKeys.superRefine((b, ctx) => {
  const url = b.url ?? b.http_url;
  if (b.url && b.http_url) {
    ctx.addIssue({ code: 'custom', path: ['http_url'], message: '`http_url` is an alias of `url`; give only one' });
  }
  if (!b.command === !url) {
    ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of `command` (stdio) or `url` (HTTP)' });
    return;
  }
  const onlyFor = (key: keyof typeof b, kind: string) => {
    if (b[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `\`${key}\` only applies to ${kind} backends` });
  };
  if (b.command) {
    onlyFor('headers', 'HTTP (`url`)');
    if (!b.args) {
      try {
        if (splitCommandLine(b.command).length === 0) throw new Error('`command` is empty');
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['command'], message: (error as Error).message });
      }
    }
    if (b.transport && b.transport !== 'stdio') {
      ctx.addIssue({ code: 'custom', path: ['transport'], message: 'a `command` backend uses the stdio transport' });
    }
  } else {
    for (const key of ['args', 'env', 'cwd'] as const) onlyFor(key, 'stdio (`command`)');
    if (b.transport === 'stdio') {
      ctx.addIssue({ code: 'custom', path: ['transport'], message: 'a `url` backend uses `streamable-http` or `sse`' });
    }
  }
}).transform((b) => {
  const common = {
    description: b.description,
    enabled: b.enabled,
    /** Replaced by the resolved Failsafes once `defaults` is known (see ConfigSchema). */
    failsafeInput: Object.fromEntries(Object.keys(FailsafeKeys).map((key) => [key, b[key as keyof typeof FailsafeKeys]])) as FailsafeInput,
  };
  if (b.command) {
    // With no `args`, a command string is split the way a shell would split it.
    const [command, ...args] = b.args ? [b.command, ...b.args] : splitCommandLine(b.command);
    return { ...common, kind: 'stdio' as const, command: command!, args, env: b.env ?? {}, cwd: b.cwd };
  }
  return {
    ...common,
    kind: 'http' as const,
    url: (b.url ?? b.http_url)!,
    // Without an explicit transport: Streamable HTTP, falling back to legacy SSE if the server refuses it.
    transport: (b.transport ?? 'auto') as 'streamable-http' | 'sse' | 'auto',
    headers: b.headers ?? {},
  };
});

const ServerSection = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(39_400),
  /** On SIGTERM/SIGINT, how long in-flight calls may finish before backends are stopped. */
  shutdown_timeout_ms: z.number().int().min(0).default(10_000),
  /** Reload when the config file or a capability folder changes. */
  watch: z.boolean().default(true),
  /** Host header names accepted besides localhost (needed when binding beyond loopback). */
  allowed_hosts: z.array(z.string().min(1)).optional(),
  /** Origins accepted besides the gateway's own (scheme://host[:port], compared exactly). */
  allowed_origins: z.array(z.string().min(1)).optional(),
  /** A non-loopback bind without `auth` refuses to start unless this is true. */
  allow_unauthenticated_network: z.boolean().default(false),
});

/** The default `limits.max_file_bytes`: also the bound gateway.yaml is read under before its own limit is known. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

/** Bounds on what one client can make the gateway spend. Each has a default; each answers a clear error when hit. */
const LimitsSection = z.strictObject({
  /** search_tools `query` length, in characters. */
  max_query_chars: int(1).default(1_000),
  /** Live 2025-era sessions; past the cap the least recently used one is closed (its client gets 404 and re-initializes). */
  max_sessions: int(1).default(256),
  /** A 2025-era session with no request for this long is closed. */
  session_idle_ms: int(1_000).default(10 * 60_000),
  /** A request body must arrive within this time (slow senders are cut off with 408). */
  body_timeout_ms: int(100).default(10_000),
  /** Largest request body, in bytes (413 beyond). */
  max_body_bytes: int(1_024).default(4 * 1024 * 1024),
  /** Largest gateway.yaml or capability file, in bytes. */
  max_file_bytes: int(1_024).default(DEFAULT_MAX_FILE_BYTES),
});

/** `server/tool` glob patterns: `*` matches any run of characters; `"*"` alone allows everything. */
const AllowList = z.array(z.string().min(1)).min(1);

const ApiKey = z
  .strictObject({
    /** Shown in logs and audit records; never the token. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]*$/, 'letters, digits, _ . @ and - only'),
    /** The bearer token itself, normally from `${VAR}`. */
    token: z.string().min(16, 'a token has at least 16 characters').optional(),
    /** Hex SHA-256 of the token, so the file holds no secret. */
    token_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, '64 hex digits')
      .optional(),
    allow: AllowList.default(['*']),
    /** May use /admin/* (and, later, the dashboard). */
    admin: z.boolean().default(false),
    /** Calls of `invoke` this key may make per window (answered `rate_limited`, separate from a backend's own limit). */
    rate_limit: RateLimit.optional(),
  })
  .superRefine((key, ctx) => {
    if (!key.token === !key.token_sha256)
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of `token` or `token_sha256`' });
  });

/** OAuth 2.1 resource server: JWT access tokens from `issuer`, checked against its JWKS. */
const OAuthSection = z.strictObject({
  issuer: z.url({ protocol: /^https?$/ }),
  /** The `aud` a token must carry (RFC 8707): this gateway's resource identifier. */
  audience: z.string().min(1),
  /** Defaults to the `jwks_uri` of the issuer's metadata. */
  jwks_uri: z.url({ protocol: /^https?$/ }).optional(),
  /** The resource URL served in /.well-known/oauth-protected-resource; defaults to `audience`. */
  resource: z.string().min(1).optional(),
  /** Token scope → the `server/tool` patterns it allows. A token's allow list is the union over its scopes. */
  scopes: z.record(z.string().min(1), AllowList).default({}),
  /** A token with this scope may use /admin/*. */
  admin_scope: z.string().min(1).optional(),
  /** The claim that names the caller in logs and audit records. */
  name_claim: z.string().min(1).default('sub'),
  rate_limit: RateLimit.optional(),
});

const AuthSection = z
  .strictObject({
    keys: z.array(ApiKey).default([]),
    oauth: OAuthSection.optional(),
  })
  .superRefine((auth, ctx) => {
    if (auth.keys.length === 0 && !auth.oauth) ctx.addIssue({ code: 'custom', path: [], message: 'give `keys`, `oauth`, or both' });
    const seen = new Set<string>();
    auth.keys.forEach((key, i) => {
      if (seen.has(key.name))
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'name'], message: `the key name "${key.name}" is used twice` });
      seen.add(key.name);
    });
  });

const MetaSection = z.strictObject({
  tool_prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, _ and - only')
    .default(''),
});

/** Shared by every replica: per-key invoke limits counted in Redis/Valkey, once for all replicas. */
const SharedRateLimits = z.strictObject({
  /** redis://[user:password@]host[:port][/db] or rediss:// (TLS); normally from `${VAR}`, as it may hold a password. */
  redis_url: z.string().regex(/^rediss?:\/\/[^/?#]+(\/\d+)?\/?$/, 'a redis:// or rediss:// URL: [user:password@]host[:port][/db]'),
  /** Past this (or with Redis unreachable) a replica counts its own calls alone until Redis answers again. */
  timeout_ms: int(1).default(250),
  /** Prefix of the Redis keys (one sorted set per principal), so several gateways can share one Redis. */
  key_prefix: z.string().default('mcp-gateway:'),
});

/** Running several replicas behind a load balancer. Absent: every limit is counted per replica. */
const ClusterSection = z.strictObject({
  shared_rate_limits: SharedRateLimits.optional(),
});

/** search_tools' semantic tier (src/search/semantic/): off, the built-in encoder, or an OpenAI-compatible endpoint. */
const SemanticEndpoint = z.strictObject({
  /** the /v1/embeddings endpoint, or its base (…/v1) */
  url: z.url({ protocol: /^https?$/ }),
  model: z.string().min(1),
  /** normally `${VAR}`; sent as a bearer token */
  api_key: z.string().min(1).optional(),
});
const SearchSection = z.strictObject({
  /** `false` (YAML 1.1 readers' `off`) means off too */
  semantic: z.union([z.enum(['off', 'builtin']), z.literal(false).transform(() => 'off' as const), SemanticEndpoint]).default('off'),
  /** where tool vectors are cached (default: $XDG_CACHE_HOME or ~/.cache, then mcp-gateway/embeddings) */
  cache_dir: z.string().min(1).optional(),
});

/** `server/tool` globs (as in `allow`): `*` matches any run of characters, a pattern without `/` is a whole server. */
const ToolGlobs = z.array(z.string().min(1));

/** A virtual endpoint served at /mcp/v/{name}: a subset of the catalog, optionally with surfaced tools. */
const EndpointSection = z.strictObject({
  /** What this endpoint shows; a key's own scope narrows it further (the caller sees the intersection). */
  allow: ToolGlobs.min(1),
  /** Tools listed directly in tools/list as `server__tool`, beside the meta-tools. */
  surface: ToolGlobs.default([]),
  /** false: tools/list has only the surfaced tools (no list_servers, search_tools, ...). */
  meta_tools: z.boolean().default(true),
});

const TopLevelKeys = z.strictObject({
  server: ServerSection.default(ServerSection.parse({})),
  meta_mcp: MetaSection.default(MetaSection.parse({})),
  limits: LimitsSection.default(LimitsSection.parse({})),
  /** Absent: no authentication (allowed only on a loopback bind, or with server.allow_unauthenticated_network). */
  auth: AuthSection.optional(),
  defaults: z.strictObject(FailsafeKeys).default({}),
  /** Folders of REST capability files (relative to the config file). */
  capability_dirs: z.array(z.string().min(1)).default(['capabilities']),
  backends: z
    .record(z.string(), BackendInput)
    .superRefine((backends, ctx) => {
      for (const name of Object.keys(backends)) {
        if (!backendName.test(name))
          ctx.addIssue({ code: 'custom', path: [name], message: 'a backend name uses letters, digits, _ . and - only' });
      }
    })
    .default({}),
  cluster: ClusterSection.optional(),
  search: SearchSection.optional(),
  /** Tools listed directly in /mcp's tools/list as `server__tool`, beside the meta-tools. */
  surface: ToolGlobs.default([]),
  /** Virtual endpoints at /mcp/v/{name}. */
  endpoints: z
    .record(z.string(), EndpointSection)
    .superRefine((endpoints, ctx) => {
      for (const name of Object.keys(endpoints)) {
        if (!backendName.test(name))
          ctx.addIssue({ code: 'custom', path: [name], message: 'an endpoint name uses letters, digits, _ . and - only' });
      }
    })
    .default({}),
});

export const ConfigSchema = TopLevelKeys.transform(({ defaults, backends, ...rest }) => ({
  ...rest,
  backends: Object.fromEntries(
    Object.entries(backends).map(([name, { failsafeInput, ...backend }]) => [
      name,
      { ...backend, ...resolveFailsafes(failsafeInput, defaults) },
    ]),
  ),
}));

/** The keys each object accepts, from the schema itself, for "did you mean" on an unknown key. */
export const KNOWN_KEYS = {
  topLevel: Object.keys(TopLevelKeys.shape),
  search: Object.keys(SearchSection.shape),
  server: Object.keys(ServerSection.shape),
  meta_mcp: Object.keys(MetaSection.shape),
  limits: Object.keys(LimitsSection.shape),
  auth: Object.keys(AuthSection.shape),
  keys: Object.keys(ApiKey.shape),
  oauth: Object.keys(OAuthSection.shape),
  defaults: Object.keys(FailsafeKeys),
  backend: Object.keys(BackendKeys.shape),
  rate_limit: Object.keys(RateLimit.shape),
  circuit_breaker: Object.keys(CircuitBreaker.shape),
  cluster: Object.keys(ClusterSection.shape),
  shared_rate_limits: Object.keys(SharedRateLimits.shape),
  endpoint: Object.keys(EndpointSection.shape),
};

export type GatewayConfig = z.output<typeof ConfigSchema>;
export type BackendConfig = GatewayConfig['backends'][string];
export type StdioBackendConfig = Extract<BackendConfig, { kind: 'stdio' }>;
export type HttpBackendConfig = Extract<BackendConfig, { kind: 'http' }>;
export type AuthConfig = NonNullable<GatewayConfig['auth']>;
export type ApiKeyConfig = AuthConfig['keys'][number];
export type OAuthConfig = NonNullable<AuthConfig['oauth']>;
export type LimitsConfig = GatewayConfig['limits'];
export type SearchConfig = NonNullable<GatewayConfig['search']>;
export type EndpointConfig = GatewayConfig['endpoints'][string];
export type SharedRateLimitsConfig = NonNullable<NonNullable<GatewayConfig['cluster']>['shared_rate_limits']>;
