import { type ChildProcess, spawn } from 'node:child_process';
import { descendants, isLive } from './procfs.js';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, eventually, type FrontClient, repoRoot, runCli } from './helpers.js';

/**
 * The shipped gateway.yaml, UNCHANGED, served by the built CLI bundle as `npm start` runs it, with its
 * three npm reference servers started directly with node. The memory backend writes ./data/memory.jsonl
 * and the filesystem backend ./data; what this test writes there it removes again.
 */

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

const RUN = `shipped-test-${process.pid}-${Date.now().toString(36)}`;
const dataDir = join(repoRoot, 'data');
const memoryFile = join(dataDir, 'memory.jsonl');
const scratchFile = join(dataDir, `${RUN}.txt`);

describe('the shipped gateway.yaml', () => {
  const memoryFileExisted = existsSync(memoryFile);
  let cli: ChildProcess | undefined;
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let url: string;
  let client: FrontClient | undefined;
  const logLines: LogLine[] = [];
  const stderrText: string[] = [];

  beforeAll(async () => {
    // The built bundle, as `npm start` runs it (npm install builds dist/ in its prepare step).
    const env = { ...process.env };
    delete env.MEMORY_FILE_PATH; // the shipped default, ./data/memory.jsonl
    const child = spawn(process.execPath, ['dist/cli.js', '--config', 'gateway.yaml', '--port', '0'], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    cli = child;
    exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stderr! });
      lines.on('line', (line) => {
        stderrText.push(line);
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          return; // not a pino line (e.g. a warning from node or npm)
        }
        logLines.push(parsed);
        const msg = parsed.msg ?? '';
        if (msg.startsWith('mcp-gateway serving http://127.0.0.1:')) resolve(msg.slice('mcp-gateway serving '.length));
      });
      child.once('exit', (code) => reject(new Error(`the CLI exited with ${code} before serving:\n${stderrText.join('\n')}`)));
    });
    client = await connectClient('v2-2026', url);
  });

  afterAll(async () => {
    if (client)
      await client.call('invoke', { server: 'memory', tool: 'delete_entities', arguments: { entityNames: [RUN] } }).catch(() => {});
    await client?.close().catch(() => {});
    if (cli && cli.exitCode === null && cli.signalCode === null) {
      cli.kill('SIGKILL');
      await exit;
    }
    rmSync(scratchFile, { force: true });
    if (!memoryFileExisted) rmSync(memoryFile, { force: true });
  });

  it('serves on the loopback address it logged', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
  });

  it('finds a filesystem tool for "read a text file" among the top 3', async () => {
    // The first searches may answer before the three servers have listed their tools (they are named
    // `unavailable`, state `starting`); each start goes on in the background.
    const data = await eventually(async () => {
      const result = await client!.call('search_tools', { query: 'read a text file' });
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      const found = result.structuredContent as { results: Array<{ server: string; tool: string }>; unavailable?: unknown[] };
      return found.unavailable === undefined && found;
    }, 'a search with every backend listed');
    expect(data.results.slice(0, 3).map((r) => r.server)).toContain('filesystem');
  });

  it('ranks memory/create_entities first for "create entities in the knowledge graph"', async () => {
    const result = await client!.call('search_tools', { query: 'create entities in the knowledge graph' });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const data = result.structuredContent as { results: Array<{ server: string; tool: string }> };
    expect(data.results[0]).toMatchObject({ server: 'memory', tool: 'create_entities' });
  });

  it('memory writes an entity to ./data/memory.jsonl and reads it back', async () => {
    const entity = { name: RUN, entityType: 'test', observations: ['written by the shipped-config test'] };
    const created = await client!.call('invoke', { server: 'memory', tool: 'create_entities', arguments: { entities: [entity] } });
    expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
    const graph = await client!.call('invoke', { server: 'memory', tool: 'read_graph', arguments: {} });
    expect(graph.isError, JSON.stringify(graph.content)).toBeFalsy();
    expect(String(graph.content?.[0]?.text)).toContain(RUN);
    // In the repository's data/ folder, not under node_modules where the server's package lives.
    expect(readFileSync(memoryFile, 'utf8')).toContain(RUN);
  });

  it('filesystem writes a file in ./data and reads it back', async () => {
    const content = `hello from ${RUN}\n`;
    const written = await client!.call('invoke', { server: 'filesystem', tool: 'write_file', arguments: { path: scratchFile, content } });
    expect(written.isError, JSON.stringify(written.content)).toBeFalsy();
    expect(readFileSync(scratchFile, 'utf8')).toBe(content);
    const read = await client!.call('invoke', { server: 'filesystem', tool: 'read_text_file', arguments: { path: scratchFile } });
    expect(read.isError, JSON.stringify(read.content)).toBeFalsy();
    expect(read.content?.[0]?.text).toBe(content);
  });

  it('starts each reference server directly with node from node_modules, not through npx', () => {
    const servers = descendants(cli!.pid!).map(cmdline);
    for (const name of ['everything', 'memory', 'filesystem']) {
      const bin = join(repoRoot, 'node_modules', '@modelcontextprotocol', `server-${name}`, 'dist', 'index.js');
      expect(
        servers.filter((c) => c.startsWith(`node ${bin}`) || c.includes(` ${bin}`)),
        servers.join('\n'),
      ).toHaveLength(1);
    }
    expect(
      servers.filter((c) => /\bnpx\b|npm exec/.test(c)),
      servers.join('\n'),
    ).toEqual([]);
  });

  it('exits 0 on SIGTERM and leaves no descendant process behind', async () => {
    // Every backend is running by now (search_tools started all three).
    const servers = (await client!.call('list_servers')).structuredContent as { servers: Array<{ name: string; state: string }> };
    expect(servers.servers.filter((s) => s.name !== 'capabilities').map((s) => [s.name, s.state])).toEqual([
      ['everything', 'ready'],
      ['memory', 'ready'],
      ['filesystem', 'ready'],
    ]);
    await client!.close();
    client = undefined;

    const tree = descendants(cli!.pid!);
    const described = tree.map((pid) => `${pid}: ${cmdline(pid)}`);
    expect(tree.length, described.join('\n')).toBeGreaterThanOrEqual(3);

    cli!.kill('SIGTERM');
    expect(await exit).toEqual({ code: 0, signal: null });
    const survivors = tree.filter(isLive);
    expect(
      survivors.map((pid) => `${pid}: ${cmdline(pid)}`),
      `descendants before SIGTERM:\n${described.join('\n')}`,
    ).toEqual([]);
    expect(logLines.some((l) => l.msg === 'shutting down')).toBe(true);
  });
});

describe('validate', () => {
  it('accepts the shipped gateway.yaml', async () => {
    const { code, stdout, stderr } = await runCli(['validate', '--config', 'gateway.yaml']);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('gateway.yaml: ok (3 backends)');
  });
});
