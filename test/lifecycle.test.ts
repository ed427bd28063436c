import { type ChildProcess, spawn } from 'node:child_process';
import { argv, descendants, freePort, isLive, parentOf } from './procfs.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import {
  type CallResult,
  connectClient,
  errorOf,
  eventually,
  type FrontClient,
  fixtureBackend,
  fixturePath,
  repoRoot,
  startTestGateway,
  tsxLoader,
} from './helpers.js';

/**
 * Backend lifecycle and failsafes, with real processes: idle stop and restart, zero orphans after
 * many cycles and after the gateway is SIGTERMed or SIGKILLed (with `sh -c` and `npx` launchers),
 * crash-loop back-off, the circuit breaker, concurrency and rate limits, safe retries, an HTTP
 * backend that restarts, a slow start. Processes are found through /proc by a unique marker
 * (`--name <marker>` on the fixture's command line); a zombie counts as dead.
 */

const node = process.execPath;
const RUN = `lc${process.pid}t${Date.now().toString(36)}`;
let markerSeq = 0;
/** A marker no other marker contains (the trailing `M` stops `-1M` matching inside `-10M`). */
const newMarker = (what: string) => `${RUN}-${what}-${++markerSeq}M`;

const work = mkdtempSync(join(tmpdir(), 'gw-lifecycle-'));
let fileSeq = 0;
const tempPath = (what: string) => join(work, `${what}-${++fileSeq}`);

// ------------------------------------------------------------------ /proc ----

interface Proc {
  pid: number;
  ppid: number | undefined;
  args: string[];
}

function allProcesses(): Proc[] {
  const out: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || !isLive(pid)) continue;
    const args = argv(pid);
    if (args.length > 0) out.push({ pid, ppid: parentOf(pid), args });
  }
  return out;
}

/** Live processes with `marker` anywhere on their command line (launcher shells included). */
function withMarker(marker: string): Proc[] {
  return allProcesses().filter((p) => p.args.some((a) => a.includes(marker)));
}

/** Live fixture servers (node running fixture-server.mjs) started with this marker. */
function fixtureProcs(marker: string): Proc[] {
  return withMarker(marker).filter((p) => p.args[0] === node && p.args.includes(fixturePath));
}

const describeProcs = (procs: Proc[]) => procs.map((p) => `${p.pid} (parent ${p.ppid}): ${p.args.join(' ')}`).join('\n');

const spawnCount = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ----------------------------------------------------------- MCP helpers ----

const text = (result: CallResult) => String(result.content?.[0]?.text ?? '');
const pidOf = (result: CallResult) => result.structuredContent?.pid as number;

interface ServerStatus {
  name: string;
  state: string;
  tools: number | null;
  circuit: string;
  error?: string;
}

async function statusOf(client: FrontClient, name: string): Promise<ServerStatus> {
  const result = await client.call('list_servers');
  expect(result.isError, text(result)).toBeFalsy();
  const found = (result.structuredContent?.servers as ServerStatus[]).find((s) => s.name === name);
  if (!found) throw new Error(`no server ${name} in list_servers`);
  return found;
}

