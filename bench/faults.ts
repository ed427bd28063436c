/**
 * Faults bench (issue 18): what a fault costs under load, against a real gateway process on loopback.
 *
 *   npm run bench:faults                          # every scenario, 100 clients
 *   npm run bench:faults -- --only load,crash --clients 50 --calls 20 --churn 500
 *   npm run bench:faults -- --max-concurrent 16 --max-queue 64    # other `defaults:` to compare
 *
 * Scenarios (backends are the test fixture, one per scenario):
 *   load     CLIENTS clients (half 2025 sessions, half 2026) × CALLS echo calls at once on one backend
 *   crash    CLIENTS clients keep calling a 100 ms tool; after 1 s the backend is SIGKILLed; recovery is
 *            the time from the kill to the end of the first later call that succeeds
 *   slow     CLIENTS clients on a backend whose calls take 1 s, beside 8 clients on a fast one:
 *            the fast one's latency against the same 8 clients alone
 *   abandon  20 callers per era whose connection drops while their 10 s call runs at the backend
 *            (no cancellation from the client): how many the backend saw cancelled
 *   churn    CHURN × (v1 client connects, calls, closes without DELETE): sessions alive, heap
 * Each prints calls, errors by code, wrong results, recovery, cancellations, sessions alive, and the
 * gateway's RSS and heap after a full GC and its open file descriptors. Bounded: a hard deadline ends it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fixturePath, percentile, repoRoot, round, sleep, tsxLoader } from './util.js';
import { RESUME_GRACE_MS } from '../src/http/sessions.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    clients: { type: 'string', default: '100' },
    calls: { type: 'string', default: '50' },
    churn: { type: 'string', default: '2000' },
    'max-concurrent': { type: 'string' },
    'max-queue': { type: 'string' },
  },
});
const int = (name: string, raw: string | undefined, max: number) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
  return n;
};
const CLIENTS = int('clients', values.clients, 500);
const CALLS = int('calls', values.calls, 1000);
const CHURN = int('churn', values.churn, 10_000);
const SCENARIOS = ['load', 'crash', 'slow', 'abandon', 'churn'] as const;
const only = values.only ? values.only.split(',') : [...SCENARIOS];
for (const s of only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}; one of ${SCENARIOS}`);

const hardStop = setTimeout(() => {
  process.stderr.write('bench:faults: hard deadline reached; exiting\n');
  harness?.kill('SIGKILL');
  process.exit(1);
}, 600_000);
hardStop.unref();

// ------------------------------------------------------------------ gateway ----

const dir = mkdtempSync(join(tmpdir(), 'gw-faults-'));
const MARK = `faults${process.pid}`;
const file = (name: string) => join(dir, name);
const fixture = (name: string, env: Record<string, string> = {}) => ({
  command: process.execPath,
  args: [fixturePath, '--name', `${MARK}-${name}`],
  env: { FIXTURE_CALL_LOG: file(`${name}.calls`), FIXTURE_CANCEL_FILE: file(`${name}.cancels`), ...env },
});
const defaults: Record<string, number> = {};
if (values['max-concurrent']) defaults.max_concurrent = int('max-concurrent', values['max-concurrent'], 10_000);
if (values['max-queue']) defaults.max_queue = int('max-queue', values['max-queue'], 100_000);
const config = {
  server: { host: '127.0.0.1', port: 0, watch: false, shutdown_timeout_ms: 3000 },
  capability_dirs: [],
  defaults,
  backends: Object.fromEntries(['load', 'crash', 'slow', 'fast', 'abandon', 'churn'].map((n) => [n, fixture(n)])),
};
writeFileSync(file('config.json'), JSON.stringify(config));

let harness: ChildProcess | undefined;
interface GatewayStats {
  rssMiB: number;
  heapMiB: number;
  fds: number;
}

async function startHarness(): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', tsxLoader, join(repoRoot, 'bench/faults-gateway.ts'), file('config.json')],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  harness = child;
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const ready = /READY (\S+)/.exec(String(chunk));
      if (ready) resolve(ready[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited with ${code}`)));
  });
}

function gatewayStats(): Promise<GatewayStats> {
  return new Promise((resolve) => {
    harness!.once('message', (m) => resolve(m as GatewayStats));
    harness!.send('stats');
  });
}

async function sessionsAlive(url: string): Promise<number | undefined> {
  const health = (await (await fetch(new URL('/health', url))).json()) as { sessions?: number };
  return health.sessions;
}

// ------------------------------------------------------------------ clients ----

type Era = '2025' | '2026';
async function connect(url: string, era: Era, fetchImpl?: typeof fetch): Promise<Client> {
  const client = new Client(
    { name: `faults-${era}`, version: '1' },
    { versionNegotiation: { mode: era === '2026' ? { pin: '2026-07-28' } : 'legacy' } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), fetchImpl ? { fetch: fetchImpl } : undefined));
  return client;
}

interface Outcome {
  start: number;
  end: number;
  code: string; // 'ok' or the error code
  wrong: boolean;
}

/** One invoke; the error code of an isError answer, or `exception` when the call threw. */
async function invoke(client: Client, server: string, tool: string, args: Record<string, unknown>, expectEcho?: unknown): Promise<Outcome> {
  const start = performance.now();
  try {
    const result = (await client.callTool({ name: 'invoke', arguments: { server, tool, arguments: args } }, { timeout: 120_000 })) as {
      isError?: boolean;
      content?: Array<{ text?: string }>;
      structuredContent?: { echoed?: unknown };
    };
    const end = performance.now();
    if (result.isError) {
      let code = 'tool_error';
      try {
        code = (JSON.parse(result.content?.[0]?.text ?? '') as { error?: { code?: string } }).error?.code ?? code;
      } catch {}
      return { start, end, code, wrong: false };
    }
    const wrong = expectEcho !== undefined && JSON.stringify(result.structuredContent?.echoed) !== JSON.stringify(expectEcho);
    return { start, end, code: 'ok', wrong };
  } catch {
    return { start, end: performance.now(), code: 'exception', wrong: false };
  }
}

