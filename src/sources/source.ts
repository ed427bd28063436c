import type {
  CallToolResult,
  CompleteRequestParams,
  CompleteResult,
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplateType,
  Tool,
} from '@modelcontextprotocol/client';

/**
 * What the meta-tools need from anything that serves tools: an MCP backend (backend.ts) or a
 * group of REST capabilities. The pool holds these; nothing above it knows which kind it talks to.
 */
export interface ToolSource {
  readonly name: string;
  readonly description?: string;
  /** Identifies the configuration; a reload replaces a source whose fingerprint changed. */
  readonly fingerprint: string;
  /** The cached tool list; undefined until it was fetched once. */
  readonly cachedTools: readonly Tool[] | undefined;
  /** True while a call is in flight. */
  readonly busy: boolean;
  status(): SourceStatus;
  /** The tool list, from the cache or by starting the source. Throws BackendUnavailableError. */
  listTools(): Promise<readonly Tool[]>;
  /**
   * While a source that failed backs off: milliseconds until it may be started again (listTools
   * rejects at once until then). 0 when a start may be tried now. Sources that cannot fail to start omit it.
   */
  restartDelayMs?(): number;
  /** One tools/call; the result comes back as the source produced it. Throws the errors below. */
  callTool(name: string, args: Record<string, unknown> | undefined, options?: CallOptions): Promise<CallToolResult>;
  /** Taken out of the pool by a reload: it may finish admitted calls, and is never started again. */
  retire?(): void;
  stop(): Promise<void>;

  // Resources, prompts and completion: optional; a source without them has none (REST capabilities).
  /** The cached lists; undefined until fetched once (an MCP backend fetches them when it starts). */
  readonly cachedResources?: readonly Resource[] | undefined;
  readonly cachedResourceTemplates?: readonly ResourceTemplateType[] | undefined;
  readonly cachedPrompts?: readonly Prompt[] | undefined;
  /** From the cache, or by starting the source; every page. Throws BackendUnavailableError. */
  listResources?(): Promise<readonly Resource[]>;
  listResourceTemplates?(): Promise<readonly ResourceTemplateType[]>;
  listPrompts?(): Promise<readonly Prompt[]>;
  /** resources/read, prompts/get and completion/complete pass the same failsafes as callTool. */
  readResource?(uri: string, options?: CallOptions): Promise<ReadResourceResult>;
  getPrompt?(name: string, args: Record<string, string> | undefined, options?: CallOptions): Promise<GetPromptResult>;
  complete?(params: CompleteRequestParams, options?: CallOptions): Promise<CompleteResult>;
  /** Does the source accept resources/subscribe? */
  canSubscribe?(): boolean;
  subscribeResource?(uri: string, on: boolean): Promise<void>;
}

export type ListKind = 'tools' | 'resources' | 'prompts';

/** The requests a backend may send its client (relayed to the gateway's client). */
export type ServerRequestMethod = 'sampling/createMessage' | 'elicitation/create' | 'roots/list';
/** A backend's notifications/message. */
export interface LogParams {
  level: string;
  logger?: string;
  data: unknown;
}

/**
 * Where a backend's requests and log messages go while a call runs: to the client whose call it is.
 * `request` rejects with an Error carrying a JSON-RPC `code` when that client cannot answer.
 */
export interface ServerRequestRelay {
  request(method: ServerRequestMethod, params: unknown, signal: AbortSignal): Promise<unknown>;
  log(params: LogParams): void;
  /**
   * Set when the client speaks the 2026-07-28 multi-round-trip itself (a passthrough front): a backend
   * connected in that era gets these with the request, and its `input_required` result comes back as it
   * was sent instead of being answered here, so the backend's own keys and requestState reach the client.
   */
  rounds?: RoundTrip;
  /**
   * Set by a passthrough front for a 2025-era caller: an HTTP backend connected in the 2026 era is asked
   * over a second, 2025-era session, so its sampling, elicitation and roots come as real requests.
   */
  legacyCaller?: boolean;
}

/** What a 2026-07-28 retry carries back to the server that asked: the answers and its requestState, verbatim. */
export interface RoundTrip {
  inputResponses?: Record<string, unknown>;
  requestState?: string;
  /** The client's own envelope keys (its capabilities, its log level), sent in place of the gateway's. */
  envelope?: Record<string, unknown>;
  /**
   * Set by the backend when it answered such a request with a JSON-RPC error (e.g. a requestState it did
   * not sign): the passthrough answers with that error, as the client would get it directly.
   */
  refused?: { code: number; message: string; data?: unknown };
}

export type SourceState = 'idle' | 'starting' | 'ready' | 'error';

export interface SourceStatus {
  name: string;
  description?: string;
  transport: string;
  state: SourceState;
  /** null until the tool list was fetched once. */
  tools: number | null;
  /** Resource and prompt counts: null until listed, absent for a source that has none (REST capabilities). */
  resources?: number | null;
  prompts?: number | null;
  circuit: 'closed' | 'open' | 'half-open';
  error?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Who is calling (a session id or principal): when calls wait for a backend, callers are served in turn. */
  caller?: string;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Receives the backend's sampling, elicitation and roots requests and its log messages during the call. */
  relay?: ServerRequestRelay;
}

/** An Error with a JSON-RPC code: what a backend gets back when its request cannot be relayed. */
export class RelayError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'RelayError';
  }
}

/** The source cannot be started or cannot list its tools; nothing was sent. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly reason: string,
    /** The failed start this comes from: callers it failed together count as one fault. */
    readonly incident?: object,
  ) {
    super(`server "${backend}" is unavailable: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

/** The call ran longer than the source's timeout (a cancellation was sent). */
export class CallTimeoutError extends Error {
  constructor(
    readonly backend: string,
    readonly timeoutMs: number,
  ) {
    super(`${backend}: the call timed out after ${timeoutMs} ms (a cancellation was sent to the server)`);
    this.name = 'CallTimeoutError';
  }
}

/** The connection died during the call (a crashed child, a dropped HTTP session). */
export class ConnectionLostError extends Error {
  constructor(
    readonly backend: string,
    cause: string,
    readonly stderrTail: string,
    /** The connection that died: every call it took down counts as one fault. */
    readonly incident?: object,
  ) {
    const detail = stderrTail ? `\nLast stderr lines:\n${stderrTail}` : '';
    super(`${backend} failed during the call: ${cause}; it restarts on next use.${detail}`);
    this.name = 'ConnectionLostError';
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'number' ? `${error.message} (code ${code})` : error.message;
  }
  return String(error);
}
