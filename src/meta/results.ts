import type { CallToolResult } from '@modelcontextprotocol/server';
import { redact } from '../secrets/redact.js';

/**
 * A meta-tool result: structuredContent, and the same JSON as text (Claude Code and others give the
 * model only the text). Text the gateway writes passes redact(): a backend's stderr tail or error body
 * may hold a secret from the config.
 */
export function structured(data: Record<string, unknown>): CallToolResult {
  const text = JSON.stringify(data);
  const clean = redact(text);
  return {
    content: [{ type: 'text', text: clean }],
    structuredContent: clean === text ? data : (JSON.parse(clean) as Record<string, unknown>),
  };
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
  const result: CallToolResult = {
    isError: true,
    content: [{ type: 'text', text: redact(JSON.stringify({ error: { code, message, ...details } })) }],
  };
  codes.set(result, code);
  return result;
}

/** The code of a result failure() built (audit outcomes), without parsing its text; undefined for a backend's own isError. */
export function failureCode(result: CallToolResult): ErrorCode | undefined {
  return codes.get(result);
}

const codes = new WeakMap<CallToolResult, ErrorCode>();
