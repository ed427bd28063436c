/**
 * Search speed: index build time and per-query latency at 1,000 and 10,000 tools.
 *
 * The pool is synthesized from the real tool lists in ../shared/real-tools/ (npm reference servers,
 * with full input schemas), repeated under varied server names ("github-17", ...) until it reaches
 * the size. Queries are the hand-written real-tools queries (bench/real-tools-queries.json) plus the
 * long multi-step task texts of LiveMCPBench when ../shared/retrieval/ is there.
 *
 * Run standalone: node --import tsx bench/search-speed.ts   (also called by `npm run bench`)
 *                 node --import tsx bench/search-speed.ts --compare   (this stop's query-side steps off vs on)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type RankConfig, type ToolDoc, ToolIndex } from '../src/search/rank.js';
import { preloadSynonyms } from '../src/search/synonyms.js';

interface RealToolsFile {
  package: string;
  tools: { name: string; title?: string; description?: string; inputSchema?: Record<string, unknown> }[];
}

const SHARED = new URL('../../shared/', import.meta.url);

function baseServers(): Map<string, ToolDoc[]> {
  const dir = new URL('real-tools/', SHARED);
  if (!existsSync(dir)) {
    throw new Error(`search speed: ${fileURLToPath(dir)} not found (the shared data folder is expected beside the repo).`);
  }
  const servers = new Map<string, ToolDoc[]>();
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const data = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as RealToolsFile;
    const server = data.package.replace(/^@modelcontextprotocol\/server-/, '');
    servers.set(
      server,
      data.tools.map((t) => {
        const doc: ToolDoc = { server, name: t.name };
        if (t.title) doc.title = t.title;
        if (t.description) doc.description = t.description;
        if (t.inputSchema) doc.inputSchema = t.inputSchema;
        return doc;
      }),
    );
  }
  return servers;
}

/** `count` tools as server → docs, cycling through the real servers with numbered names. */
export function synthesize(count: number): Map<string, ToolDoc[]> {
  const base = [...baseServers()];
  const out = new Map<string, ToolDoc[]>();
  let total = 0;
  for (let copy = 0; total < count; copy++) {
    for (const [server, docs] of base) {
      if (total >= count) break;
      const name = copy === 0 ? server : `${server}-${copy}`;
      const take = docs.slice(0, count - total).map((d) => ({ ...d, server: name }));
      out.set(name, take);
      total += take.length;
    }
  }
  return out;
}

function queries(): { short: string[]; long: string[] } {
  const real = JSON.parse(readFileSync(new URL('./real-tools-queries.json', import.meta.url), 'utf8')) as {
    queries: { query: string }[];
  };
  const short = real.queries.map((q) => q.query);
  const live = new URL('retrieval/livemcpbench.json', SHARED);
  const long = existsSync(live)
    ? (JSON.parse(readFileSync(live, 'utf8')) as { queries: { query: string }[] }).queries.map((q) => q.query)
    : [];
  return { short, long };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function build(servers: Map<string, ToolDoc[]>): { index: ToolIndex; ms: number } {
  const t0 = performance.now();
  const index = new ToolIndex();
  for (const [server, docs] of servers) index.replaceServer(server, docs);
  return { index, ms: performance.now() - t0 };
}

function latency(index: ToolIndex, qs: string[], rounds: number): { p50: number; p99: number } {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const q of qs) {
      const t0 = performance.now();
      index.search(q, { limit: 10 });
      times.push(performance.now() - t0);
    }
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export async function searchSpeed(): Promise<Record<string, number | string>> {
  const t0 = performance.now();
  preloadSynonyms();
  const synonymsMs = performance.now() - t0;
  const { short, long } = queries();
  const out: Record<string, number | string> = {
    'search.pool': 'real-tools lists repeated under varied server names',
    'search.synonyms_load_ms (once per process)': r2(synonymsMs),
  };
  for (const size of [1000, 10000]) {
    const servers = synthesize(size);
    const cold = build(servers); // the first build also warms up the JIT
    const builds = [build(servers), build(servers), build(servers)];
    const { index } = builds[builds.length - 1]!;
    const buildMs = Math.min(...builds.map((b) => b.ms));
    latency(index, [...short, ...long], 1); // warm-up
    const s = latency(index, short, 5);
    out[`search.${size}.tools`] = index.size;
    out[`search.${size}.build_ms`] = r2(buildMs);
    out[`search.${size}.first_build_ms`] = r2(cold.ms);
    out[`search.${size}.query_p50_ms`] = r2(s.p50);
    out[`search.${size}.query_p99_ms`] = r2(s.p99);
    if (long.length > 0) {
      const l = latency(index, long, 3);
      out[`search.${size}.long_task_query_p50_ms`] = r2(l.p50);
      out[`search.${size}.long_task_query_p99_ms`] = r2(l.p99);
    }
  }
  return out;
}

/**
 * `--compare`: the shipped ranking against the same ranking without this stop's query-side steps (URL/path
 * typing, joins, initials, word-form agreement), at 10,000 tools, searches interleaved so both see the same
 * machine. Prints p50 / p99 per query kind.
 */
export function compareQuerySteps(): string[] {
  preloadSynonyms();
  const { short, long } = queries();
  const servers = synthesize(10000);
  const make = (config: Partial<RankConfig>) => {
    const index = new ToolIndex(config);
    for (const [server, docs] of servers) index.replaceServer(server, docs);
    return index;
  };
  const variants: [string, ToolIndex][] = [
    ['without', make({ entities: false, joins: false, acronyms: false, formAgreement: 0 })],
    ['shipped', make({})],
  ];
  const lines: string[] = [];
  for (const [kind, qs] of [
    ['short', short],
    ['long task text', long],
  ] as const) {
    if (qs.length === 0) continue;
    const times = variants.map(() => [] as number[]);
    for (let round = 0; round < 6; round++) {
      for (const q of qs) {
        variants.forEach(([, index], v) => {
          const t0 = performance.now();
          index.search(q, { limit: 10 });
          if (round > 0) times[v]!.push(performance.now() - t0);
        });
      }
    }
    variants.forEach(([label], v) => {
      const t = times[v]!.sort((a, b) => a - b);
      lines.push(`search.10000.${kind.replace(/ /g, '_')}.${label}: p50 ${r2(percentile(t, 50))} ms, p99 ${r2(percentile(t, 99))} ms`);
    });
  }
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--compare')) {
  for (const line of compareQuerySteps()) console.log(line);
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  searchSpeed().then(
    (r) => {
      for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(48)} ${v}`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
