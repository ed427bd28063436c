/**
 * The scorer seam. A scorer keeps its own view of the indexed tools (an inverted index, vectors…) and
 * scores a query against them; `fuse` combines several scorers' normalized scores into one ranking.
 * The lexical scorer (lexical.ts, BM25) is the first; a semantic one plugs in beside it with a weight.
 */
import type { ToolDoc } from './tool-doc.js';

/** One query's scores. Valid until the scorer's next `score` call (scorers reuse their buffers). */
export interface Scores {
  /** the documents with a score above 0, each once, in no particular order */
  readonly ids: readonly number[];
  /** a document's score, 0..1 against this query's ideal match (1 = as good as it gets), 0 if not in `ids` */
  get(id: number): number;
}

/** Document ids are small non-negative integers chosen by the index, never reused. */
export interface Scorer {
  add(id: number, doc: ToolDoc): void;
  /** `doc` is what `id` was added with */
  remove(id: number, doc: ToolDoc): void;
  /** A batch of add/remove is complete (one backend's list): a moment to compact or cache. */
  flush(): void;
  /** Score `query`; only documents `accept` admits (all, if undefined) may get a score. */
  score(query: string, accept: ((id: number) => boolean) | undefined): Scores;
}

export interface WeightedScorer {
  scorer: Scorer;
  weight: number;
}

export interface Ranked {
  id: number;
  score: number;
}

/**
 * The weighted mean of the scorers' scores (each 0..1, so the result is 0..1 too), times an optional
 * per-document `prior` (e.g. below 1 for a deprecated tool). One scorer without a prior passes through.
 */
export function fuse(parts: readonly { scores: Scores; weight: number }[], prior?: (id: number) => number): Scores {
  let total = 0;
  for (const p of parts) total += p.weight;
  if (parts.length === 1 && parts[0]!.weight > 0 && prior === undefined) return parts[0]!.scores;
  let ids: readonly number[];
  if (parts.length === 1) ids = parts[0]!.scores.ids;
  else {
    const union = new Set<number>();
    for (const p of parts) for (const id of p.scores.ids) union.add(id);
    ids = [...union];
  }
  if (total <= 0) return { ids, get: () => 0 };
  if (parts.length === 1) {
    // The common case (one scorer and a prior) without the loop: get() runs once per candidate.
    const one = parts[0]!.scores;
    return { ids, get: (id) => (prior === undefined ? one.get(id) : one.get(id) * prior(id)) };
  }
  const get = (id: number): number => {
    let s = 0;
    for (const p of parts) s += p.weight * p.scores.get(id);
    s /= total;
    return prior === undefined || s === 0 ? s : s * prior(id);
  };
  return { ids, get };
}

/**
 * Reciprocal rank fusion: each part's `depth` best documents score weight / (k + rank), summed, over the
 * best possible sum (rank 1 everywhere), so the result is 0..1. Scores' sizes no longer matter, only ranks.
 */
export function fuseRanks(parts: readonly { scores: Scores; weight: number }[], k = 60, depth = 100): Scores {
  const fused = new Map<number, number>();
  let best = 0;
  for (const p of parts) {
    best += p.weight / (k + 1);
    topK(p.scores.ids, (id) => p.scores.get(id), depth).forEach((r, i) => {
      fused.set(r.id, (fused.get(r.id) ?? 0) + p.weight / (k + i + 1));
    });
  }
  return { ids: [...fused.keys()], get: (id) => (best > 0 ? (fused.get(id) ?? 0) / best : 0) };
}

/** The k best of `ids` by `score`, best first (ties: lower id first). */
export function topK(ids: readonly number[], score: (id: number) => number, k: number): Ranked[] {
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
