import { isJSONRPCRequest, type Transport } from '@modelcontextprotocol/server';

/**
 * A 2025 session outlives any one HTTP request, so when the connection carrying a POST drops, the SDK
 * keeps running that POST's requests: their answers have nowhere to go (streams of clients before
 * 2025-11-25 carry no event ids and cannot be resumed; resumable streams go through ResumeGrace in
 * sessions.ts), yet each would hold a backend slot until its timeout. When the request's
 * signal aborts (@hono/node-server aborts it when the connection closes before the response is
 * finished), deliver to the session what the client would have sent: `notifications/cancelled` for
 * each request of that POST. The SDK aborts those handlers, and `invoke` cancels the backend call. A
 * request that already finished is unknown to the SDK by then, so its cancellation is a no-op.
 */
export function cancelOnDisconnect(request: Request, parsedBody: unknown, transport: Transport): void {
  const ids = requestIds(parsedBody);
  if (ids.length === 0) return;
  request.signal.addEventListener(
    'abort',
    () => {
      for (const requestId of ids) {
        transport.onmessage?.({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId, reason: 'the client disconnected' },
        });
      }
    },
    { once: true },
  );
}

function requestIds(body: unknown): Array<string | number> {
  const messages = Array.isArray(body) ? body : [body];
  return messages.filter((m) => isJSONRPCRequest(m)).map((m) => m.id);
}
