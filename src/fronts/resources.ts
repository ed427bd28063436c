import {
  ProtocolError,
  ProtocolErrorCode,
  type Resource,
  type ResourceTemplateType,
  type Server,
  UriTemplate,
} from '@modelcontextprotocol/server';
import type { CatalogView } from '../access/view.js';
import type { ToolSource } from '../sources/source.js';
import { gatewayUri, parseGatewayUri } from './names.js';
import type { FrontLens, FrontRequest } from './scope.js';
import { unavailable } from './tools.js';

const RESOURCE_NOT_FOUND = -32002;

/**
 * resources/list, templates/list, read, subscribe and unsubscribe over the visible backends. Names follow
 * names.ts: a backend's URI as it is unless two visible backends list it, then `mcpgw://{server}/{uri}`.
 */
export function registerResources(server: Server, request: () => FrontRequest, subscriptions: FrontSubscriptions): void {
  server.setRequestHandler('resources/list', async () => {
    const front = request();
    const lists = await visibleLists(front, (source, view) => view.visibleResources(source, source.cachedResources ?? []));
    return {
      resources: qualifyCollisions(
        front,
        lists,
        (r) => r.uri,
        (r, uri) => ({ ...r, uri }),
      ) as Resource[],
    };
  });

  server.setRequestHandler('resources/templates/list', async () => {
    const front = request();
    const lists = await visibleLists(front, (source, view) => view.visibleTemplates(source, source.cachedResourceTemplates ?? []));
    return {
      resourceTemplates: qualifyCollisions(
        front,
        lists,
        (t) => t.uriTemplate,
        (t, uriTemplate) => ({ ...t, uriTemplate }),
      ) as ResourceTemplateType[],
    };
  });

  server.setRequestHandler('resources/read', async (read, ctx) => {
    const front = request();
    const target = resolveUri(front, read.params.uri);
    const source = target.source;
    if (!source.readResource) throw notFound(read.params.uri);
    return front.relay(ctx, async (options) => {
      try {
        return await source.readResource!(target.uri, options);
      } catch (error) {
        throw passOn(error);
      }
    });
  });

  server.setRequestHandler('resources/subscribe', async (subscribe) => {
    const target = resolveUri(request(), subscribe.params.uri);
    await subscriptions.add(target.source, target.uri, subscribe.params.uri);
    return {};
  });

  server.setRequestHandler('resources/unsubscribe', async (unsubscribe) => {
    const target = resolveUri(request(), unsubscribe.params.uri);
    await subscriptions.remove(target.source, target.uri);
    return {};
  });
}

/** A front server's resource subscriptions (2025 sessions and stdio): forwarded to the backend, updates relayed back. */
export interface FrontSubscriptions {
  add(source: ToolSource, uri: string, wireUri: string): Promise<void>;
  remove(source: ToolSource, uri: string): Promise<void>;
}

/**
 * Which backend a URI read by this front belongs to: the `mcpgw://` form; else the one visible backend
 * that lists it; else the backend whose result carried it as a link or embedded resource; else the one
 * visible backend with a template that matches it. Throws -32002 (not found) or -32602 (ambiguous).
 */
export function resolveUri(front: FrontLens, uri: string): { source: ToolSource; uri: string } {
  const { view } = front;
  const allowed = (source: ToolSource | undefined, original: string) =>
    source && view.allowsResource(source.name, original) ? source : undefined;
  if (!front.scope.aggregate) {
    const source = allowed(view.sources()[0], uri);
    if (!source) throw notFound(uri);
    return { source, uri };
  }
  const qualified = parseGatewayUri(uri);
  if (qualified) {
    const source = allowed(view.get(qualified.server), qualified.uri);
    if (!source) throw notFound(uri);
    return { source, uri: qualified.uri };
  }
  const candidates = view.sources().filter((source) => view.allowsResource(source.name, uri));
  const listing = candidates.filter((source) => source.cachedResources?.some((r) => r.uri === uri));
  if (listing.length === 1) return { source: listing[0]!, uri };
  if (listing.length > 1) throw ambiguous(uri, listing);
  const seen = allowed(view.get(front.core.seen.ownerOf(uri) ?? ''), uri);
  if (seen) return { source: seen, uri };
  const matching = candidates.filter((source) =>
    source.cachedResourceTemplates?.some((t) => parsedTemplate(t.uriTemplate)?.match(uri) != null),
  );
  if (matching.length === 1) return { source: matching[0]!, uri };
  if (matching.length > 1) throw ambiguous(uri, matching);
  throw notFound(uri);
}

/** Backends' URI templates, parsed once (undefined for one that does not parse): lists change rarely, reads often. */
const templates = new Map<string, UriTemplate | undefined>();
const TEMPLATES_MAX = 10_000;

function parsedTemplate(text: string): UriTemplate | undefined {
  if (templates.has(text)) return templates.get(text);
  let template: UriTemplate | undefined;
  try {
    template = new UriTemplate(text);
  } catch {
    template = undefined;
  }
  if (templates.size >= TEMPLATES_MAX) templates.clear();
  templates.set(text, template);
  return template;
}

/** The visible backends' lists of one kind, starting backends never listed (within the catalog wait). */
export async function visibleLists<T>(
  front: FrontRequest,
  pick: (source: ToolSource, view: CatalogView) => readonly T[],
): Promise<Array<{ source: ToolSource; items: readonly T[] }>> {
  const { view } = front;
  const sources = view.sources().filter((source) => source.listResources || source.listPrompts);
  // Unlike search (which names what is still starting), a list has no place to say a backend is missing,
  // so it waits for every start (each bounded by its connect timeout); a failed backend is left out.
  const catalog = await view.catalog(sources);
  // The passthrough's one backend failing is an error, not an empty list.
  const failed = catalog.find((entry) => 'error' in entry && !entry.source.cachedTools);
  if (!front.scope.aggregate && failed && 'error' in failed) throw unavailable(new Error(failed.error));
  return sources.map((source) => ({ source, items: pick(source, view) }));
}

/** Flatten per-backend lists; on an aggregating front a key listed by two backends gets the `mcpgw://` form. */
function qualifyCollisions<T>(
  front: FrontRequest,
  lists: Array<{ source: ToolSource; items: readonly T[] }>,
  key: (item: T) => string,
  rename: (item: T, key: string) => T,
): T[] {
  const owners = new Map<string, number>();
  for (const { items } of lists) for (const k of new Set(items.map(key))) owners.set(k, (owners.get(k) ?? 0) + 1);
  return lists.flatMap(({ source, items }) =>
    items.map((item) =>
      front.scope.aggregate && (owners.get(key(item)) ?? 0) > 1 ? rename(item, gatewayUri(source.name, key(item))) : item,
    ),
  );
}

function notFound(uri: string): ProtocolError {
  return new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri });
}

function ambiguous(uri: string, sources: ToolSource[]): ProtocolError {
  const forms = sources.map((s) => gatewayUri(s.name, uri)).join(', ');
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Several servers offer ${uri}; read one of: ${forms}`);
}

/** A backend's JSON-RPC error passes on with its code; the gateway's own failures become -32603 with the reason. */
export function passOn(error: unknown): unknown {
  if (error instanceof ProtocolError) return error;
  const code = (error as { code?: unknown }).code;
  // The SDK prefixes "MCP error <code>: " to the message; the front's error gets that prefix once, from its own SDK.
  if (typeof code === 'number') return new ProtocolError(code, (error as Error).message.replace(/^MCP error -?\d+: /, ''));
  return unavailable(error);
}
