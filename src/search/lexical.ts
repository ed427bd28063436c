/**
 * The lexical scorer: BM25+ over a tool's fields, word by word (each step measured, see README "Search").
 *
 *  1. Fields and queries are analyzed alike (analyze.ts: tokenize, stopwords, Porter2). A query's URLs,
 *     paths and email addresses count as what they are (query-text.ts); words it writes apart that tools
 *     write as one ("cash flow") and initials a name has ("league of legends" → lol) count too.
 *  2. Each query word is scored on its own with BM25+ (bm25.ts, scored as MiniSearch scores, but with
 *     one IDF per word over the tools' own text rather than one per field), with field boosts, prefix matching for words of 4+ letters, and one-typo tolerance for words of 6+
 *     letters that no tool contains. A word that (almost) no tool contains is also tried through its
 *     general English synonyms (the `synonyms` package), at lower weight.
 *  3. A tool's score is the sum over query words × the square root of the share of the query's
 *     IDF-weighted words it matched, so that matching the rare, telling words beats matching many
 *     common ones.
 *  4. Scores are normalized to 0..1 against the query's ideal (a tool that matched every query word as
 *     well as the best tool for that word), so 1 is a perfect match, around 0.5 a good one, and below
 *     about 0.15 a weak partial one.
 */
import { Analyzer, EMPTY_FIELD, type Field, type QueryTerm } from './analyze.js';
import { Bm25Index, type Bm25Params, type ExpandOptions } from './bm25.js';
import type { Scorer, Scores } from './scorer.js';
import { stem } from './stem.js';
import { synonymsOf } from './synonyms.js';
import { typeEntities } from './query-text.js';
import { STOPWORDS } from './stopwords.js';
import { isCjk, tokenize } from './tokenize.js';
import { schemaText, type ToolDoc } from './tool-doc.js';

const FIELDS = ['name', 'title', 'description', 'params', 'paramDescriptions', 'server', 'serverDescription'] as const;
type FieldName = (typeof FIELDS)[number];

/** Tuning knobs. Exported for the evaluation harness's ablations; the gateway uses DEFAULT_CONFIG. */
export interface RankConfig extends ExpandOptions {
  boost: Record<FieldName, number>;
  bm25: Bm25Params;
  /**
   * Is a lowercased query word a known English word? Then it is not a typo, only a word no tool uses:
   * it gets no typo matching (words shorter than `typoWordsMin` letters only). null = no such check.
   */
  isWord: ((word: string) => boolean) | null;
  typoWordsMin: number;
  stopwords: boolean;
  stem: ((word: string) => string) | null;
  /** score × (IDF-weighted share of query words matched) ^ coord; 0 = plain sum */
  coord: number;
  /** general English synonyms of a lowercased word; null = none */
  synonyms: ((word: string) => readonly string[] | undefined) | null;
  synonymWeight: number;
  /** try synonyms only for query words that match fewer than this many tools */
  synonymMaxHits: number;
  /** also index camelCase words whole ("GitHub" → github, besides git, hub) */
  compounds: boolean;
  /** adjacent query words written apart that tools write as one word ("cash flow" → cashflow, "data.gov" → datagov) also count */
  joins: boolean;
  /** the initials of 3–4 adjacent query words that a tool or server name has as a word ("league of legends" → lol) also count */
  acronyms: boolean;
  /** a query's URLs, file paths and email addresses count as "url" (and the site's name), "file path" (and the extension), "email" */
  entities: boolean;
  /** a tool whose name writes a query word in another form ("recipes" for "recipe") loses this share of its score per word (rank.ts) */
  formAgreement: number;
}

export const DEFAULT_CONFIG: RankConfig = {
  boost: { name: 3, title: 2, description: 1.5, params: 0.8, paramDescriptions: 0.4, server: 2, serverDescription: 0.3 },
  bm25: { k: 1.2, b: 0.7, d: 0.5, toolIdf: true },
  prefixMin: 4,
  prefixWeight: 0.5,
  fuzzyMin: 6,
  fuzzyWeight: 0.3,
  fuzzyShortMin: 3,
  transpositions: true,
  isWord: (word) => synonymsOf(word) !== undefined,
  typoWordsMin: 6,
  stopwords: true,
  stem,
  coord: 0.5,
  synonyms: synonymsOf,
  synonymWeight: 0.35,
  synonymMaxHits: 3,
  compounds: true,
  joins: true,
  acronyms: true,
  entities: true,
  formAgreement: 0.2,
};

