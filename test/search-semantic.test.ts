import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolIndex, toolDoc } from '../src/search/rank.js';
import { refineSearch } from '../src/search/rank.js';
import { BuiltinEmbedder } from '../src/search/semantic/builtin.js';
import { textKey, VectorCache } from '../src/search/semantic/cache.js';
import { embeddingsUrl } from '../src/search/semantic/http.js';
import type { RunningGateway } from '../src/server.js';
import { connectClient, eventually, type FrontClient, repoRoot, startTestGateway } from './helpers.js';
import { argv, descendants } from './procfs.js';

/**
 * The semantic tier end to end: the gateway embeds tool texts through an OpenAI-compatible endpoint (a
 * local server answering with real vectors from the built-in encoder), caches them on disk, answers
 * lexically until they are there, then hybrid; and the built-in encoder itself in its child process.
 * Loading the encoder takes about 1–2 s; each test file run loads it twice (server and builtin test).
 */

const memoryServer = {
  command: process.execPath,
  args: [join(repoRoot, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js')],
  description: 'Knowledge graph memory',
};

interface EmbedServer {
  url: string;
  inputs: string[];
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

const encoder = new BuiltinEmbedder();

async function embedServer(): Promise<EmbedServer> {
  const inputs: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
      res.writeHead(404).end();
      return;
    }
    authorizations.push(req.headers.authorization);
    const { input } = JSON.parse(body) as { input: string[] };
    inputs.push(...input);
    const vectors = await encoder.embed(input);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: [...v] })) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    inputs,
    authorizations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The answer once it comes from the hybrid tier (tool vectors are embedded in the background). */
function hybrid(client: FrontClient, query: string, tries = 100) {
  return eventually(
    async () => {
      const answer = await search(client, query);
      return answer.tier === 'hybrid' && answer.results.length > 0 ? answer : undefined;
    },
    `a hybrid answer to "${query}"`,
    tries,
  );
}

async function search(client: FrontClient, query: string) {
  const result = await client.call('search_tools', { query });
  return result.structuredContent as { results: { server: string; tool: string; score: number }[]; tier?: string; cut?: number };
}

describe('semantic tier through an OpenAI-compatible endpoint', () => {
  let embed: EmbedServer;
  let gateway: RunningGateway | undefined;
  let client: FrontClient | undefined;
  const cacheDir = mkdtempSync(join(tmpdir(), 'gw-vectors-'));
  const KEY = 'test-embedding-key-0123456789';

  const start = async (url: string) => {
    process.env.GW_TEST_EMBED_KEY = KEY;
    gateway = await startTestGateway({
      backends: { memory: memoryServer },
      search: { semantic: { url, model: 'use-lite', api_key: '${GW_TEST_EMBED_KEY}' }, cache_dir: cacheDir },
    });
    client = await connectClient('v2-2025', gateway.url);
  };
  const stop = async () => {
    await client?.close();
    await gateway?.close();
    client = undefined;
    gateway = undefined;
  };

  beforeAll(async () => {
    embed = await embedServer();
  });
  afterAll(async () => {
    await stop();
    await embed?.close();
    await encoder.close();
  });

  it('answers lexically at once, then hybrid once tool vectors are in; sends the key, never shows it', async () => {
    await start(embed.url);
    const query = 'I want to delete an entity from the knowledge graph';
    const first = await search(client!, query);
    expect(['lexical', 'hybrid']).toContain(first.tier);
    const answer = await hybrid(client!, query);
    expect(answer.results[0]).toMatchObject({ server: 'memory', tool: 'delete_entities' });
    // Every memory tool's text went to the endpoint once, and the query.
    expect(embed.inputs.filter((t) => t.startsWith('delete entities')).length).toBe(1);
    expect(embed.inputs).toContain(query);
    expect(new Set(embed.authorizations)).toEqual(new Set([`Bearer ${KEY}`]));
    const text = JSON.stringify(await client!.call('search_tools', { query }));
    expect(text).not.toContain(KEY);
  });

  it('answers a short, tool-like query (6 words or fewer) lexically, without embedding it', async () => {
    const before = embed.inputs.length;
    const answer = await search(client!, 'delete an entity');
    expect(answer.tier).toBe('lexical');
    expect(answer.results[0]).toMatchObject({ server: 'memory', tool: 'delete_entities' });
    expect(embed.inputs.slice(before)).toEqual([]);
  });

  it('finds a tool by meaning where no word matches', async () => {
    // No memory tool says "forget", "someone", "person" or "ever".
    const answer = await search(client!, 'please forget everything about someone I ever mentioned');
    expect(answer.tier).toBe('hybrid');
    expect(answer.results.slice(0, 3).some((r) => r.tool.startsWith('delete_'))).toBe(true);
  });

  it('re-embeds nothing after a restart: tool vectors come from the disk cache', async () => {
    await stop();
    expect(readdirSync(cacheDir).some((f) => f.endsWith('.vec'))).toBe(true);
    const before = embed.inputs.length;
    await start(embed.url);
    const query = 'show me the whole graph of what you remember';
    const answer = await hybrid(client!, query);
    expect(answer.results[0]?.tool).toBe('read_graph');
    expect(embed.inputs.slice(before)).toEqual([query]);
    await stop();
  });

  it('answers lexically when the endpoint is down', async () => {
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const { port } = down.address() as AddressInfo;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const emptyCache = mkdtempSync(join(tmpdir(), 'gw-vectors-'));
    process.env.GW_TEST_EMBED_KEY = KEY;
    gateway = await startTestGateway({
      backends: { memory: memoryServer },
      search: { semantic: { url: `http://127.0.0.1:${port}/v1`, model: 'm', api_key: '${GW_TEST_EMBED_KEY}' }, cache_dir: emptyCache },
    });
    client = await connectClient('v2-2025', gateway.url);
    await search(client, 'read graph');
    await new Promise((r) => setTimeout(r, 300));
    const answer = await search(client, 'read graph');
    expect(answer.tier).toBe('lexical');
    expect(answer.results[0]?.tool).toBe('read_graph');
    await stop();
  });
});

