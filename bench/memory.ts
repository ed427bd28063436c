/**
 * Resident memory (VmRSS from /proc/<pid>/status) of the gateway process itself (not its backends),
 * sampled every 250 ms over a settle window, because RSS moves after start-up: V8's memory reducer
 * returns pages only after ~10–15 s idle.
 *   idle      — `node dist/cli.js` with 50 lazy backends, from the first /health 200: peak and final value;
 *   10k tools — one fixture backend started with `--tools 10000 --page-size 500`; a search_tools call
 *               makes the gateway list all 20 pages and index them; peak and final value over the window,
 *               then again after 25 more searches.
 * The goals are judged on the final (settled) values; the peaks are shown beside them.
 */
import { writeFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/client';
import { join } from 'node:path';
import { closeQuietly, fixturePath, httpClient, makeTmpDir, rssMiB, sleep, startGatewayCli, waitForHealth } from './util.js';
import { writeManyBackendsConfig } from './startup.js';

export interface Rss {
  peak: number;
  settled: number;
}

export interface MemoryResult {
  settleMs: number;
  idle: Rss;
  tenK: Rss;
  /** After 25 more searches and a 5 s settle. */
  afterSearches: Rss;
  toolsIndexed: number;
  indexingMs: number;
}

const QUERIES = ['pagination tests', 'echo the arguments', 'tool 9999', 'generated', 'fail with structure', 'sleep for a while'];

function search(client: Client, query: string): Promise<unknown> {
  return client.request({ method: 'tools/call', params: { name: 'search_tools', arguments: { query } } });
}

/** RSS every 250 ms for `ms`: the highest value and the last one. */
async function sampleRss(pid: number, ms: number): Promise<Rss> {
  const end = performance.now() + ms;
  let peak = rssMiB(pid);
  let last = peak;
  while (performance.now() < end) {
    await sleep(250);
    last = rssMiB(pid);
    peak = Math.max(peak, last);
  }
  return { peak, settled: last };
}

export async function measureMemory(settleMs = 20_000): Promise<MemoryResult> {
  // Idle.
  const idleGateway = await startGatewayCli(writeManyBackendsConfig(50));
  let idle: Rss;
  try {
    await waitForHealth(idleGateway.origin, 10_000);
    idle = await sampleRss(idleGateway.child.pid, settleMs);
  } finally {
    await idleGateway.child.stop();
  }

  // 10,000 tools indexed.
  const file = join(makeTmpDir(), 'gateway.yaml');
  const config = {
    server: { host: '127.0.0.1', port: 0 },
    backends: { big: { command: process.execPath, args: [fixturePath, '--name', 'big', '--tools', '10000', '--page-size', '500'] } },
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  const big = await startGatewayCli(file);
  const client = await httpClient(big.url, '2026').catch(async (error: unknown) => {
    await big.child.stop();
    throw error;
  });
  try {
    const t0 = performance.now();
    await search(client, 'generated tool number 4242');
    const indexingMs = performance.now() - t0;
    const servers = (await client.request({ method: 'tools/call', params: { name: 'list_servers', arguments: {} } })) as {
      structuredContent?: { servers?: Array<{ name: string; tools: number | null }> };
    };
    const toolsIndexed = servers.structuredContent?.servers?.find((s) => s.name === 'big')?.tools ?? 0;
    if (toolsIndexed < 10_000) throw new Error(`expected 10,000+ tools listed, got ${toolsIndexed}`);
    const tenK = await sampleRss(big.child.pid, settleMs);
    for (let i = 0; i < 25; i++) await search(client, QUERIES[i % QUERIES.length]!);
    const afterSearches = await sampleRss(big.child.pid, 5_000);
    return { settleMs, idle, tenK, afterSearches, toolsIndexed, indexingMs };
  } finally {
    await closeQuietly(client);
    await big.child.stop();
  }
}
