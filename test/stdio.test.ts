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
import { CallToolResultSchema, CreateMessageRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CallResult, eventually, fixtureBackend, repoRoot, tsxLoader } from './helpers.js';
import { argv, descendants, isLive } from './procfs.js';

/**
 * `mcp-gateway stdio`: real SDK stdio clients (v1, v2 in both eras) launch the CLI, as Claude Desktop
 * does; the gateway must speak only MCP on stdout and end itself and every backend when its stdin
 * closes or its parent dies (even by SIGKILL, even when stdin stays open).
 */

const parentScript = fileURLToPath(new URL('./fixtures/stdio-parent.mjs', import.meta.url));
const conformanceFixture = fileURLToPath(new URL('./fixtures/conformance-server.mjs', import.meta.url));
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
  resourceUris(): Promise<string[]>;
  readText(uri: string): Promise<string | undefined>;
  promptNames(): Promise<string[]>;
  promptText(name: string, args?: Record<string, string>): Promise<string | undefined>;
  close(): Promise<void>;
}

/** The client's sampling answer: a test can see the backend's request went all the way to the client and back. */
const sampled = (prompt: string) => ({
  role: 'assistant' as const,
  model: 'stdio-test',
  content: { type: 'text' as const, text: `sampled: ${prompt}` },
});
const promptOf = (request: { params: { messages: Array<{ content: unknown }> } }) =>
  String((request.params.messages[0]?.content as { text?: string } | undefined)?.text);
const firstText = (items: Array<Record<string, unknown>> | undefined) =>
  items?.map((m) => (m.content as { text?: string }).text).find(Boolean);

type Kind = 'v1' | 'v2-2025' | 'v2-2026';

/** A real SDK client whose transport launches `command args` and speaks MCP on its stdin/stdout. */
async function launchClient(kind: Kind, command: string, args: string[]): Promise<StdioClient> {
  const params = { command, args, cwd: repoRoot, stderr: 'pipe' as const };
  const info = { name: `stdio-${kind}`, version: '1.0.0' };
  if (kind === 'v1') {
    const transport = new StdioV1(params);
    const stderr = lines(transport.stderr as Readable);
    const client = new ClientV1(info, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, (request) => sampled(promptOf(request)));
    await client.connect(transport);
    return {
      pid: transport.pid!,
      stderr,
      call: async (name, args) => (await client.callTool({ name, arguments: args ?? {} }, CallToolResultSchema)) as CallResult,
      toolNames: async () => (await client.listTools()).tools.map((t) => t.name),
      resourceUris: async () => (await client.listResources()).resources.map((r) => r.uri),
      readText: async (uri) => ((await client.readResource({ uri })).contents[0] as { text?: string } | undefined)?.text,
      promptNames: async () => (await client.listPrompts()).prompts.map((p) => p.name),
      promptText: async (name, args) => firstText((await client.getPrompt({ name, arguments: args })).messages),
      close: () => client.close(),
    };
  }
  const transport = new StdioV2(params);
  const stderr = lines(transport.stderr as Readable);
  const client = new ClientV2(info, {
    capabilities: { sampling: {} },
    versionNegotiation: { mode: kind === 'v2-2026' ? { pin: '2026-07-28' } : 'legacy' },
  });
  client.setRequestHandler('sampling/createMessage', (request) => sampled(promptOf(request)));
  await client.connect(transport);
  return {
    pid: transport.pid!,
    stderr,
    call: async (name, args) => (await client.callTool({ name, arguments: args ?? {} })) as CallResult,
    toolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    resourceUris: async () => (await client.listResources()).resources.map((r) => r.uri),
    readText: async (uri) => ((await client.readResource({ uri })).contents[0] as { text?: string } | undefined)?.text,
    promptNames: async () => (await client.listPrompts()).prompts.map((p) => p.name),
    promptText: async (name, args) => firstText((await client.getPrompt({ name, arguments: args })).messages),
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

/** The conformance fixture (an HTTP backend with resources, prompts and a sampling tool), started once. */
let conformance: { url: string; pid: number } | undefined;
beforeAll(async () => {
  const child = spawn(process.execPath, [conformanceFixture], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const ready = /ready pid=\d+ url=(\S+)/.exec(line);
      if (ready) resolve(ready[1]!);
    });
    child.once('exit', (code) => reject(new Error(`conformance fixture exited with ${code}`)));
  });
  conformance = { url, pid: child.pid! };
});
afterAll(() => {
  if (conformance && isLive(conformance.pid)) process.kill(conformance.pid, 'SIGTERM');
});

describe.each<Kind>(['v1', 'v2-2025', 'v2-2026'])('stdio mode, %s client, the whole front', (kind) => {
  it("serves a backend's resources and prompts, and relays its sampling request to the client", async () => {
    const config = writeConfig({ conf: { url: conformance!.url } });
    const client = await launchClient(kind, process.execPath, gatewayArgs(config));
    remember(client.pid);
    expect(await client.resourceUris()).toContain('test://static-text');
    expect(await client.readText('test://static-text')).toBe('This is the content of the static text resource.');
    expect(await client.promptNames()).toContain('conf__test_simple_prompt');
    expect(await client.promptText('conf__test_prompt_with_arguments', { arg1: 'a', arg2: 'b' })).toBe(
      "Prompt with arguments: arg1='a', arg2='b'",
    );
    // The gateway speaks 2026-07-28 to this backend, whose tool then asks for sampling with input_required.
    const result = await client.call('invoke', { server: 'conf', tool: 'test_input_required_result_sampling' });
    expect(result.content?.[0]?.text).toBe('The model said: sampled: What is the capital of France?');
    await client.close();
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
