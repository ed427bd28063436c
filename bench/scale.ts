/**
 * npm run bench:scale — scale-out on loopback: HAProxy (the shipped deploy/haproxy/haproxy.cfg) in front
 * of 1, 2 and 3 gateway replicas (the built CLI, dist/cli.js, or BENCH_GATEWAY_CLI; each replica its own
 * process with its own stdio fixture backend). Clients of both eras call `invoke` → fixture `echo`:
 * 2026-07-28 (v2 SDK, stateless, round-robin) and 2025 sessions (v1 SDK, sticky). Prints throughput and
 * p50/p99 per replica count, each as a ratio to one replica, then kills one of 3 replicas mid-run and
 * counts what the clients saw.
 *
 * Bounded: each phase stops at CALLS calls or PHASE_MS, whichever comes first. Options:
 *   --calls N (default 1500)  --clients N per era (default 8)  --phase-ms N (default 15000)  --markdown
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { fixtureBackend } from '../test/helpers.js';
import { type Balancer, findBinary, type Replica, removeTmpDirs, startBalancer, startReplica, stopAll } from '../test/scale-harness.js';
import { distCli, ECHO_ARGS, round, summarize } from './util.js';

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '1500' },
    clients: { type: 'string', default: '8' },
    'phase-ms': { type: 'string', default: '15000' },
    markdown: { type: 'boolean', default: false },
  },
});
const CALLS = Number(flags.calls);
const CLIENTS_PER_ERA = Number(flags.clients);
const PHASE_MS = Number(flags['phase-ms']);
/** A call on a replica that dies never gets its response: the client gives up after this. */
const CALL_TIMEOUT_MS = 5_000;
const TOKEN = 'bench-scale-token-0123456789';
const HEADERS = { Authorization: `Bearer ${TOKEN}` };
const INVOKE = { name: 'invoke', arguments: { server: 'fixture', tool: 'echo', arguments: ECHO_ARGS } };

const replicaConfig = {
  server: { host: '127.0.0.1', watch: false, allowed_hosts: ['localhost', '127.0.0.1'], shutdown_timeout_ms: 1_000 },
  auth: { keys: [{ name: 'bench', token: TOKEN }] },
  backends: { fixture: fixtureBackend() },
};

/** One client, either era, with the reconnect an application does on HTTP 404 (session gone). */
interface BenchClient {
  era: '2026' | '2025';
  call(): Promise<void>;
  reconnects: number;
  close(): Promise<void>;
}

