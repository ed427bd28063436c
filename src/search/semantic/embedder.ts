/**
 * Where vectors come from. Two providers: the built-in sentence encoder run in a child process
 * (builtin.ts) and any OpenAI-compatible /v1/embeddings endpoint (http.ts).
 */
export interface Embedder {
  /** names the vectors: cached vectors are keyed by it, so two models never mix */
  readonly model: string;
  /** One vector per text, in order. Rejects on any failure (the caller retries later). */
  embed(texts: readonly string[], priority?: 'query' | 'background'): Promise<Float32Array[]>;
  /** Stop what runs (a child process); embed() starts it again if called. */
  close(): Promise<void>;
}

/** Scale to unit length, so a cosine is a dot product. */
export function unit(v: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum) || 1;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}
