import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { StdioBackendConfig } from './schema.js';

/**
 * The path rule for stdio backends: in `args` and `env` values, a whole value that starts with `./` or
 * `../` is relative to the config file's folder and is passed as an absolute path; `~/` at the start is the
 * home folder. `cwd` is relative to the config file (default: its folder) and also takes `~/`.
 *
 * Only a value's start is looked at: a backend resolves `--flag=./x` or `a:./b` against its own working
 * directory, which the gateway cannot know to be a path, so such values are passed as written. The rule is
 * this narrow because anything wider (guessing paths inside values) would rewrite arguments that are not paths.
 */
export function resolveConfigPath(value: string, baseDir: string): string {
  if (value.startsWith('./') || value.startsWith('../')) return resolve(baseDir, value);
  if (value.startsWith('~/')) return resolve(homedir(), value.slice(2));
  return value;
}

/** Apply the rule to one stdio backend (after `${VAR}` expansion: an expanded `./x` is a path too). */
export function resolveStdioPaths(backend: StdioBackendConfig, baseDir: string): void {
  const cwd = backend.cwd ?? '.';
  backend.cwd = cwd === '~' || cwd.startsWith('~/') ? resolve(homedir(), cwd.slice(2)) : isAbsolute(cwd) ? cwd : resolve(baseDir, cwd);
  backend.args = backend.args.map((arg) => resolveConfigPath(arg, baseDir));
  backend.env = Object.fromEntries(Object.entries(backend.env).map(([k, v]) => [k, resolveConfigPath(v, baseDir)]));
}
