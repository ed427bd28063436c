import type { Tool } from '@modelcontextprotocol/client';
import { FairLimiter } from '../sources/limiter.js';
import { BackendUnavailableError, type SourceState, type ToolSource } from '../sources/source.js';

export type CatalogEntry = { source: ToolSource; tools: readonly Tool[] } | { source: ToolSource; error: string; state: SourceState };

/** Said of a source whose list was not known within the caller's wait (its start goes on). */
export const STILL_STARTING = 'still starting';
/** Said of a source waiting for one of the bounded start slots. */
export const QUEUED_TO_START = 'queued to start (other backends are starting)';

/**
 * Tool lists for search_tools and list_servers, fetched so that a slow or dead source costs the
 * others nothing: a cached list is returned at once, a source backing off after a failure is reported
 * at once, and the rest are started in the background, at most `concurrency` at a time and one start
 * per source shared by every caller. A caller that gives `waitMs` waits that long at most; a source
 * still starting then is reported as such while its start goes on.
 */
export class CatalogFetcher {
  private readonly pending = new Map<ToolSource, Promise<readonly Tool[]>>();
  /** Sources waiting for a start slot (for "queued to start"). */
  private readonly queued = new Set<ToolSource>();
  private readonly slots: FairLimiter;

  constructor(
    concurrency: number,
    /** False once a reload removed or replaced the source. */
    private readonly isCurrent: (source: ToolSource) => boolean,
  ) {
    // Starts wait as long as it takes: every caller shares them, and each caller's own wait is bounded.
    this.slots = new FairLimiter({ maxConcurrent: concurrency, maxQueue: Number.POSITIVE_INFINITY, maxWaitMs: 0 });
  }

  async fetch(sources: readonly ToolSource[], waitMs?: number): Promise<CatalogEntry[]> {
    let timer: NodeJS.Timeout | undefined;
    const deadline =
      waitMs === undefined ? undefined : new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
    try {
      return await Promise.all(sources.map((source) => this.entry(source, deadline)));
    } finally {
      clearTimeout(timer);
    }
  }

  private async entry(source: ToolSource, deadline: Promise<undefined> | undefined): Promise<CatalogEntry> {
    const cached = source.cachedTools;
    if (cached) return { source, tools: cached };
    if ((source.restartDelayMs?.() ?? 0) > 0) return failed(source, await settle(source.listTools()));
    const fetching = settle(this.start(source));
    const outcome = deadline ? await Promise.race([fetching, deadline]) : await fetching;
    if (outcome === undefined) return { source, error: this.queued.has(source) ? QUEUED_TO_START : STILL_STARTING, state: 'starting' };
    return 'tools' in outcome ? { source, tools: outcome.tools } : failed(source, outcome);
  }

  /** The one start of `source` under way, or a new one in the next free slot. */
  private start(source: ToolSource): Promise<readonly Tool[]> {
    const current = this.pending.get(source);
    if (current) return current;
    // A start someone else began (an invoke) is joined without taking a slot.
    if (source.status().state === 'starting') return source.listTools();
    const started = this.inSlot(source).finally(() => this.pending.delete(source));
    started.catch(() => {}); // a caller may have stopped waiting; the failure is in the source's status
    this.pending.set(source, started);
    return started;
  }

  private inSlot(source: ToolSource): Promise<readonly Tool[]> {
    this.queued.add(source);
    return this.slots.run(() => {
      this.queued.delete(source);
      // A reload may have removed it while it waited: a retired source is never started again.
      if (!this.isCurrent(source)) return Promise.reject(new BackendUnavailableError(source.name, 'removed from the configuration'));
      return source.listTools();
    });
  }
}

type Outcome = { tools: readonly Tool[] } | { error: unknown };

function settle(work: Promise<readonly Tool[]>): Promise<Outcome> {
  return work.then(
    (tools) => ({ tools }),
    (error: unknown) => ({ error }),
  );
}

function failed(source: ToolSource, outcome: Outcome): CatalogEntry {
  if ('tools' in outcome) return { source, tools: outcome.tools };
  const { error } = outcome;
  return { source, error: error instanceof BackendUnavailableError ? error.reason : String(error), state: source.status().state };
}
