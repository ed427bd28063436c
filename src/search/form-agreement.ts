/**
 * Word forms as a tie-breaker between sibling tools. Stemming makes "recipe" and "recipes", "object" and
 * "objects", "download" and "downloaded" one word, which is right for finding tools but loses what the
 * form says: a query for one item ("get recipe details", "met museum object") asks for the tool that gets
 * one (getRecipeById, get-museum-object), not the one that lists many (getAllRecipes,
 * search-museum-objects), and "list downloaded arxiv papers" asks for list_papers, not download_paper.
 * A tool whose name writes a query word in another form (same stem, another word) has its score lowered
 * by `penalty` for each such word. Only the best candidates are looked at.
 */
import type { Scores } from './scorer.js';
import { topK } from './scorer.js';
import { stem } from './stem.js';
import { STOPWORDS } from './stopwords.js';
import { tokenize } from './tokenize.js';

const LETTERS = /^[a-z]+$/;
const MAX_WORDS = 64;
const MEMO_MAX = 20_000;
/** name → its tokens and their stems (names repeat across searches; bounded) */
const memo = new Map<string, { tokens: string[]; stems: string[] }>();

function nameWords(name: string): { tokens: string[]; stems: string[] } {
  let hit = memo.get(name);
  if (!hit) {
    const tokens = tokenize(name);
    hit = { tokens, stems: tokens.map(stem) };
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(name, hit);
  }
  return hit;
}

export function agreeInForm(
  query: string,
  scores: Scores,
  depth: number,
  nameOf: (id: number) => string | undefined,
  penalty: number,
): Scores {
  // The first words only, as for joins: a pasted blob would cost a stem per token.
  const words = [...new Set(tokenize(query).filter((t) => LETTERS.test(t) && !STOPWORDS.has(t)))].slice(0, MAX_WORDS);
  if (words.length === 0) return scores;
  const stems = words.map(stem);
  const top = topK(scores.ids, (id) => scores.get(id), depth);
  const factor = new Map<number, number>();
  for (const r of top) {
    const { tokens, stems: nameStems } = nameWords(nameOf(r.id) ?? '');
    let f = 1;
    for (let i = 0; i < words.length; i++) {
      // The first name word with the query word's stem decides: the same word agrees, another form does not.
      const j = nameStems.indexOf(stems[i]!);
      if (j >= 0 && tokens[j] !== words[i] && !tokens.includes(words[i]!)) f *= 1 - penalty;
    }
    factor.set(r.id, f);
  }
  return { ids: top.map((r) => r.id), get: (id) => scores.get(id) * (factor.get(id) ?? 1) };
}
