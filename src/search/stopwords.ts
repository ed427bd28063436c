/**
 * General English stopwords: the union of the Snowball English list and NLTK's English list
 * (both standard, not specific to tools), plus the contraction fragments our tokenizer leaves
 * behind ("don't" → don, t). Dropped from documents and queries alike.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers ' +
    'herself it its itself they them their theirs themselves what which who whom this that these those am is ' +
    'are was were be been being have has had having do does did doing would should could ought a an the and ' +
    'but if or because as until while of at by for with about against between into through during before ' +
    'after above below to from up down in out on off over under again further then once here there when ' +
    'where why how all any both each few more most other some such no nor not only own same so than too very ' +
    'can will just now cannot ' +
    // contraction fragments: i'm you're he's i've i'd i'll isn't won't let's
    's t m re ve d ll don isn aren wasn weren hasn haven hadn doesn didn won wouldn shan shouldn couldn mustn'
  ).split(' '),
);
