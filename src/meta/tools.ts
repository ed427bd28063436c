import type { CallToolResult } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { InvokeInput, ListServersInput, ListToolsInput, type MetaToolName, SearchToolsInput } from './definitions.js';
import { invoke, listServers, listTools, type MetaCall, searchTools } from './handlers.js';

/** One meta-tool: its input schema (checked before `run`) and what it does. */
export interface MetaTool {
  input: z.ZodType;
  /** `args` has passed `input`. */
  run(args: unknown, call: MetaCall): Promise<CallToolResult>;
}

/** Ties a handler to its schema, so the table stays typed while the server dispatches by name. */
function metaTool<I extends z.ZodType>(input: I, run: (call: MetaCall, args: z.output<I>) => Promise<CallToolResult>): MetaTool {
  return { input, run: (args, call) => run(call, args as z.output<I>) };
}

/** The one table of meta-tools: name → schema → handler. Definitions (names, descriptions) are in definitions.ts. */
export const META_TOOLS: Record<MetaToolName, MetaTool> = {
  list_servers: metaTool(ListServersInput, (call) => listServers(call)),
  list_tools: metaTool(ListToolsInput, listTools),
  search_tools: metaTool(SearchToolsInput, searchTools),
  invoke: metaTool(InvokeInput, invoke),
};