describe('built-in encoder (child process) through the gateway', () => {
  it('embeds in a child process, answers hybrid, and leaves no process behind', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'gw-vectors-'));
    const gateway = await startTestGateway({ backends: { memory: memoryServer }, search: { semantic: 'builtin', cache_dir: cacheDir } });
    const client = await connectClient('v2-2025', gateway.url);
    const encoders = () => descendants(process.pid).filter((pid) => argv(pid).some((a) => a.includes('@energetic-ai')));
    try {
      const answer = await hybrid(client, 'please forget everything about someone I ever mentioned', 300);
      expect(answer.results.slice(0, 3).some((r) => r.tool.startsWith('delete_'))).toBe(true);
      expect(encoders().length).toBe(1);
    } finally {
      await client.close();
      await gateway.close();
    }
    expect(encoders()).toEqual([]);
  });
});

describe('semantic pieces', () => {
  it('reads the endpoint URL as the endpoint or its base', () => {
    expect(embeddingsUrl('http://h:1/v1')).toBe('http://h:1/v1/embeddings');
    expect(embeddingsUrl('http://h:1/v1/')).toBe('http://h:1/v1/embeddings');
    expect(embeddingsUrl('http://h:1/api/embeddings')).toBe('http://h:1/api/embeddings');
  });

  it('keeps vectors across instances and skips a torn last record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-vectors-'));
    const a = new VectorCache(dir, 'model-a');
    a.put(textKey('one'), Float32Array.from([0.6, 0.8]));
    a.put(textKey('two'), Float32Array.from([1, 0, 0]));
    const file = join(dir, readdirSync(dir)[0]!);
    // a crash mid-write: half a record at the end
    writeFileSync(file, Buffer.alloc(20, 7), { flag: 'a' });
    const b = new VectorCache(dir, 'model-a');
    expect([...b.get(textKey('one'))!]).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(b.get(textKey('two'))?.length).toBe(3);
    b.put(textKey('three'), Float32Array.from([1]));
    expect(new VectorCache(dir, 'model-a').get(textKey('three'))?.length).toBe(1);
    expect(new VectorCache(dir, 'model-b').size).toBe(0);
    // A batch is one append; a key already cached is not written again.
    b.putMany([
      [textKey('four'), Float32Array.from([0.25, 0.5])],
      [textKey('one'), Float32Array.from([9, 9])],
    ]);
    const c = new VectorCache(dir, 'model-a');
    expect([...c.get(textKey('four'))!]).toEqual([0.25, 0.5]);
    expect([...c.get(textKey('one'))!]).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(c.size).toBe(4);
  });

  it('an index without a semantic tier refines to the same hits, with no tier', async () => {
    const index = new ToolIndex();
    index.replaceServer('memory', [toolDoc({ name: 'memory' }, { name: 'read_graph', description: 'Read the entire knowledge graph' })]);
    const hits = index.search('read graph');
    expect(await refineSearch(hits)).toEqual({ hits });
  });
});
