/**
 * Text → index terms, for documents and queries alike: tokenize (tokenize.ts), drop general English
 * stopwords, stem (Porter2). Memoized per token and per word, since vocabularies are small and words
 * repeat across tools; the memos are dropped once indexing pauses.
 */
import { STOPWORDS } from './stopwords.js';
import { isCjk, tokenize, wordTokens, words } from './tokenize.js';

/** One field's index terms and its length for BM25 (its number of terms). */
export interface Field {
  terms: string[];
  length: number;
}

/** One distinct term of a query. */
export interface QueryTerm {
  /** the index term */
  term: string;
  /** the raw word it came from (for synonym lookup) */
  word: string;
  /** how often it occurs in the query */
  weight: number;
}

export interface AnalyzerOptions {
  stopwords: boolean;
  stem: ((word: string) => string) | null;
  /**
   * A camelCase word in a document ("JavaScript", "GitHub", "PowerPoint") is also indexed whole, so a
   * query that writes it as one word ("javascript") finds it; its parts are indexed as ever.
   */
  compounds?: boolean;
}

export const EMPTY_FIELD: Field = { terms: [], length: 0 };
const MEMO_MAX = 200_000;
/** two parts, letters only, a lower-to-upper change inside: JavaScript, GitHub, PowerPoint (not HTML, not base64) */
const COMPOUND = /^[\p{L}]*\p{Ll}\p{Lu}[\p{L}]*$/u;
/** The word memos are dropped after this long without indexing. */
const MEMO_IDLE_MS = 2_000;

export class Analyzer {
  private readonly termMemo = new Map<string, string | null>();
  private readonly wordMemo = new Map<string, string[]>();
  private memoTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: AnalyzerOptions) {}

  /** Normalize one token into an index term (null drops it). */
  term(token: string): string | null {
    const hit = this.termMemo.get(token);
    if (hit !== undefined) return hit;
    let t: string | null;
    if (isCjk(token)) t = token;
    else if (this.options.stopwords && STOPWORDS.has(token)) t = null;
    else t = this.options.stem ? this.options.stem(token) : token;
    if (this.termMemo.size > MEMO_MAX) this.termMemo.clear();
    this.termMemo.set(token, t);
    return t;
  }

  /** Index terms of one separator-free word. */
  private wordTerms(word: string): string[] {
    let terms = this.wordMemo.get(word);
    if (terms) return terms;
    terms = [];
    const tokens = wordTokens(word);
    for (const tok of tokens) {
      const t = this.term(tok);
      if (t) terms.push(t);
    }
    if (this.options.compounds && tokens.length === 2 && COMPOUND.test(word)) {
      const whole = this.term(word.toLowerCase());
      if (whole) terms.push(whole);
    }
    if (this.wordMemo.size > MEMO_MAX) this.wordMemo.clear();
    this.wordMemo.set(word, terms);
    return terms;
  }

  /** Field text → index terms. */
  field(text: string): Field {
    if (!text) return EMPTY_FIELD;
    const terms: string[] = [];
    for (const w of words(text)) for (const t of this.wordTerms(w)) terms.push(t);
    return { terms, length: terms.length };
  }

  /** Query → one entry per distinct index term (`tokens`: the query already tokenized, if the caller has it). */
  query(query: string, tokens: readonly string[] = tokenize(query)): QueryTerm[] {
    const groups = new Map<string, QueryTerm>();
    for (const tok of tokens) {
      const t = this.term(tok);
      if (!t) continue;
      const g = groups.get(t);
      if (g) g.weight += 1;
      else groups.set(t, { term: t, word: tok, weight: 1 });
    }
    return [...groups.values()];
  }

  /**
   * The memos make indexing fast while backends' lists arrive (words repeat across servers: the
   * 10k-tool build takes twice as long without them), but kept, they hold every word ever indexed
   * (~2.6 MiB at 10,000 tools) for queries that rarely reuse them. So they go once indexing pauses.
   */
  releaseWhenIdle(): void {
    clearTimeout(this.memoTimer);
    this.memoTimer = setTimeout(() => {
      this.termMemo.clear();
      this.wordMemo.clear();
    }, MEMO_IDLE_MS);
    this.memoTimer.unref?.();
  }
}
