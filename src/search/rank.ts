/**
 * Tool search, one entry point: `ToolIndex.search`. `rank(query, tools)` is a fresh index over `tools`,
 * searched; `search_tools` and the evaluation harness (`npm run eval:search`) both go through it.
 *
 * A search:
 *  1. Scorers score the query (lexical.ts, BM25, is the one the gateway uses; scorer.ts is the seam
 *     for more), each 0..1 against the query's ideal; `fuse` takes their weighted mean, halved for a
 *     tool that says it is deprecated (tool-doc.ts), so its replacement ranks above it.
 *  2. Name matches come first (names.ts): the exact tool name (or server/tool) and the same words as a
 *     name (not a deprecated tool's) rank first with score 1, then tools whose name starts with an
 *     identifier-like query.
 *  3. Then the best fused scores fill the rest of `limit`, after the form agreement (form-agreement.ts)
 *     re-orders the best of them: "list papers" prefers list_papers to download_paper.
 * The caller's `server` and `filter` decide which tools may take part at all, in every step.
 */
import { DEFAULT_CONFIG, LexicalScorer, type RankConfig } from './lexical.js';
import { NameIndex } from './names.js';
import { fuse, fuseRanks, type Ranked, type Scores, topK, type WeightedScorer } from './scorer.js';
import type { SemanticTier } from './semantic/tier.js';
import { agreeInForm } from './form-agreement.js';
import { CJK_CHAR } from './tokenize.js';
import { isDeprecated, type ToolDoc } from './tool-doc.js';

export { DEFAULT_CONFIG, LexicalScorer, type RankConfig } from './lexical.js';
export type { Scorer, Scores, WeightedScorer } from './scorer.js';
export { type ToolDefinition, type ToolDoc, toolDoc } from './tool-doc.js';

export interface SearchHit {
  server: string;
  tool: string;
  score: number;
  doc: ToolDoc;
}

export type Tier = 'lexical' | 'hybrid';

/** How the semantic tier joins the lexical scores: weighted mean of 0..1 scores, or reciprocal ranks. */
export interface SemanticFusion {
  weight: number;
  method: 'sum' | 'rrf';
  /**
   * The weight for short queries (at most `shortWords` words), if different: a model's short tool-like
   * query is answered best by its words, a user's sentence by its meaning.
   */
  shortWeight?: number;
  shortWords?: number;
}

const CJK = new RegExp(CJK_CHAR.source, 'gu');

/** Words, as a user would count them: a CJK text, written without spaces, counts one word per two characters. */
function wordCount(query: string): number {
  let count = 0;
  for (const word of query.split(/\s+/u)) {
    if (word === '') continue;
    const cjk = word.match(CJK)?.length ?? 0;
    count += cjk > 0 ? Math.max(1, Math.ceil(cjk / 2)) : 1;
  }
  return count;
}

/** The fusion weight for one query. */
export function fusionWeight(fusion: SemanticFusion, query: string): number {
  if (fusion.shortWeight === undefined) return fusion.weight;
  const words = wordCount(query);
  return words <= (fusion.shortWords ?? 6) ? fusion.shortWeight : fusion.weight;
}

/**
 * Searches whose hits a semantic tier could refine, by hits array: `ToolIndex.search` stays synchronous
 * (it answers lexically at once), and `refineSearch(hits)` asks for the hybrid answer, which needs the
 * query's vector. Keyed by the array so the hits can pass through any layer (the caller's view) unchanged.
 */
const refinements = new WeakMap<SearchHit[], () => Promise<{ hits: SearchHit[]; tier: Tier }>>();

/**
 * The hybrid ranking of a search if its index has a semantic tier whose tool vectors are complete and the
 * query's vector arrives in time; else the same hits, tier "lexical". `tier` is undefined when the index
 * has no semantic tier.
 */
