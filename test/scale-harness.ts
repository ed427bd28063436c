/**
 * Scale-out harness: real gateway replicas (the CLI, each its own process) behind a real HAProxy run
 * with the shipped deploy/haproxy/haproxy.cfg (only its listen addresses and server lines replaced),
 * and a real redis-server. Every process is started in its own process group and ended by its id.
 * Used by test/scale-*.test.ts and bench/scale.ts.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, tsxLoader } from './helpers.js';

export const SHIPPED_HAPROXY_CONFIG = join(repoRoot, 'deploy/haproxy/haproxy.cfg');

/** The absolute path of an executable on PATH (Debian puts haproxy in /usr/sbin), or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    if (!dir) continue;
    try {
      execFileSync('test', ['-x', join(dir, name)]);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A loopback port nobody listens on right now (for processes that need a fixed port in their config). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Proc {
  pid: number;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<void>;
  /** SIGKILL to the process alone: a crash (its watchdog then ends its backends). */
  crash(): Promise<void>;
  /** SIGTERM, then SIGKILL to its whole group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const started = new Set<Proc>();

function spawnProc(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child: ChildProcess = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      gone = true;
      for (const l of listeners) l();
      resolve();
    }),
  );
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is empty
    }
  };
  const proc: Proc = {
    pid,
    output: () => out,
    exited,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${command}: no ${pattern} within ${timeoutMs} ms:\n${out.slice(-1500)}`))),
          timeoutMs,
        );
        const check = () => {
          const match = out.match(pattern);
          if (match) finish(() => resolve(match));
          else if (gone) finish(() => reject(new Error(`${command} exited before ${pattern}:\n${out.slice(-1500)}`)));
        };
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
    crash: async () => {
      if (!gone) process.kill(pid, 'SIGKILL');
      await exited;
    },
    stop: async (graceMs = 5_000) => {
      if (!gone) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const timer = setTimeout(killGroup, graceMs);
        await exited;
        clearTimeout(timer);
      }
      killGroup();
      started.delete(proc);
    },
  };
  started.add(proc);
  return proc;
}

/** Stop everything this harness started (afterAll, and the bench's exit). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((p) => p.stop(3_000)));
}
process.once('exit', () => {
  for (const p of started) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

const tmpDirs: string[] = [];
export function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-gw-scale-'));
  tmpDirs.push(dir);
  return dir;
}
export function removeTmpDirs(): void {
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------------ replicas ----

export interface Replica extends Proc {
  name: string;
  port: number;
}

/**
 * One gateway replica: the CLI (from source, or the built `cli` file) on a loopback port (0 = any; the
 * bound port is read from its "serving" log line). `config` is a gateway.yaml object; JSON is YAML.
 */
export async function startReplica(
  name: string,
  config: Record<string, unknown>,
  options: { port?: number; cli?: string } = {},
): Promise<Replica> {
  const file = join(tmpDir(), 'gateway.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const entry = options.cli ? [options.cli] : ['--import', tsxLoader, join(repoRoot, 'src/cli.ts')];
  const proc = spawnProc(process.execPath, [...entry, '--config', file, '--port', String(options.port ?? 0)]);
  const match = await proc.waitFor(/mcp-gateway serving http:\/\/127\.0\.0\.1:(\d+)\/mcp/, 30_000);
  return { ...proc, name, port: Number(match[1]) };
}

// ------------------------------------------------------------------ HAProxy ----

export interface Balancer extends Proc {
  url: string;
  port: number;
  /** Per server: HAProxy's status (UP, DOWN, …) and last check result (L7OK, L4CON, …). */
  servers(): Promise<Record<string, { status: string; check: string }>>;
  /** Resolves once every named server is in `status`. */
  waitServers(status: string, names: string[], timeoutMs?: number): Promise<void>;
}

/**
 * The shipped config with the client and stats listeners moved to loopback ports and the server lines
 * replaced by `replicas`; every other line (balancing, stickiness, timeouts, checks) is used as shipped.
 */
export function renderHaproxyConfig(
  shipped: string,
  port: number,
  statsPort: number,
  replicas: Array<{ name: string; port: number }>,
): string {
  const lines = shipped.split('\n');
  const replace = (pattern: RegExp, by: string[]) => {
    const at = lines.findIndex((l) => pattern.test(l));
    if (at === -1) throw new Error(`the shipped haproxy.cfg has no line matching ${pattern}`);
    lines.splice(at, 1, ...by);
  };
  replace(/^\s*bind :8080\s*$/, [`    bind 127.0.0.1:${port}`]);
  replace(/^\s*bind 127\.0\.0\.1:8404\s*$/, [`    bind 127.0.0.1:${statsPort}`]);
  const shippedServers = lines.filter((l) => /^\s*server gw\d+ /.test(l));
  if (shippedServers.length === 0) throw new Error('the shipped haproxy.cfg has no `server gwN` lines');
  const first = lines.indexOf(shippedServers[0]!);
  const rest = lines.filter((l) => !shippedServers.includes(l));
  rest.splice(first, 0, ...replicas.map((r) => `    server ${r.name} 127.0.0.1:${r.port}`));
  return rest.join('\n');
}

export async function startBalancer(binary: string, replicas: Array<{ name: string; port: number }>): Promise<Balancer> {
  const port = await freePort();
  const statsPort = await freePort();
  const file = join(tmpDir(), 'haproxy.cfg');
  writeFileSync(file, renderHaproxyConfig(readFileSync(SHIPPED_HAPROXY_CONFIG, 'utf8'), port, statsPort, replicas));
  // -db: stay in the foreground, no daemon; logs (stdout) go to our pipe.
  const proc = spawnProc(binary, ['-db', '-f', file]);
  const servers = async () => {
    const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
    const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n');
    const columns = header!.split(',');
    const col = (name: string) => columns.indexOf(name);
    const result: Record<string, { status: string; check: string }> = {};
    for (const row of rows) {
      const cells = row.split(',');
      if (cells[col('pxname')] !== 'gateways' || ['FRONTEND', 'BACKEND'].includes(cells[col('svname')]!)) continue;
      result[cells[col('svname')]!] = { status: cells[col('status')]!, check: cells[col('check_status')]! };
    }
    return result;
  };
  const balancer: Balancer = {
    ...proc,
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    servers,
    waitServers: async (status, names, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      while (Date.now() < deadline) {
        try {
          const now = await servers();
          last = now;
          if (names.every((n) => now[n]?.status === status)) return;
        } catch (error) {
          last = error; // stats listener not up yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `servers ${names.join(', ')} not ${status} within ${timeoutMs} ms: ${JSON.stringify(last)}\n${proc.output().slice(-1500)}`,
      );
    },
  };
  return balancer;
}

// ------------------------------------------------------------------ redis ----

export interface RedisServer extends Proc {
  url: string;
}

/** A throwaway redis-server on a loopback port: no persistence, no config file. */
export async function startRedis(binary: string, options: { port?: number; password?: string } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpDir()];
  if (options.password) args.push('--requirepass', options.password);
  const proc = spawnProc(binary, args);
  await proc.waitFor(/Ready to accept connections/, 15_000);
  return { ...proc, url: `redis://127.0.0.1:${port}` };
}

// ------------------------------------------------------------------ /proc ----

/** The parent of a process (Linux): tells which replica a backend pid belongs to. */
export function parentPid(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^PPid:\s+(\d+)/m.exec(status)![1]);
}
