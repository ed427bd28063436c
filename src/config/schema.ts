import { z } from 'zod';
import { splitCommandLine } from './command-line.js';

/**
 * The gateway.yaml schema: the single source of every config type.
 * Every object is strict, so a typo in a key is an error with its path, never silently ignored.
 */

const backendName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const stringMap = z.record(z.string(), z.string());

/** Per-backend limits and failsafes: settable per backend, or for all under `defaults`. */
const int = (min: number) => z.number().int().min(min);
const RateLimit = z.strictObject({ calls: int(1), per_ms: int(1) });
const CircuitBreaker = z.strictObject({ failures: int(1).optional(), reset_ms: int(1).optional() });
const FailsafeKeys = {
  timeout_ms: int(1).optional(),
  connect_timeout_ms: int(1).optional(),
  idle_timeout_ms: int(0).optional(),
  max_concurrent: int(1).optional(),
  max_queue: int(0).optional(),
  rate_limit: RateLimit.nullable().optional(),
  circuit_breaker: CircuitBreaker.optional(),
  retries: int(0).max(5).optional(),
};
type FailsafeInput = { [K in keyof typeof FailsafeKeys]?: z.output<(typeof FailsafeKeys)[K]> };

export const FAILSAFE_DEFAULTS = {
  timeoutMs: 60_000,
  connectTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  maxConcurrent: 16,
  maxQueue: 64,
  rateLimit: null as { calls: number; perMs: number } | null,
  breaker: { failures: 5, resetMs: 30_000 },
  retries: 1,
};
export type Failsafes = typeof FAILSAFE_DEFAULTS;

/** Backend value, else `defaults` value, else the built-in default. */
function resolveFailsafes(own: FailsafeInput, shared: FailsafeInput): Failsafes {
  const pick = <K extends keyof FailsafeInput>(key: K) => (own[key] !== undefined ? own[key] : shared[key]);
  const rate = pick('rate_limit');
  const d = FAILSAFE_DEFAULTS;
  return {
    timeoutMs: pick('timeout_ms') ?? d.timeoutMs,
    connectTimeoutMs: pick('connect_timeout_ms') ?? d.connectTimeoutMs,
    idleTimeoutMs: pick('idle_timeout_ms') ?? d.idleTimeoutMs,
    maxConcurrent: pick('max_concurrent') ?? d.maxConcurrent,
    maxQueue: pick('max_queue') ?? d.maxQueue,
    rateLimit: rate ? { calls: rate.calls, perMs: rate.per_ms } : null,
    breaker: {
      failures: own.circuit_breaker?.failures ?? shared.circuit_breaker?.failures ?? d.breaker.failures,
      resetMs: own.circuit_breaker?.reset_ms ?? shared.circuit_breaker?.reset_ms ?? d.breaker.resetMs,
    },
    retries: pick('retries') ?? d.retries,
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
  const { timeout_ms, connect_timeout_ms, idle_timeout_ms, max_concurrent, max_queue, rate_limit, circuit_breaker, retries } = b;
  const common = {
    description: b.description,
    enabled: b.enabled,
    /** Replaced by the resolved Failsafes once `defaults` is known (see ConfigSchema). */
    failsafeInput: {
      timeout_ms,
      connect_timeout_ms,
      idle_timeout_ms,
      max_concurrent,
      max_queue,
      rate_limit,
      circuit_breaker,
      retries,
    } as FailsafeInput,
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
  /** Origin hostnames accepted besides localhost. */
  allowed_origins: z.array(z.string().min(1)).optional(),
});

const MetaSection = z.strictObject({
  tool_prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, _ and - only')
    .default(''),
});

const TopLevelKeys = z.strictObject({
  server: ServerSection.default(ServerSection.parse({})),
  meta_mcp: MetaSection.default(MetaSection.parse({})),
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
  server: Object.keys(ServerSection.shape),
  meta_mcp: Object.keys(MetaSection.shape),
  defaults: Object.keys(FailsafeKeys),
  backend: Object.keys(BackendKeys.shape),
  rate_limit: Object.keys(RateLimit.shape),
  circuit_breaker: Object.keys(CircuitBreaker.shape),
};

export type GatewayConfig = z.output<typeof ConfigSchema>;
export type BackendConfig = GatewayConfig['backends'][string];
export type StdioBackendConfig = Extract<BackendConfig, { kind: 'stdio' }>;
export type HttpBackendConfig = Extract<BackendConfig, { kind: 'http' }>;
