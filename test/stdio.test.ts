import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CallResult, eventually, fixtureBackend, repoRoot, tsxLoader } from './helpers.js';
import { argv, descendants, isLive } from './procfs.js';

/**
 * `mcp-gateway stdio`: real SDK stdio clients (v1, v2 in both eras) launch the CLI, as Claude Desktop
 * does; the gateway must speak only MCP on stdout and end itself and every backend when its stdin
 * closes or its parent dies (even by SIGKILL, even when stdin stays open).
 */

const parentScript = fileURLToPath(new URL('./fixtures/stdio-parent.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gw-stdio-'));
const gatewayArgs = (config: string) => ['--import', tsxLoader, `${repoRoot}/src/cli.ts`, 'stdio', '--config', config];

/** Processes a case may leave if it fails: ended afterwards, checked by command line so a reused pid is never hit. */
const leftovers = new Map<number, string>();
const remember = (pid: number) => leftovers.set(pid, argv(pid).join(' '));
afterEach(() => {
  for (const [pid, cmd] of leftovers) {
    try {
      if (isLive(pid) && argv(pid).join(' ') === cmd) process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  leftovers.clear();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let configs = 0;
function writeConfig(backends: Record<string, unknown>): string {
  const file = join(dir, `gateway-${++configs}.yaml`);
  writeFileSync(file, JSON.stringify({ backends }));
  return file;
}

/** Collects a stream's lines (the gateway's JSON log lines on stderr). */
function lines(stream: Readable | null): string[] {
  const seen: string[] = [];
  if (stream) createInterface({ input: stream }).on('line', (line) => seen.push(line));
  return seen;
}

interface StdioClient {
  pid: number;
  stderr: string[];
  call(name: string, args?: Record<string, unknown>): Promise<CallResult>;
  toolNames(): Promise<string[]>;
  close(): Promise<void>;
}

type Kind = 'v1' | 'v2-2025' | 'v2-2026';

/** A real SDK client whose transport launches `command args` and speaks MCP on its stdin/stdout. */
async function launchClient(kind: Kind, command: string, args: string[]): Promise<StdioClient> {
  const params = { command, args, cwd: repoRoot, stderr: 'pipe' as const };
  const info = { name: `stdio-${kind}`, version: '1.0.0' };
  if (kind === 'v1') {
    const transport = new StdioV1(params);
    const stderr = lines(transport.stderr as Readable);
    const client = new ClientV1(info);
    await client.connect(transport);
    return {
      pid: transport.pid!,
      stderr,
      call: async (name, args) => (await client.callTool({ name, arguments: args ?? {} }, CallToolResultSchema)) as CallResult,
      toolNames: async () => (await client.listTools()).tools.map((t) => t.name),
      close: () => client.close(),
    };
  }
  const transport = new StdioV2(params);
  const stderr = lines(transport.stderr as Readable);
  const client = new ClientV2(info, { versionNegotiation: { mode: kind === 'v2-2026' ? { pin: '2026-07-28' } : 'legacy' } });
  await client.connect(transport);
  return {
    pid: transport.pid!,
    stderr,
    call: async (name, args) => (await client.callTool({ name, arguments: args ?? {} })) as CallResult,
    toolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    close: () => client.close(),
  };
}

/** The backend's own pid, asked through the gateway. */
async function backendPid(client: StdioClient): Promise<number> {
  const result = await client.call('invoke', { server: 'fx', tool: 'pid' });
  const pid = (result.structuredContent as { pid?: number } | undefined)?.pid;
  expect(pid, JSON.stringify(result)).toBeTypeOf('number');
  remember(pid!);
  return pid!;
}

const gone = (pids: number[], what: string) => eventually(() => pids.every((pid) => !isLive(pid)), what, 150);

describe.each<Kind>(['v1', 'v2-2025', 'v2-2026'])('stdio mode, %s client', (kind) => {
  it('serves the meta-tools, lists, searches and invokes a backend, and exits with it when stdin closes', async () => {
    const config = writeConfig({ fx: fixtureBackend() });
    const client = await launchClient(kind, process.execPath, gatewayArgs(config));
    remember(client.pid);
    expect((await client.toolNames()).sort()).toEqual(['invoke', 'list_servers', 'list_tools', 'search_tools']);

    // list_tools waits for the backend to start; search_tools waits only 750 ms for one that is starting.
    const listed = await client.call('list_tools', { server: 'fx' });
    expect((listed.structuredContent?.tools as Array<{ name: string }>).map((t) => t.name)).toContain('pid');
    const search = await client.call('search_tools', { query: 'echo' });
    const results = search.structuredContent?.results as Array<{ server: string; tool: string }>;
    expect(results[0]).toMatchObject({ server: 'fx', tool: 'echo' });
    const echoed = await client.call('invoke', { server: 'fx', tool: 'echo', arguments: { hello: 'stdio' } });
    expect(echoed.structuredContent).toEqual({ echoed: { hello: 'stdio' } });
    const servers = (await client.call('list_servers')).structuredContent?.servers as Array<{ name: string; state: string }>;
    expect(servers).toEqual([expect.objectContaining({ name: 'fx', state: 'ready' })]);
    const backend = await backendPid(client);
    const gateway = client.pid;

    await client.close();
    await gone([gateway, backend], 'the gateway and its backend exit');
    // It stopped because stdin closed, not because the client's close fell back to SIGTERM.
    expect(client.stderr.join('\n')).toContain('"reason":"stdin closed"');
  });
});

describe('stdio mode output and lifetime', () => {
  it('writes nothing but JSON-RPC to stdout; logs, the backend stderr included, go to stderr', async () => {
    const config = writeConfig({ fx: fixtureBackend() });
    const child = spawn(process.execPath, gatewayArgs(config), { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    remember(child.pid!);
    const stdout = lines(child.stdout);
    const stderr = lines(child.stderr);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await eventually(() => stdout.length >= 1, 'the initialize answer');
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_servers', arguments: {} } });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'invoke', arguments: { server: 'fx', tool: 'pid' } } });
    await eventually(() => stdout.length >= 3, 'three answers');
    await eventually(() => stderr.some((line) => line.includes('[fixture:fixture] ready')), "the backend's stderr in the log");

    const messages = stdout.map((line) => JSON.parse(line) as { jsonrpc: string; id?: number; result?: CallResult });
    expect(messages.every((m) => m.jsonrpc === '2.0')).toBe(true);
    const backend = (messages.find((m) => m.id === 3)?.result?.structuredContent as { pid: number }).pid;
    remember(backend);
    expect(stderr.every((line) => JSON.parse(line).level !== undefined)).toBe(true);

    child.stdin.end();
    expect(await exited).toBe(0);
    await gone([backend], 'the backend exits');
  });

  it('ends itself and its backend when its parent (the client) is SIGKILLed', async () => {
    const config = writeConfig({ fx: fixtureBackend() });
    const client = await launchClient('v1', process.execPath, [parentScript, 'relay', process.execPath, ...gatewayArgs(config)]);
    remember(client.pid);
    const backend = await backendPid(client);
    const gateway = descendants(client.pid).find((pid) => argv(pid).includes('stdio'));
    expect(gateway).toBeDefined();
    remember(gateway!);

    process.kill(client.pid, 'SIGKILL');
    await gone([gateway!, backend], 'the gateway and its backend exit after the parent was killed');
    await client.close().catch(() => {});
  });

  it('notices a dead parent even when its stdin stays open (held by another process)', async () => {
    const config = writeConfig({ fx: fixtureBackend() });
    // A sibling of the gateway holds its stdin open: no EOF comes when the parent dies.
    const client = await launchClient('v1', process.execPath, [parentScript, 'relay-held', process.execPath, ...gatewayArgs(config)]);
    remember(client.pid);
    const backend = await backendPid(client);
    const children = descendants(client.pid);
    const gateway = children.find((pid) => argv(pid).includes('stdio'));
    const holder = children.find((pid) => argv(pid).includes('--stdin-holder'));
    expect(gateway).toBeDefined();
    expect(holder).toBeDefined();
    remember(gateway!);
    remember(holder!);

    process.kill(client.pid, 'SIGKILL');
    await gone([gateway!, backend], 'the gateway and its backend exit after the parent was killed');
    expect(client.stderr.join('\n')).toContain('"reason":"parent exited"');
    expect(isLive(holder!)).toBe(true);
    process.kill(holder!, 'SIGKILL');
    await client.close().catch(() => {});
  });

  it('reloads the config when the file changes and tells the client the tools changed', async () => {
    const config = writeConfig({ fx: fixtureBackend() });
    const transport = new StdioV1({ command: process.execPath, args: gatewayArgs(config), cwd: repoRoot, stderr: 'pipe' });
    const client = new ClientV1({ name: 'stdio-reload', version: '1.0.0' });
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    await client.connect(transport);
    remember(transport.pid!);
    await client.listTools();

    writeFileSync(config, JSON.stringify({ backends: { fx: fixtureBackend(), fy: fixtureBackend(['--name', 'fy']) } }));
    await eventually(() => changed > 0, 'notifications/tools/list_changed after the reload');
    const listed = (await client.callTool({ name: 'list_servers', arguments: {} }, CallToolResultSchema)) as CallResult;
    const servers = listed.structuredContent?.servers as Array<{ name: string }>;
    expect(servers.map((s) => s.name).sort()).toEqual(['fx', 'fy']);
    await client.close();
  });
});
