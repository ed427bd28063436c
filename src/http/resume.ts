import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';

interface Watched {
  /** Its requests not answered yet. */
  ids: Set<RequestId>;
  /** The connection the stream goes out on now; a drop of an older one (taken over) means nothing. */
  signal: AbortSignal;
  timer?: NodeJS.Timeout;
}

/**
 * Cancellation of a resumable stream's requests when its connection drops, held back for `graceMs`:
 * a client that reconnects with `Last-Event-ID` within that time keeps its calls running and gets
 * their results; one that does not (it left) has them cancelled, so they do not hold backend slots.
 * A resumed stream whose new connection drops is held back again. Holds only streams with requests
 * in flight: an answered request is forgotten.
 */
export class ResumeGrace {
  private readonly streams = new Map<string, Watched>();

  constructor(
    private readonly cancel: (ids: RequestId[]) => void,
    private readonly graceMs: number,
  ) {}

  /** Stream `streamId` carries requests `ids` over the connection of `signal` (aborted when it drops). */
  watch(signal: AbortSignal, streamId: string, ids: RequestId[]): void {
    this.streams.set(streamId, { ids: new Set(ids), signal });
    this.follow(signal, streamId);
  }

  /** A client reconnected to stream `streamId` over the connection of `signal`. */
  resumed(signal: AbortSignal, streamId: string): void {
    const stream = this.streams.get(streamId);
    if (!stream) return; // every request on it was answered
    clearTimeout(stream.timer);
    stream.timer = undefined;
    stream.signal = signal;
    this.follow(signal, streamId);
  }

  /** Request `id` on stream `streamId` was answered (its answer is held for a resume if need be). */
  answered(streamId: string, id: RequestId): void {
    const stream = this.streams.get(streamId);
    if (!stream?.ids.delete(id) || stream.ids.size > 0) return;
    clearTimeout(stream.timer);
    this.streams.delete(streamId);
  }

  /** The session closed: its handlers are aborted anyway. */
  dispose(): void {
    for (const { timer } of this.streams.values()) clearTimeout(timer);
    this.streams.clear();
  }

  private follow(signal: AbortSignal, streamId: string): void {
    const dropped = () => {
      const stream = this.streams.get(streamId);
      if (stream?.signal !== signal) return; // answered, or resumed over another connection since
      stream.timer = setTimeout(() => {
        this.streams.delete(streamId);
        this.cancel([...stream.ids]);
      }, this.graceMs);
      stream.timer.unref();
    };
    if (signal.aborted) dropped();
    else signal.addEventListener('abort', dropped, { once: true });
  }
}

/**
 * The id of the priming event the SDK transport writes first on a resumable POST stream, and the
 * response to send instead (the same bytes; its first chunk was read to find the id). The transport
 * enqueues that event before it returns the response, so the first read does not wait; should it
 * ever have to, no id is reported rather than holding the response back.
 */
export async function primingEventId(response: Response): Promise<{ response: Response; eventId?: string }> {
  if (!response.body || !response.headers.get('content-type')?.includes('text/event-stream')) return { response };
  const reader = response.body.getReader();
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined = reader.read();
  const first = await Promise.race([pending, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
  const text = first?.value ? new TextDecoder().decode(first.value) : '';
  const eventId = /^id: ?(.+)$/m.exec(text)?.[1];
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await (pending ?? reader.read());
      pending = undefined;
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { response: new Response(body, { status: response.status, headers: response.headers }), eventId };
}

/**
 * The request a stored message answers, if it is an answer (a result or an error with an id). What is
 * stored is the SDK's own outgoing messages and `{}` for each priming event, so the shape tells: the SDK's
 * schema guards would parse every result whole once more, and fail, building errors, on every priming event.
 */
export function answeredId(message: JSONRPCMessage): RequestId | undefined {
  const id = (message as { id?: unknown }).id;
  if ((typeof id !== 'string' && typeof id !== 'number') || 'method' in message) return undefined;
  return 'result' in message || 'error' in message ? id : undefined;
}