const byCode = (outcomes: Outcome[]) => {
  const counts: Record<string, number> = {};
  for (const o of outcomes) if (o.code !== 'ok') counts[o.code] = (counts[o.code] ?? 0) + 1;
  return Object.keys(counts).length
    ? Object.entries(counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : 'none';
};
const latency = (outcomes: Outcome[]) => {
  const ms = outcomes.map((o) => o.end - o.start).sort((a, b) => a - b);
  return `p50 ${round(percentile(ms, 50), 1)} ms, p99 ${round(percentile(ms, 99), 1)} ms`;
};
const lines = (name: string) => (existsSync(file(name)) ? readFileSync(file(name), 'utf8').split('\n').filter(Boolean).length : 0);

async function clients(url: string, n: number): Promise<Client[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => connect(url, i % 2 === 0 ? '2025' : '2026')));
}
const closeAll = (list: Client[]) => Promise.all(list.map((c) => c.close().catch(() => {})));

// ------------------------------------------------------------------ scenarios ----

type Report = Record<string, string | number | undefined>;

async function load(url: string): Promise<Report> {
  const list = await clients(url, CLIENTS);
  const t0 = performance.now();
  const outcomes = (
    await Promise.all(
      list.map(async (client, c) => {
        const mine: Outcome[] = [];
        for (let i = 0; i < CALLS; i++) {
          const message = `c${c}-${i}`;
          mine.push(await invoke(client, 'load', 'echo', { message }, { message }));
        }
        return mine;
      }),
    )
  ).flat();
  const seconds = (performance.now() - t0) / 1000;
  await closeAll(list);
  return {
    calls: outcomes.length,
    errors: byCode(outcomes),
    wrong: outcomes.filter((o) => o.wrong).length,
    latency: latency(outcomes),
    'calls/s': round(outcomes.length / seconds, 0),
  };
}

async function crash(url: string): Promise<Report> {
  const list = await clients(url, CLIENTS);
  const pidResult = (await list[0]!.callTool({ name: 'invoke', arguments: { server: 'crash', tool: 'pid', arguments: {} } })) as {
    structuredContent?: { pid?: number };
  };
  const pid = pidResult.structuredContent?.pid;
  if (!pid) throw new Error('no pid from the crash backend');
  const outcomes: Outcome[] = [];
  const until = performance.now() + 4000;
  let killAt = 0;
  const killer = sleep(1000).then(() => {
    killAt = performance.now();
    process.kill(pid, 'SIGKILL');
  });
  await Promise.all(
    list.map(async (client) => {
      while (performance.now() < until) outcomes.push(await invoke(client, 'crash', 'slow', { ms: 100 }));
    }),
  );
  await killer;
  await closeAll(list);
  const firstOk = outcomes.filter((o) => o.code === 'ok' && o.start >= killAt).sort((a, b) => a.end - b.end)[0];
  const failed = outcomes.filter((o) => o.code !== 'ok');
  const atBackendAtKill = outcomes.filter((o) => o.start < killAt && o.end >= killAt).length;
  return {
    calls: outcomes.length,
    errors: byCode(outcomes),
    'calls open at the kill (running or queued)': atBackendAtKill,
    'failed calls started after the kill': failed.filter((o) => o.start >= killAt).length,
    'recovery ms': firstOk ? round(firstOk.end - killAt, 0) : 'never',
  };
}

async function slow(url: string): Promise<Report> {
  const fastClients = await clients(url, 8);
  const fastRound = async (ms: number) => {
    const out: Outcome[] = [];
    const until = performance.now() + ms;
    await Promise.all(
      fastClients.map(async (client, c) => {
        for (let i = 0; performance.now() < until; i++) out.push(await invoke(client, 'fast', 'echo', { i, c }, { i, c }));
      }),
    );
    return out;
  };
  await fastRound(500); // starts the fast backend: its start is not a latency
  const alone = await fastRound(2000);
  const slowClients = await clients(url, CLIENTS);
  const slowOutcomes: Outcome[] = [];
  let running = true;
  const slowLoad = Promise.all(
    slowClients.map(async (client) => {
      while (running) slowOutcomes.push(await invoke(client, 'slow', 'slow', { ms: 1000 }));
    }),
  );
  await sleep(500);
  const beside = await fastRound(3000);
  running = false;
  await slowLoad;
  await closeAll([...fastClients, ...slowClients]);
  return {
    'fast calls': alone.length + beside.length,
    'fast errors': byCode([...alone, ...beside]),
    'fast wrong': [...alone, ...beside].filter((o) => o.wrong).length,
    'fast alone': latency(alone),
    'fast beside the slow one': latency(beside),
    'slow calls': slowOutcomes.length,
    'slow errors': byCode(slowOutcomes),
    'slow latency': latency(slowOutcomes),
  };
}

