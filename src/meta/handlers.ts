import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import { BusyError, CircuitOpenError, RateLimitedError } from '../sources/failsafes.js';
import type { BackendPool } from '../backends/pool.js';
import { BackendUnavailableError, CallTimeoutError, ConnectionLostError, describeError, type ToolSource } from '../sources/source.js';
import type { ToolIndex } from '../search/rank.js';
import { trimDescription } from '../search/present.js';
import { suggest } from '../search/suggest.js';
import type { InvokeInput, ListToolsInput, SearchToolsInput } from './definitions.js';
import { failure, structured } from './results.js';
import type { z } from 'zod';

/** What the meta-tools work with: the backend pool and the search index over its cached tools. */
export interface MetaContext {
  pool: BackendPool;
  index: ToolIndex;
}

/** What an `invoke` carries from the front request to the backend. */
export interface ForwardOptions {
  signal?: AbortSignal;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
}

const DEFAULT_SEARCH_LIMIT = 8;
/** Reserved key every 2026-era server stamps on its results; ours replaces the backend's. */
const SERVER_INFO_META_KEY = 'io.modelcontextprotocol/serverInfo';

export async function listServers({ pool }: MetaContext): Promise<CallToolResult> {
  return structured({ servers: await serverStatuses(pool) });
}

/** Statuses after every backend was asked for its tool list (so counts are real, errors current). */
async function serverStatuses(pool: BackendPool) {
  await pool.catalog();
  return pool.all().map((b) => b.status());
}

export async function listTools({ pool }: MetaContext, args: z.infer<typeof ListToolsInput>): Promise<CallToolResult> {
  const backend = pool.get(args.server);
  if (!backend) return unknownServer(pool, args.server);
  try {
    const tools = await backend.listTools();
    return structured({
      server: backend.name,
      tools: tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), inputSchema: t.inputSchema })),
    });
  } catch (error) {
    return unavailable(error, backend);
  }
}

export async function searchTools({ pool, index }: MetaContext, args: z.infer<typeof SearchToolsInput>): Promise<CallToolResult> {
  let only: ToolSource[] | undefined;
  if (args.server) {
    const backend = pool.get(args.server);
    if (!backend) return unknownServer(pool, args.server);
    only = [backend];
  }
  // Backends whose tools were never listed are started now; the index follows their lists.
  const catalog = await pool.catalog(only);
  const unavailableServers = catalog.filter((e) => 'error' in e && !e.source.cachedTools).map((e) => e.source.name);
  const hits = index.search(args.query, { limit: args.limit ?? DEFAULT_SEARCH_LIMIT, server: args.server });
  const data: Record<string, unknown> = {
    results: hits.map((hit) => ({
      server: hit.server,
      tool: hit.tool,
      ...(hit.doc.description ? { description: trimDescription(hit.doc.description) } : {}),
      score: hit.score,
      inputSchema: hit.doc.inputSchema ?? { type: 'object' },
    })),
  };
  if (unavailableServers.length > 0) data.unavailable = unavailableServers;
  if (hits.length === 0) {
    data.hint = `No tool matched "${args.query}". Try other words (what the tool does, not its name), or browse with list_servers and list_tools.`;
  }
  return structured(data);
}

export async function invoke({ pool }: MetaContext, args: z.infer<typeof InvokeInput>, options: ForwardOptions): Promise<CallToolResult> {
  const backend = pool.get(args.server);
  if (!backend) return unknownServer(pool, args.server, args.tool);

  // Check the name against the tool list BEFORE anything is sent.
  let tools: readonly Tool[];
  try {
    tools = await backend.listTools();
  } catch (error) {
    return unavailable(error, backend);
  }
  if (!tools.some((t) => t.name === args.tool)) return unknownTool(pool, backend, tools, args.tool);

  try {
    const result = await backend.callTool(args.tool, args.arguments, options);
    return withoutBackendServerInfo(result);
  } catch (error) {
    if (options.signal?.aborted) throw error; // the client cancelled; nobody is waiting for a result
    return forwardFailure(error, backend);
  }
}

function forwardFailure(error: unknown, backend: ToolSource): CallToolResult {
  if (error instanceof BackendUnavailableError) return unavailable(error, backend);
  if (error instanceof BusyError) return failure('busy', error.message, { server: backend.name });
  if (error instanceof RateLimitedError)
    return failure('rate_limited', error.message, { server: backend.name, retry_after_ms: error.retryAfterMs });
  if (error instanceof CircuitOpenError)
    return failure('circuit_open', error.message, { server: backend.name, retry_after_ms: error.retryAfterMs });
  if (error instanceof CallTimeoutError) return failure('timeout', error.message, { server: backend.name });
  if (error instanceof ConnectionLostError) return failure('backend_unavailable', error.message, { server: backend.name });
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') {
    return failure('backend_error', `${backend.name} answered with an error: ${describeError(error)}`, {
      server: backend.name,
      rpcCode: code,
    });
  }
  return failure('backend_error', `${backend.name} failed: ${describeError(error)}`, { server: backend.name });
}

function withoutBackendServerInfo(result: CallToolResult): CallToolResult {
  const meta = result._meta as Record<string, unknown> | undefined;
  if (!meta || !(SERVER_INFO_META_KEY in meta)) return result;
  const { [SERVER_INFO_META_KEY]: _dropped, ...rest } = meta;
  const { _meta: _old, ...withoutMeta } = result;
  return Object.keys(rest).length > 0 ? { ...withoutMeta, _meta: rest } : withoutMeta;
}

function unknownServer(pool: BackendPool, server: string, tool?: string): CallToolResult {
  const suggestions = suggest(server, pool.names());
  // A model sometimes puts the tool name in `server`; say where that name lives if we know.
  const owners = tool === undefined ? ownersOf(pool, server) : [];
  const hint = suggestions.length > 0 ? ` Did you mean ${quoteList(suggestions)}?` : '';
  const ownerHint = owners.length > 0 ? ` "${server}" is a tool on ${quoteList(owners)}.` : '';
  return failure('unknown_server', `Unknown server "${server}".${hint}${ownerHint} Servers: ${quoteList(pool.names())}.`, {
    suggestions,
    ...(owners.length > 0 ? { tool_on: owners } : {}),
  });
}

function unknownTool(pool: BackendPool, backend: ToolSource, tools: readonly Tool[], tool: string): CallToolResult {
  const suggestions = suggest(
    tool,
    tools.map((t) => t.name),
  );
  const elsewhere = ownersOf(pool, tool).filter((name) => name !== backend.name);
  const hint = suggestions.length > 0 ? ` Did you mean ${quoteList(suggestions)}?` : '';
  const other = elsewhere.length > 0 ? ` A tool named "${tool}" exists on ${quoteList(elsewhere)}.` : '';
  return failure('unknown_tool', `Server "${backend.name}" has no tool "${tool}".${hint}${other}`, {
    suggestions,
    ...(elsewhere.length > 0 ? { available_on: elsewhere } : {}),
  });
}

/** Servers whose cached tool list has a tool of exactly this name (nothing is started to find out). */
function ownersOf(pool: BackendPool, tool: string): string[] {
  return pool
    .all()
    .filter((b) => b.cachedTools?.some((t) => t.name === tool))
    .map((b) => b.name);
}

function unavailable(error: unknown, backend: ToolSource): CallToolResult {
  const reason = error instanceof BackendUnavailableError ? error.reason : describeError(error);
  return failure('backend_unavailable', `Server "${backend.name}" is unavailable: ${reason}. The next request retries it.`, {
    server: backend.name,
  });
}

function quoteList(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}
