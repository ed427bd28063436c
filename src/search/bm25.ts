/**
 * A small multi-field inverted index with BM25+ scoring, prefix and one-typo term expansion.
 *
 * It scores like MiniSearch 7 (BM25+ with k, b, d, field boosts, prefix and fuzzy variant weights; IDF
 * per field over all documents, or with `toolIdf` one IDF per term over the documents' own fields), which
 * the ranking was first measured with, but it hands
 * back per-term scores into typed arrays instead of allocating result objects and sorting every match
 * for every query word: that is what keeps search under 2 ms at 10,000 tools.
 *
 * Documents are numbered by the caller (small non-negative integers, never reused). Removal is lazy:
 * statistics are updated at once, postings of removed documents are skipped and compacted later.
 */
export interface Bm25Params {
  k: number;
  b: number;
  d: number;
  /**
   * IDF from the number of documents holding the term in any of the index's `toolFields` (a tool's
   * own text), not per field: a word common in descriptions ("create") is not made telling by being
   * in one name. Unset: per field, as MiniSearch.
   */
  toolIdf?: boolean;
}

export interface ExpandOptions {
  /** match index terms that start with the query term (if the query term is at least this long) */
  prefixMin: number;
  prefixWeight: number;
  /** match index terms one edit away (if the query term is at least this long and is not itself indexed) */
  fuzzyMin: number;
  fuzzyWeight: number;
  /**
   * Shorter query terms (at least this long) also match index terms one edit away, but only those with
   * the same first letter: a short word has many neighbours, and typos rarely hit the first letter.
   */
  fuzzyShortMin: number;
  /** count swapping two adjacent letters as one edit ("craete" → "create") */
  transpositions: boolean;
}

interface Postings {
  term: string;
  /** document × FIELD_SLOTS + field, one entry per (document, field) holding the term */
  keys: number[];
  tfs: number[];
  /** live documents with the term, per field */
  df: number[];
  /** live documents with the term in one of the first `toolFields` fields */
  toolDf: number;
}

/** Is b within one insertion, deletion or substitution (or, if `transpose`, swap of adjacent letters) of a? */
export function withinOneEdit(a: string, b: string, transpose = false): boolean {
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return transpose && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  if (la > lb) return a.slice(i + 1) === b.slice(i);
  return a.slice(i) === b.slice(i + 1);
}

const FIELD_SLOTS = 16;

/** Key of the terms of `length` that start with `term`'s first character (a whole code point). */
function firstAndLength(term: string, length: number): string {
  const first = term.codePointAt(0) ?? 0;
  return `${first}:${length}`;
}

export class Bm25Index {
  private readonly fieldCount: number;
  private readonly postings = new Map<string, Postings>();
  /** field lengths, document × fieldCount + field */
  private lengths = new Float64Array(0);
  /** 1 for a live document */
  private alive = new Uint8Array(0);
  private top = 0;
  private readonly totalLength: Float64Array;
  private live = 0;
  private dead = 0;
  private sortedTerms: string[] | undefined;
  /** index terms by length, and by first letter + length (for typo lookups), rebuilt with sortedTerms */
  private termsByLength: Map<number, string[]> | undefined;
  private termsByFirstAndLength: Map<string, string[]> | undefined;
  /** postings of terms new since the last trim() */
  private readonly fresh: Postings[] = [];

  /**
   * `toolFields`: how many leading fields are the tool's own text, for `toolIdf` (the rest, e.g. the
   * server's name and description, are shared by a server's tools and would make every word common).
   */
  constructor(
    fieldCount: number,
    private readonly toolFields = fieldCount,
  ) {
    if (fieldCount > FIELD_SLOTS) throw new Error(`Bm25Index: at most ${FIELD_SLOTS} fields`);
    this.fieldCount = fieldCount;
    this.totalLength = new Float64Array(fieldCount);
  }

  get documentCount(): number {
    return this.live;
  }

  /** Highest document number seen + 1 (size for score buffers). */
  get capacity(): number {
    return this.top;
  }

