import { ProtocolError, ProtocolErrorCode, Server, type CallToolResult, type ServerContext, type Tool } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { InvokeInput, ListServersInput, ListToolsInput, META_TOOL_NAMES, type MetaToolName, SearchToolsInput } from './definitions.js';
import { type ForwardOptions, invoke, listServers, listTools, type MetaContext, searchTools } from './handlers.js';
import { failure } from './results.js';

export const GATEWAY_INFO = { name: 'meta-mcp-gateway', version: '0.1.0' };

const inputs: Record<MetaToolName, z.ZodType> = {
  list_servers: ListServersInput,
  list_tools: ListToolsInput,
  search_tools: SearchToolsInput,
  invoke: InvokeInput,
};

/**
 * Builds the MCP server the front endpoint serves: a low-level SDK Server (cheap to create per
 * request) whose tools/list is the four meta-tools and whose tools/call dispatches to the handlers.
 * The low-level Server is used because invoke must return the backend's result untouched.
 */
export function metaServerFactory(context: MetaContext, currentDefinitions: () => Record<MetaToolName, Tool>): () => Server {
  // Derived once per definitions object; they change only on a config reload, and a long-lived
  // 2025 session must see the new ones, so handlers read them per call rather than per server.
  let definitions: Record<MetaToolName, Tool> | undefined;
  let view = { tools: [] as Tool[], byWireName: new Map<string, MetaToolName>() };
  const current = () => {
    const latest = currentDefinitions();
    if (latest !== definitions) {
      definitions = latest;
      view = {
        tools: META_TOOL_NAMES.map((name) => latest[name]),
        byWireName: new Map(META_TOOL_NAMES.map((name) => [latest[name].name, name])),
      };
    }
    return view;
  };

  return () => {
    const [, , search, invoke] = current().tools.map((t) => t.name);
    const server = new Server(GATEWAY_INFO, {
      capabilities: { tools: { listChanged: true } },
      instructions: `This gateway fronts several MCP servers. Use ${search} to find a tool for a task, then ${invoke} it with the exact server and tool names.`,
    });
    server.setRequestHandler('tools/list', () => ({ tools: current().tools }));
    server.setRequestHandler('tools/call', async (request, ctx) => {
      const name = current().byWireName.get(request.params.name);
      if (!name) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      const parsed = inputs[name].safeParse(request.params.arguments ?? {});
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
        return failure('invalid_arguments', `Invalid arguments for ${request.params.name}: ${problems}`);
      }
      return dispatch(name, context, parsed.data, ctx);
    });
    return server;
  };
}

/** `args` has passed the zod schema of `name`. */
async function dispatch(name: MetaToolName, context: MetaContext, args: unknown, ctx: ServerContext): Promise<CallToolResult> {
  switch (name) {
    case 'list_servers':
      return listServers(context);
    case 'list_tools':
      return listTools(context, args as z.infer<typeof ListToolsInput>);
    case 'search_tools':
      return searchTools(context, args as z.infer<typeof SearchToolsInput>);
    case 'invoke': {
      const forward = progressForwarding(ctx);
      try {
        return await invoke(context, args as z.infer<typeof InvokeInput>, forward.options);
      } finally {
        await forward.flush();
      }
    }
  }
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
