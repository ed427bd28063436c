/**
 * General English synonyms, from the `synonyms` npm package (a WordNet-derived dictionary of about
 * 12,000 head words; MIT). Nothing here is specific to tools or to any benchmark.
 *
 * Loaded once per process, on first use (about 0.1 s), into a map of single-word synonyms.
 */
import { createRequire } from "node:module";
import { STOPWORDS } from "./stopwords.js";

type Dictionary = Record<string, Record<string, string[]>>;

let table: Map<string, readonly string[]> | undefined;

const WORD = /^[a-z]{3,}$/;

function load(): Map<string, readonly string[]> {
  const require = createRequire(import.meta.url);
  const dict = (require("synonyms") as { dictionary: Dictionary }).dictionary;
  const out = new Map<string, readonly string[]>();
  for (const head of Object.keys(dict)) {
    if (!WORD.test(head)) continue;
    const set = new Set<string>();
    for (const list of Object.values(dict[head] ?? {})) {
      for (const w of list) if (w !== head && WORD.test(w) && !STOPWORDS.has(w)) set.add(w);
    }
    if (set.size > 0) out.set(head, [...set]);
  }
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
