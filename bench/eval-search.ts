/**
 * Search quality harness: `npm run eval:search`.
 *
 * Runs the gateway's own ranking (ToolIndex.search, the code path behind `rank()` and `search_tools`)
 * and plain MiniSearch defaults, in the same run, over:
 *   - ../shared/retrieval/livemcpbench.json  (527 MCP tools on 70 servers, 95 multi-step tasks)
 *   - ../shared/retrieval/metatool.json      (199 tools; single- and two-tool queries)
 *   - ../shared/real-tools/*.json            (npm reference servers) with bench/real-tools-queries.json
 * in two query columns: the request text itself (what a client that forwards the user's words sends),
 * and the queries a model wrote for it having seen only the request (bench/data/, see its README).
 *
 * Scoring (as in shared/retrieval/README.md): each query has `expected_groups`, one group per needed
 * tool, each group a set of interchangeable tools. recall@k = share of groups with a member in the
 * top k (macro-averaged over queries); MRR = mean reciprocal rank of the first relevant tool in the
 * top 10; full@10 = share of queries with every group covered in the top 10.
 *
 * Model-written column: a model runs each of its queries as a separate search, so a group's rank is its
 * best rank over that request's queries (each ranked on its own, top 10); the figures are then computed
 * from those ranks exactly as for a single query. Requests without model queries are left out of it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import MiniSearch from 'minisearch';
import { DEFAULT_CONFIG, indexOf, type RankConfig, type SemanticFusion, type ToolDoc } from '../src/search/rank.js';
import { BuiltinEmbedder } from '../src/search/semantic/builtin.js';
import { defaultCacheDir, textKey, VectorCache } from '../src/search/semantic/cache.js';
import type { Embedder } from '../src/search/semantic/embedder.js';
import { SemanticTier } from '../src/search/semantic/tier.js';
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
  /** the same rankings over the model-written queries, when the dataset has them */
  baselineModel?: Figures;
  oursModel?: Figures;
}

export interface Query {
  id?: string;
  query: string;
  expected_groups: string[][];
  type?: string;
  /** queries a model wrote for this request, having seen only the request text */
  model?: string[];
}

export type Column = 'request' | 'model';

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

/** bench/data/pool-*.jsonl: hand-written requests over the 590-tool pool (see bench/data/README.md). */
function poolQueries(file: string): Query[] {
  const url = new URL(`./data/${file}`, import.meta.url);
  if (!existsSync(url)) return [];
  return readFileSync(url, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const r = JSON.parse(line) as { id: string; request: string; expected: string[]; familiarity: string };
      return { id: r.id, query: r.request, expected_groups: [r.expected], type: r.familiarity };
    });
}

/** bench/data/queries-{a,b,c}.jsonl: {"id": "metatool/single-0", "queries": [...]} per line. */
function modelQueries(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of ['queries-a.jsonl', 'queries-b.jsonl', 'queries-c.jsonl', 'queries-d.jsonl']) {
    const url = new URL(`./data/${file}`, import.meta.url);
    if (!existsSync(url)) continue;
    for (const line of readFileSync(url, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const entry = JSON.parse(line) as { id: string; queries: string[] };
      out.set(
        entry.id,
        entry.queries.filter((q) => typeof q === 'string' && q.trim() !== ''),
      );
    }
  }
  return out;
}

function withModel(queries: Query[], prefix: string, model: Map<string, string[]>, idOf: (q: Query, i: number) => string): Query[] {
  return queries.map((q, i) => {
    const written = model.get(`${prefix}${idOf(q, i)}`);
    return written && written.length > 0 ? { ...q, model: written } : q;
  });
}

/**
 * The sets over the 590-tool pool, from files in the repository alone (bench/data/pool-tools.json holds the
 * pool as loadDatasets built it from ../shared), so their tests run in any checkout.
 */
