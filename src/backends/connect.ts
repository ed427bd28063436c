import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Client, Prompt, Resource, ResponseCacheStore, Tool } from '@modelcontextprotocol/client';
import type { BackendConfig, HttpBackendConfig, StdioBackendConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { LogParams, ServerRequestMethod } from '../sources/source.js';
import { type ClientSdkModule, loadClientSdk } from './client-sdk.js';
import { perRequestSignals } from './fetch-signal.js';
import { type BackendWatchdog, isAlive, processTree, terminate } from './process.js';

/** The SDK client and transport for one live backend connection. */
export interface Connection {
  client: Client;
  /** Which transport actually carries the session (after any SSE fallback). */
  transport: 'stdio' | 'streamable-http' | 'sse';
  /** Child process id, for stdio backends. */
  pid?: number;
  /** Close the session; for stdio, end stdin, then signal the child's whole process tree if it lingers. */
  close(): Promise<void>;
  /** After an unexpected exit: end whatever the dead child left behind (e.g. an npx grandchild). */
  reapOrphans(): Promise<void>;
  /** Resolves once the child's stderr has ended (at once for HTTP), so a crash report holds its last lines. */
  stderrEnded: Promise<void>;
}

/** How long a stdio child may take to exit after its stdin closes, and then after SIGTERM. */
const STDIN_GRACE_MS = 1_000;
const TERM_GRACE_MS = 1_500;

export interface ConnectHooks {
  logger: Logger;
  /** The backend's full tool list changed (already re-fetched over every page). */
  onToolsChanged: (tools: Tool[]) => void;
  /** The backend's resource or prompt list changed (re-fetched over every page). */
  onResourcesChanged: (resources: Resource[]) => void;
  onPromptsChanged: (prompts: Prompt[]) => void;
  /** notifications/resources/updated for a subscribed URI. */
  onResourceUpdated: (uri: string) => void;
  /** A sampling, elicitation or roots request from the backend; rejects with an Error carrying a JSON-RPC `code`. */
  onServerRequest: (method: ServerRequestMethod, params: unknown, signal: AbortSignal) => Promise<unknown>;
  /** notifications/message from the backend. */
  onLog: (params: LogParams) => void;
  /** The connection ended (child exited, HTTP session closed, or we closed it). */
  onClosed: () => void;
  /** One line the stdio child wrote to stderr. */
  onStderrLine: (line: string) => void;
  /** Kills registered process trees if the gateway dies. */
  watchdog: BackendWatchdog;
}

const clientInfo = { name: 'meta-mcp-gateway', version: '0.1.0' };

const SERVER_REQUESTS: ServerRequestMethod[] = ['sampling/createMessage', 'elicitation/create', 'roots/list'];

/**
 * What the gateway tells backends it can do: it relays sampling, elicitation and roots to the client
 * whose call caused the request (and answers with an error when that client cannot).
 */
const RELAYED_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} };

/**
 * A response cache that keeps nothing. Each Backend keeps its tool list itself, and calls go through
 * request(), or callTool() given the tool's definition; neither reads the SDK's cache. The default store
 * would hold a second copy of every list as JSON, ~2 MiB at 10,000 tools.
 */
const keepNothing: ResponseCacheStore = {
  get: () => undefined,
  // A stamp only tells derived views an entry changed; with no entry ever read back, any number does.
  set: () => 0,
  delete: () => {},
  evict: () => {},
  clear: () => {},
};

function newClient(sdk: ClientSdkModule, name: string, hooks: ConnectHooks, negotiation: 'legacy' | 'auto'): Client {
  const client = new sdk.Client(clientInfo, {
    capabilities: RELAYED_CAPABILITIES,
    responseCacheStore: keepNothing,
    // Stdio backends stay on the 2025 handshake: an `auto` probe spawns a second, throwaway child.
    versionNegotiation: { mode: negotiation },
    listChanged: {
      tools: {
        debounceMs: 100,
        onChanged: (error, tools) => {
          if (error) hooks.logger.warn({ backend: name, err: error.message }, 'refetching tools after list_changed failed');
          else if (tools) hooks.onToolsChanged(tools);
        },
      },
      resources: {
        debounceMs: 100,
        onChanged: (error, resources) => {
          if (error) hooks.logger.warn({ backend: name, err: error.message }, 'refetching resources after list_changed failed');
          else if (resources) hooks.onResourcesChanged(resources);
        },
      },
      prompts: {
        debounceMs: 100,
        onChanged: (error, prompts) => {
          if (error) hooks.logger.warn({ backend: name, err: error.message }, 'refetching prompts after list_changed failed');
          else if (prompts) hooks.onPromptsChanged(prompts);
        },
      },
    },
  });
  for (const method of SERVER_REQUESTS) {
    client.setRequestHandler(method, async (request, ctx) => {
      try {
        return (await hooks.onServerRequest(method, request.params, ctx.mcpReq.signal)) as never;
      } catch (error) {
        // The backend gets a JSON-RPC error with our reason, never a hang.
        const code = typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -32603;
        throw new sdk.ProtocolError(code, error instanceof Error ? error.message : String(error));
      }
    });
  }
  client.setNotificationHandler('notifications/message', (notification) => hooks.onLog(notification.params));
  client.setNotificationHandler('notifications/resources/updated', (notification) => hooks.onResourceUpdated(notification.params.uri));
  client.onclose = hooks.onClosed;
  return client;
}

