/**
 * Search quality harness: `npm run eval:search`.
 *
 * Runs the gateway's own ranking (ToolIndex.search, the code path behind `rank()` and `search_tools`)
 * and plain MiniSearch defaults, in the same run, over:
 *   - ../shared/retrieval/livemcpbench.json  (527 MCP tools on 70 servers, 95 multi-step tasks)
 *   - ../shared/retrieval/metatool.json      (199 tools; single- and two-tool queries)
 *   - ../shared/real-tools/*.json            (npm reference servers) with bench/real-tools-queries.json
 *
 * Scoring (as in shared/retrieval/README.md): each query has `expected_groups`, one group per needed
 * tool, each group a set of interchangeable tools. recall@k = share of groups with a member in the
 * top k (macro-averaged over queries); MRR = mean reciprocal rank of the first relevant tool in the
 * top 10; full@10 = share of queries with every group covered in the top 10.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import MiniSearch from 'minisearch';
import { type RankConfig, type ToolDoc, ToolIndex } from '../src/search/rank.js';
import { STOPWORDS } from '../src/search/stopwords.js';

export interface Figures {
  n: number;
  r1: number;
  r5: number;
  r10: number;
  mrr: number;
  full10: number;
}

export interface DatasetResult {
  dataset: string;
  tools: number;
  baseline: Figures;
  ours: Figures;
}

export interface Query {
  query: string;
  expected_groups: string[][];
  type?: string;
}

export interface Dataset {
  name: string;
  tools: ToolDoc[];
  queries: Query[];
}

type Ranker = (query: string) => string[]; // ids "server/tool", best first, at most 10

const K = 10;

export function sharedDir(): URL {
  return new URL('../../shared/', import.meta.url);
}

function readJson<T>(url: URL): T {
  return JSON.parse(readFileSync(url, 'utf8')) as T;
}

interface RetrievalFile {
  servers?: { name: string; title?: string; description?: string }[];
  tools: { server: string; name: string; description?: string; params?: string[] }[];
  queries: (Query & { type?: string })[];
}

function retrievalTools(file: RetrievalFile): ToolDoc[] {
  const servers = new Map((file.servers ?? []).map((s) => [s.name, s]));
  return file.tools.map((t) => {
    const s = servers.get(t.server);
    const serverDescription = s ? [s.title, s.description].filter(Boolean).join('. ') : undefined;
    const properties: Record<string, unknown> = {};
    for (const p of t.params ?? []) properties[p] = {};
    const doc: ToolDoc = { server: t.server, name: t.name, description: t.description ?? '' };
    if (serverDescription) doc.serverDescription = serverDescription;
    if ((t.params ?? []).length > 0) doc.inputSchema = { type: 'object', properties };
    return doc;
  });
}

interface RealToolsFile {
  package: string;
  tools: { name: string; title?: string; description?: string; inputSchema?: Record<string, unknown> }[];
}

function realTools(dir: URL): ToolDoc[] {
  const out: ToolDoc[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const data = readJson<RealToolsFile>(new URL(f, dir));
    const server = data.package.replace(/^@modelcontextprotocol\/server-/, '');
    for (const t of data.tools) {
      const doc: ToolDoc = { server, name: t.name };
      if (t.title) doc.title = t.title;
      if (t.description) doc.description = t.description;
      if (t.inputSchema) doc.inputSchema = t.inputSchema;
      out.push(doc);
    }
  }
  return out;
}

export function loadDatasets(): Dataset[] {
  const shared = sharedDir();
  const retrieval = new URL('retrieval/', shared);
  const real = new URL('real-tools/', shared);
  if (!existsSync(retrieval) || !existsSync(real)) {
    throw new Error(
      `search eval: the shared data folder was not found at ${fileURLToPath(shared)} ` +
        '(expected retrieval/ and real-tools/ there, beside the repo). Check out shared/ next to the repo.',
    );
  }
  const live = readJson<RetrievalFile>(new URL('livemcpbench.json', retrieval));
  const meta = readJson<RetrievalFile>(new URL('metatool.json', retrieval));
  const realQueries = readJson<{ queries: Query[] }>(new URL('./real-tools-queries.json', import.meta.url));
  const liveTools = retrievalTools(live);
  const metaTools = retrievalTools(meta);
  return [
    { name: 'LiveMCPBench tasks', tools: liveTools, queries: live.queries },
    { name: 'MetaTool single', tools: metaTools, queries: meta.queries.filter((q) => q.type === 'single') },
    { name: 'MetaTool multi', tools: metaTools, queries: meta.queries.filter((q) => q.type === 'multi') },
    { name: 'real-tools (hand-written)', tools: realTools(real), queries: realQueries.queries },
    { name: 'real-tools with typos', tools: realTools(real), queries: withTypos(realQueries.queries, 1) },
    {
      name: 'MetaTool single with typos',
      tools: metaTools,
      queries: withTypos(
        meta.queries.filter((q) => q.type === 'single'),
        2,
      ),
    },
  ];
}

/** A deterministic pseudo-random number generator (mulberry32), so the typo sets are the same every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** One typo (deletion, swap of adjacent letters, substitution or insertion), never on the first letter. */
function typo(word: string, random: () => number): string {
  const i = 1 + Math.floor(random() * (word.length - 1));
  const letter = () => LETTERS[Math.floor(random() * 26)]!;
  switch (Math.floor(random() * 4)) {
    case 0:
      return word.slice(0, i) + word.slice(i + 1);
    case 1:
      if (i < word.length - 1) return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
      return word.slice(0, i) + letter() + word.slice(i + 1);
    case 2:
      return word.slice(0, i) + letter() + word.slice(i + 1);
    default:
      return word.slice(0, i) + letter() + word.slice(i);
  }
}

