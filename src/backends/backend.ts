import type {
  CallToolResult,
  CompleteRequestParams,
  CompleteResult,
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplateType,
  StandardSchemaV1,
  Tool,
} from '@modelcontextprotocol/client';
import type { BackendConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { loadedClientSdk } from './client-sdk.js';
import { type Connection, connectBackend, isModernEra } from './connect.js';
import { LegacySession } from './legacy-session.js';
import { CallGuard } from '../sources/failsafes.js';
import type { BackendWatchdog } from './process.js';
import {
  BackendUnavailableError,
  type CallOptions,
  CallTimeoutError,
  ConnectionLostError,
  describeError,
  type ListKind,
  type LogParams,
  RelayError,
  type ServerRequestMethod,
  type ServerRequestRelay,
  type SourceState,
  type SourceStatus,
  type ToolSource,
} from '../sources/source.js';

export interface BackendDeps {
  logger: Logger;
  watchdog: BackendWatchdog;
  onToolsChanged: (backend: Backend) => void;
  /** The backend said a list changed (its list_changed notification), after the new list is cached. */
  onListChanged?: (backend: Backend, kind: ListKind) => void;
  /** notifications/resources/updated from the backend. */
  onResourceUpdated?: (backend: Backend, uri: string) => void;
}

const STDERR_TAIL_LINES = 20;

/**
 * A forwarded tools/call result is not validated on the backend leg: invoke returns it untouched and
 * the front server validates it once on the way out (validating it twice was ~4% of the CPU per call).
 */
const PASS_THROUGH: StandardSchemaV1<unknown, unknown> = {
  '~standard': { version: 1, vendor: 'meta-mcp-gateway', validate: (value: unknown) => ({ value }) },
};
const MAX_RESTART_DELAY_MS = 60_000;

/**
 * One configured backend: started on first need, its tool list cached (kept through restarts and
 * idle stops, so it stays searchable) and refetched when the backend says it changed. Calls pass
 * the CallGuard (rate limit, circuit breaker, concurrency); crash loops back off exponentially.
 */
export class Backend implements ToolSource {
  state: SourceState = 'idle';
  lastError?: string;
  private tools?: Tool[];
  /** The same tools by name: each call looks its tool up (a backend may list thousands). */
  private toolsByName = new Map<string, Tool>();
  /** Tools that declare `x-mcp-header` parameters, by name (see callTool). */
  private headerMirrored = new Map<string, Tool>();
  private connection?: Connection;
  private starting?: Promise<Connection>;
  /** Aborts the start under way (its connect timeout, or a stop() that arrives mid-start). */
  private startAbort?: AbortController;
  /** The current process's last stderr lines; each start gets a fresh list (crash reports keep theirs). */
  private stderrTail: string[] = [];
  private readonly tails = new WeakMap<Connection, string[]>();
  private readonly guard: CallGuard;
  /** Failed starts and unexpected exits since the last successful call. */
  private failures = 0;
  private nextStartAt = 0;
  /** What the last failure came from (a dead connection, a failed start): later refusals share it. */
  private lastIncident?: object;
  private restartTimer?: NodeJS.Timeout;
  /** Bumped by stop(): a background restart armed before a stop does not outlive it. */
  private generation = 0;
  /** Removed or replaced by a reload: calls already admitted may finish on the live connection, nothing starts it again. */
  private retired = false;
  private inFlight = 0;
  /** When the current connection became ready, and how many times one did. */
  private startedAt?: number;
  private starts = 0;
  private idleTimer?: NodeJS.Timeout;
  /** Resource and prompt lists, fetched with the tools when the backend offers them (kept like the tools). */
  private resources?: Resource[];
  private templates?: ResourceTemplateType[];
  private prompts?: Prompt[];
  /** The calls in flight that can take the backend's requests (see routeServerRequest). */
  private readonly relays = new Set<ServerRequestRelay>();
  /** For an HTTP backend: the 2025-era session of 2025 passthrough callers and subscriptions. */
  private readonly legacy?: LegacySession;

  constructor(
    readonly name: string,
    readonly config: BackendConfig,
    private readonly deps: BackendDeps,
  ) {
    this.guard = new CallGuard(name, config, isBackendFault);
    if (config.kind === 'http')
      this.legacy = new LegacySession(name, config, {
        logger: deps.logger,
        watchdog: deps.watchdog,
        onResourceUpdated: (uri) => this.deps.onResourceUpdated?.(this, uri),
        onServerRequest: (method, params, signal) => this.routeServerRequest(method, params, signal),
        onLog: (params) => this.routeLog(params),
      });
    this.guard.onOpen = () => this.restartWhileOpen();
  }

  get description(): string | undefined {
    return this.config.description;
  }

  get fingerprint(): string {
    return JSON.stringify(this.config);
  }

  /** The cached tool list; undefined until it was fetched once. */
  get cachedTools(): readonly Tool[] | undefined {
    return this.tools;
  }

  get cachedResources(): readonly Resource[] | undefined {
    return this.resources;
  }

  get cachedResourceTemplates(): readonly ResourceTemplateType[] | undefined {
    return this.templates;
  }

  get cachedPrompts(): readonly Prompt[] | undefined {
    return this.prompts;
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  status(): SourceStatus {
    const transport = this.connection?.transport ?? (this.config.kind === 'stdio' ? 'stdio' : this.config.transport);
    return {
      name: this.name,
      description: this.config.description,
      transport,
      state: this.state,
      tools: this.tools?.length ?? null,
      resources: this.resources?.length ?? null,
      prompts: this.prompts?.length ?? null,
      circuit: this.guard.circuit,
      ...(this.lastError ? { error: this.lastError } : {}),
    };
  }

  /** The tool list: from the cache, or by starting the backend. Throws BackendUnavailableError. */
  async listTools(): Promise<readonly Tool[]> {
    if (this.tools) return this.tools;
    await this.ensureStarted();
    this.scheduleIdleStop();
    return this.tools ?? [];
  }

  /**
   * Forward one tools/call; the backend's result comes back as it was sent (for a tool with `x-mcp-header`
   * parameters, as the SDK's shape check returns it). Retried only where that
   * is safe: when the backend could not be started (nothing was sent), after a 404 from an HTTP backend
   * that lost its session, and after a crash for tools annotated read-only or idempotent.
   */
  callTool(name: string, args: Record<string, unknown> | undefined, options: CallOptions = {}): Promise<CallToolResult> {
    const annotations = this.toolsByName.get(name)?.annotations;
    const repeatable = annotations?.readOnlyHint === true || annotations?.idempotentHint === true;
    const params: Record<string, unknown> = { name };
    if (args !== undefined) params.arguments = args;
    return this.forward(options, repeatable, async (connection, { rounds, ...sendOptions }) => {
      const sent = { ...params, ...rounds };
      // SEP-2243: a parameter declared with `x-mcp-header` must also travel as an Mcp-Param-* header on
      // Streamable HTTP, which only the SDK's callTool() adds, from the definition it is given. Given it
      // without outputSchema, callTool checks only the result's MCP shape; checking structuredContent
      // against the tool's schema stays with the front client, as on the pass-through path.
      const mirrored = this.headerMirrored.get(name);
      return mirrored
        ? await connection.client.callTool(sent as { name: string; arguments?: Record<string, unknown> }, {
            ...sendOptions,
            toolDefinition: mirrored,
          })
        : ((await connection.client.request({ method: 'tools/call', params: sent }, PASS_THROUGH, sendOptions)) as CallToolResult);
    });
  }

  /** resources/read: a read is safe to resend after a crash. */
  readResource(uri: string, options: CallOptions = {}): Promise<ReadResourceResult> {
    return this.forward(
      options,
      true,
      (connection, { rounds, ...sendOptions }) =>
        connection.client.request(
          { method: 'resources/read', params: { uri, ...rounds } },
          PASS_THROUGH,
          sendOptions,
        ) as Promise<ReadResourceResult>,
    );
  }

  getPrompt(name: string, args: Record<string, string> | undefined, options: CallOptions = {}): Promise<GetPromptResult> {
    const params = args === undefined ? { name } : { name, arguments: args };
    return this.forward(
      options,
      true,
      (connection, { rounds, ...sendOptions }) =>
        connection.client.request(
          { method: 'prompts/get', params: { ...params, ...rounds } },
          PASS_THROUGH,
          sendOptions,
        ) as Promise<GetPromptResult>,
    );
  }

  complete(params: CompleteRequestParams, options: CallOptions = {}): Promise<CompleteResult> {
    return this.forward(options, true, (connection, { rounds: _, ...sendOptions }) => connection.client.complete(params, sendOptions));
  }

  canSubscribe(): boolean {
    return this.connection?.client.getServerCapabilities()?.resources?.subscribe === true;
  }

  async subscribeResource(uri: string, on: boolean): Promise<void> {
    // Subscriptions exist only in the 2025 era (2026 clients listen instead).
    const connection = await this.connectFor(true);
    const options = { timeout: this.config.timeoutMs };
    if (on) await connection.client.subscribeResource({ uri }, options);
    else await connection.client.unsubscribeResource({ uri }, options);
  }

  async listResources(): Promise<readonly Resource[]> {
    if (!this.resources) await this.start();
    return this.resources ?? [];
  }

  async listResourceTemplates(): Promise<readonly ResourceTemplateType[]> {
    if (!this.templates) await this.start();
    return this.templates ?? [];
  }

  async listPrompts(): Promise<readonly Prompt[]> {
    if (!this.prompts) await this.start();
    return this.prompts ?? [];
  }

  /**
   * One request to the backend through the CallGuard (rate limit, circuit, concurrency). Retried only
   * where that is safe: when the backend could not be started (nothing was sent), after a 404 from an
   * HTTP backend that lost its session, and after a crash when `repeatable`.
   */
  private forward<T>(
    options: CallOptions,
    repeatable: boolean,
    send: (connection: Connection, sendOptions: SendOptions) => Promise<T>,
  ): Promise<T> {
    return this.guard.run(async () => {
      this.inFlight++;
      clearTimeout(this.idleTimer);
      if (options.relay) this.relays.add(options.relay);
      try {
        for (let attempt = 0; ; attempt++) {
          const canRetry = attempt < this.config.retries;
          let connection: Connection;
          try {
            connection = await this.connectFor(options.relay?.legacyCaller === true);
          } catch (error) {
            if (canRetry && Date.now() >= this.nextStartAt && !options.signal?.aborted) continue;
            throw error;
          }
          try {
            const result = await send(connection, {
              timeout: this.config.timeoutMs,
              signal: options.signal,
              onprogress: options.onprogress,
              ...verbatimRounds(connection, options),
            });
            this.failures = 0;
            return result;
          } catch (error) {
            if (options.signal?.aborted) throw error;
            noteRefusal(error, connection, options);
            const lostSession = sessionLostStatus(error);
            if (lostSession !== undefined && attempt === 0) {
              // The HTTP backend restarted and forgot our session: initialize again and resend once.
              this.deps.logger.info({ backend: this.name, status: lostSession }, 'backend lost our session; reconnecting');
              await this.dropConnection(connection);
              continue;
            }
            if (isConnectionLost(error) && repeatable && canRetry) continue;
            // A crashed child's last stderr lines may still be in the pipe: wait briefly for them.
            if (isConnectionLost(error)) await Promise.race([connection.stderrEnded, new Promise((r) => setTimeout(r, 250))]);
            throw this.explain(error, connection);
          }
        }
      } finally {
        if (options.relay) this.relays.delete(options.relay);
        this.inFlight--;
        this.scheduleIdleStop();
      }
    }, options);
  }

  /** The backend's connection, or for a 2025-era caller its 2025-era session (see LegacySession). */
  private async connectFor(legacyCaller: boolean): Promise<Connection> {
    const connection = await this.ensureStarted();
    return legacyCaller && this.legacy ? this.legacy.get(connection) : connection;
  }

  /**
   * A request from the backend (sampling, elicitation, roots) goes to the client whose call is in flight.
   * Neither stdio nor the SDK client says which of our requests a backend request belongs to, so with
   * no call, or several, in flight the backend gets an error rather than another caller's client.
   */
  private routeServerRequest(method: ServerRequestMethod, params: unknown, signal: AbortSignal): Promise<unknown> {
    const relays = [...this.relays];
    if (relays.length === 1) return relays[0]!.request(method, params, signal);
    const why =
      relays.length === 0
        ? 'no call from a client is in flight on this server'
        : `${relays.length} calls are in flight on this server and the gateway cannot tell which client should answer`;
    return Promise.reject(new RelayError(-32603, `The gateway cannot relay ${method}: ${why}.`));
  }

  private routeLog(params: LogParams): void {
    const relays = [...this.relays];
    if (relays.length === 1) relays[0]!.log(params);
    else this.deps.logger.debug({ backend: this.name, level: params.level }, 'backend log message not relayed (no single call in flight)');
  }

  /**
   * The circuit opened: while it stays open, restart the backend in the background (at its back-off
   * times), so that a restart that works lets the probe through at once instead of after reset_ms.
   */
  private restartWhileOpen(): void {
    clearTimeout(this.restartTimer);
    if (this.connection || this.retired) return; // alive but failing (timeouts): only the probe can tell
    const generation = this.generation;
    this.restartTimer = setTimeout(
      () => {
        if (generation !== this.generation || this.guard.circuit !== 'open' || this.connection) return;
        this.ensureStarted().then(
          () => this.scheduleIdleStop(),
          () => {
            if (generation === this.generation) this.restartWhileOpen();
          },
        );
      },
      Math.max(0, this.nextStartAt - Date.now()),
    );
    this.restartTimer.unref();
  }

  /** Timeouts and lost connections as the typed errors the meta-tools report. */
  private explain(error: unknown, connection: Connection): unknown {
    const sdk = loadedClientSdk();
    if (sdk && error instanceof sdk.SdkError && error.code === sdk.SdkErrorCode.RequestTimeout)
      return new CallTimeoutError(this.name, this.config.timeoutMs);
    if (isConnectionLost(error))
      return new ConnectionLostError(this.name, describeError(error), (this.tails.get(connection) ?? []).slice(-10).join('\n'), connection);
    return error;
  }

  restartDelayMs(): number {
    return this.connection ? 0 : Math.max(0, this.nextStartAt - Date.now());
  }

  /** The last lines the stdio child wrote to stderr (for error messages). */
  recentStderr(): string {
    return this.stderrTail.join('\n');
  }

  /** Start now when not running (a no-op when running); resolves once its tools are listed. */
  async start(): Promise<void> {
    await this.ensureStarted();
    this.scheduleIdleStop();
  }

  /** Live facts for operators (/admin/servers, /metrics). */
  runtime(): { pid?: number; startedAt?: number; restarts: number; inFlight: number; queued: number } {
    const running = this.connection !== undefined;
    return {
      pid: running ? this.connection?.pid : undefined,
      startedAt: running ? this.startedAt : undefined,
      restarts: Math.max(0, this.starts - 1),
      inFlight: this.inFlight,
      queued: this.guard.queued,
    };
  }

  /** Taken out of the pool by a reload: it will only be stopped, never started again. */
  retire(): void {
    this.retired = true;
  }

  /** Stop the backend (its tool list stays cached); a start under way is abandoned, its processes ended. */
  async stop(): Promise<void> {
    this.generation++;
    clearTimeout(this.idleTimer);
    clearTimeout(this.restartTimer);
    if (this.starting) {
      this.startAbort?.abort(new StoppedWhileStarting());
      await this.starting.catch(() => {});
    }
    clearTimeout(this.restartTimer);
    const connection = this.connection;
    this.connection = undefined;
    if (this.state !== 'error') this.state = 'idle';
    await Promise.all([connection?.close(), this.legacy?.close()]);
  }

  ensureStarted(): Promise<Connection> {
    if (this.connection) return Promise.resolve(this.connection);
    if (this.retired) return Promise.reject(new BackendUnavailableError(this.name, 'removed from the configuration'));
    if (Date.now() < this.nextStartAt) {
      const wait = Math.ceil((this.nextStartAt - Date.now()) / 1000);
      return Promise.reject(
        new BackendUnavailableError(this.name, `${this.lastError ?? 'failed'}; next restart attempt in ${wait} s`, this.lastIncident),
      );
    }
    this.starting ??= this.launch().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async launch(): Promise<Connection> {
    this.state = 'starting';
    const tail: string[] = [];
    this.stderrTail = tail;
    const timeoutMs = this.config.connectTimeoutMs;
    const timer = new AbortController();
    this.startAbort = timer;
    const timeout = setTimeout(() => timer.abort(new Error(`timed out after ${timeoutMs} ms while starting and listing tools`)), timeoutMs);
    // Each attempt has its own identity, so a late close event from an old connection is ignored.
    const attempt: { connection?: Connection } = {};
    try {
      const connection = await connectBackend(
        this.name,
        this.config,
        {
          logger: this.deps.logger,
          watchdog: this.deps.watchdog,
          onToolsChanged: (tools) => {
            if (attempt.connection !== this.connection) return;
            this.setTools(tools);
            this.deps.onListChanged?.(this, 'tools');
          },
          onResourcesChanged: (resources) => {
            if (attempt.connection !== this.connection || !this.connection) return;
            this.resources = resources;
            // Templates have no list_changed of their own: they travel with the resources.
            void this.connection.client
              .listResourceTemplates(undefined, { timeout: this.config.timeoutMs })
              .then(({ resourceTemplates }) => {
                this.templates = resourceTemplates;
              })
              .catch(() => {})
              .finally(() => this.deps.onListChanged?.(this, 'resources'));
          },
          onPromptsChanged: (prompts) => {
            if (attempt.connection !== this.connection) return;
            this.prompts = prompts;
            this.deps.onListChanged?.(this, 'prompts');
          },
          onResourceUpdated: (uri) => this.deps.onResourceUpdated?.(this, uri),
          onServerRequest: (method, params, signal) => this.routeServerRequest(method, params, signal),
          onLog: (params) => this.routeLog(params),
          onClosed: () => this.onConnectionClosed(attempt),
          onStderrLine: (line) => this.onStderrLine(tail, line),
        },
        timer.signal,
      );
      attempt.connection = connection;
      this.tails.set(connection, tail);
      try {
        const { tools } = await connection.client.listTools(undefined, { signal: timer.signal, timeout: timeoutMs, cacheMode: 'bypass' });
        await this.fetchOtherLists(connection, timer.signal, timeoutMs);
        // The lists first, then the connection: a caller that finds the connection also finds its tools.
        this.setTools(tools);
        this.connection = connection;
        this.state = 'ready';
        this.lastError = undefined;
        this.startedAt = Date.now();
        this.starts++;
        this.guard.recovered();
        this.deps.logger.info(
          { backend: this.name, tools: tools.length, pid: connection.pid, transport: connection.transport },
          'backend ready',
        );
        return connection;
      } catch (error) {
        await connection.close();
        throw error;
      }
    } catch (error) {
      if (timer.signal.reason instanceof StoppedWhileStarting) {
        this.state = 'idle';
        throw new BackendUnavailableError(this.name, timer.signal.reason.message);
      }
      const reason = timer.signal.aborted ? (timer.signal.reason as Error).message : describeError(error);
      const tail = this.recentStderr();
      this.lastError = tail ? `${reason}; stderr: ${lastChars(tail, 500)}` : reason;
      this.lastIncident = attempt;
      this.markFailed();
      this.deps.logger.warn({ backend: this.name, err: this.lastError }, 'backend failed to start');
      throw new BackendUnavailableError(this.name, this.lastError, attempt);
    } finally {
      clearTimeout(timeout);
      this.startAbort = undefined;
    }
  }

  /** Resources, templates and prompts, when the backend offers them; a failure leaves that list empty, not the start failed. */
  private async fetchOtherLists(connection: Connection, signal: AbortSignal, timeout: number): Promise<void> {
    const { client } = connection;
    const offered = client.getServerCapabilities() ?? {};
    const options = { signal, timeout, cacheMode: 'bypass' as const };
    const quietly = async <T>(list: () => Promise<T>, fallback: T): Promise<T> => {
      try {
        return await list();
      } catch (error) {
        this.deps.logger.warn({ backend: this.name, err: describeError(error) }, 'listing resources or prompts failed');
        return fallback;
      }
    };
    const [resources, templates, prompts] = await Promise.all([
      offered.resources ? quietly(async () => (await client.listResources(undefined, options)).resources, []) : [],
      offered.resources ? quietly(async () => (await client.listResourceTemplates(undefined, options)).resourceTemplates, []) : [],
      offered.prompts ? quietly(async () => (await client.listPrompts(undefined, options)).prompts, []) : [],
    ]);
    this.resources = resources;
    this.templates = templates;
    this.prompts = prompts;
  }

  /** Exponential restart delay: the first failure may restart at once, then 1 s, 2 s, 4 s, ... up to 60 s. */
  private markFailed(): void {
    this.state = 'error';
    this.failures++;
    const delay = this.failures <= 1 ? 0 : Math.min(1000 * 2 ** (this.failures - 2), MAX_RESTART_DELAY_MS);
    this.nextStartAt = Date.now() + delay;
  }

  private async dropConnection(connection: Connection): Promise<void> {
    if (this.legacy?.owns(connection)) return this.legacy.drop(connection);
    if (this.connection === connection) this.connection = undefined;
    await this.legacy?.close();
    await connection.close();
  }

  private onConnectionClosed(attempt: { connection?: Connection }): void {
    const connection = attempt.connection;
    if (!connection || connection !== this.connection) return; // a stop() we asked for, or a failed start
    this.connection = undefined;
    const tail = this.recentStderr();
    this.lastError = `connection closed unexpectedly${tail ? `; stderr: ${lastChars(tail, 500)}` : ''}`;
    this.lastIncident = connection;
    this.markFailed();
    this.deps.logger.warn({ backend: this.name }, 'backend connection closed unexpectedly; it restarts on next use');
    void connection.reapOrphans();
    void this.legacy?.close();
  }

  /** A stdio backend with no call for idle_timeout_ms is stopped; the next request starts it again. */
  private scheduleIdleStop(): void {
    clearTimeout(this.idleTimer);
    const idleMs = this.config.idleTimeoutMs;
    if (this.config.kind !== 'stdio' || idleMs === 0 || !this.connection || this.inFlight > 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.inFlight > 0 || !this.connection) return;
      this.deps.logger.info({ backend: this.name, idleMs }, 'stopping idle backend');
      void this.stop();
    }, idleMs);
    this.idleTimer.unref();
  }

  private onStderrLine(tail: string[], line: string): void {
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
    this.deps.logger.info({ backend: this.name, stderr: line }, 'backend stderr');
  }

  private setTools(tools: Tool[]): void {
    this.tools = tools;
    // The first of a repeated name wins, as a search through the list would find it.
    this.toolsByName = new Map(tools.toReversed().map((t) => [t.name, t]));
    this.headerMirrored = new Map(tools.filter(declaresHeaderParameters).map((t) => [t.name, { ...t, outputSchema: undefined }]));
    this.deps.onToolsChanged(this);
  }
}

interface SendOptions {
  timeout: number;
  signal?: AbortSignal;
  onprogress?: CallOptions['onprogress'];
  /** Fields to send with the request: the client's retry fields and envelope (see ServerRequestRelay.rounds). */
  rounds?: Record<string, unknown>;
  /** Hand an `input_required` result back as it is instead of answering it through the relay. */
  allowInputRequired?: boolean;
}

/**
 * A client speaking the 2026-07-28 multi-round-trip itself, to a backend connected in that era: its retry
 * fields go along and the backend's `input_required` comes back untouched. Otherwise nothing changes (a
 * 2025-era backend sends real requests, which the relay answers).
 */
function verbatimRounds(connection: Connection, options: CallOptions): Pick<SendOptions, 'rounds' | 'allowInputRequired'> {
  const rounds = options.relay?.rounds;
  if (!rounds || !isModernEra(connection)) return {};
  const { envelope, inputResponses, requestState } = rounds;
  return { rounds: { inputResponses, requestState, ...(envelope ? { _meta: envelope } : {}) }, allowInputRequired: true };
}

/** The backend answered a verbatim round with a JSON-RPC error: keep it for the passthrough to send on. */
function noteRefusal(error: unknown, connection: Connection, options: CallOptions): void {
  const sdk = loadedClientSdk();
  const rounds = options.relay?.rounds;
  if (!rounds || !sdk || !(error instanceof sdk.ProtocolError) || !verbatimRounds(connection, options).rounds) return;
  rounds.refused = { code: error.code, message: error.message.replace(/^MCP error -?\d+: /, ''), data: error.data };
}

class StoppedWhileStarting extends Error {
  constructor() {
    super('stopped while starting');
  }
}

/** Does any property of the tool's input schema (at any depth) carry `x-mcp-header`? The SDK decides which count. */
function declaresHeaderParameters(tool: Tool): boolean {
  const visit = (node: unknown): boolean =>
    node !== null && typeof node === 'object' && ('x-mcp-header' in node || Object.values(node as Record<string, unknown>).some(visit));
  return visit(tool.inputSchema);
}

/** A failure of the backend itself (it counts toward opening the circuit), not of the caller. */
function isBackendFault(error: unknown): boolean {
  return error instanceof BackendUnavailableError || error instanceof CallTimeoutError || error instanceof ConnectionLostError;
}

/**
 * The HTTP backend no longer knows our session (it restarted): 404 as the spec says, or the 400
 * "No valid session ID" that servers built like the reference server-everything answer.
 * The request was refused before any handler ran, so resending it is safe. Returns that status, else undefined.
 */
function sessionLostStatus(error: unknown): number | undefined {
  const sdk = loadedClientSdk();
  if (!sdk || !(error instanceof sdk.SdkHttpError)) return undefined;
  return error.status === 404 || (error.status === 400 && /session/i.test(error.message)) ? error.status : undefined;
}

function isConnectionLost(error: unknown): boolean {
  const sdk = loadedClientSdk();
  if (!sdk || !(error instanceof sdk.SdkError)) return false;
  const { ConnectionClosed, SendFailed, NotConnected } = sdk.SdkErrorCode;
  return error.code === ConnectionClosed || error.code === SendFailed || error.code === NotConnected;
}

function lastChars(text: string, n: number): string {
  return text.length > n ? `…${text.slice(-n)}` : text;
}