  private grow(doc: number): void {
    if (doc < this.alive.length) return;
    const size = Math.max(64, doc + 1, this.alive.length * 2);
    const lengths = new Float64Array(size * this.fieldCount);
    lengths.set(this.lengths);
    const alive = new Uint8Array(size);
    alive.set(this.alive);
    this.lengths = lengths;
    this.alive = alive;
  }

  /** Add a document: for each field (in order), its normalized terms and its length for BM25. */
  add(doc: number, fields: readonly { terms: readonly string[]; length: number }[]): void {
    if (doc < this.alive.length && this.alive[doc]) throw new Error(`Bm25Index: document ${doc} already added`);
    this.grow(doc);
    const base = doc * this.fieldCount;
    for (let f = 0; f < this.fieldCount; f++) {
      const field = fields[f];
      if (!field) continue;
      this.lengths[base + f] = field.length;
      this.totalLength[f] = this.totalLength[f]! + field.length;
      const key = doc * FIELD_SLOTS + f;
      for (const term of field.terms) {
        let p = this.postings.get(term);
        if (!p) {
          p = { term, keys: [], tfs: [], df: new Array<number>(this.fieldCount).fill(0), toolDf: 0 };
          this.postings.set(term, p);
          this.fresh.push(p);
          this.sortedTerms = undefined;
        }
        // Postings are appended document by document, field by field: a repeat of the term in this
        // field is always the list's last entry.
        const last = p.keys.length - 1;
        if (last >= 0 && p.keys[last] === key) {
          p.tfs[last] = p.tfs[last]! + 1;
          continue;
        }
        // Fields come in order, so the document is new for toolDf unless the last entry is its own.
        if (f < this.toolFields && (last < 0 || Math.floor(p.keys[last]! / FIELD_SLOTS) !== doc)) p.toolDf++;
        p.keys.push(key);
        p.tfs.push(1);
        p.df[f] = p.df[f]! + 1;
      }
    }
    this.alive[doc] = 1;
    if (doc >= this.top) this.top = doc + 1;
    this.live++;
  }

  /**
   * Shrink the postings of terms new since the last call to their exact length: an array's first push
   * reserves 17 slots, and most terms hold one or two entries (about 2.4 MiB at 10,000 tools). Postings
   * that grow again later keep V8's growth slack (half again plus 16), so a batch costs only its new terms.
   * Call after a batch of add().
   */
  trim(): void {
    for (const p of this.fresh) {
      p.keys = p.keys.slice();
      p.tfs = p.tfs.slice();
    }
    this.fresh.length = 0;
  }

  /** Remove a document; `fields` must be what it was added with. */
  remove(doc: number, fields: readonly { terms: readonly string[]; length: number }[]): void {
    if (doc >= this.alive.length || !this.alive[doc]) return;
    const base = doc * this.fieldCount;
    const own = new Set<Postings>();
    for (let f = 0; f < this.fieldCount; f++) {
      this.totalLength[f] = this.totalLength[f]! - this.lengths[base + f]!;
      this.lengths[base + f] = 0;
      const field = fields[f];
      if (!field) continue;
      for (const term of new Set(field.terms)) {
        const p = this.postings.get(term);
        if (!p) continue;
        p.df[f] = p.df[f]! - 1;
        if (f < this.toolFields) own.add(p);
      }
    }
    for (const p of own) p.toolDf--;
    this.alive[doc] = 0;
    this.live--;
    this.dead++;
    if (this.dead > 1000 && this.dead > this.live) this.compact();
  }

  /** Drop postings of removed documents, and terms no live document has. */
  private compact(): void {
    for (const [term, p] of this.postings) {
      const keep: number[] = [];
      for (let i = 0; i < p.keys.length; i++) if (this.alive[Math.floor(p.keys[i]! / FIELD_SLOTS)]) keep.push(i);
      if (keep.length === 0) {
        this.postings.delete(term);
        this.sortedTerms = undefined;
        continue;
      }
      if (keep.length === p.keys.length) continue;
      p.keys = keep.map((i) => p.keys[i]!);
      p.tfs = keep.map((i) => p.tfs[i]!);
    }
    this.dead = 0;
  }

  has(term: string): boolean {
    const p = this.postings.get(term);
    return p?.df.some((x) => x > 0) === true;
  }

