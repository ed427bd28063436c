import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { checkExposure } from '../config/exposure.js';
import type { ConfigProblem } from '../config/load.js';
import type { GatewayConfig, StdioBackendConfig } from '../config/schema.js';

/**
 * What `validate` checks beyond the schema, on this machine: each enabled stdio backend's cwd exists and
 * its command can be run (found the way spawn finds it: with a slash, relative to the cwd; without, on the
 * PATH the backend gets), and a bind beyond loopback has auth.
 */
export function machineProblems(config: GatewayConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, backend] of Object.entries(config.backends)) {
    if (backend.kind !== 'stdio' || !backend.enabled) continue;
    const problem = stdioProblem(backend);
    if (problem) problems.push({ path: `backends.${name}.${problem.key}`, message: `backend ${name}: ${problem.message}` });
  }
  const exposed = checkExposure(config);
  if (exposed) problems.push({ path: 'server.host', message: exposed });
  return problems;
}

function stdioProblem(backend: StdioBackendConfig): { key: string; message: string } | undefined {
  if (!isDirectory(backend.cwd!)) return { key: 'cwd', message: `the folder ${backend.cwd} does not exist` };
  const { command } = backend;
  if (command.includes('/')) {
    const full = isAbsolute(command) ? command : resolve(backend.cwd!, command);
    if (!isFile(full)) return { key: 'command', message: `command ${command} not found (looked for ${full})` };
    if (!isExecutable(full)) return { key: 'command', message: `command ${full} is not executable` };
    return undefined;
  }
  const path = backend.env.PATH ?? process.env.PATH ?? '';
  const found = path.split(delimiter).some((dir) => {
    const full = resolve(backend.cwd!, dir || '.', command);
    return isFile(full) && isExecutable(full);
  });
  return found ? undefined : { key: 'command', message: `command ${command} is not on PATH (${path || 'empty'})` };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