/** The queries with a typo in about half of their words of 3+ letters (stopwords left alone): the typo rows. */
function withTypos(queries: Query[], seed: number): Query[] {
  const random = prng(seed);
  return queries.map((q) => ({
    ...q,
    query: q.query.replace(/[A-Za-z]{3,}/g, (w) => (!STOPWORDS.has(w.toLowerCase()) && random() < 0.5 ? typo(w, random) : w)),
  }));
}

/** Plain MiniSearch defaults: fields name, description and parameter names, default tokenizer, OR search. */
export function baselineRanker(tools: ToolDoc[]): Ranker {
  const ms = new MiniSearch<{ id: string; name: string; description: string; params: string }>({
    fields: ['name', 'description', 'params'],
  });
  ms.addAll(
    tools.map((t) => ({
      id: `${t.server}/${t.name}`,
      name: t.name,
      description: t.description ?? '',
      params: Object.keys((t.inputSchema?.properties as Record<string, unknown> | undefined) ?? {}).join(' '),
    })),
  );
  return (q) =>
    ms
      .search(q)
      .slice(0, K)
      .map((r) => String(r.id));
}

/** The gateway's ranking: one ToolIndex (what rank() builds per call), searched per query. */
export function oursRanker(tools: ToolDoc[], config?: Partial<RankConfig>): Ranker {
  const index = new ToolIndex(config);
  const byServer = new Map<string, ToolDoc[]>();
  for (const t of tools) byServer.set(t.server, [...(byServer.get(t.server) ?? []), t]);
  for (const [server, docs] of byServer) index.replaceServer(server, docs);
  return (q) => index.search(q, { limit: K }).map((h) => `${h.server}/${h.tool}`);
}

export function score(queries: Query[], ranker: Ranker): Figures {
  let r1 = 0;
  let r5 = 0;
  let r10 = 0;
  let mrr = 0;
  let full10 = 0;
  let n = 0;
  for (const q of queries) {
    const groups = q.expected_groups.filter((g) => g.length > 0);
    if (groups.length === 0) continue;
    n++;
    const ranked = ranker(q.query);
    const firstRank = (g: string[]): number => {
      const set = new Set(g);
      const i = ranked.findIndex((id) => set.has(id));
      return i < 0 ? Number.POSITIVE_INFINITY : i + 1;
    };
    const ranks = groups.map(firstRank);
    const share = (k: number) => ranks.filter((r) => r <= k).length / ranks.length;
    r1 += share(1);
    r5 += share(5);
    r10 += share(10);
    if (ranks.every((r) => r <= 10)) full10++;
    const best = Math.min(...ranks);
    if (best <= K) mrr += 1 / best;
  }
  const d = n || 1;
  return { n, r1: r1 / d, r5: r5 / d, r10: r10 / d, mrr: mrr / d, full10: full10 / d };
}