  /** Does a live document hold `term` in field `field`? */
  inField(term: string, field: number): boolean {
    return (this.postings.get(term)?.df[field] ?? 0) > 0;
  }

  private terms(): string[] {
    if (!this.sortedTerms) {
      this.sortedTerms = [...this.postings.keys()].sort();
      this.termsByLength = new Map();
      this.termsByFirstAndLength = new Map();
      for (const t of this.sortedTerms) {
        const list = this.termsByLength.get(t.length);
        if (list) list.push(t);
        else this.termsByLength.set(t.length, [t]);
        const key = firstAndLength(t, t.length);
        const sameFirst = this.termsByFirstAndLength.get(key);
        if (sameFirst) sameFirst.push(t);
        else this.termsByFirstAndLength.set(key, [t]);
      }
    }
    return this.sortedTerms;
  }

  /** Index terms derived from a query term, with their weights: itself, prefix and one-typo variants. */
  expand(term: string, opts: ExpandOptions): [string, number][] {
    const out: [string, number][] = [];
    const exact = this.has(term);
    if (exact) out.push([term, 1]);
    const n = term.length;
    const fuzzy = !exact && n >= Math.min(opts.fuzzyMin, opts.fuzzyShortMin);
    const sorted = opts.prefixMin <= n || fuzzy ? this.terms() : undefined;
    const prefixed = new Set<string>();
    if (sorted && n >= opts.prefixMin) {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid]! < term) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < sorted.length && sorted[i]!.startsWith(term); i++) {
        const t = sorted[i]!;
        if (t === term) continue;
        const distance = t.length - n;
        out.push([t, (opts.prefixWeight * t.length) / (t.length + 0.3 * distance)]);
        prefixed.add(t);
      }
    }
    if (sorted && fuzzy) {
      const sameFirst = n < opts.fuzzyMin;
      for (let len = n - 1; len <= n + 1; len++) {
        const candidates = sameFirst ? this.termsByFirstAndLength?.get(firstAndLength(term, len)) : this.termsByLength?.get(len);
        for (const t of candidates ?? []) {
          if (t === term || prefixed.has(t) || !withinOneEdit(term, t, opts.transpositions)) continue;
          out.push([t, (opts.fuzzyWeight * t.length) / (t.length + 1)]);
        }
      }
    }
    return out;
  }

  /**
   * Add weight × BM25+ of `term` for every live document into `scores` (by document number),
   * recording newly touched documents in `touched`. `accept` filters documents.
   */
  scoreTerm(
    term: string,
    weight: number,
    boosts: ArrayLike<number>,
    params: Bm25Params,
    scores: Float64Array,
    touched: number[],
    accept?: (doc: number) => boolean,
  ): void {
    const p = this.postings.get(term);
    if (!p || this.live === 0) return;
    const { k, b, d } = params;
    const n = this.live;
    const idf = new Float64Array(this.fieldCount);
    const avg = new Float64Array(this.fieldCount);
    const toolDf = Math.max(p.toolDf, 1);
    for (let f = 0; f < this.fieldCount; f++) {
      const df = p.df[f]!;
      // A term only in the shared fields (toolDf 0) keeps those fields' own IDF.
      const idfDf = params.toolIdf && p.toolDf > 0 ? toolDf : df;
      idf[f] = df > 0 ? Math.log(1 + (n - idfDf + 0.5) / (idfDf + 0.5)) * boosts[f]! * weight : 0;
      avg[f] = this.totalLength[f]! / n || 1;
    }
    const { keys, tfs } = p;
    const { alive, lengths, fieldCount: fc } = this;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const doc = Math.floor(key / FIELD_SLOTS);
      if (!alive[doc]) continue;
      const f = key - doc * FIELD_SLOTS;
      const w = idf[f]!;
      if (w === 0) continue;
      if (accept && !accept(doc)) continue;
      const tf = tfs[i]!;
      const s = w * (d + (tf * (k + 1)) / (tf + k * (1 - b + (b * lengths[doc * fc + f]!) / avg[f]!)));
      if (scores[doc] === 0) touched.push(doc);
      scores[doc] = scores[doc]! + s;
    }
  }
}
