import { ProtocolError, ProtocolErrorCode, Server, type ServerContext, type Tool } from '@modelcontextprotocol/server';
import type { Principal } from '../access/principal.js';
import { CatalogView } from '../access/view.js';
import type { BackendPool } from '../backends/pool.js';
import type { LimitsConfig } from '../config/schema.js';
import type { EventBus } from '../observe/events.js';
import type { ToolIndex } from '../search/rank.js';
import { META_TOOL_NAMES, type MetaToolName } from './definitions.js';
import type { ForwardOptions, MetaCall } from './handlers.js';
import { failure } from './results.js';
import { META_TOOLS } from './tools.js';

export const GATEWAY_INFO = { name: 'meta-mcp-gateway', version: '0.1.0' };

/** What every meta-tool server shares; `limits` is read per call, so a reload applies at once. */
export interface MetaDeps {
  pool: BackendPool;
  index: ToolIndex;
  limits: () => LimitsConfig;
  events: EventBus;
  invokeLimiter?: MetaCall['invokeLimiter'];
}

/**
 * Builds the MCP server the front endpoint serves: a low-level SDK Server (cheap to create per
 * request) whose tools/list is the four meta-tools and whose tools/call runs them over the caller's
 * view of the catalog. `principal` answers who sent the request being served (a 2025 session asks it
 * per request). The low-level Server is used because invoke must return the backend's result untouched.
 */
export function metaServerFactory(
  deps: MetaDeps,
  currentDefinitions: () => Record<MetaToolName, Tool>,
): (principal: () => Principal) => Server {
  // Derived once per definitions object; they change only on a config reload, and a long-lived
  // 2025 session must see the new ones, so handlers read them per call rather than per server.
  let definitions: Record<MetaToolName, Tool> | undefined;
  let served = { tools: [] as Tool[], byWireName: new Map<string, MetaToolName>() };
  const current = () => {
    const latest = currentDefinitions();
    if (latest !== definitions) {
      definitions = latest;
      served = {
        tools: META_TOOL_NAMES.map((name) => latest[name]),
        byWireName: new Map(META_TOOL_NAMES.map((name) => [latest[name].name, name])),
      };
    }
    return served;
  };

  return (principal) => {
    const wire = currentDefinitions();
    const server = new Server(GATEWAY_INFO, {
      capabilities: { tools: { listChanged: true } },
      instructions: `This gateway fronts several MCP servers. Use ${wire.search_tools.name} to find a tool for a task, then ${wire.invoke.name} it with the exact server and tool names.`,
    });
    server.setRequestHandler('tools/list', () => ({ tools: current().tools }));
    server.setRequestHandler('tools/call', async (request, ctx) => {
      const name = current().byWireName.get(request.params.name);
      if (!name) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      const tool = META_TOOLS[name];
      const parsed = tool.input.safeParse(request.params.arguments ?? {});
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
        return failure('invalid_arguments', `Invalid arguments for ${request.params.name}: ${problems}`);
      }
      const forward = progressForwarding(ctx);
      const caller = principal();
      forward.options.caller = ctx.sessionId ?? caller.name;
      const call: MetaCall = {
        view: new CatalogView(deps.pool, deps.index, caller),
        limits: deps.limits(),
        events: deps.events,
        invokeLimiter: deps.invokeLimiter,
        forward: forward.options,
      };
      try {
        return await tool.run(parsed.data, call);
      } finally {
        await forward.flush();
      }
    });
    return server;
  };
}

/** Relay the backend's progress to the front client, when the client asked for progress. */
function progressForwarding(ctx: ServerContext): { options: ForwardOptions; flush: () => Promise<void> } {
  const token = ctx.mcpReq._meta?.progressToken;
  const pending: Promise<void>[] = [];
  const options: ForwardOptions = { signal: ctx.mcpReq.signal };
  if (token !== undefined) {
    options.onprogress = (p) => {
      pending.push(ctx.mcpReq.notify({ method: 'notifications/progress', params: { ...p, progressToken: token } }).catch(() => {}));
    };
  }
  // Send every progress notification before the result, so none arrives after it.
  return { options, flush: async () => void (await Promise.allSettled(pending)) };
}
