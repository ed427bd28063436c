import type { Failsafes } from '../config/schema.js';
import { FairLimiter, QueueRefusal, type Refusal } from './limiter.js';
import { SlidingWindow } from './sliding-window.js';

/** No slot of the backend's concurrency limit came free in time, or too many calls already wait for one. */
export class BusyError extends Error {
  constructor(backend: string, refusal: Refusal) {
    super(
      refusal.kind === 'queue_full'
        ? `${backend} is busy: ${refusal.running} calls running and ${refusal.waiting} waiting (the most that may wait); retry shortly`
        : `${backend} is busy: the call waited ${refusal.waitedMs} ms while ${refusal.running} calls were running; retry shortly`,
    );
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
    faults: { faults: number; calls: number },
  ) {
    const count = `${faults.faults} fault${faults.faults === 1 ? '' : 's'} in a row (${faults.calls} failed call${faults.calls === 1 ? '' : 's'})`;
    super(
      retryAfterMs > 0
        ? `${backend} had ${count}; its circuit is open; retry in ${Math.ceil(retryAfterMs / 1000)} s`
        : `${backend} is being probed after ${count}; retry in a moment`,
    );
    this.name = 'CircuitOpenError';
  }
}

export type CircuitStatus = 'closed' | 'open' | 'half-open';

/**
 * A fault may name its cause (`incident`: the connection that died, the start that failed): the faults
 * of every call that one crash or one failed start took down count once toward opening the circuit.
 */
export function incidentOf(error: unknown): object | undefined {
  const incident = (error as { incident?: unknown } | null)?.incident;
  return typeof incident === 'object' && incident !== null ? incident : undefined;
}

export interface GuardOptions {
  /** Who is calling (a session or principal): waiting calls are served a caller at a time, in turn. */
  caller?: string;
  /** The caller gave up: a waiting call leaves the queue, and its failure says nothing about the backend. */
  signal?: AbortSignal;
}

/**
 * Every call to one backend passes here: rate limit (a sliding window), then the circuit breaker,
 * then the concurrency limit (limiter.ts). The breaker opens after `failures` consecutive faults,
 * counting one crash or one failed start once however many calls it failed; while open, calls are
 * answered at once. It lets exactly one probe call through after `reset_ms`, or as soon as the
 * backend has restarted (`recovered()`); the probe's success closes it.
 */
export class CallGuard {
  private state: 'closed' | 'open' = 'closed';
  /** Distinct faults in a row, and the calls they failed. */
  private faults = 0;
  private failedCalls = 0;
  private lastIncident?: object;
  private openedAt = 0;
  /** Set by recovered(): the open circuit admits its probe now instead of at openedAt + reset_ms. */
  private probeEarly = false;
  private probing = false;
  private readonly limiter: FairLimiter;
  private readonly admitted = new SlidingWindow();
  /** Called when the circuit opens (a backend uses it to try a restart in the background). */
  onOpen?: () => void;

  constructor(
    private readonly backend: string,
    private readonly settings: Failsafes,
    private readonly isFault: (error: unknown) => boolean,
  ) {
    this.limiter = new FairLimiter({
      maxConcurrent: settings.maxConcurrent,
      maxQueue: settings.maxQueue,
      maxWaitMs: settings.maxQueueWaitMs,
    });
  }

  /** Calls waiting for a concurrency slot. */
  get queued(): number {
    return this.limiter.queued;
  }

  get circuit(): CircuitStatus {
    if (this.state === 'closed') return 'closed';
    return this.probeEarly || Date.now() >= this.openedAt + this.settings.breaker.resetMs ? 'half-open' : 'open';
  }

  /** Milliseconds until an open circuit admits its probe (0 when not open). */
  retryAfterMs(): number {
    return this.circuit === 'open' ? Math.max(0, this.openedAt + this.settings.breaker.resetMs - Date.now()) : 0;
  }

  /** The backend started again: an open circuit lets its probe through at once. */
  recovered(): void {
    if (this.state === 'open') this.probeEarly = true;
  }

  async run<T>(call: () => Promise<T>, options: GuardOptions = {}): Promise<T> {
    const circuit = this.circuit;
    // Exactly one probe reaches a backend that failed; the calls beside it are answered at once.
    if (circuit === 'open' || (circuit === 'half-open' && this.probing)) throw this.openError();
    this.admitOrThrow();
    const probe = circuit === 'half-open';
    if (probe) this.probing = true;
    try {
      const result = await this.limiter.run(call, options.caller, options.signal);
      this.succeeded();
      return result;
    } catch (error) {
      if (error instanceof QueueRefusal) throw new BusyError(this.backend, error.refusal);
      if (this.isFault(error)) this.failed(error, probe);
      else if (!options.signal?.aborted) this.succeeded(); // the backend answered (e.g. a JSON-RPC error)
      throw error;
    } finally {
      if (probe) this.probing = false;
    }
  }

  private openError(): CircuitOpenError {
    return new CircuitOpenError(this.backend, this.retryAfterMs(), { faults: this.faults, calls: this.failedCalls });
  }

  private succeeded(): void {
    this.state = 'closed';
    this.probeEarly = false;
    this.faults = 0;
    this.failedCalls = 0;
    this.lastIncident = undefined;
  }

  private failed(error: unknown, probe: boolean): void {
    this.failedCalls++;
    const incident = incidentOf(error);
    if (incident === undefined || incident !== this.lastIncident) this.faults++;
    this.lastIncident = incident;
    if (probe || (this.state === 'closed' && this.faults >= this.settings.breaker.failures)) {
      this.state = 'open';
      this.openedAt = Date.now();
      this.probeEarly = false;
      this.onOpen?.();
    }
  }

  private admitOrThrow(): void {
    const limit = this.settings.rateLimit;
    if (!limit) return;
    const wait = this.admitted.admit(Date.now(), limit.calls, limit.perMs);
    if (wait !== undefined) throw new RateLimitedError(this.backend, wait);
  }
}
