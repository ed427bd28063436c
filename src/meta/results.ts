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

/** An isError result a model can act on: a short sentence, plus a machine-readable error object. */
export function failure(code: ErrorCode, message: string, details: Record<string, unknown> = {}): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: message }],
    structuredContent: { error: { code, message, ...details } },
  };
}
