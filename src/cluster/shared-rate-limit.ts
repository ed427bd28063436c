import { createHash, randomUUID } from 'node:crypto';
import type { Principal } from '../access/principal.js';
import { PrincipalRateLimiter } from '../access/rate-limit.js';
import type { SharedRateLimitsConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { RespClient, RespError } from './resp.js';

/**
 * The same exact sliding window as PrincipalRateLimiter, kept in Redis so that every replica counts
 * against one window per principal: a sorted set of admitted calls scored by time. The script runs
 * atomically in Redis and reads Redis's clock, so replicas with skewed clocks still agree.
 * Returns -1 when admitted, else the ms until a call would be.
 */
const SLIDING_WINDOW = `
local calls = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per_ms)
local n = redis.call('ZCARD', KEYS[1])
if n < calls then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], per_ms)
  return -1
end
local oldest = redis.call('ZRANGE', KEYS[1], n - calls, n - calls, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + per_ms - now)
`;
const SCRIPT_SHA = createHash('sha1').update(SLIDING_WINDOW).digest('hex');

/**
 * Per-principal invoke limit shared by every replica through Redis/Valkey. When Redis does not answer
 * within `timeout_ms` (down, unreachable, slow), this replica falls back to counting alone (its own
 * PrincipalRateLimiter, so at most N× the limit across N replicas, never unlimited) and goes back to
 * Redis on the next call that gets an answer. Calls are never refused because Redis is down.
 */
export class SharedRateLimiter {
  readonly #redis: RespClient;
  readonly #prefix: string;
  readonly #fallback: PrincipalRateLimiter;
  readonly #logger: Logger;
  /** Unique members in the sorted sets: this process's id and a counter. */
  readonly #memberPrefix = randomUUID();
  #counter = 0;
  #degraded = false;

  constructor(settings: SharedRateLimitsConfig, logger: Logger, fallback = new PrincipalRateLimiter()) {
    this.#redis = new RespClient(settings.redis_url, settings.timeout_ms);
    this.#prefix = settings.key_prefix;
    this.#fallback = fallback;
    this.#logger = logger;
  }

  /** Resolves to undefined when admitted, else ms until a call is admitted (as PrincipalRateLimiter.check). */
  async check(principal: Principal): Promise<number | undefined> {
    const limit = principal.rateLimit;
    if (!limit) return undefined;
    const key = `${this.#prefix}invoke:${principal.name}`;
    const args = [1, key, limit.calls, limit.perMs, `${this.#memberPrefix}:${++this.#counter}`];
    let answer: unknown;
    try {
      answer = await this.#redis.command(['EVALSHA', SCRIPT_SHA, ...args]).catch((error: unknown) => {
        if (error instanceof RespError && error.message.startsWith('NOSCRIPT'))
          return this.#redis.command(['EVAL', SLIDING_WINDOW, ...args]);
        throw error;
      });
      if (typeof answer !== 'number') throw new Error(`unexpected answer from the rate-limit script: ${JSON.stringify(answer)}`);
    } catch (error) {
      if (!this.#degraded)
        this.#logger.warn(
          { redis: this.#redis.address, err: (error as Error).message },
          'shared rate limits unavailable: this replica counts invoke calls alone until Redis answers',
        );
      this.#degraded = true;
      return this.#fallback.check(principal);
    }
    if (this.#degraded) this.#logger.info({ redis: this.#redis.address }, 'shared rate limits available again');
    this.#degraded = false;
    return answer < 0 ? undefined : answer;
  }

  close(): void {
    this.#redis.close();
  }
}
