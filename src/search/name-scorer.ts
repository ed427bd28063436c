/**
 * Name evidence, as a scorer beside BM25: how much of a tool's name the query says, and how much of the
 * query the name and the server name account for. A model writes tool-like queries ("calendar list
 * events"); the tool whose name words are all in the query, with the rest naming its server
 * (calendar/list_events), is what it asks for, whatever the descriptions' word counts say.
 *
 *   score = (query words in the name / words in the name) × (query words in the name or server name / query words)
 *
 * Words are analyzed as for BM25 (stopwords, Porter2), so "events" meets "event" and "list-events",
 * "listEvents" and "list_events" are the same name. A tool with no query word in its name gets no score.
 */
import { Analyzer } from './analyze.js';
import type { Scorer, Scores } from './scorer.js';
import { stem } from './stem.js';
import type { ToolDoc } from './tool-doc.js';

interface Entry {
  /** distinct analyzed words of the name */
  name: readonly string[];
  /** distinct analyzed words of the server name */
  server: ReadonlySet<string>;
}

export class NameScorer implements Scorer {
  private readonly analyzer = new Analyzer({ stopwords: true, stem });
  /** analyzed name word → ids of the tools whose name has it */
  private readonly postings = new Map<string, number[]>();
  private readonly entries = new Map<number, Entry>();
  private readonly serverWords = new Map<string, ReadonlySet<string>>();
  private scores = new Float64Array(0);
  private touched: number[] = [];
  /** highest id added + 1 */
  private top = 0;

  private words(text: string): Set<string> {
    return new Set(this.analyzer.field(text).terms);
  }

  add(id: number, doc: ToolDoc): void {
    const name = this.words(doc.name);
    let server = this.serverWords.get(doc.server);
    if (!server) {
      server = this.words(doc.server);
      this.serverWords.set(doc.server, server);
    }
    this.entries.set(id, { name: [...name], server });
    if (id >= this.top) this.top = id + 1;
    for (const w of name) {
      const list = this.postings.get(w);
      if (list) list.push(id);
      else this.postings.set(w, [id]);
    }
  }

  remove(id: number, doc: ToolDoc): void {
    if (!this.entries.delete(id)) return;
    for (const w of this.words(doc.name)) {
      const list = this.postings.get(w);
      if (!list) continue;
      const i = list.indexOf(id);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.postings.delete(w);
    }
  }

  flush(): void {
    this.serverWords.clear();
    this.analyzer.releaseWhenIdle();
  }

  score(query: string, accept: ((id: number) => boolean) | undefined): Scores {
    for (const id of this.touched) this.scores[id] = 0;
    const touched: number[] = [];
    this.touched = touched;
    const terms = this.analyzer.query(query).map((g) => g.term);
    if (terms.length === 0) return { ids: touched, get: () => 0 };
    // Count, per tool, the distinct query words its name holds (scores[] is the counter here).
    if (this.scores.length < this.top) this.scores = new Float64Array(Math.max(64, this.top * 2));
    const counts = this.scores;
    for (const t of terms) {
      for (const id of this.postings.get(t) ?? []) {
        if (counts[id] === 0) {
          if (accept !== undefined && !accept(id)) continue;
          touched.push(id);
        }
        counts[id] = counts[id]! + 1;
      }
    }
    // Words weigh by rarity among names: "search" or "get" alone says little, "weibo" a lot.
    const n = this.entries.size;
    const idf = (w: string) => Math.log(1 + (n + 0.5) / ((this.postings.get(w)?.length ?? 0) + 0.5));
    let queryTotal = 0;
    for (const t of terms) queryTotal += idf(t);
    const qset = new Set(terms);
    for (const id of touched) {
      const entry = this.entries.get(id)!;
      let nameAll = 0;
      let nameHit = 0;
      for (const w of entry.name) {
        const x = idf(w);
        nameAll += x;
        if (qset.has(w)) nameHit += x;
      }
      let covered = 0;
      for (const t of terms) if (entry.name.includes(t) || entry.server.has(t)) covered += idf(t);
      counts[id] = nameAll > 0 && queryTotal > 0 ? (nameHit / nameAll) * (covered / queryTotal) : 0;
    }
    return { ids: touched, get: (id) => this.scores[id] ?? 0 };
  }
}
