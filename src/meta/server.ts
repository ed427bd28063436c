import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import { META_TOOL_NAMES, type MetaToolName } from './definitions.js';
import type { MetaCall } from './handlers.js';
import { failure } from './results.js';
import { META_TOOLS } from './tools.js';

export const GATEWAY_INFO = { name: 'meta-mcp-gateway', version: '0.1.0' };

/** The meta-tools as served: the tools/list entries and wire name → meta-tool. */
export interface ServedMetaTools {
  tools: Tool[];
  byWireName: Map<string, MetaToolName>;
}

/**
 * The served meta-tools, derived once per definitions object. Definitions change only on a config reload,
 * and a long-lived 2025 session must see the new ones, so fronts read them per request, not per server.
 */
export function servedMetaTools(currentDefinitions: () => Record<MetaToolName, Tool>): () => ServedMetaTools {
  let definitions: Record<MetaToolName, Tool> | undefined;
  let served: ServedMetaTools = { tools: [], byWireName: new Map() };
  return () => {
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
}

/** Check a meta-tool's arguments against its schema, then run it over the caller's view. */
export async function runMetaTool(name: MetaToolName, wireName: string, args: unknown, call: MetaCall): Promise<CallToolResult> {
  const tool = META_TOOLS[name];
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
    return failure('invalid_arguments', `Invalid arguments for ${wireName}: ${problems}`);
  }
  return tool.run(parsed.data, call);
}
