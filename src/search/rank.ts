/**
 * Tool search: one module, one code path. `rank(query, tools)` is a fresh `ToolIndex` over `tools`,
 * searched; `search_tools` and the evaluation harness (`npm run eval:search`) both go through
 * `ToolIndex.search`.
 *
 * How a query is ranked (each step measured on the benchmarks, see README "Search"):
 *  1. Text is tokenized (snake_case, kebab-case, dots, camelCase, digits, CJK bigrams), general
 *     English stopwords are dropped and words are stemmed (Porter2); documents and queries alike.
 *  2. Each query word is scored on its own with BM25 (MiniSearch) over the tool's fields, with field
 *     boosts, prefix matching for longer words and one-typo tolerance for long ones. A word that
 *     (almost) no tool contains is also tried through its general English synonyms, at lower weight.
 *  3. A tool's score is the sum over query words × the square root of the share of the query's
 *     IDF-weighted words it matched, so that matching the rare, telling words beats matching many
 *     common ones.
 *  4. An exact tool name (or server/tool, or the same words as a name) ranks first, then tools whose
 *     name starts with an identifier-like query.
 *  5. Scores are normalized to 0..1 against the query's ideal (a tool that matched every query
 *     word as well as the best tool for that word), so 1 is an exact or perfect match, around 0.5 a
 *     good one, and below about 0.15 a weak partial one.
 */
import MiniSearch from "minisearch";
import { stem } from "./stem.js";
import { STOPWORDS } from "./stopwords.js";
import { synonymsOf } from "./synonyms.js";
import { isCjk, tokenize } from "./tokenize.js";

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
}

const FIELDS = ["name", "title", "description", "params", "paramDescriptions", "server", "serverDescription"] as const;
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
  /** weight of the server-level match (server name, description, all its tools) added to a tool's score */
  serverWeight: number;
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
  serverWeight: 0,
};

interface IndexedDoc {
  id: number;
  name: string;
  title: string;
  description: string;
  params: string;
  paramDescriptions: string;
  server: string;
  serverDescription: string;
}

interface TermGroup {
  weight: number;
  /** index term → weight (the word itself at 1, its synonyms lower) */
  alts: Map<string, number>;
}

interface SearchContext {
  cache: Map<string, Map<number, number>>;
  filter: ((r: { id: unknown }) => boolean) | undefined;
}

interface Ranked {
  id: number;
  score: number;
}

const DEFAULT_LIMIT = 10;
const TERM_CACHE_MAX = 200_000;
const IDENT = /^[\p{L}\p{N}_\-./:]+$/u;

/** Property names and descriptions of a JSON Schema's top-level `properties`. */
function schemaText(schema: Record<string, unknown> | undefined): { names: string; descriptions: string } {
  const props = schema?.properties;
  if (!props || typeof props !== "object") return { names: "", descriptions: "" };
  const names: string[] = [];
  const descriptions: string[] = [];
  for (const [key, value] of Object.entries(props as Record<string, unknown>)) {
    names.push(key);
    if (value && typeof value === "object") {
      const d = (value as Record<string, unknown>).description;
      if (typeof d === "string") descriptions.push(d);
    }
  }
  return { names: names.join(" "), descriptions: descriptions.join(" ") };
}

function round3(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Math.round(x * 1000) / 1000;
}

/** "read_text_file", "readTextFile" and "read text file" share the key "read text file". */
function nameKey(text: string): string {
  return tokenize(text).join(" ");
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function drop<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (!list) return;
  const next = list.filter((x) => x !== value);
  if (next.length > 0) map.set(key, next);
  else map.delete(key);
}

/** A live index: the gateway replaces one backend's tools when its list changes. */
export class ToolIndex {
  private readonly cfg: RankConfig;
  private readonly mini: MiniSearch<IndexedDoc>;
  private readonly serverMini: MiniSearch<{ id: string; name: string; description: string; tools: string }>;
  private readonly docs = new Map<number, ToolDoc>();
  private readonly byServer = new Map<string, number[]>();
  /** lowercased "name" and "server/name" → ids */
  private readonly exact = new Map<string, number[]>();
  /** nameKey(name) → ids */
  private readonly byNameKey = new Map<string, number[]>();
  private nextId = 1;
  private readonly termCache = new Map<string, string | null>();

  constructor(config: Partial<RankConfig> = {}) {
    this.cfg = { ...DEFAULT_CONFIG, ...config };
    this.mini = new MiniSearch<IndexedDoc>({
      idField: "id",
      fields: [...FIELDS],
      storeFields: [],
      tokenize,
      processTerm: (token) => this.term(token),
    });
    this.serverMini = new MiniSearch({
      idField: "id",
      fields: ["name", "description", "tools"],
      storeFields: [],
      tokenize,
      processTerm: (token) => this.term(token),
    });
  }

  get size(): number {
    return this.docs.size;
  }

