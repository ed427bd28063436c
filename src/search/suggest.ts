import { distance } from 'fastest-levenshtein';

/**
 * "Did you mean": the candidates closest to a mistyped name, best first.
 * Case and separators (_ - . space) are ignored; a candidate that contains the input
 * (or is contained by it) counts as close, so `read` suggests `read_file`.
 */
export function suggest(input: string, candidates: Iterable<string>, max = 3): string[] {
  const wanted = normalize(input);
  if (!wanted) return [];
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  const scored: { name: string; score: number }[] = [];
  for (const name of candidates) {
    const norm = normalize(name);
    let score = distance(wanted, norm);
    if (score > limit && (norm.includes(wanted) || wanted.includes(norm)) && Math.min(norm.length, wanted.length) >= 3) {
      score = limit; // a containment is as good as the weakest accepted typo
    }
    if (score <= limit) scored.push({ name, score });
  }
  scored.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  return scored.slice(0, max).map((s) => s.name);
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/[\s_.-]+/g, '');
}
