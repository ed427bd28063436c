import type { Tool } from '@modelcontextprotocol/server';
import { z } from 'zod';

/**
 * The four meta-tools. Input schemas are zod (validated on every call) and are served as the
 * JSON Schema zod derives from them, so the wire schema and the check cannot drift apart.
 * All four definitions together must stay under 2,000 characters as served by tools/list.
 */

export const ListServersInput = z.object({});
export const ListToolsInput = z.object({ server: z.string().min(1).describe('Server name') });
export const SearchToolsInput = z.object({
  query: z.string().min(1).describe('What you want to do, in words'),
  limit: z.number().int().min(1).max(50).optional().describe('Max results (default 5)'),
  server: z.string().min(1).optional().describe('Only this server'),
});
export const InvokeInput = z.object({
  server: z.string().min(1).describe('Server name, as in search results'),
  tool: z.string().min(1).describe('Tool name on that server'),
  arguments: z.record(z.string(), z.unknown()).optional().describe("Arguments matching the tool's inputSchema"),
});

export const META_TOOL_NAMES = ['list_servers', 'list_tools', 'search_tools', 'invoke'] as const;
export type MetaToolName = (typeof META_TOOL_NAMES)[number];

/** Server names shown in a description, within a character budget so 50 backends still fit. */
const SERVER_NAMES_BUDGET = 160;

function serverList(names: string[]): string {
  if (names.length === 0) return 'none configured';
  let shown = '';
  let count = 0;
  for (const name of names) {
    const next = shown ? `${shown}, ${name}` : name;
    if (next.length > SERVER_NAMES_BUDGET && count > 0) break;
    shown = next;
    count++;
  }
  return count < names.length ? `${shown} and ${names.length - count} more` : shown;
}

/** zod's JSON Schema, minus what costs context and tells a model nothing ($schema, minLength: 1, ...). */
function inputSchema(schema: z.ZodType): Tool['inputSchema'] {
  const compact = (node: unknown): unknown => {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$schema' || key === 'propertyNames' || (key === 'minLength' && value === 1)) continue;
      if (key === 'additionalProperties' && (value === false || (typeof value === 'object' && Object.keys(value as object).length === 0)))
        continue;
      out[key] =
        key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, compact(v)])) : compact(value);
    }
    return out;
  };
  return compact(z.toJSONSchema(schema, { io: 'input' })) as Tool['inputSchema'];
}

/** Output schemas stay shallow: they are for validation, and every character costs context. */
const array = { type: 'array', items: { type: 'object' } };
const outputSchema = (properties: Record<string, object>, required: string[]): Tool['outputSchema'] => ({
  type: 'object',
  properties,
  required,
});

/** The tools/list entries, named with the configured prefix and mentioning the servers behind the gateway. */
export function metaToolDefinitions(prefix: string, serverNames: string[]): Record<MetaToolName, Tool> {
  const servers = serverList(serverNames);
  return {
    list_servers: {
      name: `${prefix}list_servers`,
      description: 'List the MCP servers behind this gateway, with state and tool, resource and prompt counts.',
      inputSchema: inputSchema(ListServersInput),
      outputSchema: outputSchema({ servers: array }, ['servers']),
      annotations: { readOnlyHint: true },
    },
    list_tools: {
      name: `${prefix}list_tools`,
      description: "List one server's tools with their input schemas.",
      inputSchema: inputSchema(ListToolsInput),
      outputSchema: outputSchema({ server: { type: 'string' }, tools: array }, ['server', 'tools']),
      annotations: { readOnlyHint: true },
    },
    search_tools: {
      name: `${prefix}search_tools`,
      description: `Search the tools of every server (${servers}) by what you want done. Returns the best matches with input schemas; call one with ${prefix}invoke.`,
      inputSchema: inputSchema(SearchToolsInput),
      outputSchema: outputSchema({ results: array, unavailable: array }, ['results']),
      annotations: { readOnlyHint: true },
    },
    invoke: {
      name: `${prefix}invoke`,
      description: `Call a tool found with ${prefix}search_tools or ${prefix}list_tools.`,
      inputSchema: inputSchema(InvokeInput),
    },
  };
}
