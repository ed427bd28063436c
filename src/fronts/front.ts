import { Server } from '@modelcontextprotocol/server';
import type { Principal } from '../access/principal.js';
import { GATEWAY_INFO, servedMetaTools } from '../meta/server.js';
import type { ListKind } from '../sources/source.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { type FrontCore, FrontRequest, type FrontSpec, resolveScope } from './scope.js';
import type { SubscriptionHub } from './subscriptions.js';
import { registerTools } from './tools.js';

export type { FrontCore, FrontSpec } from './scope.js';

/**
 * What a client connects to, built in one place whatever the transport: /mcp (meta-tools, surfaced tools,
 * aggregated resources and prompts), /mcp/{backend} (one backend as it is), /mcp/v/{name} (an endpoint's
 * subset) and stdio. A low-level SDK Server, cheap enough to build per request: tools, resources, prompts,
 * completion and logging, each read through the caller's view (`principal` ∩ the front's scope).
 * `principal` answers who sent the request being served (a 2025 session asks it per request).
 */
export function frontFactory(
  core: FrontCore & { subscriptions: SubscriptionHub },
): (spec: FrontSpec, principal: () => Principal) => Server {
  const metaTools = servedMetaTools(core.definitions);
  return (spec, principal) => {
    const server = new Server(GATEWAY_INFO, {
      capabilities: {
        tools: { listChanged: true },
        resources: { listChanged: true, subscribe: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {},
      },
      instructions: instructions(core, spec),
    });
    const request = () => new FrontRequest(core, server, spec, principal());
    registerTools(server, request, metaTools);
    registerResources(server, request, core.subscriptions.forServer(server));
    registerPrompts(server, request);
    return server;
  };
}

function instructions(core: FrontCore, spec: FrontSpec): string | undefined {
  if (!resolveScope(spec, core.config()).metaTools) return undefined;
  const wire = core.definitions();
  return `This gateway fronts several MCP servers. Use ${wire.search_tools.name} to find a tool for a task, then ${wire.invoke.name} it with the exact server and tool names.`;
}

/** Tell one live front server that a list changed (sessions and stdio; 2026 listeners go through the SDK's notifier). */
export async function notifyListChanged(server: Server, kind: ListKind): Promise<void> {
  if (kind === 'tools') await server.sendToolListChanged();
  else if (kind === 'resources') await server.sendResourceListChanged();
  else await server.sendPromptListChanged();
}
