/**
 * Two gateway replicas (the CLI, separate processes) behind a real HAProxy running the shipped
 * deploy/haproxy/haproxy.cfg, driven by the real v1 and v2 SDK clients through the balancer.
 * Skipped when haproxy is not installed (Debian: apt-get install -y haproxy).
 */
import { Client as ClientV2, SdkHttpError, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { FAILSAFE_DEFAULTS } from '../src/config/schema.js';
import { type ClientKind, connectClient, eventually, type FrontClient, fixtureBackend } from './helpers.js';
import {
  type Balancer,
  findBinary,
  parentPid,
  type Replica,
  removeTmpDirs,
  SHIPPED_HAPROXY_CONFIG,
  startBalancer,
  startReplica,
  stopAll,
} from './scale-harness.js';

const haproxy = findBinary('haproxy');
if (!haproxy) console.warn('scale-balancer: SKIPPED, haproxy is not installed (Debian: apt-get install -y haproxy)');

const TOKEN = 'scale-test-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const INFO = { name: 'scale-test', version: '1.0.0' };

function replicaConfig() {
  return {
    server: { host: '127.0.0.1', watch: false, allowed_hosts: ['localhost', '127.0.0.1'], shutdown_timeout_ms: 1_000 },
    auth: { keys: [{ name: 'tester', token: TOKEN }] },
    backends: { fixture: fixtureBackend() },
  };
}

/** Replica pid → the fixture backend pids seen under it. */
const backendPids = new Map<number, Set<number>>();

/** Which replica answered: the fixture backend's pid, then its parent (the replica process). */
async function replicaOf(call: () => Promise<object>): Promise<number> {
  const result = (await call()) as { structuredContent?: { pid?: unknown } };
  const pid = result.structuredContent?.pid;
  if (typeof pid !== 'number') throw new Error(`no pid in ${JSON.stringify(result)}`);
  const parent = parentPid(pid);
  backendPids.set(parent, (backendPids.get(parent) ?? new Set()).add(pid));
  return parent;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
const pidVia = (client: FrontClient) => replicaOf(() => client.call('invoke', { server: 'fixture', tool: 'pid' }));

/**
 * What an application does when its 2025-era session is gone (HTTP 404): neither SDK re-initializes by
 * itself — both surface the 404 as an error — so the application connects anew (a new transport and
 * client: initialize, a new session on a live replica) and repeats the call.
 */
class ReconnectingV2 {
  client!: ClientV2;
  reconnects = 0;
  constructor(private readonly url: string) {}
  async connect(): Promise<this> {
    this.client = new ClientV2(INFO, { versionNegotiation: { mode: 'legacy' } });
    await this.client.connect(new TransportV2(new URL(this.url), { requestInit: { headers: AUTH } }));
    return this;
  }
  async callTool(name: string, args: Record<string, unknown>) {
    try {
      return await this.client.callTool({ name, arguments: args });
    } catch (error) {
      if (!(error instanceof SdkHttpError && error.status === 404)) throw error;
      this.reconnects++;
      await this.client.close().catch(() => {});
      await this.connect();
      return this.client.callTool({ name, arguments: args });
    }
  }
}

class ReconnectingV1 {
  client!: ClientV1;
  reconnects = 0;
  constructor(private readonly url: string) {}
  async connect(): Promise<this> {
    this.client = new ClientV1(INFO);
    await this.client.connect(new TransportV1(new URL(this.url), { requestInit: { headers: AUTH } }));
    return this;
  }
  async callTool(name: string, args: Record<string, unknown>) {
    try {
      return await this.client.callTool({ name, arguments: args }, CallToolResultSchema);
    } catch (error) {
      if (!(error instanceof StreamableHTTPError && error.code === 404)) throw error;
      this.reconnects++;
      await this.client.close().catch(() => {});
      await this.connect();
      return this.client.callTool({ name, arguments: args }, CallToolResultSchema);
    }
  }
}

describe.skipIf(!haproxy)('HAProxy in front of two gateway replicas (shipped deploy/haproxy/haproxy.cfg)', () => {
  let replicas: Replica[] = [];
  let lb: Balancer;
  const clients: Array<{ close(): Promise<void> }> = [];
  const replicaPids = () => replicas.map((r) => r.pid);

  beforeAll(async () => {
    replicas = await Promise.all([startReplica('gw1', replicaConfig()), startReplica('gw2', replicaConfig())]);
    lb = await startBalancer(haproxy!, replicas);
    await lb.waitServers('UP', ['gw1', 'gw2']);
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await stopAll();
    removeTmpDirs();
  });

  it('checks each replica over HTTP on /ready (L7OK)', async () => {
    const servers = await lb.servers();
    expect(servers.gw1).toEqual({ status: 'UP', check: 'L7OK' });
    expect(servers.gw2).toEqual({ status: 'UP', check: 'L7OK' });
  });

  it('spreads 2026-era requests round-robin over the replicas', async () => {
    const client = await connectClient('v2-2026', lb.url, AUTH);
    clients.push(client);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push(await pidVia(client));
    expect(new Set(seen)).toEqual(new Set(replicaPids()));
    // One client, one request at a time: consecutive requests go to the other replica.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
  });

  for (const kind of ['v1', 'v2-2025'] as ClientKind[]) {
    it(`keeps every request of a 2025-era session (${kind}) on the replica that opened it; new sessions spread`, async () => {
      const homes: number[] = [];
      for (let s = 0; s < 2; s++) {
        const client = await connectClient(kind, lb.url, AUTH);
        clients.push(client);
        const first = await pidVia(client);
        for (let i = 0; i < 4; i++) expect(await pidVia(client)).toBe(first);
        expect(await client.listToolNames()).toContain('invoke');
        expect(await pidVia(client)).toBe(first);
        homes.push(first);
      }
      expect(new Set(homes)).toEqual(new Set(replicaPids()));
    });
  }

  for (const kind of ['v1', 'v2-2025', 'v2-2026'] as ClientKind[]) {
    it(`streams progress notifications through the balancer before the call ends (${kind})`, async () => {
      const client = await connectClient(kind, lb.url, AUTH);
      clients.push(client);
      // A minute-long call: its first progress can only arrive before its result if nothing buffers the stream.
      const controller = new AbortController();
      let progress = 0;
      const outcome = await client
        .call(
          'invoke',
          { server: 'fixture', tool: 'slow', arguments: { ms: 60_000 } },
          {
            signal: controller.signal,
            onprogress: () => {
              progress++;
              controller.abort();
            },
          },
        )
        .then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
      expect(progress).toBeGreaterThanOrEqual(1);
      expect(outcome).toHaveProperty('error'); // cancelled by us on the first progress, long before 60 s
    });
  }

  it('gives responses more silence than a backend call may take, and sessions at least their idle limit', () => {
    const text = readFileSync(SHIPPED_HAPROXY_CONFIG, 'utf8');
    const duration = (pattern: RegExp) => {
      const match = pattern.exec(text);
      if (!match) throw new Error(`no ${pattern} in haproxy.cfg`);
      const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
      return Number(match[1]) * unit;
    };
    const defaults = parseConfig('{}', { file: '/tmp/none.yaml' });
    const longestCall = FAILSAFE_DEFAULTS.timeoutMs;
    expect(duration(/^\s*timeout server (\d+)(ms|s|m|h)\s*$/m)).toBeGreaterThan(longestCall);
    expect(duration(/^\s*timeout client (\d+)(ms|s|m|h)\s*$/m)).toBeGreaterThan(longestCall);
    expect(duration(/^\s*stick-table .* expire (\d+)(ms|s|m|h)\s*$/m)).toBeGreaterThanOrEqual(defaults.limits.session_idle_ms);
  });

  // Last: it kills a replica.
  it('when a replica dies: only 2026 calls in flight there fail; its 2025 sessions get 404 and the clients recover by connecting anew', async () => {
    // 2025 sessions of both SDKs on each replica: open sessions until each replica holds one of each.
    const pidOf = async (c: ReconnectingV1 | ReconnectingV2) => replicaOf(() => c.callTool('invoke', { server: 'fixture', tool: 'pid' }));
    const sessions: Array<{ client: ReconnectingV1 | ReconnectingV2; home: number }> = [];
    for (const make of [() => new ReconnectingV1(lb.url), () => new ReconnectingV2(lb.url)]) {
      const homes = new Set<number>();
      for (let i = 0; i < 6 && homes.size < 2; i++) {
        const client = await make().connect();
        clients.push(client.client);
        const home = await pidOf(client);
        if (homes.has(home)) continue;
        homes.add(home);
        sessions.push({ client, home });
      }
      expect(homes).toEqual(new Set(replicaPids()));
    }

    // Two 2026 calls in flight, one on each replica (consecutive requests alternate), both reporting progress.
    // Neither SDK fails a request whose response stream breaks: it waits for its request timeout. With
    // `resetTimeoutOnProgress`, a long call that reports progress is not cut, and one whose stream died is.
    const modern = new ClientV2(INFO, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await modern.connect(new TransportV2(new URL(lb.url), { requestInit: { headers: AUTH } }));
    clients.push(modern);
    const modernPid = () => replicaOf(() => modern.callTool({ name: 'invoke', arguments: { server: 'fixture', tool: 'pid' } }));
    const started = new Set<number>();
    const inFlight = [0, 1].map((i) =>
      modern
        .callTool(
          { name: 'invoke', arguments: { server: 'fixture', tool: 'slow', arguments: { ms: 6_000 } } },
          { onprogress: () => void started.add(i), timeout: 4_000, resetTimeoutOnProgress: true },
        )
        .then(
          (result) => ({ ok: !result.isError, error: undefined }),
          (error: unknown) => ({ ok: false, error }),
        ),
    );
    await eventually(() => started.size === 2, 'both slow calls report progress');

    const victim = replicas[0]!;
    const survivor = replicas[1]!;
    const victimBackends = backendPids.get(victim.pid)!;
    expect(victimBackends.size).toBeGreaterThan(0);
    await victim.crash(); // SIGKILL: no drain, sockets reset

    const settled = await Promise.all(inFlight);
    expect(settled.filter((s) => s.ok)).toHaveLength(1); // the one on the survivor completes
    const failed = settled.filter((s) => !s.ok);
    expect(failed).toHaveLength(1); // the one on the dead replica fails, at its request timeout
    expect(String(failed[0]!.error)).toMatch(/timed out/i);

    // New 2026 calls all succeed, at once (a refused connection is retried on the other replica) and after
    // the health check has marked the replica down.
    for (let i = 0; i < 4; i++) expect(await modernPid()).toBe(survivor.pid);
    await lb.waitServers('DOWN', ['gw1']);
    expect((await lb.servers()).gw1?.check).toMatch(/^L4/); // connection refused
    for (let i = 0; i < 4; i++) expect(await modernPid()).toBe(survivor.pid);

    // 2025 sessions: those on the dead replica see 404 once, reconnect, and land on the survivor;
    // those on the survivor keep their session.
    for (const { client, home } of sessions) {
      expect(await pidOf(client)).toBe(survivor.pid);
      expect(client.reconnects).toBe(home === victim.pid ? 1 : 0);
      clients.push(client.client);
    }

    // The dead replica's watchdog ended its backend: nothing is left behind.
    await eventually(() => [...victimBackends].every((pid) => !isAlive(pid)), "the dead replica's backend exits");
  });
});