export async function refineSearch(hits: SearchHit[]): Promise<{ hits: SearchHit[]; tier?: Tier }> {
  const refine = refinements.get(hits);
  return refine ? refine() : { hits };
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

const DEFAULT_LIMIT = 10;
/** tools beyond `limit` that the form agreement re-orders (a tie-breaker: it never lifts a tool from far below) */
const CANDIDATES = 30;
/**
 * A deprecated tool's score is multiplied by this: enough that a replacement matching the query about
 * as well ranks above it (filesystem's read_file scores 1.3–1.6× read_text_file on "read a file"
 * queries: a shorter name and description match denser), not so much that it drops out of the results.
 */
const DEPRECATED_FACTOR = 0.5;
const IDENT = /^[\p{L}\p{N}_\-./:]+$/u;

function round3(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Math.round(x * 1000) / 1000;
}

/** A live index: the gateway replaces one backend's tools when its list changes. */
export class ToolIndex {
  private readonly scorers: readonly WeightedScorer[];
  private readonly names = new NameIndex();
  private readonly docs = new Map<number, ToolDoc>();
  private readonly byServer = new Map<string, number[]>();
  /** 1 for the ids of tools that say they are deprecated (a flag per id: prior() runs once per candidate) */
  private deprecated = new Uint8Array(0);
  private deprecatedCount = 0;
  private readonly prior = (id: number): number => (this.deprecated[id] === 1 ? DEPRECATED_FACTOR : 1);
  private nextId = 0;
  private semantic: { tier: SemanticTier; fusion: SemanticFusion } | undefined;
  /** per-search filter answers: 0 not asked yet, 1 accepted, 2 rejected; `decided` lists the asked ids */
  private verdict = new Uint8Array(0);
  private readonly decided: number[] = [];

  /**
   * `config` tunes the lexical scorer. `scorers`, if given, replace it (the lexical one is then not
   * built): e.g. `[{ scorer: new LexicalScorer(), weight: 0.7 }, { scorer: semantic, weight: 0.3 }]`.
   */
  private readonly formPenalty: number;

  constructor(config: Partial<RankConfig> = {}, scorers?: readonly WeightedScorer[]) {
    this.scorers = scorers ?? [{ scorer: new LexicalScorer(config), weight: 1 }];
    this.formPenalty = config.formAgreement ?? DEFAULT_CONFIG.formAgreement;
  }

  get size(): number {
    return this.docs.size;
  }

  replaceServer(server: string, docs: ToolDoc[]): void {
    this.removeServer(server);
    const ids: number[] = [];
    for (const input of docs) {
      const doc: ToolDoc = input.server === server ? input : { ...input, server };
      const id = this.nextId++;
      ids.push(id);
      this.docs.set(id, doc);
      if (isDeprecated(doc)) this.flagDeprecated(id);
      for (const s of this.scorers) s.scorer.add(id, doc);
      this.semantic?.tier.add(id, doc);
      this.names.add(id, doc.name);
    }
    if (ids.length > 0) this.byServer.set(server, ids);
    for (const s of this.scorers) s.scorer.flush();
    this.semantic?.tier.flush();
  }

  /**
   * Add (or, with undefined, drop) a semantic tier: it gets every indexed tool now and every change
   * later, and `refineSearch` of this index's hits fuses it with the lexical scores.
   */
  setSemantic(tier: SemanticTier | undefined, fusion: SemanticFusion = { weight: 0.3, method: 'sum' }): void {
    this.semantic = tier ? { tier, fusion } : undefined;
    if (!tier) return;
    for (const [id, doc] of this.docs) tier.add(id, doc);
    tier.flush();
  }

  removeServer(server: string): void {
    const ids = this.byServer.get(server);
    if (!ids) return;
    for (const id of ids) {
      const doc = this.docs.get(id);
      if (!doc) continue;
      this.names.remove(id, doc.name);
      for (const s of this.scorers) s.scorer.remove(id, doc);
      this.semantic?.tier.remove(id);
      this.docs.delete(id);
      if (this.deprecated[id] === 1) {
        this.deprecated[id] = 0;
        this.deprecatedCount--;
      }
    }
    this.byServer.delete(server);
  }

  private flagDeprecated(id: number): void {
    if (id >= this.deprecated.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.deprecated.length * 2, 64));
      grown.set(this.deprecated);
      this.deprecated = grown;
    }
    this.deprecated[id] = 1;
    this.deprecatedCount++;
  }

  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const hits = this.run(query, options, false);
    const semantic = this.semantic;
    if (semantic) {
      refinements.set(hits, async () => {
        // A query the fusion gives no weight to (a short one) never waits for, nor costs, an embedding.
        if (!semantic.tier.complete || fusionWeight(semantic.fusion, query) === 0) return { hits, tier: 'lexical' };
        const vector = await semantic.tier.queryVector(query.trim());
        if (!vector || this.semantic !== semantic) return { hits, tier: 'lexical' };
        return { hits: this.searchWithVector(query, vector, options), tier: 'hybrid' };
      });
    }
    return hits;
  }

  /** The hybrid search, given the query's vector (from the semantic tier's embedder); lexical without a tier. */
  searchWithVector(query: string, vector: Float32Array, options: SearchOptions = {}): SearchHit[] {
    const tier = this.semantic?.tier;
    return tier ? tier.withQuery(vector, () => this.run(query, options, true)) : this.run(query, options, false);
  }

  /** One synchronous search: the lexical scorers, and the semantic tier too if `hybrid`. */
  private run(query: string, options: SearchOptions, hybrid: boolean): SearchHit[] {
    const limit = Math.max(0, Math.floor(options.limit ?? DEFAULT_LIMIT));
    const q = query.trim();
    if (q === '' || limit === 0 || this.docs.size === 0) return [];
    const accept = this.acceptor(options);
    try {
      const parts = this.scorers.map((s) => ({ scores: s.scorer.score(q, accept), weight: s.weight }));
      const prior = this.deprecatedCount > 0 ? this.prior : undefined;
      let scores: Scores;
      if (hybrid && this.semantic) {
        const { tier, fusion } = this.semantic;
        const both = [
          { scores: fuse(parts), weight: 1 },
          { scores: tier.score(q, accept), weight: fusionWeight(fusion, q) },
        ];
        scores = fusion.method === 'sum' ? fuse(both, prior) : fuse([{ scores: fuseRanks(both), weight: 1 }], prior);
      } else scores = fuse(parts, prior);
      if (this.formPenalty > 0) scores = agreeInForm(q, scores, limit + CANDIDATES, (id) => this.docs.get(id)?.name, this.formPenalty);
      return this.assemble(q, scores, limit, accept).map((r) => {
        const doc = this.docs.get(r.id)!;
        return { server: doc.server, tool: doc.name, score: round3(r.score), doc };
      });
    } finally {
      for (const id of this.decided) this.verdict[id] = 0;
      this.decided.length = 0;
    }
  }

  /** Name matches first (exact name or server/name, the same words as a name, name prefixes), then the best scores. */
  private assemble(q: string, scores: Scores, limit: number, accept: ((id: number) => boolean) | undefined): Ranked[] {
    const out: Ranked[] = [];
    const seen = new Set<number>();
    const add = (id: number, score: number): void => {
      if (seen.has(id) || !this.docs.has(id) || (accept !== undefined && !accept(id))) return;
      seen.add(id);
      out.push({ id, score });
    };
    const lower = q.toLowerCase();
    // "server/name": server names hold no "/", so the first one splits; the whole query may be a name too.
    const slash = lower.indexOf('/');
    const server = slash > 0 ? lower.slice(0, slash) : undefined;
    const afterServer = slash > 0 ? lower.slice(slash + 1) : lower;
    for (const id of this.names.named(lower)) add(id, 1);
    if (server !== undefined) {
      for (const id of this.names.named(afterServer)) if (this.docs.get(id)?.server.toLowerCase() === server) add(id, 1);
    }
    // The same words as a deprecated tool's name are not asking for it by name: it ranks by score.
    for (const id of this.names.sameWords(q)) if (this.deprecated[id] !== 1) add(id, 1);
    if (IDENT.test(q) && lower.length >= 3 && out.length < limit && afterServer.length > 0) {
      const prefixed: Ranked[] = [];
      for (const id of this.names.startingWith(afterServer)) {
        if (seen.has(id)) continue;
        if (server !== undefined && this.docs.get(id)?.server.toLowerCase() !== server) continue;
        prefixed.push({ id, score: scores.get(id) });
      }
      prefixed.sort((a, b) => b.score - a.score || a.id - b.id);
      for (const r of prefixed) add(r.id, r.score);
    }
    for (const r of topK(scores.ids, (id) => scores.get(id), limit + seen.size)) {
      if (out.length >= limit) break;
      add(r.id, r.score);
    }
    const top = out.slice(0, limit);
    // Keep scores non-increasing down the list (name matches may outrank stronger text matches).
    for (let i = top.length - 2; i >= 0; i--) top[i]!.score = Math.max(top[i]!.score, top[i + 1]!.score);
    return top;
  }

  /**
   * The per-search document test for `server` and `filter`, or undefined when everything is accepted.
   * The caller's filter is asked once per tool and its answer kept in `verdict` for this search: a
   * query word's postings visit a tool once per field, and prefix/typo variants visit it again.
   */
  private acceptor(options: SearchOptions): ((id: number) => boolean) | undefined {
    const { server, filter } = options;
    if (server === undefined && filter === undefined) return undefined;
    if (this.verdict.length < this.nextId) this.verdict = new Uint8Array(Math.max(this.nextId, this.verdict.length * 2, 64));
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
}

/** Pure: rank(query, tools) === new index over tools, searched. */
export function rank(query: string, tools: ToolDoc[], options?: SearchOptions): SearchHit[] {
  return indexOf(tools).search(query, options);
}

/** A fresh index over `tools` (grouped by server, as backends' lists arrive). */
export function indexOf(tools: readonly ToolDoc[], config?: Partial<RankConfig>): ToolIndex {
  const index = new ToolIndex(config);
  const byServer = new Map<string, ToolDoc[]>();
  for (const t of tools) {
    const list = byServer.get(t.server);
    if (list) list.push(t);
    else byServer.set(t.server, [t]);
  }
  for (const [server, docs] of byServer) index.replaceServer(server, docs);
  return index;
}
