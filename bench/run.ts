/**
 * `npm run bench`: every benchmark in one run, one table on stdout, and bench/RESULTS.md rewritten with
 * the table, the machine and the method. Loopback only; every loop is bounded in count and time; every
 * child process is ended (and checked) before exit.
 *
 *   npm run bench                      the full run (about 3–4 minutes on 2 cores)
 *   npm run bench -- --quick           fewer calls and runs, for a smoke test (RESULTS.md is not written)
 *   npm run bench -- --only latency,startup
 *                                      sections: latency, floor, throughput, search, startup, memory, footprint
 *   npm run bench -- --cpu-prof DIR    the latency/throughput gateway runs with node --cpu-prof into DIR
 *
 * The gateway under test is the built CLI (dist/cli.js): run `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { measureAnswers } from './answers.js';
import { measureFootprint } from './footprint.js';
import { type LatencyResult, measureLatency } from './latency.js';
import { measureMemory } from './memory.js';
import { type BackendLegResult, measureBackendLeg, measureSdkFloor, type SdkFloorResult } from './sdk-floor.js';
import { measureStartup } from './startup.js';
import { measureThroughput, type ThroughputResult } from './throughput.js';
import {
  cpuModel,
  distCli,
  distExists,
  distOverridden,
  formatTable,
  gatewayNodeFlags,
  killAll,
  maxListenerWarnings,
  removeTmpDirs,
  repoRoot,
  round,
  type Row,
  startPathSetup,
  survivors,
} from './util.js';

const SECTIONS = ['latency', 'floor', 'throughput', 'search', 'startup', 'memory', 'footprint'] as const;
type Section = (typeof SECTIONS)[number];

const GOALS = {
  latencyP50Ratio: 1.25,
  latencyP99Ratio: 2,
  throughputRatio: 0.8,
  searchP50Ms: 2,
  searchBuildMs: 300,
  startupRatio: 3,
  rssIdleMiB: 70,
  rss10kMiB: 150,
  definitionChars: 2000,
};

/** Whole-run watchdog: whatever happens, children are killed and the process ends. */
const RUN_LIMIT_MS = 9 * 60_000;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The commit under test, and whether src/ had uncommitted changes (best effort). */
function treeState(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return `${sha}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown';
  }
}

const fmt = (x: number, digits = 2) => String(round(x, digits));
const ratioRow = (section: string, metric: string, value: number, goal: number, atMost: boolean): Row => ({
  section,
  metric,
  value: `${fmt(value)}×`,
  goal: `${atMost ? '≤' : '≥'} ${goal}×`,
  pass: Number.isFinite(value) && (atMost ? value <= goal : value >= goal),
});

function latencyRows(r: LatencyResult): Row[] {
  const s = `latency, ${r.backend} backend`;
  const by = Object.fromEntries(r.paths.map((p) => [p.label, p.stats]));
  const rows: Row[] = [];
  for (const p of r.paths) {
    const added = p.label === 'direct' ? '' : ` (added ${fmt(p.stats.p50 - by.direct!.p50)} / ${fmt(p.stats.p99 - by.direct!.p99)})`;
    rows.push({ section: s, metric: `${p.label} p50 / p99 ms`, value: `${fmt(p.stats.p50)} / ${fmt(p.stats.p99)}${added}` });
  }
  for (const [lane, q] of Object.entries(r.ratios)) {
    rows.push(ratioRow(s, `${lane} added ÷ relay added, p50`, q.p50Ratio, GOALS.latencyP50Ratio, true));
    rows.push(ratioRow(s, `${lane} added ÷ relay added, p99`, q.p99Ratio, GOALS.latencyP99Ratio, true));
  }
  return rows;
}

/** The HTTP layer's in-process cost, and (when latency ran) its share of the relay's added latency. */
function floorRows(r: SdkFloorResult, relayAddedP50Ms: Partial<Record<'stdio' | 'http', number>>): Row[] {
  const s = 'HTTP layer in-process (no sockets)';
  const layerMs = (r.gatewayUs - r.plainUs) / 1000;
  const rows: Row[] = [
    {
      section: s,
      metric: `${r.era}: µs per call, plain handler / gateway HTTP layer`,
      value: `${fmt(r.plainUs, 0)} / ${fmt(r.gatewayUs, 0)} (layer: ${fmt(layerMs * 1000, 0)} µs)`,
    },
  ];
  const { stdio, http } = relayAddedP50Ms;
  if (stdio !== undefined && http !== undefined) {
    rows.push({
      section: s,
      metric: `${r.era}: layer ÷ relay added p50, stdio / http backend`,
      value: `${fmt(layerMs / stdio)}× / ${fmt(layerMs / http)}×`,
    });
  }
  return rows;
}

/** The SDK client on the backend leg against the relay's raw forwarding, and its share of the relay's added latency. */
function backendLegRows(r: BackendLegResult, relayAddedP50Ms: Partial<Record<'stdio' | 'http', number>>): Row[] {
  const s = 'backend leg in-process';
  const extraMs = (r.sdkUs - r.rawUs) / 1000;
  const relay = relayAddedP50Ms[r.backend];
  const share = relay === undefined ? '' : `; ÷ relay added p50: ${fmt(extraMs / relay)}×`;
  return [
    {
      section: s,
      metric: `${r.backend}: µs per call, relay's raw way / SDK client`,
      value: `${fmt(r.rawUs, 0)} / ${fmt(r.sdkUs, 0)} (SDK: ${fmt(extraMs * 1000, 0)} µs more${share})`,
    },
  ];
}

