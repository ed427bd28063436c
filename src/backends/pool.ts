import type { Tool } from '@modelcontextprotocol/client';
import type { BackendConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { Backend, BackendUnavailableError } from './backend.js';
import { BackendWatchdog } from './process.js';

/** How many backends start at once when a request needs every tool list. */
const START_CONCURRENCY = 4;

export type CatalogEntry = { backend: Backend; tools: readonly Tool[] } | { backend: Backend; error: string };

/** Every enabled backend by name. Nothing starts until a request needs it. */
export class BackendPool {
  private readonly backends = new Map<string, Backend>();
  private readonly watchdog = new BackendWatchdog();

  constructor(configs: Record<string, BackendConfig>, logger: Logger, onToolsChanged: (backend: Backend) => void) {
    for (const [name, config] of Object.entries(configs)) {
      if (config.enabled) this.backends.set(name, new Backend(name, config, { logger, watchdog: this.watchdog, onToolsChanged }));
    }
  }

  get(name: string): Backend | undefined {
    return this.backends.get(name);
  }

  names(): string[] {
    return [...this.backends.keys()];
  }

  all(): Backend[] {
    return [...this.backends.values()];
  }

  /** True while any breaker is not closed: /health reports `degraded`. */
  degraded(): boolean {
    return this.all().some((b) => b.status().circuit !== 'closed');
  }

  /**
   * Every backend's tool list: cached lists as they are, the others fetched by starting their
   * backends in parallel (bounded). A backend that fails is returned with its error, never as "no tools".
   */
  async catalog(only?: Backend[]): Promise<CatalogEntry[]> {
    const backends = only ?? this.all();
    const entries: CatalogEntry[] = new Array(backends.length);
    let next = 0;
    const worker = async () => {
      while (next < backends.length) {
        const i = next++;
        const backend = backends[i]!;
        try {
          entries[i] = { backend, tools: await backend.listTools() };
        } catch (error) {
          entries[i] = { backend, error: error instanceof BackendUnavailableError ? error.reason : String(error) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, backends.length) }, worker));
    return entries;
  }

  /** Resolves when no call is in flight, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.all().some((b) => b.busy) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /** Stop every backend (whole process trees), then the watchdog. */
  async close(): Promise<void> {
    await Promise.all(this.all().map((b) => b.stop()));
    this.watchdog.close();
  }
}