async function modernClient(url: string): Promise<BenchClient> {
  const client = new ClientV2({ name: 'bench-2026', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new TransportV2(new URL(url), { requestInit: { headers: HEADERS } }));
  return {
    era: '2026',
    reconnects: 0,
    call: async () => {
      const result = await client.callTool(INVOKE, { timeout: CALL_TIMEOUT_MS });
      if (result.isError) throw new Error(`isError: ${JSON.stringify(result.content).slice(0, 200)}`);
    },
    close: () => client.close(),
  };
}

async function legacyClient(url: string): Promise<BenchClient> {
  const open = async () => {
    const client = new ClientV1({ name: 'bench-2025', version: '1' });
    await client.connect(new TransportV1(new URL(url), { requestInit: { headers: HEADERS } }));
    return client;
  };
  let client = await open();
  const self: BenchClient = {
    era: '2025',
    reconnects: 0,
    call: async () => {
      try {
        const result = await client.callTool(INVOKE, CallToolResultSchema, { timeout: CALL_TIMEOUT_MS });
        if (result.isError) throw new Error(`isError: ${JSON.stringify(result.content).slice(0, 200)}`);
      } catch (error) {
        // The session's replica is gone: initialize again (a new session on a live replica); the call counts as failed.
        if (error instanceof StreamableHTTPError && error.code === 404) {
          self.reconnects++;
          await client.close().catch(() => {});
          client = await open();
        }
        throw error;
      }
    },
    close: async () => {
      await client.close();
    },
  };
  return self;
}

interface PhaseResult {
  replicas: number;
  ok: number;
  ms: number;
  latencies: Record<'2026' | '2025' | 'all', number[]>;
  errors: Record<string, number>;
  reconnects: number;
}

function classify(error: unknown, era: '2026' | '2025'): string {
  if (error instanceof StreamableHTTPError && error.code === 404) return `${era}: HTTP 404, session gone (the client re-initialized)`;
  const text = String((error as Error)?.message ?? error);
  if (/timed out|timeout/i.test(text)) return `${era}: no response, in flight on the dead replica (client timeout ${CALL_TIMEOUT_MS} ms)`;
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return `${era}: ${text.slice(0, 80)}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
}

/** Every client calls in a loop until `calls` calls were started or `phaseMs` passed. */
async function runPhase(lb: Balancer, replicas: number, onProgress?: (done: number) => void): Promise<PhaseResult> {
  const clients: BenchClient[] = [];
  for (let i = 0; i < CLIENTS_PER_ERA; i++) clients.push(await modernClient(lb.url), await legacyClient(lb.url));
  // Warm-up: every replica's backend started, every client's first call made.
  await Promise.all(clients.map((c) => c.call()));
  const result: PhaseResult = { replicas, ok: 0, ms: 0, latencies: { '2026': [], '2025': [], all: [] }, errors: {}, reconnects: 0 };
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + PHASE_MS;
  await Promise.all(
    clients.map(async (client) => {
      while (started < CALLS && performance.now() < deadline) {
        started++;
        const begin = performance.now();
        try {
          await client.call();
          const ms = performance.now() - begin;
          result.ok++;
          result.latencies[client.era].push(ms);
          result.latencies.all.push(ms);
        } catch (error) {
          const kind = classify(error, client.era);
          result.errors[kind] = (result.errors[kind] ?? 0) + 1;
        }
        onProgress?.(started);
      }
    }),
  );
  result.ms = performance.now() - t0;
  result.reconnects = clients.reduce((n, c) => n + c.reconnects, 0);
  await Promise.allSettled(clients.map((c) => c.close()));
  return result;
}

async function cluster(haproxy: string, n: number): Promise<{ replicas: Replica[]; lb: Balancer }> {
  const replicas = await Promise.all(Array.from({ length: n }, (_, i) => startReplica(`gw${i + 1}`, replicaConfig, { cli: distCli })));
  const ready = await fetch(`http://127.0.0.1:${replicas[0]!.port}/ready`);
  if (ready.status !== 200) throw new Error(`${distCli} answers ${ready.status} on /ready (HAProxy's check): rebuild it (npm run build)`);
  const lb = await startBalancer(haproxy, replicas);
  await lb.waitServers(
    'UP',
    replicas.map((r) => r.name),
  );
  return { replicas, lb };
}

async function main(): Promise<void> {
  const haproxy = findBinary('haproxy');
  if (!haproxy) {
    console.error('bench:scale needs haproxy (Debian: apt-get install -y haproxy)');
    process.exitCode = 2;
    return;
  }
  console.error(
    `bench:scale: ${availableParallelism()} cores; ${CLIENTS_PER_ERA}+${CLIENTS_PER_ERA} clients; up to ${CALLS} calls or ${PHASE_MS} ms per phase; gateway ${join(distCli)}`,
  );
  const phases: PhaseResult[] = [];
  for (const n of [1, 2, 3]) {
    const { lb } = await cluster(haproxy, n);
    phases.push(await runPhase(lb, n));
    console.error(`  ${n} replica(s): ${phases.at(-1)!.ok} calls ok`);
    await stopAll();
  }

  // Kill one of three replicas once a third of the calls were started.
  const { replicas, lb } = await cluster(haproxy, 3);
  let killed = false;
  const kill = await runPhase(lb, 3, (started) => {
    if (!killed && started >= CALLS / 3) {
      killed = true;
      void replicas[0]!.crash();
    }
  });
  await stopAll();
  removeTmpDirs();

  const base = phases[0]!;
  const tput = (p: PhaseResult) => (p.ok / p.ms) * 1000;
  const stats = (p: PhaseResult, era: '2026' | '2025' | 'all') => summarize(p.latencies[era]);
  const rows = phases.map((p) => {
    const all = stats(p, 'all');
    const b = stats(base, 'all');
    return [
      String(p.replicas),
      String(p.ok),
      `${round(tput(p), 0)}/s (${round(tput(p) / tput(base))}×)`,
      `${round(all.p50, 1)} ms (${round(all.p50 / b.p50)}×)`,
      `${round(all.p99, 1)} ms (${round(all.p99 / b.p99)}×)`,
      `${round(stats(p, '2026').p50, 1)} / ${round(stats(p, '2025').p50, 1)} ms`,
      String(Object.values(p.errors).reduce((a, b) => a + b, 0)),
    ];
  });
  const header = ['replicas', 'calls ok', 'throughput (× 1 replica)', 'p50 (×)', 'p99 (×)', 'p50 2026 / 2025', 'errors'];
  console.log(table(header, rows, flags.markdown));
  console.log('');
  console.log(
    `one of 3 replicas killed (SIGKILL) after ${Math.round(CALLS / 3)} calls started: ${kill.ok} calls ok, ` +
      `${Object.values(kill.errors).reduce((a, b) => a + b, 0)} failed, ${kill.reconnects} 2025 sessions re-initialized`,
  );
  for (const [kind, count] of Object.entries(kill.errors)) console.log(`  ${count} × ${kind}`);
  console.log('');
  console.log(
    `${availableParallelism()} cores: the balancer, every replica, its backend and these ${2 * CLIENTS_PER_ERA} clients share them, ` +
      'so a ratio near 1× means the machine, not the gateway, is the limit; with a core per replica (and clients elsewhere) ' +
      'throughput would grow with replicas until the balancer or the backends saturate.',
  );
}

function table(header: string[], rows: string[][], markdown: boolean): string {
  if (markdown) return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

main().then(
  () => process.exit(),
  async (error) => {
    console.error(error);
    await stopAll();
    removeTmpDirs();
    process.exit(1);
  },
);
