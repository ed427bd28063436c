import type { Prompt, Resource, ResourceTemplateType, Tool } from '@modelcontextprotocol/server';
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

  /**
   * Resources and prompts are scoped by the same `server/…` globs as tools, as `server/resource:URI`
   * and `server/prompt:NAME`: `server` or `server/*` covers them, `server/prompt:*` only the prompts.
   */
  allowsResource(server: string, uri: string): boolean {
    return this.principal.allows(server, `resource:${uri}`);
  }

  allowsPrompt(server: string, name: string): boolean {
    return this.principal.allows(server, `prompt:${name}`);
  }

  visibleResources(source: ToolSource, resources: readonly Resource[]): readonly Resource[] {
    return resources.filter((r) => this.allowsResource(source.name, r.uri));
  }

  visibleTemplates(source: ToolSource, templates: readonly ResourceTemplateType[]): readonly ResourceTemplateType[] {
    return templates.filter((t) => this.allowsResource(source.name, t.uriTemplate));
  }

  visiblePrompts(source: ToolSource, prompts: readonly Prompt[]): readonly Prompt[] {
    return prompts.filter((p) => this.allowsPrompt(source.name, p.name));
  }

  /** A source's status with the tool, resource and prompt counts of what this principal sees. */
  status(source: ToolSource): SourceStatus {
    const status = { ...source.status() };
    if (source.cachedTools) status.tools = this.visibleTools(source, source.cachedTools).length;
    if (source.cachedResources) status.resources = this.visibleResources(source, source.cachedResources).length;
    if (source.cachedPrompts) status.prompts = this.visiblePrompts(source, source.cachedPrompts).length;
    return status;
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

/**
 * A principal that also passes `allow` (an endpoint's globs, or one backend for a passthrough): a front
 * for a narrower view hands this to CatalogView, so the intersection is applied in the same one place.
 */
export function narrowed(principal: Principal, allow: (server: string, tool?: string) => boolean): Principal {
  return {
    name: principal.name,
    admin: principal.admin,
    rateLimit: principal.rateLimit,
    allows: (server, tool) => allow(server, tool) && principal.allows(server, tool),
  };
}
