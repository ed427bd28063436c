/**
 * An OpenAI-compatible embeddings endpoint (OpenAI, Ollama, LM Studio, vLLM, llama.cpp server…):
 * POST {model, input: [texts]} → {data: [{index, embedding}]}. `url` is the endpoint itself or its
 * base (…/v1): "/embeddings" is appended when the path does not already end with it.
 */
import { type Embedder, unit } from './embedder.js';

export interface HttpEmbedderOptions {
  url: string;
  model: string;
  /** sent as `Authorization: Bearer …`; never logged or shown */
  apiKey?: string;
  /** per request */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function embeddingsUrl(url: string): string {
  const u = new URL(url);
  if (!/\/embeddings\/?$/.test(u.pathname)) u.pathname = `${u.pathname.replace(/\/+$/, '')}/embeddings`;
  return u.toString();
}

export class HttpEmbedder implements Embedder {
  readonly model: string;
  private readonly endpoint: string;

  constructor(private readonly options: HttpEmbedderOptions) {
    this.model = `${options.model}@${new URL(options.url).host}`;
    this.endpoint = embeddingsUrl(options.url);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const response = await fetch(this.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: this.options.model, input: texts }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`embeddings endpoint answered HTTP ${response.status}`);
    const body = (await response.json()) as { data?: { index?: number; embedding?: unknown }[] };
    const data = Array.isArray(body.data) ? body.data : [];
    const out: Float32Array[] = new Array(texts.length);
    data.forEach((item, i) => {
      const at = typeof item.index === 'number' ? item.index : i;
      if (Array.isArray(item.embedding) && at >= 0 && at < texts.length) out[at] = unit(item.embedding as number[]);
    });
    for (let i = 0; i < texts.length; i++) {
      if (!out[i] || out[i]!.length === 0) throw new Error(`embeddings endpoint returned no vector for input ${i}`);
    }
    return out;
  }

  async close(): Promise<void> {}
}
