/**
 * Soak: many concurrent clients against an in-process gateway whose backends have injected faults,
 * then the bill — calls, errors against the faults that explain them, processes left, RSS.
 *
 * Loopback only, bounded in time AND count: it stops at --seconds or --calls, whichever comes first,
 * and a hard deadline ends the process if anything hangs.
 *
 *   npm run soak                                   # 60 s or 200,000 calls, 16 clients
 *   npm run soak -- --seconds 20 --calls 5000 --clients 8
 *
 * Backends (all the test fixture, test/fixtures/fixture-server.mjs, each with a unique --name marker):
 *   healthy1, healthy2  no faults; every error here is unexpected
 *   crashy              crashes on every 40th call per process (--crash-after); restarts, backs off
 *   hangs               10% of its calls sleep 2 s against timeout_ms 150; its breaker opens after 3
 *   cycler              idle_timeout_ms 300 and a 200 ms slow start, called rarely: start/stop cycles
 *   reader              a read-only tool that crashes the server once; retried transparently
 *   narrow              max_concurrent 2, max_queue 2, 40 ms calls: overflow answers "busy"
 *   limited             rate_limit 20 calls per second: the excess answers "rate_limited"
 *
 * RSS and heap are measured after a forced garbage collection (exposed at run time), so "after"
 * shows what the run left behind rather than garbage not yet collected.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { parseConfig } from '../src/config/load.js';
import { startGateway } from '../src/server.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    calls: { type: 'string', default: '200000' },
    clients: { type: 'string', default: '16' },
  },
});
const SECONDS = positive('seconds', values.seconds);
const MAX_CALLS = positive('calls', values.calls);
const CLIENTS = Math.min(positive('clients', values.clients), 64);

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`soak: --${name} must be a positive integer\n`);
    process.exit(2);
  }
  return n;
}

// A hard stop, whatever happens: the run, the shutdown and the process count fit well inside it.
const hardStop = setTimeout(
  () => {
    process.stderr.write('soak: hard deadline reached; exiting\n');
    process.exit(1);
  },
  (SECONDS + 90) * 1000,
);
hardStop.unref();

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(repoRoot, 'test/fixtures/fixture-server.mjs');
const MARKER = `soak${process.pid}t${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'gw-soak-'));
const spawnLog = (backend: string) => join(dir, `${backend}.spawns`);

const fixtureBackend = (name: string, flags: string[], extra: Record<string, unknown> = {}) => ({
  command: process.execPath,
  args: [fixture, '--name', `${MARKER}-${name}`, ...flags],
  env: { FIXTURE_SPAWN_LOG: spawnLog(name) },
  ...extra,
});

const config = {
  server: { host: '127.0.0.1', port: 0, shutdown_timeout_ms: 3000, watch: false },
  capability_dirs: [],
  defaults: { timeout_ms: 5000, connect_timeout_ms: 10_000 },
  backends: {
    healthy1: fixtureBackend('healthy1', []),
    healthy2: fixtureBackend('healthy2', []),
    crashy: fixtureBackend('crashy', ['--crash-after', '40'], { circuit_breaker: { failures: 1000 } }),
    hangs: fixtureBackend('hangs', [], { timeout_ms: 150, circuit_breaker: { failures: 3, reset_ms: 1000 } }),
    cycler: fixtureBackend('cycler', ['--start-delay', '200'], { idle_timeout_ms: 300 }),
    reader: fixtureBackend('reader', ['--crash-once-file', join(dir, 'reader.once')]),
    narrow: fixtureBackend('narrow', [], { max_concurrent: 2, max_queue: 2 }),
    limited: fixtureBackend('limited', [], { rate_limit: { calls: 20, per_ms: 1000 } }),
  },
};

interface Op {
  backend: string;
  tool: string;
  args: Record<string, unknown>;
  /** This call is itself an injected fault (a hang). */
  fault?: 'hang';
}

/** A weighted random operation. */
function pick(): Op {
  const r = Math.random();
  const echo = (backend: string): Op => ({ backend, tool: 'echo', args: { message: `soak ${r}` } });
  if (r < 0.2) return echo('healthy1');
  if (r < 0.4) return echo('healthy2');
  if (r < 0.55) return echo('crashy');
  if (r < 0.7) return Math.random() < 0.1 ? { backend: 'hangs', tool: 'slow', args: { ms: 2000 }, fault: 'hang' } : echo('hangs');
  if (r < 0.705) return echo('cycler');
  if (r < 0.75) return { backend: 'reader', tool: 'flaky_read', args: {} };
  if (r < 0.85) return { backend: 'narrow', tool: 'slow', args: { ms: 40 } };
  return echo('limited');
}