  replaceServer(server: string, docs: ToolDoc[]): void {
    this.removeServer(server);
    const ids: number[] = [];
    const batch: IndexedDoc[] = [];
    for (const input of docs) {
      const doc: ToolDoc = { ...input, server };
      const id = this.nextId++;
      ids.push(id);
      this.docs.set(id, doc);
      const { names, descriptions } = schemaText(doc.inputSchema);
      batch.push({
        id,
        name: doc.name,
        title: doc.title ?? "",
        description: doc.description ?? "",
        params: names,
        paramDescriptions: descriptions,
        server,
        serverDescription: doc.serverDescription ?? "",
      });
      push(this.exact, doc.name.toLowerCase(), id);
      push(this.exact, `${server}/${doc.name}`.toLowerCase(), id);
      push(this.byNameKey, nameKey(doc.name), id);
    }
    if (ids.length === 0) return;
    this.mini.addAll(batch);
    this.byServer.set(server, ids);
    if (this.cfg.serverWeight > 0) {
      this.serverMini.add({
        id: server,
        name: server,
        description: docs.find((d) => d.serverDescription)?.serverDescription ?? "",
        tools: docs.map((d) => `${d.name} ${d.title ?? ""} ${d.description ?? ""}`).join(" "),
      });
    }
  }

  removeServer(server: string): void {
    const ids = this.byServer.get(server);
    if (!ids) return;
    for (const id of ids) {
      const doc = this.docs.get(id);
      if (doc) {
        drop(this.exact, doc.name.toLowerCase(), id);
        drop(this.exact, `${server}/${doc.name}`.toLowerCase(), id);
        drop(this.byNameKey, nameKey(doc.name), id);
      }
      this.docs.delete(id);
      this.mini.discard(id);
    }
    this.byServer.delete(server);
    if (this.serverMini.has(server)) this.serverMini.discard(server);
  }

  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const limit = Math.max(0, Math.floor(options.limit ?? DEFAULT_LIMIT));
    const q = query.trim();
    if (q === "" || limit === 0 || this.docs.size === 0) return [];
    const serverFilter = options.server;
    const ctx: SearchContext = {
      cache: new Map(),
      filter:
        serverFilter === undefined
          ? undefined
          : (r: { id: unknown }) => this.docs.get(r.id as number)?.server === serverFilter,
    };
    const accept = (id: number): boolean => {
      const doc = this.docs.get(id);
      return doc !== undefined && (serverFilter === undefined || doc.server === serverFilter);
    };

    const { ranked, ideal } = this.scoreQuery(q, ctx);
    const norm = (raw: number): number => (ideal > 0 ? Math.min(1, raw / ideal) : 0);

    // Name matches first: exact name or server/name, the same words as a name, then name prefixes.
    const first: Ranked[] = [];
    const seen = new Set<number>();
    const lower = q.toLowerCase();
    const rawScore = new Map(ranked.map((r) => [r.id, r.score]));
    const add = (id: number, score: number): void => {
      if (seen.has(id) || !accept(id)) return;
      seen.add(id);
      first.push({ id, score });
    };
    for (const id of this.exact.get(lower) ?? []) add(id, 1);
    for (const id of this.byNameKey.get(nameKey(q)) ?? []) add(id, 1);
    if (IDENT.test(q) && lower.length >= 3) {
      const slash = lower.indexOf("/");
      const server = slash > 0 ? lower.slice(0, slash) : undefined;
      const prefix = slash > 0 ? lower.slice(slash + 1) : lower;
      const prefixed: Ranked[] = [];
      if (prefix.length > 0) {
        for (const [id, doc] of this.docs) {
          if (seen.has(id) || (server !== undefined && doc.server.toLowerCase() !== server)) continue;
          if (doc.name.toLowerCase().startsWith(prefix)) prefixed.push({ id, score: norm(rawScore.get(id) ?? 0) });
        }
      }
      prefixed.sort((a, b) => b.score - a.score || a.id - b.id);
      for (const r of prefixed) add(r.id, r.score);
    }

    const out: Ranked[] = [...first];
    for (const r of ranked) {
      if (out.length >= limit) break;
      if (seen.has(r.id) || !accept(r.id)) continue;
      seen.add(r.id);
      out.push({ id: r.id, score: norm(r.score) });
    }
    const top = out.slice(0, limit);
    // Keep scores non-increasing down the list (name matches may outrank stronger text matches).
    for (let i = top.length - 2; i >= 0; i--) top[i]!.score = Math.max(top[i]!.score, top[i + 1]!.score);
    return top.map((r) => {
      const doc = this.docs.get(r.id)!;
      return { server: doc.server, tool: doc.name, score: round3(r.score), doc };
    });
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

