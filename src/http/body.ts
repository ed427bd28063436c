import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonContentType } from '@modelcontextprotocol/server';
import type { Context } from 'hono';

export type BodyResult =
  | { kind: 'ok'; text: string }
  | { kind: 'too-large' }
  /** The whole body did not arrive within the deadline (a slow or stalled sender). */
  | { kind: 'timeout' }
  /** The client went away mid-body. */
  | { kind: 'aborted' };

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** What @hono/node-server passes as the second argument of fetch (absent when the app is called in-process). */
export interface NodeBindings {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

/**
 * Reads a request body whole, within a size bound and a deadline. Served by Node, it reads the
 * IncomingMessage directly (no web Request or stream is built on the hot path) and stops at the first
 * byte over the limit, whatever Content-Length claims. In-process (tests, benches) it reads the Request.
 */
export function readBody(request: Request, node: NodeBindings | undefined, limits: BodyLimits): Promise<BodyResult> {
  const declared = Number(request.headers.get('content-length'));
  if (declared > limits.maxBytes) return Promise.resolve({ kind: 'too-large' });
  return node ? readIncoming(node.incoming, limits) : readRequest(request, limits);
}

function readIncoming(incoming: IncomingMessage, { maxBytes, timeoutMs }: BodyLimits): Promise<BodyResult> {
  if (incoming.readableEnded) return Promise.resolve({ kind: 'ok', text: '' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult) => {
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onAbort);
      incoming.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish({ kind: 'too-large' });
      else chunks.push(chunk);
    };
    const onEnd = () => finish({ kind: 'ok', text: Buffer.concat(chunks, size).toString('utf8') });
    const onAbort = () => finish({ kind: 'aborted' });
    const onClose = () => (incoming.readableEnded ? onEnd() : onAbort());
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onAbort);
    incoming.on('close', onClose);
  });
}

async function readRequest(request: Request, { maxBytes, timeoutMs }: BodyLimits): Promise<BodyResult> {
  const reader = request.body?.getReader();
  if (!reader) return { kind: 'ok', text: '' };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<BodyResult>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
  });
  const read = (async (): Promise<BodyResult> => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { kind: 'ok', text: Buffer.concat(chunks, size).toString('utf8') };
      size += value.byteLength;
      if (size > maxBytes) return { kind: 'too-large' };
      chunks.push(value);
    }
  })().catch((): BodyResult => ({ kind: 'aborted' }));
  const result = await Promise.race([read, deadline]);
  clearTimeout(timer);
  if (result.kind !== 'ok') void reader.cancel().catch(() => {});
  return result;
}

/**
 * After an answer to a request whose body was not read to its end (too large, too slow), the connection
 * cannot carry another request: close it once the answer is written, so a slow sender holds no socket.
 */
export function closeAfterResponse(node: NodeBindings | undefined): void {
  if (!node) return;
  const { incoming, outgoing } = node;
  const close = () => incoming.socket?.destroy();
  if (outgoing.writableFinished) close();
  else outgoing.once('finish', close).once('close', close);
}

/** Why a JSON POST was refused: each front words its answer in its own protocol (JSON-RPC, admin JSON). */
export type JsonBodyRefusal = 'not-json-content' | 'too-large' | 'timeout' | 'invalid-json';

/**
 * Read a POST's JSON body for /mcp and /admin alike: a Content-Type other than JSON is refused unread,
 * the body is read within its limits, and it must parse (an empty body is `undefined` when allowed).
 * When the body was not read to its end, the connection is closed after the answer (it cannot carry
 * another request). Returns the parsed value, or the refusal and the status to answer with.
 */
export async function readJsonBody(
  c: Context,
  limits: BodyLimits,
  options: { allowEmpty?: boolean } = {},
): Promise<{ ok: true; value: unknown } | { ok: false; refusal: JsonBodyRefusal; status: 400 | 408 | 413 | 415 }> {
  const node = c.env as NodeBindings | undefined;
  const bindings = node?.incoming ? node : undefined;
  const unread = (refusal: JsonBodyRefusal, status: 408 | 413 | 415) => {
    closeAfterResponse(bindings);
    c.header('Connection', 'close');
    return { ok: false as const, refusal, status };
  };
  if (!isJsonContentType(c.req.header('content-type'))) return unread('not-json-content', 415);
  const body = await readBody(c.req.raw, bindings, limits);
  if (body.kind === 'too-large') return unread('too-large', 413);
  if (body.kind === 'timeout' || body.kind === 'aborted') return unread('timeout', 408);
  if (options.allowEmpty && body.text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(body.text) as unknown };
  } catch {
    return { ok: false, refusal: 'invalid-json', status: 400 };
  }
}
