import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { Principal } from '../access/principal.js';
import type { CatalogView } from '../access/view.js';
import { InvalidArgumentsError } from '../capabilities/validate.js';
import type { LimitsConfig } from '../config/schema.js';
import type { EventBus } from '../observe/events.js';
import { cutWeak, trimDescription } from '../search/present.js';
import { refineSearch } from '../search/rank.js';
import { compactSchema } from '../search/schema-compact.js';
import { closestServers } from '../search/servers.js';
import { suggest } from '../search/suggest.js';
import { BusyError, CircuitOpenError, RateLimitedError } from '../sources/failsafes.js';
import {
  BackendUnavailableError,
  CallTimeoutError,
  ConnectionLostError,
  describeError,
  type ServerRequestRelay,
  type SourceStatus,
  type ToolSource,
} from '../sources/source.js';
import type { InvokeInput, ListToolsInput, SearchToolsInput } from './definitions.js';
import { failure, failureCode, structured } from './results.js';

/** What one meta-tool call works with: the caller's view of the catalog and the gateway's bounds. */
export interface MetaCall {
  view: CatalogView;
  limits: LimitsConfig;
  events: EventBus;
  /** The caller's own limit on invoke; answers ms until a call is admitted, or undefined. */
  invokeLimiter?: { check(principal: Principal): number | undefined | Promise<number | undefined> };
  forward: ForwardOptions;
}

/** What an `invoke` carries from the front request to the backend. */
export interface ForwardOptions {
  signal?: AbortSignal;
  /** Who is waiting (session id, else principal): a backend's queue serves callers in turn. */
  caller?: string;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Where the backend's sampling, elicitation and roots requests and log messages go during the call. */
  relay?: ServerRequestRelay;
}

export const DEFAULT_SEARCH_LIMIT = 5;
/** A search result's description: its lead, at most this long (what decides the choice; the rest is usage notes). */
const SEARCH_DESCRIPTION_CHARS = 200;
/**
 * Below this top score no hit is convincing (on the model-written eval queries, 90% of right first
 * hits score above 0.26): the answer then names the closest servers too.
 */
const CONVINCING_SCORE = 0.2;
/**
 * How long list_servers and search_tools wait for backends whose tools were never listed. Past it they
 * answer from what is indexed and name the rest as unavailable with their state; the starts go on.
 */
export const CATALOG_WAIT_MS = 750;
/** Reserved key every 2026-era server stamps on its results; ours replaces the backend's. */
const SERVER_INFO_META_KEY = 'io.modelcontextprotocol/serverInfo';

export async function listServers({ view }: MetaCall): Promise<CallToolResult> {
  await view.catalog(undefined, { waitMs: CATALOG_WAIT_MS });
  return structured({ servers: view.sources().map((source) => view.status(source)) });
}

export async function listTools({ view }: MetaCall, args: z.infer<typeof ListToolsInput>): Promise<CallToolResult> {
  const source = view.get(args.server);
  if (!source) return unknownServer(view, args.server);
  try {
    const tools = view.visibleTools(source, await source.listTools());
    return structured({ server: source.name, tools: tools.map(presentTool) });
  } catch (error) {
    return unavailable(error, source);
  }
}

export async function searchTools(call: MetaCall, args: z.infer<typeof SearchToolsInput>): Promise<CallToolResult> {
  const started = performance.now();
  const result = await search(call, args);
  const results = ((result.structuredContent as { results?: unknown[] } | undefined)?.results ?? []).length;
  call.events.emit('search', { key: call.view.principal.name, duration_ms: performance.now() - started, results });
  return result;
}

