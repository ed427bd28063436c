/**
 * The concurrency limit of one backend: at most `maxConcurrent` calls run; the rest wait, each caller in
 * its own lane, and a freed slot goes to the lanes in turn (round robin), so one client sending many
 * calls at once cannot make another client's single call wait behind all of them. A call is refused
 * (`busy`) when `maxQueue` calls already wait, or when it has waited `maxWaitMs` without a slot.
 */

export type Refusal = { kind: 'queue_full'; running: number; waiting: number } | { kind: 'waited'; waitedMs: number; running: number };

export class QueueRefusal extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.kind);
    this.name = 'QueueRefusal';
  }
}

interface Waiter {
  admit(): void;
  fail(error: unknown): void;
}

export interface LimiterSettings {
  maxConcurrent: number;
  maxQueue: number;
  /** 0: wait as long as it takes. */
  maxWaitMs: number;
}

export class FairLimiter {
  private running = 0;
  private waiting = 0;
  /** Lanes by caller, in turn order: a lane served goes to the back. */
  private readonly lanes = new Map<string, Waiter[]>();

  constructor(private readonly settings: LimiterSettings) {}

  get queued(): number {
    return this.waiting;
  }

  async run<T>(call: () => Promise<T>, caller = '', signal?: AbortSignal): Promise<T> {
    // A freed slot is handed straight to a waiter, so a free slot means nobody waits.
    if (this.running < this.settings.maxConcurrent) this.running++;
    else await this.wait(caller, signal);
    try {
      return await call();
    } finally {
      const next = this.nextWaiter();
      if (next) next.admit();
      else this.running--;
    }
  }

  private wait(caller: string, signal: AbortSignal | undefined): Promise<void> {
    const { maxQueue, maxWaitMs } = this.settings;
    if (this.waiting >= maxQueue) throw new QueueRefusal({ kind: 'queue_full', running: this.running, waiting: this.waiting });
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const since = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        admit: () => {
          leave();
          resolve();
        },
        fail: (error) => {
          leave();
          this.remove(caller, waiter);
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (maxWaitMs > 0) {
        timer = setTimeout(
          () => waiter.fail(new QueueRefusal({ kind: 'waited', waitedMs: Math.round(performance.now() - since), running: this.running })),
          maxWaitMs,
        );
      }
      const lane = this.lanes.get(caller);
      if (lane) lane.push(waiter);
      else this.lanes.set(caller, [waiter]);
      this.waiting++;
    });
  }

  private nextWaiter(): Waiter | undefined {
    for (const [caller, lane] of this.lanes) {
      const waiter = lane.shift()!;
      this.lanes.delete(caller);
      if (lane.length > 0) this.lanes.set(caller, lane); // to the back of the turn order
      this.waiting--;
      return waiter;
    }
    return undefined;
  }

  private remove(caller: string, waiter: Waiter): void {
    const lane = this.lanes.get(caller);
    const at = lane?.indexOf(waiter) ?? -1;
    if (!lane || at < 0) return;
    lane.splice(at, 1);
    if (lane.length === 0) this.lanes.delete(caller);
    this.waiting--;
  }
}
