/**
 * Characters of a typical search_tools answer, before (5 hits, 300-character descriptions) and after (weak
 * hits cut, 200-character descriptions): the model-written real-tools queries over the npm reference servers.
 *   node --import tsx bench/search-answer-size.ts
 */
import { readFileSync } from 'node:fs';
import { cutWeak, trimDescription } from '../src/search/present.js';
import { ToolIndex, type ToolDoc } from '../src/search/rank.js';
import { compactSchema } from '../src/search/schema-compact.js';
const index = new ToolIndex();
for (const f of [
  'server-everything',
  'server-memory',
  'server-filesystem',
  'server-github',
  'server-slack',
  'server-brave-search',
  'server-google-maps',
  'server-puppeteer',
  'server-postgres',
  'server-sequential-thinking',
]) {
  const d = JSON.parse(readFileSync(`/work/shared/real-tools/${f}.json`, 'utf8')) as { tools: ToolDoc[] };
  index.replaceServer(
    f.replace('server-', ''),
    d.tools.map((t) => ({ ...t, server: f.replace('server-', '') })),
  );
}
const qs = readFileSync('bench/data/queries-b.jsonl', 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{"id": "real-tools/'))
  .flatMap((l) => JSON.parse(l).queries as string[]);
let before = 0,
  after = 0,
  hitsB = 0,
  hitsA = 0;
const sizesB: number[] = [],
  sizesA: number[] = [];
for (const q of qs) {
  const hits = index.search(q, { limit: 5 });
  const show = (hs: typeof hits, max: number) =>
    hs.map((h) => ({
      server: h.server,
      tool: h.tool,
      ...(h.doc.description ? { description: trimDescription(h.doc.description, max) } : {}),
      score: h.score,
      inputSchema: compactSchema(h.doc.inputSchema ?? { type: 'object' }),
    }));
  const b = JSON.stringify({ results: show(hits, 300) });
  const { hits: kept, cut } = cutWeak(hits);
  const a = JSON.stringify({ results: show(kept, 200), ...(cut ? { cut } : {}) });
  before += b.length;
  after += a.length;
  hitsB += hits.length;
  hitsA += kept.length;
  sizesB.push(b.length);
  sizesA.push(a.length);
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(`${qs.length} model-written real-tools queries over 10 reference servers (${index.size} tools), limit 5`);
console.log(`before: mean ${(before / qs.length).toFixed(0)} chars, median ${med(sizesB)}, ${(hitsB / qs.length).toFixed(2)} hits`);
console.log(`after:  mean ${(after / qs.length).toFixed(0)} chars, median ${med(sizesA)}, ${(hitsA / qs.length).toFixed(2)} hits`);
