/**
 * Why the first hit is wrong: `node --import tsx bench/search-misses.ts [--examples N]`.
 *
 * For every needed tool (expected group) of a model-written request that is not first in any of the
 * request's searches, the search where it ranks best is classified by comparing the top hit T with the
 * best-ranked expected tool E on the query's analyzed words (the gateway's own analyzer: tokenize,
 * stopwords, Porter2), over name, title, description, parameter names and server name:
 *   a  equivalent   T has the same name words as an expected tool and a near-same description lead
 *                   (Jaccard of the first sentence's words ≥ 0.5): a duplicate the labels do not accept
 *   e  taken        every search of the request has another needed tool first (one search, one first
 *                   place: a request needing more tools than it has searches cannot have them all first)
 * (b–d are judged on the search where E ranks best among those whose first place is not taken.)
 *   c  vocabulary   E shares no query word at all
 *   c' fits T better E covers less of the query (IDF-weighted) than T: the query's words point to T —
 *                   either the model's words are not the right tool's, or T fits too (vague)
 *   b  tie          E and T cover the same query words: the query does not separate them
 *   d  ranking      E covers more of the query (IDF-weighted) than T, or the same words with more of them
 *                   in its name, yet ranks lower
 * The equivalence-aware R@1 also counts a first hit that is equivalent (a) to an expected tool.
 */
import { Analyzer } from '../src/search/analyze.js';
import { DEFAULT_CONFIG, indexOf, type ToolDoc } from '../src/search/rank.js';
import { type Dataset, loadDatasets, type Query } from './eval-search.js';

export type MissClass = 'a' | 'e' | 'b' | 'c' | "c'" | 'd';

export const CLASS_LABEL: Record<MissClass, string> = {
  a: 'equivalent tool first (labels accept only another copy)',
  e: 'every search of the request has another needed tool first',
  b: 'tie: the query does not separate the right tool from the first',
  c: 'vocabulary: the right tool shares no query word',
  "c'": "the query's words fit the first hit better (mismatch or vague)",
  d: 'ranking: the right tool has the stronger evidence yet ranks lower',
};

const analyzer = new Analyzer({ stopwords: true, stem: DEFAULT_CONFIG.stem, compounds: true });
const terms = (text: string | undefined): Set<string> => new Set(analyzer.field(text ?? '').terms);
const lead = (text: string | undefined): string => (text ?? '').split(/(?<=[.!?])\s|\n/)[0] ?? '';

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let both = 0;
  for (const x of a) if (b.has(x)) both++;
  return both / (a.size + b.size - both);
}

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));

interface ToolView {
  doc: ToolDoc;
  name: Set<string>;
  /** name words not in the server's name */
  bareName: Set<string>;
  all: Set<string>;
  lead: Set<string>;
}

/**
 * Same name words (those of the server's name left out: puppeteer_click, playwright_click) and a
 * near-same description lead: the same tool on another server.
 */
export function equivalent(x: ToolView, y: ToolView): boolean {
  return sameSet(x.bareName, y.bareName) && jaccard(x.lead, y.lead) >= 0.5;
}

interface Miss {
  cls: MissClass;
  query: string;
  expected: string;
  top: string;
  rank: number;
}

export interface MissReport {
  dataset: string;
  groups: number;
  firstRight: number;
  /** first hit right or equivalent to a needed tool, as a share of groups (macro over requests, like R@1) */
  r1: number;
  r1Equivalent: number;
  /** the best R@1 one first place per search allows */
  slotCeiling: number;
  /** R@1 with every a and d miss first: what better lexical ranking (and accepting duplicates) could reach */
  lexicalCeiling: number;
  counts: Record<MissClass, number>;
  misses: Miss[];
}