async function search({ view, limits }: MetaCall, args: z.infer<typeof SearchToolsInput>): Promise<CallToolResult> {
  if (args.query.length > limits.max_query_chars) {
    return failure('invalid_arguments', `The query has ${args.query.length} characters; the limit is ${limits.max_query_chars}.`);
  }
  let only: ToolSource[] | undefined;
  if (args.server) {
    const source = view.get(args.server);
    if (!source) return unknownServer(view, args.server);
    only = [source];
  }
  // Backends never listed are started; what is not listed within the wait is named, and keeps starting.
  const catalog = await view.catalog(only, { waitMs: CATALOG_WAIT_MS });
  const unavailableServers = catalog
    .filter((entry) => 'error' in entry && !entry.source.cachedTools)
    .map((entry) => unavailableEntry(view.status(entry.source), 'error' in entry ? entry.error : undefined));
  const lexical = view.search(args.query, { limit: args.limit ?? DEFAULT_SEARCH_LIMIT, server: args.server });
  // With a semantic tier: the hybrid ranking if the query's vector comes in time, else these hits.
  const { hits: ranked, tier } = await refineSearch(lexical);
  const { hits, cut } = cutWeak(ranked);
  const data: Record<string, unknown> = {
    results: hits.map((hit) => ({
      server: hit.server,
      tool: hit.tool,
      ...(hit.doc.description ? { description: trimDescription(hit.doc.description, SEARCH_DESCRIPTION_CHARS) } : {}),
      score: hit.score,
      inputSchema: compactSchema(hit.doc.inputSchema ?? { type: 'object' }),
    })),
  };
  if (cut > 0) data.cut = cut;
  if (tier) data.tier = tier;
  if (unavailableServers.length > 0) data.unavailable = unavailableServers;
  if (hits.length === 0) {
    data.hint = `No tool matched "${args.query}". Try other words (what the tool does, not its name), or browse with list_servers and list_tools.`;
  }
  if (!args.server && (hits.length === 0 || hits[0]!.score < CONVINCING_SCORE)) {
    const servers = closestServers(args.query, view.sources(), ranked);
    if (servers.length > 0) {
      if (hits.length > 0) data.hint = 'No convincing match. These servers come closest; browse one with list_tools.';
      data.servers = servers.map((s) => ({ name: s.name, ...(s.description ? { description: s.description } : {}) }));
    }
  }
  // Right after the gateway starts, every backend may still be starting: say so, or the model concludes no tool exists.
  const starting = unavailableServers.filter((entry) => entry.state === 'starting').length;
  if (starting > 0) {
    const note = `${starting} server(s) still starting were not searched yet; search again in a moment.`;
    data.hint = data.hint ? `${note} ${data.hint}` : note;
  }
  return structured(data);
}

export async function invoke(call: MetaCall, args: z.infer<typeof InvokeInput>): Promise<CallToolResult> {
  const started = performance.now();
  let outcome = 'ok';
  let resultBytes: number | undefined;
  try {
    const result = await forward(call, args);
    outcome = result.isError ? (failureCode(result) ?? 'tool_error') : 'ok';
    resultBytes = Buffer.byteLength(JSON.stringify(result));
    return result;
  } catch (error) {
    outcome = call.forward.signal?.aborted ? 'cancelled' : 'gateway_error';
    throw error;
  } finally {
    call.events.emit('invoke', {
      time: new Date().toISOString(),
      key: call.view.principal.name,
      server: args.server,
      tool: args.tool,
      outcome,
      duration_ms: Math.round(performance.now() - started),
      arg_bytes: args.arguments === undefined ? 0 : Buffer.byteLength(JSON.stringify(args.arguments)),
      ...(resultBytes === undefined ? {} : { result_bytes: resultBytes }),
    });
  }
}

async function forward({ view, invokeLimiter, forward: options }: MetaCall, args: z.infer<typeof InvokeInput>): Promise<CallToolResult> {
  const retryAfterMs = await invokeLimiter?.check(view.principal);
  if (retryAfterMs !== undefined) {
    return failure('rate_limited', `Your key's invoke rate limit is reached; retry in ${Math.ceil(retryAfterMs / 1000)} s.`, {
      limit: 'key',
      retry_after_ms: retryAfterMs,
    });
  }
  const source = view.get(args.server);
  if (!source) return unknownServer(view, args.server, args.tool);

  // Check the name against the (visible) tool list BEFORE anything is sent.
  let tools: readonly Tool[];
  try {
    tools = view.visibleTools(source, await source.listTools());
  } catch (error) {
    return unavailable(error, source);
  }
  if (!tools.some((t) => t.name === args.tool)) return unknownTool(view, source, tools, args.tool);

  try {
    const result = await source.callTool(args.tool, args.arguments, options);
    return withoutBackendServerInfo(result);
  } catch (error) {
    if (options.signal?.aborted) throw error; // the client cancelled; nobody is waiting for a result
    return forwardFailure(error, source);
  }
}

