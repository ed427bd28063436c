import type { BackendConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { Backend } from './backend.js';
import { BackendWatchdog } from './process.js';
import type { ListKind, ToolSource } from '../sources/source.js';
import { CatalogFetcher, type CatalogEntry } from './catalog.js';

export type { CatalogEntry } from './catalog.js';

/** How many backends start at once when a request needs every tool list. */
const START_CONCURRENCY = 4;
/** A replaced or removed source may finish its calls in flight for this long before it is stopped. */
const RETIRE_GRACE_MS = 30_000;

export interface PoolDeps {
  logger: Logger;
  /** A source's tool list was (re)fetched. */
  onToolsChanged: (source: ToolSource) => void;
  /** A source left the pool (removed, or replaced by a changed one). */
  onRemoved: (name: string) => void;
  /** A backend said one of its lists changed (list_changed), after the new list is cached. */
  onListChanged?: (source: ToolSource, kind: ListKind) => void;
  /** A backend said a subscribed resource changed. */
  onResourceUpdated?: (source: ToolSource, uri: string) => void;
}

export interface PoolChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

/** Every enabled backend (and capability group) by name. Nothing starts until a request needs it. */
export class BackendPool {
  private sources = new Map<string, ToolSource>();
  private readonly watchdog = new BackendWatchdog();
  private readonly fetcher = new CatalogFetcher(START_CONCURRENCY, (source) => this.sources.get(source.name) === source);

  constructor(private readonly deps: PoolDeps) {}

  get(name: string): ToolSource | undefined {
    return this.sources.get(name);
  }

  names(): string[] {
    return [...this.sources.keys()];
  }

  all(): ToolSource[] {
    return [...this.sources.values()];
  }

  /**
   * Swap in a new set of sources at once. A source whose configuration is unchanged keeps running
   * with its session and cache; a changed one is replaced (it starts again on next use); a removed
   * one is stopped once its calls in flight are done.
   */
  apply(backends: Record<string, BackendConfig>, others: ToolSource[] = []): PoolChanges {
    const next = new Map<string, ToolSource>();
    for (const [name, config] of Object.entries(backends)) {
      if (!config.enabled) continue;
      const current = this.sources.get(name);
      next.set(
        name,
        current instanceof Backend && current.fingerprint === JSON.stringify(config)
          ? current
          : new Backend(name, config, {
              logger: this.deps.logger,
              watchdog: this.watchdog,
              onToolsChanged: this.deps.onToolsChanged,
              onListChanged: this.deps.onListChanged,
              onResourceUpdated: this.deps.onResourceUpdated,
            }),
      );
    }
    for (const source of others) {
      const current = this.sources.get(source.name);
      next.set(source.name, current && current.fingerprint === source.fingerprint ? current : source);
    }

    const changes: PoolChanges = { added: [], removed: [], changed: [] };
    for (const [name, source] of this.sources) {
      const replacement = next.get(name);
      if (replacement === source) continue;
      (replacement ? changes.changed : changes.removed).push(name);
      this.deps.onRemoved(name);
      void this.retire(source);
    }
    for (const name of next.keys()) if (!this.sources.has(name)) changes.added.push(name);
    this.sources = next;
    // Sources whose tools are known without starting anything (REST capabilities) are indexed now.
    for (const source of others) if (next.get(source.name) === source && source.cachedTools) this.deps.onToolsChanged(source);
    return changes;
  }

  /** True while any breaker is not closed: /health reports `degraded`. */
  degraded(): boolean {
    return this.all().some((s) => s.status().circuit !== 'closed');
  }

  /**
   * Every source's tool list (or those in `only`). Cached lists come back as they are; a source backing
   * off after a failure comes back at once with state `error` and its error; the others are started
   * in the background, 4 at a time, one shared start per source. A source whose list is not known
   * within `waitMs` comes back with state `starting` while its start goes on (without `waitMs`, every
   * start is waited for). A source that fails is returned with its error, never as "no tools".
   */
  catalog(only?: ToolSource[], options: { waitMs?: number } = {}): Promise<CatalogEntry[]> {
    return this.fetcher.fetch(only ?? this.all(), options.waitMs);
  }

  /** Resolves when no call is in flight, or after `timeoutMs`. */
  async drain(timeoutMs: number, sources = this.all()): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (sources.some((s) => s.busy) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /** Stop every source (whole process trees), then the watchdog. */
  async close(): Promise<void> {
    await Promise.all(this.all().map((s) => s.stop()));
    this.watchdog.close();
  }

  private async retire(source: ToolSource): Promise<void> {
    // Calls already admitted may finish on the live connection; nothing starts a retired source again.
    source.retire?.();
    await this.drain(RETIRE_GRACE_MS, [source]);
    await source.stop();
  }
}
