/**
 * Per-key invoke limits across replicas: counted per replica they admit N× the configured limit
 * (shown through HAProxy with two gateways); `cluster.shared_rate_limits` counts them once in a real
 * redis-server (started here on a loopback port), and falls back to per-replica counting while Redis
 * is unreachable. Skipped when haproxy or redis-server is not installed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/access/principal.js';
import { createInvokeLimiter } from '../src/cluster/invoke-limiter.js';
import { SharedRateLimiter } from '../src/cluster/shared-rate-limit.js';
import { parseConfig } from '../src/config/load.js';
import type { RunningGateway } from '../src/server.js';
import { connectClient, errorOf, type FrontClient, fixtureBackend, startTestGateway } from './helpers.js';
import {
  type Balancer,
  findBinary,
  freePort,
  type RedisServer,
  removeTmpDirs,
  startBalancer,
  startRedis,
  stopAll,
} from './scale-harness.js';

const haproxy = findBinary('haproxy');
const redisServer = findBinary('redis-server');
if (!haproxy) console.warn('scale-rate-limit: balancer tests SKIPPED, haproxy is not installed (Debian: apt-get install -y haproxy)');
if (!redisServer)
  console.warn('scale-rate-limit: Redis tests SKIPPED, redis-server is not installed (Debian: apt-get install -y redis-server)');

const TOKEN = 'limited-key-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const CALLS = 3;

function gatewayConfig(cluster?: Record<string, unknown>) {
  return {
    server: { host: '127.0.0.1', watch: false, allowed_hosts: ['localhost', '127.0.0.1'] },
    auth: { keys: [{ name: 'limited', token: TOKEN, rate_limit: { calls: CALLS, per_ms: 600_000 } }] },
    backends: { fixture: fixtureBackend() },
    ...(cluster ? { cluster } : {}),
  };
}

/** Invoke `echo` `n` times, one at a time; how many were admitted and how many answered rate_limited. */
async function invokeMany(client: FrontClient, n: number) {
  let admitted = 0;
  let limited = 0;
  for (let i = 0; i < n; i++) {
    const result = await client.call('invoke', { server: 'fixture', tool: 'echo', arguments: { i } });
    const error = errorOf(result);
    if (!error) admitted++;
    else if (error.code === 'rate_limited') limited++;
    else throw new Error(`unexpected error ${JSON.stringify(error)}`);
  }
  return { admitted, limited };
}

const principal = (name: string, calls: number, perMs = 600_000): Principal => ({
  name,
  admin: false,
  allows: () => true,
  rateLimit: { calls, perMs },
});

