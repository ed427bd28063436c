import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { Failsafes } from '../config/schema.js';

/** The backend's concurrency limit and queue are full. */
export class BusyError extends Error {
  constructor(backend: string, limit: number, queue: number) {
    super(`${backend} is busy: ${limit} calls running and ${queue} queued; retry shortly`);
    this.name = 'BusyError';
  }
}

/** The backend's rate limit is reached. Not a backend fault: never opens the circuit. */
export class RateLimitedError extends Error {
  constructor(
    backend: string,
    readonly retryAfterMs: number,
  ) {
    super(`${backend} is rate limited; retry in ${Math.ceil(retryAfterMs / 1000)} s`);
    this.name = 'RateLimitedError';
  }
}

/** The circuit is open (or half-open with its one probe call under way): answered at once. */
export class CircuitOpenError extends Error {
  constructor(
    backend: string,
    readonly retryAfterMs: number,
    failures: number,
  ) {
    super(
      retryAfterMs > 0
        ? `${backend} failed ${failures} times in a row; its circuit is open; retry in ${Math.ceil(retryAfterMs / 1000)} s`
        : `${backend} is being probed after repeated failures; retry in a moment`,
    );
    this.name = 'CircuitOpenError';
  }
}

export type CircuitStatus = 'closed' | 'open' | 'half-open';

/**
 * Every call to one backend passes here: rate limit (a sliding window), then the circuit breaker
 * (consecutive backend faults open it; after the reset time exactly one probe call is let through),
 * then the concurrency limit with its bounded queue. Breaker and bulkhead come from cockatiel.
 */
export class CallGuard {
  private readonly breaker;
  private readonly bulkhead;
  private readonly admitted: number[] = [];
  private openedAt = 0;

  constructor(
    private readonly backend: string,
    private readonly settings: Failsafes,
    isFault: (error: unknown) => boolean,
  ) {
    this.breaker = circuitBreaker(handleWhen(isFault), {
      halfOpenAfter: settings.breaker.resetMs,
      breaker: new ConsecutiveBreaker(settings.breaker.failures),
    });
    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
    });
    this.bulkhead = bulkhead(settings.maxConcurrent, settings.maxQueue);
  }

  get circuit(): CircuitStatus {
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'open';
    }
  }

  /** Milliseconds until an open circuit admits its probe (0 when not open). */
  retryAfterMs(): number {
    return this.circuit === 'open' ? Math.max(0, this.openedAt + this.settings.breaker.resetMs - Date.now()) : 0;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    // cockatiel would queue calls that arrive while half-open behind the probe and then run them all;
    // refuse them at once instead, so exactly one probe reaches a backend that just failed.
    if (this.breaker.state === CircuitState.HalfOpen) throw new CircuitOpenError(this.backend, 0, this.settings.breaker.failures);
    this.admitOrThrow();
    try {
      return await this.breaker.execute(() => this.bulkhead.execute(call));
    } catch (error) {
      if (error instanceof BrokenCircuitError)
        throw new CircuitOpenError(this.backend, this.retryAfterMs(), this.settings.breaker.failures);
      if (error instanceof BulkheadRejectedError) throw new BusyError(this.backend, this.settings.maxConcurrent, this.settings.maxQueue);
      throw error;
    }
  }

  private admitOrThrow(): void {
    const limit = this.settings.rateLimit;
    if (!limit) return;
    const now = Date.now();
    while (this.admitted.length > 0 && this.admitted[0]! <= now - limit.perMs) this.admitted.shift();
    if (this.admitted.length >= limit.calls) throw new RateLimitedError(this.backend, this.admitted[0]! + limit.perMs - now);
    this.admitted.push(now);
  }
}