async function abandon(url: string): Promise<Report> {
  const report: Report = {};
  for (const era of ['2025', '2026'] as const) {
    const before = { reached: lines('abandon.calls'), cancelled: lines('abandon.cancels') };
    const n = 20;
    await Promise.all(
      Array.from({ length: n }, async () => {
        // The connection drops without a word: the client's fetch is aborted, no notifications/cancelled is sent.
        const drop = new AbortController();
        const dropping: typeof fetch = (input, init) =>
          fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, drop.signal]) : drop.signal });
        const client = await connect(url, era, dropping);
        const call = invoke(client, 'abandon', 'slow', { ms: 10_000 });
        const reachedBefore = lines('abandon.calls');
        for (let i = 0; i < 100 && lines('abandon.calls') === reachedBefore; i++) await sleep(50);
        await sleep(200);
        drop.abort();
        await call;
        await client.close().catch(() => {});
      }),
    );
    // A resumable (2025-11-25) stream's call is cancelled only after the resume grace: wait past it.
    await sleep(RESUME_GRACE_MS + 1500);
    const reached = lines('abandon.calls') - before.reached;
    const cancelled = lines('abandon.cancels') - before.cancelled;
    report[`${era}: reached the backend`] = reached;
    report[`${era}: cancelled at the backend`] = `${cancelled} (${round((100 * cancelled) / Math.max(1, reached), 0)}%)`;
  }
  return report;
}

async function churn(url: string): Promise<Report> {
  const cold = await gatewayStats();
  // Warm up first (these sessions are ended with DELETE): the first calls load the client SDK, start the
  // backend and compile schemas, a one-time cost that is not what churn leaves behind.
  for (let i = 0; i < 20; i++) {
    const client = new ClientV1({ name: 'warm', version: '1' });
    const transport = new TransportV1(new URL(url));
    await client.connect(transport);
    await client.callTool({ name: 'invoke', arguments: { server: 'churn', tool: 'echo', arguments: { i } } });
    await transport.terminateSession().catch(() => {});
    await client.close().catch(() => {});
  }
  const before = await gatewayStats();
  const sessionsBefore = await sessionsAlive(url);
  let failed = 0;
  const t0 = performance.now();
  const parallel = 8;
  await Promise.all(
    Array.from({ length: parallel }, async (_, w) => {
      for (let i = w; i < CHURN; i += parallel) {
        const client = new ClientV1({ name: 'churn', version: '1' });
        try {
          await client.connect(new TransportV1(new URL(url)));
          await client.callTool({ name: 'invoke', arguments: { server: 'churn', tool: 'echo', arguments: { i } } });
        } catch {
          failed++;
        }
        await client.close().catch(() => {}); // the v1 client sends no DELETE
      }
    }),
  );
  const after = await gatewayStats();
  return {
    cycles: CHURN,
    'failed cycles': failed,
    s: round((performance.now() - t0) / 1000, 1),
    'sessions alive before / after': `${sessionsBefore ?? '?'} / ${(await sessionsAlive(url)) ?? '?'}`,
    'heap after GC cold / warm / after (MiB)': `${round(cold.heapMiB, 1)} / ${round(before.heapMiB, 1)} / ${round(after.heapMiB, 1)}`,
    'heap per live session (KiB)': round(
      ((after.heapMiB - before.heapMiB) * 1024) / Math.max(1, ((await sessionsAlive(url)) ?? 0) - (sessionsBefore ?? 0)),
      1,
    ),
  };
}

// ------------------------------------------------------------------ run ----

const url = await startHarness();
const runners = { load, crash, slow, abandon, churn };
try {
  console.log(`bench:faults: ${CLIENTS} clients, ${CALLS} calls each (load), ${CHURN} churn cycles; defaults ${JSON.stringify(defaults)}`);
  for (const name of only as Array<keyof typeof runners>) {
    const report = await runners[name](url);
    const stats = await gatewayStats();
    report['sessions alive'] = await sessionsAlive(url);
    report['gateway RSS / heap after GC (MiB)'] = `${round(stats.rssMiB, 1)} / ${round(stats.heapMiB, 1)}`;
    report['gateway open fds'] = stats.fds;
    console.log(`\n## ${name}`);
    for (const [k, v] of Object.entries(report)) console.log(`  ${k}: ${v}`);
  }
} finally {
  harness?.send('close');
  await new Promise((r) => harness?.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
