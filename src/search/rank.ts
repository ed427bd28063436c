/**
 * Tool search: one module, one code path. `rank(query, tools)` is a fresh `ToolIndex` over `tools`,
 * searched; `search_tools` and the evaluation harness (`npm run eval:search`) both go through
 * `ToolIndex.search`.
 *
 * How a query is ranked (each step measured on the benchmarks, see README "Search"):
 *  1. Text is tokenized (snake_case, kebab-case, dots, camelCase, digits, CJK bigrams), general
 *     English stopwords are dropped and words are stemmed (Porter2); documents and queries alike.
 *  2. Each query word is scored on its own with BM25+ over the tool's fields (bm25.ts: scored as
 *     MiniSearch scores, without its per-query allocations), with field boosts, prefix matching for
 *     words of 4+ letters, and one-typo tolerance for words of 6+ letters that no tool contains. A
 *     word that (almost) no tool contains is also tried through its general English synonyms
 *     (the `synonyms` package), at lower weight.
 *  3. A tool's score is the sum over query words × the square root of the share of the query's
 *     IDF-weighted words it matched, so that matching the rare, telling words beats matching many
 *     common ones.
 *  4. An exact tool name (or server/tool, or the same words as a name) ranks first, then tools whose
 *     name starts with an identifier-like query.
 *  5. Scores are normalized to 0..1 against the query's ideal (a tool that matched every query
 *     word as well as the best tool for that word), so 1 is an exact or perfect match, around 0.5 a
 *     good one, and below about 0.15 a weak partial one.
 */
import { Bm25Index } from './bm25.js';
import { stem } from './stem.js';
import { STOPWORDS } from './stopwords.js';
import { synonymsOf } from './synonyms.js';
import { isCjk, tokenize, wordTokens, words } from './tokenize.js';

export interface ToolDoc {
  server: string; // backend name, e.g. "filesystem"
  serverDescription?: string; // from gateway.yaml
  name: string; // tool name, e.g. "read_text_file"
  title?: string;
  description?: string;
  inputSchema?: Record<string, unknown>; // JSON Schema; index its property names and property descriptions
}

export interface SearchHit {
  server: string;
  tool: string;
  score: number;
  doc: ToolDoc;
}

export interface SearchOptions {
  limit?: number;
  server?: string;
  /**
   * Only tools this accepts are scored and returned (a per-caller view): a rejected tool never
   * appears and never takes one of the `limit` slots. Called at most once per tool per search.
   */
  filter?: (server: string, tool: string) => boolean;
}

const FIELDS = ['name', 'title', 'description', 'params', 'paramDescriptions', 'server', 'serverDescription'] as const;
type Field = (typeof FIELDS)[number];

/** Tuning knobs. Exported for the evaluation harness's ablations; the gateway uses DEFAULT_CONFIG. */
export interface RankConfig {
  boost: Record<Field, number>;
  bm25: { k: number; b: number; d: number };
  /** query words at least this long also match as prefixes */
  prefixMin: number;
  prefixWeight: number;
  /** query words at least this long also match with one edit */
  fuzzyMin: number;
  fuzzyWeight: number;
  stopwords: boolean;
  stem: ((word: string) => string) | null;
  /** score × (IDF-weighted share of query words matched) ^ coord; 0 = plain sum */
  coord: number;
  /** general English synonyms of a lowercased word; null = none */
  synonyms: ((word: string) => readonly string[] | undefined) | null;
  synonymWeight: number;
  /** try synonyms only for query words that match fewer than this many tools */
  synonymMaxHits: number;
}

export const DEFAULT_CONFIG: RankConfig = {
  boost: { name: 3, title: 2, description: 1.5, params: 0.8, paramDescriptions: 0.4, server: 1, serverDescription: 0.3 },
  bm25: { k: 1.2, b: 0.7, d: 0.5 },
  prefixMin: 4,
  prefixWeight: 0.5,
  fuzzyMin: 6,
  fuzzyWeight: 0.3,
  stopwords: true,
  stem,
  coord: 0.5,
  synonyms: synonymsOf,
  synonymWeight: 0.35,
  synonymMaxHits: 3,
};

interface TermGroup {
  /** the query word's index term */
  term: string;
  /** the raw word, for synonym lookup */
  word: string;
  /** how often it occurs in the query */
  weight: number;
}

