/**
 * Added latency of `invoke` through the gateway, against the raw relay (bench/relay.ts), both relative
 * to calling the same backend directly with the same SDK client.
 *
 * For each backend kind (stdio fixture, Streamable HTTP fixture) four paths are measured:
 *   direct  — v2 SDK client → backend (stdio: the client spawns the fixture; HTTP: the fixture's URL)
 *   relay   — v2 SDK client (2025) → raw relay → backend
 *   gw-2025 — v2 SDK client, default 2025 negotiation (sessionful lane) → gateway `invoke` → backend
 *   gw-2026 — v2 SDK client pinned to 2026-07-28 (per-request lane) → gateway `invoke` → backend
 * Every call is the fixture's `echo` with a 200-character argument; every path's first answer is checked.
 * After a warm-up, rounds interleave the paths (A,B,C,D, then B,C,D,A, ...) so they share the machine's noise.
 * Added = path percentile − direct percentile; the gateway's added latency is reported as a ratio to the relay's.
 */
import type { Client } from '@modelcontextprotocol/client';
import {
  assertEcho,
  callTool,
  closeQuietly,
  ECHO_ARGS,
  httpClient,
  invokeArgs,
  type PathSetup,
  type Stats,
  stdioClient,
  summarize,
} from './util.js';

export interface LatencyOptions {
  rounds: number;
  callsPerRound: number;
  warmup: number;
  /** Whole-section time budget; rounds stop early (and say so) when it runs out. */
  budgetMs: number;
}

export interface LatencyPath {
  label: string;
  stats: Stats;
}

export interface LatencyResult {
  backend: 'stdio' | 'http';
  paths: LatencyPath[];
  roundsDone: number;
  /** gateway lane → { p50Ratio, p99Ratio, addedP50, addedP99 } */
  ratios: Record<string, { addedP50: number; addedP99: number; p50Ratio: number; p99Ratio: number }>;
  relayAdded: { p50: number; p99: number };
}

interface Path {
  label: string;
  client: Client;
  call: () => Promise<unknown>;
  samples: number[];
}

async function makePaths(setup: PathSetup, backend: 'stdio' | 'http'): Promise<Path[]> {
  const paths: Path[] = [];
  const add = (label: string, client: Client, name: string, args: Record<string, unknown>) =>
    paths.push({ label, client, call: () => callTool(client, name, args), samples: [] });
  try {
    if (backend === 'stdio') add('direct', await stdioClient(['--name', 'direct-stdio']), 'echo', ECHO_ARGS);
    else add('direct', await httpClient(setup.httpFixtureUrl, '2025'), 'echo', ECHO_ARGS);
    add('relay', await httpClient(backend === 'stdio' ? setup.relayStdioUrl : setup.relayHttpUrl, '2025'), 'echo', ECHO_ARGS);
    add('gw-2025', await httpClient(setup.gatewayUrl, '2025'), 'invoke', invokeArgs(backend));
    add('gw-2026', await httpClient(setup.gatewayUrl, '2026'), 'invoke', invokeArgs(backend));
    for (const p of paths) assertEcho(await p.call(), `${backend}/${p.label}`);
    return paths;
  } catch (error) {
    await Promise.all(paths.map((p) => closeQuietly(p.client)));
    throw error;
  }
}

export async function measureLatency(setup: PathSetup, backend: 'stdio' | 'http', options: LatencyOptions): Promise<LatencyResult> {
  const started = performance.now();
  const paths = await makePaths(setup, backend);
  try {
    for (const p of paths) for (let i = 0; i < options.warmup; i++) await p.call();
    let roundsDone = 0;
    for (let r = 0; r < options.rounds; r++) {
      if (performance.now() - started > options.budgetMs) break;
      for (let k = 0; k < paths.length; k++) {
        const p = paths[(r + k) % paths.length]!;
        for (let i = 0; i < options.callsPerRound; i++) {
          const t0 = performance.now();
          await p.call();
          p.samples.push(performance.now() - t0);
        }
      }
      roundsDone++;
    }
    const stats = Object.fromEntries(paths.map((p) => [p.label, summarize(p.samples)]));
    const direct = stats.direct!;
    const relay = stats.relay!;
    const relayAdded = { p50: relay.p50 - direct.p50, p99: relay.p99 - direct.p99 };
    const ratios: LatencyResult['ratios'] = {};
    for (const lane of ['gw-2025', 'gw-2026']) {
      const s = stats[lane]!;
      const addedP50 = s.p50 - direct.p50;
      const addedP99 = s.p99 - direct.p99;
      ratios[lane] = { addedP50, addedP99, p50Ratio: addedP50 / relayAdded.p50, p99Ratio: addedP99 / relayAdded.p99 };
    }
    return { backend, paths: paths.map((p) => ({ label: p.label, stats: stats[p.label]! })), roundsDone, ratios, relayAdded };
  } finally {
    await Promise.all(paths.map((p) => closeQuietly(p.client)));
  }
}