/** Query words looked at for joins and initials (a tool-like query has a handful; a pasted text many). */
const MAX_RUN_TOKENS = 64;

export class LexicalScorer implements Scorer {
  private readonly cfg: RankConfig;
  private readonly boosts: Float64Array;
  private readonly analyzer: Analyzer;
  /** expansion options for a known word: prefixes, no typos */
  private readonly noTypos: RankConfig;
  /** name, title, description and parameter names are the tool's own text (for the tool-level IDF) */
  private readonly index = new Bm25Index(FIELDS.length, 4);
  /** the server and server-description fields of the current batch, analyzed once per distinct text */
  private readonly batchFields = new Map<string, Field>();
  // Score buffers, indexed by document number, reused across searches. term0/term1 are zero between
  // searches; sum/matched hold the last search's scores (for its Scores) until the next one starts.
  private term0 = new Float64Array(0);
  private term1 = new Float64Array(0);
  private sum = new Float64Array(0);
  private matched = new Float64Array(0);
  private touched: number[] = [];

  constructor(config: Partial<RankConfig> = {}) {
    this.cfg = { ...DEFAULT_CONFIG, ...config };
    this.boosts = Float64Array.from(FIELDS.map((f) => this.cfg.boost[f]));
    this.analyzer = new Analyzer(this.cfg);
    this.noTypos = { ...this.cfg, fuzzyMin: Number.POSITIVE_INFINITY, fuzzyShortMin: Number.POSITIVE_INFINITY };
  }

  add(id: number, doc: ToolDoc): void {
    this.index.add(id, this.fields(doc, true));
  }

  remove(id: number, doc: ToolDoc): void {
    this.index.remove(id, this.fields(doc, false));
  }

  flush(): void {
    this.batchFields.clear();
    this.index.trim();
    this.analyzer.releaseWhenIdle();
  }

  /** A tool's analyzed fields, in FIELDS order. */
  private fields(doc: ToolDoc, inBatch: boolean): Field[] {
    const { names, descriptions } = schemaText(doc.inputSchema);
    const a = this.analyzer;
    return [
      a.field(doc.name),
      a.field(doc.title ?? ''),
      a.field(doc.description ?? ''),
      a.field(names),
      a.field(descriptions),
      inBatch ? this.batchField(`s:${doc.server}`, doc.server) : a.field(doc.server),
      inBatch ? this.batchField(`d:${doc.serverDescription ?? ''}`, doc.serverDescription ?? '') : a.field(doc.serverDescription ?? ''),
    ];
  }

  private batchField(key: string, text: string): Field {
    if (!text) return EMPTY_FIELD;
    let field = this.batchFields.get(key);
    if (!field) {
      field = this.analyzer.field(text);
      this.batchFields.set(key, field);
    }
    return field;
  }

  score(query: string, accept: ((id: number) => boolean) | undefined): Scores {
    this.reset();
    this.ensureBuffers();
    const touched = this.touched;
    let ideal: number;
    let coordTotal: number;
    try {
      ({ ideal, coordTotal } = this.scoreQuery(query, touched, accept));
    } catch (error) {
      // A throwing `accept` can leave partial scores anywhere in the buffers: clear them whole.
      for (const buffer of [this.term0, this.term1, this.sum, this.matched]) buffer.fill(0);
      touched.length = 0;
      throw error;
    }
    const { sum, matched } = this;
    const coord = this.cfg.coord;
    // raw ≤ ideal (each word scores at most the best tool's score for it, and the coordination factor
    // is ≤ 1), so the normalized scores keep the raw order.
    const get = (id: number): number => {
      const s = sum[id]!;
      if (!(s > 0) || !(ideal > 0)) return 0;
      return Math.min(1, (s * (matched[id]! / coordTotal) ** coord) / ideal);
    };
    return { ids: touched, get };
  }

  /** Zero what the last search left in sum/matched. */
  private reset(): void {
    for (const id of this.touched) {
      this.sum[id] = 0;
      this.matched[id] = 0;
    }
    this.touched = [];
  }

