import type { Tool } from '@modelcontextprotocol/server';
import type { BackendPool, CatalogEntry } from '../backends/pool.js';
import type { SearchHit, SearchOptions, ToolIndex } from '../search/rank.js';
import type { SourceStatus, ToolSource } from '../sources/source.js';
import type { Principal } from './principal.js';

/**
 * What one principal may see of the catalog: `pool ∩ principal.allow`. Every meta-tool reads the
 * catalog only through a view, so a list, a search, a suggestion or a call cannot reach a server or
 * tool outside the caller's scope, and no answer can reveal that one exists.
 */
export class CatalogView {
  constructor(
    private readonly pool: BackendPool,
    private readonly index: ToolIndex,
    readonly principal: Principal,
  ) {}

  /** Visible sources, in config order. */
  sources(): ToolSource[] {
    return this.pool.all().filter((source) => this.principal.allows(source.name));
  }

  names(): string[] {
    return this.sources().map((source) => source.name);
  }

  /** The source of that name, if this principal may see it. */
  get(name: string): ToolSource | undefined {
    const source = this.pool.get(name);
    return source && this.principal.allows(name) ? source : undefined;
  }

  /** The visible part of a tool list of `source`. */
  visibleTools(source: ToolSource, tools: readonly Tool[]): readonly Tool[] {
    const { principal } = this;
    return tools.filter((tool) => principal.allows(source.name, tool.name));
  }

  /** A source's status with the tool count of what this principal sees. */
  status(source: ToolSource): SourceStatus {
    const status = source.status();
    const cached = source.cachedTools;
    return cached ? { ...status, tools: this.visibleTools(source, cached).length } : status;
  }

  /** Tool lists of the visible sources (or of `only`), starting what was never listed (see BackendPool.catalog). */
  catalog(only?: ToolSource[], options?: { waitMs?: number }): Promise<CatalogEntry[]> {
    return this.pool.catalog(only ?? this.sources(), options);
  }

  /** Ranked search over the visible tools only: a hidden tool never takes a result slot. */
  search(query: string, options: Omit<SearchOptions, 'filter'>): SearchHit[] {
    const { principal } = this;
    return this.index.search(query, { ...options, filter: (server, tool) => principal.allows(server, tool) });
  }

  /** Visible servers whose cached tool list has a visible tool of exactly this name (nothing is started). */
  ownersOf(tool: string): string[] {
    return this.sources()
      .filter((source) => this.principal.allows(source.name, tool) && source.cachedTools?.some((t) => t.name === tool))
      .map((source) => source.name);
  }
}