/**
 * Connect to one backend with the SDK transport its config names. HTTP backends negotiate their era
 * (`auto`) unless `era` is `legacy`: a second, 2025-era session for 2025 callers of a passthrough.
 */
export async function connectBackend(
  name: string,
  config: BackendConfig,
  hooks: ConnectHooks,
  signal: AbortSignal,
  era: 'auto' | 'legacy' = 'auto',
): Promise<Connection> {
  const sdk = await loadClientSdk();
  return config.kind === 'stdio' ? connectStdio(sdk, name, config, hooks, signal) : connectHttp(sdk, name, config, hooks, signal, era);
}

/** Did this connection negotiate 2026-07-28 or later (revisions are dates, so they compare as strings)? */
export function isModernEra(connection: Connection): boolean {
  const version = connection.client.getNegotiatedProtocolVersion();
  return version !== undefined && version >= '2026-07-28';
}

async function connectStdio(
  sdk: ClientSdkModule,
  name: string,
  config: StdioBackendConfig,
  hooks: ConnectHooks,
  signal: AbortSignal,
): Promise<Connection> {
  // The SDK gives the child a minimal environment (HOME, PATH, SHELL, TERM, USER, ...) plus `env`.
  const transport = new sdk.StdioClientTransport({
    command: config.command,
    args: config.args,
    env: config.env,
    cwd: config.cwd,
    stderr: 'pipe',
  });
  const stderr = transport.stderr as Readable | null;
  let stderrEnded = Promise.resolve();
  if (stderr) {
    const lines = createInterface({ input: stderr, crlfDelay: Number.POSITIVE_INFINITY }).on('line', hooks.onStderrLine);
    stderrEnded = new Promise((resolve) => lines.once('close', () => resolve()));
  }
  const client = newClient(sdk, name, hooks, 'legacy');
  const abandon = async () => {
    const tree = transport.pid ? processTree(transport.pid) : [];
    await Promise.race([transport.close(), delay(STDIN_GRACE_MS)]);
    await terminate(tree, TERM_GRACE_MS);
  };
  await withAbort(client.connect(transport), signal, abandon);
  const pid = transport.pid ?? undefined;
  // The tree as it stands once the server answers (launcher, shell, server), known to the watchdog.
  const tree = pid ? processTree(pid) : [];
  for (const p of tree) hooks.watchdog.track(p);
  const forget = () => {
    for (const p of tree) hooks.watchdog.untrack(p);
  };
  return {
    client,
    transport: 'stdio',
    pid,
    stderrEnded,
    close: async () => {
      const current = pid && isAlive(pid) ? processTree(pid) : [];
      const all = [...new Set([...tree, ...current])];
      const closed = client.close().catch(() => {});
      await Promise.race([closed, delay(STDIN_GRACE_MS)]);
      await terminate(all, TERM_GRACE_MS);
      await closed;
      forget();
    },
    reapOrphans: async () => {
      await terminate(tree, TERM_GRACE_MS);
      forget();
    },
  };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function httpConnection(client: Client, transport: 'streamable-http' | 'sse'): Connection {
  return { client, transport, close: () => client.close().catch(() => {}), reapOrphans: async () => {}, stderrEnded: Promise.resolve() };
}

async function connectHttp(
  sdk: ClientSdkModule,
  name: string,
  config: HttpBackendConfig,
  hooks: ConnectHooks,
  signal: AbortSignal,
  era: 'auto' | 'legacy',
): Promise<Connection> {
  const url = new URL(config.url);
  const requestInit = { headers: config.headers };
  if (config.transport !== 'sse') {
    const transport = new sdk.StreamableHTTPClientTransport(url, { requestInit, fetch: perRequestSignals() });
    const client = newClient(sdk, name, hooks, era);
    try {
      await withAbort(client.connect(transport), signal, () => transport.close());
      return httpConnection(client, 'streamable-http');
    } catch (error) {
      // A legacy HTTP+SSE server answers a Streamable HTTP POST with a 4xx: retry over SSE.
      const status = error instanceof sdk.SdkHttpError ? error.status : undefined;
      const refused = status !== undefined && status >= 400 && status < 500;
      if (config.transport === 'streamable-http' || !refused || signal.aborted) throw error;
      await transport.close().catch(() => {});
      hooks.logger.info({ backend: name, status }, 'Streamable HTTP refused; trying legacy SSE');
    }
  }
  const transport = new sdk.SSEClientTransport(url, {
    requestInit,
    // The SSE GET stream needs the same headers (e.g. Authorization) as the POSTs.
    eventSourceInit: { fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...config.headers } }) },
  });
  const client = newClient(sdk, name, hooks, 'legacy');
  await withAbort(client.connect(transport), signal, () => transport.close());
  return httpConnection(client, 'sse');
}

/** Settle with `work`, or reject when `signal` aborts; on any failure close what was half-opened. */
async function withAbort<T>(work: Promise<T>, signal: AbortSignal, cleanup: () => Promise<void>): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => {}); // it may still reject after an abort won the race
  try {
    return await Promise.race([work, aborted]);
  } catch (error) {
    await cleanup().catch(() => {});
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
