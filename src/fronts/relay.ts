import { randomUUID } from 'node:crypto';
import {
  type ClientCapabilities,
  type InputRequiredResult,
  inputRequired,
  ProtocolError,
  ProtocolErrorCode,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { type CallOptions, RelayError, type RoundTrip, type ServerRequestRelay } from '../sources/source.js';

type RelayedMethod = Parameters<ServerRequestRelay['request']>[0];

/** How long a backend's request waits for the client to come back with its answer. */
export const ANSWER_TIMEOUT_MS = 120_000;
/** Log messages kept while no front request is open to carry them. */
const MAX_BUFFERED_LOGS = 100;
const STATE_PREFIX = 'mcpgw-relay:';
const CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
const LOG_LEVEL = 'io.modelcontextprotocol/logLevel';

interface Asked {
  method: RelayedMethod;
  params: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** The front request currently open for a conversation: what carries logs and progress now. */
interface Round {
  ctx: ServerContext;
  capabilities: ClientCapabilities | undefined;
  sent: Promise<void>[];
}

/**
 * One forwarded call (tools/call, prompts/get, resources/read) and the requests its backend sends while
 * it runs. A backend request is handed to the client as an `input_required` result (2026-07-28
 * multi-round-trip); the client's retry carries the answer back. On 2025-era sessions the SDK's legacy
 * shim turns the same result into real server-to-client requests on the request's stream, so one path
 * serves both eras. The backend call keeps running between rounds; its state lives here, in memory.
 */
class Conversation {
  readonly id = `${STATE_PREFIX}${randomUUID()}`;
  readonly abort = new AbortController();
  private queue: Asked[] = [];
  private outstanding = new Map<string, Asked>();
  private logs: Array<{ level: string; logger?: string; data: unknown }> = [];
  private done?: { ok: true; value: unknown } | { ok: false; error: unknown };
  private wake?: () => void;
  private round?: Round;
  /** The latest round's client capabilities: asked before any round is open, they decide for the backend. */
  private capabilities: ClientCapabilities | undefined;
  private seq = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly owner: string,
    private readonly onEnd: () => void,
    rounds?: RoundTrip | 'legacy',
  ) {
    if (rounds === 'legacy') this.relay.legacyCaller = true;
    else if (rounds) this.relay.rounds = rounds;
  }

  readonly relay: ServerRequestRelay = {
    request: (method, params, signal) => {
      const missing = missingCapability(method, params, this.capabilities);
      if (missing) return Promise.reject(new RelayError(-32601, `The client of this call cannot answer ${method}: ${missing}.`));
      return new Promise((resolve, reject) => {
        const asked: Asked = { method, params, resolve, reject };
        signal.addEventListener('abort', () => {
          this.queue = this.queue.filter((a) => a !== asked);
          reject(new RelayError(-32800, 'cancelled'));
        });
        this.queue.push(asked);
        this.wake?.();
      });
    },
    log: (params) => {
      if (this.round) this.sendLog(this.round, params);
      else if (this.logs.length < MAX_BUFFERED_LOGS) this.logs.push(params);
    },
  };

  start<R>(run: (options: CallOptions) => Promise<R>): void {
    const options: CallOptions = {
      signal: this.abort.signal,
      relay: this.relay,
      onprogress: (progress) => {
        const round = this.round;
        const token = round?.ctx.mcpReq._meta?.progressToken;
        if (!round || token === undefined) return;
        round.sent.push(
          round.ctx.mcpReq.notify({ method: 'notifications/progress', params: { ...progress, progressToken: token } }).catch(() => {}),
        );
      },
    };
    run(options).then(
      (value) => this.finish({ ok: true, value }),
      (error: unknown) => this.finish({ ok: false, error }),
    );
  }

  /** A retry arrived: hand each backend request its answer. */
  answer(responses: Record<string, unknown>): void {
    clearTimeout(this.timer);
    for (const [key, asked] of this.outstanding) {
      if (key in responses) asked.resolve(responses[key]);
      else asked.reject(new RelayError(-32603, `The client retried without an answer to ${asked.method}.`));
    }
    this.outstanding.clear();
  }

  /** True while a front request is being served for this call (a second retry of one requestState is refused). */
  get serving(): boolean {
    return this.round !== undefined;
  }

  /** Serve one front request: until the call ends (its result) or the backend asks something (input_required). */
  async serve(ctx: ServerContext, capabilities: ClientCapabilities | undefined): Promise<unknown> {
    const round: Round = { ctx, capabilities, sent: [] };
    this.round = round;
    this.capabilities = capabilities;
    for (const params of this.logs.splice(0)) this.sendLog(round, params);
    const cancel = () => this.abort.abort(ctx.mcpReq.signal.reason);
    ctx.mcpReq.signal.addEventListener('abort', cancel);
    try {
      while (!this.done && this.queue.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    } finally {
      ctx.mcpReq.signal.removeEventListener('abort', cancel);
      this.wake = undefined;
      this.round = undefined;
      // Every progress and log notification goes out before the result, so none arrives after it.
      await Promise.allSettled(round.sent);
    }
    if (this.done) {
      this.onEnd();
      if (this.done.ok) return this.done.value;
      throw this.done.error;
    }
    const inputRequests: Record<string, { method: RelayedMethod; params: unknown }> = {};
    for (const asked of this.queue.splice(0)) {
      const key = `r${++this.seq}`;
      this.outstanding.set(key, asked);
      inputRequests[key] = { method: asked.method, params: asked.params };
    }
    this.timer = setTimeout(() => this.giveUp(), ANSWER_TIMEOUT_MS).unref();
    return inputRequired({ inputRequests: inputRequests as InputRequiredResult['inputRequests'], requestState: this.id });
  }

  private finish(done: NonNullable<Conversation['done']>): void {
    this.done = done;
    if (this.wake) this.wake();
    // Nobody is waiting (the client went away between rounds): forget the call after the answer timeout.
    else this.timer = setTimeout(() => this.onEnd(), ANSWER_TIMEOUT_MS).unref();
  }

  /** The client never came back: the backend's requests fail and the call is cancelled. */
  private giveUp(): void {
    for (const asked of this.outstanding.values())
      asked.reject(new RelayError(-32603, `The client did not answer ${asked.method} within ${ANSWER_TIMEOUT_MS / 1000} s.`));
    this.outstanding.clear();
    this.abort.abort(new Error('the client did not come back'));
    this.onEnd();
  }

  private sendLog(round: Round, params: { level: string; logger?: string; data: unknown }): void {
    const level = params.level as Parameters<ServerContext['mcpReq']['log']>[0];
    round.sent.push(round.ctx.mcpReq.log(level, params.data, params.logger).catch(() => {}));
  }
}

/** The conversations in flight, by their requestState (one store per gateway: any front's retry finds its call). */
export class Conversations {
  private readonly open = new Map<string, Conversation>();

  get size(): number {
    return this.open.size;
  }

  /**
   * Run `call` for the front request in `ctx` (or continue the call its requestState names), relaying
   * the backend's requests to this client. `owner` is the principal: only it may continue the call.
   * `verbatim` (a passthrough): a 2026-07-28 request's rounds go to the backend as they are (see RoundTrip).
   */
  async run<R>(
    server: Server,
    ctx: ServerContext,
    owner: string,
    call: (options: CallOptions) => Promise<R>,
    verbatim = false,
  ): Promise<R | InputRequiredResult> {
    const state = ctx.mcpReq.requestState<unknown>();
    let conversation: Conversation | undefined;
    if (typeof state === 'string' && state.startsWith(STATE_PREFIX)) {
      conversation = this.open.get(state);
      if (!conversation || conversation.owner !== owner)
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          'Unknown or expired requestState: the call it continues has ended, or ran on another gateway replica.',
        );
      // One request at a time continues a call: a concurrent retry with the same state would wait forever.
      if (conversation.serving)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'This requestState is already being continued by another request.');
      conversation.answer(ctx.mcpReq.inputResponses ?? {});
    } else {
      const created = new Conversation(owner, () => this.open.delete(created.id), verbatim ? roundTrip(ctx) : undefined);
      this.open.set(created.id, created);
      created.start(call);
      conversation = created;
    }
    return (await conversation.serve(ctx, clientCapabilities(server, ctx))) as R | InputRequiredResult;
  }
}