  /** Query → one group per distinct index term; synonyms are looked up later, only if needed. */
  private queryTerms(query: string): { groups: TermGroup[]; words: Map<string, string> } {
    const groups = new Map<string, TermGroup>();
    const words = new Map<string, string>(); // index term → first raw word, for synonym lookup
    for (const tok of tokenize(query)) {
      const t = this.term(tok);
      if (!t) continue;
      const g = groups.get(t);
      if (g) g.weight += 1;
      else {
        groups.set(t, { weight: 1, alts: new Map([[t, 1]]) });
        words.set(t, tok);
      }
    }
    return { groups: [...groups.values()], words };
  }

  /** BM25 scores of one index term over all tools (prefix and fuzzy variants included). */
  private termScores(term: string, ctx: SearchContext): Map<number, number> {
    const cached = ctx.cache.get(term);
    if (cached) return cached;
    const cfg = this.cfg;
    const res = this.mini.search(term, {
      tokenize: (s) => [s],
      processTerm: (s) => s,
      boost: cfg.boost,
      bm25: cfg.bm25,
      prefix: !isCjk(term) && term.length >= cfg.prefixMin,
      fuzzy: !isCjk(term) && term.length >= cfg.fuzzyMin ? 1 : false,
      weights: { prefix: cfg.prefixWeight, fuzzy: cfg.fuzzyWeight },
      ...(ctx.filter ? { filter: ctx.filter } : {}),
    });
    const m = new Map<number, number>();
    for (const r of res) m.set(r.id as number, r.score);
    ctx.cache.set(term, m);
    return m;
  }

  /** Scores of a term group: the word itself, or (if it is rare) the best of its synonyms, weighted. */
  private groupScores(term: string, word: string, ctx: SearchContext): Map<number, number> {
    const own = this.termScores(term, ctx);
    const cfg = this.cfg;
    if (!cfg.synonyms || own.size >= cfg.synonymMaxHits || isCjk(term)) return own;
    const syns = cfg.synonyms(word);
    if (!syns || syns.length === 0) return own;
    const out = new Map(own);
    const tried = new Set<string>([term]);
    for (const s of syns) {
      const st = this.term(s);
      if (!st || tried.has(st)) continue;
      tried.add(st);
      for (const [id, sc] of this.termScores(st, ctx)) {
        const w = cfg.synonymWeight * sc;
        if (w > (out.get(id) ?? 0)) out.set(id, w);
      }
    }
    return out;
  }

  /** Rank all tools matching any query term; `ideal` is the score of a tool that is best on every term. */
  private scoreQuery(query: string, ctx: SearchContext): { ranked: Ranked[]; ideal: number } {
    const cfg = this.cfg;
    const { groups, words } = this.queryTerms(query);
    const n = this.docs.size;
    const combined = new Map<number, { sum: number; matched: number }>();
    let totalCoord = 0;
    let ideal = 0;
    for (const g of groups) {
      const term = g.alts.keys().next().value as string;
      const m = this.groupScores(term, words.get(term) ?? term, ctx);
      const w = g.weight;
      // IDF of the word, for the coordination share (a word no tool has still counts as missed).
      const c = cfg.coord > 0 ? w * Math.log(1 + (n - m.size + 0.5) / (m.size + 0.5)) : w;
      totalCoord += c;
      let best = 0;
      for (const [id, s] of m) {
        if (s > best) best = s;
        const e = combined.get(id);
        if (e) {
          e.sum += w * s;
          e.matched += c;
        } else combined.set(id, { sum: w * s, matched: c });
      }
      ideal += w * best;
    }
    const tc = totalCoord || 1;
    let ranked: Ranked[] = [];
    for (const [id, e] of combined) ranked.push({ id, score: e.sum * (e.matched / tc) ** cfg.coord });

    if (cfg.serverWeight > 0 && ranked.length > 0) {
      const terms = groups.map((g) => g.alts.keys().next().value as string);
      const sres = this.serverMini.search(terms.join(" "), {
        tokenize: (x) => x.split(" "),
        processTerm: (x) => x,
        bm25: cfg.bm25,
        boost: { name: 2, description: 1, tools: 1 },
      });
      const smax = sres.length > 0 ? sres[0]!.score : 1;
      const sscore = new Map(sres.map((r) => [String(r.id), r.score / smax]));
      const tmax = Math.max(...ranked.map((r) => r.score)) || 1;
      ranked = ranked.map((r) => ({
        id: r.id,
        score: r.score + cfg.serverWeight * tmax * (sscore.get(this.docs.get(r.id)?.server ?? "") ?? 0),
      }));
      ideal += cfg.serverWeight * tmax;
    }
    ranked.sort((a, b) => b.score - a.score || a.id - b.id);
    return { ranked, ideal };
  }
}

/** Pure: rank(query, tools) === new index over tools, searched. */
export function rank(query: string, tools: ToolDoc[], options?: SearchOptions): SearchHit[] {
  const index = new ToolIndex();
  const byServer = new Map<string, ToolDoc[]>();
  for (const t of tools) push(byServer, t.server, t);
  for (const [server, docs] of byServer) index.replaceServer(server, docs);
  return index.search(query, options);
}
