import type { Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { watchConfig } from './config/watch.js';
import { notifyListChanged } from './fronts/front.js';
import type { Gateway } from './gateway.js';

/** Why a stdio gateway stopped. */
export type StdioEnd = 'stdin closed' | 'stdout closed' | 'parent exited' | 'SIGINT' | 'SIGTERM' | 'SIGHUP';

export interface StdioOptions {
  /** The config file, watched for hot reload when `server.watch` is on. */
  configFile?: string;
  /** How often the parent pid is checked (ms). */
  parentCheckMs?: number;
}

/**
 * The gateway served over this process's stdin/stdout (both protocol eras; the SDK's serveStdio picks
 * the era from the opening message): `newServer` builds the front, e.g. the /mcp meta front. Only protocol goes to stdout: the logger writes to fd 2, and
 * stdio backends have their own pipes. Resolves, with the reason, once everything is stopped: the
 * caller exits then.
 *
 * It ends when stdin reaches EOF (the client closed it, or the client died and the kernel closed the
 * pipe) and also when the parent process is gone while stdin stays open (stdin inherited from a
 * process that lives on, e.g. a launcher's launcher), found by polling the parent pid.
 */
export async function serveOverStdio(gateway: Gateway, newServer: () => Server, options: StdioOptions = {}): Promise<StdioEnd> {
  const { logger, pool } = gateway;
  // The servers the SDK built for this connection (a probe may come and go before one is pinned).
  const servers = new Set<Server>();
  const handle = serveStdio(
    () => {
      const server = newServer();
      servers.add(server);
      const previous = server.onclose; // the front's own clean-up (resource subscriptions)
      server.onclose = () => {
        servers.delete(server);
        previous?.();
      };
      return server;
    },
    { onerror: (error) => logger.warn({ err: error.message }, 'stdio transport') },
  );
  // A backend's tools, resources or prompts changed, or the meta-tool definitions on reload.
  gateway.onListChanged(async (kind) => {
    await Promise.allSettled([...servers].map((server) => notifyListChanged(server, kind)));
  });
  const watcher = watchConfig(options.configFile, gateway, (error) => logger.error({ err: String(error) }, 'reload failed'));

  const reason = await new Promise<StdioEnd>((resolve) => {
    process.stdin.once('end', () => resolve('stdin closed'));
    process.stdin.once('close', () => resolve('stdin closed'));
    process.stdout.once('error', () => resolve('stdout closed'));
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve(signal));
    watchParent(() => resolve('parent exited'), options.parentCheckMs ?? 250);
  });
  logger.info({ reason }, 'stdio gateway stopping');
  await watcher?.close();
  // Closing the connection aborts calls in flight (their backends get notifications/cancelled).
  await handle.close().catch(() => {});
  await pool.drain(gateway.config().server.shutdown_timeout_ms);
  await gateway.close();
  return reason;
}

/**
 * Calls `onGone` once this process is re-parented (its parent died, even by SIGKILL). A process started
 * with no real parent (ppid 0 or 1, as PID 1's child in a container) has none to watch.
 */
function watchParent(onGone: () => void, intervalMs: number): void {
  const parent = process.ppid;
  if (parent <= 1 || process.platform === 'win32') return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
}
