import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutWeak } from '../src/search/present.js';
import { rank, type ToolDoc } from '../src/search/rank.js';
import { closestServers } from '../src/search/servers.js';
import type { RunningGateway } from '../src/server.js';
import { connectClient, eventually, type FrontClient, fixtureBackend, repoRoot, startTestGateway } from './helpers.js';

/** search_tools answers sized for a model: weak hits cut (and counted), the closest servers named when nothing convinces. */

describe('answer shaping', () => {
  it('cuts hits far below the first and counts them', () => {
    const hits = [{ score: 0.73 }, { score: 0.28 }, { score: 0.1 }, { score: 0.004 }];
    expect(cutWeak(hits)).toEqual({ hits: [{ score: 0.73 }, { score: 0.28 }], cut: 2 });
    expect(cutWeak([])).toEqual({ hits: [], cut: 0 });
  });

  it('names the servers whose descriptions match best, then those of the best hits', () => {
    const servers = [{ name: 'alpha' }, { name: 'weather', description: 'Forecasts and climate data' }, { name: 'beta' }];
    const hits = rank('beta things', [{ server: 'beta', name: 'do_things', description: 'Does things' }]);
    expect(closestServers('climate things', servers, hits).map((s) => s.name)).toEqual(['weather', 'beta']);
  });

  it('indexes a camelCase compound whole: "javascript" finds "JavaScript"', () => {
    const tools: ToolDoc[] = [
      { server: 'code', name: 'run_code', description: 'Run JavaScript in a sandbox' },
      { server: 'code', name: 'run_python', description: 'Run Python code' },
    ];
    expect(rank('javascript', tools)[0]?.tool).toBe('run_code');
    expect(rank('github', [{ server: 'gh', name: 'open_pr', description: 'Open a pull request on GitHub' }])).toHaveLength(1);
  });
});

describe('search_tools answers through the gateway', () => {
  let gateway: RunningGateway;
  let client: FrontClient;
  beforeAll(async () => {
    gateway = await startTestGateway({
      backends: {
        fixture: { ...fixtureBackend(), description: 'Weather forecasts and climate records' },
        memory: {
          command: process.execPath,
          args: [join(repoRoot, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js')],
          description: 'Knowledge graph memory',
        },
      },
    });
    client = await connectClient('v2-2025', gateway.url);
    // Both backends listed once, so every search sees all their tools.
    await eventually(async () => {
      const servers = ((await client.call('list_servers')).structuredContent as { servers: { tools: number | null }[] }).servers;
      return servers.every((s) => s.tools !== null);
    }, 'both backends listed');
  });
  afterAll(async () => {
    await client?.close();
    await gateway?.close();
  });

  const search = async (query: string, limit?: number) =>
    (await client.call('search_tools', { query, ...(limit ? { limit } : {}) })).structuredContent as Record<string, unknown>;

  it('keeps only plausible hits and says how many were cut', async () => {
    const answer = await search('delete entities from the knowledge graph', 10);
    const results = answer.results as { tool: string; score: number }[];
    expect(results[0]?.tool).toBe('delete_entities');
    expect(answer.cut).toBeGreaterThan(0);
    expect(results.length + (answer.cut as number)).toBeLessThanOrEqual(10);
    for (const r of results) expect(r.score).toBeGreaterThanOrEqual(results[0]!.score * 0.25);
    expect(answer.tier).toBeUndefined(); // no semantic tier configured
  });

  it('says when nothing convinces and names the closest servers', async () => {
    // One word of four matches (a server's description): every hit is weak.
    const answer = await search('zebra quantum climate harmonica');
    expect((answer.results as { score: number }[])[0]!.score).toBeLessThan(0.2);
    expect(answer.hint).toMatch(/No convincing match/);
    expect((answer.servers as { name: string }[])[0]).toEqual({ name: 'fixture', description: 'Weather forecasts and climate records' });
  });
});
