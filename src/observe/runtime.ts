import type { ToolSource } from '../sources/source.js';

/**
 * Live facts about a source's process that ToolSource does not offer yet. A source that implements
 * `runtime()` lights up pid, uptime, restarts and queue depth in /admin/servers, /metrics and the
 * dashboard; until then they are null there.
 */
export interface SourceRuntime {
  /** The stdio child's pid while it runs. */
  pid?: number;
  /** Epoch ms of the current process's (or connection's) successful start, while running. */
  startedAt?: number;
  /** Starts after the first one (crash restarts, idle restarts, admin restarts). */
  restarts?: number;
  /** Calls running now. */
  inFlight?: number;
  /** Calls waiting for a concurrency slot. */
  queued?: number;
  /** Resources the source lists, once listed. */
  resources?: number;
}

/** A source that may also be started and described at run time (both optional: see SourceRuntime). */
export type OperableSource = ToolSource & {
  /** Start now when not running (a no-op when running), resolving once its tools are listed. */
  start?(): Promise<void>;
  runtime?(): SourceRuntime;
};

export function runtimeOf(source: ToolSource): SourceRuntime {
  try {
    return (source as OperableSource).runtime?.() ?? {};
  } catch {
    return {};
  }
}