function throughputRows(r: ThroughputResult, withGoal: boolean): Row[] {
  const s = `throughput, ${r.backend} backend`;
  const direct = r.perSecond.direct!;
  const errors = Object.entries(r.errors)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}: ${n} errors`);
  const rows: Row[] = [
    {
      section: s,
      metric: 'calls/s direct / relay / gw-2025 / gw-2026',
      value:
        ['direct', 'relay', 'gw-2025', 'gw-2026'].map((k) => fmt(r.perSecond[k] ?? Number.NaN, 0)).join(' / ') +
        (errors.length ? ` (${errors.join(', ')})` : ''),
    },
    { section: s, metric: 'relay ÷ direct (floor)', value: `${fmt(r.perSecond.relay! / direct)}×` },
  ];
  for (const lane of ['gw-2025', 'gw-2026']) {
    const ratio = r.perSecond[lane]! / direct;
    rows.push(
      withGoal
        ? ratioRow(s, `${lane} ÷ direct`, ratio, GOALS.throughputRatio, false)
        : { section: s, metric: `${lane} ÷ direct`, value: `${fmt(ratio)}×` },
    );
  }
  rows.push({
    section: s,
    metric: 'gw-2025 / gw-2026 ÷ relay',
    value: `${fmt(r.perSecond['gw-2025']! / r.perSecond.relay!)}× / ${fmt(r.perSecond['gw-2026']! / r.perSecond.relay!)}×`,
  });
  return rows;
}

async function searchRows(): Promise<Row[]> {
  let searchSpeed: (() => Promise<Record<string, number | string>>) | undefined;
  try {
    const mod = (await import('./search-speed.js')) as { searchSpeed?: () => Promise<Record<string, number | string>> };
    searchSpeed = mod.searchSpeed;
  } catch (error) {
    process.stderr.write(`search: not available (${(error as Error).message.split('\n')[0]})\n`);
  }
  if (!searchSpeed) return [{ section: 'search', metric: 'search', value: 'not available' }];
  const r = await searchSpeed();
  const num = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : Number.NaN);
  const rows: Row[] = [];
  for (const size of [1000, 10000]) {
    const s = `search, ${size.toLocaleString('en-US')} tools`;
    const big = size === 10000;
    const p50 = num(`search.${size}.query_p50_ms`);
    const build = num(`search.${size}.build_ms`);
    rows.push(
      big
        ? {
            section: s,
            metric: 'search_tools query p50 ms',
            value: fmt(p50),
            goal: `≤ ${GOALS.searchP50Ms}`,
            pass: p50 <= GOALS.searchP50Ms,
          }
        : { section: s, metric: 'search_tools query p50 ms', value: fmt(p50) },
    );
    rows.push({ section: s, metric: 'search_tools query p99 ms', value: fmt(num(`search.${size}.query_p99_ms`)) });
    if (`search.${size}.long_task_query_p50_ms` in r) {
      rows.push({
        section: s,
        metric: 'long task-text query p50 / p99 ms',
        value: `${fmt(num(`search.${size}.long_task_query_p50_ms`))} / ${fmt(num(`search.${size}.long_task_query_p99_ms`))}`,
      });
    }
    rows.push(
      big
        ? {
            section: s,
            metric: 'index build ms (best of 3)',
            value: fmt(build),
            goal: `≤ ${GOALS.searchBuildMs}`,
            pass: build <= GOALS.searchBuildMs,
          }
        : { section: s, metric: 'index build ms (best of 3)', value: fmt(build) },
    );
    rows.push({ section: s, metric: 'first (cold) build ms', value: fmt(num(`search.${size}.first_build_ms`)) });
  }
  const syn = Object.keys(r).find((k) => k.startsWith('search.synonyms_load_ms'));
  if (syn) rows.push({ section: 'search', metric: 'synonyms load ms (once per process)', value: String(r[syn]) });
  return rows;
}

interface Config {
  quick: boolean;
  latency: { rounds: number; callsPerRound: number; warmup: number; budgetMs: number };
  floor: { rounds: number; callsPerRound: number; warmup: number };
  throughput: { clients: number; windowMs: number; rounds: number };
  startupRuns: number;
  memorySettleMs: number;
}

function configFor(quick: boolean): Config {
  return quick
    ? {
        quick,
        latency: { rounds: 2, callsPerRound: 100, warmup: 50, budgetMs: 30_000 },
        floor: { rounds: 2, callsPerRound: 200, warmup: 100 },
        throughput: { clients: 32, windowMs: 1_000, rounds: 1 },
        startupRuns: 3,
        memorySettleMs: 3_000,
      }
    : {
        quick,
        latency: { rounds: 10, callsPerRound: 200, warmup: 300, budgetMs: 75_000 },
        floor: { rounds: 10, callsPerRound: 500, warmup: 1_000 },
        throughput: { clients: 32, windowMs: 2_000, rounds: 3 },
        startupRuns: 7,
        memorySettleMs: 20_000,
      };
}

function describeConfig(c: Config): string {
  const l = c.latency;
  const t = c.throughput;
  return [
    `latency: ${l.rounds} interleaved rounds × ${l.callsPerRound} sequential calls per path (${l.rounds * l.callsPerRound} per path, ${l.rounds * l.callsPerRound * 4} per backend row) after ${l.warmup} warm-up calls per path; at most ${l.budgetMs / 1000} s per row`,
    `HTTP layer in-process: ${c.floor.rounds} alternating rounds × ${c.floor.callsPerRound} sequential calls per handler after ${c.floor.warmup} warm-up calls`,
    `throughput: ${t.clients} clients per path, ${t.rounds} interleaved round(s) of ${t.windowMs / 1000} s per path after a 0.5 s warm-up window`,
    `start-up: ${c.startupRuns} alternating runs each (after one unmeasured start of each), 50 lazy backends`,
    `memory: RSS sampled every 250 ms for ${c.memorySettleMs / 1000} s after start-up and after indexing; goals on the settled value`,
  ].join('\n');
}

const METHOD = `### Method

