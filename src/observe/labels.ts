import type { ErrorCode } from '../meta/results.js';
import type { ToolSource } from '../sources/source.js';

/**
 * Label values for metrics and usage, bounded whatever clients send: a server or tool name becomes a
 * label only when the gateway knows it (a configured server; a tool in its cached list), and an outcome
 * only when it is one of the gateway's own codes (a backend can write any "code" into its error text).
 */
export const UNKNOWN = '(unknown)';
/** Past MAX_KEYS distinct principals (OAuth subjects are unbounded), the rest share this label. */
export const OTHER_KEYS = '(other)';
export const MAX_KEYS = 200;

/** Every code an invoke record's outcome may carry; the Record type makes a new ErrorCode a compile error here. */
const ERROR_CODES: Record<ErrorCode, true> = {
  invalid_arguments: true,
  unknown_server: true,
  unknown_tool: true,
  backend_unavailable: true,
  backend_error: true,
  timeout: true,
  busy: true,
  rate_limited: true,
  circuit_open: true,
};
const OUTCOMES = new Set<string>(['ok', 'tool_error', 'cancelled', 'gateway_error', ...Object.keys(ERROR_CODES)]);

export function outcomeLabel(outcome: string): string {
  return OUTCOMES.has(outcome) ? outcome : 'other';
}

/** What the labels need from the pool. */
export interface SourceLookup {
  get(name: string): ToolSource | undefined;
}

/** Tool names of each cached list, built once per list (a list is replaced, never mutated, when it changes). */
const toolSets = new WeakMap<readonly unknown[], Set<string>>();

function knowsTool(source: ToolSource, tool: string): boolean {
  const tools = source.cachedTools;
  if (!tools) return false;
  let names = toolSets.get(tools);
  if (!names) {
    names = new Set(tools.map((t) => t.name));
    toolSets.set(tools, names);
  }
  return names.has(tool);
}

/** `{ server, tool }` as labels: each is UNKNOWN unless the pool knows it. */
export function toolLabels(pool: SourceLookup, server: string, tool: string): { server: string; tool: string } {
  const source = pool.get(server);
  if (!source) return { server: UNKNOWN, tool: UNKNOWN };
  return { server, tool: knowsTool(source, tool) ? tool : UNKNOWN };
}

/** Principal names as labels, at most MAX_KEYS of them. */
export class KeyLabels {
  private readonly seen = new Set<string>();

  label(key: string): string {
    if (this.seen.has(key)) return key;
    if (this.seen.size >= MAX_KEYS) return OTHER_KEYS;
    this.seen.add(key);
    return key;
  }
}
