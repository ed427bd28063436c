import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { connectClient, eventually, repoRoot } from './helpers.js';
import { argv, descendants, isLive } from './procfs.js';

/**
 * Stop and start like a service: the gateway started through npm (`npm start`, `npx mcp-gateway`)
 * with the shipped gateway.yaml, its three backends running, then ONE signal to the npm process only
 * (what a process manager, or `kill`, does). npm forwards it to the `sh -c` it runs the command in,
 * which dies without passing it on; the gateway must still shut down cleanly (its "shutting down" log
 * line, not a kill by its watchdog), leave no backend process behind, and free its port.
 */

const described = (pids: number[]) => pids.map((pid) => `${pid}: ${argv(pid).join(' ')}`).join('\n');
const leftovers = new Map<number, string>();

afterAll(() => {
  // If a case failed, end what it left (checked by command line, so a reused pid is never hit).
  for (const [pid, cmd] of leftovers) {
    try {
      if (isLive(pid) && argv(pid).join(' ') === cmd) process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

interface Launched {
  launcher: ChildProcess;
  exited: Promise<unknown>;
  url: string;
  logs: string[];
}

async function launch(command: string, args: string[]): Promise<Launched> {
  const env = { ...process.env };
  delete env.MEMORY_FILE_PATH;
  const launcher = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => launcher.once('exit', resolve));
  const logs: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: launcher.stderr! }).on('line', (line) => {
      logs.push(line);
      const serving = /"msg":"mcp-gateway serving (http[^"]+)"/.exec(line);
      if (serving) resolve(serving[1]!);
    });
    launcher.once('exit', (code) => reject(new Error(`${command} exited with ${code} before serving:\n${logs.join('\n')}`)));
  });
  return { launcher, exited, url, logs };
}

const cases: Array<{ what: string; command: string; args: string[]; signal: NodeJS.Signals }> = [
  { what: 'npm start, SIGTERM to npm', command: 'npm', args: ['start', '--', '--port', '0'], signal: 'SIGTERM' },
  { what: 'npm start, SIGINT to npm', command: 'npm', args: ['start', '--', '--port', '0'], signal: 'SIGINT' },
  { what: 'npx mcp-gateway, SIGTERM to npx', command: 'npx', args: ['mcp-gateway', '--port', '0'], signal: 'SIGTERM' },
];

describe.each(cases)('$what', ({ command, args, signal }) => {
  it('stops the gateway and every backend, and frees the port', async () => {
    const { launcher, exited, url, logs } = await launch(command, args);
    const port = Number(new URL(url).port);
    const gateway = descendants(launcher.pid!).find((pid) => argv(pid).some((a) => /dist\/cli\.js$|\/\.bin\/mcp-gateway$/.test(a)));
    expect(gateway, described(descendants(launcher.pid!))).toBeDefined();

    const client = await connectClient('v2-2026', url);
    await eventually(async () => {
      const servers = (await client.call('list_servers')).structuredContent?.servers as Array<{ name: string; state: string }>;
      return ['everything', 'memory', 'filesystem'].every((name) => servers.find((s) => s.name === name)?.state === 'ready');
    }, 'the three backends ready');
    await client.close();
    const tree = [gateway!, ...descendants(gateway!)];
    for (const pid of tree) leftovers.set(pid, argv(pid).join(' '));
    const before = described(tree);
    expect(tree.length, before).toBeGreaterThanOrEqual(4); // the gateway, three servers (and the watchdog)

    launcher.kill(signal); // the npm process only, not its process group
    await exited;
    await eventually(
      () => tree.every((pid) => !isLive(pid)),
      `no process of the tree left:\n${described(tree.filter(isLive))}\nbefore:\n${before}`,
    );
    expect(
      logs.some((line) => line.includes('"msg":"shutting down"')),
      logs.join('\n'),
    ).toBe(true);
    expect(await portIsFree(port)).toBe(true);
  });
});
