import { LOCAL_USER } from '../access/principal.js';
import { checkExposure } from '../config/exposure.js';
import { createGateway } from '../gateway.js';
import { serveOverStdio } from '../stdio.js';
import { loadForServing, startLogging } from './config-file.js';

export interface StdioFlags {
  config?: string;
  'log-level'?: string;
}

/** Exit codes: 0 stopped (stdin closed, parent gone, or a signal), 2 usage or config error. Nothing but MCP goes to stdout. */
export async function runStdio(flags: StdioFlags): Promise<number> {
  const found = await loadForServing(flags);
  if (typeof found === 'number') return found;
  const { file, loaded, level } = found;
  const config = loaded.config;
  // Nothing listens in stdio mode, so the bind address does not matter; a loopback one keeps the
  // exposure check that guards reloads (it judges the running host) from refusing every reload.
  if (checkExposure(config)) config.server.host = '127.0.0.1';
  const logger = startLogging(file, loaded, level);
  const gateway = await createGateway(config, { logger, configFile: file });
  logger.info({ config: file, backends: gateway.pool.names() }, 'mcp-gateway serving MCP on stdin/stdout');
  // The one user is whoever started this process: no auth applies, as for a loopback HTTP gateway without `auth`.
  await serveOverStdio(gateway, () => gateway.newMetaServer(() => LOCAL_USER), { configFile: file });
  return 0;
}
