import type { CallToolResult } from '@modelcontextprotocol/server';

/** A meta-tool result: structuredContent, and the same JSON as text for clients that read only text. */
export function structured(data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
}

export type ErrorCode =
  | 'invalid_arguments'
  | 'unknown_server'
  | 'unknown_tool'
  | 'backend_unavailable'
  | 'backend_error'
  | 'timeout'
  | 'busy'
  | 'rate_limited'
  | 'circuit_open';

/**
 * An isError result a model can act on: `{"error":{"code","message",...details}}` as its text.
 * No structuredContent: an error is not the output a meta-tool's outputSchema declares, and SDK clients
 * (v1 `callTool`, the Inspector) validate any structuredContent against that schema, even on an error,
 * and throw -32602 instead of showing the error. They exempt isError results from carrying it.
 */
export function failure(code: ErrorCode, message: string, details: Record<string, unknown> = {}): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: { code, message, ...details } }) }] };
}
