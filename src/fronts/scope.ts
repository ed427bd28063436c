import type { Server, ServerContext, Tool } from '@modelcontextprotocol/server';
import { allowMatcher, type Principal } from '../access/principal.js';
import { CatalogView, narrowed } from '../access/view.js';
import type { BackendPool } from '../backends/pool.js';
import type { GatewayConfig } from '../config/schema.js';
import type { MetaToolName } from '../meta/definitions.js';
import type { MetaCall } from '../meta/handlers.js';
import type { EventBus } from '../observe/events.js';
import type { ToolIndex } from '../search/rank.js';
import type { SeenUris } from './links.js';
import type { CallOptions } from '../sources/source.js';
import type { Conversations } from './relay.js';

/** What every front shares: the gateway core. Functions are read per request, so a reload applies at once. */
export interface FrontCore {
  pool: BackendPool;
  index: ToolIndex;
  config: () => GatewayConfig;
  events: EventBus;
  invokeLimiter?: MetaCall['invokeLimiter'];
  definitions: () => Record<MetaToolName, Tool>;
  seen: SeenUris;
  conversations: Conversations;
}

/** Which front: /mcp (meta), /mcp/{backend} (passthrough), /mcp/v/{name} (endpoint). */
export type FrontSpec = { kind: 'meta' } | { kind: 'passthrough'; server: string } | { kind: 'endpoint'; name: string };

/** What a front serves, resolved from its spec and the current config. */
export interface FrontScope {
  /** Several backends under one name space (prefixed prompts, surfaced tools) or one backend as it is. */
  aggregate: boolean;
  /** Narrows the principal's view (an endpoint's globs, one backend). */
  allow: (server: string, tool?: string) => boolean;
  /** Tools listed directly beside the meta-tools, as `server__tool` (without `tool`: may this server have any?). */
  surface: (server: string, tool?: string) => boolean;
  surfaced: boolean;
  metaTools: boolean;
}

const NOTHING = () => false;

/** Scopes compiled once per config object (a reload brings a new one), not per request: globs become regexes. */
const compiled = new WeakMap<GatewayConfig, Map<string, FrontScope>>();

export function resolveScope(spec: FrontSpec, config: GatewayConfig): FrontScope {
  const scopes = compiled.get(config) ?? new Map<string, FrontScope>();
  compiled.set(config, scopes);
  const key = spec.kind === 'passthrough' ? `p:${spec.server}` : spec.kind === 'endpoint' ? `e:${spec.name}` : 'm';
  const scope = scopes.get(key) ?? compileScope(spec, config);
  scopes.set(key, scope);
  return scope;
}

function compileScope(spec: FrontSpec, config: GatewayConfig): FrontScope {
  if (spec.kind === 'passthrough')
    return { aggregate: false, allow: (server) => server === spec.server, surface: NOTHING, surfaced: false, metaTools: false };
  if (spec.kind === 'meta') return aggregateScope(() => true, config.surface, true);
  // Own keys only: a name like "constructor" must not find Object.prototype's.
  const endpoint = Object.hasOwn(config.endpoints, spec.name) ? config.endpoints[spec.name] : undefined;
  // An endpoint removed by a reload serves nothing from then on.
  if (!endpoint) return { aggregate: true, allow: NOTHING, surface: NOTHING, surfaced: false, metaTools: false };
  return aggregateScope(allowMatcher(endpoint.allow), endpoint.surface, endpoint.meta_tools);
}

function aggregateScope(allow: FrontScope['allow'], surface: readonly string[], metaTools: boolean): FrontScope {
  return { aggregate: true, allow, surface: surface.length > 0 ? allowMatcher(surface) : NOTHING, surfaced: surface.length > 0, metaTools };
}

/** What a caller sees through a front: its scope and the caller's view through it (no server needed). */
export interface FrontLens {
  readonly core: FrontCore;
  readonly scope: FrontScope;
  readonly view: CatalogView;
}

export function frontLens(core: FrontCore, spec: FrontSpec, principal: Principal): FrontLens {
  const scope = resolveScope(spec, core.config());
  return { core, scope, view: new CatalogView(core.pool, core.index, narrowed(principal, scope.allow)) };
}

/** One front server's per-request state: its scope and the caller's view through it. */
export class FrontRequest implements FrontLens {
  readonly scope: FrontScope;
  readonly view: CatalogView;

  constructor(
    readonly core: FrontCore,
    readonly server: Server,
    spec: FrontSpec,
    principal: Principal,
  ) {
    ({ scope: this.scope, view: this.view } = frontLens(core, spec, principal));
  }

  /**
   * One call forwarded to a backend on behalf of this request's client: the backend's own requests
   * (sampling, elicitation, roots) and logs reach this client, and only this principal may continue it.
   */
  relay<R>(ctx: ServerContext, call: (options: CallOptions) => Promise<R>) {
    return this.core.conversations.run(this.server, ctx, this.view.principal.name, call, !this.scope.aggregate);
  }

  /** The MetaCall that invoke and the other meta-tools run with. */
  metaCall(ctx: ServerContext, forward: MetaCall['forward'] = {}): MetaCall {
    return {
      view: this.view,
      limits: this.core.config().limits,
      events: this.core.events,
      invokeLimiter: this.core.invokeLimiter,
      forward: { ...forward, caller: ctx.sessionId ?? this.view.principal.name },
    };
  }
}
