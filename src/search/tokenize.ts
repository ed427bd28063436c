/**
 * Tokenizer for tool names, descriptions and queries.
 *
 * - splits on anything that is not a letter, digit or mark (snake_case, kebab-case, dots, slashes, spaces)
 * - splits camelCase / PascalCase (`readTextFile` → read, text, file; `HTMLParser` → html, parser)
 * - splits letters from digits (`base64` → base, 64)
 * - NFKC-normalizes and lowercases
 * - CJK runs (Han, Kana, Hangul) become overlapping character bigrams (a lone character stays as is),
 *   so Chinese descriptions match Chinese queries without a dictionary
 */

const WORD_RE = /[\p{L}\p{N}\p{M}]+/gu;
/** One CJK character (Han, Kana, Hangul). */
export const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const CJK_RE = new RegExp(`${CJK_CHAR.source}+`, 'gu');
const CAMEL_RE = /\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?[\p{Ll}\p{M}]+|\p{Lu}+|\p{N}+|[\p{L}\p{M}]+/gu;
const HAS_CJK = CJK_CHAR;

function cjkTokens(run: string, out: string[]): void {
  const chars = Array.from(run);
  if (chars.length === 1) {
    out.push(chars[0]!);
    return;
  }
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
}

function splitLatin(word: string, out: string[]): void {
  const parts = word.match(CAMEL_RE);
  if (!parts) return;
  for (const p of parts) out.push(p.toLowerCase());
}

/** Split one separator-free word into lowercased parts. */
function splitWord(word: string, out: string[]): void {
  if (!HAS_CJK.test(word)) {
    splitLatin(word, out);
    return;
  }
  let last = 0;
  for (const m of word.matchAll(CJK_RE)) {
    const idx = m.index ?? 0;
    if (idx > last) splitLatin(word.slice(last, idx), out);
    cjkTokens(m[0], out);
    last = idx + m[0].length;
  }
  if (last < word.length) splitLatin(word.slice(last), out);
}

export function tokenize(text: string): string[] {
  const out: string[] = [];
  if (!text) return out;
  for (const m of text.normalize('NFKC').matchAll(WORD_RE)) splitWord(m[0], out);
  return out;
}

/** The separator-free words of a text (each is then split by `wordTokens`). */
export function words(text: string): string[] {
  if (!text) return [];
  // Fast path for ASCII text (most tool descriptions): split on anything not [A-Za-z0-9].
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) return text.normalize('NFKC').match(WORD_RE) ?? [];
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (alnum) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push(text.slice(start, i));
      start = -1;
    }
  }
  if (start >= 0) out.push(text.slice(start));
  return out;
}

/** The lowercased tokens of one separator-free word: `tokenize` = words, then wordTokens of each. */
export function wordTokens(word: string): string[] {
  const out: string[] = [];
  splitWord(word, out);
  return out;
}

/** True when the token is made of CJK characters (no stemming or stopwords apply). */
export function isCjk(token: string): boolean {
  return HAS_CJK.test(token);
}
