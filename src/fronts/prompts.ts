import { type CompleteRequestParams, ProtocolError, ProtocolErrorCode, type Server } from '@modelcontextprotocol/server';
import type { ToolSource } from '../sources/source.js';
import { parseGatewayUri, qualifiedName, splitQualified } from './names.js';
import { passOn, visibleLists } from './resources.js';
import type { FrontRequest } from './scope.js';

/**
 * prompts/list and prompts/get (aggregating fronts name prompts `server__prompt`), and completion/complete
 * for prompt arguments and resource-template arguments, forwarded to the backend that owns the reference.
 */
export function registerPrompts(server: Server, request: () => FrontRequest): void {
  server.setRequestHandler('prompts/list', async () => {
    const front = request();
    const lists = await visibleLists(front, (source, view) => view.visiblePrompts(source, source.cachedPrompts ?? []));
    return {
      prompts: lists.flatMap(({ source, items }) =>
        front.scope.aggregate ? items.map((p) => ({ ...p, name: qualifiedName(source.name, p.name) })) : items,
      ),
    };
  });

  server.setRequestHandler('prompts/get', async (get, ctx) => {
    const front = request();
    const target = resolvePrompt(front, get.params.name);
    return front.relay(ctx, async (options) => {
      try {
        const result = await target.source.getPrompt!(target.name, get.params.arguments, options);
        front.core.seen.record(target.source.name, result);
        return result;
      } catch (error) {
        throw passOn(error);
      }
    });
  });

  server.setRequestHandler('completion/complete', async (complete) => {
    const front = request();
    const { ref } = complete.params;
    let target: { source: ToolSource; params: CompleteRequestParams };
    if (ref.type === 'ref/prompt') {
      const prompt = resolvePrompt(front, ref.name);
      target = { source: prompt.source, params: { ...complete.params, ref: { ...ref, name: prompt.name } } };
    } else {
      const template = resolveTemplate(front, ref.uri);
      target = { source: template.source, params: { ...complete.params, ref: { ...ref, uri: template.uri } } };
    }
    if (!target.source.complete) return { completion: { values: [] } };
    try {
      return await target.source.complete(target.params, { signal: new AbortController().signal });
    } catch (error) {
      throw passOn(error);
    }
  });
}

function resolvePrompt(front: FrontRequest, wire: string): { source: ToolSource; name: string } {
  const { view } = front;
  const target = front.scope.aggregate ? splitQualified(wire, view.names()) : { server: view.names()[0] ?? '', name: wire };
  const source = target && view.get(target.server);
  const listed = source?.cachedPrompts;
  if (
    !target ||
    !source?.getPrompt ||
    !view.allowsPrompt(source.name, target.name) ||
    (listed && !listed.some((p) => p.name === target.name))
  )
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${wire}`);
  return { source, name: target.name };
}

/** The backend that lists this template (its own form, or `mcpgw://{server}/{template}`). */
function resolveTemplate(front: FrontRequest, wire: string): { source: ToolSource; uri: string } {
  const { view } = front;
  const qualified = front.scope.aggregate ? parseGatewayUri(wire) : undefined;
  const uri = qualified?.uri ?? wire;
  const owners = (qualified ? [view.get(qualified.server)] : view.sources()).filter(
    (source): source is ToolSource =>
      !!source &&
      view.allowsResource(source.name, uri) &&
      !!(source.cachedResourceTemplates?.some((t) => t.uriTemplate === uri) || source.cachedResources?.some((r) => r.uri === uri)),
  );
  if (owners.length !== 1)
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      owners.length === 0 ? `Unknown resource template: ${wire}` : `Ambiguous: ${wire}`,
    );
  return { source: owners[0]!, uri };
}