/** Log lines a limiter wrote. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe.skipIf(!haproxy)('per-replica limits behind a balancer', () => {
  let gateways: RunningGateway[] = [];
  let lb: Balancer;
  beforeAll(async () => {
    gateways = await Promise.all([startTestGateway(gatewayConfig()), startTestGateway(gatewayConfig())]);
    lb = await startBalancer(
      haproxy!,
      gateways.map((g, i) => ({ name: `gw${i + 1}`, port: g.port })),
    );
    await lb.waitServers('UP', ['gw1', 'gw2']);
  });
  afterAll(async () => {
    await stopAll();
    await Promise.all(gateways.map((g) => g.close()));
    removeTmpDirs();
  });

  it(`a key limited to ${CALLS} calls gets ${CALLS} from each of 2 replicas: twice its limit`, async () => {
    const client = await connectClient('v2-2026', lb.url, AUTH);
    try {
      expect(await invokeMany(client, 4 * CALLS)).toEqual({ admitted: 2 * CALLS, limited: 2 * CALLS });
      // Each replica admitted its own CALLS: the audit records of each show them.
      for (const gateway of gateways) expect(gateway.audit.recent().filter((r) => r.outcome === 'ok')).toHaveLength(CALLS);
    } finally {
      await client.close();
    }
  });
});

describe.skipIf(!redisServer)('shared rate limits in Redis (cluster.shared_rate_limits)', () => {
  let redis: RedisServer;
  const limiters: Array<{ close(): void }> = [];
  const shared = (url: string, timeoutMs = 1_000) => {
    const { logger, lines } = capture();
    const limiter = new SharedRateLimiter({ redis_url: url, timeout_ms: timeoutMs, key_prefix: `t${Math.random()}:` }, logger);
    limiters.push(limiter);
    return Object.assign(limiter, { lines });
  };
  beforeAll(async () => {
    redis = await startRedis(redisServer!);
  });
  afterAll(async () => {
    for (const limiter of limiters) limiter.close();
    await stopAll();
    removeTmpDirs();
  });

  it('config: the section is optional, has defaults, and a bad URL is a clear error', () => {
    const parse = (cluster: unknown) => parseConfig(JSON.stringify({ cluster }), { file: '/tmp/inline.yaml' });
    expect(parseConfig('{}', { file: '/tmp/inline.yaml' }).cluster).toBeUndefined();
    expect(parse({ shared_rate_limits: { redis_url: 'redis://10.0.0.5:6379/2' } }).cluster?.shared_rate_limits).toEqual({
      redis_url: 'redis://10.0.0.5:6379/2',
      timeout_ms: 250,
      key_prefix: 'mcp-gateway:',
    });
    expect(() => parse({ shared_rate_limits: { redis_url: 'http://10.0.0.5' } })).toThrow(
      /cluster\.shared_rate_limits\.redis_url.*redis:\/\//s,
    );
    expect(() => parse({ shared_rate_limits: { redis_url: 'redis://x', timeout: 5 } })).toThrow(/timeout/);
  });

  it('two replicas share one window per key: exactly `calls` admitted between them, then a retry hint', async () => {
    // Key sets are per prefix: each limiter pair here gets its own.
    const prefix = `pair${Math.random()}:`;
    const { logger } = capture();
    const a = new SharedRateLimiter({ redis_url: redis.url, timeout_ms: 1_000, key_prefix: prefix }, logger);
    const b = new SharedRateLimiter({ redis_url: redis.url, timeout_ms: 1_000, key_prefix: prefix }, logger);
    limiters.push(a, b);
    const key = principal('alice', CALLS, 60_000);
    const answers: Array<number | undefined> = [];
    for (let i = 0; i < 4 * CALLS; i++) answers.push(await (i % 2 === 0 ? a : b).check(key));
    expect(answers.filter((x) => x === undefined)).toHaveLength(CALLS);
    for (const wait of answers.slice(CALLS)) {
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(60_000);
    }
    // Another key has its own window; a key without a limit is never counted.
    expect(await a.check(principal('bob', 1))).toBeUndefined();
    expect(await b.check(principal('bob', 1))).toBeGreaterThan(0);
    expect(await a.check({ name: 'free', admin: false, allows: () => true })).toBeUndefined();
  });

  it('falls back to counting per replica while Redis is down, and shares again once it is back', async () => {
    const port = await freePort();
    let own = await startRedis(redisServer!, { port });
    const a = shared(own.url);
    const key = principal('carol', 2);
    expect(await a.check(key)).toBeUndefined();
    await own.crash();
    // Down: this replica's own window (it never refuses calls because Redis is gone, nor lets all through).
    expect(await a.check(key)).toBeUndefined();
    expect(await a.check(key)).toBeUndefined();
    expect(await a.check(key)).toBeGreaterThan(0);
    expect(a.lines.filter((l) => /unavailable/.test(String(l.msg)))).toHaveLength(1);
    own = await startRedis(redisServer!, { port }); // empty: the shared window starts afresh
    expect(await a.check(key)).toBeUndefined();
    expect(a.lines.some((l) => /available again/.test(String(l.msg)))).toBe(true);
    await own.stop();
  });

  it('uses the password in the URL and never logs it', async () => {
    const secured = await startRedis(redisServer!, { password: 's3cret-redis-pass' });
    const port = new URL(secured.url).port;
    const good = shared(`redis://:s3cret-redis-pass@127.0.0.1:${port}/1`);
    const key = principal('dave', 1);
    expect(await good.check(key)).toBeUndefined();
    expect(await good.check(key)).toBeGreaterThan(0);
    expect(good.lines).toHaveLength(0); // answered by Redis, no fallback
    const wrong = shared(`redis://:wrong-pass-value@127.0.0.1:${port}`);
    expect(await wrong.check(key)).toBeUndefined(); // fallback: its own window is fresh
    expect(wrong.lines).toHaveLength(1);
    expect(JSON.stringify(wrong.lines)).not.toMatch(/wrong-pass-value|s3cret/);
    await secured.stop();
  });

  it('a Redis that accepts but never answers costs at most timeout_ms per call, then the local window applies', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const limiter = shared(`redis://127.0.0.1:${(silent.address() as { port: number }).port}`, 200);
    const key = principal('erin', 1);
    expect(await limiter.check(key)).toBeUndefined();
    expect(await limiter.check(key)).toBeGreaterThan(0);
    expect(String(limiter.lines[0]?.err)).toMatch(/did not answer within 200 ms/);
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('createInvokeLimiter follows the config: local without the section, Redis with it, local again when removed', async () => {
    const { logger } = capture();
    let settings: { redis_url: string; timeout_ms: number; key_prefix: string } | undefined;
    const limiter = createInvokeLimiter(() => settings, logger);
    limiters.push(limiter);
    const key = principal('frank', 1);
    expect(limiter.check(key)).toBeUndefined(); // local: synchronous
    expect(limiter.check(key)).toBeGreaterThan(0);
    settings = { redis_url: redis.url, timeout_ms: 1_000, key_prefix: `cfg${Math.random()}:` };
    expect(await limiter.check(key)).toBeUndefined(); // Redis: a fresh shared window
    expect(await limiter.check(key)).toBeGreaterThan(0);
    settings = undefined;
    expect(limiter.check(key)).toBeGreaterThan(0); // the local window was kept
  });
});
