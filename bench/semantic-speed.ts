/**
 * Costs of the semantic tier (`node --import tsx bench/semantic-speed.ts`):
 *   - the built-in encoder (its child process): time to load, query encoding p50, time per tool text in
 *     batches, the child's RSS after loading and after encoding 512 tool texts;
 *   - in the gateway: hybrid query p50 at 10,000 tools (vectors in memory; the query's vector given),
 *     and the RSS the 10,000 tool vectors add.
 */
import { readFileSync } from 'node:fs';
import { ToolIndex, type ToolDoc } from '../src/search/rank.js';
import { BuiltinEmbedder } from '../src/search/semantic/builtin.js';
import type { Embedder } from '../src/search/semantic/embedder.js';
import { SemanticTier, toolText } from '../src/search/semantic/tier.js';

const rssMiB = (pid?: number): number => {
  if (pid === undefined) return process.memoryUsage().rss / 1048576;
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const realTools = (): ToolDoc[] => {
  const dir = new URL('../../shared/real-tools/', import.meta.url);
  const files = ['server-filesystem.json', 'server-memory.json', 'server-everything.json', 'server-github.json'];
  const out: ToolDoc[] = [];
  for (const f of files) {
    try {
      const data = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as { tools: ToolDoc[] };
      for (const t of data.tools) out.push({ ...t, server: f.replace(/\.json$/, '') });
    } catch {}
  }
  return out;
};

async function encoderCosts(): Promise<void> {
  const encoder = new BuiltinEmbedder();
  let t = performance.now();
  await encoder.embed(['warm up']);
  console.log(`builtin.load_and_first_vector_ms ${(performance.now() - t).toFixed(0)}`);
  console.log(`builtin.child_rss_after_load_mib ${rssMiB(encoder.pid).toFixed(0)}`);
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    t = performance.now();
    await encoder.embed([`list calendar events ${i}`], 'query');
    times.push(performance.now() - t);
  }
  console.log(`builtin.query_encode_p50_ms ${p50(times).toFixed(1)}`);
  const texts = realTools().map(toolText);
  const batch: string[] = [];
  while (batch.length < 512) batch.push(...texts.map((x, i) => `${x} ${batch.length + i}`));
  t = performance.now();
  for (let i = 0; i < 512; i += 8) await encoder.embed(batch.slice(i, i + 8));
  console.log(`builtin.ms_per_tool_text_batch8 ${((performance.now() - t) / 512).toFixed(1)}`);
  console.log(`builtin.child_rss_after_512_texts_mib ${rssMiB(encoder.pid).toFixed(0)}`);
  await encoder.close();
}

/** A stand-in embedder for the 10k-tool figures: random unit vectors (the scoring cost does not depend on them). */
class RandomEmbedder implements Embedder {
  readonly model = 'random-512';
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map(() => {
      const v = new Float32Array(512);
      let n = 0;
      for (let i = 0; i < 512; i++) {
        v[i] = Math.random() - 0.5;
        n += v[i]! * v[i]!;
      }
      n = Math.sqrt(n);
      for (let i = 0; i < 512; i++) v[i]! /= n;
      return v;
    });
  }
  async close(): Promise<void> {}
}

async function hybridAt10k(): Promise<void> {
  const base = realTools();
  const index = new ToolIndex();
  for (let s = 0; index.size < 10_000; s++) {
    index.replaceServer(
      `server${s}`,
      base.map((t) => ({ ...t, server: `server${s}` })),
    );
  }
  global.gc?.();
  const before = rssMiB();
  const embedder = new RandomEmbedder();
  const tier = new SemanticTier(embedder, undefined, { batch: 1000 });
  index.setSemantic(tier, { weight: 0.3, method: 'sum' });
  await tier.idle();
  global.gc?.();
  console.log(`hybrid.10000.vector_rss_mib ${(rssMiB() - before).toFixed(0)}`);
  const [q] = await embedder.embed(['x']);
  const queries = ['read a file', 'list calendar events', 'create an issue on github', 'search the web', 'delete entity'];
  const times: number[] = [];
  const lexical: number[] = [];
  for (let i = 0; i < 200; i++) {
    const query = queries[i % queries.length]!;
    let t = performance.now();
    index.searchWithVector(query, q!, { limit: 5 });
    times.push(performance.now() - t);
    t = performance.now();
    index.search(query, { limit: 5 });
    lexical.push(performance.now() - t);
  }
  console.log(`hybrid.10000.query_p50_ms_without_encoding ${p50(times).toFixed(2)} (lexical ${p50(lexical).toFixed(2)})`);
}

await hybridAt10k();
if (!process.argv.includes('--no-encoder')) await encoderCosts();
