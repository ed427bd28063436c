/**
 * The Porter2 ("English") stemmer of the Snowball project, as specified at
 * snowballstem.org/algorithms/english/stemmer.html. Input: one lowercased word (a-z, apostrophes).
 * Words with other characters (digits, accents, other scripts) are returned unchanged.
 */

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u', 'y']);
const DOUBLES = ['bb', 'dd', 'ff', 'gg', 'mm', 'nn', 'pp', 'rr', 'tt'];
const LI_ENDING = new Set(['c', 'd', 'e', 'g', 'h', 'k', 'm', 'n', 'r', 't']);

const EXCEPTIONS: Record<string, string> = {
  skis: 'ski',
  skies: 'sky',
  dying: 'die',
  lying: 'lie',
  tying: 'tie',
  idly: 'idl',
  gently: 'gentl',
  ugly: 'ugli',
  early: 'earli',
  only: 'onli',
  singly: 'singl',
  sky: 'sky',
  news: 'news',
  howe: 'howe',
  atlas: 'atlas',
  cosmos: 'cosmos',
  bias: 'bias',
  andes: 'andes',
};
const AFTER_1A = new Set(['inning', 'outing', 'canning', 'herring', 'earring', 'proceed', 'exceed', 'succeed']);

const isVowel = (c: string | undefined): boolean => c !== undefined && VOWELS.has(c);

/** Start of the region after the first non-vowel following a vowel, from `from`. */
function regionAfter(w: string, from: number): number {
  for (let i = from + 1; i < w.length; i++) {
    if (!isVowel(w[i]) && isVowel(w[i - 1])) return i + 1;
  }
  return w.length;
}

function r1Of(w: string): number {
  for (const p of ['gener', 'commun', 'arsen']) if (w.startsWith(p)) return p.length;
  return regionAfter(w, 0);
}

/** Does the word end with a short syllable (at `end`, exclusive)? */
function endsShortSyllable(w: string, end = w.length): boolean {
  if (end === 2) return isVowel(w[0]) && !isVowel(w[1]);
  if (end < 3) return false;
  const a = w[end - 3];
  const b = w[end - 2];
  const c = w[end - 1]!;
  return !isVowel(a) && isVowel(b) && !isVowel(c) && c !== 'w' && c !== 'x' && c !== 'Y';
}

function isShort(w: string, r1: number): boolean {
  return r1 >= w.length && endsShortSyllable(w);
}

function hasVowel(s: string): boolean {
  for (const c of s) if (isVowel(c)) return true;
  return false;
}

/** Longest suffix of w among list, or undefined. */
function longest(w: string, list: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const s of list) if (w.endsWith(s) && (best === undefined || s.length > best.length)) best = s;
  return best;
}

const STEP2: Record<string, string> = {
  tional: 'tion',
  enci: 'ence',
  anci: 'ance',
  abli: 'able',
  entli: 'ent',
  izer: 'ize',
  ization: 'ize',
  ational: 'ate',
  ation: 'ate',
  ator: 'ate',
  alism: 'al',
  aliti: 'al',
  alli: 'al',
  fulness: 'ful',
  ousli: 'ous',
  ousness: 'ous',
  iveness: 'ive',
  iviti: 'ive',
  biliti: 'ble',
  bli: 'ble',
  ogi: 'og',
  fulli: 'ful',
  lessli: 'less',
  li: '',
};
const STEP2_KEYS = Object.keys(STEP2);

const STEP3: Record<string, string> = {
  tional: 'tion',
  ational: 'ate',
  alize: 'al',
  icate: 'ic',
  iciti: 'ic',
  ical: 'ic',
  ful: '',
  ness: '',
  ative: '',
};
const STEP3_KEYS = Object.keys(STEP3);

const STEP4 = [
  'al',
  'ance',
  'ence',
  'er',
  'ic',
  'able',
  'ible',
  'ant',
  'ement',
  'ment',
  'ent',
  'ism',
  'ate',
  'iti',
  'ous',
  'ive',
  'ize',
  'ion',
];