interface Tally {
  calls: number;
  ok: number;
  injectedHangs: number;
  errors: Map<string, number>;
  /** Errors of the calls that were injected hangs, by code. */
  hangErrors: Map<string, number>;
}
const tallies = new Map<string, Tally>();
const tally = (backend: string) => {
  const existing = tallies.get(backend);
  if (existing) return existing;
  const t: Tally = { calls: 0, ok: 0, injectedHangs: 0, errors: new Map(), hangErrors: new Map() };
  tallies.set(backend, t);
  return t;
};
const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
let backOffAnswers = 0;
let transportErrors = 0;
const samples: string[] = [];

/** Live (non-zombie) processes with the soak marker on their command line. */
function markedProcesses(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(MARKER)) found.push(`${entry}: ${cmd.trim()}`);
    } catch {
      // ended while we looked
    }
  }
  return found;
}

const spawns = (backend: string) =>
  existsSync(spawnLog(backend)) ? readFileSync(spawnLog(backend), 'utf8').split('\n').filter(Boolean).length : 0;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const signedMb = (bytes: number) => `${bytes >= 0 ? '+' : ''}${mb(bytes)}`;

/** A full garbage collection, without needing --expose-gc on the command line. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function memory(): { rss: number; heap: number; external: number } {
  collectGarbage();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heap: heapUsed, external };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const before = memory();
  const gateway = await startGateway(parseConfig(JSON.stringify(config), { file: join(dir, 'soak.yaml') }));
  if (!gateway.url.startsWith('http://127.0.0.1:')) throw new Error(`not loopback: ${gateway.url}`);

  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      // Half the clients speak the 2025 era (sessions), half the 2026 era (per request).
      const client = new Client(
        { name: `soak-${i}`, version: '1.0.0' },
        { versionNegotiation: { mode: i % 2 === 0 ? 'legacy' : { pin: '2026-07-28' } } },
      );
      await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url)));
      return client;
    }),
  );

  const started = Date.now();
  const deadline = started + SECONDS * 1000;
  let issued = 0;
  const worker = async (client: Client) => {
    while (Date.now() < deadline && issued < MAX_CALLS) {
      issued++;
      const op = pick();
      const t = tally(op.backend);
      t.calls++;
      if (op.fault === 'hang') t.injectedHangs++;
      try {
        const result = (await client.request(
          { method: 'tools/call', params: { name: 'invoke', arguments: { server: op.backend, tool: op.tool, arguments: op.args } } },
          { signal: AbortSignal.timeout(30_000) },
        )) as { isError?: boolean; content?: Array<{ text?: string }>; structuredContent?: { error?: { code?: string } } };
        if (!result.isError) {
          t.ok++;
          continue;
        }
        const code = result.structuredContent?.error?.code ?? 'isError-without-code';
        bump(t.errors, code);
        if (op.fault === 'hang') bump(t.hangErrors, code);
        const message = result.content?.[0]?.text ?? '';
        if (message.includes('next restart attempt in')) backOffAnswers++;
        if (samples.length < 5 && !['rate_limited', 'busy', 'timeout', 'circuit_open'].includes(code))
          samples.push(`${op.backend}: ${message.split('\n')[0]}`);
      } catch (error) {
        transportErrors++;
        bump(t.errors, 'transport');
        if (samples.length < 5) samples.push(`${op.backend}: transport: ${(error as Error).message}`);
      }
    }
  };
  const progress = setInterval(
    () =>
      process.stderr.write(`soak: ${issued} calls, ${Math.round((Date.now() - started) / 1000)} s, RSS ${mb(process.memoryUsage().rss)}\n`),
    10_000,
  );
  await Promise.all(clients.map(worker));
  clearInterval(progress);
  const elapsed = (Date.now() - started) / 1000;
  const processesDuring = markedProcesses().length;

  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  const closeStarted = Date.now();
  await gateway.close();
  const closeMs = Date.now() - closeStarted;
  let left = markedProcesses();
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await sleep(100);
    left = markedProcesses();
  }
  const after = memory();

  // ------------------------------------------------------------- report ----
  const total = [...tallies.values()].reduce((a, t) => a + t.calls, 0);
  const ok = [...tallies.values()].reduce((a, t) => a + t.ok, 0);
  const crashes = { crashy: Math.max(0, spawns('crashy') - 1), reader: Math.max(0, spawns('reader') - 1) };
  const lines: string[] = [];
  lines.push(`soak: ${CLIENTS} clients, ${elapsed.toFixed(1)} s, limit ${SECONDS} s / ${MAX_CALLS} calls`);
  lines.push(`calls: ${total} (${Math.round(total / elapsed)}/s), ok ${ok}, errors ${total - ok}`);
  lines.push('');
  lines.push('backend    calls    ok      errors by code                                   injected faults');
  const injected: Record<string, string> = {
    healthy1: 'none',
    healthy2: 'none',
    crashy: `${crashes.crashy} crashes (crash-after 40; ${spawns('crashy')} spawns)`,
    hangs: `${tally('hangs').injectedHangs} hangs (2 s vs timeout 150 ms)`,
    cycler: `none (${spawns('cycler')} starts: idle-stop cycles)`,
    reader: `${crashes.reader} crash (read-only: retried)`,
    narrow: 'overload (limit 2 + queue 2)',
    limited: 'overload (limit 20 calls/s)',
  };
  for (const name of Object.keys(config.backends)) {
    const t = tally(name);
    const errors = [...t.errors].map(([code, n]) => `${code} ${n}`).join(', ') || '-';
    lines.push(`${name.padEnd(10)} ${String(t.calls).padStart(6)} ${String(t.ok).padStart(6)}   ${errors.padEnd(48)} ${injected[name]}`);
  }
  const unexpected =
    ['healthy1', 'healthy2', 'cycler', 'reader'].reduce((a, n) => a + [...tally(n).errors.values()].reduce((x, y) => x + y, 0), 0) +
    [...tally('crashy').errors].filter(([code]) => code !== 'backend_unavailable').reduce((a, [, n]) => a + n, 0) +
    // On `hangs`, only the hang calls may time out; its echo calls may only meet the open circuit.
    [...tally('hangs').hangErrors].filter(([code]) => code !== 'timeout' && code !== 'circuit_open').reduce((a, [, n]) => a + n, 0) +
    [...tally('hangs').errors]
      .filter(([code]) => code !== 'circuit_open')
      .reduce((a, [code, n]) => a + n - (tally('hangs').hangErrors.get(code) ?? 0), 0) +
    [...tally('narrow').errors].filter(([code]) => code !== 'busy').reduce((a, [, n]) => a + n, 0) +
    [...tally('limited').errors].filter(([code]) => code !== 'rate_limited').reduce((a, [, n]) => a + n, 0);
  lines.push('');
  lines.push(
    `crashy: ${tally('crashy').errors.get('backend_unavailable') ?? 0} backend_unavailable for ${crashes.crashy} crashes (calls in flight at a crash, and ${backOffAnswers} answered during restart back-off)`,
  );
  const hangs = tally('hangs');
  const hangCodes = [...hangs.hangErrors].map(([code, n]) => `${code} ${n}`).join(', ');
  const echoCodes = [...hangs.errors]
    .map(([code, n]) => [code, n - (hangs.hangErrors.get(code) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  lines.push(
    `hangs: the ${hangs.injectedHangs} injected hangs ended as ${hangCodes || 'nothing'}; its ${hangs.calls - hangs.injectedHangs} echo calls had errors ${echoCodes || 'none'}`,
  );
  lines.push(
    `unexpected errors (not explained by an injected fault or a configured limit): ${unexpected}; transport errors: ${transportErrors}`,
  );
  for (const s of samples) lines.push(`  sample: ${s}`);
  lines.push(
    `processes with the soak marker: ${processesDuring} during the run, ${left.length} left after close (close took ${closeMs} ms)`,
  );
  for (const p of left) lines.push(`  left: ${p}`);
  lines.push(
    `RSS: ${mb(before.rss)} before, ${mb(after.rss)} after (${signedMb(after.rss - before.rss)}); JS heap ${mb(before.heap)} before, ${mb(after.heap)} after (${signedMb(after.heap - before.heap)}); external ${mb(before.external)} before, ${mb(after.external)} after`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);

  rmSync(dir, { recursive: true, force: true });
  process.exitCode = left.length > 0 || unexpected > 0 ? 1 : 0;
}

main().then(
  () => {
    clearTimeout(hardStop);
    // Everything was closed; if some handle still keeps the process alive, say so and end anyway.
    setTimeout(() => {
      process.stderr.write('soak: handles still open 5 s after close; exiting\n');
      process.exit(process.exitCode ?? 0);
    }, 5000).unref();
  },
  (error) => {
    process.stderr.write(`soak failed: ${error instanceof Error ? error.stack : error}\n`);
    process.exit(1);
  },
);
