import { basename, dirname, resolve } from 'node:path';

/**
 * Reading other MCP clients' config files. They agree on a map of server name → entry, found under
 * `mcpServers` (Claude Desktop, Claude Code, Cursor, Windsurf), `servers` (VS Code's mcp.json, beside its
 * `inputs`) or `mcp.servers` (VS Code's settings.json). VS Code's files are JSON with comments.
 */
export interface ClientServers {
  file: string;
  /** Where the entries sit, for messages: "mcpServers", "servers", "mcp.servers". */
  key: string;
  servers: Record<string, Record<string, unknown>>;
  /** VS Code `inputs` by id (prompted values, referenced as `${input:id}`). */
  inputs: Map<string, { description?: string }>;
  /** The folder a project's relative paths and `${workspaceFolder}` meant (the parent of .vscode/.cursor/.windsurf). */
  workspace: string;
}

export function readClientFile(file: string, text: string): ClientServers | string {
  let json: unknown;
  try {
    json = JSON.parse(withoutJsonComments(text));
  } catch (error) {
    return `${file}: not JSON: ${(error as Error).message}`;
  }
  if (!isObject(json)) return `${file}: not a JSON object`;
  const vscodeSettings = isObject(json.mcp) ? json.mcp : undefined;
  const [key, holder] = isObject(json.mcpServers)
    ? ['mcpServers', json]
    : isObject(json.servers)
      ? ['servers', json]
      : vscodeSettings && isObject(vscodeSettings.servers)
        ? ['mcp.servers', vscodeSettings]
        : [undefined, undefined];
  if (!key || !holder) return `${file}: found no \`mcpServers\` or \`servers\` object`;
  const servers: Record<string, Record<string, unknown>> = {};
  for (const [name, entry] of Object.entries(holder[key.split('.').at(-1)!] as Record<string, unknown>)) {
    if (!isObject(entry)) return `${file}: ${key}.${name} is not an object`;
    servers[name] = entry;
  }
  const inputs = new Map<string, { description?: string }>();
  if (Array.isArray(holder.inputs))
    for (const input of holder.inputs)
      if (isObject(input) && typeof input.id === 'string')
        inputs.set(input.id, { description: typeof input.description === 'string' ? input.description : undefined });
  const folder = dirname(resolve(file));
  const workspace = ['.vscode', '.cursor', '.windsurf'].includes(basename(folder)) ? dirname(folder) : folder;
  return { file, key, servers, inputs, workspace };
}

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** JSON with comments (// and /* *\/) and trailing commas → JSON; strings are left as they are. */
export function withoutJsonComments(text: string): string {
  return scanOutsideStrings(scanOutsideStrings(text, dropComment), dropTrailingComma);
}

type Step = (text: string, i: number) => { skipTo: number; put: string } | undefined;

const dropComment: Step = (text, i) => {
  if (text[i] !== '/') return undefined;
  if (text[i + 1] === '/') {
    const end = text.indexOf('\n', i);
    return { skipTo: end === -1 ? text.length : end, put: '' };
  }
  if (text[i + 1] === '*') {
    const end = text.indexOf('*/', i + 2);
    return { skipTo: end === -1 ? text.length : end + 2, put: ' ' };
  }
  return undefined;
};

const dropTrailingComma: Step = (text, i) =>
  text[i] === ',' && /^\s*[}\]]/.test(text.slice(i + 1)) ? { skipTo: i + 1, put: '' } : undefined;

/** Copies `text`, letting `step` replace what starts at a position outside a JSON string. */
function scanOutsideStrings(text: string, step: Step): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      out += text.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    const replaced = step(text, i);
    if (replaced) {
      out += replaced.put;
      i = replaced.skipTo;
    } else out += text[i++];
  }
  return out;
}
