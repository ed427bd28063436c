import { LOCAL_USER } from '../access/principal.js';
import { checkExposure } from '../config/exposure.js';
import { formatProblem } from '../config/load.js';
import { registerConfigSecrets } from '../config/secrets.js';
import { createGateway } from '../gateway.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../log.js';
import { serveOverStdio } from '../stdio.js';
import { loadForCli } from './config-file.js';

export interface StdioFlags {
  config?: string;
  'log-level'?: string;
}

/** Exit codes: 0 stopped (stdin closed, parent gone, or a signal), 2 usage or config error. Nothing but MCP goes to stdout. */
export async function runStdio(flags: StdioFlags): Promise<number> {
  const level = flags['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    process.stderr.write(`mcp-gateway: --log-level must be one of ${LOG_LEVELS.join(', ')}\n`);
    return 2;
  }
  const found = await loadForCli(flags.config);
  if (typeof found === 'number') return found;
  const { file, loaded } = found;
  const config = loaded.config;
  // Nothing listens in stdio mode, so the bind address does not matter; a loopback one keeps the
  // exposure check that guards reloads (it judges the running host) from refusing every reload.
  if (checkExposure(config)) config.server.host = '127.0.0.1';
  registerConfigSecrets(loaded.secrets);
  const logger = createLogger(level as LogLevel);
  for (const warning of loaded.warnings) logger.warn(formatProblem(file, warning));
  const gateway = await createGateway(config, { logger, configFile: file });
  logger.info({ config: file, backends: gateway.pool.names() }, 'mcp-gateway serving MCP on stdin/stdout');
  // The one user is whoever started this process: no auth applies, as for a loopback HTTP gateway without `auth`.
  await serveOverStdio(gateway, () => gateway.newMetaServer(() => LOCAL_USER), { configFile: file });
  return 0;
}
