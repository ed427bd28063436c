import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/load.js';
import { type RunningGateway, startGateway } from '../src/server.js';
import { connectClient, eventually, type FrontClient, fixturePath, repoRoot } from './helpers.js';

/** Hot reload: validated first, applied as an atomic swap, clients told, the index kept current. */

const yaml = (backends: Record<string, string[]>, extra = '') =>
  `server: { port: 0${extra} }\nbackends:\n${Object.entries(backends)
    .map(
      ([name, flags]) =>
        `  ${name}:\n    command: ${JSON.stringify(process.execPath)}\n    args: ${JSON.stringify([fixturePath, ...flags])}\n`,
    )
    .join('')}`;

let gateway: RunningGateway | undefined;
/** Reloads the running gateway has applied (from its event bus). */
let reloads = 0;
let client: FrontClient | undefined;
afterEach(async () => {
  await client?.close();
  await gateway?.close();
  client = undefined;
  gateway = undefined;
});

async function start(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, text);
  gateway = await startGateway(await loadConfigFile(file), { configFile: file });
  reloads = 0;
  gateway.events.on('reload', ({ ok }) => {
    if (ok) reloads++;
  });
  client = await connectClient('v2-2025', gateway.url);
  return { dir, file };
}

const serverNames = async () =>
  ((await client!.call('list_servers')).structuredContent?.servers as Array<{ name: string }>).map((s) => s.name);
const pidOf = async (server: string) => (await client!.call('invoke', { server, tool: 'pid' })).structuredContent?.pid as number;
const reload = async () =>
  (
    await fetch(gateway!.url.replace('/mcp', '/admin/reload'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
  ).json() as Promise<Record<string, unknown>>;

describe('hot reload', () => {
  it('keeps unchanged backends, replaces changed ones, stops removed ones, adds new ones', async () => {
    const { file } = await start(
      yaml({ keep: ['--name', 'keep'], change: ['--name', 'before'], drop: ['--name', 'drop'] }, ', watch: false'),
    );
    const keepPid = await pidOf('keep');
    const changePid = await pidOf('change');
    const dropPid = await pidOf('drop');

    writeFileSync(
      file,
      yaml({ keep: ['--name', 'keep'], change: ['--name', 'after'], fresh: ['--name', 'fresh', '--tools', '2'] }, ', watch: false'),
    );
    expect(await reload()).toEqual({ ok: true, added: ['fresh'], removed: ['drop'], changed: ['change'] });

    expect(await serverNames()).toEqual(['keep', 'change', 'fresh']);
    expect(await pidOf('keep')).toBe(keepPid);
    expect(await pidOf('change')).not.toBe(changePid);
    await eventually(() => {
      try {
        process.kill(dropPid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the removed backend is stopped');
    // The index follows: the new backend's tools are found, the removed one's are not.
    const search = await client!.call('search_tools', { query: 'generated tool number', limit: 20 });
    const servers = new Set((search.structuredContent?.results as Array<{ server: string }>).map((r) => r.server));
    expect(servers.has('fresh')).toBe(true);
    expect(servers.has('drop')).toBe(false);
  });

  it('rejects an invalid edit and keeps the running config', async () => {
    const { file } = await start(yaml({ one: [] }, ', watch: false'));
    writeFileSync(file, `${yaml({ one: [], two: [] }, ', watch: false')}    timout_ms: 5\n`);
    const result = await reload();
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result.problems)).toContain('backends.two.timout_ms: unknown key');
    expect(await serverNames()).toEqual(['one']);
  });

  it('watches the config file and tells sessionful clients that the tool list changed', async () => {
    const { file } = await start(yaml({ one: [] }));
    const v1 = new Client({ name: 'listener', version: '1' });
    let notified = 0;
    v1.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      notified++;
    });
    const transport = new StreamableHTTPClientTransport(new URL(gateway!.url));
    await v1.connect(transport);
    try {
      writeFileSync(file, yaml({ one: [], two: ['--name', 'two'] }));
      await eventually(async () => (await serverNames()).includes('two'), 'the watcher applies the edit', 100);
      await eventually(() => notified > 0, 'the client is told the tool list changed');
      const { tools } = await v1.listTools();
      expect(tools.find((t) => t.name === 'search_tools')?.description).toContain('two');
    } finally {
      await transport.terminateSession().catch(() => {});
      await v1.close();
    }
  });

  it('a new capability folder file becomes a searchable tool', async () => {
    const { dir, file } = await start(yaml({ one: [] }, ', watch: false'));
    mkdirSync(join(dir, 'capabilities'));
    writeFileSync(
      join(dir, 'capabilities', 'status.yaml'),
      'name: service_status\ndescription: Report the operational status of the zebra service\nrequest:\n  method: GET\n  url: http://127.0.0.1:9/status\n',
    );
    expect((await reload()).ok).toBe(true);
    expect(await serverNames()).toContain('capabilities');
    const search = await client!.call('search_tools', { query: 'zebra service status' });
    expect((search.structuredContent?.results as Array<{ server: string; tool: string }>)[0]).toMatchObject({
      server: 'capabilities',
      tool: 'service_status',
    });
    void file;
  });

  it('watches a capability folder that a reload added: a file written there later is picked up', async () => {
    const { dir, file } = await start(yaml({ one: [] }));
    const extra = join(dir, 'more-capabilities');
    mkdirSync(extra);
    writeFileSync(file, `${yaml({ one: [] })}capability_dirs: [${JSON.stringify(extra)}]\n`);
    await eventually(() => reloads > 0, 'the watcher applies the config edit', 100);
    writeFileSync(
      join(extra, 'llama.yaml'),
      'name: llama_census\ndescription: Count the llamas in the paddock\nrequest:\n  method: GET\n  url: http://127.0.0.1:9/llamas\n',
    );
    await eventually(
      async () => {
        const search = await client!.call('search_tools', { query: 'llama census' });
        const first = (search.structuredContent?.results as Array<{ tool: string }> | undefined)?.[0];
        return first?.tool === 'llama_census';
      },
      'the new folder is watched: its new file becomes a tool without a restart',
      100,
    );
  });
});

describe('watchPaths', () => {
  it('after close, an update (a reload finishing during shutdown) watches nothing again: the process can exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-watch-'));
    mkdirSync(join(dir, 'later'));
    // In a child process: were the folder watched again, its handle would keep the process alive.
    const script = [
      `import { watchPaths } from ${JSON.stringify(join(repoRoot, 'src/config/watch.ts'))};`,
      `const w = watchPaths([${JSON.stringify(join(dir, 'gateway.yaml'))}], () => {});`,
      'await w.close();',
      `w.update([${JSON.stringify(join(dir, 'gateway.yaml'))}, ${JSON.stringify(join(dir, 'later'))}]);`,
    ].join('\n');
    const file = join(dir, 'watch-after-close.mts');
    writeFileSync(file, script);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot, stdio: 'ignore' });
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 8_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    child.kill('SIGKILL');
    expect(exited).toBe(true);
  }, 15_000);
});
