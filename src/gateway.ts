import type { Server } from '@modelcontextprotocol/server';
import type { Principal } from './access/principal.js';
import { BackendPool } from './backends/pool.js';
import { loadCapabilitySources } from './capabilities/sources.js';
import { createInvokeLimiter } from './cluster/invoke-limiter.js';
import { checkExposure } from './config/exposure.js';
import { ConfigError, loadConfig } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import { registerConfigSecrets } from './config/secrets.js';
import { type Logger, silentLogger } from './log.js';
import { metaToolDefinitions } from './meta/definitions.js';
import { type FrontSpec, frontFactory } from './fronts/front.js';
import { SeenUris } from './fronts/links.js';
import { Conversations } from './fronts/relay.js';
import { type ListenPlan, listenPlanner } from './fronts/listen.js';
import { SubscriptionHub } from './fronts/subscriptions.js';
import { AuditLog } from './observe/audit.js';
import { EventBus } from './observe/events.js';
import { ToolIndex } from './search/rank.js';
import { createSemanticTier, SEMANTIC_FUSION } from './search/semantic/setup.js';
import { toolDoc } from './search/tool-doc.js';
import type { ListKind, ToolSource } from './sources/source.js';

export type ReloadResult = { ok: true; added: string[]; removed: string[]; changed: string[] } | { ok: false; problems: string[] };

export interface GatewayOptions {
  logger?: Logger;
  /** The file the config came from: enables reload. */
  configFile?: string;
}

/**
 * The gateway without a transport: config → pool → search index → meta-tools, with reload. The HTTP
 * server (server.ts) and stdio mode put a front on it; nothing is started until a request needs it.
 */
export interface Gateway {
  config(): GatewayConfig;
  readonly logger: Logger;
  readonly pool: BackendPool;
  readonly index: ToolIndex;
  readonly events: EventBus;
  /** The recent invoke records (newest first). */
  readonly audit: AuditLog;
  /**
   * The /mcp front for one request or session (meta-tools, surfaced tools, aggregated resources and
   * prompts); `principal` answers who sent the request being served. Stdio mode serves this too.
   */
  newMetaServer(principal: () => Principal): Server;
  /** Any front: /mcp (meta), /mcp/{backend} (passthrough), /mcp/v/{name} (endpoint). See fronts/front.ts. */
  newFront(spec: FrontSpec, principal: () => Principal): Server;
  /**
   * A tool, resource or prompt list changed (a backend's, or the gateway's own meta-tools after a reload):
   * live front servers should send list_changed.
   */
  onListChanged(listener: (kind: ListKind) => Promise<void>): void;
  /**
   * A 2026 `subscriptions/listen` request on a front asks for updates of these resources: the ones the caller
   * can see, and how to hold them at their backends while its stream is open.
   */
  listen(spec: FrontSpec, principal: Principal, uris: readonly string[]): ListenPlan;
  /** A subscribed resource changed (2026 listeners; 2025 sessions and stdio are told by the fronts themselves). */
  onResourceUpdated(listener: (uri: string) => void): void;
  /** Re-read the config file and capability folders and apply them; the running config stays on any problem. */
  reload(): Promise<ReloadResult>;
  /** Stop every backend and helper. Callers drain in-flight calls first (pool.drain). */
  close(): Promise<void>;
}