/** The retry fields of a 2026-07-28 request (one with an envelope); `legacy` for a 2025-era request. */
function roundTrip(ctx: ServerContext): RoundTrip | 'legacy' {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  if (!envelope) return 'legacy';
  const state = ctx.mcpReq.requestState<unknown>();
  // What the backend may ask depends on what this client declared, so it sees this client's capabilities.
  const passed = Object.entries(envelope).filter(([key]) => key === CLIENT_CAPABILITIES || key === LOG_LEVEL);
  return {
    envelope: Object.fromEntries(passed),
    ...(ctx.mcpReq.inputResponses ? { inputResponses: ctx.mcpReq.inputResponses } : {}),
    ...(typeof state === 'string' ? { requestState: state } : {}),
  };
}

/** A 2026-07-28 request carries the client's capabilities in its envelope; a 2025 session declared them at initialize. */
function clientCapabilities(server: Server, ctx: ServerContext): ClientCapabilities | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const perRequest = envelope?.[CLIENT_CAPABILITIES] as ClientCapabilities | undefined;
  return perRequest ?? server.getClientCapabilities();
}

/** Why the client cannot answer this request, or undefined when it declared what it needs. */
function missingCapability(method: RelayedMethod, params: unknown, capabilities: ClientCapabilities | undefined): string | undefined {
  if (!capabilities) return 'it did not declare its capabilities (a 2025-era request without a session cannot be asked anything)';
  if (method === 'sampling/createMessage') return capabilities.sampling ? undefined : 'it did not declare the sampling capability';
  if (method === 'roots/list') return capabilities.roots ? undefined : 'it did not declare the roots capability';
  const elicitation = capabilities.elicitation as { form?: object; url?: object } | undefined;
  if (!elicitation) return 'it did not declare the elicitation capability';
  const mode = (params as { mode?: string } | undefined)?.mode ?? 'form';
  if (mode === 'url' && !elicitation.url) return 'it did not declare URL-mode elicitation';
  return undefined;
}
