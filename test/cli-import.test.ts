import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { runCli } from './helpers.js';

const GITHUB_PAT = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const DOCS_KEY = 'sk-live-abcdef0123456789';

/** One file per client format, as each writes it. */
function clientFiles(dir: string) {
  const claude = join(dir, 'claude_desktop_config.json');
  writeFileSync(
    claude,
    JSON.stringify({
      mcpServers: {
        github: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'], env: { GITHUB_PERSONAL_ACCESS_TOKEN: GITHUB_PAT } },
        memory: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-memory'],
          env: { MEMORY_FILE_PATH: '/var/mem.jsonl' },
          autoApprove: ['read_graph'],
        },
        existing: { command: 'other' },
      },
    }),
  );
  const claudeCode = join(dir, '.mcp.json');
  writeFileSync(
    claudeCode,
    JSON.stringify({
      mcpServers: {
        docs: {
          type: 'http',
          url: 'https://docs.example/mcp',
          headers: { Authorization: `Bearer ${DOCS_KEY}`, 'X-Team': '${TEAM:-core}' },
        },
      },
    }),
  );
  const cursor = join(dir, 'cursor-mcp.json');
  writeFileSync(
    cursor,
    JSON.stringify({ mcpServers: { search: { url: 'https://search.example/mcp', headers: { 'X-Api-Key': '${env:SEARCH_KEY}' } } } }),
  );
  const windsurf = join(dir, 'mcp_config.json');
  writeFileSync(windsurf, JSON.stringify({ mcpServers: { legacy: { serverUrl: 'https://legacy.example/sse', disabled: true } } }));
  mkdirSync(join(dir, 'project', '.vscode'), { recursive: true });
  const vscode = join(dir, 'project', '.vscode', 'mcp.json');
  writeFileSync(
    vscode,
    `{
  // VS Code: JSON with comments and trailing commas
  "inputs": [{ "type": "promptString", "id": "perplexity-key", "description": "Perplexity API key", "password": true }],
  "servers": {
    "perplexity": { "type": "stdio", "command": "npx", "args": ["-y", "server-perplexity", "./notes"], "env": { "PERPLEXITY_API_KEY": "\${input:perplexity-key}" }, },
  },
}`,
  );
  return [claude, claudeCode, cursor, windsurf, vscode];
}

const GATEWAY_YAML = `# my gateway: comments stay
server:
  port: 39400 # the port

backends:
  # hand-written
  existing:
    command: node
`;

describe('mcp-gateway import', () => {
  it('--dry-run prints the merged gateway.yaml with placeholders, lists the variables to set and prints no secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-import-'));
    const target = join(dir, 'gateway.yaml');
    writeFileSync(target, GATEWAY_YAML);
    const run = await runCli(['import', ...clientFiles(dir), '--config', target, '--dry-run']);
    expect(run.stderr).not.toContain(GITHUB_PAT);
    expect(run.stdout).not.toContain(GITHUB_PAT);
    expect(run.stderr + run.stdout).not.toContain(DOCS_KEY);
    expect(run.code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe(GATEWAY_YAML);
    expect(run.stdout.startsWith(`${GATEWAY_YAML}  github:`)).toBe(true);
    expect(run.stderr).toContain(`skipped existing from ${dir}/claude_desktop_config.json: a backend of that name exists in ${target}`);
    expect(run.stderr).toContain("mcpServers.memory.autoApprove left out: not needed: the client approves the gateway's tools");
    expect(run.stderr).toContain('would add github, memory, docs, search, legacy, perplexity');
    for (const variable of ['GITHUB_PERSONAL_ACCESS_TOKEN', 'DOCS_TOKEN', 'SEARCH_KEY', 'PERPLEXITY_KEY'])
      expect(run.stderr).toContain(`  ${variable}: `);
    expect(run.stderr).toContain('PERPLEXITY_KEY: was VS Code input "perplexity-key" (Perplexity API key)');
    expect(run.stderr).not.toContain('TEAM:');

    const env = { GITHUB_PERSONAL_ACCESS_TOKEN: 'gh-from-env', DOCS_TOKEN: 'docs-from-env', SEARCH_KEY: 'k', PERPLEXITY_KEY: 'p' };
    const config = parseConfig(run.stdout, { file: target, env });
    expect(config.backends.github).toMatchObject({ kind: 'stdio', command: 'npx', env: { GITHUB_PERSONAL_ACCESS_TOKEN: 'gh-from-env' } });
    expect(config.backends.memory).toMatchObject({ env: { MEMORY_FILE_PATH: '/var/mem.jsonl' } });
    expect(config.backends.docs).toMatchObject({
      kind: 'http',
      transport: 'streamable-http',
      headers: { Authorization: 'Bearer docs-from-env', 'X-Team': 'core' },
    });
    expect(config.backends.search).toMatchObject({ transport: 'auto', headers: { 'X-Api-Key': 'k' } });
    expect(config.backends.legacy).toMatchObject({ url: 'https://legacy.example/sse', enabled: false });
    // The VS Code project's ./notes meant its workspace folder, not gateway.yaml's.
    expect(config.backends.perplexity).toMatchObject({
      args: ['-y', 'server-perplexity', join(dir, 'project', 'notes')],
      env: { PERPLEXITY_API_KEY: 'p' },
    });
  });

  it('writes the file, keeping its comments, and skips what it already added', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-import-'));
    const target = join(dir, 'gateway.yaml');
    writeFileSync(target, GATEWAY_YAML);
    const [claude] = clientFiles(dir);
    const first = await runCli(['import', claude!, '--config', target]);
    expect(first.code).toBe(0);
    const written = readFileSync(target, 'utf8');
    expect(written).toContain('# my gateway: comments stay\n');
    expect(written).toContain('port: 39400 # the port');
    expect(written).toContain('  # hand-written\n  existing:\n    command: node\n');
    expect(written).toContain('GITHUB_PERSONAL_ACCESS_TOKEN: ${GITHUB_PERSONAL_ACCESS_TOKEN}');
    expect(written).not.toContain(GITHUB_PAT);
    const again = await runCli(['import', claude!, '--config', target]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('skipped github');
    expect(again.stderr).toContain(`nothing to add to ${target}`);
    expect(readFileSync(target, 'utf8')).toBe(written);
  });

  it('exits 2 for a file it cannot read as a client config, and for no files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-import-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "mcpServers": ');
    const target = join(dir, 'gateway.yaml');
    const run = await runCli(['import', bad, join(dir, 'other.json'), '--config', target]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${bad}: not JSON`);
    writeFileSync(bad, '{ "settings": {} }');
    expect((await runCli(['import', bad, '--config', target])).stderr).toContain('found no `mcpServers` or `servers` object');
    expect((await runCli(['import', '--config', target])).code).toBe(2);
  });
});
