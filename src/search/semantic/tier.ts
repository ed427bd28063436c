/**
 * The semantic tier: a Scorer over tool vectors (cosine to the query's vector), fed in the background.
 *
 * - `add` takes a tool's vector from the disk cache, or queues its text; a background loop embeds the
 *   queue in batches and caches each vector, so a restart re-embeds nothing.
 * - A search never waits for tool vectors: until every indexed tool has one (`complete`), the index
 *   answers lexically. The query's own vector is awaited at most `queryWaitMs`.
 * - `score` scores against the query vector set by `withQuery` (the index sets it for one synchronous
 *   search); without one it scores nothing.
 */
import { trimDescription } from '../present.js';
import { type Scorer, type Scores, topK } from '../scorer.js';
import { nameKey } from '../names.js';
import type { ToolDoc } from '../tool-doc.js';
import { textKey, type VectorCache } from './cache.js';
import type { Embedder } from './embedder.js';

export interface SemanticOptions {
  /** texts per background request */
  batch?: number;
  /** how long a search waits for its query's vector before answering lexically */
  queryWaitMs?: number;
  /** after a failed batch, wait this long before the next try */
  retryMs?: number;
  onError?: (error: Error) => void;
}

/** What a tool is, for an encoder: its name in words, title, and the lead of its description. */
export function toolText(doc: ToolDoc): string {
  const parts = [nameKey(doc.name)];
  if (doc.title) parts.push(doc.title);
  const lead = trimDescription(doc.description, 300);
  if (lead) parts.push(lead);
  return parts.join('. ');
}

const QUERY_MEMO = 256;
/** tools per query that take part in the fusion, best cosine first */
const CANDIDATES = 200;

export class SemanticTier implements Scorer {
  private readonly vectors = new Map<number, Float32Array>();
  /** id → text key and text, waiting for a vector */
  private readonly queue = new Map<number, { key: string; text: string }>();
  private running = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private query: Float32Array | undefined;
  private readonly queryMemo = new Map<string, Float32Array>();
  private scores = new Float64Array(0);
  private ids: number[] = [];
  /** highest id added + 1 */
  private top = 0;
  private readonly batch: number;
  private readonly queryWaitMs: number;
  private readonly retryMs: number;

  constructor(
    readonly embedder: Embedder,
    private readonly cache: VectorCache | undefined,
    private readonly options: SemanticOptions = {},
  ) {
    this.batch = options.batch ?? 16;
    this.queryWaitMs = options.queryWaitMs ?? 300;
    this.retryMs = options.retryMs ?? 30_000;
  }

  /** Every indexed tool has its vector. */
  get complete(): boolean {
    return this.queue.size === 0;
  }

  add(id: number, doc: ToolDoc): void {
    if (id >= this.top) this.top = id + 1;
    const text = toolText(doc);
    const key = textKey(text);
    const cached = this.cache?.get(key);
    if (cached) this.vectors.set(id, cached);
    else this.queue.set(id, { key, text });
  }

  remove(id: number): void {
    this.vectors.delete(id);
    this.queue.delete(id);
  }

  flush(): void {
    void this.drain();
  }

  /** Resolves when the queue is empty (tests, benchmarks); rejects nothing, errors go to onError. */
  async idle(): Promise<void> {
    while (!this.closed && (this.queue.size > 0 || this.running)) await new Promise((r) => setTimeout(r, 20));
  }

  private async drain(): Promise<void> {
    if (this.running || this.closed || this.retryTimer) return;
    this.running = true;
    try {
      while (this.queue.size > 0 && !this.closed) {
        // The first `batch` entries only: copying the whole queue per batch is quadratic at 10k tools.
        const items = [];
        for (const entry of this.queue) {
          if (items.length >= this.batch) break;
          items.push(entry);
        }
        const texts = items.map(([, item]) => item.text);
        const vectors = await this.embedder.embed(texts, 'background');
        this.cache?.putMany(items.map(([, item], i) => [item.key, vectors[i]!] as const));
        items.forEach(([id, item], i) => {
          // Still wanted with this text? (It may have been removed or re-added meanwhile.)
          if (this.queue.get(id)?.key === item.key) {
            this.queue.delete(id);
            this.vectors.set(id, vectors[i]!);
          }
        });
      }
    } catch (error) {
      this.options.onError?.(error as Error);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.drain();
      }, this.retryMs);
      this.retryTimer.unref?.();
    } finally {
      this.running = false;
    }
  }

  /** The query's vector within `queryWaitMs`, or undefined (then the search is lexical). */
  async queryVector(query: string): Promise<Float32Array | undefined> {
    const memo = this.queryMemo.get(query);
    if (memo) return memo;
    const pending = this.embedder.embed([query], 'query').then(
      ([v]) => {
        if (this.queryMemo.size >= QUERY_MEMO) this.queryMemo.delete(this.queryMemo.keys().next().value!);
        this.queryMemo.set(query, v!);
        return v;
      },
      () => undefined,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.queryWaitMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Run `fn` (a synchronous search) with `vector` as the query for score(). */
  withQuery<T>(vector: Float32Array, fn: () => T): T {
    this.query = vector;
    try {
      return fn();
    } finally {
      this.query = undefined;
    }
  }

  score(_query: string, accept: ((id: number) => boolean) | undefined): Scores {
    const q = this.query;
    for (const id of this.ids) this.scores[id] = 0;
    const ids: number[] = [];
    this.ids = ids;
    if (!q) return { ids, get: () => 0 };
    if (this.scores.length < this.top) this.scores = new Float64Array(Math.max(64, this.top * 2));
    const scores = this.scores;
    // Every vector is scored, but only the best CANDIDATES join the fusion: fusing all 10,000 tools'
    // cosines cost more than scoring them, and a tool below them gains no place in a top 10 from its cosine.
    const all: number[] = [];
    const dims = q.length;
    for (const [id, v] of this.vectors) {
      if (v.length !== dims) continue;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      let i = 0;
      for (; i + 3 < dims; i += 4) {
        d0 += v[i]! * q[i]!;
        d1 += v[i + 1]! * q[i + 1]!;
        d2 += v[i + 2]! * q[i + 2]!;
        d3 += v[i + 3]! * q[i + 3]!;
      }
      for (; i < dims; i++) d0 += v[i]! * q[i]!;
      const dot = d0 + d1 + d2 + d3;
      if (dot <= 0) continue;
      scores[id] = dot;
      all.push(id);
    }
    const best = topK(all, (id) => scores[id]!, CANDIDATES);
    for (const id of all) scores[id] = 0;
    for (const r of best) {
      if (accept !== undefined && !accept(r.id)) continue;
      scores[r.id] = r.score;
      ids.push(r.id);
    }
    return { ids, get: (id) => scores[id] ?? 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.embedder.close();
  }
}