export function analyzeMisses(ds: Dataset): MissReport {
  const index = indexOf(ds.tools);
  const views = new Map<string, ToolView>();
  for (const doc of ds.tools) {
    const params = Object.keys((doc.inputSchema?.properties as Record<string, unknown> | undefined) ?? {}).join(' ');
    const server = terms(doc.server);
    const name = terms(doc.name);
    views.set(`${doc.server}/${doc.name}`, {
      doc,
      name,
      bareName: new Set([...name].filter((t) => !server.has(t))),
      all: terms([doc.name, doc.title, doc.description, params, doc.server].join(' ')),
      lead: terms(lead(doc.description)),
    });
  }
  // Document frequency over the tools' texts, for IDF-weighted coverage.
  const df = new Map<string, number>();
  for (const v of views.values()) for (const t of v.all) df.set(t, (df.get(t) ?? 0) + 1);
  const n = views.size;
  const idf = (t: string) => Math.log(1 + (n - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5));
  const cover = (q: string[], s: Set<string>) => q.reduce((acc, t) => acc + (s.has(t) ? idf(t) : 0), 0);

  const counts: Record<MissClass, number> = { a: 0, e: 0, b: 0, c: 0, "c'": 0, d: 0 };
  const misses: Miss[] = [];
  let groups = 0;
  let firstRight = 0;
  let r1 = 0;
  let r1Eq = 0;
  let requests = 0;
  /** R@1 if every search put one needed tool first: min(searches, needed) / needed per request */
  let slots = 0;
  /** R@1 if every a and d miss were first too */
  let ceiling = 0;
  const cache = new Map<string, string[]>();
  const qterms = (text: string) => analyzer.query(text).map((x) => x.term);
  const ranked = (q: string) => {
    let r = cache.get(q);
    if (!r) {
      r = index.search(q, { limit: n }).map((h) => `${h.server}/${h.tool}`);
      cache.set(q, r);
    }
    return r;
  };
  for (const req of ds.queries as Query[]) {
    const gs = req.expected_groups.filter((g) => g.length > 0);
    const texts = req.model ?? [];
    if (gs.length === 0 || texts.length === 0) continue;
    requests++;
    slots += Math.min(texts.length, gs.length) / gs.length;
    const needed = new Set(gs.flat());
    let right = 0;
    let rightEq = 0;
    let fixable = 0;
    for (const g of gs) {
      groups++;
      const set = new Set(g);
      // The search where this group ranks best (ties: the first); for the classes, the search meant for
      // it among those whose first place another needed tool has not taken ("free"), if any.
      let best = { rank: Number.POSITIVE_INFINITY, text: texts[0]!, id: g[0]! };
      let free: typeof best | undefined;
      let freeFit = 0;
      let eqFirst = false;
      for (const text of texts) {
        const r = ranked(text);
        const i = r.findIndex((id) => set.has(id));
        const here = { rank: i >= 0 ? i + 1 : Number.POSITIVE_INFINITY, text, id: i >= 0 ? r[i]! : g[0]! };
        if (here.rank < best.rank) best = here;
        const taken = r[0] !== undefined && !set.has(r[0]) && needed.has(r[0]);
        // The search meant for this tool: the free one whose words it covers best, then the best rank.
        const fit = Math.max(...g.map((id) => (views.has(id) ? cover(qterms(text), views.get(id)!.all) : 0)));
        if (!taken && (!free || fit > freeFit + 1e-9 || (Math.abs(fit - freeFit) <= 1e-9 && here.rank < free.rank))) {
          free = here;
          freeFit = fit;
        }
        const top = r[0] && views.get(r[0]);
        if (top && g.some((id) => views.get(id) && equivalent(top, views.get(id)!))) eqFirst = true;
      }
      if (best.rank === 1) {
        right++;
        rightEq++;
        firstRight++;
        continue;
      }
      if (eqFirst) rightEq++;
      const at = free ?? best;
      const topId = ranked(at.text)[0];
      const q = qterms(at.text);
      const e = views.get(at.id);
      const t = topId ? views.get(topId) : undefined;
      let cls: MissClass;
      if (eqFirst) cls = 'a';
      else if (!free) cls = 'e';
      else if (!e || !t || cover(q, e.all) === 0) cls = 'c';
      else {
        const ce = cover(q, e.all);
        const ct = cover(q, t.all);
        const eps = 1e-9;
        if (ce > ct + eps) cls = 'd';
        else if (ce < ct - eps) cls = "c'";
        else cls = cover(q, e.name) > cover(q, t.name) + eps ? 'd' : 'b';
      }
      counts[cls]++;
      if (cls === 'a' || cls === 'd') fixable++;
      misses.push({ cls, query: at.text, expected: at.id, top: topId ?? '(none)', rank: at.rank });
    }
    r1 += right / gs.length;
    r1Eq += rightEq / gs.length;
    ceiling += (right + fixable) / gs.length;
  }
  return {
    dataset: ds.name,
    groups,
    firstRight,
    r1: r1 / (requests || 1),
    r1Equivalent: r1Eq / (requests || 1),
    slotCeiling: slots / (requests || 1),
    lexicalCeiling: ceiling / (requests || 1),
    counts,
    misses,
  };
}

const f3 = (x: number) => x.toFixed(3);

export function formatMisses(reports: MissReport[], examples: number): string {
  const classes = Object.keys(CLASS_LABEL) as MissClass[];
  const lines = [
    `| dataset | needed tools | first | R@1 | equivalence-aware R@1 | ${classes.join(' | ')} | one-first-per-search ceiling | lexical ceiling (R@1 with a, d first) |`,
    `|---|---|---|---|---|${classes.map(() => '---').join('|')}|---|---|`,
  ];
  for (const r of reports) {
    const share = (c: number) => `${c} (${((100 * c) / r.groups).toFixed(1)}%)`;
    lines.push(
      `| ${r.dataset} | ${r.groups} | ${r.firstRight} | ${f3(r.r1)} | ${f3(r.r1Equivalent)} | ${classes
        .map((c) => share(r.counts[c]))
        .join(' | ')} | ${f3(r.slotCeiling)} | ${f3(r.lexicalCeiling)} |`,
    );
  }
  lines.push('', ...classes.map((c) => `${c}: ${CLASS_LABEL[c]}`));
  if (examples > 0) {
    for (const r of reports) {
      lines.push('', `## ${r.dataset}`);
      for (const c of classes) {
        const some = r.misses.filter((m) => m.cls === c).slice(0, examples);
        if (some.length === 0) continue;
        lines.push(`  ${c}:`);
        for (const m of some)
          lines.push(`    "${m.query}" → first ${m.top}; needed ${m.expected} at ${Number.isFinite(m.rank) ? m.rank : '>all'}`);
      }
    }
  }
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('search-misses.ts')) {
  const at = process.argv.indexOf('--examples');
  const examples = at >= 0 ? Number(process.argv[at + 1] ?? 3) : 3;
  const reports = loadDatasets()
    .filter((d) => d.queries.some((q) => q.model))
    .map(analyzeMisses);
  console.log(formatMisses(reports, examples));
}
