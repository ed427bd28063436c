import { addSecrets } from '../secrets/redact.js';
import { type CapabilityDefinition, type CapabilityLoadOptions, formatCapabilityProblem, loadCapabilityDirs } from './load.js';
import { CREDENTIAL_NAME } from './schema.js';
import { CapabilitySource } from './source.js';
import { envIn, stringsIn } from './template.js';

export interface CapabilitySources {
  /** One source per server name, ready for BackendPool.apply(backends, sources). */
  sources: CapabilitySource[];
  /** `file:line:col: path: message`, one per problem; the files with problems contributed no tools. */
  problems: string[];
  /** Worth logging, not errors (e.g. an unset variable a tool needs). */
  warnings: string[];
}

/**
 * loadCapabilityDirs, then one CapabilitySource per group. Never throws for invalid files.
 * Every credential the tools read from the environment (auth, and headers or query parameters named
 * like credentials) is registered with the gateway's redaction, so it is «redacted:NAME» wherever it
 * would leave the gateway (call this after the config's own setSecrets, which replaces the registry).
 */
export async function loadCapabilitySources(
  dirs: string[],
  env: NodeJS.ProcessEnv = process.env,
  options: CapabilityLoadOptions = {},
): Promise<CapabilitySources> {
  const loaded = await loadCapabilityDirs(dirs, env, options);
  addSecrets(loaded.groups.flatMap((group) => group.tools.flatMap((tool) => secretsOf(tool, env))));
  return {
    sources: loaded.groups.map((group) => new CapabilitySource(group, { env })),
    problems: loaded.problems.map(formatCapabilityProblem),
    warnings: loaded.warnings,
  };
}

/** The credentials a tool reads from the environment (a URL value is not a secret). */
export function secretsOf(tool: CapabilityDefinition, env: NodeJS.ProcessEnv): { value: string; name: string }[] {
  const named = (values: Record<string, unknown> | undefined) =>
    Object.entries(values ?? {}).flatMap(([name, value]) => (CREDENTIAL_NAME.test(name) ? stringsIn(value) : []));
  const templates = [...named(tool.headers), ...named(tool.query)];
  if (tool.auth) templates.push(...Object.values(tool.auth).filter((v): v is string => typeof v === 'string'));
  const found = templates.flatMap(envIn).flatMap((name) => {
    const value = env[name];
    return value && !/^https?:\/\//i.test(value) ? [{ value, name }] : [];
  });
  if (tool.auth?.type === 'basic') {
    const password = envIn(tool.auth.password)[0]!;
    const user = envIn(tool.auth.username)[0];
    const username = user === undefined ? tool.auth.username : env[user];
    if (env[password] && username !== undefined) {
      found.push({ value: Buffer.from(`${username}:${env[password]}`).toString('base64'), name: password });
    }
  }
  return found;
}