async function health(gateway: RunningGateway): Promise<{ status: string; circuits: Record<string, string> }> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/health`);
  return (await response.json()) as { status: string; circuits: Record<string, string> };
}

/** An `sh -c` launcher that stays as the fixture's parent (no `exec`): the fixture is a grandchild. */
function shLauncher(marker: string, flags: string[] = [], extra: Record<string, unknown> = {}) {
  return { command: 'sh', args: ['-c', `"${node}" "${fixturePath}" --name ${marker} ${flags.join(' ')}`.trim()], ...extra };
}

/** One in-process gateway and front client per describe block; afterAll closes both. */
function useGateway(config: () => Record<string, unknown>) {
  const ctx = {} as { gateway: RunningGateway; client: FrontClient };
  beforeAll(async () => {
    ctx.gateway = await startTestGateway(config());
    ctx.client = await connectClient('v2-2025', ctx.gateway.url);
  });
  afterAll(async () => {
    await ctx.client?.close().catch(() => {});
    await ctx.gateway?.close();
  });
  return ctx;
}

/** Descendants of the CLIs this file started: if a test fails, whatever is left of them is killed here. */
const recorded = new Map<number, string>();
function record(pids: number[]): void {
  for (const pid of pids) recorded.set(pid, argv(pid).join(' '));
}

afterAll(() => {
  for (const [pid, cmd] of recorded) {
    try {
      if (isLive(pid) && argv(pid).join(' ') === cmd) process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(work, { recursive: true, force: true });
});

// ------------------------------------------------------------- lifecycle ----

describe('idle stop', () => {
  const idleMarker = newMarker('idle');
  const keepMarker = newMarker('keep');
  const idleSpawns = tempPath('idle-spawns');
  const ctx = useGateway(() => ({
    backends: {
      idler: fixtureBackend(['--name', idleMarker], { idle_timeout_ms: 1500, env: { FIXTURE_SPAWN_LOG: idleSpawns } }),
      keeper: fixtureBackend(['--name', keepMarker], { idle_timeout_ms: 0 }),
    },
  }));

  it('stops an idle stdio backend, keeps its tools searchable without starting it, and starts it again on the next call', async () => {
    const { client } = ctx;
    const pid1 = pidOf(await client.call('invoke', { server: 'idler', tool: 'pid' }));
    expect(typeof pid1).toBe('number');
    expect(fixtureProcs(idleMarker).map((p) => p.pid)).toEqual([pid1]);

    await eventually(() => withMarker(idleMarker).length === 0, 'the idle backend process is gone');
    expect(isLive(pid1)).toBe(false);
    expect(await statusOf(client, 'idler')).toMatchObject({ state: 'idle', tools: 6, circuit: 'closed' });

    // The cached tool list is still searched and listed; nothing is started for it.
    const search = await client.call('search_tools', { query: 'operating-system process id of this server' });
    const hits = search.structuredContent?.results as Array<{ server: string; tool: string }>;
    expect(
      hits.some((h) => h.server === 'idler' && h.tool === 'pid'),
      JSON.stringify(hits),
    ).toBe(true);
    expect(search.structuredContent?.unavailable).toBeUndefined();
    const listed = await client.call('list_tools', { server: 'idler' });
    expect((listed.structuredContent?.tools as unknown[]).length).toBe(6);
    await sleep(200);
    expect(describeProcs(withMarker(idleMarker))).toBe('');
    expect(spawnCount(idleSpawns)).toBe(1);

    const pid2 = pidOf(await client.call('invoke', { server: 'idler', tool: 'pid' }));
    expect(typeof pid2).toBe('number');
    expect(pid2).not.toBe(pid1);
    expect(spawnCount(idleSpawns)).toBe(2);
    expect(await statusOf(client, 'idler')).toMatchObject({ state: 'ready', tools: 6 });
  });

  it('idle_timeout_ms: 0 never stops the backend', async () => {
    const { client } = ctx;
    const pid = pidOf(await client.call('invoke', { server: 'keeper', tool: 'pid' }));
    await sleep(2000); // past the other backend's 1500 ms
    expect(isLive(pid)).toBe(true);
    expect(pidOf(await client.call('invoke', { server: 'keeper', tool: 'pid' }))).toBe(pid);
    expect(await statusOf(client, 'keeper')).toMatchObject({ state: 'ready' });
  });
});

describe('many start / idle-stop cycles behind an sh -c launcher', () => {
  const plainMarker = newMarker('cycle');
  const lingerMarker = newMarker('linger');
  const plainSpawns = tempPath('cycle-spawns');
  const ctx = useGateway(() => ({
    // Long enough that the process listing right after each call sees the backend still up on a loaded machine.
    defaults: { idle_timeout_ms: 1500 },
    backends: {
      // sh stays the parent of the fixture (a grandchild of the gateway).
      plain: shLauncher(plainMarker, [], { env: { FIXTURE_SPAWN_LOG: plainSpawns } }),
      // Also leaves a grandchild that never reads stdin, so closing stdin alone does not end it.
      linger: {
        command: 'sh',
        args: [
          '-c',
          `"${node}" -e "setInterval(() => {}, 1000)" ${lingerMarker}-sidecar & "${node}" "${fixturePath}" --name ${lingerMarker}`,
        ],
      },
    },
  }));

  it('leaves zero processes after 8 cycles, with exactly one fixture process during each', async () => {
    const { client } = ctx;
    const CYCLES = 8;
    const seen = new Set<number>();
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const [plainPid, lingerPid] = await Promise.all(
        ['plain', 'linger'].map(async (server) => pidOf(await client.call('invoke', { server, tool: 'pid' }))),
      );
      for (const pid of [plainPid!, lingerPid!]) {
        expect(seen.has(pid), `cycle ${cycle}: a fresh process`).toBe(false);
        seen.add(pid);
      }
      const plain = withMarker(plainMarker);
      expect(
        fixtureProcs(plainMarker).map((p) => p.pid),
        describeProcs(plain),
      ).toEqual([plainPid]);
      // The launcher shell is the fixture's parent, and nothing else carries the marker.
      const shell = plain.find((p) => p.pid !== plainPid);
      expect(plain.length, describeProcs(plain)).toBe(2);
      expect(shell?.args[0]).toBe('sh');
      expect(parentOf(plainPid!)).toBe(shell?.pid);

      const linger = withMarker(lingerMarker);
      expect(
        fixtureProcs(lingerMarker).map((p) => p.pid),
        describeProcs(linger),
      ).toEqual([lingerPid]);
      expect(linger.length, describeProcs(linger)).toBe(3); // sh, the sidecar, the fixture

      await eventually(
        () => withMarker(plainMarker).length === 0 && withMarker(lingerMarker).length === 0,
        `cycle ${cycle}: every process stops once idle:\n${describeProcs([...withMarker(plainMarker), ...withMarker(lingerMarker)])}`,
      );
      expect((await statusOf(client, 'plain')).state).toBe('idle');
    }
    expect(spawnCount(plainSpawns)).toBe(CYCLES);
    expect(describeProcs([...withMarker(plainMarker), ...withMarker(lingerMarker)])).toBe('');
  }, 90_000);
});

// ------------------------------------------------- the CLI and its signals ----

interface Cli {
  child: ChildProcess;
  url: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: string[];
}

/** Serve `config` (written as a file) with the CLI from source; resolves once it logged its URL. */
async function startCli(config: Record<string, unknown>): Promise<Cli> {
  const dir = mkdtempSync(join(work, 'cli-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
  const child = spawn(node, ['--import', tsxLoader, `${repoRoot}/src/cli.ts`, '--config', file, '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const stderr: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      try {
        const msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? '');
        if (msg.startsWith('mcp-gateway serving ')) resolve(msg.slice('mcp-gateway serving '.length));
      } catch {
        // not a pino line
      }
    });
    child.once('exit', (code) => reject(new Error(`the CLI exited with ${code} before serving:\n${stderr.join('\n')}`)));
  });
  return { child, url, exit, stderr };
}

async function killCli(cli: Cli | undefined): Promise<void> {
  if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
    cli.child.kill('SIGKILL');
    await cli.exit;
  }
}

const describePids = (pids: number[]) => pids.map((pid) => `${pid}: ${argv(pid).join(' ')}`).join('\n');

describe('the gateway process is killed with SIGKILL', () => {
  const marker = newMarker('sigkill');
  let cli: Cli | undefined;
  let client: FrontClient | undefined;
  afterAll(async () => {
    await client?.close().catch(() => {});
    await killCli(cli);
  });

  it('takes every backend process tree with it (npx reference server, sh -c launcher, watchdog)', async () => {
    cli = await startCli({
      server: { host: '127.0.0.1', shutdown_timeout_ms: 2000 },
      backends: {
        memory: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-memory'],
          env: { MEMORY_FILE_PATH: join(work, 'memory.jsonl') },
        },
        launcher: shLauncher(marker),
      },
    });
    client = await connectClient('v2-2025', cli.url);
    // list_servers answers after 750 ms with what is still starting; the starts go on.
    await eventually(async () => {
      const servers = (await client!.call('list_servers')).structuredContent?.servers as ServerStatus[];
      return servers.every((s) => s.state === 'ready') && servers.length === 2;
    }, 'memory and launcher ready');
    await client.close();
    client = undefined;

    const tree = descendants(cli.child.pid!);
    record(tree);
    const before = describePids(tree);
    expect(
      tree.some((pid) => argv(pid).some((a) => a.includes('server-memory'))),
      before,
    ).toBe(true);
    expect(fixtureProcs(marker).length, before).toBe(1);
    expect(withMarker(marker).length, before).toBe(2); // sh and the fixture
    expect(
      tree.some((pid) => argv(pid)[1] === '-e'),
      `the watchdog is among them:\n${before}`,
    ).toBe(true);
    expect(tree.length, before).toBeGreaterThanOrEqual(5); // npm exec (+ its shell), the memory server, sh, fixture, watchdog

    cli.child.kill('SIGKILL');
    expect(await cli.exit).toEqual({ code: null, signal: 'SIGKILL' });
    // Everything, the watchdog included, is gone within about 5 s.
    await eventually(() => tree.every((pid) => !isLive(pid)), 'every descendant ends', 60).catch((error: Error) => {
      throw new Error(`${error.message}; still alive:\n${describePids(tree.filter(isLive))}\ndescendants before SIGKILL:\n${before}`);
    });
    expect(withMarker(marker)).toEqual([]);
  }, 60_000);
});

describe('the gateway gets SIGTERM while a call is in flight', () => {
  const clis: Cli[] = [];
  const clients: FrontClient[] = [];
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const cli of clis) await killCli(cli);
  });

  it('lets the call finish, then exits 0 with no descendant left', async () => {
    const marker = newMarker('sigterm');
    const cli = await startCli({ server: { host: '127.0.0.1', shutdown_timeout_ms: 10_000 }, backends: { slow: shLauncher(marker) } });
    clis.push(cli);
    const client = await connectClient('v2-2025', cli.url);
    clients.push(client);
    expect(typeof pidOf(await client.call('invoke', { server: 'slow', tool: 'pid' }))).toBe('number');

    const call = client.call('invoke', { server: 'slow', tool: 'slow', arguments: { ms: 1500 } });
    await sleep(400);
    const tree = descendants(cli.child.pid!);
    record(tree);
    const before = describePids(tree);
    expect(withMarker(marker).length, before).toBe(2);
    cli.child.kill('SIGTERM');

    const result = await call;
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toBe('slept 1500');
    expect(await cli.exit).toEqual({ code: 0, signal: null });
    expect(describePids(tree.filter(isLive)), `descendants before SIGTERM:\n${before}`).toBe('');
    expect(withMarker(marker)).toEqual([]);
    expect(cli.stderr.some((l) => l.includes('"shutting down"'))).toBe(true);
  }, 30_000);

  it('with server.shutdown_timeout_ms: 300, exits 0 without waiting for a 10 s call', async () => {
    const marker = newMarker('sigterm-short');
    const cli = await startCli({ server: { host: '127.0.0.1', shutdown_timeout_ms: 300 }, backends: { slow: shLauncher(marker) } });
    clis.push(cli);
    const client = await connectClient('v2-2025', cli.url);
    clients.push(client);
    expect(typeof pidOf(await client.call('invoke', { server: 'slow', tool: 'pid' }))).toBe('number');

    const cancel = new AbortController();
    let outcome = 'pending';
    const call = client.call('invoke', { server: 'slow', tool: 'slow', arguments: { ms: 10_000 } }, { signal: cancel.signal }).then(
      (result) => {
        outcome = result.isError ? `isError: ${text(result)}` : `result: ${text(result)}`;
      },
      (error: Error) => {
        outcome = `rejected: ${error.message}`;
      },
    );
    await sleep(400);
    const tree = descendants(cli.child.pid!);
    record(tree);
    const before = describePids(tree);
    cli.child.kill('SIGTERM');
    expect(await cli.exit).toEqual({ code: 0, signal: null });
    // Exited while the backend call was still running: the call cannot have its result.
    await Promise.race([call, sleep(2000)]);
    cancel.abort();
    await call;
    expect(outcome).not.toBe('result: slept 10000');
    expect(outcome.startsWith('result:'), outcome).toBe(false);
    expect(describePids(tree.filter(isLive)), `descendants before SIGTERM:\n${before}`).toBe('');
    expect(withMarker(marker)).toEqual([]);
  }, 30_000);
});

// ------------------------------------------------------ crash recovery ----

describe('a crash loop', () => {
  const marker = newMarker('crashloop');
  const spawns = tempPath('crashloop-spawns');
  const ctx = useGateway(() => ({
    backends: {
      // Crashes on every tools/call; the breaker is set high so only the restart back-off shows.
      crashy: fixtureBackend(['--name', marker, '--crash-after', '1'], {
        env: { FIXTURE_SPAWN_LOG: spawns },
        circuit_breaker: { failures: 100 },
      }),
    },
  }));

  it('backs off exponentially instead of respawning on every call', async () => {
    const { client } = ctx;
    const call = () => client.call('invoke', { server: 'crashy', tool: 'echo', arguments: { message: 'x' } });

    const first = await call();
    expect(errorOf(first)?.code, text(first)).toBe('backend_unavailable');
    expect(text(first)).toContain('fixture crashing on purpose');
    expect(spawnCount(spawns)).toBe(1);

    // The first failure may restart at once.
    const second = await call();
    expect(errorOf(second)?.code, text(second)).toBe('backend_unavailable');
    expect(text(second)).toContain('fixture crashing on purpose');
    expect(spawnCount(spawns)).toBe(2);

    // After the second crash: answered at once, nothing spawned, and it says when it tries again.
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      const backedOff = await call();
      expect(errorOf(backedOff)?.code, text(backedOff)).toBe('backend_unavailable');
      expect(text(backedOff)).toMatch(/next restart attempt in 1 s/);
      expect(Date.now() - started).toBeLessThan(500);
    }
    expect(spawnCount(spawns)).toBe(2);
    await eventually(() => withMarker(marker).length === 0, 'the crashed processes are gone');
    expect(await statusOf(client, 'crashy')).toMatchObject({ state: 'error', tools: 6, circuit: 'closed' });

    // After the 1 s delay one more attempt is made; the next delay doubles.
    await sleep(1200);
    const third = await call();
    expect(text(third)).toContain('fixture crashing on purpose');
    expect(spawnCount(spawns)).toBe(3);
    const again = await call();
    expect(text(again)).toMatch(/next restart attempt in 2 s/);
    expect(spawnCount(spawns)).toBe(3);
  }, 30_000);
});

// ------------------------------------------------------------ failsafes ----

describe('circuit breaker', () => {
  const marker = newMarker('breaker');
  const ctx = useGateway(() => ({
    backends: {
      cb: fixtureBackend(['--name', marker], { circuit_breaker: { failures: 2, reset_ms: 1500 }, timeout_ms: 1000, retries: 0 }),
      other: fixtureBackend(['--name', `${marker}-other`]),
    },
  }));

  it('opens after N consecutive failures, answers at once while open, admits exactly one probe, then closes', async () => {
    const { client, gateway } = ctx;
    expect((await client.call('invoke', { server: 'cb', tool: 'echo', arguments: { message: 'warm' } })).isError).toBeFalsy();
    expect((await health(gateway)).status).toBe('ok');

    for (let i = 0; i < 2; i++) {
      const timedOut = await client.call('invoke', { server: 'cb', tool: 'slow', arguments: { ms: 5000 } });
      expect(errorOf(timedOut)?.code, text(timedOut)).toBe('timeout');
      expect(text(timedOut)).toContain('timed out after 1000 ms');
    }

    const started = Date.now();
    const open = await client.call('invoke', { server: 'cb', tool: 'echo', arguments: { message: 'x' } });
    expect(Date.now() - started).toBeLessThan(500);
    expect(open.isError).toBe(true);
    expect(errorOf(open)?.code, text(open)).toBe('circuit_open');
    const retryAfter = Number(errorOf(open)?.retry_after_ms ?? 0);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(1500);
    expect(text(open)).toMatch(/retry in \d+ s/);

    expect(await statusOf(client, 'cb')).toMatchObject({ circuit: 'open' });
    expect(await statusOf(client, 'other')).toMatchObject({ circuit: 'closed' });
    // On a busy machine the reset time may already have passed here: open or half-open, /health says degraded.
    const degraded = (await health(gateway)) as { status: string; circuits: Record<string, string> };
    expect(degraded.status).toBe('degraded');
    expect(['open', 'half-open']).toContain(degraded.circuits.cb);
    expect(degraded.circuits.other).toBe('closed');

    await sleep(retryAfter + 150);
    // Three calls at once after the reset time: one probe is admitted, the others are refused at once.
    // (The probe is a 500 ms call, so the others surely arrive while it is under way.)
    const calls = [0, 1, 2].map(async () => {
      const t0 = Date.now();
      const result = await client.call('invoke', { server: 'cb', tool: 'slow', arguments: { ms: 500 } });
      return { result, ms: Date.now() - t0 };
    });
    await sleep(150);
    expect((await statusOf(client, 'cb')).circuit).toBe('half-open');
    const settled = await Promise.all(calls);
    const summary = settled.map((s) => `${s.ms} ms: ${text(s.result)}`).join('\n');
    const ok = settled.filter((s) => !s.result.isError);
    const refused = settled.filter((s) => errorOf(s.result)?.code === 'circuit_open');
    expect(
      ok.map((s) => text(s.result)),
      `exactly one probe is admitted while half-open:\n${summary}`,
    ).toEqual(['slept 500']);
    expect(refused.length, summary).toBe(2);
    for (const r of refused) expect(r.ms, `refused at once, not after the probe:\n${summary}`).toBeLessThan(400);

    expect(await statusOf(client, 'cb')).toMatchObject({ circuit: 'closed' });
    expect(await health(gateway)).toMatchObject({ status: 'ok', circuits: { cb: 'closed' } });
    expect((await client.call('invoke', { server: 'cb', tool: 'echo', arguments: { message: 'closed again' } })).isError).toBeFalsy();
  }, 30_000);
});

describe('concurrency limit and rate limit', () => {
  const ctx = useGateway(() => ({
    backends: {
      narrow: fixtureBackend(['--name', newMarker('narrow')], { max_concurrent: 1, max_queue: 1 }),
      limited: fixtureBackend(['--name', newMarker('limited')], { rate_limit: { calls: 2, per_ms: 60_000 } }),
    },
  }));

  it('max_concurrent 1 with max_queue 1: of three concurrent calls, one is answered "busy"', async () => {
    const { client } = ctx;
    await client.call('invoke', { server: 'narrow', tool: 'echo', arguments: {} }); // started
    const results = await Promise.all(
      [0, 1, 2].map(() => client.call('invoke', { server: 'narrow', tool: 'slow', arguments: { ms: 800 } })),
    );
    const busy = results.filter((r) => errorOf(r)?.code === 'busy');
    const ok = results.filter((r) => !r.isError);
    expect(busy.map(text), results.map(text).join('\n')).toHaveLength(1);
    expect(text(busy[0]!)).toContain('busy');
    expect(ok.map(text)).toEqual(['slept 800', 'slept 800']);
    expect(await statusOf(client, 'narrow')).toMatchObject({ circuit: 'closed' });
  });

  it('rate_limit: calls beyond the limit answer rate_limited, and the circuit never opens', async () => {
    const { client, gateway } = ctx;
    const results: CallResult[] = [];
    for (let i = 0; i < 8; i++) results.push(await client.call('invoke', { server: 'limited', tool: 'echo', arguments: { i } }));
    expect(results.slice(0, 2).map((r) => r.isError ?? false)).toEqual([false, false]);
    for (const r of results.slice(2)) {
      expect(errorOf(r)?.code, text(r)).toBe('rate_limited');
      expect(text(r)).toContain('rate limited');
      expect(errorOf(r)?.retry_after_ms).toBeGreaterThan(0);
    }
    expect(await statusOf(client, 'limited')).toMatchObject({ circuit: 'closed', state: 'ready' });
    expect((await health(gateway)).status).toBe('ok');
  });
});

describe('retries only where they are safe', () => {
  const readOnce = tempPath('read-once');
  const writeOnce = tempPath('write-once');
  const readSpawns = tempPath('read-spawns');
  const writeSpawns = tempPath('write-spawns');
  const ctx = useGateway(() => ({
    backends: {
      reader: fixtureBackend(['--name', newMarker('reader'), '--crash-once-file', readOnce], { env: { FIXTURE_SPAWN_LOG: readSpawns } }),
      writer: fixtureBackend(['--name', newMarker('writer'), '--crash-once-file', writeOnce], { env: { FIXTURE_SPAWN_LOG: writeSpawns } }),
    },
  }));

  it('a readOnlyHint tool is retried transparently after a crash', async () => {
    const result = await ctx.client.call('invoke', { server: 'reader', tool: 'flaky_read' });
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toBe('flaky ok');
    expect(existsSync(readOnce)).toBe(true); // it did crash once
    expect(spawnCount(readSpawns)).toBe(2); // and was restarted for the retry
  });

  it('a tool without hints is not retried: one crash, one isError, and the next call runs it once', async () => {
    const first = await ctx.client.call('invoke', { server: 'writer', tool: 'flaky_write' });
    expect(first.isError).toBe(true);
    expect(errorOf(first)?.code, text(first)).toBe('backend_unavailable');
    expect(text(first)).toContain('fixture crashing on purpose');
    expect(existsSync(writeOnce)).toBe(true);
    expect(spawnCount(writeSpawns)).toBe(1); // nothing was restarted to resend it

    const second = await ctx.client.call('invoke', { server: 'writer', tool: 'flaky_write' });
    expect(second.isError, text(second)).toBeFalsy();
    expect(text(second)).toBe('flaky ok');
    expect(spawnCount(writeSpawns)).toBe(2);
  });
});

// ---------------------------------------------------- HTTP backend restart ----

const everythingEntry = `${repoRoot}/node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

