/**
 * Shared bench helpers: child processes (tracked, bounded, always killed), loopback clients,
 * percentiles and the result table. Everything here talks to 127.0.0.1 only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const fixturePath = join(repoRoot, 'test/fixtures/fixture-server.mjs');
/** The gateway under test: the built CLI, or another build named by BENCH_GATEWAY_CLI (to compare builds). */
export const distCli = process.env.BENCH_GATEWAY_CLI ? resolve(process.env.BENCH_GATEWAY_CLI) : join(repoRoot, 'dist/cli.js');
export const distOverridden = Boolean(process.env.BENCH_GATEWAY_CLI);
export const relayScript = join(repoRoot, 'bench/relay.ts');
export const tsxLoader = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;

/** The arguments every latency/throughput call sends to the fixture's `echo` (a 200-character string). */
export const ECHO_ARGS: Record<string, unknown> = { message: 'x'.repeat(200) };

// ------------------------------------------------------------------ numbers ----

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export const round = (x: number, digits = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ result table ----

export interface Row {
  section: string;
  metric: string;
  value: string;
  goal?: string;
  /** undefined = informational (no goal). */
  pass?: boolean;
}

export function formatTable(rows: Row[], markdown: boolean): string {
  const header = ['section', 'metric', 'value', 'goal', 'result'];
  const cells = rows.map((r) => [r.section, r.metric, r.value, r.goal ?? '', r.pass === undefined ? '' : r.pass ? 'PASS' : 'MISS']);
  if (markdown) {
    const esc = (s: string) => s.replaceAll('|', '\\|');
    return [
      `| ${header.join(' | ')} |`,
      `|${header.map(() => '---').join('|')}|`,
      ...cells.map((c) => `| ${c.map(esc).join(' | ')} |`),
    ].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

// ------------------------------------------------------------------ child processes ----

/** Every child the bench started (process-group leaders): killed on exit whatever happens. */
const children = new Set<ChildProcess>();
/** Pids of stdio backends the SDK transport spawned for direct clients. */
const extraPids = new Set<number>();

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Everything written to stderr so far (capped). */
  stderr(): string;
  /** Resolves with the first match of `pattern` on stdout or stderr; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL to the whole process group after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Spawn a child in its own process group (so it and whatever it starts can be ended together, by its
 * id), with stdout/stderr captured.
 */
export function spawnChild(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  const proc = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(proc);
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
    for (const l of listeners) l();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      children.delete(proc);
      for (const l of listeners) l();
      resolve(code);
    });
  });
  if (proc.pid === undefined) throw new Error(`could not spawn ${command}`);
  const pid = proc.pid;
  return {
    proc,
    pid,
    exited,
    stderr: () => out,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) done(() => resolve(m));
          else if (proc.exitCode !== null || proc.signalCode !== null)
            done(() => reject(new Error(`${command} exited (${proc.exitCode ?? proc.signalCode}) before ${pattern}: ${out.slice(-800)}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}: ${out.slice(-800)}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
    stop: async (graceMs = 5_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        killGroup(pid);
        return;
      }
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => killGroup(pid), graceMs);
      await exited;
      clearTimeout(timer);
      // Anything the child left in its group (e.g. a backend it started) goes too.
      killGroup(pid);
    },
  };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // no such group: everything in it has exited
  }
}

export function trackPid(pid: number | null | undefined): void {
  if (pid) extraPids.add(pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kill every tracked child group and pid (sync; safe to call from an exit handler). */
export function killAll(): void {
  for (const c of children) if (c.pid) killGroup(c.pid);
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Pids the bench started that are still alive (for the end-of-run check). */
export function survivors(): number[] {
  const pids = [...[...children].map((c) => c.pid!), ...extraPids];
  return pids.filter((p) => isAlive(p));
}

process.once('exit', killAll);
// A signal ends node without 'exit' handlers: stop every child first (Ctrl-C, or a kill from outside).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    removeTmpDirs();
    process.exit(128 + constants.signals[signal]);
  });
}

/**
 * The v2 SDK client passes one transport-lifetime AbortSignal to every fetch; undici hangs a listener on it
 * per request (released at GC), so tight 2025-era loops trip MaxListenersExceededWarning in this process.
 * It is client-side and harmless here: count it instead of printing hundreds of lines.
 */
export let maxListenerWarnings = 0;
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'MaxListenersExceededWarning') maxListenerWarnings++;
  else process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

// ------------------------------------------------------------------ files, ports, /proc ----

const tmpDirs: string[] = [];
export function makeTmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-gw-bench-'));
  tmpDirs.push(dir);
  return dir;
}
export function removeTmpDirs(): void {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** VmRSS of a process in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

export function cpuModel(): string {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    return m ? m[1]!.trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function distExists(): boolean {
  return existsSync(distCli);
}

/** A port the OS says is free right now (loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------ gateway and fixtures ----

/** Extra node flags for the gateway processes of the latency/throughput rows (e.g. --cpu-prof). */
export const gatewayNodeFlags: string[] = [];

/** Start `node dist/cli.js --config FILE --port 0 --log-level info` (or another build's cli.js); resolves once it logged its URL. */
export async function startGatewayCli(
  configFile: string,
  timeoutMs = 20_000,
  nodeFlags: string[] = [],
  cli = distCli,
): Promise<{ child: Child; url: string; origin: string }> {
  const child = spawnChild(process.execPath, [...nodeFlags, cli, '--config', configFile, '--port', '0', '--log-level', 'info']);
  try {
    const m = await child.waitFor(/mcp-gateway serving (http:\/\/[^\s"]+)/, timeoutMs);
    const url = m[1]!;
    return { child, url, origin: new URL(url).origin };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** The fixture server in Streamable HTTP mode (2025-era sessions) on a free loopback port. */
export async function startHttpFixture(extraArgs: string[] = []): Promise<{ child: Child; url: string }> {
  const child = spawnChild(process.execPath, [fixturePath, '--http', '0', '--name', 'http-fixture', ...extraArgs]);
  const m = await child.waitFor(/http=(http:\/\/127\.0\.0\.1:\d+\/mcp)/, 20_000);
  return { child, url: m[1]! };
}

/** The bench's raw relay (bench/relay.ts) in front of a stdio command or an HTTP MCP URL. */
export async function startRelay(target: { stdio: string[] } | { http: string }): Promise<{ child: Child; url: string }> {
  const args = 'stdio' in target ? ['--stdio', '--', ...target.stdio] : ['--http', target.http];
  const child = spawnChild(process.execPath, ['--import', tsxLoader, relayScript, ...args]);
  const m = await child.waitFor(/relay listening (http:\/\/127\.0\.0\.1:\d+\/mcp)/, 20_000);
  return { child, url: m[1]! };
}

export async function waitForHealth(origin: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${origin}/health`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${origin}/health never answered 200 within ${timeoutMs} ms`);
    await sleep(2);
  }
}

// ------------------------------------------------------------------ MCP clients ----

export type Era = '2025' | '2026' | 'auto';

const negotiation = (era: Era) => ({
  mode: era === '2026' ? ({ pin: '2026-07-28' } as const) : era === 'auto' ? ('auto' as const) : ('legacy' as const),
});

/** A v2 SDK client over Streamable HTTP. '2025' = the SDK default (legacy initialize, sessionful where the server is). */
export async function httpClient(url: string, era: Era): Promise<Client> {
  const client = new Client({ name: `bench-${era}`, version: '1.0.0' }, { versionNegotiation: negotiation(era) });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** A v2 SDK client over stdio, spawning the fixture (the SDK default negotiation, as the gateway uses for stdio). */
export async function stdioClient(args: string[] = []): Promise<Client> {
  const client = new Client({ name: 'bench-stdio', version: '1.0.0' });
  const transport = new StdioClientTransport({ command: process.execPath, args: [fixturePath, ...args], stderr: 'ignore' });
  await client.connect(transport);
  trackPid(transport.pid);
  return client;
}

export async function closeQuietly(client: Client | undefined): Promise<void> {
  if (!client) return;
  await Promise.race([client.close().catch(() => {}), sleep(3_000)]);
}

/** One tools/call as the bench sends it (no client-side output-schema checks; the same for every path). */
export function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<unknown> {
  return client.request({ method: 'tools/call', params: { name, arguments: args } });
}

/** A call through the gateway: invoke(server, echo, ECHO_ARGS). */
export function invokeArgs(server: string): Record<string, unknown> {
  return { server, tool: 'echo', arguments: ECHO_ARGS };
}

/** Throws unless `result` is the fixture's echo of ECHO_ARGS (so a path that fails fast can't look fast). */
export function assertEcho(result: unknown, label: string): void {
  const r = result as { isError?: boolean; structuredContent?: { echoed?: { message?: string } } };
  if (r.isError || r.structuredContent?.echoed?.message !== ECHO_ARGS.message) {
    throw new Error(`${label}: unexpected result ${JSON.stringify(result).slice(0, 300)}`);
  }
}

// ------------------------------------------------------------------ the shared latency/throughput set-up ----

/**
 * The processes the latency and throughput rows share: the fixture in HTTP mode (one process, every path
 * gets its own session), a raw relay in front of a stdio fixture, a raw relay in front of the HTTP
 * fixture, and the gateway (dist/cli.js) with two backends: `stdio` (its own fixture child) and `http`
 * (the HTTP fixture). Direct stdio clients spawn their own fixture child.
 */
export interface PathSetup {
  httpFixtureUrl: string;
  relayStdioUrl: string;
  relayHttpUrl: string;
  gatewayUrl: string;
  gatewayPid: number;
  stop(): Promise<void>;
}

export async function startPathSetup(): Promise<PathSetup> {
  const started: Child[] = [];
  try {
    const httpFixture = await startHttpFixture();
    started.push(httpFixture.child);
    const relayStdio = await startRelay({ stdio: [process.execPath, fixturePath, '--name', 'relay-stdio'] });
    started.push(relayStdio.child);
    const relayHttp = await startRelay({ http: httpFixture.url });
    started.push(relayHttp.child);
    const dir = makeTmpDir();
    const configFile = join(dir, 'gateway.yaml');
    const config = {
      server: { host: '127.0.0.1', port: 0 },
      backends: {
        stdio: { command: process.execPath, args: [fixturePath, '--name', 'gw-stdio'] },
        http: { url: httpFixture.url },
      },
    };
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const gateway = await startGatewayCli(configFile, 20_000, gatewayNodeFlags);
    started.push(gateway.child);
    return {
      httpFixtureUrl: httpFixture.url,
      relayStdioUrl: relayStdio.url,
      relayHttpUrl: relayHttp.url,
      gatewayUrl: gateway.url,
      gatewayPid: gateway.child.pid,
      stop: async () => {
        await Promise.all(started.reverse().map((c) => c.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((c) => c.stop()));
    throw error;
  }
}
