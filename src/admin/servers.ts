import { redact } from '../secrets/redact.js';
import type { OperableSource } from '../observe/runtime.js';
import { runtimeOf } from '../observe/runtime.js';
import { describeError, type ToolSource } from '../sources/source.js';

/** One server as GET /admin/servers shows it. Fields a source cannot report yet are null. */
export interface ServerInfo {
  name: string;
  description?: string;
  transport: string;
  state: string;
  circuit: string;
  /** Tools in the cached list; null until listed. */
  tools: number | null;
  resources: number | null;
  pid: number | null;
  uptime_s: number | null;
  restarts: number | null;
  in_flight: number | null;
  queued: number | null;
  /** Until a failed source may be started again. */
  retry_in_ms: number;
  /** The last error, redacted: it may quote a backend's stderr or an HTTP error body. */
  error: string | null;
}

export function describeServer(source: ToolSource, now = Date.now()): ServerInfo {
  const status = source.status();
  const runtime = runtimeOf(source);
  return {
    name: source.name,
    ...(status.description ? { description: status.description } : {}),
    transport: status.transport,
    state: status.state,
    circuit: status.circuit,
    tools: status.tools,
    resources: runtime.resources ?? null,
    pid: runtime.pid ?? null,
    uptime_s: runtime.startedAt === undefined ? null : Math.max(0, Math.round((now - runtime.startedAt) / 1000)),
    restarts: runtime.restarts ?? null,
    in_flight: runtime.inFlight ?? null,
    queued: runtime.queued ?? null,
    retry_in_ms: source.restartDelayMs?.() ?? 0,
    error: status.error ? redact(status.error) : null,
  };
}

export type Operation = 'start' | 'stop' | 'restart';
export const OPERATIONS: readonly Operation[] = ['start', 'stop', 'restart'];

export type OperationResult = { ok: true; server: ServerInfo; note?: string } | { ok: false; server: ServerInfo; error: string };

/**
 * Start, stop or restart one source. A source with `start()` is started by it. Without one, a start
 * lists its tools, which starts a source whose tools were never listed; a source with a cached list
 * then stays stopped (its tools stay searchable) and starts on its next call, and the answer says so.
 * A restart is a stop, then that start. Calls in flight during a stop fail as a lost connection.
 */
export async function operate(source: ToolSource, operation: Operation): Promise<OperationResult> {
  const operable = source as OperableSource;
  let note: string | undefined;
  try {
    if (operation !== 'start') await source.stop();
    if (operation !== 'stop') {
      if (operable.start) await operable.start();
      else if (!source.cachedTools) await source.listTools();
      else if (source.status().state !== 'ready')
        note = `${operation === 'restart' ? 'stopped; ' : ''}its tools are cached, so it starts on its next call`;
    }
  } catch (error) {
    return { ok: false, server: describeServer(source), error: redact(describeError(error)) };
  }
  return { ok: true, server: describeServer(source), ...(note ? { note } : {}) };
}
