import type { Principal } from './principal.js';

/** One principal's admitted calls still inside its window, oldest first (`times[head…]`). */
interface Window {
  times: number[];
  head: number;
  /** The window length last applied to this name (a reload may change it). */
  perMs: number;
}

/** The map is swept for idle names when it has grown to this size (then twice the live size), or this often. */
const SWEEP_MIN_SIZE = 1_024;
const SWEEP_EVERY_MS = 60_000;

/**
 * Per-principal limit on invoke; state kept per principal name. An exact sliding window: a call is
 * admitted when fewer than `calls` calls were admitted in the last `perMs`. Memory is bounded: a name
 * whose window has emptied is dropped by a sweep (amortized over checks), so a stream of distinct
 * OAuth subjects does not grow the map forever.
 */
export class PrincipalRateLimiter {
  readonly #windows = new Map<string, Window>();
  #sweepAtSize = SWEEP_MIN_SIZE;
  #lastSweep = Number.NEGATIVE_INFINITY;

  /** Returns undefined when admitted, else ms until a call is admitted. */
  check(principal: Principal, now: number = Date.now()): number | undefined {
    const limit = principal.rateLimit;
    if (!limit) return undefined;
    this.#maybeSweep(now);
    let window = this.#windows.get(principal.name);
    if (!window) {
      window = { times: [], head: 0, perMs: limit.perMs };
      this.#windows.set(principal.name, window);
    }
    window.perMs = limit.perMs;
    const since = now - limit.perMs;
    while (window.head < window.times.length && (window.times[window.head] as number) <= since) window.head++;
    // Drop the consumed prefix once it is most of the array, so the array stays proportional to the window.
    if (window.head > 32 && window.head * 2 > window.times.length) {
      window.times = window.times.slice(window.head);
      window.head = 0;
    }
    const inWindow = window.times.length - window.head;
    if (inWindow < limit.calls) {
      window.times.push(now);
      return undefined;
    }
    // A reload may have lowered `calls`: the call admitted when enough older ones have left the window.
    const oldest = window.times[window.times.length - limit.calls] as number;
    return Math.max(1, oldest + limit.perMs - now);
  }

  /** Names currently tracked (for tests and metrics). */
  get size(): number {
    return this.#windows.size;
  }

  /** Drop names whose newest call has left their window (they would be admitted afresh anyway). */
  #maybeSweep(now: number): void {
    if (this.#windows.size < this.#sweepAtSize && now - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = now;
    for (const [name, window] of this.#windows) {
      const newest = window.times[window.times.length - 1];
      if (newest === undefined || newest <= now - window.perMs) this.#windows.delete(name);
    }
    this.#sweepAtSize = Math.max(SWEEP_MIN_SIZE, this.#windows.size * 2);
  }
}