const WORD = /^[a-z']+$/;

export function stem(input: string): string {
  if (input.length <= 2 || !WORD.test(input)) return input;
  let w = input.replace(/^'+/, '');
  const ex = EXCEPTIONS[w];
  if (ex !== undefined && Object.hasOwn(EXCEPTIONS, w)) return ex;
  if (w.length <= 2) return w;

  // Mark consonant y.
  if (w[0] === 'y') w = 'Y' + w.slice(1);
  for (let i = 1; i < w.length; i++) if (w[i] === 'y' && isVowel(w[i - 1])) w = w.slice(0, i) + 'Y' + w.slice(i + 1);

  const r1 = r1Of(w);
  let r2 = regionAfter(w, r1);
  if (r1 >= w.length) r2 = w.length;

  // Step 0
  const s0 = longest(w, ["'", "'s", "'s'"]);
  if (s0) w = w.slice(0, -s0.length);

  // Step 1a
  const s1a = longest(w, ['sses', 'ied', 'ies', 's', 'us', 'ss']);
  if (s1a === 'sses') w = w.slice(0, -2);
  else if (s1a === 'ied' || s1a === 'ies') w = w.length - 3 > 1 ? w.slice(0, -2) : w.slice(0, -1);
  else if (s1a === 's') {
    const before = w.slice(0, -2); // the part before the letter preceding the s
    if (hasVowel(before)) w = w.slice(0, -1);
  }
  if (AFTER_1A.has(w)) return w;

  // Step 1b
  const s1b = longest(w, ['eed', 'eedly', 'ed', 'edly', 'ing', 'ingly']);
  if (s1b === 'eed' || s1b === 'eedly') {
    if (w.length - s1b.length >= r1) w = w.slice(0, -s1b.length) + 'ee';
  } else if (s1b) {
    const stemPart = w.slice(0, -s1b.length);
    if (hasVowel(stemPart)) {
      w = stemPart;
      if (w.endsWith('at') || w.endsWith('bl') || w.endsWith('iz')) w += 'e';
      else if (DOUBLES.some((d) => w.endsWith(d))) w = w.slice(0, -1);
      else if (isShort(w, r1)) w += 'e';
    }
  }

  // Step 1c
  if (w.length > 2 && (w.endsWith('y') || w.endsWith('Y')) && !isVowel(w[w.length - 2])) w = w.slice(0, -1) + 'i';

  // Step 2
  const s2 = longest(w, STEP2_KEYS);
  if (s2 && w.length - s2.length >= r1) {
    if (s2 === 'ogi') {
      if (w[w.length - 4] === 'l') w = w.slice(0, -3) + 'og';
    } else if (s2 === 'li') {
      if (LI_ENDING.has(w[w.length - 3] ?? '')) w = w.slice(0, -2);
    } else w = w.slice(0, -s2.length) + STEP2[s2];
  }

  // Step 3
  const s3 = longest(w, STEP3_KEYS);
  if (s3 && w.length - s3.length >= r1) {
    if (s3 === 'ative') {
      if (w.length - 5 >= r2) w = w.slice(0, -5);
    } else w = w.slice(0, -s3.length) + STEP3[s3];
  }

  // Step 4
  const s4 = longest(w, STEP4);
  if (s4 && w.length - s4.length >= r2) {
    if (s4 === 'ion') {
      const c = w[w.length - 4];
      if (c === 's' || c === 't') w = w.slice(0, -3);
    } else w = w.slice(0, -s4.length);
  }

  // Step 5
  if (w.endsWith('e')) {
    const at = w.length - 1;
    if (at >= r2 || (at >= r1 && !endsShortSyllable(w, at))) w = w.slice(0, -1);
  } else if (w.endsWith('l') && w.length - 1 >= r2 && w[w.length - 2] === 'l') {
    w = w.slice(0, -1);
  }

  return w.replace(/Y/g, 'y');
}
