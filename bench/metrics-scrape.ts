// What one GET /metrics costs the gateway: µs of CPU per scrape (registry.metrics() plus the scrape-time
// reads of backend statuses and usage), for a few catalog sizes. Series = sample lines in the output.
//   node --import tsx bench/metrics-scrape.ts
import type { Tool } from '@modelcontextprotocol/server';
import { EventBus } from '../src/observe/events.js';
import { createMetrics } from '../src/observe/metrics.js';
import { UsageCounters } from '../src/observe/usage.js';
import type { SourceStatus, ToolSource } from '../src/sources/source.js';

function source(name: string, tools: number): ToolSource {
  const list = Array.from({ length: tools }, (_, i) => ({ name: `tool_${i}`, inputSchema: { type: 'object' } }) as Tool);
  const status: SourceStatus = { name, transport: 'stdio', state: 'ready', tools, circuit: 'closed' };
  return {
    name,
    fingerprint: name,
    cachedTools: list,
    busy: false,
    status: () => status,
    listTools: async () => list,
    callTool: async () => ({ content: [] }),
    stop: async () => {},
  };
}

for (const [servers, toolsCalled, keys] of [
  [3, 10, 2],
  [20, 50, 10],
  [50, 200, 50],
] as const) {
  const sources = Array.from({ length: servers }, (_, i) => source(`s${i}`, toolsCalled));
  const pool = { all: () => sources, get: (name: string) => sources.find((s) => s.name === name) };
  const events = new EventBus();
  const usage = new UsageCounters(pool, events);
  const metrics = createMetrics({ events, pool, usage, sessions: () => 3 });
  for (const s of sources)
    for (let t = 0; t < toolsCalled; t++)
      for (const outcome of ['ok', 'tool_error'])
        events.emit('invoke', {
          time: '',
          key: `k${t % keys}`,
          server: s.name,
          tool: `tool_${t}`,
          outcome,
          duration_ms: t,
          arg_bytes: 10,
        });
  const text = await metrics.scrape();
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  for (let i = 0; i < 20; i++) await metrics.scrape();
  const runs = 200;
  const started = process.cpuUsage();
  for (let i = 0; i < runs; i++) await metrics.scrape();
  const used = process.cpuUsage(started);
  const us = (used.user + used.system) / runs;
  console.log(
    `${servers} servers, ${servers * toolsCalled} tools called, ${keys} keys: ${series} series, ${Math.round(text.length / 1024)} KiB, ${Math.round(us)} µs CPU per scrape`,
  );
  metrics.close();
}
