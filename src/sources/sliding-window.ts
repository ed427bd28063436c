/**
 * An exact sliding-window rate limit: a call is admitted when fewer than `calls` calls were admitted in the
 * last `perMs`. Limits are given per check, so a reload's new values apply at once. Used for a backend's
 * `rate_limit` (CallGuard) and per principal (access/rate-limit.ts).
 */
export class SlidingWindow {
  /** Admitted calls still inside the window, oldest first (`times[head…]`). */
  private times: number[] = [];
  private head = 0;

  /** Undefined when admitted (and counted), else ms until a call would be. */
  admit(now: number, calls: number, perMs: number): number | undefined {
    const since = now - perMs;
    while (this.head < this.times.length && this.times[this.head]! <= since) this.head++;
    // Drop the consumed prefix once it is most of the array, so the array stays proportional to the window.
    if (this.head > 32 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    if (this.times.length - this.head < calls) {
      this.times.push(now);
      return undefined;
    }
    // A reload may have lowered `calls`: the call is admitted when enough older ones have left the window.
    const oldest = this.times[this.times.length - calls]!;
    return Math.max(1, oldest + perMs - now);
  }

  /** The newest admitted call, if any is still kept. */
  get newest(): number | undefined {
    return this.times.length > this.head ? this.times[this.times.length - 1] : undefined;
  }
}
