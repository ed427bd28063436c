import type { JSONRPCMessage, RequestId, StreamId } from '@modelcontextprotocol/server';

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
 * Which stream a POST's answers go out on. The SDK transport stores a priming event (`{}`) for a resumable
 * POST stream while its handleRequest runs, before it returns the response. The resumable POSTs of one
 * session take turns for that short phase (until the response is returned; the handlers run after it), so
 * the one priming stored during a turn is that POST's: no need to read the stream to learn its event id.
 * Only such POSTs are primed (notifications-only POSTs, older protocol versions and GETs are not).
 */
export class PrimingTurns {
  private last: Promise<unknown> = Promise.resolve();
  private current: { streamId?: StreamId; primings: number } | undefined;

  /** The event store saw a priming event for `streamId`. */
  stored(streamId: StreamId): void {
    if (!this.current) return;
    this.current.primings++;
    this.current.streamId = streamId;
  }

  /** Run `handle` in this session's next turn; `streamId` is set when exactly one priming was stored meanwhile. */
  async run(handle: () => Promise<Response>): Promise<{ response: Response; streamId?: StreamId }> {
    const previous = this.last;
    let release!: () => void;
    this.last = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    const turn = { primings: 0 } as { streamId?: StreamId; primings: number };
    this.current = turn;
    try {
      const response = await handle();
      return { response, streamId: turn.primings === 1 ? turn.streamId : undefined };
    } finally {
      this.current = undefined;
      release();
    }
  }
}

/** A priming event as the SDK transport stores it: an empty object, unlike any JSON-RPC message. */
export function isPriming(message: JSONRPCMessage): boolean {
  for (const _ in message) return false;
  return true;
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