export function loadPoolDatasets(): Dataset[] {
  const model = modelQueries();
  const byId = (q: Query) => q.id ?? '';
  const poolTools = readJson<{ tools: ToolDoc[] }>(new URL('./data/pool-tools.json', import.meta.url)).tools;
  const pool = withModel(poolQueries('pool-requests.jsonl'), 'pool/', model, byId);
  const validation = withModel(poolQueries('pool-validation.jsonl'), 'pool/', model, byId);
  return [
    { name: '590 real tools, hand-written', tools: poolTools, queries: pool },
    { name: '590 real tools: well-known tools', tools: poolTools, queries: pool.filter((q) => q.type === 'common') },
    { name: '590 real tools: less well-known tools', tools: poolTools, queries: pool.filter((q) => q.type === 'niche') },
    // Written after the ranking was tuned on the set above, by other sessions: what the tuning is worth elsewhere.
    { name: '590 real tools, validation', tools: poolTools, queries: validation },
    { name: '590 validation: well-known tools', tools: poolTools, queries: validation.filter((q) => q.type === 'common') },
    { name: '590 validation: less well-known tools', tools: poolTools, queries: validation.filter((q) => q.type === 'niche') },
  ];
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
  const model = modelQueries();
  const byId = (q: Query) => q.id ?? '';
  return [
    ...loadPoolDatasets(),
    { name: 'LiveMCPBench tasks', tools: liveTools, queries: withModel(live.queries, 'livemcpbench/', model, byId) },
    {
      name: 'MetaTool single',
      tools: metaTools,
      queries: withModel(
        meta.queries.filter((q) => q.type === 'single'),
        'metatool/',
        model,
        byId,
      ),
    },
    {
      name: 'MetaTool multi',
      tools: metaTools,
      queries: withModel(
        meta.queries.filter((q) => q.type === 'multi'),
        'metatool/',
        model,
        byId,
      ),
    },
    {
      name: 'real-tools (hand-written)',
      tools: realTools(real),
      queries: withModel(realQueries.queries, 'real-tools/', model, (_q, i) => String(i)),
    },
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
  return queries.map(({ model: _model, ...q }) => ({
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
  const index = indexOf(tools, config);
  return (q) => index.search(q, { limit: K }).map((h) => `${h.server}/${h.tool}`);
}

export function score(queries: Query[], ranker: Ranker, column: Column = 'request'): Figures {
  let r1 = 0;
  let r5 = 0;
  let r10 = 0;
  let mrr = 0;
  let full10 = 0;
  let n = 0;
  for (const q of queries) {
    const groups = q.expected_groups.filter((g) => g.length > 0);
    if (groups.length === 0) continue;
    const texts = column === 'request' ? [q.query] : (q.model ?? []);
    if (texts.length === 0) continue;
    n++;
    const rankings = texts.map((t) => ranker(t));
    // A group's rank: its best over the request's searches (a model runs each of its queries).
    const firstRank = (g: string[]): number => {
      const set = new Set(g);
      let best = Number.POSITIVE_INFINITY;
      for (const ranked of rankings) {
        const i = ranked.findIndex((id) => set.has(id));
        if (i >= 0 && i + 1 < best) best = i + 1;
      }
      return best;
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

export function evalSearch(datasets: Dataset[] = loadDatasets(), ours: (tools: ToolDoc[]) => Ranker = oursRanker): DatasetResult[] {
  return datasets.map((ds) => {
    const baseline = baselineRanker(ds.tools);
    const gateway = ours(ds.tools);
    const result: DatasetResult = {
      dataset: ds.name,
      tools: ds.tools.length,
      baseline: score(ds.queries, baseline),
      ours: score(ds.queries, gateway),
    };
    if (ds.queries.some((q) => q.model)) {
      result.baselineModel = score(ds.queries, baseline, 'model');
      result.oursModel = score(ds.queries, gateway, 'model');
    }
    return result;
  });
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

/** `--first-hit`: first-hit changes, each alone against the shipped ranking (model-written R@1 / R@5 / MRR). */
const SERVER_1 = { boost: { ...DEFAULT_CONFIG.boost, server: 1 }, formAgreement: 0 };
export const FIRST_HIT: [string, Partial<RankConfig>][] = [
  [
    'before: IDF per field (as MiniSearch)',
    { bm25: { ...DEFAULT_CONFIG.bm25, toolIdf: false }, joins: false, acronyms: false, ...SERVER_1 },
  ],
  ["IDF per word over the tools' own text (name, title, description, parameter names)", { joins: false, acronyms: false, ...SERVER_1 }],
  ['+ words written apart that tools write as one ("cash flow" → cashflow)', { acronyms: false, ...SERVER_1 }],
  ['+ initials of 3–4 query words that a name has ("league of legends" → lol)', SERVER_1],
  ['+ server name boost 1 → 2', { formAgreement: 0 }],
  ['+ word forms break ties (a name writing a query word in another form, e.g. papers for paper: score × 0.8) (default)', {}],
];

export function firstHitTable(datasets: Dataset[], variants: [string, Partial<RankConfig>][] = FIRST_HIT): string {
  const lines = [`| change | ${datasets.map((d) => d.name).join(' | ')} |`, `|---|${datasets.map(() => '---').join('|')}|`];
  for (const [label, cfg] of variants) {
    const cells = datasets.map((d) => {
      const f = score(d.queries, oursRanker(d.tools, cfg), 'model');
      return `${f3(f.r1)} / ${f3(f.r5)} / ${f3(f.mrr)}`;
    });
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Both query columns side by side: request text, then model-written (R@1 / R@5 / MRR@10 each). */
export function formatTable(results: DatasetResult[]): string {
  const lines = [
    '| dataset | tools | requests | ranking | request text R@1 | R@5 | MRR@10 | model-written R@1 | R@5 | MRR@10 |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const cells = (f: Figures | undefined) => (f ? `${f3(f.r1)} | ${f3(f.r5)} | ${f3(f.mrr)}` : '– | – | –');
  for (const r of results) {
    for (const [label, f, m] of [
      ['MiniSearch defaults', r.baseline, r.baselineModel],
      ['gateway', r.ours, r.oursModel],
    ] as const) {
      const n = m && m.n !== f.n ? `${f.n} (${m.n} with model queries)` : String(f.n);
      lines.push(`| ${r.dataset} | ${r.tools} | ${n} | ${label} | ${cells(f)} | ${cells(m)} |`);
    }
  }
  return lines.join('\n');
}

/** Vectors for texts, from the cache or the embedder (then cached), in batches. */
async function vectorsOf(texts: string[], embedder: Embedder, cache: VectorCache): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  const missing = [...new Set(texts)].filter((t) => {
    const v = cache.get(textKey(t));
    if (v) out.set(t, v);
    return !v;
  });
  for (let i = 0; i < missing.length; i += 32) {
    const batch = missing.slice(i, i + 32);
    const vectors = await embedder.embed(batch);
    batch.forEach((t, j) => {
      cache.put(textKey(t), vectors[j]!);
      out.set(t, vectors[j]!);
    });
    if (i % 320 === 0) process.stderr.write(`  embedded ${i + batch.length}/${missing.length} query texts\n`);
  }
  return out;
}

export const SEMANTIC_VARIANTS: [string, SemanticFusion | undefined][] = [
  ['lexical (gateway)', undefined],
  ['+ 0.2 × cosine', { weight: 0.2, method: 'sum' }],
  ['+ 0.3 × cosine', { weight: 0.3, method: 'sum' }],
  ['+ 0.5 × cosine', { weight: 0.5, method: 'sum' }],
  ['+ 1.0 × cosine', { weight: 1, method: 'sum' }],
  ['+ 0.2 × cosine, 0 for queries of up to 6 words', { weight: 0.2, method: 'sum', shortWeight: 0, shortWords: 6 }],
  ['+ 0.3 × cosine, 0 for queries of up to 6 words', { weight: 0.3, method: 'sum', shortWeight: 0, shortWords: 6 }],
  ['+ 0.5 × cosine, 0 for queries of up to 6 words', { weight: 0.5, method: 'sum', shortWeight: 0, shortWords: 6 }],
  ['+ 0.5 × cosine, 0.1 for queries of up to 6 words', { weight: 0.5, method: 'sum', shortWeight: 0.1, shortWords: 6 }],
  ['reciprocal rank fusion, dense weight 0.5', { weight: 0.5, method: 'rrf' }],
  ['reciprocal rank fusion, dense weight 1', { weight: 1, method: 'rrf' }],
];

/** `--semantic`: the built-in encoder fused with the lexical ranking, each variant on every dataset, both columns. */
export async function semanticTable(datasets: Dataset[], embedder: Embedder = new BuiltinEmbedder()): Promise<string> {
  const cache = new VectorCache(defaultCacheDir(), embedder.model);
  const lines = [
    `| fusion | ${datasets.map((d) => `${d.name}: request R@1 / R@5 / MRR; model-written R@1 / R@5 / MRR`).join(' | ')} |`,
    `|---|${datasets.map(() => '---').join('|')}|`,
  ];
  const cells: string[][] = SEMANTIC_VARIANTS.map(() => []);
  try {
    for (const ds of datasets) {
      const texts = ds.queries.flatMap((q) => [q.query, ...(q.model ?? [])]).map((t) => t.trim());
      const tier = new SemanticTier(embedder, cache, { batch: 32 });
      const index = indexOf(ds.tools);
      index.setSemantic(tier);
      await tier.idle();
      const vectors = await vectorsOf(texts, embedder, cache);
      SEMANTIC_VARIANTS.forEach(([, fusion], v) => {
        if (fusion) index.setSemantic(tier, fusion);
        const ranker: Ranker = (q) =>
          (fusion ? index.searchWithVector(q, vectors.get(q.trim())!, { limit: K }) : index.search(q, { limit: K })).map(
            (h) => `${h.server}/${h.tool}`,
          );
        const f = score(ds.queries, ranker);
        const m = score(ds.queries, ranker, 'model');
        cells[v]!.push(`${f3(f.r1)} / ${f3(f.r5)} / ${f3(f.mrr)}; ${m.n ? `${f3(m.r1)} / ${f3(m.r5)} / ${f3(m.mrr)}` : '–'}`);
      });
    }
  } finally {
    await embedder.close();
  }
  for (const [v, [label]] of SEMANTIC_VARIANTS.entries()) lines.push(`| ${label} | ${cells[v]!.join(' | ')} |`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const t0 = performance.now();
    const results = evalSearch();
    console.log(formatTable(results));
    if (process.argv.includes('--ablation')) console.log(`\n${ablation()}`);
    if (process.argv.includes('--first-hit'))
      console.log(`\n${firstHitTable(loadDatasets().filter((d) => d.queries.some((q) => q.model)))}`);
    if (process.argv.includes('--semantic')) {
      console.log(`\n${await semanticTable(loadDatasets().filter((d) => !d.name.includes('typos')))}`);
    }
    console.log(
      `\nrecall@k: share of needed tools (expected_groups) with a member in the top k, per query, averaged; ` +
        `per-group recall@10 = recall@10. (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
