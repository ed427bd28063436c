import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process trees of stdio backends. `npx` and `sh -c` launchers leave grandchildren behind when only
 * the direct child is signalled, so stopping a backend signals every descendant, found through /proc.
 */

/** pid → parent pid for every process, read from /proc (Linux). Empty elsewhere. */
function parentLinks(): Map<number, number> {
  const links = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return links;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the parenthesised command name: state, ppid, ...
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      links.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  return links;
}

/** `pid` and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [child, parent] of parentLinks()) {
    const list = children.get(parent);
    if (list) list.push(child);
    else children.set(parent, [child]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it is dead for our purposes.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM the given processes, then SIGKILL whatever is left after `graceMs`. */
export async function terminate(pids: number[], graceMs: number): Promise<void> {
  let alive = pids.filter(isAlive);
  if (alive.length === 0) return;
  signal(alive, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(isAlive);
    if (alive.length === 0) return;
  }
  signal(alive, 'SIGKILL');
}

/**
 * If the gateway itself is killed (even with SIGKILL), its backends must not live on. A small
 * watchdog process holds a pipe from the gateway; when the pipe closes — the kernel closes it
 * however the gateway ends — the watchdog kills the process trees of every backend still registered.
 */
const WATCHDOG_SOURCE = `
const fs = require('fs');
const tracked = new Set();
let buffered = '';
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\\n')) >= 0) {
    const line = buffered.slice(0, nl); buffered = buffered.slice(nl + 1);
    const pid = Number(line.slice(1));
    if (line[0] === '+') tracked.add(pid); else tracked.delete(pid);
  }
});
function tree(root) {
  const kids = new Map();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\\d+$/.test(e)) continue;
    try { const s = fs.readFileSync('/proc/' + e + '/stat', 'utf8'); const pp = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(pp)) kids.set(pp, []); kids.get(pp).push(Number(e)); } catch {}
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) || []));
  return out;
}
process.stdin.on('close', () => {
  let pids = [...tracked].flatMap((p) => { try { return tree(p); } catch { return [p]; } });
  const signal = (sig) => { pids = pids.filter((p) => { try { process.kill(p, sig); return true; } catch { return false; } }); };
  signal('SIGTERM');
  const started = Date.now();
  const poll = setInterval(() => {
    signal(0);
    if (pids.length === 0 || Date.now() - started > 1500) { signal('SIGKILL'); process.exit(0); }
  }, 100);
});
`;

export class BackendWatchdog {
  private child?: ChildProcess;

  track(pid: number): void {
    this.write(`+${pid}\n`);
  }

  untrack(pid: number): void {
    this.write(`-${pid}\n`);
  }

  /** After a clean stop nothing is left to guard: end the watchdog. */
  close(): void {
    this.child?.kill();
    this.child = undefined;
  }

  private write(line: string): void {
    if (!this.child) {
      if (process.platform !== 'linux') return;
      // Its own process group, so a signal aimed at the gateway's group does not take it down first.
      this.child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      this.child.unref();
      this.child.on('error', () => {
        this.child = undefined;
      });
      (this.child.stdin as unknown as { unref?: () => void }).unref?.();
    }
    this.child.stdin?.write(line);
  }
}

/**
 * npm runs `npm start` and `npx`/`npm exec` commands through `sh -c`, and forwards SIGINT/SIGTERM only
 * to that shell; dash (Debian's sh) dies of it without passing it on, so the gateway would live on,
 * orphaned, holding its port and its backends. Started by npm (npm sets `npm_lifecycle_event`), the
 * gateway therefore watches its parent and calls `onGone` once it is re-parented. Anywhere else it does
 * nothing: a gateway started with `nohup … &` or by a process manager keeps running when its parent exits.
 * Returns a function that ends the watch.
 */
export function watchLauncher(onGone: () => void, options: { intervalMs?: number; env?: NodeJS.ProcessEnv } = {}): () => void {
  const env = options.env ?? process.env;
  if (!env.npm_lifecycle_event || process.platform === 'win32') return () => {};
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, options.intervalMs ?? 250);
  timer.unref();
  return () => clearInterval(timer);
}
