import MiniSearch from "minisearch";
import { STOPWORDS } from "./stopwords.js";
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

/** Tuning knobs. Exported for the evaluation harness; the gateway uses DEFAULT_CONFIG. */
export interface RankConfig {
  boost: Record<Field, number>;
  bm25: { k: number; b: number; d: number };
  /** query terms at least this long also match as prefixes */
  prefixMin: number;
  prefixWeight: number;
  /** query terms at least this long also match with one edit */
  fuzzyMin: number;
  fuzzyWeight: number;
  stopwords: boolean;
  stem: ((word: string) => string) | null;
  /** score × (share of query weight matched)^coord */
  coord: number;
  /** weigh the coordination share by each query term's IDF */
  coordIdf: boolean;
  /** multi-part queries: also rank each clause, and merge */
  clauses: "off" | "rr" | "rr2";
  /** weight of the server-level match (server name, description and all its tools) in a tool's score */
  serverWeight: number;
  /** general English synonyms of a (lowercased, unstemmed) word; matched at synonymWeight */
  synonyms: ((word: string) => readonly string[] | undefined) | null;
  synonymWeight: number;
  /** expand a query word with synonyms only when it matches fewer than this many tools */
  synonymMaxHits: number;
}

export const DEFAULT_CONFIG: RankConfig = {
  boost: { name: 3, title: 2, description: 1.5, params: 0.8, paramDescriptions: 0.4, server: 1, serverDescription: 0.3 },
  bm25: { k: 1.2, b: 0.7, d: 0.5 },
  prefixMin: 4,
  prefixWeight: 0.5,
  fuzzyMin: 6,
  fuzzyWeight: 0.3,
  stopwords: false,
  stem: null,
  coord: 1,
  coordIdf: false,
  clauses: "off",
  serverWeight: 0,
  synonyms: null,
  synonymWeight: 0.5,
  synonymMaxHits: Number.POSITIVE_INFINITY,
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

const DEFAULT_LIMIT = 10;

interface SearchContext {
  cache: Map<string, Map<number, number>>;
  filter: ((r: { id: unknown }) => boolean) | undefined;
}

/** Split a multi-step request into its parts: sentences, semicolons, commas, "and"/"then". */
export function splitClauses(text: string): string[] {
  return text
    .split(/[.!?;:]+(?:\s+|$)|,\s+|\s+(?:and then|then|and|after that|afterwards|also)\s+/i)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Merge the whole-query ranking with one ranking per clause, round-robin, so that each part of a
 * multi-step request gets its best tool near the top instead of five variants of one.
 */
function mergeClauses(
  whole: { id: number; score: number }[],
  lists: { id: number; score: number }[][],
  mode: "rr" | "rr2",
  limit: number,
): { id: number; score: number }[] {
  const seen = new Set<number>();
  const out: { id: number; score: number }[] = [];
  const all = mode === "rr" ? [whole, ...lists] : [whole, whole, ...lists];
  const pos = all.map(() => 0);
  const wholeScore = new Map(whole.map((r) => [r.id, r.score]));
  let progressed = true;
  while (out.length < limit && progressed) {
    progressed = false;
    for (let i = 0; i < all.length && out.length < limit; i++) {
      const list = all[i]!;
      while (pos[i]! < list.length && seen.has(list[pos[i]!]!.id)) pos[i]!++;
      const r = list[pos[i]!];
      if (!r) continue;
      pos[i]!++;
      progressed = true;
      seen.add(r.id);
      out.push({ id: r.id, score: wholeScore.get(r.id) ?? r.score });
    }
  }
  for (const r of whole) if (!seen.has(r.id)) out.push(r);
  return out;
}

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

/** A live index: the gateway replaces one backend's tools when its list changes. */
export class ToolIndex {
  private readonly mini: MiniSearch<IndexedDoc>;
  private readonly serverMini: MiniSearch<{ id: string; name: string; description: string; tools: string }>;
  private readonly docs = new Map<number, ToolDoc>();
  private readonly byServer = new Map<string, number[]>();
  /** lowercased "name" and "server/name" → ids */
  private readonly exact = new Map<string, number[]>();
  private readonly cfg: RankConfig;
  private nextId = 1;

  constructor(config: Partial<RankConfig> = {}) {
    this.cfg = { ...DEFAULT_CONFIG, ...config };
    this.mini = new MiniSearch<IndexedDoc>({
      idField: "id",
      fields: [...FIELDS],
      storeFields: [],
      tokenize: (text) => tokenize(text),
      processTerm: (term) => this.term(term),
    });
    this.serverMini = new MiniSearch({
      idField: "id",
      fields: ["name", "description", "tools"],
      storeFields: [],
      tokenize: (text) => tokenize(text),
      processTerm: (term) => this.term(term),
    });
  }

  get size(): number {
    return this.docs.size;
  }

  /** Normalize one token into an index term (null drops it). */
  private term(token: string): string | null {
    if (isCjk(token)) return token;
    if (this.cfg.stopwords && STOPWORDS.has(token)) return null;
    return this.cfg.stem ? this.cfg.stem(token) : token;
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
      this.addExact(doc.name.toLowerCase(), id);
      this.addExact(`${server}/${doc.name}`.toLowerCase(), id);
    }
    this.mini.addAll(batch);
    if (ids.length > 0) {
      this.byServer.set(server, ids);
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
        this.dropExact(doc.name.toLowerCase(), id);
        this.dropExact(`${server}/${doc.name}`.toLowerCase(), id);
      }
      this.docs.delete(id);
      this.mini.discard(id);
    }
    this.byServer.delete(server);
    if (this.serverMini.has(server)) this.serverMini.discard(server);
  }

  /** Query → weighted term groups: each query word with its synonyms as weaker alternatives. */
  private queryTerms(query: string): { weight: number; alts: Map<string, number> }[] {
    const groups = new Map<string, { weight: number; alts: Map<string, number> }>();
    const syn = this.cfg.synonyms;
    for (const tok of tokenize(query)) {
      const t = this.term(tok);
      if (!t) continue;
      const g = groups.get(t);
      if (g) {
        g.weight += 1;
        continue;
      }
      const alts = new Map<string, number>([[t, 1]]);
      if (syn && !isCjk(tok)) {
        for (const w of syn(tok) ?? []) {
          const st = this.term(w);
          if (st && !alts.has(st)) alts.set(st, this.cfg.synonymWeight);
        }
      }
      groups.set(t, { weight: 1, alts });
    }
    return [...groups.values()];
  }

  private termScores(term: string, filter: ((r: { id: unknown }) => boolean) | undefined): Map<number, number> {
    const cfg = this.cfg;
    const res = this.mini.search(term, {
      tokenize: (s) => [s],
      processTerm: (s) => s,
      boost: cfg.boost,
      bm25: cfg.bm25,
      prefix: term.length >= cfg.prefixMin,
      fuzzy: term.length >= cfg.fuzzyMin ? 1 : false,
      weights: { prefix: cfg.prefixWeight, fuzzy: cfg.fuzzyWeight },
      ...(filter ? { filter } : {}),
    });
    const m = new Map<number, number>();
    for (const r of res) m.set(r.id as number, r.score);
    return m;
  }

  /** Scores of one query term group (the word, or its synonyms at lower weight), cached per search. */
  private groupScores(
    g: { weight: number; alts: Map<string, number> },
    ctx: SearchContext,
  ): Map<number, number> {
    const key = [...g.alts.keys()].join(" ");
    const hit = ctx.cache.get(key);
    if (hit) return hit;
    let m: Map<number, number> | undefined;
    for (const [alt, w] of g.alts) {
      const scores = this.termScores(alt, ctx.filter);
      if (!m) {
        m = scores;
        if (m.size >= this.cfg.synonymMaxHits) break;
        continue;
      }
      for (const [id, s] of scores) {
        const ws = w * s;
        if (ws > (m.get(id) ?? 0)) m.set(id, ws);
      }
    }
    const out = m ?? new Map<number, number>();
    ctx.cache.set(key, out);
    return out;
  }

  /** BM25 per term, summed, × coordination (IDF-weighted share of the query's terms that matched). */
  private scoreText(text: string, ctx: SearchContext): { id: number; score: number }[] {
    const cfg = this.cfg;
    const groups = this.queryTerms(text);
    const n = this.docs.size;
    const combined = new Map<number, { sum: number; matched: number }>();
    let totalWeight = 0;
    for (const g of groups) {
      const m = this.groupScores(g, ctx);
      const w = g.weight;
      const c = cfg.coordIdf ? w * Math.log(1 + (n - m.size + 0.5) / (m.size + 0.5)) : w;
      totalWeight += c;
      for (const [id, s] of m) {
        const e = combined.get(id);
        if (e) {
          e.sum += w * s;
          e.matched += c;
        } else combined.set(id, { sum: w * s, matched: c });
      }
    }
    const tw = totalWeight || 1;
    return [...combined.entries()]
      .map(([id, e]) => ({ id, score: e.sum * (e.matched / tw) ** cfg.coord }))
      .sort((a, b) => b.score - a.score || a.id - b.id);
  }

  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const limit = Math.max(0, Math.floor(options.limit ?? DEFAULT_LIMIT));
    const q = query.trim();
    if (q === "" || limit === 0) return [];
    const serverFilter = options.server;
    const cfg = this.cfg;
    const ctx: SearchContext = {
      cache: new Map(),
      filter:
        serverFilter === undefined ? undefined : (r: { id: unknown }) => this.docs.get(r.id as number)?.server === serverFilter,
    };

    let ranked = this.scoreText(q, ctx);
    if (cfg.serverWeight > 0 && ranked.length > 0) {
      const terms = this.queryTerms(q).map((g) => [...g.alts.keys()][0]!);
      const sres = this.serverMini.search(terms.join(" "), {
        tokenize: (x) => x.split(" "),
        processTerm: (x) => x,
        bm25: cfg.bm25,
        boost: { name: 2, description: 1, tools: 1 },
      });
      const smax = sres.length > 0 ? sres[0]!.score : 1;
      const sscore = new Map(sres.map((r) => [String(r.id), r.score / smax]));
      const tmax = ranked[0]!.score || 1;
      ranked = ranked
        .map((r) => ({ id: r.id, score: r.score / tmax + cfg.serverWeight * (sscore.get(this.docs.get(r.id)!.server) ?? 0) }))
        .sort((a, b) => b.score - a.score || a.id - b.id);
    }
    if (cfg.clauses !== "off") {
      const parts = splitClauses(q);
      if (parts.length > 1) {
        const lists = parts.map((p) => this.scoreText(p, ctx)).filter((l) => l.length > 0);
        ranked = mergeClauses(ranked, lists, cfg.clauses, limit);
      }
    }

    const hits: SearchHit[] = [];
    const seen = new Set<number>();
    // Exact tool name (or server/tool) first.
    const top = ranked.length > 0 ? ranked[0]!.score : 0;
    for (const id of this.exact.get(q.toLowerCase()) ?? []) {
      const doc = this.docs.get(id);
      if (!doc || (serverFilter !== undefined && doc.server !== serverFilter)) continue;
      seen.add(id);
      hits.push({ server: doc.server, tool: doc.name, score: round3(top + 1), doc });
    }
    for (const r of ranked) {
      if (hits.length >= limit) break;
      if (seen.has(r.id)) continue;
      const doc = this.docs.get(r.id);
      if (!doc) continue;
      seen.add(r.id);
      hits.push({ server: doc.server, tool: doc.name, score: round3(r.score), doc });
    }
    return hits.slice(0, limit);
  }

  private addExact(key: string, id: number): void {
    const list = this.exact.get(key);
    if (list) list.push(id);
    else this.exact.set(key, [id]);
  }

  private dropExact(key: string, id: number): void {
    const list = this.exact.get(key);
    if (!list) return;
    const next = list.filter((x) => x !== id);
    if (next.length > 0) this.exact.set(key, next);
    else this.exact.delete(key);
  }
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
