import { isJSONRPCRequest, type RequestId, type Transport } from '@modelcontextprotocol/server';

/**
 * A 2025 session outlives any one HTTP request, so when the connection carrying a POST drops, the SDK
 * keeps running that POST's requests: their answers have nowhere to go, yet each would hold a backend
 * slot until its timeout. So the session is given what the client would have sent had it cancelled:
 * `notifications/cancelled` for each request of that POST. The SDK aborts those handlers, and `invoke`
 * cancels the backend call. A request that already finished is unknown to the SDK by then, so its
 * cancellation is a no-op. Streams that can be resumed (2025-11-25 and later) are cancelled only after
 * a grace time (ResumeGrace, resume.ts); the others as soon as the connection drops.
 */

/** The ids of the requests in a POST body (not its notifications or responses). */
export function requestIds(body: unknown): RequestId[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.filter((m) => isJSONRPCRequest(m)).map((m) => m.id);
}

export function cancelRequests(transport: Transport, ids: readonly RequestId[], reason: string): void {
  for (const requestId of ids) {
    transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason } });
  }
}

/**
 * Cancel `ids` when the request's connection drops, or now if it already has (@hono/node-server aborts
 * the request's signal when the connection closes before the response is finished).
 */
export function cancelOnDisconnect(signal: AbortSignal, transport: Transport, ids: readonly RequestId[]): void {
  if (ids.length === 0) return;
  const cancel = () => cancelRequests(transport, ids, 'the client disconnected');
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
}
