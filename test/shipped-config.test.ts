import { type ChildProcess, spawn } from 'node:child_process';
import { descendants, isLive } from './procfs.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, type FrontClient, repoRoot, runCli } from './helpers.js';

/** The shipped gateway.yaml, served by the CLI from source, with its three npm reference servers. */

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

describe('the shipped gateway.yaml', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-shipped-'));
  const memoryFile = join(dataDir, 'memory.jsonl');
  let cli: ChildProcess | undefined;
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let url: string;
  let client: FrontClient | undefined;
  const logLines: LogLine[] = [];
  const stderrText: string[] = [];

  beforeAll(async () => {
    // The built bundle, as `npm start` runs it (npm install builds dist/ in its prepare step).
    const child = spawn(process.execPath, ['dist/cli.js', '--config', 'gateway.yaml', '--port', '0'], {
      cwd: repoRoot,
      env: { ...process.env, MEMORY_FILE_PATH: memoryFile },
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
    await client?.close().catch(() => {});
    if (cli && cli.exitCode === null && cli.signalCode === null) {
      cli.kill('SIGKILL');
      await exit;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves on the loopback address it logged', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
  });

  it('finds a filesystem tool for "read a text file" among the top 3', async () => {
    const result = await client!.call('search_tools', { query: 'read a text file' });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const data = result.structuredContent as { results: Array<{ server: string; tool: string }>; unavailable?: string[] };
    expect(data.unavailable).toBeUndefined();
    expect(data.results.slice(0, 3).map((r) => r.server)).toContain('filesystem');
  });

  it('ranks memory/create_entities first for "create entities in the knowledge graph"', async () => {
    const result = await client!.call('search_tools', { query: 'create entities in the knowledge graph' });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const data = result.structuredContent as { results: Array<{ server: string; tool: string }> };
    expect(data.results[0]).toMatchObject({ server: 'memory', tool: 'create_entities' });
  });

  it('invokes memory read_graph', async () => {
    const result = await client!.call('invoke', { server: 'memory', tool: 'read_graph', arguments: {} });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    expect(result.content?.[0]).toMatchObject({ type: 'text' });
  });

  it('exits 0 on SIGTERM and leaves no descendant process behind', async () => {
    // Every backend is running by now (search_tools started all three).
    const servers = (await client!.call('list_servers')).structuredContent as { servers: Array<{ name: string; state: string }> };
    expect(servers.servers.map((s) => [s.name, s.state])).toEqual([
      ['everything', 'ready'],
      ['memory', 'ready'],
      ['filesystem', 'ready'],
      ['capabilities', 'ready'], // the example REST capabilities in ./capabilities
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
