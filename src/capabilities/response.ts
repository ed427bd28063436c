import { STATUS_CODES } from 'node:http';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { redact } from '../secrets/redact.js';
import { getPath, parsePath, pickFields } from './json-path.js';
import type { CapabilityDefinition } from './load.js';

/** Bytes read from one response at most; the rest is dropped, with a note. */
export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
/** How much of an error body is quoted. */
const ERROR_BODY_CHARS = 1000;

export interface HttpReply {
  status: number;
  statusText: string;
  headers: Headers;
  bytes: Uint8Array;
  /** The body was longer than MAX_RESPONSE_BYTES and was cut. */
  cut: boolean;
}

export function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

/**
 * The CallToolResult of one HTTP reply. 2xx: the body (JSON picked by response.path / fields) as
 * compact JSON text, plus structuredContent when it is a JSON object. Otherwise isError with
 * `HTTP <status> <reason>: <trimmed body>`.
 */
export function mapReply(def: CapabilityDefinition, method: string, reply: HttpReply): CallToolResult {
  const reason = reply.statusText || STATUS_CODES[reply.status] || '';
  const head = `HTTP ${reply.status}${reason ? ` ${reason}` : ''}`;
  const contentType = reply.headers.get('content-type') ?? '';
  const text = new TextDecoder().decode(reply.bytes);

  if (reply.status < 200 || reply.status > 299) {
    const retry = reply.headers.get('retry-after');
    const retryNote =
      retry && (reply.status === 429 || reply.status === 503) ? ` (retry after ${retry}${/^\d+$/.test(retry) ? ' s' : ''})` : '';
    const body = trimBody(text);
    return errorResult(`${head}${retryNote}${body ? `: ${body}` : ''}`);
  }
  if (method === 'HEAD') {
    const headers = Object.fromEntries(reply.headers);
    return {
      content: [{ type: 'text', text: `${head} ${JSON.stringify(headers)}` }],
      structuredContent: { status: reply.status, headers },
    };
  }
  if (reply.bytes.length === 0) return { content: [{ type: 'text', text: `${head}: no content` }] };

  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType.startsWith('image/') && !reply.cut) {
    return { content: [{ type: 'image', data: Buffer.from(reply.bytes).toString('base64'), mimeType: mediaType }] };
  }

  let value: unknown;
  let isJson = false;
  if (/[/+]json$/.test(mediaType) || mediaType === '') {
    try {
      value = JSON.parse(text);
      isJson = true;
    } catch {
      // not JSON after all: passed on as text
    }
  }
  const { path, fields, maxChars } = def.response;
  if (!isJson) {
    if (path !== undefined || fields !== undefined) {
      return errorResult(
        `${head}, but the response is not JSON (${mediaType || 'no content type'})${reply.cut ? ' or was cut' : ''}, so response.path/fields cannot apply: ${trimBody(text)}`,
      );
    }
    return limit(
      reply.cut ? `${text}\n… [the response was longer than ${MAX_RESPONSE_BYTES} bytes and was cut]` : text,
      undefined,
      maxChars,
    );
  }

  if (path !== undefined) {
    value = getPath(value, parsePath(path));
    if (value === undefined) return errorResult(`${head}, but the response has nothing at response.path "${path}": ${trimBody(text)}`);
  }
  if (fields !== undefined)
    value = pickFields(
      value,
      fields.map((f) => ({ path: f, steps: parsePath(f) })),
    );
  const out = typeof value === 'string' ? value : JSON.stringify(value);
  const structured = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  return limit(out, structured, maxChars);
}

/** Cut text over the limit (saying so); a cut result carries no structuredContent (it would not match). */
function limit(text: string, structured: Record<string, unknown> | undefined, maxChars: number): CallToolResult {
  if (text.length <= maxChars) return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured } : {}) };
  const note = `\n… [cut: ${text.length - maxChars} more characters; narrow the request, or pick less with response.path / response.fields]`;
  return { content: [{ type: 'text', text: text.slice(0, maxChars) + note }] };
}

/** Whitespace collapsed, HTML tags dropped, at most ERROR_BODY_CHARS. */
export function trimBody(text: string): string {
  let t = text;
  if (/^\s*</.test(t) && /<\/(html|body|head|title|p|div|h1)>/i.test(t))
    t = t.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ');
  t = t.replace(/\s+/g, ' ').trim();
  return t.length > ERROR_BODY_CHARS ? `${t.slice(0, ERROR_BODY_CHARS)}…` : t;
}

/**
 * Replace every secret in a result, however it got there (an API that echoes the token): the values
 * registered with the gateway's redaction (secrets/redact.ts) and the request's own environment
 * values (value → variable), each as «redacted:NAME».
 */
export function scrubResult(result: CallToolResult, secrets: Map<string, string>): CallToolResult {
  const list = [...secrets].filter(([value]) => value.length >= 4).sort((a, b) => b[0].length - a[0].length);
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string')
      return list.reduce((text, [secret, name]) => text.split(secret).join(`«redacted:${name}»`), redact(value));
    if (Array.isArray(value)) return value.map(scrub);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [scrub(k) as string, scrub(v)]));
    return value;
  };
  return {
    ...result,
    content: result.content.map((c) => (c.type === 'text' ? { ...c, text: scrub(c.text) as string } : c)),
    ...(result.structuredContent ? { structuredContent: scrub(result.structuredContent) as Record<string, unknown> } : {}),
  };
}

export function scrubText(text: string, secrets: Map<string, string>): string {
  return (scrubResult({ content: [{ type: 'text', text }] }, secrets).content[0] as { text: string }).text;
}
