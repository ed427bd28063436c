import { SlidingWindow } from '../sources/sliding-window.js';
import type { Principal } from './principal.js';

/** One principal's window, and the window length last applied to it (a reload may change it). */
interface Window {
  calls: SlidingWindow;
  perMs: number;
}

/** The map is swept for idle names when it has grown to this size (then twice the live size), or this often. */
const SWEEP_MIN_SIZE = 1_024;
const SWEEP_EVERY_MS = 60_000;

/**
 * Per-principal limit on invoke; state kept per principal name (a SlidingWindow each). Memory is bounded: a name
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
      window = { calls: new SlidingWindow(), perMs: limit.perMs };
      this.#windows.set(principal.name, window);
    }
    window.perMs = limit.perMs;
    return window.calls.admit(now, limit.calls, limit.perMs);
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
      const newest = window.calls.newest;
      if (newest === undefined || newest <= now - window.perMs) this.#windows.delete(name);
    }
    this.#sweepAtSize = Math.max(SWEEP_MIN_SIZE, this.#windows.size * 2);
  }
}