async function startEverything(port: number): Promise<ChildProcess> {
  const child = spawn(node, [everythingEntry, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`everything exited with ${child.exitCode}: ${output}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return child;
    } catch {
      await sleep(100);
    }
  }
  await stopChild(child);
  throw new Error(`everything never accepted connections on ${port}: ${output}`);
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** The fixture in --http mode (answers 404 for an unknown session, as the spec says), up once it logs "ready". */
async function startHttpFixture(port: number, marker: string): Promise<ChildProcess> {
  const child = spawn(node, [fixturePath, '--http', String(port), '--name', marker], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      output += `${line}\n`;
      if (line.includes(' ready pid=')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the HTTP fixture exited with ${code}: ${output}`)));
  });
  return child;
}

describe('a Streamable HTTP backend that restarts and forgets our session', () => {
  const marker = newMarker('http');
  let fixturePort: number;
  let everythingPort: number;
  const servers: Record<string, ChildProcess | undefined> = {};
  // Registered before useGateway's hooks: the ports must be known when the config is made.
  beforeAll(async () => {
    [fixturePort, everythingPort] = await Promise.all([freePort(), freePort()]);
    [servers.fixture, servers.everything] = await Promise.all([startHttpFixture(fixturePort, marker), startEverything(everythingPort)]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(Object.values(servers).map(stopChild));
  });
  const ctx = useGateway(() => ({
    backends: {
      spec404: { url: `http://127.0.0.1:${fixturePort}/mcp` },
      everything: { url: `http://127.0.0.1:${everythingPort}/mcp`, transport: 'streamable-http' },
    },
  }));

  it('404 for the old session: re-initialized once and the call goes through', async () => {
    const { client } = ctx;
    const pid1 = pidOf(await client.call('invoke', { server: 'spec404', tool: 'pid' }));
    expect(pid1).toBe(servers.fixture!.pid);

    await stopChild(servers.fixture);
    servers.fixture = await startHttpFixture(fixturePort, marker); // same port, new process: our session is unknown there

    const after = await client.call('invoke', { server: 'spec404', tool: 'pid' });
    expect(after.isError, text(after)).toBeFalsy();
    expect(pidOf(after)).toBe(servers.fixture.pid);
    expect(await statusOf(client, 'spec404')).toMatchObject({ state: 'ready', circuit: 'closed' });
  }, 30_000);

  it('the reference server-everything (it answers 400 "No valid session ID" instead of 404) is recovered too', async () => {
    const { client } = ctx;
    const before = await client.call('invoke', { server: 'everything', tool: 'echo', arguments: { message: 'before' } });
    expect(before.isError, text(before)).toBeFalsy();
    expect(text(before)).toBe('Echo: before');

    await stopChild(servers.everything);
    servers.everything = await startEverything(everythingPort);

    const after = await client.call('invoke', { server: 'everything', tool: 'echo', arguments: { message: 'after' } });
    expect(after.isError, text(after)).toBeFalsy();
    expect(text(after)).toBe('Echo: after');
    expect(await statusOf(client, 'everything')).toMatchObject({ state: 'ready', circuit: 'closed' });
  }, 30_000);
});

describe('a slow start', () => {
  const ctx = useGateway(() => ({
    backends: { sleepy: fixtureBackend(['--name', newMarker('sleepy'), '--start-delay', '800'], { connect_timeout_ms: 5000 }) },
  }));

  it('within connect_timeout_ms, the first call succeeds', async () => {
    const started = Date.now();
    const result = await ctx.client.call('invoke', { server: 'sleepy', tool: 'echo', arguments: { message: 'awake' } });
    expect(result.isError, text(result)).toBeFalsy();
    expect(result.structuredContent).toEqual({ echoed: { message: 'awake' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });
});

describe('after all of the above', () => {
  it('no process with any of this file’s markers is left', async () => {
    await eventually(() => withMarker(RUN).length === 0, `no leftovers:\n${describeProcs(withMarker(RUN))}`);
  });
});