function forwardFailure(error: unknown, source: ToolSource): CallToolResult {
  const server = source.name;
  if (error instanceof BackendUnavailableError) return unavailable(error, source);
  if (error instanceof BusyError) return failure('busy', error.message, { server });
  if (error instanceof RateLimitedError)
    return failure('rate_limited', error.message, { server, limit: 'backend', retry_after_ms: error.retryAfterMs });
  if (error instanceof CircuitOpenError) return failure('circuit_open', error.message, { server, retry_after_ms: error.retryAfterMs });
  if (error instanceof CallTimeoutError) return failure('timeout', error.message, { server });
  if (error instanceof ConnectionLostError) return failure('backend_unavailable', error.message, { server });
  if (error instanceof InvalidArgumentsError) return failure('invalid_arguments', error.message, { server, problems: error.problems });
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') {
    return failure('backend_error', `${server} answered with an error: ${describeError(error)}`, { server, rpcCode: code });
  }
  return failure('backend_error', `${server} failed: ${describeError(error)}`, { server });
}

/** A tool as list_tools shows it: what a model needs to choose and call it. */
function presentTool(tool: Tool) {
  return {
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    inputSchema: compactSchema(tool.inputSchema),
  };
}

function unavailableEntry(status: SourceStatus, error: string | undefined) {
  return { server: status.name, state: status.state, ...(error ? { error } : {}) };
}

function withoutBackendServerInfo(result: CallToolResult): CallToolResult {
  const meta = result._meta as Record<string, unknown> | undefined;
  if (!meta || !(SERVER_INFO_META_KEY in meta)) return result;
  const { [SERVER_INFO_META_KEY]: _dropped, ...rest } = meta;
  const { _meta: _old, ...withoutMeta } = result;
  return Object.keys(rest).length > 0 ? { ...withoutMeta, _meta: rest } : withoutMeta;
}

function unknownServer(view: CatalogView, server: string, tool?: string): CallToolResult {
  const names = view.names();
  const suggestions = suggest(server, names);
  // A model sometimes puts the tool name in `server`; say where that name lives if we know.
  const owners = tool === undefined ? view.ownersOf(server) : [];
  const hint = suggestions.length > 0 ? ` Did you mean ${quoteList(suggestions)}?` : '';
  const ownerHint = owners.length > 0 ? ` "${server}" is a tool on ${quoteList(owners)}.` : '';
  const known = names.length > 0 ? ` Servers: ${quoteList(names)}.` : ' No server is available to you.';
  return failure('unknown_server', `Unknown server "${server}".${hint}${ownerHint}${known}`, {
    suggestions,
    ...(owners.length > 0 ? { tool_on: owners } : {}),
  });
}

function unknownTool(view: CatalogView, source: ToolSource, tools: readonly Tool[], tool: string): CallToolResult {
  const suggestions = suggest(
    tool,
    tools.map((t) => t.name),
  );
  const elsewhere = view.ownersOf(tool).filter((name) => name !== source.name);
  const hint = suggestions.length > 0 ? ` Did you mean ${quoteList(suggestions)}?` : '';
  const other = elsewhere.length > 0 ? ` A tool named "${tool}" exists on ${quoteList(elsewhere)}.` : '';
  return failure('unknown_tool', `Server "${source.name}" has no tool "${tool}".${hint}${other}`, {
    suggestions,
    ...(elsewhere.length > 0 ? { available_on: elsewhere } : {}),
  });
}

function unavailable(error: unknown, source: ToolSource): CallToolResult {
  const reason = error instanceof BackendUnavailableError ? error.reason : describeError(error);
  return failure('backend_unavailable', `Server "${source.name}" is unavailable: ${reason}. The next request retries it.`, {
    server: source.name,
  });
}

function quoteList(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}
