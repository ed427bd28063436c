import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ToolSource } from '../sources/source.js';
import type { EventBus } from './events.js';
import { outcomeLabel, type SourceLookup, toolLabels, UNKNOWN } from './labels.js';
import { runtimeOf } from './runtime.js';
import type { UsageCounters } from './usage.js';

export interface MetricsDeps {
  events: EventBus;
  pool: SourceLookup & { all(): ToolSource[] };
  usage: UsageCounters;
  /** Live 2025-era sessions (2026-07-28 requests are stateless and hold none). */
  sessions: () => number;
}

export interface GatewayMetrics {
  contentType: string;
  /** The Prometheus text exposition of every metric, gauges read now. */
  scrape(): Promise<string>;
  close(): void;
}

const STATES = ['idle', 'starting', 'ready', 'error'] as const;
const CIRCUITS = ['closed', 'open', 'half-open'] as const;

/**
 * The gateway's Prometheus metrics (prom-client, one registry per gateway). Counters follow the event
 * bus; backend state, circuit, restarts, queue depth, sessions and usage are read from their owners at
 * scrape time, so nothing is sprinkled through the call path. Label values are bounded (labels.ts).
 */
export function createMetrics({ events, pool, usage, sessions }: MetricsDeps): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const invokes = new Counter({
    name: 'mcp_gateway_invoke_total',
    help: 'invoke calls by server, tool and outcome (ok, tool_error, or the error code); names the gateway does not know are "(unknown)"',
    labelNames: ['server', 'tool', 'outcome'],
    registers,
  });
  const invokeSeconds = new Histogram({
    name: 'mcp_gateway_invoke_duration_seconds',
    help: 'invoke latency as the gateway measured it, by server',
    labelNames: ['server'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const rateLimited = new Counter({
    name: 'mcp_gateway_rate_limited_total',
    help: 'invoke calls answered rate_limited (a key limit or a backend limit), by server',
    labelNames: ['server'],
    registers,
  });
  const searches = new Counter({ name: 'mcp_gateway_search_total', help: 'search_tools calls', registers });
  const emptySearches = new Counter({ name: 'mcp_gateway_search_empty_total', help: 'search_tools calls with no result', registers });
  const searchSeconds = new Histogram({
    name: 'mcp_gateway_search_duration_seconds',
    help: 'search_tools latency (including any wait for backends to list their tools)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const reloads = new Counter({
    name: 'mcp_gateway_reloads_total',
    help: 'config reloads by outcome (applied, rejected)',
    labelNames: ['outcome'],
    registers,
  });
  const operations = new Counter({
    name: 'mcp_gateway_admin_operations_total',
    help: 'admin start/stop/restart of a server, by server, operation and outcome (ok, failed)',
    labelNames: ['server', 'operation', 'outcome'],
    registers,
  });

  const unsubscribe = [
    events.on('invoke', (record) => {
      const labels = toolLabels(pool, record.server, record.tool);
      const outcome = outcomeLabel(record.outcome);
      invokes.inc({ ...labels, outcome });
      invokeSeconds.observe({ server: labels.server }, record.duration_ms / 1000);
      if (outcome === 'rate_limited') rateLimited.inc({ server: labels.server });
    }),
    events.on('search', (search) => {
      searches.inc();
      if (search.results === 0) emptySearches.inc();
      searchSeconds.observe(search.duration_ms / 1000);
    }),
    events.on('reload', ({ ok }) => reloads.inc({ outcome: ok ? 'applied' : 'rejected' })),
    events.on('operation', (op) =>
      operations.inc({ server: pool.get(op.server) ? op.server : UNKNOWN, operation: op.operation, outcome: op.ok ? 'ok' : 'failed' }),
    ),
  ];

  const refreshBackends = backendGauges(registry, pool);
  const refreshUsage = usageCounters(registry, usage);
  new Gauge({
    name: 'mcp_gateway_sessions',
    help: 'live MCP sessions by protocol era (2026-07-28 is stateless: no sessions)',
    labelNames: ['era'],
    registers,
    collect() {
      this.set({ era: '2025' }, sessions());
    },
  });

  return {
    contentType: registry.contentType,
    scrape: () => {
      refreshBackends();
      refreshUsage();
      return registry.metrics();
    },
    close: () => {
      for (const off of unsubscribe) off();
      registry.clear();
    },
  };
}

/** State, circuit, tools, restarts, queue: the refresh reads each source's status once per scrape. */
function backendGauges(registry: Registry, pool: { all(): ToolSource[] }): () => void {
  const registers = [registry];
  const state = new Gauge({
    name: 'mcp_gateway_backend_state',
    help: 'backend state: 1 for the current one of idle, starting, ready, error',
    labelNames: ['server', 'state'],
    registers,
  });
  const circuit = new Gauge({
    name: 'mcp_gateway_backend_circuit',
    help: 'circuit breaker: 1 for the current one of closed, open, half-open',
    labelNames: ['server', 'circuit'],
    registers,
  });
  const tools = new Gauge({
    name: 'mcp_gateway_backend_tools',
    help: 'tools in the cached list (absent until listed)',
    labelNames: ['server'],
    registers,
  });
  const restarts = new Gauge({
    name: 'mcp_gateway_backend_restarts',
    help: 'starts after the first (absent when the backend does not report them)',
    labelNames: ['server'],
    registers,
  });
  const queued = new Gauge({
    name: 'mcp_gateway_backend_queue_depth',
    help: 'calls waiting for a concurrency slot (absent when the backend does not report it)',
    labelNames: ['server'],
    registers,
  });
  return () => {
    // Reset first: a removed backend's series disappear.
    for (const gauge of [state, circuit, tools, restarts, queued]) gauge.reset();
    for (const source of pool.all()) {
      const status = source.status();
      const server = source.name;
      for (const s of STATES) state.set({ server, state: s }, status.state === s ? 1 : 0);
      for (const c of CIRCUITS) circuit.set({ server, circuit: c }, status.circuit === c ? 1 : 0);
      if (status.tools !== null) tools.set({ server }, status.tools);
      const runtime = runtimeOf(source);
      if (runtime.restarts !== undefined) restarts.set({ server }, runtime.restarts);
      if (runtime.queued !== undefined) queued.set({ server }, runtime.queued);
    }
  };
}

/**
 * Usage per key, and bytes and time per tool: counters copied from the usage counters at scrape time
 * (they only grow while the gateway runs, so rate() works on them as on any counter).
 */
function usageCounters(registry: Registry, usage: UsageCounters): () => void {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers });
  const perKey = {
    calls: counter('mcp_gateway_key_calls_total', 'invoke calls per key', ['key']),
    errors: counter('mcp_gateway_key_errors_total', 'invoke calls per key that did not end ok', ['key']),
    seconds: counter('mcp_gateway_key_call_seconds_total', 'invoke time per key', ['key']),
    bytesIn: counter('mcp_gateway_key_bytes_in_total', 'JSON argument bytes per key', ['key']),
    bytesOut: counter('mcp_gateway_key_bytes_out_total', 'JSON result bytes per key', ['key']),
  };
  const perTool = {
    seconds: counter('mcp_gateway_tool_call_seconds_total', 'invoke time per tool', ['server', 'tool']),
    bytesIn: counter('mcp_gateway_tool_bytes_in_total', 'JSON argument bytes per tool', ['server', 'tool']),
    bytesOut: counter('mcp_gateway_tool_bytes_out_total', 'JSON result bytes per tool', ['server', 'tool']),
  };
  const all = [...Object.values(perKey), ...Object.values(perTool)];
  return () => {
    for (const metric of all) metric.reset();
    const snapshot = usage.snapshot();
    for (const row of snapshot.keys) {
      const labels = { key: row.key };
      perKey.calls.inc(labels, row.calls);
      perKey.errors.inc(labels, row.errors);
      perKey.seconds.inc(labels, row.duration_ms / 1000);
      perKey.bytesIn.inc(labels, row.bytes_in);
      perKey.bytesOut.inc(labels, row.bytes_out);
    }
    for (const row of snapshot.tools) {
      const labels = { server: row.server, tool: row.tool };
      perTool.seconds.inc(labels, row.duration_ms / 1000);
      perTool.bytesIn.inc(labels, row.bytes_in);
      perTool.bytesOut.inc(labels, row.bytes_out);
    }
  };
}