interface Ranked {
  id: number;
  score: number;
}

const DEFAULT_LIMIT = 10;
const EMPTY_FIELD = { terms: [] as string[], length: 0 };
const TERM_CACHE_MAX = 200_000;
/** The word memos are dropped after this long without indexing. */
const MEMO_IDLE_MS = 2_000;
const IDENT = /^[\p{L}\p{N}_\-./:]+$/u;

/** Property names and descriptions of a JSON Schema's top-level `properties`. */
function schemaText(schema: Record<string, unknown> | undefined): { names: string; descriptions: string } {
  const props = schema?.properties;
  if (!props || typeof props !== 'object') return { names: '', descriptions: '' };
  const names: string[] = [];
  const descriptions: string[] = [];
  for (const [key, value] of Object.entries(props as Record<string, unknown>)) {
    names.push(key);
    if (value && typeof value === 'object') {
      const d = (value as Record<string, unknown>).description;
      if (typeof d === 'string') descriptions.push(d);
    }
  }
  return { names: names.join(' '), descriptions: descriptions.join(' ') };
}

function round3(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Math.round(x * 1000) / 1000;
}

/** "read_text_file", "readTextFile" and "read text file" share the key "read text file". */
function nameKey(text: string): string {
  return tokenize(text).join(' ');
}

/** One document id, or several: most names are unique, and a lone number costs no array. */
type Ids = number | number[];

function addId(map: Map<string, Ids>, key: string, id: number): void {
  const current = map.get(key);
  if (current === undefined) map.set(key, id);
  else if (typeof current === 'number') map.set(key, [current, id]);
  else current.push(id);
}

function removeId(map: Map<string, Ids>, key: string, id: number): void {
  const current = map.get(key);
  if (current === undefined) return;
  if (typeof current === 'number') {
    if (current === id) map.delete(key);
    return;
  }
  const next = current.filter((x) => x !== id);
  if (next.length === 0) map.delete(key);
  else map.set(key, next.length === 1 ? next[0]! : next);
}

function idsOf(ids: Ids | undefined): readonly number[] {
  return ids === undefined ? [] : typeof ids === 'number' ? [ids] : ids;
}

/** A live index: the gateway replaces one backend's tools when its list changes. */
export class ToolIndex {
  private readonly cfg: RankConfig;
  private readonly boosts: Float64Array;
  private readonly index = new Bm25Index(FIELDS.length);
  private readonly docs = new Map<number, ToolDoc>();
  private readonly byServer = new Map<string, number[]>();
  /** lowercased name → ids ("server/name" is looked up as the name, then checked against the server) */
  private readonly exact = new Map<string, Ids>();
  /** nameKey(name) → ids */
  private readonly byNameKey = new Map<string, Ids>();
  private readonly termCache = new Map<string, string | null>();
  private readonly wordCache = new Map<string, string[]>();
  private memoTimer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 0;
  /** [lowercased name, id], sorted by name; rebuilt lazily after changes (for prefix lookups) */
  private sortedNames: [string, number][] | undefined;
  // Score buffers, indexed by document number, reused across searches (all zero between searches).
  private term0 = new Float64Array(0);
  private term1 = new Float64Array(0);
  private sum = new Float64Array(0);
  private matched = new Float64Array(0);
  /** per-search filter answers: 0 not asked yet, 1 accepted, 2 rejected; `decided` lists the asked ids */
  private verdict = new Uint8Array(0);
  private readonly decided: number[] = [];

  constructor(config: Partial<RankConfig> = {}) {
    this.cfg = { ...DEFAULT_CONFIG, ...config };
    this.boosts = Float64Array.from(FIELDS.map((f) => this.cfg.boost[f]));
  }

  get size(): number {
    return this.docs.size;
  }

  replaceServer(server: string, docs: ToolDoc[]): void {
    this.removeServer(server);
    const ids: number[] = [];
    const serverField = this.analyze(server);
    const serverDescriptions = new Map<string, { terms: string[]; length: number }>();
    for (const input of docs) {
      const doc: ToolDoc = input.server === server ? input : { ...input, server };
      const id = this.nextId++;
      ids.push(id);
      this.docs.set(id, doc);
      const sd = doc.serverDescription ?? '';
      let sdField = serverDescriptions.get(sd);
      if (!sdField) {
        sdField = this.analyze(sd);
        serverDescriptions.set(sd, sdField);
      }
      this.index.add(id, this.fields(doc, serverField, sdField));
      addId(this.exact, doc.name.toLowerCase(), id);
      addId(this.byNameKey, nameKey(doc.name), id);
    }
    if (ids.length > 0) this.byServer.set(server, ids);
    this.sortedNames = undefined;
    this.index.trim();
    this.releaseMemosWhenIdle();
  }

