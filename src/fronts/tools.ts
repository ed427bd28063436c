import {
  type CallToolResult,
  ProtocolError,
  ProtocolErrorCode,
  type Server,
  type ServerContext,
  type Tool,
} from '@modelcontextprotocol/server';
import { invoke } from '../meta/handlers.js';
import { runMetaTool, type ServedMetaTools } from '../meta/server.js';
import { redact } from '../secrets/redact.js';
import { BackendUnavailableError, describeError } from '../sources/source.js';
import { qualifiedName, splitQualified } from './names.js';
import type { FrontRequest } from './scope.js';

/**
 * tools/list and tools/call. Aggregating fronts serve the meta-tools (unless an endpoint turns them off)
 * and the surfaced tools as `server__tool`; the passthrough serves its backend's tools as they are. Every
 * forwarded call goes through `invoke` (view check, limits, failsafes, audit) and relays the backend's
 * requests to this client.
 */
export function registerTools(server: Server, request: () => FrontRequest, metaTools: () => ServedMetaTools): void {
  server.setRequestHandler('tools/list', async () => {
    const front = request();
    if (!front.scope.aggregate) return { tools: [...(await passthroughTools(front))] };
    const tools = front.scope.metaTools ? [...metaTools().tools] : [];
    return { tools: [...tools, ...(await surfacedTools(front))] };
  });

  server.setRequestHandler('tools/call', async (call, ctx) => {
    const front = request();
    const { name, arguments: args } = call.params;
    if (!front.scope.aggregate) return forward(front, ctx, front.view.names()[0] ?? '', name, args);
    const meta = front.scope.metaTools ? metaTools().byWireName.get(name) : undefined;
    if (meta === 'invoke') {
      const parsed = args as { server?: unknown; tool?: unknown; arguments?: unknown } | undefined;
      if (typeof parsed?.server === 'string' && typeof parsed.tool === 'string')
        return forward(front, ctx, parsed.server, parsed.tool, parsed.arguments as Record<string, unknown> | undefined, name);
    }
    if (meta) return runMetaTool(meta, name, args, front.metaCall(ctx, { signal: ctx.mcpReq.signal }));
    const target = front.scope.surfaced ? splitQualified(name, front.view.names()) : undefined;
    if (target && front.scope.surface(target.server, target.name)) return forward(front, ctx, target.server, target.name, args);
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
  });
}

/**
 * One forwarded tools/call through `invoke`; `metaName` is set when it came as the invoke meta-tool (its
 * arguments are then checked by its schema). Links and embedded resources in the result become readable.
 */
async function forward(
  front: FrontRequest,
  ctx: ServerContext,
  server: string,
  tool: string,
  args: Record<string, unknown> | undefined,
  metaName?: string,
) {
  return front.relay(ctx, async (options) => {
    const call = front.metaCall(ctx, options);
    const result: CallToolResult = metaName
      ? await runMetaTool('invoke', metaName, { server, tool, ...(args === undefined ? {} : { arguments: args }) }, call)
      : await invoke(call, { server, tool, arguments: args });
    if (!result.isError) front.core.seen.record(server, result);
    // A passthrough's backend refused the client's round: the client gets the backend's JSON-RPC error.
    const refused = options.relay?.rounds?.refused;
    if (result.isError && refused) throw new ProtocolError(refused.code, redact(refused.message), refused.data);
    return result;
  });
}

async function passthroughTools(front: FrontRequest): Promise<readonly Tool[]> {
  const source = front.view.sources()[0];
  if (!source) return [];
  try {
    return front.view.visibleTools(source, await source.listTools());
  } catch (error) {
    throw unavailable(error);
  }
}

/** Surfaced tools of the visible servers (their starts are waited for; a server that fails is left out). */
async function surfacedTools(front: FrontRequest): Promise<Tool[]> {
  if (!front.scope.surfaced) return [];
  const { view, scope } = front;
  const sources = view.sources().filter((source) => scope.surface(source.name));
  await view.catalog(sources);
  return sources.flatMap((source) =>
    view
      .visibleTools(source, source.cachedTools ?? [])
      .filter((tool) => scope.surface(source.name, tool.name))
      .map((tool) => ({ ...tool, name: qualifiedName(source.name, tool.name) })),
  );
}

/** A backend that cannot answer a passthrough list: a JSON-RPC error with the reason (redacted). */
export function unavailable(error: unknown): ProtocolError {
  const reason = error instanceof BackendUnavailableError ? error.message : describeError(error);
  return new ProtocolError(ProtocolErrorCode.InternalError, redact(reason));
}