  private ensureBuffers(): void {
    const cap = this.index.capacity;
    if (this.sum.length >= cap) return;
    const size = Math.max(cap, this.sum.length * 2, 64);
    this.term0 = new Float64Array(size);
    this.term1 = new Float64Array(size);
    this.sum = new Float64Array(size);
    this.matched = new Float64Array(size);
  }

  /** BM25 of one query term (with its prefix and typo variants) into `into`; returns the touched ids. */
  private scoreTerm(term: string, into: Float64Array, accept: ((id: number) => boolean) | undefined, word?: string): number[] {
    const cfg = this.cfg;
    const touched: number[] = [];
    if (isCjk(term)) {
      this.index.scoreTerm(term, 1, this.boosts, cfg.bm25, into, touched, accept);
      return touched;
    }
    const known = word !== undefined && word.length < cfg.typoWordsMin && cfg.isWord?.(word) === true;
    for (const [t, w] of this.index.expand(term, known ? this.noTypos : cfg)) {
      this.index.scoreTerm(t, w, this.boosts, cfg.bm25, into, touched, accept);
    }
    return touched;
  }

  /** The query's analyzed words (its URLs, paths and addresses typed), plus the joined words and initials the index has. */
  private queryTerms(raw: string): QueryTerm[] {
    const query = this.cfg.entities ? typeEntities(raw) : raw;
    // Tokenized once: the analyzer's terms, and the words as typed for joins and initials.
    const typed = tokenize(query);
    const terms = this.analyzer.query(query, typed);
    const cfg = this.cfg;
    if (!cfg.joins && !cfg.acronyms) return terms;
    // Joins and initials are read from the words as typed, stopwords kept; not from a URL's or path's parts.
    const have = new Set(terms.map((t) => t.term));
    const add = (word: string) => {
      const term = this.analyzer.term(word);
      if (term && !have.has(term)) {
        have.add(term);
        terms.push({ term, word, weight: 1 });
      }
    };
    // The first words only: a pasted blob (base64, a log) would otherwise cost thousands of lookups.
    const tokens = typed.filter((t) => !isCjk(t)).slice(0, MAX_RUN_TOKENS);
    const content = (t: string) => /^[a-z]+$/.test(t) && !STOPWORDS.has(t);
    for (let i = 0; i < tokens.length; i++) {
      if (!content(tokens[i]!)) continue;
      for (let n = 2; n <= 4 && i + n <= tokens.length; n++) {
        const run = tokens.slice(i, i + n);
        if (!content(run[n - 1]!)) continue;
        // Words written apart that tools write as one ("cash flow" → cashflow); never across a stopword ("for me").
        if (cfg.joins && n <= 3 && run.every(content)) {
          const joined = run.join('');
          const term = this.analyzer.term(joined);
          if (term && this.index.has(term)) add(joined);
        }
        // Initials, stopwords inside counted ("league of legends" → lol), only as a tool's or server's name word
        // and not an English word (three letters in descriptions, or "add", "map", are too often something else).
        if (cfg.acronyms && run.every((t) => /^[a-z]+$/.test(t))) {
          const initials = run.map((t) => t[0]).join('');
          // Index words are stemmed: "aws" is indexed as "aw".
          const term = initials.length >= 3 && cfg.isWord?.(initials) !== true ? this.analyzer.term(initials) : null;
          if (term && (this.index.inField(term, 0) || this.index.inField(term, 5))) add(initials);
        }
      }
    }
    return terms;
  }

  /**
   * Fill sum / matched for every tool matching a query word. `ideal` is the summed score of a tool
   * that would be the best on every word; `coordTotal` the IDF weight of all query words.
   */
  private scoreQuery(
    query: string,
    touched: number[],
    accept: ((id: number) => boolean) | undefined,
  ): { ideal: number; coordTotal: number } {
    const cfg = this.cfg;
    const n = this.index.documentCount;
    const { term0, term1, sum, matched } = this;
    let ideal = 0;
    let coordTotal = 0;
    for (const g of this.queryTerms(query)) {
      const own = this.scoreTerm(g.term, term0, accept, g.word);
      // A word (almost) no tool has: also try its general English synonyms, at lower weight.
      if (cfg.synonyms && own.length < cfg.synonymMaxHits && !isCjk(g.term)) {
        const tried = new Set<string>([g.term]);
        for (const syn of cfg.synonyms(g.word) ?? []) {
          const st = this.analyzer.term(syn);
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