export function evalSearch(datasets: Dataset[] = loadDatasets()): DatasetResult[] {
  return datasets.map((ds) => ({
    dataset: ds.name,
    tools: ds.tools.length,
    baseline: score(ds.queries, baselineRanker(ds.tools)),
    ours: score(ds.queries, oursRanker(ds.tools)),
  }));
}

/**
 * One change at a time, cumulative, on the gateway's engine (for the README table): each row adds
 * one measured change to the row above; the last row is the shipped default.
 */
const LONG_TYPOS_ONLY = { fuzzyShortMin: Number.POSITIVE_INFINITY, transpositions: false } as const;
const PLAIN = { stopwords: false, stem: null, coord: 0, synonyms: null, ...LONG_TYPOS_ONLY } as const;
export const ABLATION: [string, Partial<RankConfig>][] = [
  [
    'our tokenizer, same 3 fields, plain BM25 sum',
    {
      ...PLAIN,
      prefixMin: Number.POSITIVE_INFINITY,
      fuzzyMin: Number.POSITIVE_INFINITY,
      boost: { name: 1, title: 0, description: 1, params: 1, paramDescriptions: 0, server: 0, serverDescription: 0 },
    },
  ],
  ['+ all 7 fields, boosted', { ...PLAIN, prefixMin: Number.POSITIVE_INFINITY, fuzzyMin: Number.POSITIVE_INFINITY }],
  ['+ prefix (4+ letters) and typo (6+, unknown words)', PLAIN],
  ['+ stopwords', { stem: null, coord: 0, synonyms: null, ...LONG_TYPOS_ONLY }],
  ['+ Porter2 stemming', { coord: 0, synonyms: null, ...LONG_TYPOS_ONLY }],
  ['+ IDF-weighted coordination', { synonyms: null, ...LONG_TYPOS_ONLY }],
  ['+ synonyms for rare words', LONG_TYPOS_ONLY],
  ['+ typos in 3–5-letter non-English words (same first letter), swaps as one edit (default)', {}],
];

export function ablation(datasets: Dataset[] = loadDatasets()): string {
  const lines = [`| step | ${datasets.map((d) => `${d.name} R@5 / R@10`).join(' | ')} |`, `|---|${datasets.map(() => '---').join('|')}|`];
  const row = (label: string, rankerOf: (tools: ToolDoc[]) => Ranker) =>
    `| ${label} | ${datasets
      .map((d) => {
        const f = score(d.queries, rankerOf(d.tools));
        return `${f3(f.r5)} / ${f3(f.r10)}`;
      })
      .join(' | ')} |`;
  lines.push(row('MiniSearch defaults', baselineRanker));
  for (const [label, cfg] of ABLATION) lines.push(row(label, (tools) => oursRanker(tools, cfg)));
  return lines.join('\n');
}

const f3 = (x: number) => x.toFixed(3);

export function formatTable(results: DatasetResult[]): string {
  const lines = [
    '| dataset | tools | queries | ranking | recall@1 | recall@5 | recall@10 | MRR@10 | full@10 |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    for (const [label, f] of [
      ['MiniSearch defaults', r.baseline],
      ['gateway', r.ours],
    ] as const) {
      lines.push(
        `| ${r.dataset} | ${r.tools} | ${f.n} | ${label} | ${f3(f.r1)} | ${f3(f.r5)} | ${f3(f.r10)} | ${f3(f.mrr)} | ${f3(f.full10)} |`,
      );
    }
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const t0 = performance.now();
    const results = evalSearch();
    console.log(formatTable(results));
    if (process.argv.includes('--ablation')) console.log(`\n${ablation()}`);
    console.log(
      `\nrecall@k: share of needed tools (expected_groups) with a member in the top k, per query, averaged; ` +
        `per-group recall@10 = recall@10. (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
