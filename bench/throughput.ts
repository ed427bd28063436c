/**
 * Throughput with 32 concurrent clients: calls per second through the gateway vs directly to the backend,
 * with the raw relay as the floor for what any extra hop costs on this machine.
 *
 * Each path has 32 SDK clients (v2, each its own connection/session); each client calls `echo` (through
 * the gateway: `invoke` → echo) in a closed loop for the window; throughput = completed calls / wall time
 * until the last call of the window returned. Rounds interleave the paths.
 *   HTTP backend: direct = 32 clients on the fixture's Streamable HTTP endpoint (32 sessions).
 *   stdio backend: a stdio server has exactly one client, so direct = 32 concurrent callers multiplexed
 *   over one stdio connection (what the gateway itself does); the gateway and relay paths have 32 HTTP clients.
 */
import type { Client } from '@modelcontextprotocol/client';
import { assertEcho, callTool, closeQuietly, ECHO_ARGS, httpClient, invokeArgs, type PathSetup, stdioClient } from './util.js';

export interface ThroughputOptions {
  clients: number;
  windowMs: number;
  rounds: number;
}

export interface ThroughputResult {
  backend: 'stdio' | 'http';
  /** label → calls per second (all rounds together) */
  perSecond: Record<string, number>;
  errors: Record<string, number>;
}

interface Path {
  label: string;
  clients: Client[];
  calls: Array<() => Promise<unknown>>;
  done: number;
  errors: number;
  ms: number;
}

async function makePaths(setup: PathSetup, backend: 'stdio' | 'http', n: number): Promise<Path[]> {
  const paths: Path[] = [];
  const make = async (label: string, connect: () => Promise<Client>, name: string, args: Record<string, unknown>, shared = false) => {
    const path: Path = { label, clients: [], calls: [], done: 0, errors: 0, ms: 0 };
    paths.push(path);
    if (shared) path.clients.push(await connect());
    else for (let i = 0; i < n; i++) path.clients.push(await connect());
    for (let i = 0; i < n; i++) {
      const client = path.clients[shared ? 0 : i]!;
      path.calls.push(() => callTool(client, name, args));
    }
    assertEcho(await path.calls[0]!(), `throughput ${backend}/${label}`);
  };
  try {
    if (backend === 'stdio') await make('direct', () => stdioClient(['--name', 'tp-stdio']), 'echo', ECHO_ARGS, true);
    else await make('direct', () => httpClient(setup.httpFixtureUrl, '2025'), 'echo', ECHO_ARGS);
    await make('relay', () => httpClient(backend === 'stdio' ? setup.relayStdioUrl : setup.relayHttpUrl, '2025'), 'echo', ECHO_ARGS);
    await make('gw-2025', () => httpClient(setup.gatewayUrl, '2025'), 'invoke', invokeArgs(backend));
    await make('gw-2026', () => httpClient(setup.gatewayUrl, '2026'), 'invoke', invokeArgs(backend));
    return paths;
  } catch (error) {
    await closeAll(paths);
    throw error;
  }
}

async function closeAll(paths: Path[]): Promise<void> {
  await Promise.all(paths.flatMap((p) => p.clients.map((c) => closeQuietly(c))));
}

/** All callers in closed loops until the window ends; returns when every call in flight has returned. */
async function runWindow(path: Path, windowMs: number): Promise<void> {
  const t0 = performance.now();
  const deadline = t0 + windowMs;
  await Promise.all(
    path.calls.map(async (call) => {
      while (performance.now() < deadline) {
        try {
          await call();
          path.done++;
        } catch {
          path.errors++;
        }
      }
    }),
  );
  path.ms += performance.now() - t0;
}

export async function measureThroughput(
  setup: PathSetup,
  backend: 'stdio' | 'http',
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const paths = await makePaths(setup, backend, options.clients);
  try {
    // Warm-up: one short window per path, not counted.
    for (const p of paths) await runWindow(p, Math.min(500, options.windowMs));
    for (const p of paths) Object.assign(p, { done: 0, errors: 0, ms: 0 });
    for (let r = 0; r < options.rounds; r++) {
      for (let k = 0; k < paths.length; k++) await runWindow(paths[(r + k) % paths.length]!, options.windowMs);
    }
    return {
      backend,
      perSecond: Object.fromEntries(paths.map((p) => [p.label, (p.done / p.ms) * 1000])),
      errors: Object.fromEntries(paths.map((p) => [p.label, p.errors])),
    };
  } finally {
    await closeAll(paths);
  }
}
