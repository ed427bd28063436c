import { watchLauncher } from '../backends/process.js';
import { checkExposure } from '../config/exposure.js';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { startGateway } from '../server.js';
import { loadForServing, startLogging } from './config-file.js';

export interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  'log-level'?: string;
}

/** Exit codes: 0 stopped by a signal, 1 cannot listen, 2 usage or config error. */
export async function runServe(flags: ServeFlags): Promise<number> {
  const found = await loadForServing(flags);
  if (typeof found === 'number') return found;
  const { file, loaded, level } = found;
  const config = loaded.config;
  if (flags.host) config.server.host = flags.host;
  if (flags.port !== undefined) {
    const port = Number(flags.port);
    if (!/^\d+$/.test(flags.port) || port > 65_535) {
      process.stderr.write('mcp-gateway: --port must be an integer from 0 to 65535\n');
      return 2;
    }
    config.server.port = port;
  }
  const exposed = checkExposure(config);
  if (exposed) {
    process.stderr.write(`mcp-gateway: refusing to serve: ${exposed}\n`);
    return 2;
  }
  return serveUntilSignal(config, file, startLogging(file, loaded, level));
}

async function serveUntilSignal(config: GatewayConfig, file: string, logger: Logger): Promise<number> {
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, { logger, configFile: file });
  } catch (error) {
    logger.fatal({ err: (error as Error).message, host: config.server.host, port: config.server.port }, 'cannot listen');
    return 1;
  }
  logger.info({ config: file, backends: gateway.pool.names() }, `mcp-gateway serving ${gateway.url}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // Under npm, whose `sh -c` does not pass signals on: stop when npm is gone.
    watchLauncher(() => stop('parent exited'));
  });
  await gateway.close();
  return 0;
}
