/**
 * "Which servers look closest?" for a search that found nothing convincing: the model can then browse
 * one of them with list_tools. Servers are ranked by their own name and description, and then by the
 * servers of the query's best (weak) tool hits, so a server without a description can still be named.
 */
import { indexOf, type SearchHit, type ToolIndex } from './rank.js';

export interface ServerInfo {
  name: string;
  description?: string;
}

/** Server indexes by the servers they hold (callers with different views see different sets): built once each. */
const indexes = new Map<string, ToolIndex>();
const INDEXES_MAX = 32;

function serverIndex(servers: readonly ServerInfo[]): ToolIndex {
  const key = JSON.stringify(servers.map((s) => [s.name, s.description ?? '']));
  let index = indexes.get(key);
  if (!index) {
    index = indexOf(servers.map((s) => ({ server: s.name, name: s.name, ...(s.description ? { description: s.description } : {}) })));
    if (indexes.size >= INDEXES_MAX) indexes.clear();
    indexes.set(key, index);
  }
  return index;
}

export function closestServers(query: string, servers: readonly ServerInfo[], hits: readonly SearchHit[], max = 3): ServerInfo[] {
  const byName = new Map(servers.map((s) => [s.name, s]));
  const out: ServerInfo[] = [];
  const push = (name: string) => {
    const s = byName.get(name);
    if (s && out.length < max && !out.includes(s)) out.push(s);
  };
  for (const hit of serverIndex(servers).search(query, { limit: max })) push(hit.server);
  for (const hit of hits) push(hit.server);
  return out;
}