  /**
   * The word memos make indexing fast while backends' lists arrive (words repeat across servers: the
   * 10k-tool build takes twice as long without them), but kept, they hold every word ever indexed
   * (~2.6 MiB at 10,000 tools) for queries that rarely reuse them. So they go once indexing pauses.
   */
  private releaseMemosWhenIdle(): void {
    clearTimeout(this.memoTimer);
    this.memoTimer = setTimeout(() => {
      this.termCache.clear();
      this.wordCache.clear();
    }, MEMO_IDLE_MS);
    this.memoTimer.unref?.();
  }

  /** A tool's analyzed fields, in FIELDS order. */
  private fields(
    doc: ToolDoc,
    serverField = this.analyze(doc.server),
    sdField = this.analyze(doc.serverDescription ?? ''),
  ): { terms: string[]; length: number }[] {
    const { names, descriptions } = schemaText(doc.inputSchema);
    return [
      this.analyze(doc.name),
      this.analyze(doc.title ?? ''),
      this.analyze(doc.description ?? ''),
      this.analyze(names),
      this.analyze(descriptions),
      serverField,
      sdField,
    ];
  }

  removeServer(server: string): void {
    const ids = this.byServer.get(server);
    if (!ids) return;
    for (const id of ids) {
      const doc = this.docs.get(id);
      if (doc) {
        removeId(this.exact, doc.name.toLowerCase(), id);
        removeId(this.byNameKey, nameKey(doc.name), id);
      }
      if (doc) this.index.remove(id, this.fields(doc));
      this.docs.delete(id);
    }
    this.byServer.delete(server);
    this.sortedNames = undefined;
  }

  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const limit = Math.max(0, Math.floor(options.limit ?? DEFAULT_LIMIT));
    const q = query.trim();
    if (q === '' || limit === 0 || this.docs.size === 0) return [];
    this.ensureBuffers();
    const accept = this.acceptor(options);
    const ok = (id: number): boolean => this.docs.has(id) && (accept === undefined || accept(id));
    const touched: number[] = [];
    const { sum, matched } = this;
    try {
      const { ideal, coordTotal } = this.scoreQuery(q, touched, accept);
      const coord = this.cfg.coord;
      const raw = (id: number): number => (sum[id]! > 0 ? sum[id]! * (matched[id]! / coordTotal) ** coord : 0);
      const norm = (x: number): number => (ideal > 0 ? Math.min(1, x / ideal) : 0);

      // Name matches first: exact name or server/name, the same words as a name, then name prefixes.
      const out: Ranked[] = [];
      const seen = new Set<number>();
      const add = (id: number, score: number): void => {
        if (seen.has(id) || !ok(id)) return;
        seen.add(id);
        out.push({ id, score });
      };
      const lower = q.toLowerCase();
      // "server/name": server names hold no "/", so the first one splits; the whole query may be a name too.
      const slash = lower.indexOf('/');
      const server = slash > 0 ? lower.slice(0, slash) : undefined;
      const afterServer = slash > 0 ? lower.slice(slash + 1) : lower;
      for (const id of idsOf(this.exact.get(lower))) add(id, 1);
      if (server !== undefined) {
        for (const id of idsOf(this.exact.get(afterServer))) if (this.docs.get(id)?.server.toLowerCase() === server) add(id, 1);
      }
      for (const id of idsOf(this.byNameKey.get(nameKey(q)))) add(id, 1);
      if (IDENT.test(q) && lower.length >= 3 && out.length < limit) {
        const prefix = afterServer;
        const prefixed: Ranked[] = [];
        if (prefix.length > 0) {
          for (const id of this.namesStartingWith(prefix)) {
            if (seen.has(id)) continue;
            if (server !== undefined && this.docs.get(id)?.server.toLowerCase() !== server) continue;
            prefixed.push({ id, score: norm(raw(id)) });
          }
        }
        prefixed.sort((a, b) => b.score - a.score || a.id - b.id);
        for (const r of prefixed) add(r.id, r.score);
      }

      // Then the best text matches (top-k selection over the touched documents).
      for (const r of topK(touched, raw, limit + seen.size)) {
        if (out.length >= limit) break;
        add(r.id, norm(r.score));
      }
      const top = out.slice(0, limit);
      // Keep scores non-increasing down the list (name matches may outrank stronger text matches).
      for (let i = top.length - 2; i >= 0; i--) top[i]!.score = Math.max(top[i]!.score, top[i + 1]!.score);
      return top.map((r) => {
        const doc = this.docs.get(r.id)!;
        return { server: doc.server, tool: doc.name, score: round3(r.score), doc };
      });
    } catch (error) {
      // A throwing filter can leave partial scores anywhere in the buffers: clear them whole.
      for (const buffer of [this.term0, this.term1, sum, matched]) buffer.fill(0);
      throw error;
    } finally {
      for (const id of touched) {
        sum[id] = 0;
        matched[id] = 0;
      }
      for (const id of this.decided) this.verdict[id] = 0;
      this.decided.length = 0;
    }
  }

  /**
   * The per-search document test for `server` and `filter`, or undefined when everything is accepted.
   * The caller's filter is asked once per tool and its answer kept in `verdict` for this search: a
   * query word's postings visit a tool once per field, and prefix/typo variants visit it again.
   */
  private acceptor(options: SearchOptions): ((id: number) => boolean) | undefined {
    const { server, filter } = options;
    if (server === undefined && filter === undefined) return undefined;
    const { docs, verdict, decided } = this;
    return (id: number): boolean => {
      const v = verdict[id]!;
      if (v !== 0) return v === 1;
      const doc = docs.get(id);
      const yes =
        doc !== undefined && (server === undefined || doc.server === server) && (filter === undefined || filter(doc.server, doc.name));
      verdict[id] = yes ? 1 : 2;
      decided.push(id);
      return yes;
    };
  }

  /** Ids of the tools whose lowercased name starts with `prefix`. */
  private namesStartingWith(prefix: string): number[] {
    this.sortedNames ??= [...this.docs]
      .map(([id, doc]): [string, number] => [doc.name.toLowerCase(), id])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    const names = this.sortedNames;
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]![0] < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let i = lo; i < names.length && names[i]![0].startsWith(prefix); i++) out.push(names[i]![1]);
    return out;
  }

  /** Normalize one token into an index term (null drops it). Memoized: vocabularies are small. */
  private term(token: string): string | null {
    const hit = this.termCache.get(token);
    if (hit !== undefined) return hit;
    let t: string | null;
    if (isCjk(token)) t = token;
    else if (this.cfg.stopwords && STOPWORDS.has(token)) t = null;
    else t = this.cfg.stem ? this.cfg.stem(token) : token;
    if (this.termCache.size > TERM_CACHE_MAX) this.termCache.clear();
    this.termCache.set(token, t);
    return t;
  }

  /** Index terms of one separator-free word. Memoized: words repeat across tools. */
  private wordTerms(word: string): string[] {
    let terms = this.wordCache.get(word);
    if (terms) return terms;
    terms = [];
    for (const tok of wordTokens(word)) {
      const t = this.term(tok);
      if (t) terms.push(t);
    }
    if (this.wordCache.size > TERM_CACHE_MAX) this.wordCache.clear();
    this.wordCache.set(word, terms);
    return terms;
  }

  /** Field text → index terms, and the field's length for BM25 (its number of terms). */
  private analyze(text: string): { terms: string[]; length: number } {
    if (!text) return EMPTY_FIELD;
    const terms: string[] = [];
    for (const w of words(text)) for (const t of this.wordTerms(w)) terms.push(t);
    return { terms, length: terms.length };
  }

  /** Query → one group per distinct index term. */
  private queryTerms(query: string): TermGroup[] {
    const groups = new Map<string, TermGroup>();
    for (const tok of tokenize(query)) {
      const t = this.term(tok);
      if (!t) continue;
      const g = groups.get(t);
      if (g) g.weight += 1;
      else groups.set(t, { term: t, word: tok, weight: 1 });
    }
    return [...groups.values()];
  }

  private ensureBuffers(): void {
    const cap = this.index.capacity;
    if (this.sum.length >= cap) return;
    const size = Math.max(cap, this.sum.length * 2, 64);
    this.term0 = new Float64Array(size);
    this.term1 = new Float64Array(size);
    this.sum = new Float64Array(size);
    this.matched = new Float64Array(size);
    this.verdict = new Uint8Array(size);
  }

  /** BM25 of one query term (with its prefix and typo variants) into `into`; returns the touched ids. */
  private scoreTerm(term: string, into: Float64Array, accept: ((id: number) => boolean) | undefined): number[] {
    const cfg = this.cfg;
    const touched: number[] = [];
    if (isCjk(term)) {
      this.index.scoreTerm(term, 1, this.boosts, cfg.bm25, into, touched, accept);
      return touched;
    }
    for (const [t, w] of this.index.expand(term, cfg)) {
      this.index.scoreTerm(t, w, this.boosts, cfg.bm25, into, touched, accept);
    }
    return touched;
  }

  /**
   * Fill this.sum / this.matched for every tool matching a query word. `ideal` is the summed score
   * of a tool that would be the best on every word; `coordTotal` the IDF weight of all query words.
   */
  private scoreQuery(
    query: string,
    touched: number[],
    accept: ((id: number) => boolean) | undefined,
  ): { ideal: number; coordTotal: number } {
    const cfg = this.cfg;
    const n = this.docs.size;
    const { term0, term1, sum, matched } = this;
    let ideal = 0;
    let coordTotal = 0;
    for (const g of this.queryTerms(query)) {
      const own = this.scoreTerm(g.term, term0, accept);
      // A word (almost) no tool has: also try its general English synonyms, at lower weight.
      if (cfg.synonyms && own.length < cfg.synonymMaxHits && !isCjk(g.term)) {
        const tried = new Set<string>([g.term]);
        for (const syn of cfg.synonyms(g.word) ?? []) {
          const st = this.term(syn);
          if (!st || tried.has(st)) continue;
          tried.add(st);
          const ids = this.scoreTerm(st, term1, accept);
          for (const id of ids) {
            const v = cfg.synonymWeight * term1[id]!;
            if (v > term0[id]!) {
              if (term0[id] === 0) own.push(id);
              term0[id] = v;
            }
            term1[id] = 0;
          }
        }
      }
      const w = g.weight;
      // IDF of the word, for the coordination share (a word no tool has still counts as missed).
      const c = cfg.coord > 0 ? w * Math.log(1 + (n - own.length + 0.5) / (own.length + 0.5)) : w;
      coordTotal += c;
      let best = 0;
      for (const id of own) {
        const s = term0[id]!;
        term0[id] = 0;
        if (s > best) best = s;
        if (sum[id] === 0) touched.push(id);
        sum[id] = sum[id]! + w * s;
        matched[id] = matched[id]! + c;
      }
      // The ideal counts every word: one no tool has is valued as a typical description match
      // would be, so half a query matched scores about half.
      ideal += best > 0 ? w * best : w * Math.log(1 + (n + 0.5) / 0.5) * cfg.boost.description * (cfg.bm25.d + 1);
    }
    return { ideal, coordTotal: coordTotal || 1 };
  }
}

