import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { checkAddress, guardedLookup } from './network-policy.js';
import type { PreparedRequest } from './request.js';
import { type HttpReply, MAX_RESPONSE_BYTES } from './response.js';

const MAX_REDIRECTS = 5;

export interface SendOptions {
  signal: AbortSignal;
  /** The file's allow_private_network: without it, private and loopback addresses are refused. */
  allowPrivateNetwork: boolean;
}

/**
 * One capability request with its redirects, over node:http(s) rather than fetch, so the address
 * the socket connects to passes the network policy (fetch offers no hook for that).
 * A redirect is followed only to the same origin with the request's credentials; to another origin
 * it goes without them (auth headers, headers and query values holding a secret), and every hop
 * passes the same network policy.
 */
export async function send(request: PreparedRequest, options: SendOptions): Promise<HttpReply> {
  let { url, method, body } = request;
  const headers = new Headers(request.headers);
  const secrets = [...request.secrets.keys()];
  const holdsSecret = (value: string) => secrets.some((s) => value.includes(s));
  for (let hop = 0; ; hop++) {
    const response = await exchange(url, method, headers, body, options);
    const location = response.headers.location;
    if (![301, 302, 303, 307, 308].includes(response.statusCode ?? 0) || !location) return readReply(response);
    response.resume();
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Error('redirected to a URL that is not http(s)');
    if (next.origin !== url.origin) {
      headers.delete('authorization');
      headers.delete('proxy-authorization');
      headers.delete('cookie');
      for (const [name, value] of [...headers]) if (holdsSecret(value)) headers.delete(name);
      for (const [name, value] of [...next.searchParams]) if (holdsSecret(value)) next.searchParams.delete(name);
    }
    const status = response.statusCode!;
    if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers.delete('content-type');
    }
    url = next;
  }
}

function exchange(url: URL, method: string, headers: Headers, body: string | undefined, options: SendOptions): Promise<IncomingMessage> {
  // An IP literal is connected to without a lookup: checked here.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivateNetwork && isIP(host) !== 0) checkAddress(host, host);
  const outgoing = new Headers(headers);
  if (!outgoing.has('accept-encoding')) outgoing.set('accept-encoding', 'gzip, deflate, br');
  if (body !== undefined) outgoing.set('content-length', String(Buffer.byteLength(body)));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method,
      headers: Object.fromEntries(outgoing),
      signal: options.signal,
      // A guarded request gets its own socket (agent: false): a kept-alive socket from the shared pool was
      // connected without this check, possibly to a private address an opted-in capability called.
      ...(options.allowPrivateNetwork ? {} : { lookup: guardedLookup, agent: false }),
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(body);
  });
}

async function readReply(response: IncomingMessage): Promise<HttpReply> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const stream = decoded(response);
  const { bytes, cut } = await readBody(stream);
  if (cut) {
    response.destroy();
    if (stream !== response) (stream as unknown as { destroy: () => void }).destroy();
  }
  headers.delete('content-encoding');
  return { status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', headers, bytes, cut };
}

function decoded(response: IncomingMessage): NodeJS.ReadableStream {
  const encoding = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return response;
  response.on('error', (error) => decoder.destroy(error));
  return response.pipe(decoder);
}

/** At most MAX_RESPONSE_BYTES; the rest is not read. */
async function readBody(stream: NodeJS.ReadableStream): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (total + chunk.length > MAX_RESPONSE_BYTES) {
      chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - total));
      return { bytes: Buffer.concat(chunks, MAX_RESPONSE_BYTES), cut: true };
    }
    chunks.push(chunk);
    total += chunk.length;
  }
  return { bytes: Buffer.concat(chunks, total), cut: false };
}