export async function createGateway(initial: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? silentLogger();
  let config = initial;

  const index = new ToolIndex();
  // search.semantic: tool vectors are embedded in the background; applies at start (a reload warns).
  const semantic = createSemanticTier(config.search, logger);
  index.setSemantic(semantic, SEMANTIC_FUSION);
  // Only the source the pool holds under that name may write the index: a retired one finishing its calls must not.
  const reindex = (source: ToolSource) => {
    if (pool.get(source.name) !== source) return;
    index.replaceServer(
      source.name,
      (source.cachedTools ?? []).map((tool) => toolDoc(source, tool)),
    );
  };
  const listListeners: Array<(kind: ListKind) => Promise<void>> = [];
  const updateListeners: Array<(uri: string) => void> = [];
  const subscriptions = new SubscriptionHub();
  const pool = new BackendPool({
    logger,
    onToolsChanged: reindex,
    onRemoved: (name) => index.removeServer(name),
    onListChanged: (_source, kind) => void Promise.allSettled(listListeners.map((listener) => listener(kind))),
    onResourceUpdated: (source, uri) => {
      void subscriptions.updated(source, uri);
      for (const listener of updateListeners) listener(uri);
    },
  });
  const capabilities = await loadCapabilities(config, logger);
  for (const problem of capabilities.problems) logger.warn({ problem }, 'capability file skipped');
  pool.apply(config.backends, capabilities.sources);

  let definitions = metaToolDefinitions(config.meta_mcp.tool_prefix, pool.names());
  const events = new EventBus();
  const audit = new AuditLog(logger, events);
  // Kept across reloads: its windows are keyed by principal name, and each check reads the current limit.
  const invokeLimiter = createInvokeLimiter(() => config.cluster?.shared_rate_limits, logger);
  const core = {
    pool,
    index,
    config: () => config,
    events,
    invokeLimiter,
    definitions: () => definitions,
    seen: new SeenUris(),
    conversations: new Conversations(),
    subscriptions,
  };
  const newFront = frontFactory(core);
  const listen = listenPlanner(core, logger);
  const newMetaServer = (principal: () => Principal) => newFront({ kind: 'meta' }, principal);

  // Reloads run one at a time, in the order asked: one that read an older file never applies last.
  let reloading: Promise<unknown> = Promise.resolve();

  /** Validate everything first; then swap atomically. An invalid edit changes nothing. */
  function reload(): Promise<ReloadResult> {
    const run = reloading.then(async () => {
      const result = await applyReload();
      events.emit('reload', { ok: result.ok });
      return result;
    });
    reloading = run.catch(() => {});
    return run;
  }

  async function applyReload(): Promise<ReloadResult> {
    if (!options.configFile) return { ok: false, problems: ['this gateway was not started from a config file'] };
    let next: Awaited<ReturnType<typeof loadConfig>>;
    try {
      next = await loadConfig(options.configFile);
    } catch (error) {
      const problems = error instanceof ConfigError ? error.message.split('\n') : [String(error)];
      logger.error({ problems }, 'config reload rejected; the running config is kept');
      return { ok: false, problems };
    }
    // Bind settings apply on restart: the running host and port stay, and exposure is judged with them.
    if (next.config.server.host !== initial.server.host || next.config.server.port !== initial.server.port) {
      logger.warn('server.host and server.port take effect on restart');
    }
    next.config.server = { ...next.config.server, host: initial.server.host, port: initial.server.port };
    const exposed = checkExposure(next.config);
    if (exposed) {
      logger.error({ problems: [exposed] }, 'config reload rejected; the running config is kept');
      return { ok: false, problems: [exposed] };
    }
    const loaded = await loadCapabilities(next.config, logger);
    if (loaded.problems.length > 0) {
      logger.error({ problems: loaded.problems }, 'capability reload rejected; the running config is kept');
      return { ok: false, problems: loaded.problems };
    }
    if (next.config.server.watch !== config.server.watch) logger.warn('server.watch takes effect on restart');
    if (JSON.stringify(next.config.search) !== JSON.stringify(config.search)) logger.warn('search takes effect on restart');
    registerConfigSecrets(next.secrets);
    const previous = config;
    config = next.config;
    const changes = pool.apply(config.backends, loaded.sources);
    const nextDefinitions = metaToolDefinitions(config.meta_mcp.tool_prefix, pool.names());
    const surfaceChanged = JSON.stringify([previous.surface, previous.endpoints]) !== JSON.stringify([config.surface, config.endpoints]);
    if (JSON.stringify(nextDefinitions) !== JSON.stringify(definitions)) definitions = nextDefinitions;
    // The meta-tools' definitions name the servers; an endpoint's surface lists backend tools.
    if (definitions === nextDefinitions || surfaceChanged) await Promise.allSettled(listListeners.map((listener) => listener('tools')));
    logger.info(changes, 'config reloaded');
    return { ok: true, ...changes };
  }

  return {
    config: () => config,
    logger,
    pool,
    index,
    events,
    audit,
    newMetaServer,
    newFront,
    listen,
    onListChanged: (listener) => void listListeners.push(listener),
    onResourceUpdated: (listener) => void updateListeners.push(listener),
    reload,
    close: async () => {
      await pool.close();
      invokeLimiter.close();
      await semantic?.close();
    },
  };
}

/** Capability groups, with a clash against a gateway.yaml backend name reported as a problem. */
async function loadCapabilities(config: GatewayConfig, logger?: Logger) {
  const loaded = await loadCapabilitySources(config.capability_dirs, process.env, { maxFileBytes: config.limits.max_file_bytes });
  for (const warning of loaded.warnings) logger?.warn({ warning }, 'capability');
  const clashes = loaded.sources.filter((source) => source.name in config.backends);
  return {
    sources: loaded.sources.filter((source) => !clashes.includes(source)),
    problems: [
      ...loaded.problems,
      ...clashes.map((source) => `capability server "${source.name}" has the name of a backend in the config; rename one of them`),
    ],
  };
}