/** The k best of `ids` by `score`, best first (ties: lower id first). */
function topK(ids: number[], score: (id: number) => number, k: number): Ranked[] {
  const heap: Ranked[] = []; // min-heap on (score, -id)
  const worse = (a: Ranked, b: Ranked): boolean => a.score < b.score || (a.score === b.score && a.id > b.id);
  for (const id of ids) {
    const r = { id, score: score(id) };
    if (heap.length < k) {
      heap.push(r);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    } else if (k > 0 && worse(heap[0]!, r)) {
      heap[0] = r;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const rr = l + 1;
        let m = i;
        if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
        if (rr < heap.length && worse(heap[rr]!, heap[m]!)) m = rr;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
  }
  return heap.sort((a, b) => b.score - a.score || a.id - b.id);
}

/** Pure: rank(query, tools) === new index over tools, searched. */
export function rank(query: string, tools: ToolDoc[], options?: SearchOptions): SearchHit[] {
  const index = new ToolIndex();
  const byServer = new Map<string, ToolDoc[]>();
  for (const t of tools) {
    const list = byServer.get(t.server);
    if (list) list.push(t);
    else byServer.set(t.server, [t]);
  }
  for (const [server, docs] of byServer) index.replaceServer(server, docs);
  return index.search(query, options);
}
