/**
 * Where the gateway's time goes per `invoke`: the gateway (dist/cli.js, or BENCH_GATEWAY_CLI) runs under
 * `node --cpu-prof` in front of the HTTP fixture while 32 v2 SDK clients per era call `invoke` → `echo` in
 * closed loops (as the throughput row does); then its profile is read back through the bundle's source map
 * and printed as self time per function and total (inclusive) time per area (auth, audit, pino, SDK, …).
 *
 *   node --import tsx bench/profile-invoke.ts [--seconds 8] [--clients 32] [--era 2025|2026|both] [--top 40] [--keep DIR]
 *   node --import tsx bench/profile-invoke.ts --analyse FILE.cpuprofile [--top 40] [--callers NAME]
 *   node --import tsx bench/profile-invoke.ts --compare CLI_A,CLI_B,… [--seconds 2] [--rounds 3]
 *     no profiling: calls/s direct and through each build (2025 and 2026 clients) in interleaved windows of one
 *     run, as gateway ÷ direct ratios, so builds are compared on the same machine load.
 *
 * The client side runs in this process and is not profiled; only the gateway process is.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@modelcontextprotocol/client';
import {
  assertEcho,
  callTool,
  closeQuietly,
  distCli,
  ECHO_ARGS,
  httpClient,
  invokeArgs,
  killAll,
  makeTmpDir,
  removeTmpDirs,
  repoRoot,
  round,
  startGatewayCli,
  startHttpFixture,
} from './util.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Areas by source path (after source mapping); the first match wins, so specific ones come first. */
const AREAS: Array<[string, RegExp]> = [
  ['audit (observe/audit)', /src\/observe\/audit\.ts/],
  ['usage (observe/usage)', /src\/observe\/usage\.ts/],
  ['metrics (observe/metrics, prom-client)', /src\/observe\/(metrics|labels)\.ts|node_modules\/prom-client\//],
  ['event bus (observe/events)', /src\/observe\/events\.ts/],
  ['log redaction (secrets/redact)', /src\/secrets\/redact\.ts/],
  ['pino (logger)', /node_modules\/pino|node_modules\/sonic-boom|node_modules\/fast-redact|node_modules\/quick-format/],
  ['auth (http/auth, access/authenticate)', /src\/http\/auth\.ts|src\/access\/(authenticate|api-keys|oauth)\.ts/],
  ['origin/host checks (http/origin)', /src\/http\/origin\.ts/],
  ['body read (http/body)', /src\/http\/body\.ts/],
  ['sessions (http/sessions)', /src\/http\/sessions\.ts/],
  ['http app (http/app)', /src\/http\/app\.ts/],
  ['fronts (server per 2026 request, tools, relay)', /src\/fronts\//],
  ['catalog view (access/view, principal)', /src\/access\/(view|principal)\.ts/],
  ['meta-tool handler (meta/*)', /src\/meta\//],
  ['pool / limiter / failsafes (sources, backends/pool)', /src\/sources\/|src\/backends\/pool\.ts/],
  ['backend client (backends/*)', /src\/backends\//],
  ['zod', /node_modules\/zod\//],
  ['MCP SDK server', /node_modules\/@modelcontextprotocol\/(server|core)/],
  ['MCP SDK client', /node_modules\/@modelcontextprotocol\/client/],
  ['hono', /node_modules\/(hono|@hono)\//],
  ['other gateway code', /src\//],
  ['other dependency', /node_modules\//],
  ['node internals (http, streams, undici)', /^node:/],
];

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    clients: { type: 'string', default: '32' },
    era: { type: 'string', default: 'both' },
    top: { type: 'string', default: '40' },
    keep: { type: 'string' },
    analyse: { type: 'string' },
    callers: { type: 'string' },
    compare: { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});

async function drive(url: string, era: '2025' | '2026', clients: number, ms: number): Promise<{ calls: number; errors: number }> {
  const list: Client[] = [];
  try {
    for (let i = 0; i < clients; i++) list.push(await httpClient(url, era));
    assertEcho(await callTool(list[0]!, 'invoke', invokeArgs('http')), `profile ${era}`);
    let calls = 0;
    let errors = 0;
    const deadline = performance.now() + ms;
    await Promise.all(
      list.map(async (client) => {
        while (performance.now() < deadline) {
          try {
            await callTool(client, 'invoke', invokeArgs('http'));
            calls++;
          } catch {
            errors++;
          }
        }
      }),
    );
    return { calls, errors };
  } finally {
    await Promise.all(list.map((c) => closeQuietly(c)));
  }
}

/** Source maps of the bundle's chunks, by file URL, loaded on first need. */
function sourceMapper(): (url: string, line: number, column: number) => { path: string; line: number; name?: string } {
  const maps = new Map<string, SourceMap | null>();
  return (url, line, column) => {
    if (!url.startsWith('file://')) return { path: url || '(native)', line };
    const file = new URL(url).pathname;
    let map = maps.get(file);
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        map = null;
      }
      maps.set(file, map);
    }
    if (!map) return { path: relative(repoRoot, file), line: line + 1 };
    const entry = map.findEntry(line, column) as { originalSource?: string; originalLine?: number; name?: string };
    if (!entry.originalSource) return { path: relative(repoRoot, file), line: line + 1 };
    const source = entry.originalSource.startsWith('file://') ? new URL(entry.originalSource).pathname : entry.originalSource;
    const path = source.replace(/^.*?(node_modules\/|src\/)/, '$1');
    return { path, line: (entry.originalLine ?? line) + 1, name: entry.name };
  };
}

function analyseTail(callers: Map<string, number>, ms: (us: number) => number): void {
  if (callers.size === 0) return;
  console.log(`\nstacks through "${values.callers}" (innermost first: up to 5 frames it called, then it and 2 callers):`);
  for (const [stack, us] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${ms(us)} ms\n      ${stack}`);
}

function analyse(profile: CpuProfile, top: number, calls: number): void {
  const map = sourceMapper();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = new Map<number, { fn: string; area: string; idle: boolean; file: string }>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber, columnNumber } = n.callFrame;
    const at = map(url, lineNumber, columnNumber);
    const name = functionName || '(anonymous)';
    const idle = ['(idle)', '(program)', '(garbage collector)'].includes(functionName);
    const area = idle
      ? functionName
      : (AREAS.find(([, re]) => re.test(at.path))?.[0] ?? (url ? 'other' : 'native (builtins, GC-free C++)'));
    label.set(n.id, { fn: `${name} ${at.path}:${at.line}`, area, idle, file: at.path });
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  /** Each sample once, to the area of the innermost frame that has a named area (not node internals or native). */
  const attributed = new Map<string, number>();
  const generic = new Set(['node internals (http, streams, undici)', 'native (builtins, GC-free C++)', 'other']);
  const callers = new Map<string, number>();
  /** Inclusive time per gateway source file (src/…). */
  const files = new Map<string, number>();
  let busy = 0;
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    const own = label.get(id)!;
    all += dt;
    if (own.fn.startsWith('(idle)')) continue;
    busy += dt;
    self.set(own.fn, (self.get(own.fn) ?? 0) + dt);
    const seen = new Set<string>();
    let owner: string | undefined;
    const chain: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = label.get(at)!;
      if (byId.get(at)!.callFrame.functionName === '(root)') continue;
      if (owner === undefined && !generic.has(l.area)) owner = l.area;
      if (values.callers) chain.push(l.fn);
      if (l.file.startsWith('src/') && !seen.has(l.file)) {
        seen.add(l.file);
        files.set(l.file, (files.get(l.file) ?? 0) + dt);
      }
      if (!seen.has(l.area)) {
        seen.add(l.area);
        total.set(l.area, (total.get(l.area) ?? 0) + dt);
      }
    }
    owner ??= own.idle ? own.area : 'node internals / native only';
    attributed.set(owner, (attributed.get(owner) ?? 0) + dt);
    const hit = values.callers ? chain.findIndex((fn) => fn.includes(values.callers!)) : -1;
    if (hit >= 0) {
      const key = chain.slice(Math.max(0, hit - 5), hit + 3).join('\n      <- ');
      callers.set(key, (callers.get(key) ?? 0) + dt);
    }
  }
  const ms = (us: number) => round(us / 1000, 0);
  const pct = (us: number) => `${round((us / busy) * 100, 1)}%`;
  const perCall = (us: number) => (calls > 0 ? `${String(round(us / calls, 1)).padStart(7)} µs/call` : '');
  console.log(`\nprofile: ${ms(all)} ms, of which not idle ${ms(busy)} ms ${perCall(busy)} (percentages below are of the not-idle time)`);
  console.log('\nself time by function:');
  for (const [fn, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(us).padStart(6)} ${String(ms(us)).padStart(6)} ms ${perCall(us)}  ${fn}`);
  console.log('\ntime by area, each sample to the innermost frame with a named area (sums to 100%):');
  for (const [area, us] of [...attributed].sort((a, b) => b[1] - a[1]))
    console.log(`  ${pct(us).padStart(6)} ${String(ms(us)).padStart(6)} ms ${perCall(us)}  ${area}`);
  console.log('\ntotal time by area (a sample counts once per area on its stack; areas overlap):');
  for (const [area, us] of [...total].filter(([a]) => !generic.has(a)).sort((a, b) => b[1] - a[1]))
    console.log(`  ${pct(us).padStart(6)} ${String(ms(us)).padStart(6)} ms ${perCall(us)}  ${area}`);
  console.log('\ntotal time by gateway source file (inclusive: what it calls counts too):');
  for (const [file, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(us).padStart(6)} ${String(ms(us)).padStart(6)} ms ${perCall(us)}  ${file}`);
  analyseTail(callers, ms);
}

/** User + system CPU time of a process so far, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Direct and each build's two lanes, in interleaved closed-loop windows; prints calls/s and ÷ direct. */
async function compare(clis: string[], clients: number, windowMs: number, rounds: number): Promise<void> {
  const fixture = await startHttpFixture();
  const gateways: Array<Awaited<ReturnType<typeof startGatewayCli>>> = [];
  const paths: Array<{
    label: string;
    clients: Client[];
    call: (c: Client) => Promise<unknown>;
    /** The gateway process serving this path (its CPU time is read around each window). */
    pid?: number;
    done: number;
    ms: number;
    cpuMs: number;
  }> = [];
  try {
    const configFile = join(makeTmpDir(), 'gateway.json');
    writeFileSync(configFile, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, backends: { http: { url: fixture.url } } }));
    for (const cli of clis) gateways.push(await startGatewayCli(configFile, 20_000, [], cli));
    const add = async (label: string, url: string, era: '2025' | '2026', tool: string, args: Record<string, unknown>, pid?: number) => {
      const list: Client[] = [];
      paths.push({ label, clients: list, call: (c) => callTool(c, tool, args), pid, done: 0, ms: 0, cpuMs: 0 });
      for (let i = 0; i < clients; i++) list.push(await httpClient(url, era));
      assertEcho(await callTool(list[0]!, tool, args), label);
    };
    await add('direct', fixture.url, '2025', 'echo', ECHO_ARGS);
    for (const [i, g] of gateways.entries()) {
      await add(`${i}:2025`, g.url, '2025', 'invoke', invokeArgs('http'), g.child.pid);
      await add(`${i}:2026`, g.url, '2026', 'invoke', invokeArgs('http'), g.child.pid);
    }
    const window = async (p: (typeof paths)[number], ms: number) => {
      const t0 = performance.now();
      const cpu0 = p.pid ? cpuMsOf(p.pid) : 0;
      let done = 0;
      await Promise.all(
        p.clients.map(async (c) => {
          while (performance.now() < t0 + ms) {
            await p.call(c);
            done++;
          }
        }),
      );
      return { done, ms: performance.now() - t0, cpuMs: p.pid ? cpuMsOf(p.pid) - cpu0 : 0 };
    };
    for (const p of paths) await window(p, 500);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < paths.length; k++) {
        const p = paths[(r + k) % paths.length]!;
        const w = await window(p, windowMs);
        p.done += w.done;
        p.ms += w.ms;
        p.cpuMs += w.cpuMs;
      }
    }
    const rate = (p: (typeof paths)[number]) => (p.done / p.ms) * 1000;
    const cpu = (p: (typeof paths)[number]) => `${round((p.cpuMs * 1000) / p.done, 0)} µs CPU/call`;
    const direct = rate(paths[0]!);
    console.log(`direct: ${round(direct, 0)} calls/s`);
    for (const [i, cli] of clis.entries()) {
      const [a, b] = [paths.find((p) => p.label === `${i}:2025`)!, paths.find((p) => p.label === `${i}:2026`)!];
      console.log(
        `${cli}: gw-2025 ${round(rate(a), 0)} calls/s = ${round(rate(a) / direct, 3)}× direct, ${cpu(a)}; gw-2026 ${round(rate(b), 0)} calls/s = ${round(rate(b) / direct, 3)}× direct, ${cpu(b)}`,
      );
    }
  } finally {
    await Promise.all(paths.flatMap((p) => p.clients.map((c) => closeQuietly(c))));
    await Promise.all(gateways.map((g) => g.child.stop(10_000)));
    await fixture.child.stop();
  }
}

async function main(): Promise<void> {
  if (values.compare) {
    await compare(values.compare.split(','), Number(values.clients), Number(values.seconds), Number(values.rounds));
    return;
  }
  if (values.analyse) {
    analyse(JSON.parse(readFileSync(values.analyse, 'utf8')) as CpuProfile, Number(values.top), 0);
    return;
  }
  const seconds = Number(values.seconds);
  const clients = Number(values.clients);
  const eras = values.era === 'both' ? (['2025', '2026'] as const) : ([values.era as '2025' | '2026'] as const);
  const dir = values.keep ?? makeTmpDir();
  let total = 0;
  const fixture = await startHttpFixture();
  try {
    const configFile = join(makeTmpDir(), 'gateway.json');
    writeFileSync(configFile, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, backends: { http: { url: fixture.url } } }));
    const gateway = await startGatewayCli(configFile, 20_000, ['--cpu-prof', '--cpu-prof-dir', dir]);
    try {
      for (const era of eras) {
        total += (await drive(gateway.url, era, clients, 500)).calls; // warm-up
        const { calls, errors } = await drive(gateway.url, era, clients, seconds * 1000);
        total += calls;
        console.log(`${era}: ${calls} calls in ${seconds} s = ${round(calls / seconds, 0)} calls/s (${errors} errors)`);
      }
    } finally {
      await gateway.child.stop(10_000);
    }
  } finally {
    await fixture.child.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  console.log(`gateway under test: ${distCli}; profile ${join(dir, file)}; µs/call = profile time ÷ ${total} calls (warm-up included)`);
  analyse(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, Number(values.top), total);
}

main().then(
  () => {
    removeTmpDirs(); // --keep names a folder of the caller's, never one of these
    killAll();
  },
  (error: unknown) => {
    process.stderr.write(`profile-invoke: ${error instanceof Error ? error.stack : error}\n`);
    killAll();
    removeTmpDirs();
    process.exitCode = 1;
  },
);
