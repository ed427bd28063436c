/**
 * 2026 `subscriptions/listen` streams: long-lived, so bounded like 2025 sessions. At most `total` open at
 * once on a gateway, and one key at most a quarter of them, so a key opening streams in a loop cannot shut
 * the others out. A stream's resource subscriptions at the backends (`hold`) are taken only once the SDK
 * has accepted the listen (its answer is an event stream) and let go when that stream ends or its client
 * goes away; a refused listen holds nothing.
 */
export interface ListenLimits {
  total: number;
}

export class ListenStreams {
  private readonly byKey = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: () => ListenLimits) {}

  get size(): number {
    return this.total;
  }

  /** Why a key may not open one more stream now, or undefined. */
  refusal(key: string): string | undefined {
    const { total } = this.limits();
    const perKey = Math.max(1, Math.ceil(total / 4));
    if (this.total >= total) return `Subscription limit reached: ${total} listen streams are open on this gateway`;
    if ((this.byKey.get(key) ?? 0) >= perKey) return `Subscription limit reached: this key holds ${perKey} open listen streams`;
    return undefined;
  }

  /**
   * Serve one listen request with `fetch` (the SDK), counted for `key` while its stream is open; `hold`
   * takes what the stream needs at the backends and gives it back when the signal it gets aborts.
   */
  async serve(key: string, signal: AbortSignal, fetch: () => Promise<Response>, hold?: (closed: AbortSignal) => void): Promise<Response> {
    this.count(key, 1);
    let response: Response;
    try {
      response = await fetch();
    } catch (error) {
      this.count(key, -1);
      throw error;
    }
    if (!response.body || !response.headers.get('content-type')?.includes('text/event-stream') || signal.aborted) {
      this.count(key, -1);
      return response;
    }
    const ended = new AbortController();
    ended.signal.addEventListener('abort', () => this.count(key, -1), { once: true });
    signal.addEventListener('abort', () => ended.abort(), { once: true });
    hold?.(ended.signal);
    const body = response.body.pipeThrough(new TransformStream({ flush: () => ended.abort() }));
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  }

  private count(key: string, delta: number): void {
    const next = (this.byKey.get(key) ?? 0) + delta;
    if (next > 0) this.byKey.set(key, next);
    else this.byKey.delete(key);
    this.total += delta;
  }
}