All traffic is loopback (127.0.0.1). The gateway under test is the built CLI, \`node dist/cli.js\`, in its own process, at \`--log-level info\`, default failsafe settings. Clients are the v2 SDK (\`@modelcontextprotocol/client\`) in the bench process. The backend is the test fixture (\`test/fixtures/fixture-server.mjs\`, v1 SDK low-level server), its \`echo\` tool, with a 200-character argument; the first answer on every path is checked to be the echo.

- **Latency** (\`bench/latency.ts\`). Four paths per backend kind. *direct*: the v2 client talks to the backend itself (stdio: it spawns the fixture; HTTP: the fixture's \`--http\` endpoint, 2025 sessions). *relay*: the same client (2025 negotiation) through \`bench/relay.ts\`, a raw relay written for the bench: plain \`node:http\` in; for stdio, each JSON-RPC body is written as one line to the fixture's stdin (ids rewritten so clients can share it) and the answer line is matched by id; for HTTP, the POST is forwarded with \`fetch\` and the answer streamed back. No SDK, no checks, initialize passes through. It is the least any HTTP-fronted gateway can add here. *gw-2025*: v2 client with its default negotiation (2025, sessionful lane) calling \`invoke\` on the gateway. *gw-2026*: v2 client pinned to 2026-07-28 (per-request lane). After warm-up, rounds interleave the paths (A,B,C,D then B,C,D,A, …) to share the machine's noise; percentiles are over all calls of a path. *Added* = path percentile − direct percentile; the goal compares the gateway's added latency to the relay's (≤ 1.25× at p50, ≤ 2× at p99).
- **HTTP layer in-process** (\`bench/sdk-floor.ts\`). How much of the gateway's added latency its HTTP layer (hono and the MCP server SDK: routing, body parsing, era classification, the SDK's transport, JSON-RPC validation, dispatch) costs on its own, with no sockets and no backend. A v2 client in the bench process hands each \`Request\` straight to a handler through its \`fetch\` option: either the gateway's own app (\`src/http/app.ts\`) serving an MCP server whose \`tools/call\` returns a fixed result, or a plain handler written for the bench that parses the body and returns the same result in the same framing (2026: one JSON body; 2025: one SSE event). Rounds alternate; medians of the per-round means. *layer* = gateway − plain, the server-side work alone. The 1.25× latency goal leaves the gateway 0.25× of the relay's added p50 for everything it does beyond the relay; *layer ÷ relay added* shows how much of that this layer spends before any backend is called (the HTTP app runs from src/ here, through tsx, not the bundle). The *backend leg* rows do the same for the other side: the SDK client as the gateway uses it (results passed through unvalidated) against what the relay does instead, newline JSON-RPC to the stdio fixture or one \`fetch\` per call to the HTTP fixture's 2025 session, on the same fixture. Both are CPU per call in one thread: in the served gateway, work done after a response is written overlaps the client rather than adding to its latency.
- **Throughput** (\`bench/throughput.ts\`). 32 clients per path, each its own connection, each calling in a closed loop for the window; calls/s = completed calls ÷ wall time until the last call of the window returned; rounds interleave the paths. HTTP backend: *direct* = 32 clients straight to the fixture's HTTP endpoint; this is the like-for-like row the ≥ 0.8 goal is judged on. stdio backend (informational): a stdio server has exactly one client, so *direct* = 32 concurrent callers multiplexed over one stdio connection with no HTTP at all; the gateway and relay paths serve 32 HTTP clients in front of one stdio child.
- **Search** (\`bench/search-speed.ts\`, owned by the search work). In-process \`ToolIndex\` over a pool synthesized from the real tool lists in \`../shared/real-tools/\` (repeated under varied server names up to the size); build = best of 3 after a cold build; query percentiles over the hand-written real-tools queries × 5 rounds.
- **Start-up** (\`bench/startup.ts\`). Wall time from \`spawn()\` to the first 200 from \`GET /health\`: the port is read from the gateway's \`mcp-gateway serving http://…\` log line, then \`/health\` is polled every 2 ms. The gateway has 50 configured stdio backends, all lazy (none is spawned). Beside it, in the same run, a bare \`node -e\` script with a plain \`node:http\` server measured the same way. Runs alternate; medians and their ratio are reported.
- **Memory** (\`bench/memory.ts\`). VmRSS of the gateway process (not its backends) from \`/proc/<pid>/status\`, sampled every 250 ms over a settle window (20 s in a full run), because RSS moves after start-up: deferred work runs and V8's memory reducer returns pages only after ~10–15 s idle. Idle: 50 lazy backends, from the first \`/health\` 200. 10k tools: one fixture backend with \`--tools 10000 --page-size 500\`; a \`search_tools\` call makes the gateway list all 20 pages and index them, then the window; then 25 more searches and 5 s. Goals are judged on the settled (last) value; the peak is shown in brackets.
- **Footprint** (\`bench/footprint.ts\`). The four meta-tool definitions as the running gateway serves them in \`tools/list\` (\`JSON.stringify(result.tools)\`), with the shipped \`gateway.yaml\` and with 50 backends; beside them, flat aggregation: the concatenated \`tools/list\` entries of the same backends (captured from the real servers in \`../shared/real-tools/server-*.json\`, with their input and output schemas), for \`gateway.yaml\`'s three and for all ten. Characters of the compact JSON; tokens are o200k_base tokens of that JSON (\`gpt-tokenizer\`). Models render definitions in their own format, so read the tokens as ratios.

### Reading the numbers

- The machine has 2 cores and is shared: the load average at start and end is printed above. Ratios measured in one run (interleaved) are the figures to compare; absolute milliseconds move with the load.
- Throughput is CPU-bound here: the bench's clients, the gateway (or relay) and the backend are three busy processes on two cores, so every extra hop costs throughput in proportion to its CPU per call. The raw relay's own ratio (*relay ÷ direct*) is the ceiling any extra process reaches on this machine; *gw ÷ relay* shows how much of it the gateway keeps.
- Start-up of the bare server is ~100–150 ms, so one slow spawn moves the ratio; medians of 7 alternating runs damp that.
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'cpu-prof': { type: 'string' } },
  });
  const only = values.only ? (values.only.split(',').map((s) => s.trim()) as Section[]) : [...SECTIONS];
  const unknown = only.filter((s) => !SECTIONS.includes(s));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.join(', ')}\n`);
    return 2;
  }
  if (!distExists()) {
    process.stderr.write(`bench: ${relative(repoRoot, distCli)} not found. Build the gateway first: npm run build\n`);
    return 2;
  }
  const stale = !distOverridden && newestMtime(join(repoRoot, 'src')) > newestMtime(join(repoRoot, 'dist'));
  if (stale) process.stderr.write('bench: WARNING: src/ is newer than dist/ — the gateway under test is an older build (npm run build).\n');
  if (values['cpu-prof']) gatewayNodeFlags.push('--cpu-prof', '--cpu-prof-dir', values['cpu-prof']);

  const config = configFor(values.quick);
  const tree = treeState();
  const startedAt = new Date();
  const loadBefore = loadavg();
  const t0 = performance.now();
  console.log(`meta-mcp-gateway bench — ${startedAt.toISOString()} — node ${process.version} — ${cpuModel()}`);
  console.log(describeConfig(config));
  if (distOverridden) console.log(`gateway under test: ${distCli} (BENCH_GATEWAY_CLI)`);

  const rows: Row[] = [];
  const problems: string[] = [];
  const relayAddedP50Ms: Partial<Record<'stdio' | 'http', number>> = {};
  const section = async (name: Section, run: () => Promise<Row[]>) => {
    if (!only.includes(name)) return;
    const s0 = performance.now();
    process.stderr.write(`bench: ${name}…\n`);
    try {
      rows.push(...(await run()));
    } catch (error) {
      const message = (error as Error).message.split('\n')[0]!;
      problems.push(`${name}: ${message}`);
      rows.push({ section: name, metric: 'error', value: message.slice(0, 120), pass: false });
    }
    process.stderr.write(`bench: ${name} done in ${round((performance.now() - s0) / 1000, 1)} s\n`);
  };

  await section('latency', async () => {
    const setup = await startPathSetup();
    try {
      const out: Row[] = [];
      for (const backend of ['stdio', 'http'] as const) {
        const r = await measureLatency(setup, backend, config.latency);
        relayAddedP50Ms[backend] = r.relayAdded.p50;
        out.push(...latencyRows(r));
        if (r.roundsDone < config.latency.rounds)
          problems.push(`latency ${backend}: time budget ran out after ${r.roundsDone} of ${config.latency.rounds} rounds`);
      }
      return out;
    } finally {
      await setup.stop();
    }
  });
  await section('floor', async () => {
    const out: Row[] = [];
    for (const era of ['2025', '2026'] as const) out.push(...floorRows(await measureSdkFloor(era, config.floor), relayAddedP50Ms));
    for (const backend of ['stdio', 'http'] as const)
      out.push(...backendLegRows(await measureBackendLeg(backend, config.floor), relayAddedP50Ms));
    return out;
  });
  await section('throughput', async () => {
    const setup = await startPathSetup();
    try {
      const http = await measureThroughput(setup, 'http', config.throughput);
      const stdio = await measureThroughput(setup, 'stdio', config.throughput);
      return [...throughputRows(http, true), ...throughputRows(stdio, false)];
    } finally {
      await setup.stop();
    }
  });
  await section('search', searchRows);
  await section('startup', async () => {
    const r = await measureStartup(config.startupRuns);
    const s = 'start-up (spawn → first /health 200)';
    return [
      {
        section: s,
        metric: 'gateway, 50 lazy backends, median ms',
        value: `${fmt(r.gatewayMedian, 0)} (runs: ${r.gatewayMs.map((x) => fmt(x, 0)).join(', ')})`,
      },
      {
        section: s,
        metric: 'bare node:http server, median ms',
        value: `${fmt(r.bareMedian, 0)} (runs: ${r.bareMs.map((x) => fmt(x, 0)).join(', ')})`,
      },
      ratioRow(s, 'gateway ÷ bare node', r.ratio, GOALS.startupRatio, true),
    ];
  });
  await section('memory', async () => {
    const r = await measureMemory(config.memorySettleMs);
    const s = 'memory (gateway RSS)';
    const settle = `${r.settleMs / 1000} s`;
    return [
      {
        section: s,
        metric: `idle, 50 lazy backends: settled after ${settle}, MiB (peak)`,
        value: `${fmt(r.idle.settled, 1)} (${fmt(r.idle.peak, 1)})`,
        goal: `≤ ${GOALS.rssIdleMiB}`,
        pass: r.idle.settled <= GOALS.rssIdleMiB,
      },
      {
        section: s,
        metric: `${r.toolsIndexed.toLocaleString('en-US')} tools listed and indexed: settled after ${settle}, MiB (peak)`,
        value: `${fmt(r.tenK.settled, 1)} (${fmt(r.tenK.peak, 1)})`,
        goal: `≤ ${GOALS.rss10kMiB}`,
        pass: r.tenK.settled <= GOALS.rss10kMiB,
      },
      {
        section: s,
        metric: 'the same after 25 more searches and 5 s, MiB (peak)',
        value: `${fmt(r.afterSearches.settled, 1)} (${fmt(r.afterSearches.peak, 1)})`,
      },
      { section: s, metric: 'first search_tools incl. listing 20 pages + indexing, ms', value: fmt(r.indexingMs, 0) },
    ];
  });
  await section('footprint', async () => {
    const r = await measureFootprint();
    const s = 'footprint (tools/list)';
    const out: Row[] = [];
    for (const g of [r.gatewayShipped, r.gateway50]) {
      out.push({
        section: s,
        metric: `${g.label}: ${g.tools} tools, characters`,
        value: String(g.chars),
        goal: `≤ ${GOALS.definitionChars}`,
        pass: g.chars <= GOALS.definitionChars,
      });
      out.push({ section: s, metric: `${g.label}: o200k tokens`, value: String(g.tokens) });
    }
    for (const f of [r.flatShipped, r.flatAll]) {
      if (!f) {
        out.push({ section: s, metric: 'flat aggregation', value: `not available (${r.realToolsDir} missing)` });
        continue;
      }
      out.push({
        section: s,
        metric: `${f.label}: ${f.tools} tools, characters / o200k tokens`,
        value: `${f.chars} / ${f.tokens} (gateway is ${fmt((r.gatewayShipped.tokens / f.tokens) * 100, 1)}% of the tokens)`,
      });
    }
    // What a client's model receives as text for the typical answers (bench/answers.ts).
    for (const answer of await measureAnswers()) {
      out.push({
        section: 'footprint (answers)',
        metric: `${answer.label}: characters / o200k tokens`,
        value: `${answer.chars} / ${answer.tokens}`,
      });
    }
    return out;
  });

  const elapsed = (performance.now() - t0) / 1000;
  const loadAfter = loadavg();
  const table = formatTable(rows, false);
  console.log('');
  console.log(table);
  const goals = rows.filter((r) => r.pass !== undefined);
  const passed = goals.filter((r) => r.pass).length;
  console.log('');
  console.log(
    `${passed} of ${goals.length} goals met; ${round(elapsed, 1)} s; load average ${loadBefore.map((x) => round(x)).join(' ')} → ${loadAfter.map((x) => round(x)).join(' ')}`,
  );
  for (const p of problems) console.log(`problem: ${p}`);
  if (maxListenerWarnings > 0)
    console.log(`(client side, suppressed: ${maxListenerWarnings} MaxListenersExceededWarning from the SDK client's shared abort signal)`);

  if (!values.quick && only.length === SECTIONS.length) {
    const md = [
      '# Benchmark results',
      '',
      `Latest full run of \`npm run bench\` (bench/run.ts). Re-run it to refresh this file; \`npm run bench -- --quick\` is a smoke test that leaves it alone.`,
      '',
      `- date: ${startedAt.toISOString()}`,
      `- node: ${process.version}`,
      `- CPU: ${cpuModel()}, ${cpus().length} logical cores (shared machine: load average ${loadBefore.map((x) => round(x)).join(' ')} at start, ${loadAfter.map((x) => round(x)).join(' ')} at the end)`,
      `- gateway under test: ${distOverridden ? distCli : `dist/cli.js (repository at ${tree} when the run started)`}${stale ? ' (WARNING: older than src/ when this ran)' : ''}`,
      `- duration: ${round(elapsed, 1)} s`,
      '',
      '```',
      describeConfig(config),
      '```',
      '',
      formatTable(rows, true),
      '',
      `${passed} of ${goals.length} goals met.${problems.length ? ` Problems: ${problems.join('; ')}` : ''}`,
      '',
      METHOD,
    ].join('\n');
    writeFileSync(join(repoRoot, 'bench/RESULTS.md'), md);
    console.log('wrote bench/RESULTS.md');
  }
  return problems.length > 0 ? 1 : 0;
}

const watchdog = setTimeout(() => {
  process.stderr.write(`bench: over the ${RUN_LIMIT_MS / 60_000} min limit; stopping everything\n`);
  killAll();
  process.exit(3);
}, RUN_LIMIT_MS);
watchdog.unref();

main().then(
  (code) => {
    removeTmpDirs();
    killAll();
    const left = survivors();
    if (left.length > 0) {
      process.stderr.write(`bench: processes still alive after cleanup: ${left.join(', ')}\n`);
      code = code || 1;
    }
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : error}\n`);
    killAll();
    removeTmpDirs();
    process.exit(1);
  },
);
