import { isLoopbackHost } from '../config/exposure.js';
import type { GatewayConfig } from '../config/schema.js';
import { discoverConfig, loadForCli, placeholderEnv } from './config-file.js';

/**
 * `mcp-gateway client-config CLIENT`: what connects a client to this gateway's /mcp. With auth keys, the
 * Authorization header holds a GATEWAY_TOKEN placeholder in the client's own substitution syntax (never a
 * token). Exit codes: 0 printed, 2 usage or config error.
 */
const CLIENTS = ['claude', 'claude-desktop', 'cursor', 'windsurf', 'vscode'] as const;
type Client = (typeof CLIENTS)[number];

export async function runClientConfig(args: string[], options: { config?: string; url?: string }): Promise<number> {
  const client = args[0] as Client | undefined;
  if (!client || !CLIENTS.includes(client) || args.length > 1) {
    process.stderr.write(`mcp-gateway client-config: name one client: ${CLIENTS.join(', ')} (see --help)\n`);
    return 2;
  }
  let url = options.url;
  let needsKey = false;
  let oauth = false;
  // With --url the config is still read when there is one, for its auth; without --url it is needed.
  if (!url || options.config || discoverConfig()) {
    // Only host, port and auth are read: unset variables stand in as placeholders.
    const found = await loadForCli(options.config, placeholderEnv());
    if (typeof found === 'number') return found;
    const config = found.loaded.config;
    needsKey = (config.auth?.keys.length ?? 0) > 0;
    oauth = config.auth?.oauth !== undefined;
    if (!url) {
      if (config.server.port === 0) {
        process.stderr.write('mcp-gateway client-config: server.port is 0 (a free port is picked at start); pass --url\n');
        return 2;
      }
      url = gatewayUrl(config);
    }
  }
  if (!/^https?:\/\//.test(url)) {
    process.stderr.write(`mcp-gateway client-config: --url must be an http(s) URL, not "${url}"\n`);
    return 2;
  }
  const { snippet, note } = SNIPPETS[client](url, needsKey);
  process.stdout.write(`${snippet}\n`);
  process.stderr.write(`${note}\n`);
  if (needsKey && (client === 'claude' || client === 'cursor' || client === 'windsurf'))
    process.stderr.write("Set GATEWAY_TOKEN to one of the gateway's API keys (auth.keys) in the environment the client starts from.\n");
  else if (oauth) process.stderr.write('The gateway takes OAuth access tokens: the client signs in through the issuer itself.\n');
  return 0;
}

/** server.host:port as a client reaches it: a wildcard bind is reached on loopback. */
export function gatewayUrl(config: GatewayConfig): string {
  const host = config.server.host;
  const reach =
    host === '0.0.0.0'
      ? '127.0.0.1'
      : host === '::' || host === '[::]'
        ? '[::1]'
        : host.includes(':') && !host.startsWith('[')
          ? `[${host}]`
          : host;
  return `http://${reach}:${config.server.port}/mcp`;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

const SNIPPETS: Record<Client, (url: string, key: boolean) => { snippet: string; note: string }> = {
  claude: (url, key) => ({
    snippet: `claude mcp add --transport http gateway ${url}${key ? ` --header "Authorization: Bearer \${GATEWAY_TOKEN}"` : ''}`,
    note: 'Run this where Claude Code runs (add --scope user or --scope project to choose where it is saved).',
  }),
  'claude-desktop': (url, key) => {
    // Claude Desktop starts stdio servers from this file; mcp-remote relays them to an HTTP endpoint.
    const args = ['-y', 'mcp-remote', url];
    if (!isLoopbackHost(new URL(url).hostname) && url.startsWith('http:')) args.push('--allow-http');
    if (key) args.push('--header', `Authorization:\${AUTH_HEADER}`);
    const entry = { command: 'npx', args, ...(key ? { env: { AUTH_HEADER: `Bearer \${GATEWAY_TOKEN}` } } : {}) };
    return {
      snippet: json({ mcpServers: { gateway: entry } }),
      note:
        'Merge into claude_desktop_config.json (Settings → Developer → Edit Config). It runs the npm package mcp-remote.' +
        (key ? ` Claude Desktop does not expand variables: replace \${GATEWAY_TOKEN} with the key.` : ''),
    };
  },
  cursor: (url, key) => ({
    snippet: json({ mcpServers: { gateway: { url, ...(key ? { headers: { Authorization: `Bearer \${env:GATEWAY_TOKEN}` } } : {}) } } }),
    note: 'Merge into ~/.cursor/mcp.json (or .cursor/mcp.json in a project).',
  }),
  windsurf: (url, key) => ({
    snippet: json({
      mcpServers: { gateway: { serverUrl: url, ...(key ? { headers: { Authorization: `Bearer \${env:GATEWAY_TOKEN}` } } : {}) } },
    }),
    note: 'Merge into ~/.codeium/windsurf/mcp_config.json.',
  }),
  vscode: (url, key) => ({
    snippet: json({
      servers: { gateway: { type: 'http', url, ...(key ? { headers: { Authorization: `Bearer \${input:gateway-token}` } } : {}) } },
      ...(key ? { inputs: [{ type: 'promptString', id: 'gateway-token', description: 'mcp-gateway API key', password: true }] } : {}),
    }),
    note:
      'Merge into .vscode/mcp.json (or the user mcp.json: "MCP: Open User Configuration").' +
      (key ? ' VS Code asks for the key once.' : ''),
  }),
};
