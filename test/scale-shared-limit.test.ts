/**
 * End to end: two gateways configured with `cluster.shared_rate_limits` behind HAProxy (shipped config)
 * and one real redis-server: a key's invoke limit holds across the replicas, for both eras' clients.
 * Skipped when haproxy or redis-server is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import { connectClient, errorOf, type FrontClient, fixtureBackend, startTestGateway } from './helpers.js';
import { type Balancer, findBinary, type RedisServer, removeTmpDirs, startBalancer, startRedis, stopAll } from './scale-harness.js';

const haproxy = findBinary('haproxy');
const redisServer = findBinary('redis-server');
if (!haproxy || !redisServer)
  console.warn('scale-shared-limit: SKIPPED, needs haproxy and redis-server (Debian: apt-get install -y haproxy redis-server)');

const TOKEN = 'shared-key-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const CALLS = 3;

async function outcomes(client: FrontClient, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const result = await client.call('invoke', { server: 'fixture', tool: 'echo', arguments: { i } });
    seen.push(errorOf(result)?.code ?? 'ok');
  }
  return seen;
}

describe.skipIf(!haproxy || !redisServer)('cluster.shared_rate_limits through a balancer', () => {
  let redis: RedisServer;
  let gateways: RunningGateway[] = [];
  let lb: Balancer;
  beforeAll(async () => {
    redis = await startRedis(redisServer!);
    const config = {
      server: { host: '127.0.0.1', watch: false, allowed_hosts: ['localhost', '127.0.0.1'] },
      auth: { keys: [{ name: 'shared', token: TOKEN, rate_limit: { calls: CALLS, per_ms: 600_000 } }] },
      cluster: { shared_rate_limits: { redis_url: redis.url } },
      backends: { fixture: fixtureBackend() },
    };
    gateways = await Promise.all([startTestGateway(config), startTestGateway(config)]);
    lb = await startBalancer(
      haproxy!,
      gateways.map((g, i) => ({ name: `gw${i + 1}`, port: g.port })),
    );
    await lb.waitServers('UP', ['gw1', 'gw2']);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await stopAll();
    removeTmpDirs();
  });

  it(`a key limited to ${CALLS} calls gets ${CALLS} in all, whichever replica and era serves it`, async () => {
    const modern = await connectClient('v2-2026', lb.url, AUTH);
    const legacy = await connectClient('v1', lb.url, AUTH);
    try {
      const first = await outcomes(modern, 2 * CALLS); // round-robin over both replicas
      expect(first.slice(0, CALLS)).toEqual(Array(CALLS).fill('ok'));
      expect(first.slice(CALLS)).toEqual(Array(CALLS).fill('rate_limited'));
      expect(await outcomes(legacy, 2)).toEqual(['rate_limited', 'rate_limited']);
      const admitted = gateways.map((g) => g.audit.recent().filter((r) => r.outcome === 'ok').length);
      expect(admitted.reduce((a, b) => a + b, 0)).toBe(CALLS);
      expect(admitted.every((n) => n > 0)).toBe(true); // both replicas served some of them
    } finally {
      await Promise.all([modern.close(), legacy.close()]);
    }
  });
});
