import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from './procfs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import { connectClient, errorOf, type FrontClient, repoRoot, startTestGateway } from './helpers.js';

/**
 * Non-stdio backends: the reference "everything" server run by the test as a Streamable HTTP server
 * and as a legacy HTTP+SSE server. Its dist code serves `POST/GET/DELETE /mcp` (streamableHttp) and
 * `GET /sse` + `POST /message` (sse), on `PORT`, on every interface; the tests only use 127.0.0.1.
 */
const everythingEntry = `${repoRoot}/node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

interface EverythingServer {
  child: ChildProcess;
  port: number;
  output: () => string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startEverything(mode: 'streamableHttp' | 'sse'): Promise<EverythingServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [everythingEntry, mode], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const server = { child, port, output: () => output };
  // Up when it answers any HTTP request on 127.0.0.1.
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`everything ${mode} exited with ${child.exitCode}: ${output}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return server;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stopChild(child);
  throw new Error(`everything ${mode} never accepted connections on ${port}: ${output}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

interface ServerStatus {
  name: string;
  transport: string;
  state: string;
  tools: number | null;
  error?: string;
}

describe('HTTP backends: Streamable HTTP, legacy SSE, SSE fallback, unreachable', () => {
  const servers: EverythingServer[] = [];
  let gateway: RunningGateway | undefined;
  let client: FrontClient | undefined;
  let closedPort: number;

  beforeAll(async () => {
    const [streamable, sse] = await Promise.all([startEverything('streamableHttp'), startEverything('sse')]);
    servers.push(streamable, sse);
    closedPort = await freePort();
    gateway = await startTestGateway({
      backends: {
        http: { url: `http://127.0.0.1:${streamable.port}/mcp` },
        sse: { url: `http://127.0.0.1:${sse.port}/sse`, transport: 'sse' },
        sse_auto: { url: `http://127.0.0.1:${sse.port}/sse` },
        dead: { url: `http://127.0.0.1:${closedPort}/mcp`, connect_timeout_ms: 10_000 },
      },
    });
    client = await connectClient('v2-2025', gateway.url);
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await Promise.all(servers.map((s) => stopChild(s.child)));
    for (const s of servers) expect(isAlive(s.child.pid!), `everything server pid ${s.child.pid} is gone`).toBe(false);
  });

  const listServers = async (): Promise<ServerStatus[]> => {
    const result = await client!.call('list_servers');
    expect(result.isError).toBeFalsy();
    return (result.structuredContent as { servers: ServerStatus[] }).servers;
  };
  const statusOf = async (name: string) => (await listServers()).find((s) => s.name === name);

  it.each([
    { backend: 'http', transport: 'streamable-http' },
    { backend: 'sse', transport: 'sse' },
    { backend: 'sse_auto', transport: 'sse' },
  ])('$backend: lists its tools, round-trips echo, and reports transport $transport', async ({ backend, transport }) => {
    const listed = await client!.call('list_tools', { server: backend });
    expect(listed.isError, JSON.stringify(listed.content)).toBeFalsy();
    const tools = (listed.structuredContent as { server: string; tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(listed.structuredContent).toMatchObject({ server: backend });
    expect(tools).toContain('echo');

    const echoed = await client!.call('invoke', { server: backend, tool: 'echo', arguments: { message: 'hi ✓' } });
    expect(echoed.isError, JSON.stringify(echoed.content)).toBeFalsy();
    expect(echoed.content).toEqual([{ type: 'text', text: 'Echo: hi ✓' }]);

    expect(await statusOf(backend)).toMatchObject({ name: backend, state: 'ready', transport, tools: tools.length });
  });

  it('an SSE backend without `transport` falls back from Streamable HTTP to SSE', async () => {
    const backend = gateway!.pool.get('sse_auto')!;
    await backend.listTools();
    expect(backend.status()).toMatchObject({ state: 'ready', transport: 'sse' });
    // The explicit one never tried Streamable HTTP and the Streamable one never fell back.
    expect(gateway!.pool.get('sse')!.status().transport).toBe('sse');
    await gateway!.pool.get('http')!.listTools();
    expect(gateway!.pool.get('http')!.status().transport).toBe('streamable-http');
  });

  it('a backend on a closed port is in error, listed as unavailable, and the others keep working', async () => {
    const dead = await statusOf('dead');
    expect(dead).toMatchObject({ name: 'dead', state: 'error', tools: null });
    expect(dead!.error).toEqual(expect.any(String));
    expect(dead!.error!.length).toBeGreaterThan(0);

    const search = await client!.call('search_tools', { query: 'echo a message back' });
    expect(search.isError).toBeFalsy();
    const data = search.structuredContent as { results: Array<{ server: string; tool: string }>; unavailable?: unknown[] };
    expect(data.unavailable).toEqual([expect.objectContaining({ server: 'dead' })]);
    expect(data.results.some((r) => r.tool === 'echo')).toBe(true);
    expect(data.results.every((r) => r.server !== 'dead')).toBe(true);

    const invokeDead = await client!.call('invoke', { server: 'dead', tool: 'echo', arguments: { message: 'x' } });
    expect(invokeDead.isError).toBe(true);
    expect(errorOf(invokeDead)).toMatchObject({ code: 'backend_unavailable', server: 'dead' });

    for (const backend of ['http', 'sse', 'sse_auto']) {
      const echoed = await client!.call('invoke', { server: backend, tool: 'echo', arguments: { message: `still ${backend}` } });
      expect(echoed.isError, `${backend}: ${JSON.stringify(echoed.content)}`).toBeFalsy();
      expect(echoed.content).toEqual([{ type: 'text', text: `Echo: still ${backend}` }]);
    }
    expect(await statusOf('dead')).toMatchObject({ state: 'error' });
  });
});
