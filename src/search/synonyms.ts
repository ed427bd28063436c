/**
 * General English synonyms, from the `synonyms` npm package (a WordNet-derived dictionary of about
 * 12,000 head words; MIT), made symmetric. Nothing here is specific to tools or to any benchmark.
 *
 * Loaded once per process, on first use (about 0.1 s), into a map of single-word synonyms.
 */
import { createRequire } from 'node:module';
import { STOPWORDS } from './stopwords.js';

type Dictionary = Record<string, Record<string, string[]>>;

let table: Map<string, readonly string[]> | undefined;

const WORD = /^[a-z]{3,}$/;

function load(): Map<string, readonly string[]> {
  const require = createRequire(import.meta.url);
  const dict = (require('synonyms') as { dictionary: Dictionary }).dictionary;
  // Symmetric: if the dictionary lists B under A, A is a synonym of B too.
  const sets = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    const set = sets.get(a);
    if (set) set.add(b);
    else sets.set(a, new Set([b]));
  };
  for (const head of Object.keys(dict)) {
    if (!WORD.test(head) || STOPWORDS.has(head)) continue;
    for (const list of Object.values(dict[head] ?? {})) {
      for (const w of list) {
        if (w === head || !WORD.test(w) || STOPWORDS.has(w)) continue;
        link(head, w);
        link(w, head);
      }
    }
  }
  const out = new Map<string, readonly string[]>();
  for (const [word, set] of sets) out.set(word, [...set]);
  return out;
}

/** Synonyms of a lowercased English word (not stemmed), or undefined. */
export function synonymsOf(word: string): readonly string[] | undefined {
  table ??= load();
  return table.get(word);
}

/** Load the table now (e.g. at startup), so that the first search does not pay for it. */
export function preloadSynonyms(): void {
  table ??= load();
}
